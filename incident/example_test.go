package incident_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/memory"
)

var (
	ctx    = context.Background()
	desk   = itil.Actor{ID: "alex", Name: "Alex"}
	casey  = itil.Actor{ID: "casey", Name: "Casey"}
	monday = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// newService returns a service on a fresh in-memory store whose clock
// advances one minute per reading, so examples print stable times.
func newService() *incident.Service {
	now := monday
	clock := itil.ClockFunc(func() time.Time { now = now.Add(time.Minute); return now })
	svc, err := incident.New(memory.NewStore(), incident.WithClock(clock))
	if err != nil {
		panic(err)
	}
	return svc
}

func ExampleNew() {
	svc, err := incident.New(memory.NewStore(),
		incident.WithReopenWindow(3*24*time.Hour),
		incident.WithResolutionCodes("fixed", "workaround", "duplicate"))
	fmt.Println(svc != nil, err)

	_, err = incident.New(memory.NewStore(), incident.WithReopenWindow(0), incident.WithResolutionCodes())
	fmt.Println(err)
	// Output:
	// true <nil>
	// invalid input: reopen_window: must be positive; resolution_codes: must list at least one code
}

func ExampleService_Open() {
	svc := newService()
	inc, err := svc.Open(ctx, desk, incident.NewIncident{
		Title: "VPN drops every 10 minutes", Caller: casey, Channel: incident.Portal,
		Category: "network", Impact: 2, Urgency: 1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(inc.Number, inc.State, inc.Priority)

	_, err = svc.Open(ctx, desk, incident.NewIncident{Title: "", Caller: casey, Channel: "fax", Impact: 5, Urgency: 1})
	var invalid *itil.ValidationError
	fmt.Println(errors.As(err, &invalid), err)
	// Output:
	// INC0001001 new P2 - High
	// true invalid input: title: is required; channel: must be one of phone, email, portal, chat, monitoring, walk_in; impact: must be between 1 (high) and 3 (low)
}

func ExampleService_Resolve() {
	svc := newService()
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Printer offline", Caller: casey, Channel: incident.Phone, Impact: 3, Urgency: 3,
	})
	_, err := svc.Resolve(ctx, inc.ID, desk, "magic", "")
	fmt.Println(err)

	inc, err = svc.Resolve(ctx, inc.ID, desk, "solution_provided", "power-cycled the printer")
	fmt.Println(inc.State, inc.ResolutionCode, err)

	_, err = svc.Cancel(ctx, inc.ID, desk, "too late")
	fmt.Println(errors.Is(err, itil.ErrInvalidTransition))
	// Output:
	// invalid input: resolution_code: must be one of solution_provided, workaround_provided, resolved_by_caller, resolved_by_change, resolved_by_problem, known_error, duplicate, user_error, no_resolution_provided; resolution_notes: is required
	// resolved solution_provided <nil>
	// true
}

func ExampleService_Hold() {
	svc := newService()
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Cannot log in", Caller: casey, Channel: incident.Chat, Impact: 3, Urgency: 2,
	})
	inc, _ = svc.Hold(ctx, inc.ID, desk, incident.AwaitingCaller, "Which browser do you use?")
	fmt.Println(inc.State, inc.HoldReason)

	// The caller's reply puts the incident back to work.
	inc, _ = svc.Comment(ctx, inc.ID, casey, "Firefox 140")
	fmt.Println(inc.State, len(inc.Comments))
	// Output:
	// on_hold awaiting_caller
	// in_progress 2
}

func ExampleService_LinkChild() {
	svc := newService()
	open := func(title string) *incident.Incident {
		inc, _ := svc.Open(ctx, desk, incident.NewIncident{
			Title: title, Caller: casey, Channel: incident.Phone, Impact: 1, Urgency: 1,
		})
		return inc
	}
	outage, a, b := open("Mail gateway down"), open("No mail"), open("Outlook offline")
	svc.LinkChild(ctx, outage.ID, a.ID, desk)
	svc.LinkChild(ctx, outage.ID, b.ID, desk)
	svc.Resolve(ctx, outage.ID, desk, "solution_provided", "restarted the gateway")
	for _, inc := range []*incident.Incident{a, b} {
		inc, _ = svc.Get(ctx, inc.ID)
		fmt.Println(inc.Number, inc.State, inc.ResolutionNotes)
	}
	// Output:
	// INC0001002 resolved restarted the gateway
	// INC0001003 resolved restarted the gateway
}

func ExampleService_List() {
	svc := newService()
	for i, title := range []string{"Disk full", "Slow wiki", "Disk failing", "Badge reader"} {
		inc, _ := svc.Open(ctx, desk, incident.NewIncident{
			Title: title, Caller: casey, Channel: incident.Email, Impact: 2, Urgency: 2,
		})
		if i%2 == 0 {
			svc.Assign(ctx, inc.ID, desk, "storage", "sam")
		}
	}
	filter := incident.Filter{AssignmentGroup: "storage", Limit: 1}
	for {
		page, err := svc.List(ctx, filter)
		if err != nil {
			panic(err)
		}
		for _, inc := range page.Incidents {
			fmt.Println(inc.Number, inc.Title, inc.State)
		}
		if page.Next == "" {
			break
		}
		filter.PageToken = page.Next
	}
	// Output:
	// INC0001001 Disk full in_progress
	// INC0001003 Disk failing in_progress
}

func ExampleService_History() {
	svc := newService()
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Laptop will not boot", Caller: casey, Channel: incident.WalkIn, Impact: 3, Urgency: 1,
	})
	svc.Assign(ctx, inc.ID, desk, "desktop", "alex")
	svc.Resolve(ctx, inc.ID, desk, "solution_provided", "replaced the disk")
	history, _ := svc.History(ctx, inc.ID)
	for _, h := range history {
		fmt.Println(h.Time.Format("15:04"), h.Actor.Name, h.Type, h.State, "-", h.Summary)
	}
	// Output:
	// 09:01 Alex incident.opened new - opened INC0001001 "Laptop will not boot" via walk_in with priority P3 - Moderate
	// 09:02 Alex incident.assigned in_progress - assigned to desktop/alex
	// 09:03 Alex incident.resolved resolved - resolved: solution_provided
}

func ExampleService_AutoClose() {
	now := monday
	svc, _ := incident.New(memory.NewStore(),
		incident.WithClock(itil.ClockFunc(func() time.Time { return now })),
		incident.WithAutoCloseAfter(48*time.Hour))
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Monitor flickers", Caller: casey, Channel: incident.Phone, Impact: 3, Urgency: 3,
	})
	svc.Resolve(ctx, inc.ID, desk, "workaround_provided", "new cable")

	now = now.Add(47 * time.Hour)
	n, _ := svc.AutoClose(ctx)
	fmt.Println("after 47h:", n)
	now = now.Add(time.Hour)
	n, _ = svc.AutoClose(ctx)
	fmt.Println("after 48h:", n)
	n, _ = svc.AutoClose(ctx)
	fmt.Println("again:", n)
	// Output:
	// after 47h: 0
	// after 48h: 1
	// again: 0
}
