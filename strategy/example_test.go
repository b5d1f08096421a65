package strategy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/strategy"
)

// A service from the pipeline into the catalogue, an offering, and what a
// customer gets.
func ExampleService_Entitlements() {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	svc, err := strategy.New(memory.NewStore(), strategy.WithClock(itil.ClockFunc(func() time.Time { return now })))
	if err != nil {
		panic(err)
	}
	planner, board := itil.Actor{ID: "paula"}, itil.Actor{ID: "bert"}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }
	mail, _ := svc.Propose(ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000"), Horizon: "3 years"}})
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		svc.Move(ctx, board, mail.ID, m, "")
	}
	svc.ApproveBusinessCase(ctx, board, mail.ID)
	svc.Move(ctx, board, mail.ID, strategy.MoveCharter, "")
	box, _ := svc.AddOffering(ctx, planner, mail.ID, strategy.NewOffering{Name: "Standard mailbox",
		Utility:     []string{"send and receive mail"},
		Commitments: strategy.Commitments{Availability: decimal.RequireFromString("99.9")},
		Pricing:     strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")}})
	if _, err := svc.Move(ctx, board, mail.ID, strategy.MoveDesign, ""); err != nil {
		panic(err)
	}
	svc.PublishOffering(ctx, planner, box.ID)
	svc.Subscribe(ctx, planner, box.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(120)})

	got, err := svc.Entitlements(ctx, "acme", time.Time{})
	if err != nil {
		panic(err)
	}
	for _, e := range got {
		fmt.Printf("%s, %s: %s%% available, %s a month\n", e.Entry.Name, e.Offering.Name,
			e.Offering.Commitments.Availability, e.Monthly)
	}
	// Output:
	// Mail, Standard mailbox: 99.9% available, 540.00 EUR a month
}

// The portfolio's guards: a service is chartered only once its business
// case is approved.
func ExampleService_Move() {
	ctx := context.Background()
	svc, _ := strategy.New(memory.NewStore())
	pia := itil.Actor{ID: "pia"}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }
	e, _ := svc.Propose(ctx, pia, strategy.NewEntry{Name: "Payroll", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff paid on time"},
			ExpectedValue: eur("200000"), ExpectedCost: eur("80000")}})
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		e, _ = svc.Move(ctx, pia, e.ID, m, "")
	}
	if _, err := svc.Move(ctx, pia, e.ID, strategy.MoveCharter, ""); err != nil {
		fmt.Println(err)
	}
	svc.ApproveBusinessCase(ctx, pia, e.ID)
	e, _ = svc.Move(ctx, pia, e.ID, strategy.MoveCharter, "")
	fmt.Println(e.Status, e.Phase())
	// Output:
	// invalid input: business_case: must be approved before the service is chartered
	// chartered pipeline
}

// A month's statement: a subscription that started on the 16th of June
// pays 15 of its 30 days.
func ExampleService_Statement() {
	ctx := context.Background()
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	svc, _ := strategy.New(memory.NewStore(), strategy.WithClock(itil.ClockFunc(func() time.Time { return june })))
	pia := itil.Actor{ID: "pia"}
	box := catalogued(ctx, svc, pia)
	svc.Subscribe(ctx, pia, box.ID, strategy.NewSubscription{Customer: "globex", Quantity: decimal.NewFromInt(800),
		Start: june.AddDate(0, 0, 15)})
	st, err := svc.Statement(ctx, strategy.Chargeback, "globex", june)
	if err != nil {
		panic(err)
	}
	for _, l := range st.Lines {
		fmt.Printf("%s: %s × %d/%d = %s\n", l.Offering, l.Monthly, l.Days, l.DaysInMonth, l.Amount)
	}
	// Output:
	// Standard mailbox: 3600.00 EUR × 15/30 = 1800.00 EUR
}

// Value: 50 minutes down in a 30-day month against a 99.9% target is
// not fit for use, short by what 99.9% allows (43 min 12 s).
func ExampleService_AssessValue() {
	ctx := context.Background()
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	svc, _ := strategy.New(memory.NewStore(), strategy.WithClock(itil.ClockFunc(func() time.Time { return june })))
	box := catalogued(ctx, svc, itil.Actor{ID: "pia"})
	down := june.AddDate(0, 0, 10)
	va, err := svc.AssessValue(ctx, box.ID, strategy.ValueInput{From: june, To: june.AddDate(0, 0, 30),
		Outages:  []slm.Outage{{Start: down, End: down.Add(50 * time.Minute)}},
		Outcomes: []strategy.OutcomeRecord{{Outcome: "send and receive mail", Achieved: true}}})
	if err != nil {
		panic(err)
	}
	fmt.Println("fit for purpose:", va.FitForPurpose, "fit for use:", va.FitForUse)
	for _, s := range va.Shortfalls {
		fmt.Printf("%s: promised %s, delivered %s, short by %s\n", s.Commitment, s.Promised, s.Actual, s.Downtime)
	}
	// Output:
	// fit for purpose: true fit for use: false
	// availability: promised 99.9%, delivered 99.884259%, short by 6m48s
}

// A daily series with a weekly pattern (busy weekdays, quiet weekends),
// forecast a week ahead and held against a capacity.
func ExampleForecastDemand() {
	start := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC) // a Monday
	var days []float64
	for d := range 8 * 7 {
		v := 100.0 + float64(d) // growing by one a day
		if d%7 >= 5 {
			v -= 60 // the weekend
		}
		days = append(days, v)
	}
	f, err := strategy.ForecastDemand(strategy.DemandSeries{Start: start, Step: 24 * time.Hour, Values: days}, 7)
	if err != nil {
		panic(err)
	}
	for _, p := range f.Over(158) {
		fmt.Printf("%s %.0f\n", p.At.Format("Mon 2 Jan"), p.Value)
	}
	fmt.Printf("holdout error %.1f\n", f.HoldoutMAE)
	// Output:
	// Thu 2 Jul 159
	// Fri 3 Jul 160
	// holdout error 0.0
}

// catalogued puts a mail service with one published offering in the
// catalogue.
func catalogued(ctx context.Context, svc *strategy.Service, pia itil.Actor) *strategy.Offering {
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }
	e, err := svc.Propose(ctx, pia, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000")}})
	if err != nil {
		panic(err)
	}
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		svc.Move(ctx, pia, e.ID, m, "")
	}
	svc.ApproveBusinessCase(ctx, pia, e.ID)
	svc.Move(ctx, pia, e.ID, strategy.MoveCharter, "")
	box, err := svc.AddOffering(ctx, pia, e.ID, strategy.NewOffering{Name: "Standard mailbox",
		Utility:     []string{"send and receive mail"},
		Commitments: strategy.Commitments{Availability: decimal.RequireFromString("99.9")},
		Pricing:     strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")}})
	if err != nil {
		panic(err)
	}
	if _, err := svc.Move(ctx, pia, e.ID, strategy.MoveDesign, ""); err != nil {
		panic(err)
	}
	if _, err := svc.PublishOffering(ctx, pia, box.ID); err != nil {
		panic(err)
	}
	return box
}

// A month's costs rolled up the CMDB: the mail server's 1,000.00 reaches
// the mail service through the application on it; over capacity, the
// three quarters of the server nothing uses are overhead.
func ExampleService_AllocateCosts() {
	ctx := context.Background()
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	store := memory.NewStore()
	cis, _ := cmdb.New(store)
	svc, _ := strategy.New(store, strategy.WithCMDB(cis))
	admin, pia := itil.Actor{ID: "cmdb-admin"}, itil.Actor{ID: "pia"}
	names := map[itil.ID]string{}
	ci := func(class, name string) itil.ID {
		c, err := cis.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational})
		if err != nil {
			panic(err)
		}
		names[c.ID] = name
		return c.ID
	}
	mail, app, server := ci(cmdb.ClassBusinessService, "Mail"), ci(cmdb.ClassApplication, "mail-app"), ci(cmdb.ClassLinuxServer, "mx1")
	cis.Relate(ctx, admin, cmdb.DependsOn, mail, app)
	cis.Relate(ctx, admin, cmdb.RunsOn, app, server)
	svc.Propose(ctx, pia, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, ServiceCIID: mail})
	svc.RecordCost(ctx, pia, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectCI, ID: server.String()},
		Description: "mx1", Amount: slm.Money{Amount: decimal.NewFromInt(1000), Currency: "EUR"},
		Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect})

	a, err := svc.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverCapacity,
		Capacity: map[itil.ID]decimal.Decimal{server: decimal.NewFromInt(4)}})
	if err != nil {
		panic(err)
	}
	for _, x := range a.Allocated {
		fmt.Println("to", names[x.ID], x.Amount)
	}
	for _, x := range a.Overhead {
		fmt.Println("idle on", names[x.ID], x.Amount)
	}
	// Output:
	// to Mail 250.00 EUR
	// idle on mx1 750.00 EUR
}
