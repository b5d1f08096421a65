package cmdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

var impactActor = itil.Actor{ID: "impact-test", Name: "Impact test"}

// The random-graph tests use one class, "node", and relationship types of
// every propagation, including a membership.
const (
	tDep    = "dep"    // child to parent
	tDep2   = "dep2"   // child to parent, a second type
	tFeeds  = "feeds"  // parent to child
	tNote   = "note"   // none
	tMember = "member" // child to parent, membership
)

var testTypes = []string{tDep, tDep2, tFeeds, tNote, tMember}

func nodeService(t require.TestingT, now *time.Time, opts ...Option) *Service {
	return nodeServiceOn(t, memory.NewStore(), now, opts...)
}

// nodeServiceOn is nodeService on a given store: several Services may
// share one.
func nodeServiceOn(t require.TestingT, store storage.Store, now *time.Time, opts ...Option) *Service {
	cs := DefaultClasses()
	require.NoError(t, cs.Add(Class{Name: "node", Attributes: []Attribute{
		{Name: "min_up", Type: Int}, {Name: "min_up_percent", Type: Int}}}))
	pair := []Pair{{"node", "node"}}
	types := []RelType{
		{Name: tDep, ParentLabel: "Depends on", ChildLabel: "Used by", Allowed: pair, Propagation: ChildToParent},
		{Name: tDep2, ParentLabel: "Calls", ChildLabel: "Called by", Allowed: pair, Propagation: ChildToParent},
		{Name: tFeeds, ParentLabel: "Feeds", ChildLabel: "Fed by", Allowed: pair, Propagation: ParentToChild},
		{Name: tNote, ParentLabel: "Notes", ChildLabel: "Noted by", Allowed: pair, Propagation: None},
		{Name: tMember, ParentLabel: "Cluster of", ChildLabel: "Member of", Allowed: pair, Propagation: ChildToParent, Membership: true},
	}
	svc, err := New(store, append([]Option{WithClasses(cs), WithRelTypes(types...),
		WithClock(itil.ClockFunc(func() time.Time { return *now }))}, opts...)...)
	require.NoError(t, err)
	return svc
}

type edge struct {
	typ           string
	parent, child int
}

// randomGraph creates n nodes (some with cluster attributes) and random
// relationships through the Service.
type randomGraph struct {
	svc   *Service
	ids   []itil.ID
	attrs []map[string]string
	edges []edge
}

func drawGraph(t *rapid.T, svc *Service) *randomGraph {
	ctx := context.Background()
	g := &randomGraph{svc: svc}
	n := rapid.IntRange(1, 10).Draw(t, "nodes")
	for i := range n {
		attrs := map[string]string{}
		switch rapid.IntRange(0, 3).Draw(t, "cluster_rule") {
		case 1:
			attrs["min_up"] = strconv.Itoa(rapid.IntRange(0, 3).Draw(t, "min_up"))
		case 2:
			attrs["min_up_percent"] = strconv.Itoa(rapid.SampledFrom([]int{0, 34, 50, 67, 100}).Draw(t, "pct"))
		case 3:
			attrs["min_up"] = strconv.Itoa(rapid.IntRange(0, 3).Draw(t, "min_up"))
			attrs["min_up_percent"] = strconv.Itoa(rapid.SampledFrom([]int{0, 34, 50, 67, 100}).Draw(t, "pct"))
		}
		c, err := svc.CreateCI(ctx, impactActor, NewCI{Class: "node", Name: fmt.Sprint("n", i), Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		g.ids = append(g.ids, c.ID)
		g.attrs = append(g.attrs, c.Attributes)
	}
	if n < 2 {
		return g
	}
	seen := map[edge]bool{}
	for range rapid.IntRange(0, 3*n).Draw(t, "edges") {
		p := rapid.IntRange(0, n-1).Draw(t, "parent")
		c := rapid.IntRange(0, n-1).Draw(t, "child")
		e := edge{rapid.SampledFrom(testTypes).Draw(t, "type"), p, c}
		if p == c || seen[e] {
			continue
		}
		seen[e] = true
		if _, err := svc.Relate(ctx, impactActor, e.typ, g.ids[p], g.ids[c]); err != nil {
			t.Fatal(err)
		}
		g.edges = append(g.edges, e)
	}
	return g
}

func propOf(typ string) Propagation {
	switch typ {
	case tDep, tDep2, tMember:
		return ChildToParent
	case tFeeds:
		return ParentToChild
	}
	return None
}

// reference is a naive level-by-level closure: at each level, every edge
// is scanned; a cluster is reached once more members than its slack are
// among the CIs reached so far. It returns each reached CI's depth.
func (g *randomGraph) reference(origin int, dir Direction, maxDepth int, types []string) map[int]int {
	allowed := func(typ string) bool { return len(types) == 0 || slices.Contains(types, typ) }
	type arc struct {
		from, to int
		member   bool
	}
	var arcs []arc
	for _, e := range g.edges {
		if !allowed(e.typ) {
			continue
		}
		var a arc
		switch propOf(e.typ) {
		case ChildToParent:
			a = arc{e.child, e.parent, e.typ == tMember}
		case ParentToChild:
			a = arc{e.parent, e.child, false}
		default:
			continue
		}
		if dir == Downstream {
			a.from, a.to, a.member = a.to, a.from, false
		}
		arcs = append(arcs, a)
	}
	depth := map[int]int{origin: 0}
	for d := 0; maxDepth == 0 || d < maxDepth; d++ {
		next := map[int]bool{}
		for _, a := range arcs {
			if _, done := depth[a.to]; !a.member && depth[a.from] == d && hasKey(depth, a.from) && !done {
				next[a.to] = true
			}
		}
		for v := range next {
			depth[v] = d + 1
		}
		grew := len(next) > 0
		for c := range g.ids {
			if _, done := depth[c]; done {
				continue
			}
			members, downCount := map[int]bool{}, 0
			for _, a := range arcs {
				if a.member && a.to == c && !members[a.from] {
					members[a.from] = true
					if dd, ok := depth[a.from]; ok && dd <= d {
						downCount++
					}
				}
			}
			if len(members) == 0 || downCount == 0 {
				continue
			}
			need := min(max(needOf(&CI{Attributes: g.attrs[c]}, len(members)), 0), len(members))
			if downCount > len(members)-need {
				depth[c] = d + 1
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	delete(depth, origin)
	return depth
}

func hasKey(m map[int]int, k int) bool { _, ok := m[k]; return ok }

// checkPaths checks that every path is a chain of real relationships from
// the origin, in the walk's direction, of followed types.
func (g *randomGraph) checkPaths(t require.TestingT, origin itil.ID, dir Direction, types []string, res *ImpactResult) {
	idx := map[itil.ID]int{}
	for i, id := range g.ids {
		idx[id] = i
	}
	for _, a := range res.Affected {
		require.Len(t, a.Path, a.Depth)
		at := origin
		for _, h := range a.Path {
			require.Equal(t, at, h.From)
			require.True(t, len(types) == 0 || slices.Contains(types, h.Type), "type %s followed", h.Type)
			p := propOf(h.Type)
			fromIsParent := (dir == Upstream) == (p == ParentToChild)
			e := edge{h.Type, idx[h.From], idx[h.To]}
			if !fromIsParent {
				e.parent, e.child = e.child, e.parent
			}
			require.Contains(t, g.edges, e, "hop %+v is a relationship", h)
			at = h.To
		}
		require.Equal(t, a.CI, at)
	}
}

func drawOptions(t *rapid.T, n int) (int, ImpactOptions) {
	origin := rapid.IntRange(0, n-1).Draw(t, "origin")
	o := ImpactOptions{
		Direction: rapid.SampledFrom([]Direction{Upstream, Downstream}).Draw(t, "direction"),
		MaxDepth:  rapid.IntRange(0, 4).Draw(t, "max_depth"),
	}
	if rapid.Bool().Draw(t, "filter") {
		o.Types = rapid.SliceOfNDistinct(rapid.SampledFrom(testTypes), 1, 3, rapid.ID[string]).Draw(t, "types")
	}
	return origin, o
}

// TestImpactMatchesReference: on random graphs, the affected CIs and their
// depths are those of the naive closure; the storage walk gives exactly
// the index's result; a Limit keeps a prefix.
func TestImpactMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		g := drawGraph(t, nodeService(t, &now))
		origin, o := drawOptions(t, len(g.ids))
		res, err := g.svc.Impact(ctx, g.ids[origin], o)
		require.NoError(t, err)
		got := map[int]int{}
		for _, a := range res.Affected {
			got[slices.Index(g.ids, a.CI)] = a.Depth
			require.Equal(t, "node", a.Class)
		}
		require.Equal(t, g.reference(origin, o.Direction, o.MaxDepth, o.Types), got)
		require.False(t, res.Truncated)
		g.checkPaths(t, g.ids[origin], o.Direction, o.Types, res)
		for i := 1; i < len(res.Affected); i++ {
			require.LessOrEqual(t, res.Affected[i-1].Depth, res.Affected[i].Depth, "breadth-first order")
		}

		o.NoIndex = true
		viaStore, err := g.svc.Impact(ctx, g.ids[origin], o)
		require.NoError(t, err)
		require.Equal(t, res, viaStore, "storage walk equals index walk")

		o.NoIndex = rapid.Bool().Draw(t, "limit_no_index")
		o.Limit = rapid.IntRange(1, 5).Draw(t, "limit")
		limited, err := g.svc.Impact(ctx, g.ids[origin], o)
		require.NoError(t, err)
		want := res.Affected[:min(o.Limit, len(res.Affected))]
		require.Equal(t, want, limited.Affected)
		require.Equal(t, len(res.Affected) > o.Limit, limited.Truncated)
	})
}

// TestImpactDuality: B is downstream of A iff A is upstream of B, at the
// same depth, for the same types (without memberships, whose redundancy
// only the upstream walk applies).
func TestImpactDuality(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		g := drawGraph(t, nodeService(t, &now))
		types := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{tDep, tDep2, tFeeds, tNote}), 1, 4, rapid.ID[string]).Draw(t, "types")
		reach := func(dir Direction) map[[2]int]int {
			out := map[[2]int]int{}
			for a, id := range g.ids {
				res, err := g.svc.Impact(ctx, id, ImpactOptions{Direction: dir, Types: types})
				require.NoError(t, err)
				for _, x := range res.Affected {
					b := slices.Index(g.ids, x.CI)
					if dir == Downstream {
						out[[2]int{a, b}] = x.Depth
					} else {
						out[[2]int{b, a}] = x.Depth
					}
				}
			}
			return out
		}
		require.Equal(t, reach(Downstream), reach(Upstream))
	})
}

// indexEdges lists the index's live edges as (type, parent, child).
func indexEdges(ix *adjIndex) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []string
	ix.eachEdge(func(from, to itil.ID, ti uint8) {
		if ix.prop[ti] == ChildToParent {
			from, to = to, from
		}
		out = append(out, ix.types.list[ti].Name+" "+from.String()+" "+to.String())
	})
	slices.Sort(out)
	return out
}

// indexNow returns svc's index, caught up with the journal, and a fresh
// one built from storage.
// buildNow and catchUpNow build and catch up an index as Service.index
// does: at the journal's head as tx sees it.
func buildNow(ctx context.Context, tx storage.Tx, svc *Service) (*adjIndex, error) {
	head, err := tx.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	return svc.buildIndex(ctx, tx, head)
}

func catchUpNow(ctx context.Context, tx storage.Tx, ix *adjIndex) error {
	head, err := tx.LastSeq(ctx)
	if err != nil {
		return err
	}
	return ix.catchUp(ctx, tx, head)
}

func indexNow(t require.TestingT, svc *Service) (current, fresh *adjIndex) {
	require.NoError(t, svc.store.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		var err error
		if current, err = svc.index(ctx, tx); err != nil {
			return err
		}
		fresh, err = buildNow(ctx, tx, svc)
		return err
	}))
	return current, fresh
}

// TestIndexTracksStore: after any sequence of creates, relates, unrelates,
// retirements (cascading) and deletions, made by either of two Services
// on one store, no relationship dangles and each Service's index holds
// exactly the stored relationships that propagate; the walks agree.
func TestIndexTracksStore(t *testing.T) {
	old := compactMin
	compactMin = 3 // fold the overlay often
	t.Cleanup(func() { compactMin = old })
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		store := memory.NewStore()
		a := nodeServiceOn(t, store, &now, WithRelationshipRule(Cascade))
		b := nodeServiceOn(t, store, &now, WithRelationshipRule(Cascade))
		services := []*Service{a, b}
		var ids []itil.ID
		mk := func(svc *Service, i int) {
			c, err := svc.CreateCI(ctx, impactActor, NewCI{Class: "node", Name: fmt.Sprint("n", i), State: Operational})
			require.NoError(t, err)
			ids = append(ids, c.ID)
		}
		mk(a, 0)
		mk(b, 1)
		for _, svc := range services {
			if rapid.Bool().Draw(t, "build_early") {
				_, err := svc.Impact(ctx, ids[0], ImpactOptions{}) // build the index before the changes
				require.NoError(t, err)
			}
		}
		for i := range rapid.IntRange(1, 40).Draw(t, "steps") {
			now = now.Add(time.Second)
			svc := rapid.SampledFrom(services).Draw(t, "service")
			switch op := rapid.IntRange(0, 6).Draw(t, "op"); {
			case op == 0 || len(ids) < 2:
				mk(svc, i+2)
			case op <= 2:
				p, c := rapid.SampledFrom(ids).Draw(t, "parent"), rapid.SampledFrom(ids).Draw(t, "child")
				_, err := svc.Relate(ctx, impactActor, rapid.SampledFrom(testTypes).Draw(t, "type"), p, c)
				var v *itil.ValidationError
				if err != nil && !errors.As(err, &v) { // self, retired
					t.Fatal(err)
				}
			case op == 3:
				rels, err := svc.Relationships(ctx, rapid.SampledFrom(ids).Draw(t, "ci"))
				require.NoError(t, err)
				if len(rels) > 0 {
					require.NoError(t, svc.Unrelate(ctx, impactActor, rapid.SampledFrom(rels).Draw(t, "rel").ID))
				}
			case op == 4:
				_, err := svc.SetState(ctx, impactActor, rapid.SampledFrom(ids).Draw(t, "ci"), Retired)
				if err != nil && !errors.Is(err, itil.ErrInvalidTransition) {
					t.Fatal(err)
				}
			case op == 5:
				// A query midway: the other Service's changes so far are
				// caught up from the journal.
				_, err := svc.Impact(ctx, rapid.SampledFrom(ids).Draw(t, "origin"), ImpactOptions{})
				require.NoError(t, err)
			default:
				id := rapid.SampledFrom(ids).Draw(t, "ci")
				require.NoError(t, svc.DeleteCI(ctx, impactActor, id))
				ids = slices.DeleteFunc(ids, func(x itil.ID) bool { return x == id })
			}
		}
		var stored []string
		for _, id := range ids {
			c, err := a.Get(ctx, id)
			require.NoError(t, err)
			rels, err := a.Relationships(ctx, id)
			require.NoError(t, err)
			for _, r := range rels {
				require.NotEqual(t, Retired, c.State, "a retired CI keeps no relationship")
				require.True(t, slices.Contains(ids, r.Parent) && slices.Contains(ids, r.Child), "relationship %v dangles", r)
				if r.Parent == id && propOf(r.Type) != None {
					stored = append(stored, r.Type+" "+r.Parent.String()+" "+r.Child.String())
				}
			}
		}
		slices.Sort(stored)
		for n, svc := range services {
			ix, fresh := indexNow(t, svc)
			require.Equal(t, stored, indexEdges(ix), "service %d's index", n)
			require.Equal(t, stored, indexEdges(fresh))
			for _, id := range ids {
				for _, dir := range []Direction{Upstream, Downstream} {
					x, err := svc.Impact(ctx, id, ImpactOptions{Direction: dir})
					require.NoError(t, err)
					y, err := svc.Impact(ctx, id, ImpactOptions{Direction: dir, NoIndex: true})
					require.NoError(t, err)
					require.Equal(t, y, x)
				}
			}
		}
	})
}

// TestRedundancyThreshold: a cluster of k members fails only when fewer
// than its required members remain up; with some down but enough up it is
// degraded. Impact from one member reaches it only then too.
func TestRedundancyThreshold(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		svc, err := New(memory.NewStore())
		require.NoError(t, err)
		ci, rel := builders(ctx, t, svc)
		k := rapid.IntRange(1, 6).Draw(t, "members")
		attrs := map[string]string{}
		need := 1
		switch rapid.IntRange(0, 2).Draw(t, "rule") {
		case 1:
			need = rapid.IntRange(0, k+1).Draw(t, "min_up")
			attrs["min_up"] = strconv.Itoa(need)
		case 2:
			pct := rapid.IntRange(0, 100).Draw(t, "min_up_percent")
			attrs["min_up_percent"] = strconv.Itoa(pct)
			need = (k*pct + 99) / 100
		}
		need = min(need, k)
		bs := ci(ClassBusinessService, "payroll", nil)
		cl := ci(ClassCluster, "db-cluster", attrs)
		rel(DependsOn, bs, cl)
		var members []*CI
		for i := range k {
			m := ci(ClassLinuxServer, fmt.Sprint("db", i), nil)
			rel(ClusterOf, cl, m)
			members = append(members, m)
		}
		var downIDs []itil.ID
		for _, m := range members {
			if rapid.Bool().Draw(t, "down") {
				downIDs = append(downIDs, m.ID)
			}
		}
		st, err := svc.Propagate(ctx, downIDs, nil)
		require.NoError(t, err)
		want := StatusOperational
		switch up := k - len(downIDs); {
		case up < need:
			want = StatusDown
		case len(downIDs) > 0:
			want = StatusDegraded
		}
		require.Equal(t, map[itil.ID]ServiceStatus{bs.ID: want}, st)

		res, err := svc.Impact(ctx, members[0].ID, ImpactOptions{})
		require.NoError(t, err)
		var reached []string
		for _, a := range res.Affected {
			reached = append(reached, a.Name)
		}
		if k-1 < need {
			require.Equal(t, []string{"db-cluster", "payroll"}, reached)
		} else {
			require.Empty(t, reached)
		}
	})
}

type estate struct {
	svc                          *Service
	bs, app, cl, s1, s2, sw, loc *CI
}

// builders returns helpers that create a CI and relate two, failing t on
// any error.
func builders(ctx context.Context, t require.TestingT, svc *Service) (
	ci func(class, name string, attrs map[string]string) *CI, rel func(typ string, p, c *CI)) {
	ci = func(class, name string, attrs map[string]string) *CI {
		c, err := svc.CreateCI(ctx, impactActor, NewCI{Class: class, Name: name, Attributes: attrs})
		require.NoError(t, err)
		return c
	}
	rel = func(typ string, p, c *CI) {
		_, err := svc.Relate(ctx, impactActor, typ, p.ID, c.ID)
		require.NoError(t, err)
	}
	return ci, rel
}

// newEstate: payroll (business service) depends on the payroll app, which
// runs on a cluster of two servers; both connect to a core switch; a
// location contains the switch.
func newEstate(t *testing.T, clusterAttrs map[string]string) *estate {
	ctx := t.Context()
	svc, err := New(memory.NewStore())
	require.NoError(t, err)
	ci, rel := builders(ctx, t, svc)
	e := &estate{svc: svc}
	e.bs = ci(ClassBusinessService, "Payroll", nil)
	e.app = ci(ClassApplication, "payroll-app", nil)
	e.cl = ci(ClassCluster, "app-cluster", clusterAttrs)
	e.s1 = ci(ClassLinuxServer, "app01", nil)
	e.s2 = ci(ClassLinuxServer, "app02", nil)
	e.sw = ci(ClassNetworkDevice, "core-sw", nil)
	e.loc = ci(ClassLocation, "DC1", nil)
	rel(DependsOn, e.bs, e.app)
	rel(RunsOn, e.app, e.cl)
	rel(ClusterOf, e.cl, e.s1)
	rel(ClusterOf, e.cl, e.s2)
	rel(ConnectsTo, e.s1, e.sw)
	rel(ConnectsTo, e.s2, e.sw)
	rel(Contains, e.loc, e.sw)
	rel(Owns, e.bs, e.s1) // carries no impact
	return e
}

type hopText struct{ from, label, to string }

func pathText(e *estate, a Affected) []hopText {
	names := map[itil.ID]string{}
	for _, c := range []*CI{e.bs, e.app, e.cl, e.s1, e.s2, e.sw, e.loc} {
		names[c.ID] = c.Name
	}
	var out []hopText
	for _, h := range a.Path {
		out = append(out, hopText{names[h.From], h.Label, names[h.To]})
	}
	return out
}

func TestImpactPaths(t *testing.T) {
	e := newEstate(t, nil)
	cases := []struct {
		name   string
		origin *CI
		opts   ImpactOptions
		want   []string // name@depth
		path   map[string][]hopText
		trunc  bool
	}{
		{name: "switch fails", origin: e.sw, want: []string{"app01@1", "app02@1", "app-cluster@2", "payroll-app@3", "Payroll@4"},
			// The cluster fails when its last member goes: the path
			// names that one.
			path: map[string][]hopText{"Payroll": {{"core-sw", "Connected by", "app02"}, {"app02", "Cluster", "app-cluster"},
				{"app-cluster", "Runs", "payroll-app"}, {"payroll-app", "Used by", "Payroll"}}}},
		{name: "location fails", origin: e.loc, want: []string{"core-sw@1", "app01@2", "app02@2", "app-cluster@3", "payroll-app@4", "Payroll@5"},
			path: map[string][]hopText{"core-sw": {{"DC1", "Contains", "core-sw"}}}},
		{name: "one member fails", origin: e.s1, want: nil},
		{name: "depth limit", origin: e.sw, opts: ImpactOptions{MaxDepth: 2}, want: []string{"app01@1", "app02@1", "app-cluster@2"}},
		{name: "result cap", origin: e.sw, opts: ImpactOptions{Limit: 2}, want: []string{"app01@1", "app02@1"}, trunc: true},
		{name: "cap not reached", origin: e.sw, opts: ImpactOptions{Limit: 5}, want: []string{"app01@1", "app02@1", "app-cluster@2", "payroll-app@3", "Payroll@4"}},
		{name: "type filter", origin: e.sw, opts: ImpactOptions{Types: []string{ConnectsTo, RunsOn}}, want: []string{"app01@1", "app02@1"}},
		{name: "downstream", origin: e.bs, opts: ImpactOptions{Direction: Downstream},
			want: []string{"payroll-app@1", "app-cluster@2", "app01@3", "app02@3", "core-sw@4", "DC1@5"},
			path: map[string][]hopText{"DC1": {{"Payroll", "Depends on", "payroll-app"}, {"payroll-app", "Runs on", "app-cluster"},
				{"app-cluster", "Cluster of", "app01"}, {"app01", "Connects to", "core-sw"}, {"core-sw", "Contained by", "DC1"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, noIndex := range []bool{false, true} {
				c.opts.NoIndex = noIndex
				res, err := e.svc.Impact(t.Context(), c.origin.ID, c.opts)
				require.NoError(t, err)
				var got []string
				for _, a := range res.Affected {
					got = append(got, fmt.Sprintf("%s@%d", a.Name, a.Depth))
					if want, ok := c.path[a.Name]; ok {
						assert.Equal(t, want, pathText(e, a), a.Name)
					}
				}
				assert.Equal(t, c.want, got, "no_index=%v", noIndex)
				assert.Equal(t, c.trunc, res.Truncated)
			}
		})
	}
}

func TestRedundancyRules(t *testing.T) {
	cases := []struct {
		attrs         map[string]string
		oneDown       ServiceStatus // one server down
		oneReachesApp bool
	}{
		{nil, StatusDegraded, false}, // one member must stay up
		{map[string]string{"min_up": "2"}, StatusDown, true},
		{map[string]string{"min_up": "0"}, StatusDegraded, false},
		{map[string]string{"min_up_percent": "50"}, StatusDegraded, false},            // 1 of 2
		{map[string]string{"min_up_percent": "51"}, StatusDown, true},                 // rounds up to 2
		{map[string]string{"min_up": "1", "min_up_percent": "100"}, StatusDown, true}, // the larger
		{map[string]string{"min_up": "5"}, StatusDown, true},                          // capped at the members
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.attrs), func(t *testing.T) {
			e := newEstate(t, c.attrs)
			ctx := t.Context()
			st, err := e.svc.Propagate(ctx, []itil.ID{e.s1.ID}, nil)
			require.NoError(t, err)
			assert.Equal(t, map[itil.ID]ServiceStatus{e.bs.ID: c.oneDown}, st)
			st, err = e.svc.Propagate(ctx, []itil.ID{e.s1.ID, e.s2.ID}, nil)
			require.NoError(t, err)
			want := StatusDown
			if c.attrs["min_up"] == "0" {
				want = StatusDegraded
			}
			assert.Equal(t, map[itil.ID]ServiceStatus{e.bs.ID: want}, st, "both down")
			st, err = e.svc.Propagate(ctx, nil, []itil.ID{e.sw.ID})
			require.NoError(t, err)
			assert.Equal(t, map[itil.ID]ServiceStatus{e.bs.ID: StatusDegraded}, st, "degraded spreads")
			st, err = e.svc.Propagate(ctx, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, map[itil.ID]ServiceStatus{e.bs.ID: StatusOperational}, st)
			for _, noIndex := range []bool{false, true} {
				res, err := e.svc.Impact(ctx, e.s1.ID, ImpactOptions{NoIndex: noIndex})
				require.NoError(t, err)
				assert.Equal(t, c.oneReachesApp, len(res.Affected) > 0)
			}
		})
	}
}

func TestImpactErrors(t *testing.T) {
	e := newEstate(t, nil)
	ctx := t.Context()
	_, err := e.svc.Impact(ctx, itil.NewID(), ImpactOptions{})
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = e.svc.Impact(ctx, itil.NewID(), ImpactOptions{NoIndex: true})
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = e.svc.Impact(ctx, e.sw.ID, ImpactOptions{AsOf: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, itil.ErrNotFound, "did not exist then")
	_, err = e.svc.Impact(ctx, itil.NilID, ImpactOptions{Direction: 7, MaxDepth: -1, Limit: -1, Types: []string{RunsOn, "teleports_to"}})
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range []string{"origin", "direction", "max_depth", "limit", "types[1]"} {
		assert.True(t, v.Has(f), f)
	}
	assert.False(t, v.Has("types[0]"))
	_, err = e.svc.Propagate(ctx, []itil.ID{itil.NilID}, []itil.ID{e.sw.ID, itil.NilID})
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("down[0]") && v.Has("degraded[1]"))
	_, err = e.svc.Propagate(ctx, []itil.ID{itil.NewID()}, nil)
	require.ErrorIs(t, err, itil.ErrNotFound)

	lone, err := e.svc.CreateCI(ctx, impactActor, NewCI{Class: ClassLinuxServer, Name: "lonely"})
	require.NoError(t, err)
	res, err := e.svc.Impact(ctx, lone.ID, ImpactOptions{})
	require.NoError(t, err)
	assert.Empty(t, res.Affected)
}

// TestImpactAsOf: the analysis at an earlier instant sees the graph and
// the CIs of then.
func TestImpactAsOf(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		g := drawGraph(t, nodeService(t, &now))
		origin, o := drawOptions(t, len(g.ids))
		then, err := g.svc.Impact(ctx, g.ids[origin], o)
		require.NoError(t, err)
		at := now
		// Later: rename, unrelate some, relate others, delete one.
		now = now.Add(time.Minute)
		name := "renamed"
		_, err = g.svc.UpdateCI(ctx, impactActor, g.ids[0], Patch{Name: &name})
		require.NoError(t, err)
		for _, id := range g.ids {
			rels, err := g.svc.Relationships(ctx, id)
			require.NoError(t, err)
			for _, r := range rels {
				if rapid.Bool().Draw(t, "unrelate") {
					if err := g.svc.Unrelate(ctx, impactActor, r.ID); err != nil && !errors.Is(err, itil.ErrNotFound) {
						t.Fatal(err)
					}
				}
			}
		}
		if len(g.ids) > 1 {
			_, err = g.svc.Relate(ctx, impactActor, tDep, g.ids[1], g.ids[0])
			require.NoError(t, err)
		}
		o.AsOf = at
		got, err := g.svc.Impact(ctx, g.ids[origin], o)
		require.NoError(t, err)
		require.Equal(t, then, got)
	})
}

// TestImpactConcurrent runs queries while two writers relate and
// unrelate the same CIs (for the race detector), then checks the index
// against storage: changes reach the index in journal order, whichever
// writer committed them.
func TestImpactConcurrent(t *testing.T) {
	old := compactMin
	compactMin = 8
	t.Cleanup(func() { compactMin = old })
	e := newEstate(t, nil)
	ctx := t.Context()
	_, err := e.svc.Impact(ctx, e.sw.ID, ImpactOptions{})
	require.NoError(t, err)
	var servers []*CI
	for i := range 10 {
		c, err := e.svc.CreateCI(ctx, impactActor, NewCI{Class: ClassLinuxServer, Name: fmt.Sprint("web", i)})
		require.NoError(t, err)
		servers = append(servers, c)
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 30 {
				s := servers[(w+i)%len(servers)]
				r, err := e.svc.Relate(ctx, impactActor, ConnectsTo, s.ID, e.sw.ID)
				assert.NoError(t, err)
				if err == nil && i%3 == w {
					if err := e.svc.Unrelate(ctx, impactActor, r.ID); err != nil && !errors.Is(err, itil.ErrNotFound) {
						assert.NoError(t, err) // the other writer may have removed it first
					}
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 30 {
				_, err := e.svc.Impact(ctx, e.sw.ID, ImpactOptions{})
				assert.NoError(t, err)
				_, err = e.svc.Propagate(ctx, []itil.ID{e.sw.ID}, nil)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	a, err := e.svc.Impact(ctx, e.sw.ID, ImpactOptions{})
	require.NoError(t, err)
	b, err := e.svc.Impact(ctx, e.sw.ID, ImpactOptions{NoIndex: true})
	require.NoError(t, err)
	require.Equal(t, b, a)
	ix, fresh := indexNow(t, e.svc)
	require.Equal(t, indexEdges(fresh), indexEdges(ix))
}
