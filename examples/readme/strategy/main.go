package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
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
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	svc := check(strategy.New(memory.NewStore(), strategy.WithClock(itil.ClockFunc(func() time.Time { return june }))))
	pia := itil.Actor{ID: "pia", Name: "Pia (portfolio manager)"}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }

	// The pipeline: a business case, approved, then the charter.
	e := check(svc.Propose(ctx, pia, strategy.NewEntry{Name: "Corporate mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000")}}))
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		e = check(svc.Move(ctx, pia, e.ID, m, ""))
	}
	_, err := svc.Move(ctx, pia, e.ID, strategy.MoveCharter, "")
	fmt.Println(err) // the business case is not approved yet
	check(svc.ApproveBusinessCase(ctx, pia, e.ID))
	check(svc.Move(ctx, pia, e.ID, strategy.MoveCharter, ""))

	// The catalogue: an offering with its commitments and price.
	o := check(svc.AddOffering(ctx, pia, e.ID, strategy.NewOffering{Name: "Standard mailbox",
		Utility:     []string{"send and receive mail"},
		Commitments: strategy.Commitments{Availability: decimal.RequireFromString("99.9"), RTO: 4 * time.Hour},
		Pricing:     strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")},
		Capacity:    decimal.NewFromInt(5000)}))
	e = check(svc.Move(ctx, pia, e.ID, strategy.MoveDesign, ""))
	check(svc.PublishOffering(ctx, pia, o.ID))
	fmt.Println(e.Status, e.Phase())

	// A customer subscribes halfway through June: the statement is
	// prorated by day.
	check(svc.Subscribe(ctx, pia, o.ID, strategy.NewSubscription{Customer: "globex", Quantity: decimal.NewFromInt(800),
		Start: june.AddDate(0, 0, 15)}))
	st := check(svc.Statement(ctx, strategy.Chargeback, "globex", june))
	l := st.Lines[0]
	fmt.Printf("%s: %s × %d/%d days = %s\n", l.Offering, l.Monthly, l.Days, l.DaysInMonth, l.Amount)

	// Value: 50 minutes down in a 30-day month against 99.9%.
	va := check(svc.AssessValue(ctx, o.ID, strategy.ValueInput{From: june, To: june.AddDate(0, 0, 30),
		Outages: []slm.Outage{{Start: june.AddDate(0, 0, 10), End: june.AddDate(0, 0, 10).Add(50 * time.Minute)}}}))
	fmt.Println("fit for use:", va.FitForUse, "short by", va.Shortfalls[0].Downtime)
	// Prints:
	// invalid input: business_case: must be approved before the service is chartered
	// design catalogue
	// Standard mailbox: 3600.00 EUR × 15/30 days = 1800.00 EUR
	// fit for use: false short by 6m48s
}
