// Incident management in a few calls: open, assign, resolve, read the
// history with old and new values, notes kept apart from the incident,
// and a filtered list.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	ctx := context.Background()
	store := memory.NewStore() // or one tenant of any storage.Backend
	svc, err := incident.New(store)
	if err != nil {
		log.Fatal(err)
	}
	agent := itil.Actor{ID: "alex", Name: "Alex Agent"}
	casey := itil.Actor{ID: "casey", Name: "Casey Caller"}

	inc, err := svc.Open(ctx, agent, incident.NewIncident{
		Title:   "Email is down for the finance floor",
		Caller:  casey,
		Channel: incident.Phone,
		Impact:  2, Urgency: 1, // priority P2, from the ITIL matrix
	})
	if err != nil {
		log.Fatal(err)
	}
	// Every command takes the context, the actor, then the incident.
	if _, err := svc.Assign(ctx, agent, inc.ID, "messaging", "alex"); err != nil {
		log.Fatal(err)
	}
	if _, err := svc.WorkNote(ctx, agent, inc.ID, "gateway queue is full"); err != nil {
		log.Fatal(err)
	}
	if _, err := svc.Resolve(ctx, agent, inc.ID, "solution_provided", "restarted the mail gateway"); err != nil {
		log.Fatal(err)
	}

	history, err := svc.History(ctx, inc.ID) // who did what, when, from what to what
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range history {
		fmt.Println(h.Type, "-", h.Summary)
		for _, f := range h.Fields {
			fmt.Printf("    %s: %s → %s\n", f.Field, f.From, f.To)
		}
	}

	for n, err := range svc.Notes(ctx, inc.ID, itil.WorkNote) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("work note:", n.Text)
	}

	// Every open P1 or P2 incident, in one call.
	open := incident.Filter{
		States:     []incident.State{incident.StateNew, incident.StateInProgress, incident.StateOnHold},
		Priorities: []itil.Priority{itil.P1, itil.P2},
	}
	for inc, err := range svc.List(ctx, open) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("open:", inc.Number, inc.Title)
	}
}
