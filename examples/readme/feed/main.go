// The change feed: a named consumer reads the journal from a durable
// cursor kept in the same store. What its handler writes to the store
// commits with the cursor (exactly once); what it sends elsewhere is sent
// at least once.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	ctx := context.Background()
	store := memory.NewStore()
	svc, err := incident.New(store)
	if err != nil {
		log.Fatal(err)
	}
	desk := itil.Actor{ID: "alex", Name: "Alex Agent"}
	for _, title := range []string{"VPN drops", "Printer jammed", "Mail slow"} {
		inc, err := svc.Open(ctx, desk, incident.NewIncident{Title: title, Caller: desk,
			Channel: incident.Phone, Impact: 2, Urgency: 2})
		if err != nil {
			log.Fatal(err)
		}
		if title == "Mail slow" {
			if _, err := svc.Resolve(ctx, desk, inc.ID, "solution_provided", "cleared the queue"); err != nil {
				log.Fatal(err)
			}
		}
	}

	// Tell someone about every resolution. Two application instances may
	// run this consumer; a lease lets one of them handle each event.
	notify, err := feed.New(store, "notify-resolved", func(ctx context.Context, tx storage.Tx, ev itil.Event) error {
		fmt.Println("notify: incident", ev.SubjectID, "was resolved") // e-mail, chat, a webhook
		return nil
	}, feed.WithKinds(incident.Kind), feed.WithTypes(incident.EventResolved))
	if err != nil {
		log.Fatal(err)
	}
	n, err := notify.Drain(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("handled", n, "event(s)")

	// Draining again handles nothing: the cursor moved past them durably.
	n, err = notify.Drain(ctx)
	if err != nil {
		log.Fatal(err)
	}
	pos, err := notify.Position(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("handled", n, "event(s); cursor at", pos)
}
