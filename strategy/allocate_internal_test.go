package strategy

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
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
