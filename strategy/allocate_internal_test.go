package strategy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/slm"
)

// TestOnesSplitIsSplit: the closed form of one-unit weights gives what
// split gives.
func TestOnesSplitIsSplit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := rapid.Int64Range(-1<<61, 1<<61).Draw(t, "c")
		k := rapid.IntRange(1, 40).Draw(t, "k")
		idle := rapid.Uint64Range(0, 1<<40).Draw(t, "idle")
		ones := make([]uint64, k)
		for i := range ones {
			ones[i] = 1
		}
		var sp splitter
		want := sp.split(c, ones, idle, uint64(k)+idle)
		q, more, rest := onesSplit(c, k, idle)
		got := make([]int64, k+1)
		for i := range k {
			got[i] = q
			if i < more {
				got[i] += int64(max(-1, min(1, c)))
			}
		}
		got[k] = rest
		if !slices.Equal(want, got) {
			t.Fatalf("split %v, closed form %v", want, got)
		}
	})
}

// TestOneUnitEachIsUnits: a graph run without units (one each, as
// AllocateCosts runs the CMDB's dependencies) allocates as the same
// graph with every unit written out.
func TestOneUnitEachIsUnits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "n")
		method := rapid.SampledFrom([]AllocationMethod{OverCapacity, OverUsage}).Draw(t, "method")
		g := &dense{method: method, currency: "EUR", ids: make([]itil.ID, n), final: make([]bool, n), off: make([]int32, n+1),
			cost: make([]int64, n)}
		for i := range n {
			g.ids[i][15] = byte(i)
			g.final[i] = rapid.Bool().Draw(t, "final")
			g.cost[i] = rapid.Int64Range(-1e12, 1e12).Draw(t, "cost")
			g.total = g.total.Add(decimal.New(g.cost[i], -(2 + FineDigits))) // EUR: cents, then millionths
		}
		// Uses from lower to higher nodes only: no cycle.
		for p := range n {
			for c := p + 1; c < n; c++ {
				if rapid.IntRange(0, 3).Draw(t, "edge") == 0 {
					g.cons = append(g.cons, int32(c))
				}
			}
			g.off[p+1] = int32(len(g.cons))
		}
		ones := *g
		ones.cost = slices.Clone(g.cost) // run uses it in place
		ones.units, ones.used, ones.capacity = make([]uint64, len(g.cons)), make([]uint64, n), make([]uint64, n)
		for e := range ones.units {
			ones.units[e] = 1
		}
		if method == OverCapacity {
			g.capacity = make([]uint64, n)
		}
		for p := range n {
			ones.used[p] = uint64(g.off[p+1] - g.off[p])
			ones.capacity[p] = ones.used[p]
			if method == OverCapacity && rapid.Bool().Draw(t, "idle") {
				g.capacity[p] = ones.used[p] + rapid.Uint64Range(1, 9).Draw(t, "extra")
				ones.capacity[p] = g.capacity[p]
			}
		}
		want, c1 := ones.run()
		got, c2 := g.run()
		if c1 != -1 || c2 != -1 {
			t.Fatalf("cycle in an acyclic graph")
		}
		if !equalAllocations(want, got) {
			t.Fatalf("with units %+v, without %+v", want, got)
		}
	})
}

func equalAllocations(a, b *Allocation) bool {
	same := func(x, y []Allocated) bool {
		return slices.EqualFunc(x, y, func(p, q Allocated) bool { return p.ID == q.ID && p.Amount.Amount.Equal(q.Amount.Amount) })
	}
	return a.Total.Amount.Equal(b.Total.Amount) && same(a.Allocated, b.Allocated) && same(a.Overhead, b.Overhead)
}

// refStatement is the statement's rounding by a sort: the largest
// remainders, ties by node order, take the cents left.
func refStatement(g *dense, held []int64) map[itil.ID]int64 {
	const per = 1_000_000
	type it struct {
		p       int
		fl, rem int64
	}
	var its []it
	var sumFl int64
	for p, h := range held {
		if h == 0 {
			continue
		}
		fl, rem := h/per, h%per
		if rem < 0 {
			fl, rem = fl-1, rem+per
		}
		its = append(its, it{p, fl, rem})
		sumFl += fl
	}
	rounded := slm.Money{Amount: g.total, Currency: g.currency}.Round()
	left := rounded.Amount.Shift(slm.MinorUnits(g.currency)).IntPart() - sumFl
	order := slices.Clone(its)
	slices.SortStableFunc(order, func(a, b it) int { return cmp.Compare(b.rem, a.rem) })
	out := map[itil.ID]int64{}
	for _, x := range its {
		out[g.ids[x.p]] = x.fl
	}
	for _, x := range order[:left] {
		out[g.ids[x.p]]++
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// TestStatementMatchesSort: the histograms pick the cents the sort
// picks, on clustered remainders.
func TestStatementMatchesSort(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 60).Draw(t, "n")
		g := &dense{currency: "EUR", ids: make([]itil.ID, n), final: make([]bool, n), off: make([]int32, n+1)}
		held := make([]int64, n)
		var sum int64
		for i := range n {
			g.ids[i][15] = byte(i)
			// clustered remainders to stress the histograms
			held[i] = rapid.Int64Range(-3, 3).Draw(t, "fl")*1_000_000 + rapid.SampledFrom([]int64{0, 1, 999, 1000, 1001, 499999, 500000, 999999, 123456}).Draw(t, "rem")
			sum += held[i]
		}
		g.total = decimal.New(sum, -8)
		got := g.statement(slices.Clone(held))
		want := refStatement(g, held)
		gm := map[itil.ID]int64{}
		for _, a := range append(got.Allocated, got.Overhead...) {
			gm[a.ID] = a.Amount.Amount.Shift(2).IntPart()
		}
		if fmt.Sprint(gm) != fmt.Sprint(want) {
			t.Fatalf("held %v\n got %v\nwant %v", held, gm, want)
		}
	})
}

// TestAllocateCostsMatchesAllocate: the CMDB path (compileCosts) gives
// what Allocate gives on the same graph, with CIs outside the graph
// interleaved by ID, capacities and usage.
func TestAllocateCostsMatchesAllocate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))
		nG := rapid.IntRange(0, 12).Draw(t, "graph nodes")
		nX := rapid.IntRange(0, 6).Draw(t, "extras")
		method := rapid.SampledFrom([]AllocationMethod{OverCapacity, OverUsage}).Draw(t, "method")
		rid := func() itil.ID {
			var id itil.ID
			for i := range id {
				id[i] = byte(r.IntN(256))
			}
			return id
		}
		gids := make([]itil.ID, nG)
		for i := range gids {
			gids[i] = rid()
		}
		order := slices.Clone(gids) // topological order = creation order
		slices.SortFunc(gids, func(a, b itil.ID) int { return bytes.Compare(a[:], b[:]) })
		pos := map[itil.ID]int32{}
		for i, id := range gids {
			pos[id] = int32(i)
		}
		rows := make([][]int32, nG)
		var uses []Consumption
		for a := range nG {
			for b := a + 1; b < nG; b++ {
				if r.IntN(3) == 0 {
					p, c := pos[order[a]], pos[order[b]]
					rows[p] = append(rows[p], c)
				}
			}
		}
		graph := &cmdb.DependencyGraph{IDs: gids, Offsets: make([]int32, nG+1)}
		for p := range nG {
			slices.Sort(rows[p])
			graph.Dependents = append(graph.Dependents, rows[p]...)
			graph.Offsets[p+1] = int32(len(graph.Dependents))
		}
		var usage []Consumption
		for p := range nG {
			for _, c := range rows[p] {
				u := decimal.NewFromInt(1)
				if r.IntN(2) == 0 {
					u = decimal.New(int64(1+r.IntN(50)), -int32(r.IntN(2)))
					usage = append(usage, Consumption{Consumer: gids[c], Provider: gids[p], Units: u})
				}
				uses = append(uses, Consumption{Consumer: gids[c], Provider: gids[p], Units: u})
			}
		}
		useUsage := rapid.Bool().Draw(t, "usage")
		if !useUsage {
			usage = nil
			for i := range uses {
				uses[i].Units = decimal.NewFromInt(1)
			}
		}
		extras := make([]itil.ID, nX)
		for i := range extras {
			extras[i] = rid()
		}
		all := append(slices.Clone(gids), extras...)
		in := &costInput{cost: map[itil.ID]decimal.Decimal{}}
		req := &CostAllocation{Currency: "EUR", Method: method, Usage: usage, Capacity: map[itil.ID]decimal.Decimal{}}
		nodes := map[itil.ID]*CostNode{}
		for _, id := range all {
			nodes[id] = &CostNode{ID: id}
		}
		for _, id := range all {
			if r.IntN(2) == 0 {
				c := decimal.New(int64(r.IntN(100000)), -2)
				in.cost[id] = c
				nodes[id].Cost = c
			}
			if r.IntN(3) == 0 {
				in.final = append(in.final, id)
				nodes[id].Final = true
			}
		}
		used := map[itil.ID]decimal.Decimal{}
		for _, u := range uses {
			used[u.Provider] = used[u.Provider].Add(u.Units)
		}
		for _, id := range all {
			nodes[id].Capacity = used[id]
			if method == OverCapacity && r.IntN(2) == 0 {
				c := used[id].Add(decimal.NewFromInt(int64(r.IntN(4))))
				if !c.IsZero() {
					req.Capacity[id] = c
					nodes[id].Capacity = c
				}
			}
		}
		var ain AllocationInput
		ain.Currency, ain.Method, ain.Uses = "EUR", method, uses
		for _, id := range all {
			ain.Nodes = append(ain.Nodes, *nodes[id])
		}
		want, err := Allocate(ain)
		if err != nil {
			t.Fatalf("Allocate: %v", err)
		}
		g, err := compileCosts(graph, in, req)
		if err != nil {
			t.Fatalf("compileCosts: %v", err)
		}
		got, cyc := g.run()
		if cyc >= 0 {
			t.Fatal("cycle")
		}
		if !equalAllocations(want, got) {
			t.Fatalf("Allocate %+v\ncompileCosts %+v\nextras %v graph %v", want, got, extras, graph)
		}
	})
}

// TestAllocateCostsRefusesUnitsPastTheLimit: the units one CI's
// dependents use are summed within what the splits hold, as Allocate's
// are, rather than wrapping round.
func TestAllocateCostsRefusesUnitsPastTheLimit(t *testing.T) {
	const n = 5000
	graph := &cmdb.DependencyGraph{IDs: make([]itil.ID, n+1), Offsets: make([]int32, n+2)}
	var usage []Consumption
	for i := range graph.IDs {
		graph.IDs[i][0], graph.IDs[i][1] = byte(i>>8), byte(i)
	}
	for c := 1; c <= n; c++ {
		graph.Dependents = append(graph.Dependents, int32(c))
		usage = append(usage, Consumption{Consumer: graph.IDs[c], Provider: graph.IDs[0], Units: decimal.RequireFromString("999999999.999999")})
	}
	for i := 1; i < len(graph.Offsets); i++ {
		graph.Offsets[i] = n
	}
	in := &costInput{cost: map[itil.ID]decimal.Decimal{graph.IDs[0]: decimal.NewFromInt(1000)}}
	_, err := compileCosts(graph, in, &CostAllocation{Currency: "EUR", Method: OverUsage, Usage: usage})
	var v *itil.ValidationError
	if !errors.As(err, &v) || !slices.ContainsFunc(v.Fields, func(p itil.FieldError) bool { return p.Field == "usage" }) {
		t.Fatalf("want a validation error naming usage, got %v", err)
	}
}
