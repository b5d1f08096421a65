// SLA timers on incidents: a definition, the engine as the incident
// service's hook, the timers' progress, the monitor and a compliance
// report.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := itil.ClockFunc(func() time.Time { return now })
	store := memory.NewStore()
	admin := itil.Actor{ID: "sla-admin"}

	eng, err := slm.NewEngine(store, slm.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	def := slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "P1 4h", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 4 * time.Hour},
		slm.Target{Name: "standard", Duration: 16 * time.Hour}) // set def.Calendar for business hours
	d, err := eng.Define(ctx, admin, def)
	if err != nil {
		log.Fatal(err)
	}

	// The engine is a hook: timers follow every incident command, in the
	// command's own transaction.
	svc, err := incident.New(store, incident.WithClock(clock), incident.WithHook(eng))
	if err != nil {
		log.Fatal(err)
	}
	agent := itil.Actor{ID: "alex", Name: "Alex Agent"}
	inc, err := svc.Open(ctx, agent, incident.NewIncident{Title: "Checkout fails",
		Caller: itil.Actor{ID: "casey"}, Channel: incident.Portal, Impact: 1, Urgency: 1})
	if err != nil {
		log.Fatal(err)
	}

	now = now.Add(3 * time.Hour)
	fired, err := eng.Fire(ctx, now) // the monitor: warnings at 50/75%, breach at 100%
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("thresholds fired:", len(fired))

	status, err := eng.Status(ctx, inc.ID, now) // state, business time used, breach instant
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range status {
		fmt.Println(s.Timer.Name, s.Timer.Target, s.Timer.State, "used", s.Progress.Elapsed)
	}

	if _, err := svc.Resolve(ctx, agent, inc.ID, "solution_provided", "rolled back the release"); err != nil {
		log.Fatal(err)
	}
	report, err := eng.Compliance(ctx, d.ID, now.Add(-24*time.Hour), now.Add(time.Hour), now)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("met:", report.Met, "breached:", report.Breached)
}
