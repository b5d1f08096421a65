package strategy

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// Financial management records what services cost, month by month: cost
// items entered against a service, a CI or a cost centre (from a rate
// card or as an amount), and a budget per service and month to compare
// the actual cost with.

// CostObject is what a cost is entered against.
type CostObject struct {
	// Kind is "service" (a portfolio entry's ID), "ci" (a CI's ID) or
	// "cost_centre" (its code).
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Cost object kinds.
const (
	ObjectService    = "service"
	ObjectCI         = "ci"
	ObjectCostCentre = "cost_centre"
)

// CostType, CostBehaviour and Attribution classify a cost as ITIL does.
type (
	CostType      string
	CostBehaviour string
	Attribution   string
)

const (
	CostCapex    CostType      = "capex"
	CostOpex     CostType      = "opex"
	CostFixed    CostBehaviour = "fixed"
	CostVariable CostBehaviour = "variable"
	CostDirect   Attribution   = "direct"
	CostIndirect Attribution   = "indirect"
)

// RateCard prices a unit of something a cost is counted in: a server
// month, a terabyte of storage, an hour of labour.
type RateCard struct {
	ID        itil.ID   `json:"id"`
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Unit      string    `json:"unit"`
	Rate      slm.Money `json:"rate"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CostItem is one cost of one month.
type CostItem struct {
	ID          itil.ID       `json:"id"`
	Version     int64         `json:"version"`
	Month       time.Time     `json:"month"` // its first day, 00:00 UTC
	Object      CostObject    `json:"object"`
	Description string        `json:"description"`
	Amount      slm.Money     `json:"amount"`
	Type        CostType      `json:"type"`
	Behaviour   CostBehaviour `json:"behaviour"`
	Attribution Attribution   `json:"attribution"`
	// RateCardID and Units say how Amount was reached (Units × the card's
	// rate), when it was.
	RateCardID itil.ID         `json:"rate_card_id,omitzero"`
	Units      decimal.Decimal `json:"units,omitzero"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// NewCost is a cost to record: an Amount, or Units of a rate card.
type NewCost struct {
	Month       time.Time
	Object      CostObject
	Description string
	Amount      slm.Money
	RateCardID  itil.ID
	Units       decimal.Decimal
	Type        CostType
	Behaviour   CostBehaviour
	Attribution Attribution
}

// Budget is what a service may cost in a month.
type Budget struct {
	ID        itil.ID   `json:"id"`
	Version   int64     `json:"version"`
	EntryID   itil.ID   `json:"entry_id"`
	Month     time.Time `json:"month"`
	Amount    slm.Money `json:"amount"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Kinds, commands and events of financial records.
const (
	KindRateCard = "strategy_rate_card"
	KindCost     = "strategy_cost"
	KindBudget   = "strategy_budget"

	CommandDefineRateCard = "define_rate_card"
	CommandRecordCost     = "record_cost"
	CommandSetBudget      = "set_budget"

	EventRateCardDefined = "strategy.rate_card_defined"
	EventCostRecorded    = "strategy.cost_recorded"
	EventBudgetSet       = "strategy.budget_set"
)

var rateCards = storage.NewCollection(storage.Schema[RateCard]{
	Kind: KindRateCard, ID: func(r *RateCard) itil.ID { return r.ID }, Version: func(r *RateCard) *int64 { return &r.Version },
	SortKey: func(r *RateCard) string { return r.Name },
	Terms:   func(_ *RateCard, dst []string) []string { return dst },
	Clone:   func(dst, src *RateCard) { *dst = *src },
})

var costs = storage.NewCollection(storage.Schema[CostItem]{
	Kind: KindCost, ID: func(c *CostItem) itil.ID { return c.ID }, Version: func(c *CostItem) *int64 { return &c.Version },
	SortKey: func(c *CostItem) string { return storage.TimeKey(c.Month) },
	Terms: func(c *CostItem, dst []string) []string {
		return append(dst, storage.Term("object", c.Object.Kind+":"+c.Object.ID))
	},
	Clone: func(dst, src *CostItem) { *dst = *src },
})

var budgets = storage.NewCollection(storage.Schema[Budget]{
	Kind: KindBudget, ID: func(b *Budget) itil.ID { return b.ID }, Version: func(b *Budget) *int64 { return &b.Version },
	SortKey: func(b *Budget) string { return storage.TimeKey(b.Month) },
	Terms:   func(b *Budget, dst []string) []string { return append(dst, storage.Term("entry", b.EntryID.String())) },
	Clone:   func(dst, src *Budget) { *dst = *src },
})

var (
	rateCardSpec = specOf(rateCards, func(r *RateCard, now time.Time) { r.UpdatedAt = now }, func(dst, src *RateCard) { *dst = *src })
	costSpec     = specOf(costs, func(c *CostItem, now time.Time) { c.UpdatedAt = now }, func(dst, src *CostItem) { *dst = *src })
	budgetSpec   = specOf(budgets, func(b *Budget, now time.Time) { b.UpdatedAt = now }, func(dst, src *Budget) { *dst = *src })
)

// monthOf returns the first instant of the UTC month holding t.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// checkCost refuses a cost an allocation could not hold: finer than a
// millionth of the minor unit (FineDigits), or past half of what its
// arithmetic holds, so that a recorded cost never blocks its month's
// allocation.
func checkCost(v *itil.ValidationError, field string, m slm.Money) {
	if !validCurrency(m.Currency) {
		return // checkMoney says why
	}
	c, exact := scaleInt(m.Amount, slm.MinorUnits(m.Currency)+FineDigits)
	if !exact || c < -math.MaxInt64/4 || c > math.MaxInt64/4 {
		v.Add(field, "gives "+m.String()+": a cost must be whole millionths of the minor unit and below about 23 billion")
	}
}

// checkMoney refuses an amount that is not in an ISO 4217 currency;
// checkCurrency a code that is not one. The package's money is checked
// by these two alone.
func checkMoney(v *itil.ValidationError, field string, m slm.Money) {
	if _, err := slm.NewMoney(m.Amount.String(), m.Currency); err != nil {
		v.Add(field, "is not an amount in an ISO 4217 currency")
	}
}

func checkCurrency(v *itil.ValidationError, field, code string) {
	if !validCurrency(code) {
		v.Add(field, fmt.Sprintf("%q is not an ISO 4217 currency code (three upper-case letters)", code))
	}
}

func validCurrency(code string) bool {
	_, err := slm.NewMoney("0", code)
	return err == nil
}

// DefineRateCard records a rate card: a unit and its rate.
func (s *Service) DefineRateCard(ctx context.Context, actor itil.Actor, name, unit string, rate slm.Money) (*RateCard, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "name", name, true, check.Short)
	check.Text(&v, "unit", unit, true, check.Short)
	checkMoney(&v, "rate", rate)
	if rate.Amount.Sign() < 0 {
		v.Add("rate", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := sibling(s, rateCardSpec)
	return r.Create(ctx, actor, CommandDefineRateCard, &RateCard{ID: itil.NewID(), Name: name, Unit: unit, Rate: rate},
		func(_ *pipeline.Cmd[RateCard], rc *RateCard) (event, error) {
			return event{Type: EventRateCardDefined, Summary: "rate card " + strconv.Quote(rc.Name) + ": " + rc.Rate.String() + " a " + rc.Unit}, nil
		})
}

// RecordCost records a cost of a month against a service, a CI or a cost
// centre: an amount, or units of a rate card (the amount is then units ×
// rate, exact). Bad fields give a *itil.ValidationError naming each; an
// unknown rate card or service, or with WithCMDB an unknown CI, an error
// wrapping itil.ErrNotFound.
func (s *Service) RecordCost(ctx context.Context, actor itil.Actor, in NewCost) (*CostItem, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Time(&v, "month", in.Month)
	switch in.Object.Kind {
	case ObjectService, ObjectCI:
		if id, err := uuid.Parse(in.Object.ID); err != nil || id == itil.NilID {
			v.Add("object.id", "must be the ID of the "+in.Object.Kind)
		} else {
			in.Object.ID = id.String() // one spelling, as Costs and Variance look it up
		}
	case ObjectCostCentre:
		check.Text(&v, "object.id", in.Object.ID, true, check.Short)
	default:
		v.Add("object.kind", "must be service, ci or cost_centre")
	}
	check.Text(&v, "description", in.Description, true, check.Short)
	byCard := in.RateCardID != itil.NilID
	switch {
	case byCard && (in.Amount.Currency != "" || !in.Amount.Amount.IsZero()):
		v.Add("amount", "is worked out from the rate card: give units, not an amount")
	case byCard && in.Units.Sign() <= 0:
		v.Add("units", "must be positive")
	case !byCard:
		checkMoney(&v, "amount", in.Amount)
		checkCost(&v, "amount", in.Amount)
	}
	if in.Type != CostCapex && in.Type != CostOpex {
		v.Add("type", "must be capex or opex")
	}
	if in.Behaviour != CostFixed && in.Behaviour != CostVariable {
		v.Add("behaviour", "must be fixed or variable")
	}
	if in.Attribution != CostDirect && in.Attribution != CostIndirect {
		v.Add("attribution", "must be direct or indirect")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := &CostItem{ID: itil.NewID(), Month: monthOf(in.Month), Object: in.Object, Description: in.Description, Amount: in.Amount,
		Type: in.Type, Behaviour: in.Behaviour, Attribution: in.Attribution, RateCardID: in.RateCardID, Units: in.Units}
	r := sibling(s, costSpec)
	return r.Create(ctx, actor, CommandRecordCost, c, func(cm *pipeline.Cmd[CostItem], c *CostItem) (event, error) {
		if byCard {
			rc, err := rateCards.Get(cm.Ctx, cm.Tx, c.RateCardID)
			if err != nil {
				return event{}, fmt.Errorf("rate_card_id: %w", err)
			}
			c.Amount = slm.Money{Amount: rc.Rate.Amount.Mul(c.Units), Currency: rc.Rate.Currency}
			var v itil.ValidationError
			if checkCost(&v, "units", c.Amount); v.Err() != nil {
				return event{}, v.Err()
			}
		}
		switch {
		case c.Object.Kind == ObjectService:
			if _, err := entries.Get(cm.Ctx, cm.Tx, uuid.MustParse(c.Object.ID)); err != nil {
				return event{}, fmt.Errorf("object.id: %w", err)
			}
		case c.Object.Kind == ObjectCI && s.cfg.cmdb != nil:
			if _, err := s.cfg.cmdb.In(cm.Tx).Get(cm.Ctx, uuid.MustParse(c.Object.ID)); err != nil {
				return event{}, fmt.Errorf("object.id: %w", err)
			}
		}
		return event{Type: EventCostRecorded, Summary: c.Description + ": " + c.Amount.String()}, nil
	})
}

// Costs returns the cost items entered against the object, oldest month
// first; with month set, that month's only.
func (s *Service) Costs(ctx context.Context, object CostObject, month time.Time) iter.Seq2[*CostItem, error] {
	if object.Kind != ObjectCostCentre {
		if id, err := uuid.Parse(object.ID); err == nil {
			object.ID = id.String() // as RecordCost stores it
		}
	}
	q := pipeline.Query[CostItem]{Terms: []string{storage.Term("object", object.Kind+":"+object.ID)}}
	if !month.IsZero() {
		m := monthOf(month)
		q.Min, q.Max = storage.TimeKey(m), storage.TimeKey(m.AddDate(0, 1, 0))
		q.Keep = func(c *CostItem) bool { return c.Month.Equal(m) }
	}
	return sibling(s, costSpec).List(ctx, q)
}

var budgetSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/strategy#budget"))

// budgetID is one per service and month, so setting it again updates it,
// on any instance.
func budgetID(entryID itil.ID, month time.Time) itil.ID {
	return uuid.NewSHA1(budgetSpace, []byte(entryID.String()+"/"+month.Format("2006-01")))
}

// SetBudget sets the service's budget for the month holding month.
func (s *Service) SetBudget(ctx context.Context, actor itil.Actor, entryID itil.ID, month time.Time, amount slm.Money) (*Budget, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Time(&v, "month", month)
	checkMoney(&v, "amount", amount)
	if amount.Amount.Sign() < 0 {
		v.Add("amount", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	m := monthOf(month)
	id := budgetID(entryID, m)
	r := sibling(s, budgetSpec)
	update := func() (*Budget, error) {
		return r.Run(ctx, actor, id, CommandSetBudget, func(_ *pipeline.Cmd[Budget], b *Budget) (event, error) {
			b.Amount = amount
			return event{Type: EventBudgetSet, Summary: "budget " + m.Format("2006-01") + ": " + amount.String()}, nil
		})
	}
	b, err := update()
	if err == nil || !isNotFound(err) {
		return b, err
	}
	b, err = r.Create(ctx, actor, CommandSetBudget, &Budget{ID: id, EntryID: entryID, Month: m, Amount: amount},
		func(c *pipeline.Cmd[Budget], b *Budget) (event, error) {
			if _, err := entries.Get(c.Ctx, c.Tx, entryID); err != nil {
				return event{}, fmt.Errorf("entry_id: %w", err)
			}
			return event{Type: EventBudgetSet, Summary: "budget " + m.Format("2006-01") + ": " + amount.String()}, nil
		})
	if errors.Is(err, itil.ErrConflict) && !s.run.Bound() {
		return update() // another instance created it meanwhile: update it
	}
	return b, err
}

// Variance is a service's budget for a month against what it cost.
type Variance struct {
	EntryID itil.ID   `json:"entry_id"`
	Month   time.Time `json:"month"`
	Budget  slm.Money `json:"budget"`
	Actual  slm.Money `json:"actual"`
	// Variance is Budget − Actual: negative when over budget.
	Variance slm.Money `json:"variance"`
}

// Variance compares the service's budget for the month with its actual
// cost: the costs entered against the service that month, plus what an
// allocation of the month (AllocateCosts or Allocate; nil: none)
// allocated to its business-service CI. Amounts in another currency than
// the budget's, or an allocation of another month, give a
// *itil.ValidationError; no budget an error wrapping itil.ErrNotFound.
func (s *Service) Variance(ctx context.Context, entryID itil.ID, month time.Time, alloc *Allocation) (*Variance, error) {
	m := monthOf(month)
	var out *Variance
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		b, err := budgets.Get(ctx, tx, budgetID(entryID, m))
		if err != nil {
			return err
		}
		e, err := entries.Get(ctx, tx, entryID)
		if err != nil {
			return err
		}
		actual := decimal.Zero
		add := func(field string, x slm.Money) error {
			if x.Currency != b.Amount.Currency {
				return itil.Invalid(field, "is in "+x.Currency+", the budget in "+b.Amount.Currency)
			}
			actual = actual.Add(x.Amount)
			return nil
		}
		for c, err := range costs.Query(ctx, tx, storage.Query{Kind: KindCost, Terms: []string{storage.Term("object", ObjectService+":"+entryID.String())},
			Min: storage.TimeKey(m), Max: storage.TimeKey(m.AddDate(0, 1, 0))}) {
			if err != nil {
				return err
			}
			if c.Month.Equal(m) {
				if err := add("costs", c.Amount); err != nil {
					return err
				}
			}
		}
		if alloc != nil && (alloc.Currency != "" && alloc.Currency != b.Amount.Currency || !alloc.Month.IsZero() && !alloc.Month.Equal(m)) {
			return itil.Invalid("allocation", fmt.Sprintf("is of %s in %s, the budget of %s in %s",
				alloc.Month.Format("2006-01"), alloc.Currency, m.Format("2006-01"), b.Amount.Currency))
		}
		if alloc != nil && e.ServiceCIID != itil.NilID {
			for _, a := range alloc.Allocated {
				if a.ID == e.ServiceCIID {
					if err := add("allocation", a.Amount); err != nil {
						return err
					}
				}
			}
		}
		cur := b.Amount.Currency
		out = &Variance{EntryID: entryID, Month: m, Budget: b.Amount, Actual: slm.Money{Amount: actual, Currency: cur},
			Variance: slm.Money{Amount: b.Amount.Amount.Sub(actual), Currency: cur}}
		return nil
	})
	return out, err
}

func isNotFound(err error) bool { return errors.Is(err, itil.ErrNotFound) }
