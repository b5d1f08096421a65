package problem_test

import (
	"fmt"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
)

// A problem's workaround and root cause become a known error that the
// service desk finds by the words users report, whatever their case and
// accents.
func ExampleService_PublishKnownError() {
	svc := newService()
	p := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "Mail délivery delayed",
		Description: "Messages wait in the queue for an hour", Workaround: "Restart the transport service"}))
	cause := "a stuck queue on the relay"
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{CauseNotes: &cause}))

	ke, err := svc.PublishKnownError(ctx, analyst, p.ID, problem.FromProblem{ErrorCode: "0x800CCC0E",
		Domain: problem.DomainApplication})
	if err != nil {
		panic(err)
	}
	fmt.Println(ke.Number, ke.State, "revision", ke.Revision, "root cause:", ke.RootCause)
	fmt.Println("linked:", must(svc.Get(ctx, p.ID)).KnownErrorID == ke.ID)

	for k, err := range svc.KnownErrors().Search(ctx, problem.KnownErrorQuery{Words: "DELIVERY queue"}) {
		if err != nil {
			panic(err)
		}
		fmt.Println("found", k.Number, k.Title, "→", k.Workaround)
	}
	// Output:
	// KE0001001 published revision 1 root cause: a stuck queue on the relay
	// linked: true
	// found KE0001001 Mail délivery delayed → Restart the transport service
}

// Editing a published known error makes a new revision under the same
// number; the earlier text stays readable.
func ExampleKnownErrors_Update() {
	kes := newService().KnownErrors()
	k, err := kes.Create(ctx, analyst, problem.NewKnownError{Title: "VPN drops hourly",
		Symptom: "sessions end after 60 minutes", Workaround: "reconnect"})
	if err != nil {
		panic(err)
	}
	if k, err = kes.Publish(ctx, manager, k.ID); err != nil {
		panic(err)
	}
	workaround := "reconnect, or use the backup gateway"
	if k, err = kes.Update(ctx, analyst, k.ID, problem.KnownErrorPatch{Workaround: &workaround}); err != nil {
		panic(err)
	}
	first, err := kes.Revision(ctx, k.ID, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(k.Number, "revision", k.Revision, "→", k.Workaround)
	fmt.Println(first.Number, "revision", first.Revision, "→", first.Workaround)
	_, err = kes.Retire(ctx, manager, k.ID, "the gateway was replaced")
	n := 0
	for range kes.Search(ctx, problem.KnownErrorQuery{Words: "vpn"}) {
		n++
	}
	fmt.Println("retired:", err == nil, "found:", n, itil.NilID == k.ProblemID)
	// Output:
	// KE0001001 revision 2 → reconnect, or use the backup gateway
	// KE0001001 revision 1 → reconnect
	// retired: true found: 0 true
}
