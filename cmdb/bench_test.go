package cmdb

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/traverse"

	"github.com/itilkit/itil"
	gen "github.com/itilkit/itil/internal/estate"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// The impact benchmarks run on a generated estate laid out like a real
// one: business services, applications, software instances in tiers
// calling each other within a domain, the VMs and servers they run on,
// and shared infrastructure (core, distribution and access switches,
// storage). At the default 1M CIs it has about 4.4M relationships; it is
// built only when a benchmark that needs it runs.
//
// Each comparison times, alternately in one loop, our index walk
// (breadth-first with a parent and type per node, so every path can be
// read back), preceded by the journal catch-up every Service query makes
// (on the memory backend, with nothing committed since: one LastSeq
// call), the limit (a plain CSR breadth-first search over int32
// offsets and targets with an epoch array, no paths, no types, no
// filters), then in a loop of its own the peer (gonum's
// simple.DirectedGraph with traverse.BreadthFirst), and reports x-limit
// (our time over the limit's) and x-faster-than-gonum (gonum's time over
// ours). Small walks need many origins for a stable mean:
//
//	go test ./cmdb -run '^$' -bench 'Impact/(random|core-bounded)' -benchtime=1000x
//	go test ./cmdb -run '^$' -bench 'Impact/(core-blast|service-down)' -benchtime=20x
//	go test ./cmdb -run '^$' -bench 'IndexBuild' -benchtime=3x
//	go test ./cmdb -run '^$' -bench 'IndexCatchUp'
var benchCIs = flag.Int("cmdb.bench.cis", 1_000_000, "CIs in the generated estate of the large impact benchmarks")

// Layers of the generated estate (internal/estate).
const (
	lBS      = gen.BusinessServices
	lApp     = gen.Applications
	lServer  = gen.Servers
	lCore    = gen.CoreSwitches
	lDist    = gen.DistributionSwitches
	lAccess  = gen.AccessSwitches
	lStorage = gen.Storage
	lVM      = gen.VMs
	lSI      = gen.SoftwareInstances
	nLayers  = gen.NLayers
)

var layerClass = [nLayers]string{ClassBusinessService, ClassApplication, ClassLinuxServer, ClassNetworkDevice,
	ClassNetworkDevice, ClassNetworkDevice, ClassStorageDevice, ClassVirtualMachine, ClassSoftwareInstance}

type genEstate struct {
	ids   []itil.ID
	first [nLayers + 1]int32 // layer l is first[l]:first[l+1]
	// relationships: parent, child, type number in DefaultRelTypes
	parent, child []int32
	typ           []uint8
	src           *gen.Estate
}

func (e *genEstate) layer(i int32) int { return e.src.Layer(i) }

// generate builds the shared generated estate of n CIs (internal/estate),
// its relationship types numbered as in DefaultRelTypes.
func generate(n int, seed uint64) *genEstate {
	g := gen.Generate(n, seed)
	number := map[string]uint8{}
	for i, t := range DefaultRelTypes() {
		number[t.Name] = uint8(i)
	}
	e := &genEstate{ids: g.IDs, first: g.First, parent: g.Parent, child: g.Child, typ: make([]uint8, len(g.Type)), src: g}
	for i, t := range g.Type {
		e.typ[i] = number[gen.Types[t]]
	}
	return e
}

// index builds our index from the generated relationships through the
// same builder the Service feeds from storage.
func (e *genEstate) index(types *relTypes) *adjIndex {
	bd := newIndexBuilder(types, len(e.ids))
	for i := range e.parent {
		bd.addType(e.typ[i], e.ids[e.parent[i]], e.ids[e.child[i]])
	}
	return bd.build()
}

// arcs calls fn with every relationship as from→to in the direction
// failures travel (upstream).
func (e *genEstate) arcs(types []RelType, fn func(from, to int32)) {
	for i := range e.parent {
		switch types[e.typ[i]].Propagation {
		case ChildToParent:
			fn(e.child[i], e.parent[i])
		case ParentToChild:
			fn(e.parent[i], e.child[i])
		}
	}
}

// limitCSR is the limit: the least a breadth-first search over the same
// graph can hold and do.
type limitCSR struct {
	off, tgt []int32
	mark     []uint32
	epoch    uint32
	queue    []int32
}

func newLimit(e *genEstate, types []RelType, reverse bool) *limitCSR {
	n := len(e.ids)
	l := &limitCSR{off: make([]int32, n+1), mark: make([]uint32, n)}
	e.arcs(types, func(from, to int32) {
		if reverse {
			from = to
		}
		l.off[from+1]++
	})
	for i := range n {
		l.off[i+1] += l.off[i]
	}
	next := append([]int32(nil), l.off[:n]...)
	l.tgt = make([]int32, l.off[n])
	e.arcs(types, func(from, to int32) {
		if reverse {
			from, to = to, from
		}
		l.tgt[next[from]] = to
		next[from]++
	})
	return l
}

func (l *limitCSR) bfs(origin int32, maxDepth, limit int) int {
	l.epoch++
	ep := l.epoch
	q := append(l.queue[:0], origin)
	l.mark[origin] = ep
	for depth, start := 0, 0; start < len(q); depth++ {
		if maxDepth > 0 && depth >= maxDepth {
			break
		}
		end := len(q)
		for _, u := range q[start:end] {
			for _, v := range l.tgt[l.off[u]:l.off[u+1]] {
				if l.mark[v] != ep {
					if limit > 0 && len(q) > limit {
						l.queue = q
						return len(q) - 1
					}
					l.mark[v] = ep
					q = append(q, v)
				}
			}
		}
		start = end
	}
	l.queue = q
	return len(q) - 1
}

func (l *limitCSR) bytes() int {
	return cap(l.off)*4 + cap(l.tgt)*4 + cap(l.mark)*4 + cap(l.queue)*4
}

func newGonum(e *genEstate, types []RelType, reverse bool) *simple.DirectedGraph {
	g := simple.NewDirectedGraph()
	for i := range e.ids {
		g.AddNode(simple.Node(i))
	}
	e.arcs(types, func(from, to int32) {
		if reverse {
			from, to = to, from
		}
		g.SetEdge(simple.Edge{F: simple.Node(from), T: simple.Node(to)})
	})
	return g
}

func gonumBFS(g *simple.DirectedGraph, origin int32, maxDepth, limit int) int {
	var bf traverse.BreadthFirst
	n := -1
	bf.Walk(g, g.Node(int64(origin)), func(_ graph.Node, d int) bool {
		if maxDepth > 0 && d > maxDepth {
			return true
		}
		n++
		return limit > 0 && n >= limit
	})
	return n
}

type large struct {
	e       *genEstate
	types   *relTypes
	ix      *adjIndex
	store   storage.Store // the journal the index catches up with
	build   time.Duration
	limit   [2]*limitCSR
	gonum   [2]*simple.DirectedGraph
	gonumMu sync.Mutex
}

var (
	largeOnce sync.Once
	largeEst  *large
)

// largeEstate generates the large estate and our index once per run.
func largeEstate(b *testing.B) *large {
	largeOnce.Do(func() {
		t0 := time.Now()
		rt, err := newRelTypes(DefaultRelTypes(), DefaultClasses())
		if err != nil {
			panic(err)
		}
		e := generate(*benchCIs, 1)
		t1 := time.Now()
		ix := e.index(rt)
		t2 := time.Now()
		largeEst = &large{e: e, types: rt, ix: ix, build: t2.Sub(t1), store: memory.NewStore()}
		for d := range 2 {
			largeEst.limit[d] = newLimit(e, rt.list, d == down)
		}
		b.Logf("generated %d CIs, %d relationships in %v; index built in %v", len(e.ids), len(e.parent),
			t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond))
	})
	return largeEst
}

func (l *large) gonumGraph(b *testing.B, dir int) *simple.DirectedGraph {
	l.gonumMu.Lock()
	defer l.gonumMu.Unlock()
	if l.gonum[dir] == nil {
		t0 := time.Now()
		l.gonum[dir] = newGonum(l.e, l.types.list, dir == down)
		b.Logf("gonum graph (dir %d) built in %v", dir, time.Since(t0).Round(time.Millisecond))
	}
	return l.gonum[dir]
}

// inTx runs fn in a transaction of the index's store.
func (l *large) inTx(fn func(ctx context.Context, tx storage.Tx)) {
	if err := l.store.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		fn(ctx, tx)
		return nil
	}); err != nil {
		panic(err)
	}
}

// ours catches the index up with the journal, as a Service query does,
// runs our index walk and returns the number of CIs reached.
func (l *large) ours(ctx context.Context, tx storage.Tx, origin int32, dir, maxDepth, limit int) int {
	if err := catchUpNow(ctx, tx, l.ix); err != nil {
		panic(err)
	}
	sp := &walkSpec{dir: dir, maxDepth: maxDepth, limit: limit, every: true}
	for i, t := range l.types.list {
		sp.flags[i] = fAllow
		if t.Membership && dir == up {
			sp.flags[i] |= fMember
		}
	}
	l.ix.mu.RLock()
	defer l.ix.mu.RUnlock()
	u, ok := l.ix.node(l.e.ids[origin])
	if !ok {
		return 0
	}
	m := l.ix.getMarks()
	defer l.ix.putMarks(m)
	if _, err := walk(l.ix, m, u, sp); err != nil {
		panic(err)
	}
	return len(m.queue) - 1
}

// compareImpact times ours, the limit and gonum alternately on the same
// origins.
func compareImpact(b *testing.B, origins func(i int) int32, dir, maxDepth, limit int) {
	l := largeEstate(b)
	g := l.gonumGraph(b, dir)
	lim := l.limit[dir]
	var tOurs, tLimit, tGonum time.Duration
	reached := 0
	counts := make([]int, b.N)
	// One read transaction holds the loop: a Service query runs in one
	// anyway, and ours is timed from its catch-up on.
	l.inTx(func(ctx context.Context, tx storage.Tx) {
		// Warm up: the limit's arrays are allocated when it is built;
		// ours are allocated by the first query and then reused.
		l.ours(ctx, tx, origins(0), dir, maxDepth, limit)
		lim.bfs(origins(0), maxDepth, limit)
		// No collection in flight (building gonum's graph starts many)
		// while ours and the limit are timed; neither allocates, so none
		// starts.
		runtime.GC()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			o := origins(i)
			t0 := time.Now()
			n := l.ours(ctx, tx, o, dir, maxDepth, limit)
			t1 := time.Now()
			nl := lim.bfs(o, maxDepth, limit)
			t2 := time.Now()
			tOurs, tLimit = tOurs+t1.Sub(t0), tLimit+t2.Sub(t1)
			if n != nl {
				b.Fatalf("origin %d: ours reached %d, the limit %d", o, n, nl)
			}
			counts[i] = n
			reached += n
		}
	})
	// gonum runs in a loop of its own: its garbage (visited sets and
	// queues) starts collections of its multi-gigabyte graph, which would
	// otherwise slow down the walks timed next to it. Its own collections
	// are its cost.
	for i := range b.N {
		o := origins(i)
		t0 := time.Now()
		ng := gonumBFS(g, o, maxDepth, limit)
		tGonum += time.Since(t0)
		if maxDepth == 0 && limit == 0 && ng != counts[i] {
			b.Fatalf("origin %d: ours reached %d, gonum %d", o, counts[i], ng)
		}
	}
	b.ReportMetric(float64(reached)/float64(b.N), "cis/op")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), "ours-ns/op")
	b.ReportMetric(float64(tLimit.Nanoseconds())/float64(b.N), "limit-ns/op")
	b.ReportMetric(float64(tGonum.Nanoseconds())/float64(b.N), "gonum-ns/op")
	b.ReportMetric(float64(tOurs)/float64(tLimit), "x-limit")
	b.ReportMetric(float64(tGonum)/float64(tOurs), "x-faster-than-gonum")
}

func BenchmarkImpact(b *testing.B) {
	randomCI := func(i int) int32 {
		l := largeEstate(b)
		return int32(rand.New(rand.NewPCG(uint64(i), 7)).IntN(len(l.e.ids)))
	}
	core := func(i int) int32 {
		l := largeEstate(b)
		return l.e.first[lCore] + int32(i%int(l.e.first[lCore+1]-l.e.first[lCore]))
	}
	service := func(i int) int32 {
		l := largeEstate(b)
		return l.e.first[lBS] + int32(i%int(l.e.first[lBS+1]-l.e.first[lBS]))
	}
	b.Run("random-ci", func(b *testing.B) { compareImpact(b, randomCI, up, 0, 0) })
	b.Run("core-bounded", func(b *testing.B) { compareImpact(b, core, up, 10, 1000) })
	b.Run("core-blast-radius", func(b *testing.B) { compareImpact(b, core, up, 0, 0) })
	b.Run("service-downstream", func(b *testing.B) { compareImpact(b, service, down, 0, 0) })
}

// BenchmarkIndexBuild builds the index of the large estate from its
// relationships and reports its memory against the limit's: x-limit-mem
// compares with the limit's arrays for both directions (what answering
// upstream and downstream queries takes), x-limit-mem-1dir with one
// direction's, each with one query's working memory.
func BenchmarkIndexBuild(b *testing.B) {
	l := largeEstate(b)
	var ix *adjIndex
	var heap uint64
	b.ReportAllocs()
	for b.Loop() {
		ix = nil
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ix = l.e.index(l.types)
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
	}
	l.inTx(func(ctx context.Context, tx storage.Tx) {
		l.ours(ctx, tx, l.e.first[lCore], up, 0, 0) // a full query, to size the marks
	})
	m := l.ix.getMarks()
	marks := m.bytes()
	l.ix.putMarks(m)
	l.limit[up].bfs(l.e.first[lCore], 0, 0)
	limit1 := l.limit[up].bytes()
	limit2 := limit1 + l.limit[down].bytes() - cap(l.limit[down].mark)*4 - cap(l.limit[down].queue)*4
	ours := ix.bytes() + marks
	b.ReportMetric(float64(len(l.e.parent)), "relationships")
	b.ReportMetric(float64(ix.bytes()), "index-bytes")
	b.ReportMetric(float64(heap), "index-heap-bytes")
	b.ReportMetric(float64(marks), "query-marks-bytes")
	b.ReportMetric(float64(limit2), "limit-bytes")
	b.ReportMetric(float64(ours)/float64(limit2), "x-limit-mem")
	b.ReportMetric(float64(ours)/float64(limit1), "x-limit-mem-1dir")
}

// smallEstate stores a generated estate of n CIs through the Service.
func smallEstate(b *testing.B, n int) (*Service, *genEstate) {
	ctx := context.Background()
	svc, err := New(memory.NewStore())
	if err != nil {
		b.Fatal(err)
	}
	e := generate(n, 2)
	ids := make([]itil.ID, len(e.ids))
	for i := range e.ids {
		c, err := svc.CreateCI(ctx, impactActor, NewCI{Class: layerClass[e.layer(int32(i))], Name: fmt.Sprint("ci", i), State: Operational})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	e.ids = ids
	for i := range e.parent {
		if _, err := svc.Relate(ctx, impactActor, svc.types.list[e.typ[i]].Name, ids[e.parent[i]], ids[e.child[i]]); err != nil {
			b.Fatal(err)
		}
	}
	return svc, e
}

// BenchmarkServiceImpact works at a smaller scale through the Service on
// the memory backend: building the index from stored relationships, and
// Impact (paths, classes and names included) with the index against the
// storage walk.
func BenchmarkServiceImpact(b *testing.B) {
	ctx := context.Background()
	svc, e := smallEstate(b, 10_000)
	b.Run("build-from-store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := svc.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
				_, err := buildNow(ctx, tx, svc)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(e.parent)), "relationships")
	})
	for _, c := range []struct {
		name   string
		origin int32
		opts   ImpactOptions
	}{
		{"core-bounded", e.first[lCore], ImpactOptions{MaxDepth: 10, Limit: 1000}},
		{"random-ci", e.first[lSI] + 1234, ImpactOptions{}},
		{"service-downstream", e.first[lBS], ImpactOptions{Direction: Downstream}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var tIndex, tStore time.Duration
			noIndex := c.opts
			noIndex.NoIndex = true
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				a, err := svc.Impact(ctx, e.ids[c.origin], c.opts)
				t1 := time.Now()
				s, err2 := svc.Impact(ctx, e.ids[c.origin], noIndex)
				t2 := time.Now()
				if err != nil || err2 != nil || len(a.Affected) != len(s.Affected) {
					b.Fatal(err, err2)
				}
				tIndex, tStore = tIndex+t1.Sub(t0), tStore+t2.Sub(t1)
				b.ReportMetric(float64(len(a.Affected)), "cis/op")
			}
			b.ReportMetric(float64(tIndex.Nanoseconds())/float64(b.N), "index-ns/op")
			b.ReportMetric(float64(tStore.Nanoseconds())/float64(b.N), "store-ns/op")
			b.ReportMetric(float64(tStore)/float64(tIndex), "x-faster-than-store")
		})
	}
}

// BenchmarkIndexCatchUp times the journal catch-up a Service's index
// makes before each query, on the memory backend, inside the query's
// transaction: with nothing committed since the last query (one LastSeq
// call), and with one relationship added or removed since by another
// Service (one journal read and one overlay change; this case times the
// read-only transaction it runs in too). Beside each, in the same loop, its
// peer: the bare LastSeq call (x-limit), and building the index again
// from storage, what an index that cannot catch up would have to do
// (x-faster-than-rebuild).
//
//	go test ./cmdb -run '^$' -bench IndexCatchUp -benchtime 2000x
func BenchmarkIndexCatchUp(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := memory.NewStore()
	reader, writer := nodeServiceOn(b, store, &now), nodeServiceOn(b, store, &now)
	var ids []itil.ID
	for i := range 100 {
		c, err := writer.CreateCI(ctx, impactActor, NewCI{Class: "node", Name: fmt.Sprint("n", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for i := 1; i < len(ids); i++ {
		if _, err := writer.Relate(ctx, impactActor, tDep, ids[i/2], ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	var ix *adjIndex
	if err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		ix, err = reader.index(ctx, tx)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	// With nothing new the limit is the one LastSeq call the catch-up
	// must make; both run in the same loop.
	b.Run("nothing-new", func(b *testing.B) {
		var tOurs, tLimit time.Duration
		if err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if _, err := tx.LastSeq(ctx); err != nil {
					return err
				}
				t1 := time.Now()
				if err := catchUpNow(ctx, tx, ix); err != nil {
					return err
				}
				tLimit, tOurs = tLimit+t1.Sub(t0), tOurs+time.Since(t1)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(tOurs)/float64(tLimit), "x-limit")
	})
	// After another instance changed one relationship, the peer is what
	// an index without catch-up would have to do: build itself again from
	// storage. Both run in the same loop.
	b.Run("one-relationship", func(b *testing.B) {
		b.ReportAllocs()
		var tOurs, tRebuild time.Duration
		rels := map[int]*Relationship{} // relationships the writer added, to remove next time round
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			k := 1 + i%(len(ids)-1)
			var err error
			if r := rels[k]; r != nil {
				err = writer.Unrelate(ctx, impactActor, r.ID)
				delete(rels, k)
			} else {
				rels[k], err = writer.Relate(ctx, impactActor, tDep2, ids[0], ids[k])
			}
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			if err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { return catchUpNow(ctx, tx, ix) }); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
				_, err := buildNow(ctx, tx, reader)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			tOurs, tRebuild = tOurs+t1.Sub(t0), tRebuild+time.Since(t1)
		}
		b.ReportMetric(float64(tRebuild)/float64(tOurs), "x-faster-than-rebuild")
	})
}
