package problem_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

var desk = itil.Actor{ID: "alex", Name: "Alex"}

// withIncidents returns a problem Service and the incident Service it
// reaches incidents through, on one fresh in-memory store and one clock
// that advances a minute per reading.
func withIncidents(opts ...problem.Option) (*problem.Service, *incident.Service) {
	now := monday
	clock := itil.ClockFunc(func() time.Time { now = now.Add(time.Minute); return now })
	store := memory.NewStore()
	incs, err := incident.New(store, incident.WithClock(clock))
	if err != nil {
		panic(err)
	}
	svc, err := problem.New(store, append([]problem.Option{problem.WithClock(clock), problem.WithIncidents(incs)}, opts...)...)
	if err != nil {
		panic(err)
	}
	return svc, incs
}

// openIncidents opens one incident per title.
func openIncidents(incs *incident.Service, titles ...string) []*incident.Incident {
	var out []*incident.Incident
	for _, t := range titles {
		inc, err := incs.Open(ctx, desk, incident.NewIncident{Title: t, Caller: desk,
			Channel: incident.Phone, Impact: 3, Urgency: 2})
		if err != nil {
			panic(err)
		}
		out = append(out, inc)
	}
	return out
}

// An incident belongs to at most one problem; the link is written on the
// incident (ProblemID) and counted on the problem, in one transaction.
func ExampleService_LinkIncident() {
	svc, incs := withIncidents()
	vpn := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "VPN drops every 10 minutes"}))
	other := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "Remote desktop slow"}))
	calls := openIncidents(incs, "VPN dropped twice this morning", "Disconnected from VPN")

	for _, inc := range calls {
		vpn = must(svc.LinkIncident(ctx, analyst, vpn.ID, inc.ID))
	}
	fmt.Println(vpn.Number, "has", vpn.IncidentCount, "incidents")

	// Linked elsewhere already: unlink it there first.
	_, err := svc.LinkIncident(ctx, analyst, other.ID, calls[0].ID)
	var bad *itil.ValidationError
	fmt.Println(errors.As(err, &bad) && bad.Has("incident_id"))

	// The incident side: ProblemID, and the problem= filter.
	for inc, err := range incs.List(ctx, incident.Filter{ProblemID: vpn.ID}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(inc.Number, inc.ProblemID == vpn.ID)
	}
	// Output:
	// PRB0001001 has 2 incidents
	// true
	// INC0001001 true
	// INC0001002 true
}

// The workaround goes to every linked incident still open, as a comment
// the caller sees, in one transaction with a work note on the problem.
func ExampleService_CommunicateWorkaround() {
	svc, incs := withIncidents()
	p := confirmed(svc, "Mail relay stops sending")
	calls := openIncidents(incs, "Outbox stuck", "Invoices not sent", "Mail delayed")
	for _, inc := range calls {
		must(svc.LinkIncident(ctx, analyst, p.ID, inc.ID))
	}
	if _, err := incs.Resolve(ctx, desk, calls[2].ID, "solution_provided", "restarted the relay"); err != nil {
		panic(err)
	}

	_, err := svc.CommunicateWorkaround(ctx, analyst, p.ID)
	fmt.Println(err) // nothing to tell yet

	w := "restart the transport service"
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{Workaround: &w}))
	n, err := svc.CommunicateWorkaround(ctx, analyst, p.ID)
	fmt.Println("told", n, err)
	for note, err := range incs.Notes(ctx, calls[0].ID, itil.Comment) {
		if err != nil {
			panic(err)
		}
		fmt.Println(note.Text)
	}
	// Output:
	// invalid input: workaround: is empty: set it with Update first
	// told 2 <nil>
	// Problem PRB0001001 workaround: restart the transport service
}

// Resolving a problem with its fix applied resolves, in the same
// transaction, the linked incidents On Hold awaiting it; its other open
// incidents get a work note (WithResolveAllLinked resolves them too).
func ExampleService_Resolve_cascade() {
	svc, incs := withIncidents()
	p := confirmed(svc, "Mail relay stops sending")
	calls := openIncidents(incs, "Outbox stuck", "Invoices not sent")
	for _, inc := range calls {
		must(svc.LinkIncident(ctx, analyst, p.ID, inc.ID))
	}
	if _, err := incs.Hold(ctx, desk, calls[0].ID, incident.AwaitingProblem, ""); err != nil {
		panic(err)
	}

	cause, fix := "the spool partition fills up", "spool moved to its own volume"
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{CauseNotes: &cause}))
	must(svc.Fix(ctx, analyst, p.ID))
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{FixNotes: &fix}))
	p = must(svc.Resolve(ctx, analyst, p.ID))
	fmt.Println(p.Number, p.State, p.ResolutionCode)

	linked, err := svc.Incidents(ctx, p.ID)
	if err != nil {
		panic(err)
	}
	for _, inc := range linked {
		fmt.Println(inc.Number, inc.State, inc.ResolutionCode, inc.ResolutionNotes)
	}
	// Output:
	// PRB0001001 resolved fix_applied
	// INC0001001 resolved resolved_by_problem spool moved to its own volume
	// INC0001002 new
}
