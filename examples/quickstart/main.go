// Quickstart opens, works and resolves incidents and prints what happened,
// in memory. It simulates a few days with an injected clock so that
// reopening and the auto-close sweep show up too.
//
//	go run ./examples/quickstart
//
// It imports only the in-memory backend, so a fresh machine downloads no
// database driver to run it; examples/sla and examples/cmdb show how to
// choose SQLite or PostgreSQL instead (-store).
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	st, err := memory.New().Tenant("quickstart")
	if err != nil {
		return err
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := itil.ClockFunc(func() time.Time { return now })
	wait := func(d time.Duration) { now = now.Add(d) }

	svc, err := incident.New(st, incident.WithClock(clock))
	if err != nil {
		return err
	}
	desk := itil.Actor{ID: "alex", Name: "Alex (service desk)"}
	dba := itil.Actor{ID: "dana", Name: "Dana (database team)"}
	casey := itil.Actor{ID: "casey", Name: "Casey (finance)"}

	// A caller reports a problem by phone.
	mail, err := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Cannot send email", Caller: casey, Channel: incident.Phone,
		Category: "email", Impact: 3, Urgency: 2,
	})
	if err != nil {
		return err
	}
	// Monitoring raises an outage that hits everybody.
	outage, err := svc.Open(ctx, itil.Actor{ID: "monitor", Name: "Monitoring"}, incident.NewIncident{
		Title: "Mail gateway not responding", Caller: itil.Actor{ID: "monitor", Name: "Monitoring"},
		Channel: incident.Monitoring, Category: "email", Impact: 1, Urgency: 1,
	})
	if err != nil {
		return err
	}
	fmt.Printf("%s %-30q priority %s\n", mail.Number, mail.Title, mail.Priority)
	fmt.Printf("%s %-30q priority %s\n", outage.Number, outage.Title, outage.Priority)

	steps := []func() (*incident.Incident, error){
		func() (*incident.Incident, error) {
			return svc.Hold(ctx, desk, mail.ID, incident.AwaitingCaller, "Which error message do you see?")
		},
		func() (*incident.Incident, error) {
			wait(20 * time.Minute)
			if _, err := svc.Comment(ctx, casey, mail.ID, "'Relay denied'"); err != nil {
				return nil, err
			}
			return svc.Get(ctx, mail.ID)
		},
		func() (*incident.Incident, error) { return svc.LinkChild(ctx, desk, outage.ID, mail.ID) },
		func() (*incident.Incident, error) {
			return svc.PromoteMajor(ctx, desk, outage.ID, "all outgoing mail is failing")
		},
		func() (*incident.Incident, error) { return svc.Assign(ctx, desk, outage.ID, "service-desk", "alex") },
		func() (*incident.Incident, error) {
			wait(15 * time.Minute)
			return svc.Assign(ctx, desk, outage.ID, "database", "dana")
		},
		func() (*incident.Incident, error) {
			if _, err := svc.WorkNote(ctx, dba, outage.ID, "relay table corrupted after the 08:30 patch"); err != nil {
				return nil, err
			}
			return svc.Get(ctx, outage.ID)
		},
		func() (*incident.Incident, error) {
			wait(40 * time.Minute)
			return svc.Resolve(ctx, dba, outage.ID, "resolved_by_change", "restored the relay table")
		},
	}
	for _, step := range steps {
		if _, err := step(); err != nil {
			return err
		}
	}
	mail, err = svc.Get(ctx, mail.ID)
	if err != nil {
		return err
	}
	fmt.Printf("%s is %s with the parent's resolution %q\n", mail.Number, mail.State, mail.ResolutionCode)

	// A rule that refuses: the child cannot be reopened on its own.
	if _, err := svc.Reopen(ctx, casey, mail.ID, "still failing"); err != nil {
		fmt.Println("refused:", err)
	}

	wait(4 * 24 * time.Hour)
	closed, err := svc.AutoClose(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("auto-close swept %d incident(s) resolved more than 3 days ago\n\n", closed)

	for _, inc := range []*incident.Incident{outage, mail} {
		history, err := svc.History(ctx, inc.ID)
		if err != nil {
			return err
		}
		fmt.Printf("History of %s:\n", inc.Number)
		for _, h := range history {
			// The incident's own events are numbered by its version;
			// notes and linked incidents are records of their own.
			at := fmt.Sprintf("v%d", h.Version)
			if h.Kind != incident.Kind || h.SubjectID != inc.ID {
				at = "·"
			}
			fmt.Printf("  %-3s %s  %-22s %s\n", at, h.Time.Format("Jan 02 15:04"), h.Actor.Name, h.Summary)
		}
	}
	return nil
}
