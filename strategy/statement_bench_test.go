package strategy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/strategy"
)

// BenchmarkShowback makes the June statement of each of 10k customers (two
// subscriptions each, to a per-unit and a tiered offering, some starting
// mid-month) through the Service on the memory backend, beside a
// hand-written loop over the same subscriptions held in a slice
// (prorating and rounding the same way), and reports the time per
// customer of each and their ratio:
//
//	go test ./strategy -run '^$' -bench Showback -benchtime 3x
func BenchmarkShowback(b *testing.B) {
	const customers = 10_000
	ctx := context.Background()
	now := time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	svc, err := strategy.New(memory.NewStore(), strategy.WithClock(itil.ClockFunc(func() time.Time { return now })))
	if err != nil {
		b.Fatal(err)
	}
	actor := itil.Actor{ID: "bench"}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }
	e, _ := svc.Propose(ctx, actor, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"mail"}, ExpectedValue: eur("1"), ExpectedCost: eur("1")}})
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		svc.Move(ctx, actor, e.ID, m, "")
	}
	svc.ApproveBusinessCase(ctx, actor, e.ID)
	svc.Move(ctx, actor, e.ID, strategy.MoveCharter, "")
	box, _ := svc.AddOffering(ctx, actor, e.ID, strategy.NewOffering{Name: "Mailbox",
		Pricing: strategy.Pricing{Model: strategy.PricePerUnit, Currency: "EUR", Price: decimal.RequireFromString("4.50")}})
	arch, _ := svc.AddOffering(ctx, actor, e.ID, strategy.NewOffering{Name: "Archive",
		Pricing: strategy.Pricing{Model: strategy.PriceTiered, Currency: "EUR", Tiers: []strategy.Tier{
			{UpTo: decimal.NewFromInt(100), UnitPrice: decimal.RequireFromString("0.10")}, {UnitPrice: decimal.RequireFromString("0.05")}}}})
	if _, err := svc.Move(ctx, actor, e.ID, strategy.MoveDesign, ""); err != nil {
		b.Fatal(err)
	}
	svc.PublishOffering(ctx, actor, box.ID)
	svc.PublishOffering(ctx, actor, arch.ID)
	type held struct {
		customer string
		pricing  strategy.Pricing
		qty      decimal.Decimal
		start    time.Time
	}
	var all []held
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range customers {
		c := fmt.Sprintf("c%05d", i)
		start := june.AddDate(0, 0, i%20)
		for _, o := range []*strategy.Offering{box, arch} {
			qty := decimal.NewFromInt(int64(1 + i%300))
			if _, err := svc.Subscribe(ctx, actor, o.ID, strategy.NewSubscription{Customer: c, Quantity: qty, Start: start}); err != nil {
				b.Fatal(err)
			}
			all = append(all, held{c, o.Pricing, qty, start})
		}
	}
	byCustomer := map[string][]held{}
	for _, h := range all {
		byCustomer[h.customer] = append(byCustomer[h.customer], h)
	}
	thirty := decimal.NewFromInt(30)
	var ours, loop time.Duration
	for b.Loop() {
		t0 := time.Now()
		for i := range customers {
			if _, err := svc.Statement(ctx, strategy.Showback, fmt.Sprintf("c%05d", i), june); err != nil {
				b.Fatal(err)
			}
		}
		ours += time.Since(t0)
		t0 = time.Now()
		for i := range customers {
			var total decimal.Decimal
			for _, h := range byCustomer[fmt.Sprintf("c%05d", i)] {
				days := 30 - h.start.Day() + 1
				m := h.pricing.Monthly(h.qty)
				total = total.Add(slm.Money{Amount: m.Amount.Mul(decimal.NewFromInt(int64(days))).DivRound(thirty, 20), Currency: "EUR"}.Round().Amount)
			}
			_ = total
		}
		loop += time.Since(t0)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / customers }
	b.ReportMetric(per(ours), "service-ns/customer")
	b.ReportMetric(per(loop), "loop-ns/customer")
	b.ReportMetric(per(ours)/per(loop), "x-loop")
}
