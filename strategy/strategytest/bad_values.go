package strategytest

import (
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// testBadValues: values a record would hold but the computations over
// it could not: refused when entered, with the field named, and nothing
// written.
func testBadValues(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	before := testkit.JournalLen(t, f.store)
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

	// An owner of white space is none: it would let a service into the
	// catalogue without one.
	_, err := f.svc.Propose(f.ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "   "})
	testkit.RequireFields(t, err, "owner")

	// Costs finer than a millionth of the minor unit, or too large, would
	// block their month's allocation.
	cost := func(in strategy.NewCost) error {
		in.Month, in.Object, in.Description = june, strategy.CostObject{Kind: strategy.ObjectCostCentre, ID: "IT-OPS"}, "run"
		in.Type, in.Behaviour, in.Attribution = strategy.CostOpex, strategy.CostFixed, strategy.CostDirect
		_, err := f.svc.RecordCost(f.ctx, planner, in)
		return err
	}
	testkit.RequireFields(t, cost(strategy.NewCost{Amount: eur("0.000000001")}), "amount")
	testkit.RequireFields(t, cost(strategy.NewCost{Amount: eur("1e40")}), "amount")
	card, err := f.svc.DefineRateCard(f.ctx, planner, "Archive", "GB month", eur("0.0123"))
	require.NoError(t, err)
	testkit.RequireFields(t, cost(strategy.NewCost{RateCardID: card.ID, Units: decimal.RequireFromString("1.0000001")}), "units")

	// A survey's scale: a score over ±2^63 would overflow.
	e := f.propose("Chat")
	_, err = f.svc.AddCustomer(f.ctx, planner, "acme", "Acme", nil)
	require.NoError(t, err)
	_, err = f.svc.RecordSurvey(f.ctx, planner, e.ID, "acme", june,
		[]strategy.Question{{Text: "How likely are you to recommend us?", Min: math.MinInt, Max: math.MaxInt}}, []int{0})
	testkit.RequireFields(t, err, "questions[0].min")

	// A budget compared with another month's allocation.
	_, err = f.svc.SetBudget(f.ctx, planner, e.ID, june, eur("100"))
	require.NoError(t, err)
	_, err = f.svc.Variance(f.ctx, e.ID, june, &strategy.Allocation{Currency: "EUR", Month: june.AddDate(0, 1, 0)})
	testkit.RequireFields(t, err, "allocation")
	_, err = f.svc.Variance(f.ctx, e.ID, june, &strategy.Allocation{Currency: "USD",
		Total: slm.Money{Amount: decimal.Zero, Currency: "USD"}})
	testkit.RequireFields(t, err, "allocation")

	// What was written: the rate card, the proposal, the customer and
	// the budget.
	require.Equal(t, before+4, testkit.JournalLen(t, f.store))
}
