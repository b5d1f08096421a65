package cmdb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Direction is the way an impact analysis walks the relationship graph.
type Direction uint8

// Directions.
const (
	// Upstream finds what a failure of the origin affects: each
	// relationship is followed the way its type propagates failures
	// (ChildToParent from child to parent, ParentToChild from parent to
	// child, None never), up to the business services. Redundancy is
	// honoured (see ImpactOptions).
	Upstream Direction = iota
	// Downstream finds what the origin depends on: the exact reverse walk
	// of Upstream, without redundancy (every member of a cluster the
	// origin depends on is listed).
	Downstream
)

// ImpactOptions tunes Service.Impact.
//
// Redundancy: the parent of a relationship whose type is a Membership
// (cluster_of) is a cluster and the child a member. An upstream walk
// reaches a cluster through its members only when fewer than the required
// number of members remain up, counting as down the origin and the CIs
// already found affected. The cluster's int attribute min_up is that
// number; min_up_percent asks for that percentage of the members, rounded
// up; with both the larger applies, and with neither one member must stay
// up, so impact passes only when every member is down. The requirement is
// capped at the member count, and min_up 0 means the cluster never fails
// through its members. Relationships of other types reach a cluster like
// any CI. Members count only through relationship types the options
// follow.
type ImpactOptions struct {
	Direction Direction
	// MaxDepth limits the number of relationships between the origin and
	// an affected CI; 0 means no limit.
	MaxDepth int
	// Limit caps the number of affected CIs returned; 0 means no cap.
	// Results past the cap are dropped and Truncated is set.
	Limit int
	// Types, when not empty, are the only relationship types followed.
	Types []string
	// AsOf, when not zero, analyses the graph as it was at that instant,
	// rebuilt from the journal: relationships related and not yet
	// unrelated then, CIs (classes, names, cluster attributes) as they
	// were then. For post-incident review; it reads the whole journal.
	AsOf time.Time
	// NoIndex walks storage level by level (one batched lookup per depth)
	// instead of the in-memory index. Both give identical results.
	NoIndex bool
}

// Hop is one relationship of a path, read from From to To: Label is the
// type's label on From's side (a server "Runs" an application, which
// "Runs on" the server).
type Hop struct {
	Type  string  `json:"type"`
	Label string  `json:"label"`
	From  itil.ID `json:"from"`
	To    itil.ID `json:"to"`
}

// Affected is a CI an impact analysis reached, at Depth relationships from
// the origin, and the Path (Depth hops, the first from the origin) that
// explains it: a shortest one, the first breadth-first search found.
type Affected struct {
	CI    itil.ID `json:"ci"`
	Class string  `json:"class"`
	Name  string  `json:"name"`
	Depth int     `json:"depth"`
	Path  []Hop   `json:"path"`
}

// ImpactResult lists the affected CIs in breadth-first order: by depth,
// and within a depth in the order they were found, expanding each CI's
// relationships ordered by the other CI's ID and then by type (the order
// of the Service's relationship types). Clusters reached through their
// members come after the other CIs of their depth. The order depends only
// on the graph, never on how it was stored or indexed. The origin is not
// listed.
type ImpactResult struct {
	Affected []Affected `json:"affected"`
	// Truncated is set when Limit dropped affected CIs.
	Truncated bool `json:"truncated,omitempty"`
}

// Impact analyses what a failure of origin affects (Upstream) or what
// origin depends on (Downstream). It uses the Service's in-memory index,
// built from storage on first use and caught up with the journal before
// every query, so it answers from every relationship committed, by this
// Service or any other on the store; NoIndex walks storage instead, and
// AsOf replays the journal. Bound to a caller's transaction (In), it walks
// storage as that transaction sees it.
//
// An unknown origin (or one that did not exist at AsOf) gives an error
// wrapping itil.ErrNotFound; a nil origin, an unknown direction or type,
// a negative MaxDepth or Limit, or an AsOf outside the years 1 to 9999
// gives a *itil.ValidationError naming the field (origin, direction,
// types[i], max_depth, limit, as_of).
func (s *Service) Impact(ctx context.Context, origin itil.ID, opts ImpactOptions) (*ImpactResult, error) {
	sp, err := s.spec(origin, opts)
	if err != nil {
		return nil, err
	}
	if !opts.AsOf.IsZero() {
		return s.impactAsOf(ctx, origin, opts.AsOf, sp)
	}
	var res *ImpactResult
	err = s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		get := func(id itil.ID) (*CI, error) { return cis.Get(ctx, tx, id) }
		if _, err := get(origin); err != nil {
			return err
		}
		var err error
		if opts.NoIndex || s.ci.Bound() {
			res, err = s.impactStore(ctx, tx, origin, sp, get)
		} else {
			var ix *adjIndex
			if ix, err = s.index(ctx, tx); err != nil {
				return err
			}
			res, err = s.impactIndex(ix, origin, sp, get)
		}
		if err != nil {
			return err
		}
		return describe(res, get)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

const (
	fAllow  = 1 << iota // the walk follows the type
	fMember             // the type is a membership (upstream only)
)

// walkSpec is a validated ImpactOptions.
type walkSpec struct {
	dir      int
	flags    [256]uint8
	every    bool // every type is followed
	maxDepth int
	limit    int
	// need returns how many of a cluster's members must stay up; nil
	// means one.
	need func(v int32, members int) (int, error)
}

func (s *Service) spec(origin itil.ID, o ImpactOptions) (*walkSpec, error) {
	var v itil.ValidationError
	if origin == itil.NilID {
		v.Add("origin", "is required")
	}
	sp := &walkSpec{maxDepth: o.MaxDepth, limit: o.Limit}
	switch o.Direction {
	case Upstream:
		sp.dir = up
	case Downstream:
		sp.dir = down
	default:
		v.Add("direction", fmt.Sprintf("%d is not Upstream or Downstream", o.Direction))
	}
	if o.MaxDepth < 0 {
		v.Add("max_depth", "must not be negative")
	}
	if o.Limit < 0 {
		v.Add("limit", "must not be negative")
	}
	if !o.AsOf.IsZero() {
		check.Time(&v, "as_of", o.AsOf)
	}
	for i, name := range o.Types {
		ti, ok := s.types.byName[name]
		if !ok {
			v.Add(fmt.Sprintf("types[%d]", i), fmt.Sprintf("%q is not a relationship type", name))
			continue
		}
		sp.flags[ti] |= fAllow
	}
	if len(o.Types) == 0 {
		sp.every = true
		for i := range s.types.list {
			sp.flags[i] |= fAllow
		}
	}
	if sp.dir == up {
		for i, t := range s.types.list {
			if t.Membership {
				sp.flags[i] |= fMember
			}
		}
	}
	return sp, v.Err()
}

// needOf is how many of a cluster's members must stay up (see
// ImpactOptions), before capping.
func needOf(c *CI, members int) int {
	minUp, okU := intAttr(c, "min_up")
	pct, okP := intAttr(c, "min_up_percent")
	if !okU && !okP {
		return 1
	}
	need := 0
	if okU {
		need = minUp
	}
	if okP {
		need = max(need, (members*pct+99)/100)
	}
	return need
}

func intAttr(c *CI, name string) (int, bool) {
	s, ok := c.Attributes[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func needFunc(get func(itil.ID) (*CI, error), idOf func(int32) itil.ID) func(int32, int) (int, error) {
	return func(v int32, members int) (int, error) {
		c, err := get(idOf(v))
		if isNotFound(err) {
			return 1, nil // deleted since: the default
		}
		if err != nil {
			return 0, err
		}
		return needOf(c, members), nil
	}
}

// adjacency is what walk needs of an adjacency: the index (every row in
// memory) or rows read from storage on demand.
type adjacency interface {
	// load makes the rows of nodes available, with one batched read.
	load(nodes []int32) error
	// neighbors returns u's row in direction d, sorted by (neighbour ID,
	// type); it may use m's buffers.
	neighbors(d int, u int32, m *marks) ([]int32, []uint8)
	// size is the number of nodes known so far.
	size() int
}

type arrival struct {
	u, v int32
	t    uint8
}

type clusterState struct{ down, slack int }

// walk runs the breadth-first search from origin level by level. It
// leaves the affected nodes in m.queue[1:] (the origin first), the start
// of each depth in m.levels (with len(queue) last), and how each node was
// reached in m.vis (parent and type). It reports whether Limit cut it short.
//
// Within a level, regular relationships are expanded first; membership
// arrivals are collected and resolved after the next level's rows are
// loaded (which then include the clusters'), so a storage walk needs one
// batched read per level and decides exactly as the index does.
func walk(g adjacency, m *marks, origin int32, sp *walkSpec) (bool, error) {
	m.start(g.size())
	if err := g.load([]int32{origin}); err != nil {
		return false, err
	}
	m.ensure(g.size())
	ep := m.epoch
	m.vis[origin] = visit(ep, -1, 0)
	q := append(m.queue[:0], origin)
	levels := append(m.levels[:0], 0)
	finish := func(end int, truncated bool) (bool, error) {
		if int(levels[len(levels)-1]) != end {
			levels = append(levels, int32(end))
		}
		m.queue, m.levels = q, append(levels, int32(len(q)))
		return truncated, nil
	}
	ix, inMemory := g.(*adjIndex)
	var row *csr // the index's arrays, read directly for rows without an overlay
	if inMemory {
		row = &ix.g[sp.dir]
	}
	lim := sp.limit // results before a discovery truncates
	if lim == 0 {
		lim = math.MaxInt
	}
	var clusters map[int32]*clusterState
	for depth, start := 0, 0; start < len(q); depth++ {
		end := len(q)
		if sp.maxDepth > 0 && depth >= sp.maxDepth {
			break
		}
		arr := m.arr[:0]
		vis := m.vis
		for i := start; i < end; i++ {
			u := q[i]
			var nb []int32
			var tb []uint8
			if row != nil && int(u) < ix.nBase && ix.dirty[u>>6]&(1<<(u&63)) == 0 {
				lo, hi := row.off[u], row.off[u+1]
				if sp.every && (sp.dir == down || ix.member[u>>6]&(1<<(u&63)) == 0) {
					// Every edge is followed and none is a membership:
					// the type bytes are not read (a cache miss per row
					// saved); the path's types are looked up later.
					for _, v := range row.nbr[lo:hi] {
						if vis[v]>>40 == ep {
							continue
						}
						if len(q) > lim {
							m.arr = arr
							return finish(end, true)
						}
						vis[v] = visit(ep, u, typeLater)
						q = append(q, v)
					}
					continue
				}
				nb, tb = row.nbr[lo:hi], row.typ[lo:hi]
			} else {
				nb, tb = g.neighbors(sp.dir, u, m)
			}
			tb = tb[:len(nb)]
			last := int32(-1)
			for j, v := range nb {
				t := tb[j]
				f := sp.flags[t]
				if f&fAllow == 0 || vis[v]>>40 == ep {
					continue
				}
				if f&fMember != 0 {
					if v != last { // one arrival per member, whatever its types
						arr = append(arr, arrival{u, v, t})
						last = v
					}
					continue
				}
				if len(q) > lim {
					m.arr = arr
					return finish(end, true)
				}
				vis[v] = visit(ep, u, t)
				q = append(q, v)
			}
		}
		m.arr = arr
		expandNext := sp.maxDepth == 0 || depth+1 < sp.maxDepth
		if !inMemory && (len(arr) > 0 || expandNext && len(q) > end) {
			var batch []int32
			if expandNext {
				batch = append(batch, q[end:]...)
			}
			for _, a := range arr {
				batch = append(batch, a.v)
			}
			if err := g.load(batch); err != nil {
				return false, err
			}
			m.ensure(g.size())
			vis = m.vis
		}
		for _, a := range arr {
			if vis[a.v]>>40 == ep {
				continue
			}
			cs := clusters[a.v]
			if cs == nil {
				if clusters == nil {
					clusters = map[int32]*clusterState{}
				}
				members := countMembers(g, 1-sp.dir, a.v, &sp.flags, m)
				need := 1
				if sp.need != nil {
					var err error
					if need, err = sp.need(a.v, members); err != nil {
						return false, err
					}
				}
				cs = &clusterState{slack: members - min(max(need, 0), members)}
				clusters[a.v] = cs
			}
			cs.down++
			if cs.down <= cs.slack {
				continue
			}
			if len(q) > lim {
				return finish(end, true)
			}
			vis[a.v] = visit(ep, a.u, a.t)
			q = append(q, a.v)
		}
		levels = append(levels, int32(end))
		start = end
	}
	return finish(len(q), false)
}

// countMembers counts the distinct members of cluster v: its neighbours
// in direction d through followed membership types.
func countMembers(g adjacency, d int, v int32, flags *[256]uint8, m *marks) int {
	nb, tb := g.neighbors(d, v, m)
	n, last := 0, int32(-1)
	for j, w := range nb {
		if flags[tb[j]]&(fAllow|fMember) == fAllow|fMember && w != last {
			n++
			last = w
		}
	}
	return n
}

// materialize turns a finished walk into affected CIs with their paths
// (class and name are filled by describe).
func (s *Service) materialize(m *marks, ids []itil.ID, dir int, truncated bool) *ImpactResult {
	q, lv := m.queue, m.levels
	res := &ImpactResult{Affected: make([]Affected, len(q)-1), Truncated: truncated}
	hops := 0
	for d := 1; d+1 < len(lv); d++ {
		hops += d * int(lv[d+1]-lv[d])
	}
	arena := make([]Hop, hops)
	for d := 1; d+1 < len(lv); d++ {
		for i := lv[d]; i < lv[d+1]; i++ {
			v := q[i]
			path := arena[:d:d]
			arena = arena[d:]
			for w, k := v, d-1; k >= 0; k-- {
				p := int32(uint32(m.vis[w]))
				path[k] = s.hop(dir, ids[p], ids[w], uint8(m.vis[w]>>32))
				w = p
			}
			res.Affected[i-1] = Affected{CI: ids[v], Depth: d, Path: path}
		}
	}
	return res
}

func (s *Service) hop(dir int, from, to itil.ID, ti uint8) Hop {
	t := &s.types.list[ti]
	h := Hop{Type: t.Name, From: from, To: to, Label: t.ChildLabel}
	if (dir == up) == (t.Propagation == ParentToChild) {
		h.Label = t.ParentLabel
	}
	return h
}

// describe fills in the class and name of each affected CI.
func describe(res *ImpactResult, get func(itil.ID) (*CI, error)) error {
	for i := range res.Affected {
		a := &res.Affected[i]
		c, err := get(a.CI)
		if isNotFound(err) {
			continue // deleted while we walked
		}
		if err != nil {
			return err
		}
		a.Class, a.Name = c.Class, c.Name
	}
	return nil
}

func (s *Service) impactIndex(ix *adjIndex, origin itil.ID, sp *walkSpec, get func(itil.ID) (*CI, error)) (*ImpactResult, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	u, ok := ix.node(origin)
	if !ok {
		return &ImpactResult{Affected: []Affected{}}, nil // no relationship that propagates
	}
	m := ix.getMarks()
	defer ix.putMarks(m)
	sp.need = needFunc(get, func(v int32) itil.ID { return ix.ids[v] })
	truncated, err := walk(ix, m, u, sp)
	if err != nil {
		return nil, err
	}
	for _, v := range m.queue[1:] {
		if w := m.vis[v]; uint8(w>>32) == typeLater {
			p := int32(uint32(w))
			m.vis[v] = visit(w>>40, p, ix.typeOf(sp.dir, p, v))
		}
	}
	return s.materialize(m, ix.ids, sp.dir, truncated), nil
}

func (s *Service) impactStore(ctx context.Context, tx storage.Tx, origin itil.ID, sp *walkSpec, get func(itil.ID) (*CI, error)) (*ImpactResult, error) {
	g := &storeGraph{s: s, ctx: ctx, tx: tx, dense: map[itil.ID]int32{}}
	u := g.node(origin)
	var m marks
	sp.need = needFunc(get, func(v int32) itil.ID { return g.ids[v] })
	truncated, err := walk(g, &m, u, sp)
	if err != nil {
		return nil, err
	}
	return s.materialize(&m, g.ids, sp.dir, truncated), nil
}

// storeGraph is the graph read from storage as a walk goes: the rows of a
// level's nodes come from one batched relationsIn.
type storeGraph struct {
	s     *Service
	ctx   context.Context
	tx    storage.Tx
	dense map[itil.ID]int32
	ids   []itil.ID
	state []uint8 // 0 not read, 1 being read, 2 read
	nbr   [2][][]int32
	typ   [2][][]uint8
}

func (g *storeGraph) node(id itil.ID) int32 {
	u, ok := g.dense[id]
	if !ok {
		u = int32(len(g.ids))
		g.dense[id] = u
		g.ids = append(g.ids, id)
		g.state = append(g.state, 0)
		for d := range g.nbr {
			g.nbr[d] = append(g.nbr[d], nil)
			g.typ[d] = append(g.typ[d], nil)
		}
	}
	return u
}

func (g *storeGraph) size() int { return len(g.ids) }

func (g *storeGraph) neighbors(d int, u int32, _ *marks) ([]int32, []uint8) {
	return g.nbr[d][u], g.typ[d][u]
}

func (g *storeGraph) load(nodes []int32) error {
	var batch []int32
	var ids []itil.ID
	for _, u := range nodes {
		if g.state[u] == 0 {
			g.state[u] = 1
			batch = append(batch, u)
			ids = append(ids, g.ids[u])
		}
	}
	if len(batch) == 0 {
		return nil
	}
	rels, err := g.s.relationsIn(g.ctx, g.tx, ids)
	if err != nil {
		return err
	}
	for _, r := range rels {
		ti, ok := g.s.types.byName[r.Type]
		if !ok {
			continue
		}
		var from, to itil.ID
		switch g.s.types.list[ti].Propagation {
		case ChildToParent:
			from, to = r.Child, r.Parent
		case ParentToChild:
			from, to = r.Parent, r.Child
		default:
			continue
		}
		a, b := g.node(from), g.node(to)
		if g.state[a] == 1 {
			g.nbr[up][a] = append(g.nbr[up][a], b)
			g.typ[up][a] = append(g.typ[up][a], uint8(ti))
		}
		if g.state[b] == 1 {
			g.nbr[down][b] = append(g.nbr[down][b], a)
			g.typ[down][b] = append(g.typ[down][b], uint8(ti))
		}
	}
	for _, u := range batch {
		g.state[u] = 2
		for d := range g.nbr {
			g.sortRow(d, u)
		}
	}
	return nil
}

// sortRow orders a row like the index: by neighbour ID, then type.
func (g *storeGraph) sortRow(d int, u int32) {
	nb, tb := g.nbr[d][u], g.typ[d][u]
	hs := make([]half, len(nb))
	for i := range nb {
		hs[i] = half{nb[i], tb[i]}
	}
	slices.SortFunc(hs, func(x, y half) int {
		if c := cmpID(g.ids[x.nbr], g.ids[y.nbr]); c != 0 {
			return c
		}
		return int(x.typ) - int(y.typ)
	})
	for i, h := range hs {
		nb[i], tb[i] = h.nbr, h.typ
	}
}

// impactAsOf replays the journal up to t, builds a throwaway index of the
// relationships of then and walks it with the CIs of then.
func (s *Service) impactAsOf(ctx context.Context, origin itil.ID, t time.Time, sp *walkSpec) (*ImpactResult, error) {
	var res *ImpactResult
	err := s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		cisThen, rels, err := s.replay(ctx, tx, t)
		if err != nil {
			return err
		}
		get := func(id itil.ID) (*CI, error) {
			if c := cisThen[id]; c != nil {
				return c, nil
			}
			return nil, fmt.Errorf("%w: CI %s did not exist at %s", itil.ErrNotFound, id, t.Format(time.RFC3339))
		}
		if _, err := get(origin); err != nil {
			return err
		}
		bd := newIndexBuilder(s.types, len(cisThen))
		for _, r := range rels {
			bd.add(r.Type, r.Parent, r.Child)
		}
		if res, err = s.impactIndex(bd.build(), origin, sp, get); err != nil {
			return err
		}
		return describe(res, get)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// replay rebuilds the CIs and relationships as they were at t from the
// journal's CI and relationship events up to t: a relationship from its
// EventRelated payload (the relationship as created) until the event that
// deleted it, a CI from its history (created, then field changes,
// replayed as AsOf does).
func (s *Service) replay(ctx context.Context, tx storage.Tx, t time.Time) (map[itil.ID]*CI, map[itil.ID]*Relationship, error) {
	hist := map[itil.ID][]itil.HistoryEntry{}
	rels := map[itil.ID]*Relationship{}
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{Kinds: []string{KindCI, KindRelationship}}) {
		if err != nil {
			return nil, nil, err
		}
		if ev.Time.After(t) {
			continue
		}
		var p itil.Payload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, nil, fmt.Errorf("cmdb: journal event %d: %w", ev.Seq, err)
		}
		switch ev.Kind {
		case KindRelationship:
			switch {
			case p.Deleted:
				delete(rels, ev.SubjectID)
			case p.Created != nil:
				r := new(Relationship)
				if err := json.Unmarshal(p.Created, r); err != nil {
					return nil, nil, fmt.Errorf("cmdb: journal event %d: %w", ev.Seq, err)
				}
				rels[ev.SubjectID] = r
			}
		case KindCI:
			hist[ev.SubjectID] = append(hist[ev.SubjectID], itil.HistoryEntry{Seq: ev.Seq, Kind: ev.Kind,
				SubjectID: ev.SubjectID, Version: ev.SubjectVersion, Time: ev.Time, Actor: ev.Actor, Type: ev.Type, Payload: p})
		}
	}
	cisThen := make(map[itil.ID]*CI, len(hist))
	for id, h := range hist {
		c, err := replayCI(id, h, t)
		switch {
		case isNotFound(err): // deleted by then
		case err != nil:
			return nil, nil, err
		default:
			cisThen[id] = c
		}
	}
	return cisThen, rels, nil
}

// ServiceStatus is how a business service is running after Propagate:
// its operational status, not a lifecycle position (that is its State).
type ServiceStatus string

// Service statuses.
const (
	StatusOperational ServiceStatus = "operational"
	StatusDegraded    ServiceStatus = "degraded"
	StatusDown        ServiceStatus = "down"
)

const (
	stOK uint8 = iota
	stDegraded
	stDown
)

// Propagate works out the state of every business service (class
// business_service or a descendant) when the CIs in down have failed and
// those in degraded run degraded.
//
// A CI is down when it is listed in down, or a CI whose failure affects it
// (along relationship types' propagation, as in an Upstream Impact) is
// down; a cluster fails through its members only when fewer than its
// required members remain up (see ImpactOptions), and is degraded when
// some are down but enough remain. A CI not down is degraded when it is
// listed in degraded or a CI whose failure would affect it is down or
// degraded. Every other business service is operational.
//
// Like Impact, it walks the index caught up with the journal; bound to a
// caller's transaction (In), a graph of that transaction's relationships.
//
// A listed CI that does not exist gives an error wrapping
// itil.ErrNotFound; a nil ID a *itil.ValidationError naming it
// (down[i], degraded[i]).
func (s *Service) Propagate(ctx context.Context, downIDs, degradedIDs []itil.ID) (map[itil.ID]ServiceStatus, error) {
	var v itil.ValidationError
	for i, id := range downIDs {
		if id == itil.NilID {
			v.Add(fmt.Sprintf("down[%d]", i), "is required")
		}
	}
	for i, id := range degradedIDs {
		if id == itil.NilID {
			v.Add(fmt.Sprintf("degraded[%d]", i), "is required")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := map[itil.ID]ServiceStatus{}
	err := s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		clear(out)
		get := func(id itil.ID) (*CI, error) { return cis.Get(ctx, tx, id) }
		for _, id := range slices.Concat(downIDs, degradedIDs) {
			if _, err := get(id); err != nil {
				return err
			}
		}
		var services []itil.ID
		for _, class := range s.cfg.classes.order {
			if !s.cfg.classes.IsA(class, ClassBusinessService) {
				continue
			}
			for c, err := range cis.Query(ctx, tx, storage.Query{Terms: []string{storage.Term("class", class)}}) {
				if err != nil {
					return err
				}
				services = append(services, c.ID)
			}
		}
		var ix *adjIndex
		var err error
		if s.ci.Bound() {
			// The transaction's own view: a throwaway index of it,
			// never caught up (so no journal position).
			ix, err = s.buildIndex(ctx, tx, 0)
		} else {
			ix, err = s.index(ctx, tx)
		}
		if err != nil {
			return err
		}
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		st, err := ix.propagate(s, downIDs, degradedIDs, needFunc(get, func(v int32) itil.ID { return ix.ids[v] }))
		if err != nil {
			return err
		}
		for _, id := range services {
			state := stOK
			if u, ok := ix.node(id); ok {
				state = st[u]
			} else if slices.Contains(downIDs, id) {
				state = stDown
			} else if slices.Contains(degradedIDs, id) {
				state = stDegraded
			}
			out[id] = [...]ServiceStatus{StatusOperational, StatusDegraded, StatusDown}[state]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// propagate returns the state of every node. The caller holds mu.
func (ix *adjIndex) propagate(s *Service, downIDs, degradedIDs []itil.ID, need func(int32, int) (int, error)) ([]uint8, error) {
	sp, _ := s.spec(itil.ID{1}, ImpactOptions{})
	st := make([]uint8, len(ix.ids))
	var q []int32
	for _, id := range downIDs {
		if u, ok := ix.node(id); ok && st[u] != stDown {
			st[u] = stDown
			q = append(q, u)
		}
	}
	var m, mc marks
	clusters := map[int32]*clusterState{}
	for i := 0; i < len(q); i++ {
		u := q[i]
		nb, tb := ix.neighbors(up, u, &m)
		last := int32(-1)
		for j, v := range nb {
			if st[v] == stDown {
				continue
			}
			if sp.flags[tb[j]]&fMember != 0 {
				if v == last {
					continue
				}
				last = v
				cs := clusters[v]
				if cs == nil {
					members := countMembers(ix, down, v, &sp.flags, &mc)
					n, err := need(v, members)
					if err != nil {
						return nil, err
					}
					cs = &clusterState{slack: members - min(max(n, 0), members)}
					clusters[v] = cs
				}
				if cs.down++; cs.down <= cs.slack {
					continue
				}
			}
			st[v] = stDown
			q = append(q, v)
		}
	}
	for _, id := range degradedIDs {
		if u, ok := ix.node(id); ok && st[u] == stOK {
			st[u] = stDegraded
			q = append(q, u)
		}
	}
	for i := 0; i < len(q); i++ {
		nb, _ := ix.neighbors(up, q[i], &m)
		for _, v := range nb {
			if st[v] == stOK {
				st[v] = stDegraded
				q = append(q, v)
			}
		}
	}
	return st, nil
}
