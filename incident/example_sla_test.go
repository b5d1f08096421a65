package incident_test

import (
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
)

// SLA timers attach to incidents through the hook every process offers.
func ExampleWithHook() {
	now := monday
	clock := itil.ClockFunc(func() time.Time { return now })
	store := memory.NewStore()
	eng, _ := slm.NewEngine(store, slm.WithClock(clock))
	_, err := eng.Define(ctx, desk, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "P1 4h", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 4 * time.Hour},
		slm.Target{Name: "standard 24h", Duration: 24 * time.Hour}))
	if err != nil {
		panic(err)
	}
	svc, err := incident.New(store, incident.WithClock(clock), incident.WithHook(eng))
	if err != nil {
		panic(err)
	}
	inc, _ := svc.Open(ctx, desk, incident.NewIncident{Title: "Checkout fails", Caller: casey,
		Channel: incident.Portal, Impact: 1, Urgency: 1})
	now = now.Add(time.Hour)
	svc.Hold(ctx, desk, inc.ID, incident.AwaitingVendor, "Payment provider ticket 4711")
	now = now.Add(2 * time.Hour)
	st, _ := eng.Status(ctx, inc.ID, now)
	for _, s := range st {
		fmt.Println(s.Timer.Name, s.Timer.Target, s.Timer.State, "used", s.Progress.Elapsed, "left", s.Progress.Remaining)
	}
	// Output:
	// Resolution P1 4h paused used 1h0m0s left 3h0m0s
}
