package strategy_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil/strategy"
)

// benchAllocation is a layered estate of n nodes: 0.1% business services
// on 2% applications on software instances (the rest) on VMs (30%) on
// servers (20%) on shared infrastructure (1%), about four uses per node,
// with costs on 20% of the nodes (the servers, the infrastructure and
// some VMs). Units are whole numbers, capacities 1.25× what is used.
func benchAllocation(n int, method strategy.AllocationMethod) strategy.AllocationInput {
	r := rand.New(rand.NewPCG(5, 6))
	in := strategy.AllocationInput{Currency: "EUR", Method: method}
	sizes := []int{max(n/1000, 1), max(n/50, 1), 0, 3 * n / 10, n / 5, max(n/100, 1)}
	sizes[2] = n - sizes[0] - sizes[1] - sizes[3] - sizes[4] - sizes[5]
	first := make([]int, len(sizes)+1)
	for l, s := range sizes {
		first[l+1] = first[l] + s
	}
	used := make([]int64, n)
	for i := range n {
		in.Nodes = append(in.Nodes, strategy.CostNode{ID: idOf32(i), Final: i < first[1]})
	}
	pick := func(l int) int { return first[l] + r.IntN(sizes[l]) }
	use := func(c, p int) {
		u := int64(1 + r.IntN(4))
		in.Uses = append(in.Uses, strategy.Consumption{Consumer: idOf32(c), Provider: idOf32(p), Units: decimal.NewFromInt(u)})
		used[p] += u
	}
	for l := 0; l < len(sizes)-1; l++ {
		for c := first[l]; c < first[l+1]; c++ {
			var picked []int
			for range 1 + r.IntN(4) {
				if p := pick(l + 1); !slices.Contains(picked, p) {
					picked = append(picked, p)
					use(c, p)
				}
			}
		}
	}
	costs := 0
	for i := first[3]; i < n && costs < n/5; i++ {
		if i >= first[4] || r.IntN(3) == 0 {
			in.Nodes[i].Cost = decimal.New(int64(10_000+r.IntN(500_000)), -2)
			costs++
		}
	}
	for i := range n {
		in.Nodes[i].Capacity = decimal.NewFromInt(used[i] + used[i]/4)
	}
	return in
}

func idOf32(n int) [16]byte {
	var id [16]byte
	id[0], id[1], id[2], id[3], id[6], id[8] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0x40, 0x80
	return id
}

// BenchmarkAllocate times Allocate on a generated estate of 1M nodes
// with costs on 200k, from the input's IDs and decimals, beside the
// limit on the same graph in the same loop: one pass in topological
// order (given) over it compiled to compact arrays (AllocationLimit).
// x-limit is Allocate's time over the limit's; the difference is mostly
// the API's work, sorting the nodes by ID and converting decimals, which
// BenchmarkAllocateCosts shows apart (its join).
//
//	go test ./strategy -run '^$' -bench 'Allocate$' -benchtime 3x
func BenchmarkAllocate(b *testing.B) {
	in := benchAllocation(1_000_000, strategy.OverCapacity)
	limitRun, err := strategy.AllocationLimit(in)
	if err != nil {
		b.Fatal(err)
	}
	var ours, limit time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := strategy.Allocate(in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		limitRun()
		ours, limit = ours+t1.Sub(t0), limit+time.Since(t1)
	}
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/alloc")
	b.ReportMetric(float64(ours)/float64(limit), "x-limit")
}
