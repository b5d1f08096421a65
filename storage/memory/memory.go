// Package memory is the zero-setup storage backend: everything lives in the
// process, nothing survives it. It is the default for examples and tests;
// like every backend it is held to the contract by storagetest.Run, whose
// naive map model is the reference the contract is checked against.
//
// Isolation is optimistic: a transaction buffers its writes and journal
// events, reads the committed state merged with its own writes, and at
// commit checks under the tenant's lock that every record it writes still
// has the version it read. The first transaction to commit wins; the other
// gets itil.ErrConflict. Stored data is an immutable string and terms are
// copied in and out, so no caller ever aliases what is stored.
//
// Records of a kind are indexed per term in ordered B-trees keyed by
// (sort key, ID), with term 0 standing for "every record", so term
// queries, sort-key ranges and keyset pagination are index range scans.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tidwall/btree"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/internal/merge"
	"github.com/itilkit/itil/storage/internal/termlist"
)

// Backend is an in-memory storage.Backend. The zero value is not usable;
// call New.
type Backend struct {
	mu      sync.Mutex
	tenants map[string]*tenant
	closed  atomic.Bool
}

// New returns an empty in-memory backend.
func New() *Backend {
	return &Backend{tenants: make(map[string]*tenant)}
}

// NewStore returns a store for a single default tenant, for programs that do
// not use tenancy.
func NewStore() storage.Store {
	s, _ := New().Tenant("default")
	return s
}

// Tenant returns the store of the named tenant, creating it on first use.
func (b *Backend) Tenant(name string) (storage.Store, error) {
	if err := storage.CheckName("tenant", name); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, storage.ErrClosed
	}
	t, ok := b.tenants[name]
	if !ok {
		t = newTenant(name, b)
		b.tenants[name] = t
	}
	return t, nil
}

// Close drops all data; stores of the backend return storage.ErrClosed.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed.Store(true)
	b.tenants = nil
	return nil
}

func (b *Backend) isClosed() bool { return b.closed.Load() }

// entry is a committed record. Entries are immutable: a commit replaces the
// pointer, so readers may use an entry after releasing the lock.
type entry struct {
	version int64
	data    string
	terms   []string
	sortKey string
}

// ikey is a record's place in the index of a term it has: its sort key,
// then its ID.
type ikey struct {
	sort string
	id   itil.ID
}

func lessKey(a, b ikey) bool {
	if a.sort != b.sort {
		return a.sort < b.sort
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// kindData holds the records of a kind and their index: per term, the
// keys of the records that have it, in order. Terms are interned to
// numbers, 0 standing for "every record"; per number, slices hold its
// tree, its count (to pick the most selective term of a query) and its
// path hint (records mostly arrive in sort-key order, so the next one
// lands next to where the last change did). A term only one record has
// (an incident's number) gets no tree: its key waits in single until a
// second record has the term.
type kindData struct {
	recs   map[itil.ID]*entry
	ids    map[string]uint32
	trees  []*btree.BTreeG[ikey]
	single []ikey
	counts []int32
	hints  []btree.PathHint
}

type tenant struct {
	name    string
	backend *Backend

	mu      sync.RWMutex
	kinds   map[string]*kindData
	journal journal
	// last is the journal position of each subject's latest event, an
	// event of the subject or one that refers to it; each event links to
	// the previous one of its subject and of each of its refs, so an event
	// is on several chains. A pointer-free map and no per-subject slices
	// keep the collector away from them.
	last map[itil.ID]int32

	seqMu sync.Mutex
	seqs  map[string]int64
}

func newTenant(name string, b *Backend) *tenant {
	return &tenant{name: name, backend: b, kinds: make(map[string]*kindData),
		last: make(map[itil.ID]int32), seqs: make(map[string]int64)}
}

func (t *tenant) Tenant() string { return t.name }

func (t *tenant) kind(k string) *kindData {
	kd := t.kinds[k]
	if kd == nil {
		kd = &kindData{recs: make(map[itil.ID]*entry), ids: make(map[string]uint32),
			trees: make([]*btree.BTreeG[ikey], 1), single: make([]ikey, 1), counts: make([]int32, 1), hints: make([]btree.PathHint, 1)}
		t.kinds[k] = kd
	}
	return kd
}

// RunInTx implements storage.Store.
func (t *tenant) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.backend.isClosed() {
		return storage.ErrClosed
	}
	st := txStates.Get().(*txState)
	st.writes.items, st.reads.items, st.events = st.wbuf[:0], st.rbuf[:0], st.ebuf[:0]
	x := &tx{t: t, txState: st}
	// However fn ends (error, panic, runtime.Goexit), the transaction is
	// over and nothing of it was committed; its state goes back to the
	// pool once the commit is done.
	defer x.end()
	if err := fn(ctx, x); err != nil {
		return err
	}
	x.done = true
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.commit()
}

type wkey struct {
	kind string
	id   itil.ID
}

// write is a buffered change. base is the committed entry the write was
// based on (nil: absent); e is nil for a delete. Committed entries are
// immutable and every commit stores new ones, so comparing pointers tells
// whether a record changed, even when it was deleted and created again at
// the same version.
type write struct {
	key  wkey
	base *entry
	e    *entry
}

// read is the committed entry a transaction first saw for a record.
type read struct {
	key wkey
	e   *entry
}

func (w write) k() wkey { return w.key }
func (r read) k() wkey  { return r.key }

// keyed is a transaction's list of writes or reads, found by key: by a
// linear scan while it is short (most commands touch a record or two), by
// a map once it grows.
type keyed[T interface{ k() wkey }] struct {
	items []T
	index map[wkey]int
}

func (l *keyed[T]) find(k wkey) int {
	if l.index != nil {
		if i, ok := l.index[k]; ok {
			return i
		}
		return -1
	}
	for i := range l.items {
		if l.items[i].k() == k {
			return i
		}
	}
	return -1
}

func (l *keyed[T]) add(item T) {
	l.items = append(l.items, item)
	switch {
	case l.index != nil:
		l.index[item.k()] = len(l.items) - 1
	case len(l.items) > 8:
		l.index = make(map[wkey]int, 16)
		for i := range l.items {
			l.index[l.items[i].k()] = i
		}
	}
}

// tx is a transaction. What it buffers is in a txState, taken from a
// pool and given back when the transaction ends, so that a command does
// not allocate and clear it afresh. A caller may keep the tx (and its
// iterators) beyond RunInTx: every method then reports storage.ErrTxDone
// before it uses any state.
type tx struct {
	t    *tenant
	done bool
	*txState
}

type txState struct {
	writes keyed[write]
	reads  keyed[read]
	events []itil.Event
	// Most commands touch a record or two and journal one event: start in
	// place.
	wbuf [2]write
	rbuf [2]read
	ebuf [1]itil.Event
}

var txStates = sync.Pool{New: func() any { return new(txState) }}

// end marks the transaction over and gives its state back, cleared of the
// entries and events it held.
func (x *tx) end() {
	x.done = true
	st := x.txState
	x.txState = nil
	*st = txState{}
	txStates.Put(st)
}

// find returns the index of k among the transaction's writes, or -1; a
// query iterator resumed after the transaction ended finds none, and
// reports ErrTxDone before it yields.
func (x *tx) find(k wkey) int {
	if x.txState == nil {
		return -1
	}
	return x.writes.find(k)
}

// noteRead remembers the committed entry seen for k, the first time only:
// writes and the commit are checked against what was read.
func (x *tx) noteRead(k wkey, e *entry) {
	if x.reads.find(k) < 0 {
		x.reads.add(read{k, e})
	}
}

// checkBase returns a conflict when a first write of k, based on the
// committed entry cur, would overwrite a change made since this
// transaction read the record.
func (x *tx) checkBase(k wkey, cur *entry) error {
	if i := x.reads.find(k); i >= 0 && x.reads.items[i].e != cur {
		return fmt.Errorf("%s %s: changed by a concurrent transaction since it was read: %w",
			k.kind, k.id, itil.ErrConflict)
	}
	return nil
}

func (x *tx) check(ctx context.Context) error {
	if x.done {
		return storage.ErrTxDone
	}
	if x.t.backend.isClosed() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

func (x *tx) committed(kind string, id itil.ID) *entry {
	x.t.mu.RLock()
	defer x.t.mu.RUnlock()
	return x.t.entry(wkey{kind, id})
}

// entry returns the committed entry of k, or nil; t.mu must be held.
func (t *tenant) entry(k wkey) *entry {
	if kd := t.kinds[k.kind]; kd != nil {
		return kd.recs[k.id]
	}
	return nil
}

// visible returns the record as this transaction sees it.
func (x *tx) visible(kind string, id itil.ID) (*entry, int) {
	i := x.find(wkey{kind, id})
	if i >= 0 {
		return x.writes.items[i].e, i
	}
	return x.committed(kind, id), -1
}

func toRecord(kind string, id itil.ID, e *entry) storage.Record {
	return storage.Record{Kind: kind, ID: id, Version: e.version,
		Data: e.data, Terms: slices.Clone(e.terms), SortKey: e.sortKey}
}

func (x *tx) Get(ctx context.Context, kind string, id itil.ID) (storage.Record, error) {
	if err := x.check(ctx); err != nil {
		return storage.Record{}, err
	}
	if err := storage.CheckName("kind", kind); err != nil {
		return storage.Record{}, err
	}
	e, wi := x.visible(kind, id)
	if wi < 0 {
		x.noteRead(wkey{kind, id}, e)
	}
	if e == nil {
		return storage.Record{}, fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	return toRecord(kind, id, e), nil
}

func (x *tx) Put(ctx context.Context, rec storage.Record) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	if err := storage.CheckRecord(rec); err != nil {
		return 0, err
	}
	cur, wi := x.visible(rec.Kind, rec.ID)
	var curVersion int64
	if cur != nil {
		curVersion = cur.version
	}
	if rec.Version != curVersion {
		return 0, fmt.Errorf("%s %s: version %d is stale (current %d): %w",
			rec.Kind, rec.ID, rec.Version, curVersion, itil.ErrConflict)
	}
	e := &entry{version: curVersion + 1, data: rec.Data,
		terms: termlist.Dedup(rec.Terms), sortKey: rec.SortKey}
	if wi >= 0 {
		x.writes.items[wi].e = e
		return e.version, nil
	}
	k := wkey{rec.Kind, rec.ID}
	if err := x.checkBase(k, cur); err != nil {
		return 0, err
	}
	x.writes.add(write{key: k, base: cur, e: e})
	return e.version, nil
}

func (x *tx) Delete(ctx context.Context, kind string, id itil.ID, version int64) error {
	if err := x.check(ctx); err != nil {
		return err
	}
	if err := storage.CheckRecord(storage.Record{Kind: kind, ID: id, Version: version}); err != nil {
		return err
	}
	cur, wi := x.visible(kind, id)
	if cur == nil {
		return fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	if cur.version != version {
		return fmt.Errorf("%s %s: version %d is stale (current %d): %w",
			kind, id, version, cur.version, itil.ErrConflict)
	}
	if wi >= 0 {
		x.writes.items[wi].e = nil
		return nil
	}
	k := wkey{kind, id}
	if err := x.checkBase(k, cur); err != nil {
		return err
	}
	x.writes.add(write{key: k, base: cur})
	return nil
}

func (x *tx) NextSeq(ctx context.Context, name string) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	if err := storage.CheckName("name", name); err != nil {
		return 0, err
	}
	x.t.seqMu.Lock()
	defer x.t.seqMu.Unlock()
	if x.t.seqs[name] == math.MaxInt64 {
		return 0, fmt.Errorf("memory: sequence %q is exhausted", name)
	}
	x.t.seqs[name]++
	return x.t.seqs[name], nil
}

func (x *tx) Append(ctx context.Context, ev itil.Event) error {
	if err := x.check(ctx); err != nil {
		return err
	}
	if err := storage.CheckEvent(ev); err != nil {
		return err
	}
	ev.Seq = 0
	ev.Tenant = x.t.name
	ev.Payload = bytes.Clone(ev.Payload)
	ev.Refs = slices.Clone(ev.Refs)
	x.events = append(x.events, ev)
	return nil
}

// LastSeq implements storage.Tx: the transaction's own events are
// journalled at commit, so they never count.
func (x *tx) LastSeq(ctx context.Context) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	x.t.mu.RLock()
	defer x.t.mu.RUnlock()
	return int64(x.t.journal.n), nil
}

// commit validates every write against the committed versions and applies
// writes and events atomically under the tenant's write lock.
func (x *tx) commit() error {
	if len(x.writes.items) == 0 && len(x.events) == 0 {
		return nil
	}
	t := x.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.backend.isClosed() {
		return storage.ErrClosed
	}
	for _, w := range x.writes.items {
		if t.entry(w.key) != w.base {
			return fmt.Errorf("%s %s: changed by a concurrent transaction: %w",
				w.key.kind, w.key.id, itil.ErrConflict)
		}
	}
	// What the transaction decided rests on what it read: if any of that
	// changed, the decision may no longer hold (two commands, each checking
	// a rule against the record the other one writes).
	for _, rd := range x.reads.items {
		// A record also written was checked above: its first write was
		// based on the entry read (checkBase).
		if x.writes.find(rd.key) < 0 && t.entry(rd.key) != rd.e {
			return fmt.Errorf("%s %s: read by this transaction, changed by a concurrent one: %w",
				rd.key.kind, rd.key.id, itil.ErrConflict)
		}
	}
	for _, w := range x.writes.items {
		kd := t.kind(w.key.kind)
		// The committed entry is w.base: checked above, under this lock.
		if w.e == nil {
			kd.index(w.key.id, w.base, nil)
			delete(kd.recs, w.key.id)
			continue
		}
		kd.index(w.key.id, w.base, w.e)
		kd.recs[w.key.id] = w.e
	}
	for _, ev := range x.events {
		ev.Seq = int64(t.journal.n + 1)
		prev := t.link(ev.SubjectID)
		var refPrev []int32
		if len(ev.Refs) > 0 {
			refPrev = make([]int32, len(ev.Refs))
			for i, r := range ev.Refs {
				refPrev[i] = t.link(r)
			}
		}
		t.journal.append(ev, prev, refPrev)
	}
	return nil
}

// link makes the event about to be journalled the latest of subject's
// chain and returns the position of the one before (-1: none); t.mu must
// be held for writing.
func (t *tenant) link(subject itil.ID) int32 {
	prev, ok := t.last[subject]
	if !ok {
		prev = -1
	}
	t.last[subject] = int32(t.journal.n)
	return prev
}

// index moves a record's index entries from old to new (either may be
// nil). When the sort key stays, only the terms that changed are touched:
// most updates change one or two terms of many.
func (kd *kindData) index(id itil.ID, old, new *entry) {
	if old != nil && new != nil && old.sortKey == new.sortKey {
		termlist.Diff(old.terms, new.terms,
			func(t string) { kd.remove(kd.intern(t), ikey{old.sortKey, id}) },
			func(t string) { kd.add(kd.intern(t), ikey{new.sortKey, id}) })
		return
	}
	if old != nil {
		k := ikey{old.sortKey, id}
		kd.remove(0, k)
		for _, term := range old.terms {
			kd.remove(kd.intern(term), k)
		}
	}
	if new != nil {
		k := ikey{new.sortKey, id}
		kd.add(0, k)
		for _, term := range new.terms {
			kd.add(kd.intern(term), k)
		}
	}
}

// intern returns the number of a term, assigning one on first use. Numbers
// are never released: a term that comes and goes keeps its number.
func (kd *kindData) intern(term string) uint32 {
	n, ok := kd.ids[term]
	if !ok {
		n = uint32(len(kd.counts))
		kd.ids[term] = n
		kd.trees = append(kd.trees, nil)
		kd.single = append(kd.single, ikey{})
		kd.counts = append(kd.counts, 0)
		kd.hints = append(kd.hints, btree.PathHint{})
	}
	return n
}

// add indexes k under term n.
func (kd *kindData) add(n uint32, k ikey) {
	kd.counts[n]++
	t := kd.trees[n]
	if t == nil {
		if kd.counts[n] == 1 {
			kd.single[n] = k
			return
		}
		t = btree.NewBTreeGOptions(lessKey, btree.Options{NoLocks: true})
		t.SetHint(kd.single[n], &kd.hints[n])
		kd.trees[n], kd.single[n] = t, ikey{}
	}
	t.SetHint(k, &kd.hints[n])
}

// remove drops k, which is indexed, from under term n.
func (kd *kindData) remove(n uint32, k ikey) {
	kd.counts[n]--
	if t := kd.trees[n]; t != nil {
		t.DeleteHint(k, &kd.hints[n])
		return
	}
	kd.single[n] = ikey{} // it was the term's one key
}

// ascend calls visit with the keys of term n from pivot on, in order, until
// it returns false.
func (kd *kindData) ascend(n uint32, pivot ikey, visit func(ikey) bool) {
	if t := kd.trees[n]; t != nil {
		t.Ascend(pivot, visit)
	} else if kd.counts[n] == 1 && !lessKey(kd.single[n], pivot) {
		visit(kd.single[n])
	}
}

// descend calls visit with the keys of term n up to pivot (all of them
// when pivot is nil), in reverse order, until it returns false.
func (kd *kindData) descend(n uint32, pivot *ikey, visit func(ikey) bool) {
	switch t := kd.trees[n]; {
	case t != nil && pivot == nil:
		t.Reverse(visit)
	case t != nil:
		t.Descend(*pivot, visit)
	case kd.counts[n] == 1 && (pivot == nil || !lessKey(*pivot, kd.single[n])):
		visit(kd.single[n])
	}
}

// hit is a record found by a scan.
type hit struct {
	id itil.ID
	e  *entry
}

// pos is the hit's position in query order.
func (h hit) pos() storage.Cursor { return storage.Cursor{SortKey: h.e.sortKey, ID: h.id} }

func cmpHit(a, b hit) int { return merge.Compare(a.pos(), b.pos()) }

const batchSize = 256

// scanCommitted collects up to n committed matches strictly after pos (in
// the query's direction), skipping records this transaction has written.
// It holds the read lock only while collecting, never while yielding.
func (x *tx) scanCommitted(q *storage.Query, pos *storage.Cursor, n int) []hit {
	t := x.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	kd := t.kinds[q.Kind]
	if kd == nil {
		return nil
	}
	// Scan the most selective term; check the others on the entry.
	var term uint32
	best := int32(-1)
	for _, tm := range q.Terms {
		n := kd.ids[tm]
		if n == 0 || kd.counts[n] == 0 {
			return nil
		}
		if c := kd.counts[n]; best < 0 || c < best {
			term, best = n, c
		}
	}
	var out []hit
	visit := func(k ikey) bool {
		if !q.Reverse && q.Max != "" && k.sort >= q.Max {
			return false
		}
		if q.Reverse && k.sort < q.Min {
			return false
		}
		e := kd.recs[k.id]
		h := hit{k.id, e}
		if !merge.Matches(q, h.pos(), e.terms) || (pos != nil && !merge.After(q.Reverse, h.pos(), *pos)) {
			return true
		}
		if x.find(wkey{q.Kind, k.id}) >= 0 {
			return true
		}
		out = append(out, h)
		return len(out) < n
	}
	if !q.Reverse {
		start := ikey{q.Min, itil.NilID}
		if pos != nil && pos.SortKey >= q.Min {
			start = ikey{pos.SortKey, pos.ID}
		}
		kd.ascend(term, start, visit)
	} else {
		var start *ikey
		switch {
		case pos != nil:
			start = &ikey{pos.SortKey, pos.ID}
		case q.Max != "":
			start = &ikey{q.Max, itil.NilID}
		}
		kd.descend(term, start, visit)
	}
	return out
}

// localMatches returns this transaction's own live writes matching q, in
// the query's order.
func (x *tx) localMatches(q *storage.Query) []hit {
	var out []hit
	for _, w := range x.writes.items {
		if w.key.kind != q.Kind || w.e == nil {
			continue
		}
		h := hit{w.key.id, w.e}
		if merge.Matches(q, h.pos(), w.e.terms) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, cmpHit)
	if q.Reverse {
		slices.Reverse(out)
	}
	return out
}

func (x *tx) Query(ctx context.Context, q storage.Query) iter.Seq2[storage.Record, error] {
	return func(yield func(storage.Record, error) bool) {
		if err := x.check(ctx); err != nil {
			yield(storage.Record{}, err)
			return
		}
		if err := storage.CheckQuery(q); err != nil {
			yield(storage.Record{}, err)
			return
		}
		q.Terms = termlist.Dedup(q.Terms)
		emitted := 0
		// The lock is released between batches (merge.Query handles a
		// record a concurrent commit moves past the cursor).
		page := func(pos *storage.Cursor) ([]hit, *storage.Cursor, error) {
			if q.Limit > 0 && emitted >= q.Limit {
				return nil, nil, nil // no scan for hits nobody takes
			}
			// As PostgreSQL does before each page: a transaction
			// that ended or a context that did is reported even when no
			// record follows.
			if err := x.check(ctx); err != nil {
				return nil, nil, err
			}
			batch := x.scanCommitted(&q, pos, batchSize)
			if len(batch) < batchSize {
				return batch, nil, nil
			}
			next := batch[len(batch)-1].pos()
			return batch, &next, nil
		}
		err := merge.Query(q.Reverse, q.After, x.localMatches(&q), hit.pos, page, func(h hit) bool {
			return x.emit(ctx, &q, h, &emitted, yield)
		})
		if err != nil {
			yield(storage.Record{}, err)
		}
	}
}

func (x *tx) emit(ctx context.Context, q *storage.Query, h hit, n *int, yield func(storage.Record, error) bool) bool {
	if q.Limit > 0 && *n >= q.Limit {
		return false
	}
	if err := x.check(ctx); err != nil {
		yield(storage.Record{}, err)
		return false
	}
	*n++
	x.noteCommitted(q.Kind, h)
	return yield(toRecord(q.Kind, h.id, h.e), nil)
}

// noteCommitted records a read of h unless h is one of this transaction's
// own writes.
func (x *tx) noteCommitted(kind string, h hit) {
	if k := (wkey{kind, h.id}); x.find(k) < 0 {
		x.noteRead(k, h.e)
	}
}

func (x *tx) Lookup(ctx context.Context, kind string, terms []string) iter.Seq2[storage.Record, error] {
	return func(yield func(storage.Record, error) bool) {
		if err := x.check(ctx); err != nil {
			yield(storage.Record{}, err)
			return
		}
		if err := storage.CheckLookup(kind, terms); err != nil {
			yield(storage.Record{}, err)
			return
		}
		terms = termlist.Dedup(terms)
		var hits []hit
		seen := make(map[itil.ID]bool)
		x.t.mu.RLock()
		if kd := x.t.kinds[kind]; kd != nil {
			for _, t := range terms {
				term := kd.ids[t]
				if term == 0 {
					continue
				}
				kd.ascend(term, ikey{}, func(k ikey) bool {
					if !seen[k.id] && x.find(wkey{kind, k.id}) < 0 {
						seen[k.id] = true
						hits = append(hits, hit{k.id, kd.recs[k.id]})
					}
					return true
				})
			}
		}
		x.t.mu.RUnlock()
		for _, w := range x.writes.items {
			if w.key.kind != kind || w.e == nil {
				continue
			}
			if termlist.Any(w.e.terms, terms) {
				hits = append(hits, hit{w.key.id, w.e})
			}
		}
		slices.SortFunc(hits, cmpHit)
		for _, h := range hits {
			if err := x.check(ctx); err != nil {
				yield(storage.Record{}, err)
				return
			}
			x.noteCommitted(kind, h)
			if !yield(toRecord(kind, h.id, h.e), nil) {
				return
			}
		}
	}
}

func (x *tx) Journal(ctx context.Context, q storage.JournalQuery) iter.Seq2[itil.Event, error] {
	return func(yield func(itil.Event, error) bool) {
		merge.Journal(q, batchSize, func() error { return x.check(ctx) }, func(after int64, n int) ([]itil.Event, error) {
			batch := x.t.readJournal(after, &q, n)
			for i := range batch {
				batch[i].Payload = bytes.Clone(batch[i].Payload)
				batch[i].Refs = slices.Clone(batch[i].Refs)
			}
			return batch, nil
		}, yield)
	}
}

// readJournal returns up to n committed events of q after the given seq.
// A query by subject follows the subject's chain, which holds its own
// events and those that refer to it; a Kinds filter is checked on each
// event.
func (t *tenant) readJournal(after int64, q *storage.JournalQuery, n int) []itil.Event {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []itil.Event
	kindOK := func(ev *itil.Event) bool { return len(q.Kinds) == 0 || slices.Contains(q.Kinds, ev.Kind) }
	subject := q.SubjectID
	if subject == itil.NilID {
		for i := int(after); i < t.journal.n && len(out) < n; i++ {
			if ev := t.journal.at(i); kindOK(ev) {
				out = append(out, *ev)
			}
		}
		return out
	}
	// Walk the subject's chain back to the cursor, then serve it forwards.
	pos, ok := t.last[subject]
	var chain []int32
	for ok && int64(pos) >= after {
		e := t.journal.entry(int(pos))
		if kindOK(&e.ev) {
			chain = append(chain, pos)
		}
		pos = e.prevOf(subject)
		ok = pos >= 0
	}
	for i := len(chain) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, *t.journal.at(int(chain[i])))
	}
	return out
}

// journal is append-only storage in fixed blocks, so appending never copies
// what is already there; journal.at(i).Seq == i+1.
type journal struct {
	blocks [][]journalEntry
	n      int
}

// journalEntry is an event and the position of the previous event on
// each chain it is on (-1 for none): prev on its subject's, refPrev[i] on
// the chain of ev.Refs[i].
type journalEntry struct {
	ev      itil.Event
	prev    int32
	refPrev []int32
}

// prevOf returns the position of the event before this one on subject's
// chain; subject is the event's subject or one of its refs.
func (e *journalEntry) prevOf(subject itil.ID) int32 {
	if e.ev.SubjectID == subject {
		return e.prev
	}
	return e.refPrev[slices.Index(e.ev.Refs, subject)]
}

const journalBlock = 128 // blocks stay small objects: no page-sized zeroing on the commit path

func (j *journal) append(ev itil.Event, prev int32, refPrev []int32) {
	if j.n%journalBlock == 0 {
		j.blocks = append(j.blocks, make([]journalEntry, 0, journalBlock))
	}
	last := &j.blocks[len(j.blocks)-1]
	*last = append(*last, journalEntry{ev, prev, refPrev})
	j.n++
}

func (j *journal) entry(i int) *journalEntry { return &j.blocks[i/journalBlock][i%journalBlock] }

func (j *journal) at(i int) *itil.Event { return &j.entry(i).ev }
