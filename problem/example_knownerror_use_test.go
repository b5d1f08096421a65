package problem_test

import (
	"fmt"

	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

// The service desk resolves an incident with a published known error: the
// incident names it, joins the known error's problem as one more
// occurrence, and the known error counts the use, which search ranks by.
func ExampleService_ResolveWithKnownError() {
	svc, incs := withIncidents()
	p := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "VPN drops every hour",
		Workaround: "Reconnect with the backup profile"}))
	ke, err := svc.PublishKnownError(ctx, analyst, p.ID, problem.FromProblem{ErrorCode: "VPN-809"})
	if err != nil {
		panic(err)
	}
	inc := openIncidents(incs, "VPN dropped during a call")[0]

	got, err := svc.ResolveWithKnownError(ctx, desk, inc.ID, ke.ID, "reconnected with the backup profile")
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Number, got.State, got.ResolutionCode, "with", ke.Number)
	fmt.Println("linked to", must(svc.Get(ctx, got.ProblemID)).Number, "incidents:", must(svc.Get(ctx, p.ID)).IncidentCount)
	k, err := svc.KnownErrors().Get(ctx, ke.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(k.Number, "used by", k.IncidentCount, "incident")

	// The incident's own Resolve does not take the code: it would name no
	// known error.
	other := openIncidents(incs, "VPN dropped again")[0]
	_, err = incs.Resolve(ctx, desk, other.ID, incident.KnownErrorCode, "see the known error")
	fmt.Println(err)
	// Output:
	// INC0001001 resolved known_error with KE0001001
	// linked to PRB0001001 incidents: 1
	// KE0001001 used by 1 incident
	// invalid input: resolution_code: known_error names a published known error: resolve through problem.Service.ResolveWithKnownError
}

// With the CMDB, an agent looking at a CI finds the known errors recorded
// for any CI of its class: the fault seen on one Linux server is likely
// on another.
func ExampleKnownErrors_Search_likeCI() {
	store := memory.NewStore()
	cm, err := cmdb.New(store)
	if err != nil {
		panic(err)
	}
	ci := func(class, name, serial string) *cmdb.CI {
		c, err := cm.CreateCI(ctx, analyst, cmdb.NewCI{Class: class, Name: name,
			Attributes: map[string]string{"serial_number": serial}})
		if err != nil {
			panic(err)
		}
		return c
	}
	mail1, mail2 := ci(cmdb.ClassLinuxServer, "mail-01", "SN1"), ci(cmdb.ClassLinuxServer, "mail-02", "SN2")
	router := ci(cmdb.ClassNetworkDevice, "edge-router", "SN3")
	svc, err := problem.New(store, problem.WithCMDB(cm))
	if err != nil {
		panic(err)
	}
	kes := svc.KnownErrors()
	publish := func(title string, on *cmdb.CI) {
		k, err := kes.Create(ctx, analyst, problem.NewKnownError{Title: title, Symptom: title, Workaround: "see the runbook",
			CIs: []problem.KnownErrorCI{{CIID: on.ID, Reason: "seen there"}}})
		if err != nil {
			panic(err)
		}
		if _, err := kes.Publish(ctx, analyst, k.ID); err != nil {
			panic(err)
		}
	}
	publish("Kernel panics after the NIC driver update", mail1)
	publish("BGP session flaps", router)

	for k, err := range kes.Search(ctx, problem.KnownErrorQuery{LikeCI: mail2.ID, LikeBy: problem.LikeClass}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(mail2.Name, "→", k.Number, k.Title)
	}
	// Output:
	// mail-02 → KE0001001 Kernel panics after the NIC driver update
}
