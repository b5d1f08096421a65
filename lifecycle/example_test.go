package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/strategy"
)

// A service's first gate: design needs the portfolio entry chartered. The
// gate says what is missing; an override passes it, and its reason stays
// on the record.
func ExampleService_Move() {
	ctx := context.Background()
	store := memory.NewStore()
	portfolio, _ := strategy.New(store)
	svc, err := lifecycle.New(store, portfolio)
	if err != nil {
		panic(err)
	}
	owner := itil.Actor{ID: "olga"}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }
	mail, _ := portfolio.Propose(ctx, owner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000")}})
	r, _ := svc.Open(ctx, owner, mail.ID)

	_, err = svc.Move(ctx, owner, r.ID, lifecycle.MoveDesign, "")
	var refused *lifecycle.GateError
	if errors.As(err, &refused) {
		for _, c := range refused.Gate.Failed() {
			fmt.Printf("%s: %s\n", c.Name, c.Detail)
		}
	}
	r, err = svc.Move(ctx, owner, r.ID, lifecycle.MoveDesign, "the board chartered it by mail; the record follows")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Stage, "overridden:", r.Overrides[0].Reason)
	// Output:
	// chartered: the portfolio entry SVC0001001 is in status requirements: it must be chartered (business case approved)
	// design overridden: the board chartered it by mail; the record follows
}

// June's incident KPIs, counted from the journal's events: two incidents
// resolved in two and four hours, one of them after a reassignment.
func ExampleService_KPIs() {
	ctx := context.Background()
	june := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	now := june
	clock := itil.ClockFunc(func() time.Time { return now })
	store := memory.NewStore()
	incidents, _ := incident.New(store, incident.WithClock(clock))
	portfolio, _ := strategy.New(store, strategy.WithClock(clock))
	svc, err := lifecycle.New(store, portfolio, lifecycle.WithClock(clock))
	if err != nil {
		panic(err)
	}
	desk, caller := itil.Actor{ID: "desk"}, itil.Actor{ID: "casey"}
	work := func(groups []string, took time.Duration) {
		inc, _ := incidents.Open(ctx, desk, incident.NewIncident{Title: "Mail slow", Caller: caller, Channel: incident.Phone, Impact: 2, Urgency: 2})
		for _, g := range groups {
			incidents.Assign(ctx, desk, inc.ID, g, "sam")
		}
		now = now.Add(took)
		incidents.Resolve(ctx, desk, inc.ID, "solution_provided", "restarted the relay")
		now = now.AddDate(0, 0, 1)
	}
	work([]string{"messaging"}, 2*time.Hour)
	work([]string{"network", "messaging"}, 4*time.Hour)

	points, err := svc.KPIs(ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly})
	if err != nil {
		panic(err)
	}
	for _, p := range points {
		switch p.KPI {
		case lifecycle.KPITimeToResolve:
			fmt.Printf("%s %s: %d resolved, mean %s, p90 %s\n", p.Period.Format("Jan"), p.KPI, p.Count, p.Mean, p.P90)
		case lifecycle.KPIFirstAssignmentResolved:
			fmt.Printf("%s %s: %s%%\n", p.Period.Format("Jan"), p.KPI, p.Percent)
		}
	}
	// Output:
	// Jun first_assignment_resolution: 50%
	// Jun time_to_resolve: 2 resolved, mean 3h0m0s, p90 4h0m0s
}

// An improvement initiative: from a base of 8 hours to resolve toward a
// target of 4, measured from the journal at its review date.
func ExampleService_ReviewInitiative() {
	ctx := context.Background()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	now := start
	clock := itil.ClockFunc(func() time.Time { return now })
	store := memory.NewStore()
	incidents, _ := incident.New(store, incident.WithClock(clock))
	portfolio, _ := strategy.New(store, strategy.WithClock(clock))
	svc, err := lifecycle.New(store, portfolio, lifecycle.WithClock(clock))
	if err != nil {
		panic(err)
	}
	coordinator := itil.Actor{ID: "cora"}
	review := start.AddDate(0, 2, 0)
	x, err := svc.RaiseInitiative(ctx, coordinator, lifecycle.NewInitiative{Title: "Resolve mail incidents faster",
		Priority: itil.P2, Effort: lifecycle.EffortM, Type: lifecycle.ImproveProcess, KPI: lifecycle.KPITimeToResolve,
		Base: decimal.NewFromInt(8), Target: decimal.NewFromInt(4), ReviewDate: review})
	if err != nil {
		panic(err)
	}
	for _, m := range []string{lifecycle.MoveAccept, lifecycle.MoveAssess, lifecycle.MoveApprove, lifecycle.MoveStart, lifecycle.MoveMonitor} {
		svc.MoveInitiative(ctx, coordinator, x.ID, m)
	}
	// In the 30 days before the review, incidents take 5 hours to resolve.
	desk := itil.Actor{ID: "desk"}
	for now = review.AddDate(0, 0, -20); now.Before(review.AddDate(0, 0, -10)); now = now.AddDate(0, 0, 1) {
		inc, _ := incidents.Open(ctx, desk, incident.NewIncident{Title: "Mail slow", Caller: itil.Actor{ID: "casey"}, Channel: incident.Phone, Impact: 2, Urgency: 2})
		incidents.Assign(ctx, desk, inc.ID, "messaging", "sam")
		now = now.Add(5 * time.Hour)
		incidents.Resolve(ctx, desk, inc.ID, "solution_provided", "restarted the relay")
	}
	now = review
	x, err = svc.ReviewInitiative(ctx, coordinator, x.ID)
	if err != nil {
		panic(err)
	}
	moved, _ := x.Improvement()
	fmt.Printf("%s: measured %s hours against a target of %s: %s%% of the way, reached: %v\n", x.Number, x.Measured, x.Target, moved, x.Reached())
	// Output:
	// CSI0001001: measured 5 hours against a target of 4: 75% of the way, reached: false
}
