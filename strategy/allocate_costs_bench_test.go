package strategy

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/estate"
)

// estateGraph is the dependency graph cmdb.DependencyGraph gives of the
// generated estate: every estate relationship type propagates from child
// to parent, so a child's cost flows to its parent.
func estateGraph(e *estate.Estate) *cmdb.DependencyGraph {
	n := len(e.IDs)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return bytes.Compare(e.IDs[a][:], e.IDs[b][:]) })
	rank := make([]int32, n)
	g := &cmdb.DependencyGraph{IDs: make([]itil.ID, n), Offsets: make([]int32, n+1)}
	for r, i := range perm {
		rank[i], g.IDs[r] = int32(r), e.IDs[i]
	}
	for _, c := range e.Child {
		g.Offsets[rank[c]+1]++
	}
	for i := range n {
		g.Offsets[i+1] += g.Offsets[i]
	}
	g.Dependents = make([]int32, len(e.Child))
	next := slices.Clone(g.Offsets[:n])
	for i, c := range e.Child {
		g.Dependents[next[rank[c]]] = rank[e.Parent[i]]
		next[rank[c]]++
	}
	// Rows sorted, each dependent once, as DependencyGraph gives them.
	out := g.Dependents[:0]
	start := int32(0)
	for u := range n {
		row := g.Dependents[start:g.Offsets[u+1]]
		slices.Sort(row)
		row = slices.Compact(row)
		start = g.Offsets[u+1]
		out = append(out, row...)
		g.Offsets[u+1] = int32(len(out))
	}
	g.Dependents = out
	return g
}

// limitPass is the limit the allocation is measured against: one pass in
// topological order (given) over the same compact arrays, each node's
// amount split evenly over its dependents (and, with capacities, its
// idle units), the leftover to the first; no checks, no rounding for a
// statement, no result but the array of what stays with each node.
func limitPass(order, off, cons []int32, cost []int64, capacity []uint64, held []int64) {
	copy(held, cost)
	for _, p := range order {
		c, row := held[p], cons[off[p]:off[p+1]]
		if c == 0 || len(row) == 0 {
			continue
		}
		div := int64(len(row))
		if capacity != nil && capacity[p] > uint64(div) {
			div = int64(capacity[p])
		}
		q := c / div
		for _, cn := range row {
			held[cn] += q
		}
		held[row[0]] += c - q*div             // the leftover
		held[p] = q * (div - int64(len(row))) // the idle units' share
	}
}

// limitKahn is the same pass with the order found as it goes (Kahn's
// algorithm), as any allocation that is not handed an order must: the
// in-degrees counted first, then each node split once its providers
// have handed it their shares.
func limitKahn(off, cons []int32, cost []int64, capacity []uint64, held []int64, indeg, queue []int32) {
	copy(held, cost)
	clear(indeg)
	for _, c := range cons {
		indeg[c]++
	}
	queue = queue[:0]
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, int32(i))
		}
	}
	for h := 0; h < len(queue); h++ {
		p := queue[h]
		c, row := held[p], cons[off[p]:off[p+1]]
		div := int64(len(row))
		if capacity != nil && capacity[p] > uint64(div) {
			div = int64(capacity[p])
		}
		q := int64(0)
		if div > 0 {
			q = c / div
		}
		for _, cn := range row {
			held[cn] += q
			if indeg[cn]--; indeg[cn] == 0 {
				queue = append(queue, cn)
			}
		}
		if len(row) > 0 {
			held[row[0]] += c - q*div
			held[p] = q * (div - int64(len(row)))
		}
	}
}

// BenchmarkAllocateCosts allocates one month's costs over the 1M-CI
// estate of the CMDB's impact benchmarks (about 4.4M relationships),
// with costs on its 200k servers and the 1000 business services as the
// portfolio's services: AllocateCosts's work once the costs and the
// graph are read (compileCosts and run), beside the limit (limitPass,
// with the topological order given) on the same arrays, in the same
// loop, and beside limitKahn, which finds the order as it goes. x-limit
// is ours over the limit, x-kahn ours over limitKahn; join is the time
// compileCosts takes to join the costs and capacities to the graph's
// nodes by CI ID, apart.
//
//	go test ./strategy -run '^$' -bench AllocateCosts -benchtime 5x
func BenchmarkAllocateCosts(b *testing.B) {
	e := estate.Generate(1_000_000, 1)
	graph := estateGraph(e)
	in := &costInput{cost: map[itil.ID]decimal.Decimal{}}
	capacity := map[itil.ID]decimal.Decimal{}
	for i := e.First[estate.Servers]; i < e.First[estate.Servers+1]; i++ {
		in.cost[e.IDs[i]] = decimal.New(int64(10_000+i%500_000), -2)
	}
	for i := e.First[estate.BusinessServices]; i < e.First[estate.BusinessServices+1]; i++ {
		in.final = append(in.final, e.IDs[i])
	}
	for _, method := range []AllocationMethod{OverUsage, OverCapacity} {
		req := &CostAllocation{Month: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Currency: "EUR", Method: method}
		if method == OverCapacity {
			for i := e.First[estate.Servers]; i < e.First[estate.Servers+1]; i++ {
				p, _ := graph.Node(e.IDs[i])
				capacity[e.IDs[i]] = decimal.NewFromInt(int64(graph.Offsets[p+1]-graph.Offsets[p]) + 2)
			}
			req.Capacity = capacity
		}
		// The limit's inputs: the same arrays, and the order ours computes.
		base, err := compileCosts(graph, in, req)
		if err != nil {
			b.Fatal(err)
		}
		order := topoOrder(base)
		held := make([]int64, len(base.ids))
		indeg, queue := make([]int32, len(base.ids)), make([]int32, 0, len(base.ids))
		b.Run(string(method), func(b *testing.B) {
			// The collector is off in the timed sections and run between
			// iterations, so that one side's garbage is not collected in
			// the other's time; allocating and zeroing count.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			var join, ours, limit, kahn time.Duration
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				t0 := time.Now()
				g, err := compileCosts(graph, in, req)
				if err != nil {
					b.Fatal(err)
				}
				tj := time.Now()
				if _, cycle := g.run(); cycle >= 0 {
					b.Fatal("cycle")
				}
				t1 := time.Now()
				limitPass(order, base.off, base.cons, base.cost, base.capacity, held)
				t2 := time.Now()
				limitKahn(base.off, base.cons, base.cost, base.capacity, held, indeg, queue)
				join, ours, limit, kahn = join+tj.Sub(t0), ours+t1.Sub(tj), limit+t2.Sub(t1), kahn+time.Since(t2)
			}
			b.ReportMetric(float64(join.Milliseconds())/float64(b.N), "ms/join")
			b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/alloc")
			b.ReportMetric(float64(limit.Milliseconds())/float64(b.N), "ms/limit")
			b.ReportMetric(float64(ours)/float64(limit), "x-limit")
			b.ReportMetric(float64(ours)/float64(kahn), "x-kahn")
		})
	}
}

// topoOrder is Kahn's order of g, for the limit.
func topoOrder(g *dense) []int32 {
	n := len(g.ids)
	indeg := make([]int32, n)
	for _, c := range g.cons {
		indeg[c]++
	}
	queue := make([]int32, 0, n)
	for i := range n {
		if indeg[i] == 0 {
			queue = append(queue, int32(i))
		}
	}
	for h := 0; h < len(queue); h++ {
		p := queue[h]
		for _, c := range g.cons[g.off[p]:g.off[p+1]] {
			if indeg[c]--; indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	return queue
}
