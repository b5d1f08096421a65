package strategy

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// StatementKind says what a statement is for: showing a customer what
// their services cost (showback), or billing them (chargeback). The
// amounts are the same.
type StatementKind string

const (
	Showback   StatementKind = "showback"
	Chargeback StatementKind = "chargeback"
)

// StatementLine is one subscription's charge for the month: its monthly
// price prorated by the days it ran.
type StatementLine struct {
	OfferingID     itil.ID   `json:"offering_id"`
	Offering       string    `json:"offering"`
	SubscriptionID itil.ID   `json:"subscription_id"`
	Monthly        slm.Money `json:"monthly"`
	Days           int       `json:"days"`
	DaysInMonth    int       `json:"days_in_month"`
	// Amount is Monthly × Days / DaysInMonth, rounded to the minor unit
	// half away from zero.
	Amount slm.Money `json:"amount"`
}

// Statement is a customer's charges for one month.
type Statement struct {
	Kind     StatementKind   `json:"kind"`
	Customer string          `json:"customer"`
	Month    time.Time       `json:"month"` // its first day, 00:00 UTC
	Lines    []StatementLine `json:"lines"`
	// Totals are the sums of the lines' rounded amounts, one per
	// currency, by currency code.
	Totals []slm.Money `json:"totals"`
}

// Statement returns the customer's showback or chargeback statement for
// the month that holds month (in UTC): a line per subscription that ran
// in it, its monthly price prorated by day (from the day it starts to
// the day it ends, that day excluded: see daysRunning), each line rounded
// to the minor unit half away from zero, and the totals the sums of the
// rounded lines.
// A bad kind or customer gives a *itil.ValidationError.
func (s *Service) Statement(ctx context.Context, kind StatementKind, customer string, month time.Time) (*Statement, error) {
	var v itil.ValidationError
	if kind != Showback && kind != Chargeback {
		v.Add("kind", "must be showback or chargeback")
	}
	check.Text(&v, "customer", customer, true, check.Short)
	check.Time(&v, "month", month)
	if err := v.Err(); err != nil {
		return nil, err
	}
	first := time.Date(month.UTC().Year(), month.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	next := first.AddDate(0, 1, 0)
	days := int(next.Sub(first).Hours() / 24)
	out := &Statement{Kind: kind, Customer: customer, Month: first}
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		names := map[itil.ID]*Offering{}
		for sub, err := range subscriptions.Query(ctx, tx, storage.Query{Kind: KindSubscription,
			Terms: []string{storage.Term("customer", customer)}}) {
			if err != nil {
				return err
			}
			n := daysRunning(sub, first, next)
			if n == 0 {
				continue
			}
			o := names[sub.OfferingID]
			if o == nil {
				var err error
				if o, err = offerings.Get(ctx, tx, sub.OfferingID); err != nil {
					return err
				}
				names[o.ID] = o
			}
			monthly := o.Pricing.Monthly(sub.Quantity)
			// The quotient to 20 places: a month has at most 31 days, so
			// an inexact quotient lies farther than that from a half of
			// the minor unit, and rounds as the exact one would.
			amount := slm.Money{Amount: monthly.Amount.Mul(decimal.NewFromInt(int64(n))).DivRound(decimal.NewFromInt(int64(days)), 20),
				Currency: monthly.Currency}
			out.Lines = append(out.Lines, StatementLine{OfferingID: o.ID, Offering: o.Name, SubscriptionID: sub.ID,
				Monthly: monthly, Days: n, DaysInMonth: days, Amount: amount.Round()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	totals := map[string]decimal.Decimal{}
	for _, l := range out.Lines {
		totals[l.Amount.Currency] = totals[l.Amount.Currency].Add(l.Amount.Amount)
	}
	for _, cur := range slices.Sorted(maps.Keys(totals)) {
		out.Totals = append(out.Totals, slm.Money{Amount: totals[cur], Currency: cur})
	}
	return out, nil
}

// daysRunning counts the days of [first, next) the subscription is billed
// for: from the UTC day it starts (or first) to the UTC day it ends (or
// next), that day excluded, as nights at a hotel: a subscription replaced
// at noon is billed once for the day, by the one that starts.
func daysRunning(sub *Subscription, first, next time.Time) int {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	from := day(sub.Start)
	if from.Before(first) {
		from = first
	}
	to := next
	if !sub.End.IsZero() && sub.End.Before(next) {
		to = day(sub.End)
	}
	if !to.After(from) {
		return 0
	}
	return int(to.Sub(from).Hours() / 24)
}
