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
	_, err := svc.Resolve(ctx, desk, inc.ID, "magic", "")
	fmt.Println(err)

	inc, err = svc.Resolve(ctx, desk, inc.ID, "solution_provided", "power-cycled the printer")
	fmt.Println(inc.State, inc.ResolutionCode, err)

	_, err = svc.Cancel(ctx, desk, inc.ID, "too late")
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
	inc, _ = svc.Hold(ctx, desk, inc.ID, incident.AwaitingCaller, "Which browser do you use?")
	fmt.Println(inc.State, inc.HoldReason)

	// The caller's reply puts the incident back to work.
	svc.Comment(ctx, casey, inc.ID, "Firefox 140")
	inc, _ = svc.Get(ctx, inc.ID)
	fmt.Println(inc.State)
	for n := range svc.Notes(ctx, inc.ID, itil.Comment) {
		fmt.Printf("%s: %s\n", n.Author.Name, n.Text)
	}
	// Output:
	// on_hold awaiting_caller
	// in_progress
	// Alex: Which browser do you use?
	// Casey: Firefox 140
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
	svc.LinkChild(ctx, desk, outage.ID, a.ID)
	svc.LinkChild(ctx, desk, outage.ID, b.ID)
	svc.Resolve(ctx, desk, outage.ID, "solution_provided", "restarted the gateway")
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
			svc.Assign(ctx, desk, inc.ID, "storage", "sam")
		}
	}
	// Every open incident of the storage group, in one call.
	open := incident.Filter{States: []incident.State{incident.StateNew, incident.StateInProgress, incident.StateOnHold},
		AssignmentGroups: []string{"storage"}}
	for inc, err := range svc.List(ctx, open) {
		if err != nil {
			panic(err)
		}
		fmt.Println(inc.Number, inc.Title, inc.State)
	}
	// Output:
	// INC0001001 Disk full in_progress
	// INC0001003 Disk failing in_progress
}

// A caller that pages (a web console, an API) asks for a page at a time
// and passes the token back.
func ExampleService_ListPage() {
	svc := newService()
	for _, title := range []string{"Disk full", "Slow wiki", "Disk failing"} {
		svc.Open(ctx, desk, incident.NewIncident{Title: title, Caller: casey, Channel: incident.Email, Impact: 2, Urgency: 2})
	}
	token := ""
	for {
		page, next, err := svc.ListPage(ctx, incident.Filter{}, 2, token)
		if err != nil {
			panic(err)
		}
		fmt.Println(len(page), "incidents, more:", next != "")
		if next == "" {
			break
		}
		token = next
	}
	// Output:
	// 2 incidents, more: true
	// 1 incidents, more: false
}

func ExampleService_History() {
	svc := newService()
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Laptop will not boot", Caller: casey, Channel: incident.WalkIn, Impact: 3, Urgency: 1,
	})
	svc.Assign(ctx, desk, inc.ID, "desktop", "alex")
	svc.Resolve(ctx, desk, inc.ID, "solution_provided", "replaced the disk")
	history, _ := svc.History(ctx, inc.ID)
	for _, h := range history[1:] { // the opening lists every field
		fmt.Println(h.Time.Format("15:04"), h.Actor.Name, h.Type, "-", h.Summary)
		for _, f := range h.Fields {
			fmt.Printf("    %s: %s → %s\n", f.Field, f.From, f.To)
		}
	}
	// Output:
	// 09:02 Alex incident.assigned - assigned to desktop/alex
	//     state: "new" → "in_progress"
	//     assignment_group: "" → "desktop"
	//     assignee: "" → "alex"
	//     first_responded_at: "0001-01-01T00:00:00Z" → "2026-03-02T09:02:00Z"
	// 09:03 Alex incident.resolved - resolved: solution_provided
	//     state: "in_progress" → "resolved"
	//     resolution_code: "" → "solution_provided"
	//     resolution_notes: "" → "replaced the disk"
	//     resolved_at: "0001-01-01T00:00:00Z" → "2026-03-02T09:03:00Z"
}

func ExampleService_AutoClose() {
	now := monday
	svc, _ := incident.New(memory.NewStore(),
		incident.WithClock(itil.ClockFunc(func() time.Time { return now })),
		incident.WithAutoCloseAfter(48*time.Hour))
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{
		Title: "Monitor flickers", Caller: casey, Channel: incident.Phone, Impact: 3, Urgency: 3,
	})
	svc.Resolve(ctx, desk, inc.ID, "workaround_provided", "new cable")

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
