package strategy_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/strategy"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// idOf names the n-th node: IDs that sort by n.
func idOf(n int) itil.ID {
	var id itil.ID
	id[0], id[1], id[6], id[8] = byte(n>>8), byte(n), 0x40, 0x80
	return id
}

// handWorked is a server X (1000.00, 10 units) used by applications A (4)
// and B (4); A (200.00, 4 units) is used by the business services S1 (1)
// and S2 (3); B (2 units) by S2 (2); S1 and S2 cost 50.00 each.
func handWorked(method strategy.AllocationMethod) strategy.AllocationInput {
	x, a, b, s1, s2 := idOf(1), idOf(2), idOf(3), idOf(4), idOf(5)
	return strategy.AllocationInput{Currency: "EUR", Method: method,
		Nodes: []strategy.CostNode{
			{ID: x, Cost: dec("1000.00"), Capacity: dec("10")},
			{ID: a, Cost: dec("200.00"), Capacity: dec("4")},
			{ID: b, Capacity: dec("2")},
			{ID: s1, Cost: dec("50.00"), Final: true},
			{ID: s2, Cost: dec("50.00"), Final: true},
		},
		Uses: []strategy.Consumption{
			{Consumer: a, Provider: x, Units: dec("4")}, {Consumer: b, Provider: x, Units: dec("4")},
			{Consumer: s1, Provider: a, Units: dec("1")}, {Consumer: s2, Provider: a, Units: dec("3")},
			{Consumer: s2, Provider: b, Units: dec("2")},
		}}
}

func amounts(as []strategy.Allocated) map[itil.ID]string {
	out := map[itil.ID]string{}
	for _, a := range as {
		out[a.ID] = a.Amount.String()
	}
	return out
}

func TestAllocateHandWorked(t *testing.T) {
	// Over capacity: X passes 400 to A and to B and keeps 200 (its 2 idle
	// units) as overhead; A passes 600 as 150 and 450; B passes 400.
	got, err := strategy.Allocate(handWorked(strategy.OverCapacity))
	require.NoError(t, err)
	assert.Equal(t, "1300.00 EUR", got.Total.String())
	assert.Equal(t, map[itil.ID]string{idOf(4): "200.00 EUR", idOf(5): "900.00 EUR"}, amounts(got.Allocated))
	assert.Equal(t, map[itil.ID]string{idOf(1): "200.00 EUR"}, amounts(got.Overhead))

	// Over usage: X passes 500 to A and to B; A passes 700 as 175 and
	// 525; B passes 500; nothing is left.
	got, err = strategy.Allocate(handWorked(strategy.OverUsage))
	require.NoError(t, err)
	assert.Equal(t, map[itil.ID]string{idOf(4): "225.00 EUR", idOf(5): "1075.00 EUR"}, amounts(got.Allocated))
	assert.Empty(t, got.Overhead)
}

func TestAllocateRoundsByLargestRemainder(t *testing.T) {
	// 100.00 over three equal users: 33.33 each and one cent left, which
	// goes to the first by ID (the remainders tie).
	in := strategy.AllocationInput{Currency: "EUR", Method: strategy.OverUsage,
		Nodes: []strategy.CostNode{{ID: idOf(1), Cost: dec("100")}, {ID: idOf(2), Final: true}, {ID: idOf(3), Final: true}, {ID: idOf(4), Final: true}},
		Uses: []strategy.Consumption{{Consumer: idOf(3), Provider: idOf(1), Units: dec("1")},
			{Consumer: idOf(2), Provider: idOf(1), Units: dec("1")}, {Consumer: idOf(4), Provider: idOf(1), Units: dec("1")}}}
	got, err := strategy.Allocate(in)
	require.NoError(t, err)
	assert.Equal(t, map[itil.ID]string{idOf(2): "33.34 EUR", idOf(3): "33.33 EUR", idOf(4): "33.33 EUR"}, amounts(got.Allocated))

	// Costs finer than a cent: the total is rounded half away from zero
	// (0.005 + 0.005 = 0.01), and shared out to match.
	in = strategy.AllocationInput{Currency: "EUR", Method: strategy.OverUsage,
		Nodes: []strategy.CostNode{{ID: idOf(1), Cost: dec("0.005"), Final: true}, {ID: idOf(2), Cost: dec("0.005"), Final: true}}}
	got, err = strategy.Allocate(in)
	require.NoError(t, err)
	assert.Equal(t, "0.01 EUR", got.Total.String())
	assert.Equal(t, map[itil.ID]string{idOf(1): "0.01 EUR"}, amounts(got.Allocated))

	// Yen have no minor unit.
	in.Currency = "JPY"
	in.Nodes = []strategy.CostNode{{ID: idOf(1), Cost: dec("1000"), Final: true}, {ID: idOf(2), Cost: dec("0.4")}}
	got, err = strategy.Allocate(in)
	require.NoError(t, err)
	assert.Equal(t, "1000 JPY", got.Total.String())
	assert.Equal(t, map[itil.ID]string{idOf(1): "1000 JPY"}, amounts(got.Allocated))
	assert.Empty(t, got.Overhead, "0.4 yen rounds to nothing")
}

func TestAllocateRefusesBadInput(t *testing.T) {
	base := handWorked(strategy.OverCapacity)
	for _, c := range []struct {
		name   string
		edit   func(*strategy.AllocationInput)
		fields []string
	}{
		{"method", func(in *strategy.AllocationInput) { in.Method = "evenly" }, []string{"method"}},
		{"currency", func(in *strategy.AllocationInput) { in.Currency = "euro" }, []string{"currency"}},
		{"twice", func(in *strategy.AllocationInput) { in.Nodes = append(in.Nodes, in.Nodes[0]) }, []string{"nodes[5].id"}},
		{"unknown", func(in *strategy.AllocationInput) { in.Uses[0].Provider = idOf(99) }, []string{"uses[0].provider"}},
		{"units", func(in *strategy.AllocationInput) { in.Uses[0].Units = dec("0") }, []string{"uses[0].units"}},
		{"self", func(in *strategy.AllocationInput) { in.Uses[0].Consumer = in.Uses[0].Provider }, []string{"uses[0].consumer"}},
		{"cycle", func(in *strategy.AllocationInput) {
			in.Uses = append(in.Uses, strategy.Consumption{Consumer: idOf(1), Provider: idOf(4), Units: dec("1")})
			in.Nodes[3].Capacity = dec("1")
		}, []string{"uses"}},
		{"capacity", func(in *strategy.AllocationInput) { in.Nodes[0].Capacity = dec("7") }, []string{"nodes[0].capacity"}},
		{"negative capacity", func(in *strategy.AllocationInput) { in.Nodes[3].Capacity = dec("-1") }, []string{"nodes[3].capacity"}},
		{"pair twice", func(in *strategy.AllocationInput) { in.Uses = append(in.Uses, in.Uses[2]) }, []string{"uses"}},
		{"too fine", func(in *strategy.AllocationInput) { in.Nodes[0].Cost = dec("0.000000001") }, []string{"nodes[0].cost"}},
		{"units too fine", func(in *strategy.AllocationInput) { in.Uses[0].Units = dec("0.0000001") }, []string{"uses[0].units"}},
		{"too large", func(in *strategy.AllocationInput) {
			in.Nodes[0].Cost, in.Nodes[1].Cost = dec("30000000000"), dec("30000000000")
		}, []string{"nodes[1].cost"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := base
			in.Nodes = append([]strategy.CostNode(nil), base.Nodes...)
			in.Uses = append([]strategy.Consumption(nil), base.Uses...)
			c.edit(&in)
			_, err := strategy.Allocate(in)
			testkit.RequireFields(t, err, c.fields...)
		})
	}
}

// TestBooksBalance: whatever the graph and the costs, the allocated
// amounts and the overhead sum to the total of the costs entered, rounded
// to the minor unit, to the cent; every amount is in whole minor units;
// and over usage, with every node nothing consumes final, nothing is left
// as overhead.
func TestBooksBalance(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 25).Draw(t, "nodes")
		cur := rapid.SampledFrom([]string{"EUR", "JPY", "KWD"}).Draw(t, "currency")
		method := rapid.SampledFrom([]strategy.AllocationMethod{strategy.OverCapacity, strategy.OverUsage}).Draw(t, "method")
		in := strategy.AllocationInput{Currency: cur, Method: method}
		used := make([]decimal.Decimal, n)
		hasConsumer := make([]bool, n)
		for c := range n { // providers come before consumers by index: no cycle
			for p := range c {
				if rapid.IntRange(0, 3).Draw(t, "edge") == 0 {
					u := decimal.New(rapid.Int64Range(1, 5000).Draw(t, "units"), -int32(rapid.IntRange(0, 2).Draw(t, "unit places")))
					in.Uses = append(in.Uses, strategy.Consumption{Consumer: idOf(c), Provider: idOf(p), Units: u})
					used[p] = used[p].Add(u)
					hasConsumer[p] = true
				}
			}
		}
		var sum decimal.Decimal
		allFinal := rapid.Bool().Draw(t, "every sink final")
		for i := range n {
			cost := decimal.New(rapid.Int64Range(-1_000_000, 100_000_000).Draw(t, "cost"), -int32(rapid.IntRange(0, 5).Draw(t, "places")))
			capacity := used[i].Add(decimal.New(rapid.Int64Range(0, 300).Draw(t, "idle"), -1))
			final := (allFinal && !hasConsumer[i]) || rapid.Bool().Draw(t, "final")
			in.Nodes = append(in.Nodes, strategy.CostNode{ID: idOf(i), Cost: cost, Capacity: capacity, Final: final})
			sum = sum.Add(cost)
		}
		got, err := strategy.Allocate(in)
		if err != nil {
			t.Fatal(err)
		}
		want := slm.Money{Amount: sum, Currency: cur}.Round()
		if !got.Total.Amount.Equal(want.Amount) {
			t.Fatalf("total %s, the costs entered round to %s", got.Total, want)
		}
		var books decimal.Decimal
		places := slm.MinorUnits(cur)
		for _, a := range append(append([]strategy.Allocated(nil), got.Allocated...), got.Overhead...) {
			if !a.Amount.Amount.Round(places).Equal(a.Amount.Amount) {
				t.Fatalf("%s is finer than the minor unit", a.Amount)
			}
			books = books.Add(a.Amount.Amount)
		}
		if !books.Equal(got.Total.Amount) {
			t.Fatalf("allocated plus overhead is %s, the total %s", books, got.Total)
		}
		if method == strategy.OverUsage && allFinal && len(got.Overhead) > 0 {
			t.Fatalf("overhead %v over usage with every sink final", got.Overhead)
		}
		// Each amount is within a minor unit of its exact share, worked out
		// here in rationals (providers come before consumers by index).
		exactFinal, exactOver := exactShares(in)
		unit := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil))
		near := func(kind string, as []strategy.Allocated, exact map[itil.ID]*big.Rat) {
			seen := map[itil.ID]bool{}
			for _, a := range as {
				seen[a.ID] = true
				x := exact[a.ID]
				if x == nil {
					x = new(big.Rat)
				}
				if d := new(big.Rat).Sub(a.Amount.Amount.Rat(), x); d.Abs(d).Cmp(unit) > 0 {
					t.Fatalf("%s of %v: %s, the exact share %s", kind, a.ID, a.Amount, x.FloatString(8))
				}
			}
			for id, x := range exact {
				if !seen[id] && new(big.Rat).Abs(x).Cmp(unit) > 0 {
					t.Fatalf("%s of %v missing: the exact share is %s", kind, id, x.FloatString(8))
				}
			}
		}
		near("allocated", got.Allocated, exactFinal)
		near("overhead", got.Overhead, exactOver)

		// The order of the nodes and uses changes nothing.
		shuffled := in
		shuffled.Nodes = rapid.Permutation(in.Nodes).Draw(t, "nodes order")
		shuffled.Uses = rapid.Permutation(in.Uses).Draw(t, "uses order")
		again, err := strategy.Allocate(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("in another order: %v, not %v", again, got)
		}
	})
}

func ExampleAllocate() {
	server, app, mail := idOf(1), idOf(2), idOf(3)
	got, err := strategy.Allocate(strategy.AllocationInput{Currency: "EUR", Method: strategy.OverCapacity,
		Nodes: []strategy.CostNode{
			{ID: server, Cost: dec("900.00"), Capacity: dec("3")}, // a month of a server that can host three applications
			{ID: app, Cost: dec("100.00"), Capacity: dec("1")},
			{ID: mail, Final: true}, // the business service
		},
		Uses: []strategy.Consumption{
			{Consumer: app, Provider: server, Units: dec("2")},
			{Consumer: mail, Provider: app, Units: dec("1")},
		}})
	if err != nil {
		panic(err)
	}
	fmt.Println("Mail costs", got.Allocated[0].Amount, "of", got.Total)
	fmt.Println("idle capacity:", got.Overhead[0].Amount)
	// Output:
	// Mail costs 700.00 EUR of 1000.00 EUR
	// idle capacity: 300.00 EUR
}

// TestAllocateReadsTrailingZeros: amounts and units written with
// trailing zeros are the same numbers.
func TestAllocateReadsTrailingZeros(t *testing.T) {
	in := handWorked(strategy.OverUsage)
	in.Nodes[0].Cost = dec("1000.00000000000000000000")
	in.Uses[0].Units = dec("4.000000")
	in.Uses[1].Units = dec("4.0000000000")
	got, err := strategy.Allocate(in)
	require.NoError(t, err)
	assert.Equal(t, map[itil.ID]string{idOf(4): "225.00 EUR", idOf(5): "1075.00 EUR"}, amounts(got.Allocated))
}

// exactShares allocates in exact rationals, the reference: nodes are in
// an order where providers come first (TestBooksBalance builds them so).
func exactShares(in strategy.AllocationInput) (final, over map[itil.ID]*big.Rat) {
	final, over = map[itil.ID]*big.Rat{}, map[itil.ID]*big.Rat{}
	held := map[itil.ID]*big.Rat{}
	for _, n := range in.Nodes {
		held[n.ID] = n.Cost.Rat()
	}
	for _, n := range in.Nodes {
		c := held[n.ID]
		var uses []strategy.Consumption
		used := new(big.Rat)
		for _, u := range in.Uses {
			if u.Provider == n.ID {
				uses = append(uses, u)
				used.Add(used, u.Units.Rat())
			}
		}
		if len(uses) == 0 {
			if n.Final {
				final[n.ID] = c
			} else {
				over[n.ID] = c
			}
			continue
		}
		div := used
		if in.Method == strategy.OverCapacity {
			div = n.Capacity.Rat()
		}
		passed := new(big.Rat)
		for _, u := range uses {
			share := new(big.Rat).Quo(new(big.Rat).Mul(c, u.Units.Rat()), div)
			held[u.Consumer].Add(held[u.Consumer], share)
			passed.Add(passed, share)
		}
		over[n.ID] = new(big.Rat).Sub(c, passed)
	}
	return final, over
}
