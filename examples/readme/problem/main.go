// Problem management in a few calls: a problem for recurring incidents,
// its incidents linked and waiting for it, a known error the desk can
// search, and a resolution that resolves the waiting incidents in the
// same transaction.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	ctx := context.Background()
	store := memory.NewStore()
	incidents, err := incident.New(store)
	if err != nil {
		log.Fatal(err)
	}
	// Links and the resolution cascade run through the incident Service.
	problems, err := problem.New(store, problem.WithIncidents(incidents))
	if err != nil {
		log.Fatal(err)
	}
	ana := itil.Actor{ID: "ana", Name: "Ana Analyst"}

	p, err := problems.Open(ctx, ana, problem.NewProblem{Title: "Mail relay stops sending",
		Impact: 2, Urgency: 2, Workaround: "restart the transport service"})
	if err != nil {
		log.Fatal(err)
	}
	for _, title := range []string{"Outbox stuck", "Invoices not sent"} {
		inc, err := incidents.Open(ctx, ana, incident.NewIncident{Title: title, Caller: ana,
			Channel: incident.Phone, Impact: 3, Urgency: 2})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := problems.LinkIncident(ctx, ana, p.ID, inc.ID); err != nil {
			log.Fatal(err)
		}
		// The incident now waits for its problem.
		if _, err := incidents.Hold(ctx, ana, inc.ID, incident.AwaitingProblem, ""); err != nil {
			log.Fatal(err)
		}
	}

	// Assess, confirm (it needs an owner and a priority), find the cause.
	if _, err := problems.Assign(ctx, ana, p.ID, "messaging", "ana"); err != nil {
		log.Fatal(err)
	}
	if _, err := problems.Assess(ctx, ana, p.ID); err != nil {
		log.Fatal(err)
	}
	if _, err := problems.Confirm(ctx, ana, p.ID); err != nil {
		log.Fatal(err)
	}
	cause, fix := "log rotation fills the spool partition", "spool moved to its own volume"
	if _, err := problems.Update(ctx, ana, p.ID, problem.Patch{CauseNotes: &cause}); err != nil {
		log.Fatal(err)
	}

	// The root cause and workaround become a known error the desk searches.
	if _, err := problems.PublishKnownError(ctx, ana, p.ID, problem.FromProblem{ErrorCode: "452 4.3.1"}); err != nil {
		log.Fatal(err)
	}
	for k, err := range problems.KnownErrors().Search(ctx, problem.KnownErrorQuery{Words: "MAIL relay"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("found", k.Number, k.Title, "→", k.Workaround)
	}

	// The fix: resolving the problem resolves the incidents waiting for it.
	if _, err := problems.Fix(ctx, ana, p.ID); err != nil {
		log.Fatal(err)
	}
	if _, err := problems.Update(ctx, ana, p.ID, problem.Patch{FixNotes: &fix}); err != nil {
		log.Fatal(err)
	}
	if p, err = problems.Resolve(ctx, ana, p.ID); err != nil {
		log.Fatal(err)
	}
	linked, err := problems.Incidents(ctx, p.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, inc := range linked {
		fmt.Println(p.Number, p.State, "→", inc.Number, inc.State, inc.ResolutionCode)
	}
}
