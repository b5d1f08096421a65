package storagetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// The model-based test draws from small pools so that records collide,
// versions go stale, terms overlap and sort keys tie.
var (
	modelKinds = []string{kindA, kindB}
	modelIDs   = func() []itil.ID {
		ids := make([]itil.ID, 8)
		for i := range ids {
			ids[i] = testID(100 + i)
		}
		return ids
	}()
	modelTerms    = []string{"s=a", "s=b", "p=1", "p=2"}
	lookupTerms   = append(slices.Clone(modelTerms), "x=none")
	modelSortKeys = []string{"", "a", "b", "c"}
	modelBounds   = []string{"", "a", "b", "bb", "c", "d"}
	modelSeqNames = []string{"incident", "problem"}
	modelTypes    = []string{"created", "updated"}
	// modelJournalKinds are what journal queries filter by: the kinds
	// events have, and one no event has.
	modelJournalKinds = append(slices.Clone(modelKinds), "change")
)

// modelRecord is a record as the model keeps it.
type modelRecord struct {
	version int64
	sortKey string
	data    string
	terms   []string // a set, as termSet returns it; never modified
}

// model is a deliberately naive model of one tenant's store: maps and
// slices, answered by filtering and sorting everything.
type model struct {
	tenant  string
	recs    map[string]map[itil.ID]modelRecord
	events  []itil.Event // committed, with the Seq the backend assigned
	pending []itil.Event // appended by the open transaction
	// touched holds the records the open transaction read or wrote; a
	// create of another one may be checked only at commit (see Tx.Put),
	// and doomed says one was, wrongly, so the commit must fail.
	touched map[string]bool
	doomed  bool
	// seqs holds the last value of each sequence. A model and its clones
	// share it: sequences ignore rollbacks.
	seqs map[string]int64
}

func newModel(tenant string) *model {
	return &model{tenant: tenant, recs: make(map[string]map[itil.ID]modelRecord), seqs: make(map[string]int64)}
}

func (m *model) clone() *model {
	c := &model{tenant: m.tenant, recs: make(map[string]map[itil.ID]modelRecord, len(m.recs)),
		events: slices.Clone(m.events), seqs: m.seqs, touched: map[string]bool{}}
	for kind, recs := range m.recs {
		c.recs[kind] = maps.Clone(recs)
	}
	return c
}

func (m *model) get(kind string, id itil.ID) (modelRecord, bool) {
	r, ok := m.recs[kind][id]
	return r, ok
}

func (m *model) set(kind string, id itil.ID, r modelRecord) {
	if m.recs[kind] == nil {
		m.recs[kind] = make(map[itil.ID]modelRecord)
	}
	m.recs[kind][id] = r
}

func (m *model) remove(kind string, id itil.ID) { delete(m.recs[kind], id) }

func (m *model) touch(kind string, id itil.ID) { m.touched[kind+" "+id.String()] = true }

func (m *model) wasTouched(kind string, id itil.ID) bool { return m.touched[kind+" "+id.String()] }

func (m *model) row(kind string, id itil.ID, r modelRecord) row {
	return row{Kind: kind, ID: id, Version: r.version, SortKey: r.sortKey, Data: r.data, Terms: r.terms}
}

// matching returns the rows of kind that keep accepts, in query order.
func (m *model) matching(kind string, keep func(modelRecord) bool) []row {
	var out []row
	for id, r := range m.recs[kind] {
		if keep(r) {
			out = append(out, m.row(kind, id, r))
		}
	}
	slices.SortFunc(out, compareRows)
	return out
}

func (m *model) query(q storage.Query) []row {
	out := m.matching(q.Kind, func(r modelRecord) bool {
		if r.sortKey < q.Min || (q.Max != "" && r.sortKey >= q.Max) {
			return false
		}
		for _, term := range q.Terms {
			if !slices.Contains(r.terms, term) {
				return false
			}
		}
		return true
	})
	if q.Reverse {
		slices.Reverse(out)
	}
	if q.After != nil {
		after := row{SortKey: q.After.SortKey, ID: q.After.ID}
		out = slices.DeleteFunc(out, func(r row) bool {
			if q.Reverse {
				return compareRows(r, after) >= 0
			}
			return compareRows(r, after) <= 0
		})
	}
	if len(out) == 0 {
		return nil // as rowsOf returns none
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func (m *model) lookup(kind string, terms []string) []row {
	return m.matching(kind, func(r modelRecord) bool {
		return slices.ContainsFunc(terms, func(term string) bool { return slices.Contains(r.terms, term) })
	})
}

func (m *model) journal(q storage.JournalQuery) []evRow {
	var out []evRow
	for _, ev := range m.events {
		if ev.Seq > q.After &&
			(q.SubjectID == itil.NilID || ev.SubjectID == q.SubjectID || slices.Contains(ev.Refs, q.SubjectID)) &&
			(len(q.Kinds) == 0 || slices.Contains(q.Kinds, ev.Kind)) &&
			(q.Limit == 0 || len(out) < q.Limit) {
			out = append(out, evRowOf(ev))
		}
	}
	return out
}

func (m *model) lastSeq() int64 {
	if len(m.events) == 0 {
		return 0
	}
	return m.events[len(m.events)-1].Seq
}

// modelOp performs one random operation in tx and checks its result
// against m, the model of what tx sees, which it updates.
type modelOp func(t *rapid.T, ctx context.Context, tx storage.Tx, m *model)

var modelOps = map[string]modelOp{
	"put":       opPut,
	"delete":    opDelete,
	"get":       opGet,
	"query":     opQuery,
	"lookup":    opLookup,
	"append":    opAppend,
	"appendBad": opAppendBad,
	"journal":   opJournal,
	"lastSeq":   opLastSeq,
	"nextSeq":   opNextSeq,
}

var modelOpNames = slices.Sorted(maps.Keys(modelOps))

// modelHarness drives a store and its model with the same operations.
type modelHarness struct {
	s storage.Store
	m *model
}

// testRapidModel drives two tenants of one backend with random operations
// and transactions, each against its own model, and after every step
// compares both tenants with their models.
func testRapidModel(t *testing.T, f Factory) {
	rapid.Check(t, func(rt *rapid.T) {
		b, closeBackend := newBackend(t, f)
		defer func() { require.NoError(rt, closeBackend()) }()
		var hs []*modelHarness
		for _, name := range []string{tenantA, tenantB} {
			hs = append(hs, &modelHarness{s: tenantStore(rt, b, name), m: newModel(name)})
		}
		pick := func(rt *rapid.T) *modelHarness { return hs[rapid.IntRange(0, len(hs)-1).Draw(rt, "tenant")] }
		actions := map[string]func(*rapid.T){
			"": func(rt *rapid.T) {
				for _, h := range hs {
					h.check(rt)
				}
			},
			"txCommit":   func(rt *rapid.T) { pick(rt).tx(rt, true, opSeveral) },
			"txRollback": func(rt *rapid.T) { pick(rt).tx(rt, false, opSeveral) },
		}
		for name, op := range modelOps {
			actions[name] = func(rt *rapid.T) { pick(rt).tx(rt, true, op) }
		}
		rt.Repeat(actions)
	})
}

// tx runs op in a transaction against a copy of the model; when the
// transaction commits, the copy becomes the model.
func (h *modelHarness) tx(t *rapid.T, commit bool, op modelOp) {
	m := h.m.clone()
	err := h.s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		op(t, ctx, tx, m)
		if !commit {
			return errRollback
		}
		return nil
	})
	if !commit {
		require.ErrorIs(t, err, errRollback)
		return
	}
	if m.doomed {
		require.ErrorIs(t, err, itil.ErrConflict, "a create of an existing record checked at commit")
		return
	}
	require.NoError(t, err)
	h.commit(t, m)
}

// commit makes m the model, learning the Seq the backend assigned to each
// event the transaction appended.
func (h *modelHarness) commit(t *rapid.T, m *model) {
	if len(m.pending) > 0 {
		after := h.m.lastSeq()
		got := journal(t, h.s, storage.JournalQuery{After: after})
		require.Len(t, got, len(m.pending), "events of the committed transaction")
		for i, ev := range got {
			require.Greater(t, ev.Seq, after, "Seq must increase")
			want := m.pending[i]
			want.Seq, want.Tenant = ev.Seq, m.tenant
			require.Equal(t, evRowOf(want), evRowOf(ev))
			m.events = append(m.events, want)
			after = ev.Seq
		}
		m.pending = nil
	}
	h.m = m
}

// check is the invariant: a full scan of each kind of the tenant equals the
// model, and so does the journal.
func (h *modelHarness) check(t *rapid.T) {
	inTx(t, h.s, func(ctx context.Context, tx storage.Tx) {
		for _, kind := range modelKinds {
			got := rowsOf(mustCollect(t, tx.Query(ctx, storage.Query{Kind: kind})))
			require.Equal(t, h.m.query(storage.Query{Kind: kind}), got, "every record of kind %s", kind)
		}
		require.Equal(t, h.m.journal(storage.JournalQuery{}), evRowsOf(mustCollect(t, tx.Journal(ctx, storage.JournalQuery{}))), "the journal")
	})
}

// opSeveral performs several random operations in one transaction, so that
// reads follow the transaction's own writes.
func opSeveral(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	for range rapid.IntRange(2, 6).Draw(t, "ops") {
		modelOps[rapid.SampledFrom(modelOpNames).Draw(t, "op")](t, ctx, tx, m)
	}
}

func drawKind(t *rapid.T) string { return rapid.SampledFrom(modelKinds).Draw(t, "kind") }

func drawID(t *rapid.T) itil.ID { return rapid.SampledFrom(modelIDs).Draw(t, "id") }

// drawVersion returns cur about half the time and a stale version
// otherwise.
func drawVersion(t *rapid.T, cur int64) int64 {
	if rapid.Bool().Draw(t, "currentVersion") {
		return cur
	}
	return rapid.Int64Range(0, cur+2).Filter(func(v int64) bool { return v != cur }).Draw(t, "staleVersion")
}

func opPut(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	kind, id := drawKind(t), drawID(t)
	cur, _ := m.get(kind, id)
	rec := storage.Record{Kind: kind, ID: id, Version: drawVersion(t, cur.version),
		SortKey: rapid.SampledFrom(modelSortKeys).Draw(t, "sortKey"),
		Terms:   rapid.SliceOfN(rapid.SampledFrom(modelTerms), 0, 3).Draw(t, "terms"),
		Data:    string(rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "data"))}
	v, err := tx.Put(ctx, rec)
	blind := !m.wasTouched(kind, id)
	m.touch(kind, id)
	if rec.Version != cur.version {
		if rec.Version == 0 && blind && err == nil { // checked at commit
			m.doomed = true
			m.set(kind, id, modelRecord{version: v, sortKey: rec.SortKey, data: rec.Data, terms: termSet(rec.Terms)})
			require.EqualValues(t, 1, v)
			return
		}
		require.ErrorIs(t, err, itil.ErrConflict, "Put %s %s at version %d, current %d", kind, id, rec.Version, cur.version)
		return
	}
	require.NoError(t, err, "Put %s %s", kind, id)
	require.Equal(t, cur.version+1, v)
	m.set(kind, id, modelRecord{version: v, sortKey: rec.SortKey, data: rec.Data, terms: termSet(rec.Terms)})
}

func opDelete(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	kind, id := drawKind(t), drawID(t)
	cur, ok := m.get(kind, id)
	version := drawVersion(t, cur.version)
	err := tx.Delete(ctx, kind, id, version)
	m.touch(kind, id)
	switch {
	case !ok:
		require.ErrorIs(t, err, itil.ErrNotFound, "Delete missing %s %s", kind, id)
	case version != cur.version:
		require.ErrorIs(t, err, itil.ErrConflict, "Delete %s %s at version %d, current %d", kind, id, version, cur.version)
	default:
		require.NoError(t, err, "Delete %s %s", kind, id)
		m.remove(kind, id)
	}
}

func opGet(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	kind, id := drawKind(t), drawID(t)
	got, err := tx.Get(ctx, kind, id)
	m.touch(kind, id)
	cur, ok := m.get(kind, id)
	if !ok {
		require.ErrorIs(t, err, itil.ErrNotFound, "Get %s %s", kind, id)
		return
	}
	require.NoError(t, err, "Get %s %s", kind, id)
	require.Equal(t, m.row(kind, id, cur), rowOf(got))
}

func opQuery(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	q := storage.Query{
		Kind:    drawKind(t),
		Terms:   rapid.SliceOfN(rapid.SampledFrom(modelTerms), 0, 2).Draw(t, "terms"),
		Min:     rapid.SampledFrom(modelBounds).Draw(t, "min"),
		Max:     rapid.SampledFrom(modelBounds).Draw(t, "max"),
		Reverse: rapid.Bool().Draw(t, "reverse"),
		Limit:   rapid.IntRange(0, 4).Draw(t, "limit"),
	}
	switch rapid.IntRange(0, 2).Draw(t, "after") {
	case 1: // the position of a record in the query's order, as a pager holds
		unpaged := q
		unpaged.Limit = 0
		if order := m.query(unpaged); len(order) > 0 {
			q.After = cursorOf(order[rapid.IntRange(0, len(order)-1).Draw(t, "afterIndex")])
		}
	case 2: // any position
		q.After = &storage.Cursor{SortKey: rapid.SampledFrom(modelBounds).Draw(t, "afterSortKey"), ID: drawID(t)}
	}
	got, err := collect(tx.Query(ctx, q))
	require.NoError(t, err, describeQuery(q))
	require.Equal(t, m.query(q), rowsOf(got), describeQuery(q))
	for _, r := range got {
		m.touch(r.Kind, r.ID)
	}
}

func describeQuery(q storage.Query) string {
	s := fmt.Sprintf("query %s terms %q in [%q, %q) reverse %v limit %d", q.Kind, q.Terms, q.Min, q.Max, q.Reverse, q.Limit)
	if q.After != nil {
		s += fmt.Sprintf(" after (%q, %s)", q.After.SortKey, q.After.ID)
	}
	return s
}

func opLookup(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	kind := drawKind(t)
	terms := rapid.SliceOfN(rapid.SampledFrom(lookupTerms), 0, 3).Draw(t, "terms")
	got, err := collect(tx.Lookup(ctx, kind, terms))
	require.NoError(t, err)
	require.Equal(t, m.lookup(kind, terms), rowsOf(got), "lookup %s %q", kind, terms)
	for _, r := range got {
		m.touch(r.Kind, r.ID)
	}
}

// drawEvent returns a valid event: refs drawn from the same pool as
// subjects, so that queries by subject meet both.
func drawEvent(t *rapid.T) itil.Event {
	ev := newEvent(drawID(t), rapid.SampledFrom(modelTypes).Draw(t, "type"),
		fmt.Sprintf(`{"n":%d}`, rapid.IntRange(0, 9).Draw(t, "payload")))
	ev.Kind = drawKind(t)
	refs := rapid.SliceOfNDistinct(rapid.SampledFrom(modelIDs), 0, 3, rapid.ID[itil.ID]).Draw(t, "refs")
	ev.Refs = slices.DeleteFunc(refs, func(r itil.ID) bool { return r == ev.SubjectID })
	return ev
}

func opAppend(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	ev := drawEvent(t)
	require.NoError(t, tx.Append(ctx, ev))
	m.pending = append(m.pending, ev)
}

// opAppendBad appends an event the journal's schema refuses: nothing of it
// is journalled, and the transaction goes on.
func opAppendBad(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	ev := drawEvent(t)
	var field string
	switch rapid.IntRange(0, 3).Draw(t, "flaw") {
	case 0:
		ev.Payload, field = []byte(`{"n":`), "payload"
	case 1:
		ev.Refs, field = append(ev.Refs, itil.NilID), fmt.Sprintf("refs[%d]", len(ev.Refs))
	case 2:
		ev.Refs, field = append(ev.Refs, ev.SubjectID), fmt.Sprintf("refs[%d]", len(ev.Refs))
	default:
		other := drawID(t)
		if other == ev.SubjectID {
			other = testID(99)
		}
		ev.Refs = append(slices.DeleteFunc(ev.Refs, func(r itil.ID) bool { return r == other }), other, other)
		field = fmt.Sprintf("refs[%d]", len(ev.Refs)-1)
	}
	requireValidation(t, tx.Append(ctx, ev), field)
}

func opJournal(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	q := storage.JournalQuery{
		After: rapid.Int64Range(0, m.lastSeq()+1).Draw(t, "after"),
		Limit: rapid.IntRange(0, 3).Draw(t, "limit"),
	}
	if rapid.Bool().Draw(t, "bySubject") {
		q.SubjectID = drawID(t)
	}
	if rapid.Bool().Draw(t, "byKinds") {
		q.Kinds = rapid.SliceOfN(rapid.SampledFrom(modelJournalKinds), 1, 2).Draw(t, "kinds")
	}
	got, err := collect(tx.Journal(ctx, q))
	require.NoError(t, err)
	require.Equal(t, m.journal(q), evRowsOf(got), "journal %+v", q)
}

// opLastSeq: the newest committed event, whatever the transaction has
// appended so far.
func opLastSeq(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	got, err := tx.LastSeq(ctx)
	require.NoError(t, err)
	require.Equal(t, m.lastSeq(), got, "LastSeq with %d events appended in the transaction", len(m.pending))
}

func opNextSeq(t *rapid.T, ctx context.Context, tx storage.Tx, m *model) {
	name := rapid.SampledFrom(modelSeqNames).Draw(t, "name")
	got, err := tx.NextSeq(ctx, name)
	require.NoError(t, err)
	require.Equal(t, m.seqs[name]+1, got, "NextSeq %q", name)
	m.seqs[name] = got
}
