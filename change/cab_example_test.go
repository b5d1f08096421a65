package change_test

import (
	"context"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage/memory"
)

// A weekly CAB on Tuesdays at 10:00 in Paris, which does not meet on its
// listed holidays nor on French national ones: ScheduleMeetings creates
// the meetings (again and again, from any instance: each once),
// BuildAgenda puts on an agenda the normal changes in Authorize planned
// within a week of the meeting, and the meeting records its decision.
func ExampleService_BuildAgenda() {
	ctx := context.Background()
	now := time.Date(2026, 4, 27, 9, 0, 0, 0, time.UTC)
	svc, err := change.New(memory.NewStore(), change.WithClock(itil.ClockFunc(func() time.Time { return now })),
		change.WithDirectory(change.DirectoryMap{"network": {"nils"}}))
	if err != nil {
		panic(err)
	}
	manager := itil.Actor{ID: "carla", Name: "Carla"}
	board, err := svc.CreateBoard(ctx, manager, change.NewBoard{
		Name: "Weekly CAB", Manager: "carla", Members: []string{"mia", "nils"},
		Recurrence: change.Recurrence{Zone: "Europe/Paris", Weekdays: []time.Weekday{time.Tuesday, time.Friday},
			Start: calendar.At(10, 0), Duration: time.Hour},
		Holidays: calendar.Spec{Country: "FR"},
		Window:   7 * 24 * time.Hour,
		Agenda: change.Condition{All: []change.Condition{
			{Field: "type", Op: change.OpEq, Value: "normal"},
			{Field: "state", Op: change.OpEq, Value: "authorize"},
		}},
	})
	if err != nil {
		panic(err)
	}
	meetings, err := svc.ScheduleMeetings(ctx, manager, board.ID, now, now.AddDate(0, 0, 14))
	if err != nil {
		panic(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, m := range meetings { // Fridays 1 and 8 May are holidays
		fmt.Println("meeting", m.Start.In(paris).Format("Mon 2 Jan 15:04 MST"), m.State)
	}

	start := time.Date(2026, 5, 2, 22, 0, 0, 0, time.UTC)
	ch, err := svc.Open(ctx, manager, change.NewChange{Title: "Replace the core switch", AssignmentGroup: "network",
		PlannedStart: start, PlannedEnd: start.Add(4 * time.Hour)})
	if err != nil {
		panic(err)
	}
	// Assessed, approved by the network group, sent for authorization.
	if _, err := svc.Move(ctx, manager, ch.ID, change.MoveAssess); err != nil {
		panic(err)
	}
	if _, err := svc.Approve(ctx, itil.Actor{ID: "nils", Name: "Nils"}, ch.ID, "looks right"); err != nil {
		panic(err)
	}
	if _, err := svc.AssessRisk(ctx, manager, ch.ID, nil); err != nil {
		panic(err)
	}
	if _, err := svc.Move(ctx, manager, ch.ID, change.MoveAuthorize); err != nil {
		panic(err)
	}
	m, err := svc.BuildAgenda(ctx, manager, meetings[0].ID)
	if err != nil {
		panic(err)
	}
	for _, it := range m.Items {
		fmt.Println("agenda", it.Order, it.Number, it.Decision)
	}
	ch, _ = svc.Get(ctx, ch.ID)
	fmt.Println("CAB date", ch.CABDate.Format(time.RFC3339), ch.CABRequired)

	if _, err := svc.StartMeeting(ctx, manager, m.ID); err != nil {
		panic(err)
	}
	if _, err := svc.RecordMinutes(ctx, manager, m.ID, ch.ID, "Backout rehearsed; approved.", change.DecisionApproved); err != nil {
		panic(err)
	}
	reviews, _ := svc.CABReviews(ctx, ch.ID)
	fmt.Println("decision", reviews[0].Decision, "by", reviews[0].DecidedBy.ID)
	// Output:
	// meeting Tue 28 Apr 10:00 CEST pending
	// meeting Tue 5 May 10:00 CEST pending
	// agenda 1 CHG0001001 none
	// CAB date 2026-04-28T08:00:00Z true
	// decision approved by carla
}
