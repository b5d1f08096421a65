package cmdb

import (
	"context"
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// adjIndex is the in-memory adjacency index impact analysis walks: the
// relationships whose type propagates impact, held as two compressed
// sparse row (CSR) arrays over dense int32 node numbers, one in the
// direction failures travel (up: the CIs a node's failure affects) and
// one against it (down: the CIs a node depends on), each edge a neighbour
// and a type byte.
//
// The arrays are built once from storage (on first use) and are not
// changed afterwards; relationship changes are read from the journal
// (every Service's, see catchUp) into a small overlay of added edges and
// tombstones of removed ones, which is folded into new arrays once it
// grows past an eighth of the graph. A Service owns its index.
type adjIndex struct {
	mu sync.RWMutex
	// pos is the journal position the index reflects: every relationship
	// event up to it is applied.
	pos   atomic.Int64
	types *relTypes
	prop  [256]Propagation // by type number

	// ids maps dense node numbers to CI IDs. ids[:nBase] is sorted, so a
	// node number of the arrays orders like its ID; nodes first seen after
	// the build are appended and found through extra.
	ids   []itil.ID
	nBase int
	extra map[itil.ID]int32
	g     [2]csr // [up, down]

	dirty []uint64 // bit per node: it has overlay entries
	// member has a bit per base node whose up row holds a relationship of
	// a membership type: the rows a walk that follows every type can
	// read without their type bytes are the others.
	member []uint64
	over   map[int32]*nodeOverlay
	nOver  int // overlay entries (adds plus tombstones), per edge
	nEdges int // live edges

	// free holds mark sets between queries. Unlike a sync.Pool it is not
	// emptied by the garbage collector, which would make every query
	// after a collection allocate and zero arrays the size of the graph.
	free chan *marks
}

const (
	up   = 0 // along propagation: who is affected when u fails
	down = 1 // against it: what u depends on
)

// csr is one direction of the graph: the neighbours of node u are
// nbr[off[u]:off[u+1]] with relationship type numbers typ[...], sorted by
// (neighbour, type).
type csr struct {
	off []int32
	nbr []int32
	typ []uint8
}

// nodeOverlay holds, per direction, edges added since the build and
// tombstones of removed base edges, each sorted by (neighbour ID, type).
type nodeOverlay struct {
	add [2][]half
	del [2][]half
}

type half struct {
	nbr int32
	typ uint8
}

// cmpID orders IDs bytewise.
func cmpID(a, b itil.ID) int {
	x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if x == y {
		x, y = binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// indexBuilder collects relationships and builds an adjIndex. Building from
// storage and the benchmarks' generated estates go through it alike.
type indexBuilder struct {
	types *relTypes
	dense map[itil.ID]int32
	ids   []itil.ID
	a, b  []int32 // a's failure affects b
	t     []uint8
}

func newIndexBuilder(types *relTypes, sizeHint int) *indexBuilder {
	return &indexBuilder{types: types, dense: make(map[itil.ID]int32, sizeHint)}
}

func (bd *indexBuilder) node(id itil.ID) int32 {
	n, ok := bd.dense[id]
	if !ok {
		n = int32(len(bd.ids))
		bd.dense[id] = n
		bd.ids = append(bd.ids, id)
	}
	return n
}

// add records a relationship; a type the Service does not know, or one
// that propagates nothing, is left out.
func (bd *indexBuilder) add(typ string, parent, child itil.ID) {
	if ti, ok := bd.types.byName[typ]; ok {
		bd.addType(uint8(ti), parent, child)
	}
}

func (bd *indexBuilder) addType(ti uint8, parent, child itil.ID) {
	var from, to itil.ID
	switch bd.types.list[ti].Propagation {
	case ChildToParent:
		from, to = child, parent
	case ParentToChild:
		from, to = parent, child
	default:
		return
	}
	bd.a = append(bd.a, bd.node(from))
	bd.b = append(bd.b, bd.node(to))
	bd.t = append(bd.t, ti)
}

// build numbers the nodes in ID order and fills both directions. Each
// node's neighbours come out sorted by (neighbour, type) without a sort:
// grouping by source in source order fills the down arrays in order, and
// reading those in order fills the up arrays in order.
func (bd *indexBuilder) build() *adjIndex {
	n := len(bd.ids)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return cmpID(bd.ids[x], bd.ids[y]) })
	rank := make([]int32, n)
	ids := make([]itil.ID, n)
	for r, old := range order {
		rank[old] = int32(r)
		ids[r] = bd.ids[old]
	}
	bd.dense, bd.ids = nil, nil
	for i := range bd.a {
		bd.a[i], bd.b[i] = rank[bd.a[i]], rank[bd.b[i]]
	}
	ix := &adjIndex{types: bd.types, ids: ids, nBase: n, extra: map[itil.ID]int32{},
		over: map[int32]*nodeOverlay{}, nEdges: len(bd.a), free: make(chan *marks, runtime.GOMAXPROCS(0))}
	for i, t := range bd.types.list {
		ix.prop[i] = t.Propagation
	}
	ix.dirty = make([]uint64, (n+63)/64)
	// tmp: grouped by a in input order (b, t).
	tmp := group(n, bd.a, bd.b, bd.t)
	bd.a, bd.b, bd.t = nil, nil, nil
	// down: grouped by b, in a order (then type order within tmp rows).
	ix.g[down] = regroup(n, &tmp)
	// up: grouped by a, in b order; reuses tmp's arrays.
	ix.g[up] = regroupInto(n, &ix.g[down], tmp)
	for d := range ix.g {
		fixTypeOrder(&ix.g[d])
	}
	ix.member = make([]uint64, (n+63)/64)
	c := &ix.g[up]
	for u := range n {
		for _, t := range c.typ[c.off[u]:c.off[u+1]] {
			if bd.types.list[t].Membership {
				ix.member[u>>6] |= 1 << (u & 63)
				break
			}
		}
	}
	return ix
}

// typeOf returns the type of the first edge u→v of u's base row in
// direction d: the one a walk following every type reaches v by.
func (ix *adjIndex) typeOf(d int, u, v int32) uint8 {
	c := &ix.g[d]
	lo, hi := c.off[u], c.off[u+1]
	i, _ := slices.BinarySearch(c.nbr[lo:hi], v)
	return c.typ[int(lo)+i]
}

// group returns the CSR of edges src→dst in input order.
func group(n int, src, dst []int32, typ []uint8) csr {
	off := make([]int32, n+1)
	for _, a := range src {
		off[a+1]++
	}
	for i := range n {
		off[i+1] += off[i]
	}
	next := slices.Clone(off[:n])
	nbr := make([]int32, len(src))
	ty := make([]uint8, len(src))
	for i, a := range src {
		p := next[a]
		next[a]++
		nbr[p], ty[p] = dst[i], typ[i]
	}
	return csr{off: off, nbr: nbr, typ: ty}
}

// regroup returns the reverse of c: for every edge u→v of c, v→u, with
// each row in u order.
func regroup(n int, c *csr) csr {
	off := make([]int32, n+1)
	for _, v := range c.nbr {
		off[v+1]++
	}
	for i := range n {
		off[i+1] += off[i]
	}
	return regroupInto(n, c, csr{off: off, nbr: make([]int32, len(c.nbr)), typ: make([]uint8, len(c.typ))})
}

// regroupInto fills dst, whose offsets must already be those of the
// reverse of c, with the reverse of c.
func regroupInto(n int, c *csr, dst csr) csr {
	next := slices.Clone(dst.off[:n])
	for u := range n {
		for p := c.off[u]; p < c.off[u+1]; p++ {
			v := c.nbr[p]
			q := next[v]
			next[v]++
			dst.nbr[q], dst.typ[q] = int32(u), c.typ[p]
		}
	}
	return dst
}

// fixTypeOrder sorts runs of the same neighbour by type (a pair of CIs
// joined by relationships of several types).
func fixTypeOrder(c *csr) {
	for u := 0; u+1 < len(c.off); u++ {
		lo := int(c.off[u])
		for i := lo + 1; i < int(c.off[u+1]); i++ {
			for j := i; j > lo && c.nbr[j] == c.nbr[j-1] && c.typ[j] < c.typ[j-1]; j-- {
				c.typ[j], c.typ[j-1] = c.typ[j-1], c.typ[j]
			}
		}
	}
}

// buildIndex reads every relationship from storage and builds the index
// at the journal position pos that tx sees. The position is read first: a
// relationship committed after it is then both in the build (perhaps)
// and in the catch-up's events, which apply idempotently; one committed
// before it is in the build.
func (s *Service) buildIndex(ctx context.Context, tx storage.Tx, pos int64) (*adjIndex, error) {
	bd := newIndexBuilder(s.types, 0)
	for r, err := range relationships.Query(ctx, tx, storage.Query{}) {
		if err != nil {
			return nil, err
		}
		bd.add(r.Type, r.Parent, r.Child)
	}
	ix := bd.build()
	ix.pos.Store(pos)
	return ix, nil
}

// index returns the Service's index, built on first use, caught up with
// the journal as tx sees it. Every relationship change reaches the index
// this way, whichever Service (in this process or another) made it, and
// only once its transaction committed.
func (s *Service) index(ctx context.Context, tx storage.Tx) (*adjIndex, error) {
	return s.idx.Get(ctx, tx, func(head int64) (*adjIndex, error) { return s.buildIndex(ctx, tx, head) },
		func(ix *adjIndex, head int64) error { return ix.catchUp(ctx, tx, head) })
}

// relationshipKinds selects the events catch-up reads.
var relationshipKinds = []string{KindRelationship}

// catchUp applies the relationship events committed after the index's
// journal position, up to at least last (the head tx saw), and advances
// it. When nothing was committed since, it costs nothing. The head bounds what the journal
// read must cover, so the position moves past other kinds of events too
// (CI updates, other processes' events) and they are never read again.
// Several queries may catch up at once: each applies, under the index's
// lock, only the events past the position it finds there, in order.
func (ix *adjIndex) catchUp(ctx context.Context, tx storage.Tx, last int64) error {
	from := ix.pos.Load()
	if last <= from {
		return nil
	}
	return ix.readSince(ctx, tx, from, last)
}

// readSince reads the relationship events after from (LastSeq said last:
// the transaction sees at least the events up to it, so the journal read
// does too) and applies them. It is apart from catchUp so that the
// common path, nothing new, allocates nothing.
func (ix *adjIndex) readSince(ctx context.Context, tx storage.Tx, from, last int64) error {
	var evs []itil.Event
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: from, Kinds: relationshipKinds}) {
		if err != nil {
			return err
		}
		evs = append(evs, ev)
		last = max(last, ev.Seq)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	at := ix.pos.Load()
	for i := range evs {
		if evs[i].Seq > at {
			ix.apply(&evs[i])
		}
	}
	if last > at {
		ix.pos.Store(last)
	}
	ix.maybeCompact()
	return nil
}

// apply changes the index by one relationship event: EventRelated adds
// the edge, EventUnrelated removes it, each idempotently. The event's
// refs are the relationship's parent and child, and its type is the one
// whose derived ID (relationshipID) is the event's subject, so no payload
// is decoded; a type the Service does not know matches none and is left
// out, as the build leaves it out. The caller holds mu for writing.
func (ix *adjIndex) apply(ev *itil.Event) {
	add := ev.Type == EventRelated
	if (!add && ev.Type != EventUnrelated) || len(ev.Refs) != 2 {
		return
	}
	parent, child := ev.Refs[0], ev.Refs[1]
	for _, t := range ix.types.list {
		if t.Propagation != None && relationshipID(t.Name, parent, child) == ev.SubjectID {
			ix.change(t.Name, parent, child, add)
			return
		}
	}
}

// node returns the node number of a CI; ok is false when the index has
// no edge of it. The caller holds mu.
func (ix *adjIndex) node(id itil.ID) (int32, bool) {
	i, ok := slices.BinarySearchFunc(ix.ids[:ix.nBase], id, cmpID)
	if ok {
		return int32(i), true
	}
	u, ok := ix.extra[id]
	return u, ok
}

func (ix *adjIndex) nodeOrAdd(id itil.ID) int32 {
	if u, ok := ix.node(id); ok {
		return u
	}
	u := int32(len(ix.ids))
	ix.ids = append(ix.ids, id)
	ix.extra[id] = u
	if need := (len(ix.ids) + 63) / 64; need > len(ix.dirty) {
		ix.dirty = append(ix.dirty, make([]uint64, need-len(ix.dirty))...)
	}
	return u
}

func (ix *adjIndex) cmpHalf(x, y half) int {
	if x.nbr == y.nbr {
		return int(x.typ) - int(y.typ)
	}
	if int(x.nbr) < ix.nBase && int(y.nbr) < ix.nBase {
		return int(x.nbr) - int(y.nbr) // base numbers order like IDs
	}
	if c := cmpID(ix.ids[x.nbr], ix.ids[y.nbr]); c != 0 {
		return c
	}
	return int(x.typ) - int(y.typ)
}

// inBase reports whether the arrays hold edge u→h in direction d.
func (ix *adjIndex) inBase(d int, u int32, h half) bool {
	if int(u) >= ix.nBase || int(h.nbr) >= ix.nBase {
		return false
	}
	c := &ix.g[d]
	lo, hi := int(c.off[u]), int(c.off[u+1])
	i, _ := slices.BinarySearch(c.nbr[lo:hi], h.nbr)
	for p := lo + i; p < hi && c.nbr[p] == h.nbr; p++ {
		if c.typ[p] == h.typ {
			return true
		}
	}
	return false
}

func (ix *adjIndex) overlayOf(u int32) *nodeOverlay {
	o := ix.over[u]
	if o == nil {
		o = &nodeOverlay{}
		ix.over[u] = o
		ix.dirty[u>>6] |= 1 << (u & 63)
	}
	return o
}

// sortedInsert and sortedDelete keep a half list sorted; they report
// whether they changed it.
func (ix *adjIndex) sortedInsert(l *[]half, h half) bool {
	i, found := slices.BinarySearchFunc(*l, h, ix.cmpHalf)
	if found {
		return false
	}
	*l = slices.Insert(*l, i, h)
	return true
}

func (ix *adjIndex) sortedDelete(l *[]half, h half) bool {
	i, found := slices.BinarySearchFunc(*l, h, ix.cmpHalf)
	if !found {
		return false
	}
	*l = slices.Delete(*l, i, i+1)
	return true
}

// change adds or removes one relationship; adding a present edge or
// removing an absent one does nothing. The caller holds mu for writing.
func (ix *adjIndex) change(typ string, parent, child itil.ID, add bool) {
	ti, ok := ix.types.byName[typ]
	if !ok {
		return
	}
	var from, to itil.ID
	switch ix.prop[ti] {
	case ChildToParent:
		from, to = child, parent
	case ParentToChild:
		from, to = parent, child
	default:
		return
	}
	var a, b int32
	if add {
		a, b = ix.nodeOrAdd(from), ix.nodeOrAdd(to)
	} else {
		var okA, okB bool
		if a, okA = ix.node(from); !okA {
			return
		}
		if b, okB = ix.node(to); !okB {
			return
		}
	}
	ha, hb := half{b, uint8(ti)}, half{a, uint8(ti)} // in a's up row, in b's down row
	base := ix.inBase(up, a, ha)
	switch {
	case add && base: // present unless tombstoned
		if oa, ob := ix.over[a], ix.over[b]; oa != nil && ob != nil && ix.sortedDelete(&oa.del[up], ha) {
			ix.sortedDelete(&ob.del[down], hb)
			ix.nOver--
			ix.nEdges++
		}
	case add:
		if ix.sortedInsert(&ix.overlayOf(a).add[up], ha) {
			ix.sortedInsert(&ix.overlayOf(b).add[down], hb)
			ix.nOver++
			ix.nEdges++
		}
	case base:
		if ix.sortedInsert(&ix.overlayOf(a).del[up], ha) {
			ix.sortedInsert(&ix.overlayOf(b).del[down], hb)
			ix.nOver++
			ix.nEdges--
		}
	default:
		if oa, ob := ix.over[a], ix.over[b]; oa != nil && ob != nil && ix.sortedDelete(&oa.add[up], ha) {
			ix.sortedDelete(&ob.add[down], hb)
			ix.nOver--
			ix.nEdges--
		}
	}
}

// compactMin is the overlay size below which the index never compacts
// (tests lower it).
var compactMin = 1024

// maybeCompact folds the overlay into new arrays once it holds more than
// an eighth of the edges (and at least 1024), so a query pays for merged
// rows only on a few nodes and the rebuild's cost is spread over many
// changes.
func (ix *adjIndex) maybeCompact() {
	if ix.nOver <= compactMin || ix.nOver <= ix.nEdges/8 {
		return
	}
	nix := ix.folded()
	ix.ids, ix.nBase, ix.extra, ix.g = nix.ids, nix.nBase, nix.extra, nix.g
	ix.dirty, ix.member, ix.over, ix.nOver, ix.nEdges = nix.dirty, nix.member, nix.over, 0, nix.nEdges
	for len(ix.free) > 0 { // sized for the old graph
		<-ix.free
	}
}

// folded builds the index again from its live edges, the overlay folded
// in and every node in ID order: what compaction installs, and what
// DependencyGraph reads when the index has an overlay.
func (ix *adjIndex) folded() *adjIndex {
	bd := newIndexBuilder(ix.types, len(ix.ids))
	ix.eachEdge(func(from, to itil.ID, ti uint8) {
		if ix.prop[ti] == ChildToParent {
			bd.addType(ti, to, from)
		} else {
			bd.addType(ti, from, to)
		}
	})
	return bd.build()
}

// eachEdge calls fn with every live edge: from's failure affects to.
func (ix *adjIndex) eachEdge(fn func(from, to itil.ID, ti uint8)) {
	var m marks
	for u := range int32(len(ix.ids)) {
		nb, tb := ix.neighbors(up, u, &m)
		for j, v := range nb {
			fn(ix.ids[u], ix.ids[v], tb[j])
		}
	}
}

// neighbors returns u's row in direction d, merging the overlay (into
// m's buffers) when u has one. The caller holds mu.
func (ix *adjIndex) neighbors(d int, u int32, m *marks) ([]int32, []uint8) {
	var bn []int32
	var bt []uint8
	if int(u) < ix.nBase {
		c := &ix.g[d]
		lo, hi := c.off[u], c.off[u+1]
		bn, bt = c.nbr[lo:hi], c.typ[lo:hi]
	}
	if ix.dirty[u>>6]&(1<<(u&63)) == 0 {
		return bn, bt
	}
	o := ix.over[u]
	add, del := o.add[d], o.del[d]
	nb, tb := m.nb[:0], m.tb[:0]
	i, k := 0, 0
	for i < len(bn) || k < len(add) {
		if i < len(bn) {
			h := half{bn[i], bt[i]}
			if k == len(add) || ix.cmpHalf(h, add[k]) < 0 {
				i++
				if _, gone := slices.BinarySearchFunc(del, h, ix.cmpHalf); !gone {
					nb, tb = append(nb, h.nbr), append(tb, h.typ)
				}
				continue
			}
		}
		nb, tb = append(nb, add[k].nbr), append(tb, add[k].typ)
		k++
	}
	m.nb, m.tb = nb, tb
	return nb, tb
}

// load and size make the Index a graph for walk: every row is in memory.
func (ix *adjIndex) load([]int32) error { return nil }

func (ix *adjIndex) size() int { return len(ix.ids) }

// getMarks and putMarks hand out mark sets: one per concurrent query,
// at most GOMAXPROCS kept.
func (ix *adjIndex) getMarks() *marks {
	select {
	case m := <-ix.free:
		return m
	default:
		return &marks{}
	}
}

func (ix *adjIndex) putMarks(m *marks) {
	select {
	case ix.free <- m:
	default:
	}
}

// bytes is the memory the index holds (capacities of its arrays and an
// estimate for the overlay), without per-query marks.
func (ix *adjIndex) bytes() int {
	n := cap(ix.ids)*16 + cap(ix.dirty)*8
	for _, c := range ix.g {
		n += cap(c.off)*4 + cap(c.nbr)*4 + cap(c.typ)
	}
	n += len(ix.extra)*24 + len(ix.over)*(8+8+4*24) + ix.nOver*2*8
	return n
}

// marks is one query's working memory, reused between queries: per node
// a visit word (see visit: the epoch means nothing is cleared between
// queries, and one word means one cache line touched per visit), the BFS
// queue and where each depth level starts in it.
type marks struct {
	epoch  uint64
	vis    []uint64
	queue  []int32
	levels []int32
	nb     []int32 // merge buffers for rows with an overlay
	tb     []uint8
	arr    []arrival
}

// visit packs a node's mark: the query's epoch (24 bits), the type of the
// relationship it was reached by and its parent, so one 8-byte word per
// node is all a walk writes.
func visit(epoch uint64, parent int32, typ uint8) uint64 {
	return epoch<<40 | uint64(typ)<<32 | uint64(uint32(parent))
}

const maxEpoch = 1<<24 - 1

// typeLater in a visit word stands for the type of the first edge from
// the parent's base row to the node, looked up when the path is read
// (see Index.typeOf); relationship type numbers stop at 254.
const typeLater = 255

// start begins a query on a graph of n nodes.
func (m *marks) start(n int) {
	m.ensure(n)
	m.epoch++
	if m.epoch > maxEpoch { // wrapped: stamps of 2²⁴ queries ago would match
		clear(m.vis[:cap(m.vis)])
		m.epoch = 1
	}
	m.queue, m.levels = m.queue[:0], m.levels[:0]
}

// ensure grows the per-node arrays to n nodes, keeping their contents.
func (m *marks) ensure(n int) {
	if n <= len(m.vis) {
		return
	}
	if n <= cap(m.vis) {
		m.vis = m.vis[:n]
		return
	}
	c := max(n, 2*cap(m.vis))
	vis := make([]uint64, n, c)
	// Touch every page now: memory fresh from the system is mapped on
	// first write, and a query would otherwise pay a page fault for each
	// new 4 KiB of marks it reaches (thousands over the first queries on
	// a large graph, several times the walk itself).
	clear(vis[:c])
	copy(vis, m.vis)
	m.vis = vis
}

func (m *marks) bytes() int {
	return cap(m.vis)*8 + cap(m.queue)*4 + cap(m.levels)*4
}
