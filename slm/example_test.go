package slm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

var admin = itil.Actor{ID: "sla-admin", Name: "SLA admin"}

// newEngine returns an engine whose clock reads 1 November 2026: a
// definition applies to snapshots from when it is defined.
func newEngine() *slm.Engine {
	eng, err := slm.NewEngine(memory.NewStore(), slm.WithClock(itil.ClockFunc(func() time.Time {
		return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	})))
	if err != nil {
		panic(err)
	}
	return eng
}

// resolutionSLA is a resolution SLA on "ticket" subjects, on office hours
// in New York: P1 4 business hours, anything else 2 business days.
func resolutionSLA() slm.Definition {
	return slm.Definition{
		Name: "Resolution", Type: slm.SLA, Metric: slm.Resolution, SubjectKind: "ticket",
		Selection: slm.FirstMatch,
		Calendar: &calendar.Spec{Zone: "America/New_York", Country: "US",
			Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0))},
		Targets: []slm.Target{
			{Name: "P1", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 4 * time.Hour},
			{Name: "standard", Duration: 16 * time.Hour},
		},
		Start: slm.Condition{States: []string{"open", "waiting"}},
		Pause: &slm.Condition{States: []string{"waiting"}},
		Stop:  &slm.Condition{States: []string{"solved"}},
	}
}

func ExampleEngine_Define() {
	eng := newEngine()
	d, err := eng.Define(context.Background(), admin, resolutionSLA())
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Name, "revision", d.Revision, "with", len(d.Targets), "targets")

	bad := resolutionSLA()
	bad.Targets[0].Duration = 0
	_, err = eng.Define(context.Background(), admin, bad)
	fmt.Println(err)
	// Output:
	// Resolution revision 1 with 2 targets
	// invalid input: targets[0].duration: must be positive
}

// observe hands a ticket's snapshot to the engine, as a process does in
// its own transaction.
func observe(eng *slm.Engine, id itil.ID, state string, p itil.Priority, at time.Time) []*slm.Timer {
	var timers []*slm.Timer
	err := eng.Store().RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		if err := eng.Observe(ctx, tx, admin, itil.Snapshot{Kind: "ticket", ID: id, State: state, Priority: p, Time: at}); err != nil {
			return err
		}
		var err error
		timers, err = eng.In(tx).Timers(ctx, id)
		return err
	})
	if err != nil {
		panic(err)
	}
	return timers
}

func ExampleEngine_Observe() {
	eng := newEngine()
	if _, err := eng.Define(context.Background(), admin, resolutionSLA()); err != nil {
		panic(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	id := itil.NewID()
	show := func(ts []*slm.Timer) {
		t := ts[0]
		breach := "none"
		if !t.BreachAt.IsZero() {
			breach = t.BreachAt.In(ny).Format("Mon 15:04")
		}
		fmt.Printf("%-11s elapsed %-7v breach %s\n", t.State, t.Elapsed, breach)
	}
	show(observe(eng, id, "open", itil.P1, time.Date(2026, 11, 13, 16, 30, 0, 0, ny)))   // Friday
	show(observe(eng, id, "waiting", itil.P1, time.Date(2026, 11, 16, 10, 0, 0, 0, ny))) // Monday
	show(observe(eng, id, "open", itil.P1, time.Date(2026, 11, 16, 14, 0, 0, 0, ny)))    // 4 h later
	show(observe(eng, id, "solved", itil.P1, time.Date(2026, 11, 16, 15, 0, 0, 0, ny)))
	// Output:
	// in_progress elapsed 0s      breach Mon 12:30
	// paused      elapsed 1h30m0s breach none
	// in_progress elapsed 1h30m0s breach Mon 16:30
	// completed   elapsed 2h30m0s breach none
}

func ExampleEngine_Compliance() {
	eng := newEngine()
	d, err := eng.Define(context.Background(), admin, resolutionSLA())
	if err != nil {
		panic(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	monday := time.Date(2026, 11, 16, 9, 0, 0, 0, ny)
	for i, took := range []time.Duration{2 * time.Hour, 3 * time.Hour, 6 * time.Hour} {
		id := itil.NewID()
		observe(eng, id, "open", itil.P1, monday.Add(time.Duration(i)*time.Minute))
		observe(eng, id, "solved", itil.P1, monday.Add(time.Duration(i)*time.Minute+took))
	}
	c, err := eng.Compliance(context.Background(), d.ID,
		time.Date(2026, 11, 1, 0, 0, 0, 0, ny), time.Date(2026, 12, 1, 0, 0, 0, 0, ny), monday.AddDate(0, 0, 7))
	if err != nil {
		panic(err)
	}
	fmt.Printf("met %d, breached %d, in progress %d: %.1f%% met\n", c.Met, c.Breached, c.InProgress, c.MetPercent)
	fmt.Println("mean", c.MeanElapsed, "p95", c.P95Elapsed)
	// Output:
	// met 2, breached 1, in progress 0: 66.7% met
	// mean 3h40m0s p95 6h0m0s
}
