package strategy_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
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
