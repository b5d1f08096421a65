// Strategy tells service strategy's story for one service, Corporate
// mail, over June 2026: it goes from the portfolio's pipeline into the
// catalogue with two offerings; customers subscribe; the month's
// infrastructure costs are allocated along the CMDB to the service and
// its budget compared; each customer gets a statement prorated by day;
// the month's incidents measure the value the service delivered against
// its warranty; and a forecast of demand is held against the offering's
// capacity.
//
//	go run ./examples/strategy
//	go run ./examples/strategy -store sqlite:/tmp/itil.db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/internal/store"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/strategy"
)

func main() {
	spec := store.Flag()
	flag.Parse()
	if err := run(context.Background(), *spec); err != nil {
		log.Fatal(err)
	}
}

func eur(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }

func run(ctx context.Context, spec string) (err error) {
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	now := june.AddDate(0, -3, 0)
	clock := itil.ClockFunc(func() time.Time { return now })
	st, closeStore, err := store.Open(ctx, spec, "strategy")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	cis, err := cmdb.New(st, cmdb.WithClock(clock))
	if err != nil {
		return err
	}
	incidents, err := incident.New(st, incident.WithClock(clock))
	if err != nil {
		return err
	}
	// The strategy Service reads the CMDB (cost allocation) and the
	// incidents (outages) on the same store.
	svc, err := strategy.New(st, strategy.WithClock(clock), strategy.WithCMDB(cis), strategy.WithIncidents(incidents))
	if err != nil {
		return err
	}
	planner := itil.Actor{ID: "pia", Name: "Pia (service portfolio manager)"}
	board := itil.Actor{ID: "board", Name: "Investment board"}
	admin := itil.Actor{ID: "cmdb-admin"}

	// The estate: the business service depends on the mail application,
	// which runs on two servers sharing a storage array.
	ci := func(class, name string) (*cmdb.CI, error) {
		return cis.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational})
	}
	mail, err := ci(cmdb.ClassBusinessService, "Corporate mail")
	if err != nil {
		return err
	}
	app, err := ci(cmdb.ClassApplication, "mail-app")
	if err != nil {
		return err
	}
	mx1, err := ci(cmdb.ClassLinuxServer, "mx1")
	if err != nil {
		return err
	}
	mx2, err := ci(cmdb.ClassLinuxServer, "mx2")
	if err != nil {
		return err
	}
	san, err := ci(cmdb.ClassStorageDevice, "san-01")
	if err != nil {
		return err
	}
	for _, r := range []struct {
		typ           string
		parent, child *cmdb.CI
	}{{cmdb.DependsOn, mail, app}, {cmdb.RunsOn, app, mx1}, {cmdb.RunsOn, app, mx2}, {cmdb.Uses, mx1, san}, {cmdb.Uses, mx2, san}} {
		if _, err := cis.Relate(ctx, admin, r.typ, r.parent.ID, r.child.ID); err != nil {
			return err
		}
	}

	// 1. The portfolio: from the pipeline into the catalogue.
	fmt.Println("== Portfolio")
	e, err := svc.Propose(ctx, planner, strategy.NewEntry{Name: "Corporate mail", Type: strategy.BusinessService, Owner: "olga",
		ServiceCIID: mail.ID, BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail within a minute"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000"), Horizon: "3 years"}})
	if err != nil {
		return err
	}
	move := func(moves ...string) error {
		for _, m := range moves {
			if e, err = svc.Move(ctx, planner, e.ID, m, ""); err != nil {
				return err
			}
			fmt.Printf("%-8s → %s (%s)\n", m, e.Status, e.Phase())
		}
		return nil
	}
	if err := move(strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove); err != nil {
		return err
	}
	if _, err := svc.Move(ctx, planner, e.ID, strategy.MoveCharter, ""); err != nil {
		fmt.Println("charter  refused:", err)
	}
	if _, err := svc.ApproveBusinessCase(ctx, board, e.ID); err != nil {
		return err
	}
	if err := move(strategy.MoveCharter); err != nil {
		return err
	}
	standard, err := svc.AddOffering(ctx, planner, e.ID, strategy.NewOffering{Name: "Standard mailbox",
		Utility:  []string{"send and receive mail", "shared calendars"},
		Warranty: strategy.Warranty{Availability: "99.9%", Capacity: "5000 mailboxes", Continuity: "RTO 4 h, RPO 1 h", Security: "encrypted at rest"},
		Commitments: strategy.Commitments{Availability: decimal.RequireFromString("99.9"), RTO: 4 * time.Hour, RPO: time.Hour,
			DeliveryTime: 24 * time.Hour},
		Pricing:  strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")},
		Capacity: decimal.NewFromInt(5000)})
	if err != nil {
		return err
	}
	archive, err := svc.AddOffering(ctx, planner, e.ID, strategy.NewOffering{Name: "Mail archive",
		Utility: []string{"find mail from past years"},
		Pricing: strategy.Pricing{Model: strategy.PriceTiered, Unit: "GB", Currency: "EUR", Tiers: []strategy.Tier{
			{UpTo: decimal.NewFromInt(100), UnitPrice: decimal.RequireFromString("0.20")},
			{UnitPrice: decimal.RequireFromString("0.05")}}}})
	if err != nil {
		return err
	}
	if err := move(strategy.MoveDesign); err != nil {
		return err
	}
	for _, o := range []*strategy.Offering{standard, archive} {
		if _, err := svc.PublishOffering(ctx, planner, o.ID); err != nil {
			return err
		}
	}
	if err := move(strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate); err != nil {
		return err
	}

	// 2. Subscriptions, and what a customer gets.
	fmt.Println("\n== Catalogue")
	for _, s := range []struct {
		offering *strategy.Offering
		customer string
		qty      int64
		start    time.Time
	}{
		{standard, "acme", 3000, june},
		{standard, "globex", 800, june.AddDate(0, 0, 15)},
		{archive, "globex", 250, june.AddDate(0, 0, 15)},
	} {
		if _, err := svc.Subscribe(ctx, planner, s.offering.ID, strategy.NewSubscription{Customer: s.customer,
			Quantity: decimal.NewFromInt(s.qty), Start: s.start}); err != nil {
			return err
		}
	}
	now = june.AddDate(0, 0, 20)
	ents, err := svc.Entitlements(ctx, "globex", now)
	if err != nil {
		return err
	}
	for _, en := range ents {
		fmt.Printf("globex gets %s: %s %s at %s a month", en.Offering.Name, en.Subscription.Quantity, en.Offering.Pricing.Unit, en.Monthly)
		if a := en.Offering.Commitments.Availability; a.Sign() > 0 {
			fmt.Printf(", %s%% available", a)
		}
		fmt.Println()
	}

	// 3. June's costs, allocated along the CMDB over capacity: the
	// servers can host 10 applications' worth each, so most of their
	// cost is idle capacity.
	fmt.Println("\n== Costs")
	card, err := svc.DefineRateCard(ctx, planner, "Linux server", "server month", eur("650.00"))
	if err != nil {
		return err
	}
	for _, c := range []strategy.NewCost{
		{Object: strategy.CostObject{Kind: strategy.ObjectCI, ID: mx1.ID.String()}, Description: "mx1", RateCardID: card.ID, Units: decimal.NewFromInt(1),
			Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect},
		{Object: strategy.CostObject{Kind: strategy.ObjectCI, ID: mx2.ID.String()}, Description: "mx2", RateCardID: card.ID, Units: decimal.NewFromInt(1),
			Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect},
		{Object: strategy.CostObject{Kind: strategy.ObjectCI, ID: san.ID.String()}, Description: "SAN share", Amount: eur("1000.00"),
			Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect},
		{Object: strategy.CostObject{Kind: strategy.ObjectCI, ID: app.ID.String()}, Description: "mail licences", Amount: eur("3800.00"),
			Type: strategy.CostOpex, Behaviour: strategy.CostVariable, Attribution: strategy.CostDirect},
		{Object: strategy.CostObject{Kind: strategy.ObjectService, ID: e.ID.String()}, Description: "mail team", Amount: eur("9000.00"),
			Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostDirect},
	} {
		c.Month = june
		if _, err := svc.RecordCost(ctx, planner, c); err != nil {
			return err
		}
	}
	alloc, err := svc.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverCapacity,
		Capacity: map[itil.ID]decimal.Decimal{mx1.ID: decimal.NewFromInt(3), mx2.ID: decimal.NewFromInt(3), san.ID: decimal.NewFromInt(3)}})
	if err != nil {
		return err
	}
	names := map[itil.ID]string{mail.ID: mail.Name, app.ID: app.Name, mx1.ID: mx1.Name, mx2.ID: mx2.Name, san.ID: san.Name}
	fmt.Printf("CI costs %s, allocated over capacity:\n", alloc.Total)
	for _, a := range alloc.Allocated {
		fmt.Printf("  to %-15s %s\n", names[a.ID], a.Amount)
	}
	for _, a := range alloc.Overhead {
		fmt.Printf("  idle on %-12s %s\n", names[a.ID], a.Amount)
	}
	if _, err := svc.SetBudget(ctx, planner, e.ID, june, eur("14000")); err != nil {
		return err
	}
	v, err := svc.Variance(ctx, e.ID, june, alloc)
	if err != nil {
		return err
	}
	fmt.Printf("budget %s, actual %s (the team's 9000.00 and the allocation), variance %s\n", v.Budget, v.Actual, v.Variance)

	// 4. Statements: globex joined on the 16th, so it pays 15 of June's
	// 30 days.
	fmt.Println("\n== Statements")
	for _, customer := range []string{"acme", "globex"} {
		s, err := svc.Statement(ctx, strategy.Chargeback, customer, june)
		if err != nil {
			return err
		}
		for _, l := range s.Lines {
			fmt.Printf("%-7s %-17s %s × %d/%d days = %s\n", customer, l.Offering, l.Monthly, l.Days, l.DaysInMonth, l.Amount)
		}
		fmt.Printf("%-7s total %s\n", customer, s.Totals[0])
	}

	// 5. Value: the month's incidents say what the warranty delivered.
	fmt.Println("\n== Value")
	now = june.AddDate(0, 0, 10).Add(9 * time.Hour)
	down, err := incidents.Open(ctx, itil.Actor{ID: "desk"}, incident.NewIncident{Title: "Mail down", Caller: itil.Actor{ID: "casey"},
		Channel: incident.Phone, CIID: mail.ID, ServiceDown: true, Impact: 1, Urgency: 1})
	if err != nil {
		return err
	}
	now = now.Add(50 * time.Minute)
	if _, err := incidents.Resolve(ctx, itil.Actor{ID: "desk"}, down.ID, "solution_provided", "restarted the transport"); err != nil {
		return err
	}
	now = june.AddDate(0, 1, 1)
	va, err := svc.AssessValue(ctx, standard.ID, strategy.ValueInput{From: june, To: june.AddDate(0, 1, 0),
		Outcomes: []strategy.OutcomeRecord{{Outcome: "send and receive mail", Achieved: true}, {Outcome: "shared calendars", Achieved: true}},
		Outputs:  map[string]int64{"incidents resolved": 1}})
	if err != nil {
		return err
	}
	fmt.Printf("availability %s%% over %d outage(s); fit for purpose %t, fit for use %t\n", va.Availability.Percent, len(va.Outages),
		va.FitForPurpose, va.FitForUse)
	for _, s := range va.Shortfalls {
		fmt.Printf("  %s: promised %s, delivered %s, short by %s\n", s.Commitment, s.Promised, s.Actual, s.Downtime)
	}

	// 6. Demand: eight weeks of hourly logins, busiest on weekday
	// mornings and growing, forecast a week ahead against the
	// offering's capacity of 5000 concurrent mailboxes.
	fmt.Println("\n== Demand")
	start := june.AddDate(0, 0, -56)
	noise := rand.New(rand.NewPCG(6, 2026))
	var values []float64
	for h := range 56 * 24 {
		at := start.Add(time.Duration(h) * time.Hour)
		base := 700 + 30*float64(h)/24 // the trend: 30 more a day
		if wd := at.Weekday(); wd != time.Saturday && wd != time.Sunday {
			base += 2500 * math.Max(0, math.Sin(math.Pi*float64(at.Hour()-7)/11))
		}
		values = append(values, base+noise.NormFloat64()*60)
	}
	fc, err := strategy.ForecastDemand(strategy.DemandSeries{Start: start, Step: time.Hour, Values: values}, 7*24)
	if err != nil {
		return err
	}
	over := fc.Over(5000)
	fmt.Printf("peak so far %.0f logins an hour; holdout error %.0f; %d of the next 168 hours over capacity",
		slices.Max(values), fc.HoldoutMAE, len(over))
	if len(over) > 0 {
		var when []string
		for _, p := range over[:min(3, len(over))] {
			when = append(when, p.At.Format("Mon 15:04"))
		}
		fmt.Printf(", first %s", strings.Join(when, ", "))
	}
	fmt.Println()
	return nil
}
