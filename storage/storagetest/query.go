package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// seedMany creates n records of kindA in one transaction: record i has ID
// testID(i), sort key sortKey(i) and the term "m=i%3". It returns them in
// query order.
func seedMany(t *testing.T, s storage.Store, n int, sortKey func(i int) string) []row {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = newRecord(kindA, testID(i), sortKey(i), fmt.Sprintf("m=%d", i%3))
	}
	return sortedRows(create(t, s, recs...))
}

// fewKeys gives few distinct sort keys, the empty one included, so that
// many records tie and are ordered by ID.
func fewKeys(i int) string { return []string{"", "x", "y", "z"}[i%4] }

func hasTerm(term string) func(row) bool {
	return func(r row) bool { return slices.Contains(r.Terms, term) }
}

func filterRows(rows []row, keep func(row) bool) []row {
	var out []row
	for _, r := range rows {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func testQueryTerms(t *testing.T, f Factory) {
	s := newStore(t, f)
	recs := create(t, s,
		newRecord(kindA, testID(0), "a", "s=a", "p=1"),
		newRecord(kindA, testID(1), "b", "s=a", "p=2"),
		newRecord(kindA, testID(2), "c", "s=b", "p=1"),
		newRecord(kindA, testID(3), "d", "s=a", "s=b"),
		newRecord(kindA, testID(4), "e"),
		newRecord(kindB, testID(5), "a", "s=a", "p=1"),
	)
	for _, tc := range []struct {
		terms []string
		want  []int // indexes into recs, in query order
	}{
		{nil, []int{0, 1, 2, 3, 4}},
		{[]string{"s=a"}, []int{0, 1, 3}},
		{[]string{"s=a", "p=1"}, []int{0}},
		{[]string{"p=1", "s=a"}, []int{0}},
		{[]string{"s=a", "s=b"}, []int{3}},
		{[]string{"s=a", "s=a"}, []int{0, 1, 3}},
		{[]string{"p=1"}, []int{0, 2}},
		{[]string{"nope=1"}, nil},
		{[]string{"s=a", "nope=1"}, nil},
		{[]string{"s="}, nil},
	} {
		var want []row
		for _, i := range tc.want {
			want = append(want, rowOf(recs[i]))
		}
		require.Equal(t, want, query(t, s, storage.Query{Kind: kindA, Terms: tc.terms}), "terms %q", tc.terms)
	}
}

func testQuerySortKeyRange(t *testing.T, f Factory) {
	s := newStore(t, f)
	keys := []string{"", "a", "b", "b", "bz", "c", "d"}
	all := seedMany(t, s, len(keys), func(i int) string { return keys[i] })
	for _, tc := range []struct {
		min, max string
		want     int // number of records in range
	}{
		{"", "", 7},
		{"b", "", 5},
		{"", "c", 5},
		{"b", "c", 3},
		{"ba", "c", 1},
		{"b", "b", 0},
		{"c", "a", 0},
		{"z", "", 0},
		{"", "a", 1},
		{"d", "", 1},
		{"", "\xff", 7},
	} {
		want := filterRows(all, func(r row) bool { return r.SortKey >= tc.min && (tc.max == "" || r.SortKey < tc.max) })
		require.Len(t, want, tc.want, "the suite's own expectation for [%q, %q)", tc.min, tc.max)
		q := storage.Query{Kind: kindA, Min: tc.min, Max: tc.max}
		require.Equal(t, want, query(t, s, q), "range [%q, %q)", tc.min, tc.max)
		q.Reverse = true
		require.Equal(t, reversed(want), query(t, s, q), "reverse range [%q, %q)", tc.min, tc.max)
	}
}

func testQueryOrder(t *testing.T, f Factory) {
	s := newStore(t, f)
	want := seedMany(t, s, 60, fewKeys)
	require.Equal(t, want, query(t, s, storage.Query{Kind: kindA}), "ordered by (SortKey, ID bytes)")
	require.Equal(t, filterRows(want, hasTerm("m=1")), query(t, s, storage.Query{Kind: kindA, Terms: []string{"m=1"}}))
}

func testQueryReverse(t *testing.T, f Factory) {
	s := newStore(t, f)
	want := reversed(seedMany(t, s, 60, fewKeys))
	require.Equal(t, want, query(t, s, storage.Query{Kind: kindA, Reverse: true}))
	require.Equal(t, filterRows(want, hasTerm("m=1")), query(t, s, storage.Query{Kind: kindA, Terms: []string{"m=1"}, Reverse: true}))
}

func testQueryLimit(t *testing.T, f Factory) {
	s := newStore(t, f)
	all := seedMany(t, s, 60, fewKeys)
	for _, limit := range []int{1, 2, 7, 19, 20, 21, 59, 60, 61} {
		for _, reverse := range []bool{false, true} {
			for _, terms := range [][]string{nil, {"m=1"}} {
				want := all
				if terms != nil {
					want = filterRows(want, hasTerm(terms[0]))
				}
				if reverse {
					want = reversed(want)
				}
				want = want[:min(limit, len(want))]
				q := storage.Query{Kind: kindA, Terms: terms, Reverse: reverse, Limit: limit}
				require.Equal(t, want, query(t, s, q), "limit %d, reverse %v, terms %q", limit, reverse, terms)
			}
		}
	}
}

// paginate reads every page of q, pageSize records at a time and each page
// in a transaction of its own, resuming after the last record of the
// previous page.
func paginate(t *testing.T, s storage.Store, q storage.Query, pageSize, maxRows int) []row {
	t.Helper()
	q.Limit = pageSize
	var out []row
	for {
		page := query(t, s, q)
		require.LessOrEqual(t, len(page), pageSize, "a page holds at most Limit records")
		out = append(out, page...)
		require.LessOrEqual(t, len(out), maxRows, "pagination does not end")
		if len(page) < pageSize {
			return out
		}
		q.After = cursorOf(page[len(page)-1])
	}
}

func testQueryPaginate(t *testing.T, f Factory) {
	s := newStore(t, f)
	all := seedMany(t, s, 1000, func(i int) string { return fmt.Sprintf("k%d", i%10) })
	q := storage.Query{Kind: kindA}
	requireList(t, all, paginate(t, s, q, 7, len(all)), "pages")
	q.Reverse = true
	requireList(t, reversed(all), paginate(t, s, q, 7, len(all)), "pages in reverse")
}

func testQueryPaginateTerm(t *testing.T, f Factory) {
	s := newStore(t, f)
	all := seedMany(t, s, 1000, func(i int) string { return fmt.Sprintf("k%d", i%10) })
	for _, q := range []storage.Query{
		{Kind: kindA, Terms: []string{"m=1"}},
		{Kind: kindA, Terms: []string{"m=2"}, Min: "k3", Max: "k7"},
	} {
		want := filterRows(all, func(r row) bool {
			return hasTerm(q.Terms[0])(r) && r.SortKey >= q.Min && (q.Max == "" || r.SortKey < q.Max)
		})
		requireList(t, want, paginate(t, s, q, 7, len(all)), describeQuery(q))
		q.Reverse = true
		requireList(t, reversed(want), paginate(t, s, q, 7, len(all)), describeQuery(q))
	}
}

// testQueryManyResults queries more records than a backend is likely to
// fetch in one batch, inside a transaction whose own writes are spread
// over the whole range.
func testQueryManyResults(t *testing.T, f Factory) {
	s := newStore(t, f)
	const n = 600
	sortKey := func(i int) string { return fmt.Sprintf("s%03d", i%150) }
	current := make(map[itil.ID]storage.Record)
	for _, r := range create(t, s, func() []storage.Record {
		recs := make([]storage.Record, n)
		for i := range recs {
			recs[i] = newRecord(kindA, testID(i), sortKey(i), fmt.Sprintf("m=%d", i%2))
		}
		return recs
	}()...) {
		current[r.ID] = r
	}
	expect := func() []row { return sortedRows(slicesOfMap(current)) }

	check := func(ctx context.Context, tx storage.Tx) {
		t.Helper()
		requireQuery := func(want []row, q storage.Query) {
			t.Helper()
			requireList(t, want, rowsOf(mustCollect(t, tx.Query(ctx, q))), describeQuery(q))
		}
		all := expect()
		requireQuery(all, storage.Query{Kind: kindA})
		requireQuery(reversed(all), storage.Query{Kind: kindA, Reverse: true})
		requireQuery(all[:300], storage.Query{Kind: kindA, Limit: 300})
		requireQuery(all[300:], storage.Query{Kind: kindA, After: cursorOf(all[299])})
		requireQuery(reversed(all[:299]), storage.Query{Kind: kindA, After: cursorOf(all[299]), Reverse: true})
		odd := filterRows(all, hasTerm("m=1"))
		requireQuery(odd, storage.Query{Kind: kindA, Terms: []string{"m=1"}})
		requireQuery(reversed(odd), storage.Query{Kind: kindA, Terms: []string{"m=1"}, Reverse: true})
	}

	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for i := range n {
			id := testID(i)
			switch {
			case i%7 == 0:
				require.NoError(t, tx.Delete(ctx, kindA, id, 1))
				delete(current, id)
			case i%11 == 0:
				next := stored(newRecord(kindA, id, sortKey(i*7), "m=1"), 1)
				v, err := tx.Put(ctx, next)
				require.NoError(t, err)
				current[id] = stored(next, v)
			}
		}
		for i := n; i < n+60; i++ {
			rec := newRecord(kindA, testID(i), sortKey(i*13), fmt.Sprintf("m=%d", i%2))
			v, err := tx.Put(ctx, rec)
			require.NoError(t, err)
			current[rec.ID] = stored(rec, v)
		}
		check(ctx, tx)
	})
	inTx(t, s, check)
}

func slicesOfMap[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func testLookupAnyOf(t *testing.T, f Factory) {
	s := newStore(t, f)
	recs := create(t, s,
		newRecord(kindA, testID(0), "b", "ci=1"),
		newRecord(kindA, testID(1), "a", "ci=2", "ci=3"),
		newRecord(kindA, testID(2), "b", "ci=3"),
		newRecord(kindA, testID(3), "a", "other=1"),
		newRecord(kindA, testID(4), "c", "ci=1", "ci=3"),
		newRecord(kindB, testID(5), "a", "ci=1"),
	)
	lookup := func(kind string, terms ...string) (rows []row) {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			rows = rowsOf(mustCollect(t, tx.Lookup(ctx, kind, terms)))
		})
		return rows
	}
	pick := func(idx ...int) []storage.Record {
		out := make([]storage.Record, len(idx))
		for i, j := range idx {
			out[i] = recs[j]
		}
		return out
	}
	require.Equal(t, sortedRows(pick(0, 1, 2, 4)), lookup(kindA, "ci=1", "ci=3", "missing=9", "ci=3"),
		"each record once, in (SortKey, ID) order")
	require.Equal(t, sortedRows(pick(1, 2, 4)), lookup(kindA, "ci=3"))
	require.Equal(t, sortedRows(pick(0, 1, 3, 4)), lookup(kindA, "other=1", "ci=2", "ci=1"))
	require.Equal(t, sortedRows(pick(5)), lookup(kindB, "ci=1", "ci=3"))
	require.Empty(t, lookup(kindA, "missing=1", "missing=2"))
	require.Empty(t, lookup(kindA))
	require.Empty(t, lookup("unknown-kind", "ci=1"))
}

// testQueryChurn: while a query iterates over many records, other
// transactions move records' sort keys back and forth. Whatever the query
// sees of that, it returns no record twice.
func testQueryChurn(t *testing.T, f Factory) {
	s := newStore(t, f)
	const n = 600
	recs := create(t, s, func() []storage.Record {
		out := make([]storage.Record, n)
		for i := range out {
			out[i] = newRecord(kindA, testID(i), fmt.Sprintf("k%04d", i), "c=1")
		}
		return out
	}()...)
	for _, q := range []storage.Query{
		{Kind: kindA},
		{Kind: kindA, Reverse: true},
		{Kind: kindA, Terms: []string{"c=1"}},
	} {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			seen := make(map[itil.ID]bool, n)
			moved := 0
			for rec, err := range tx.Query(ctx, q) {
				require.NoError(t, err)
				require.False(t, seen[rec.ID], "%s returned twice by %s", rec.ID, describeQuery(q))
				seen[rec.ID] = true
				if len(seen)%50 == 0 && moved < n {
					// Move a record already returned to the far end, and
					// back, in transactions of their own.
					i := moved % len(recs)
					next := recs[i]
					next.SortKey = "z" + next.SortKey
					if q.Reverse {
						next.SortKey = "a" + recs[i].SortKey
					}
					recs[i] = update(t, s, recs[i], next)
					moved++
				}
			}
		})
	}
}
