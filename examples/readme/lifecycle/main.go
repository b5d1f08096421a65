package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/strategy"
)

// check stops the example on an error.
func check[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

func main() {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := itil.ClockFunc(func() time.Time { return now })
	store := memory.NewStore()
	portfolio := check(strategy.New(store, strategy.WithClock(clock)))
	incidents := check(incident.New(store, incident.WithClock(clock)))
	svc := check(lifecycle.New(store, portfolio, lifecycle.WithClock(clock)))
	olga := itil.Actor{ID: "olga", Name: "Olga (service owner)"}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }

	// Strategy: a chartered service opens its lifecycle record.
	e := check(portfolio.Propose(ctx, olga, strategy.NewEntry{Name: "Corporate mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000")}}))
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		check(portfolio.Move(ctx, olga, e.ID, m, ""))
	}
	check(portfolio.ApproveBusinessCase(ctx, olga, e.ID))
	check(portfolio.Move(ctx, olga, e.ID, strategy.MoveCharter, ""))
	r := check(svc.Open(ctx, olga, e.ID))

	// Each move passes a gate whose checks say what they found.
	r = check(svc.Move(ctx, olga, r.ID, lifecycle.MoveDesign, ""))
	gate := check(svc.Gate(ctx, r.ID, lifecycle.MoveTransition))
	fmt.Println(r.Stage, "→ transition passes:", gate.Passed())
	for _, c := range gate.Failed()[:2] {
		fmt.Printf("  %s: %s\n", c.Name, c.Detail)
	}

	// KPIs are counted from the journal's events.
	desk := itil.Actor{ID: "desk"}
	for _, took := range []time.Duration{2 * time.Hour, 4 * time.Hour} {
		inc := check(incidents.Open(ctx, desk, incident.NewIncident{Title: "Mail slow", Caller: itil.Actor{ID: "casey"},
			Channel: incident.Phone, Impact: 2, Urgency: 2}))
		check(incidents.Assign(ctx, desk, inc.ID, "messaging", "sam"))
		now = now.Add(took)
		check(incidents.Resolve(ctx, desk, inc.ID, "solution_provided", "restarted the relay"))
	}
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range check(svc.KPIs(ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly})) {
		if p.KPI == lifecycle.KPITimeToResolve {
			fmt.Printf("%s: %d resolved in June, mean %s\n", p.KPI, p.Count, p.Mean)
		}
	}
	// Prints:
	// design → transition passes: false
	//   design_package: sections not complete: requirements, usage, stakeholders, service_levels, technical_design and 6 more
	//   acceptance_criteria: no service acceptance criteria defined
	// time_to_resolve: 2 resolved in June, mean 3h0m0s
}
