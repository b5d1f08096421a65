package storagetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
)

// randomTerm returns a term "field=value" of exactly n bytes.
func randomTerm(r *rand.Rand, field string, n int) string {
	return storage.Term(field, testkit.RandomText(r, n-len(field)-1))
}

// largest holds a value of every limited part at its limit.
type largest struct {
	tenant, kind, seq, typ string
	terms                  []string // each MaxTerm bytes
	sortKey                string
}

func newLargest(seed uint64) largest {
	r := rand.New(rand.NewPCG(seed, 1))
	return largest{
		tenant:  testkit.RandomText(r, storage.MaxName),
		kind:    testkit.RandomText(r, storage.MaxName),
		seq:     testkit.RandomText(r, storage.MaxName),
		typ:     testkit.RandomText(r, storage.MaxName),
		terms:   []string{randomTerm(r, "a", storage.MaxTerm), randomTerm(r, "b", storage.MaxTerm)},
		sortKey: testkit.RandomText(r, storage.MaxSortKey),
	}
}

// testLimitsLargest: the largest allowed tenant, kind, terms, sort key,
// sequence name and event type, all at once, are stored, read back,
// queried, looked up, updated, deleted and journalled on every backend
// (PostgreSQL indexes all of them in one row).
func testLimitsLargest(t *testing.T, f Factory) {
	b, _ := newBackend(t, f)
	l := newLargest(1)
	s := tenantStore(t, b, l.tenant)
	require.Equal(t, l.tenant, s.Tenant())

	one := newRecord(l.kind, testID(1), l.sortKey, l.terms...)
	one = create(t, s, one)[0] // a transaction that writes one record
	r := rand.New(rand.NewPCG(2, 2))
	// two sorts right after one: the same sort key but for a last byte
	// above every printable one.
	two := newRecord(l.kind, testID(2), l.sortKey[:storage.MaxSortKey-1]+"\x7f", l.terms[0], randomTerm(r, "b", storage.MaxTerm))
	three := newRecord(l.kind, testID(3), testkit.RandomText(r, storage.MaxSortKey), randomTerm(r, "a", storage.MaxTerm), l.terms[1])
	ev1 := refEvent(l.kind, one.ID, l.typ, `{"n":1}`, two.ID)
	ev2 := refEvent(l.kind, two.ID, l.typ, "")
	var seqs []int64
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { // several records and events
		for _, rec := range []storage.Record{two, three} {
			v, err := tx.Put(ctx, rec)
			require.NoError(t, err)
			require.EqualValues(t, 1, v)
		}
		require.NoError(t, tx.Append(ctx, ev1))
		require.NoError(t, tx.Append(ctx, ev2))
		for range 2 {
			n, err := tx.NextSeq(ctx, l.seq)
			require.NoError(t, err)
			seqs = append(seqs, n)
		}
	})
	require.Equal(t, []int64{1, 2}, seqs)
	two, three = stored(two, 1), stored(three, 1)

	requireStored(t, s, one)
	requireStored(t, s, two)
	requireStored(t, s, three)
	all := sortedRows([]storage.Record{one, two, three})
	require.Equal(t, all, query(t, s, storage.Query{Kind: l.kind}))
	require.Equal(t, reversed(all), query(t, s, storage.Query{Kind: l.kind, Reverse: true}))
	require.Equal(t, sortedRows([]storage.Record{one, two}), query(t, s, storage.Query{Kind: l.kind, Terms: l.terms[:1]}))
	require.Equal(t, []row{rowOf(one)}, query(t, s, storage.Query{Kind: l.kind, Terms: l.terms}))
	require.Equal(t, []row{rowOf(one)}, query(t, s, storage.Query{Kind: l.kind, Terms: l.terms[:1],
		Min: l.sortKey, Max: l.sortKey + "\x00"}))
	require.Equal(t, sortedRows([]storage.Record{two}), query(t, s, storage.Query{Kind: l.kind, Terms: l.terms[:1],
		After: cursorOf(rowOf(one))}))
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.Equal(t, sortedRows([]storage.Record{one, three}), rowsOf(mustCollect(t, tx.Lookup(ctx, l.kind, l.terms[1:]))))
		require.Equal(t, all, rowsOf(mustCollect(t, tx.Lookup(ctx, l.kind, l.terms))))
	})
	require.Equal(t, committedAs(l.tenant, []itil.Event{ev1, ev2}, 1, 2),
		evRowsOf(journal(t, s, storage.JournalQuery{Kinds: []string{l.kind}})))
	require.Equal(t, committedAs(l.tenant, []itil.Event{ev1, ev2}, 1, 2),
		evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: two.ID, Kinds: []string{"other", l.kind}})))
	require.EqualValues(t, 3, nextSeq(t, s, l.seq))

	// An update moves the record's index rows; a delete removes them.
	moved := update(t, s, one, newRecord(l.kind, one.ID, three.SortKey, l.terms[1], two.Terms[1]))
	requireStored(t, s, moved)
	require.Equal(t, sortedRows([]storage.Record{two}), query(t, s, storage.Query{Kind: l.kind, Terms: l.terms[:1]}))
	require.Equal(t, sortedRows([]storage.Record{moved, three}), query(t, s, storage.Query{Kind: l.kind, Terms: l.terms[1:]}))
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.NoError(t, tx.Delete(ctx, l.kind, moved.ID, moved.Version))
	})
	require.Equal(t, sortedRows([]storage.Record{three}), query(t, s, storage.Query{Kind: l.kind, Terms: l.terms[1:]}))
}

// requireTooLong requires the *itil.ValidationError every backend gives
// for a value one byte over its limit: one that names field and says the
// limit.
func requireTooLong(t tb, err error, field string, limit int) {
	t.Helper()
	requireValidation(t, err, field)
	var v *itil.ValidationError
	errors.As(err, &v)
	want := itil.FieldError{Field: field, Reason: "must be at most " + strconv.Itoa(limit) + " bytes"}
	require.Contains(t, v.Fields, want)
}

// testLimitsOneByteMore: one byte over a limit gives the same
// *itil.ValidationError naming the field on every backend, before the
// backend stores anything.
func testLimitsOneByteMore(t *testing.T, f Factory) {
	b, _ := newBackend(t, f)
	l := newLargest(3)
	r := rand.New(rand.NewPCG(4, 4))
	over := func(s string) string { return s + testkit.RandomText(r, 1) }

	_, err := b.Tenant(over(l.tenant))
	requireTooLong(t, err, "tenant", storage.MaxName)

	s := tenantStore(t, b, l.tenant)
	id := testID(1)
	longTerm := over(l.terms[1])
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Put(ctx, newRecord(over(l.kind), id, "k"))
		requireTooLong(t, err, "kind", storage.MaxName)
		_, err = tx.Put(ctx, newRecord(l.kind, id, "k", l.terms[0], longTerm))
		requireTooLong(t, err, "terms[1]", storage.MaxTerm)
		_, err = tx.Put(ctx, newRecord(l.kind, id, over(l.sortKey), l.terms...))
		requireTooLong(t, err, "sort_key", storage.MaxSortKey)
		_, err = tx.Get(ctx, over(l.kind), id)
		requireTooLong(t, err, "kind", storage.MaxName)
		requireTooLong(t, tx.Delete(ctx, over(l.kind), id, 1), "kind", storage.MaxName)

		_, err = collect(tx.Query(ctx, storage.Query{Kind: over(l.kind)}))
		requireTooLong(t, err, "kind", storage.MaxName)
		_, err = collect(tx.Query(ctx, storage.Query{Kind: l.kind, Terms: []string{longTerm}}))
		requireTooLong(t, err, "terms[0]", storage.MaxTerm)
		_, err = collect(tx.Lookup(ctx, over(l.kind), l.terms))
		requireTooLong(t, err, "kind", storage.MaxName)
		_, err = collect(tx.Lookup(ctx, l.kind, []string{l.terms[0], longTerm}))
		requireTooLong(t, err, "terms[1]", storage.MaxTerm)

		_, err = tx.NextSeq(ctx, over(l.seq))
		requireTooLong(t, err, "name", storage.MaxName)
		requireTooLong(t, tx.Append(ctx, refEvent(over(l.kind), id, l.typ, "")), "kind", storage.MaxName)
		requireTooLong(t, tx.Append(ctx, refEvent(l.kind, id, over(l.typ), "")), "type", storage.MaxName)
		_, err = collect(tx.Journal(ctx, storage.JournalQuery{Kinds: []string{l.kind, over(l.kind)}}))
		requireTooLong(t, err, "kinds[1]", storage.MaxName)
	})

	// The transaction committed, and wrote nothing.
	require.Empty(t, query(t, s, storage.Query{Kind: l.kind}))
	requireMissing(t, s, l.kind, id)
	require.Empty(t, journal(t, s, storage.JournalQuery{}))
	require.Zero(t, lastSeq(t, s))
	require.EqualValues(t, 1, nextSeq(t, s, l.seq))
}
