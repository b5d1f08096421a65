package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

func nextSeq(t tb, s storage.Store, name string) (v int64) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		var err error
		v, err = tx.NextSeq(ctx, name)
		require.NoError(t, err)
	})
	return v
}

func testNextSeqSequences(t *testing.T, f Factory) {
	s := newStore(t, f)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, step := range []struct {
			name string
			want int64
		}{{"incident", 1}, {"incident", 2}, {"problem", 1}, {"incident", 3}, {"problem", 2}} {
			got, err := tx.NextSeq(ctx, step.name)
			require.NoError(t, err)
			require.Equal(t, step.want, got, "sequence %q", step.name)
		}
	})
	require.EqualValues(t, 4, nextSeq(t, s, "incident"))
	require.EqualValues(t, 1, nextSeq(t, s, "change"))
}

func testNextSeqNotReusedAfterRollback(t *testing.T, f Factory) {
	s := newStore(t, f)
	var used int64
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		var err error
		used, err = tx.NextSeq(ctx, "incident")
		require.NoError(t, err)
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.EqualValues(t, 1, used)
	require.Greater(t, nextSeq(t, s, "incident"), used, "a value handed out in a rolled-back transaction is not handed out again")
}

func testJournalAppendAndRead(t *testing.T, f Factory) {
	s := newStore(t, f)
	first := []itil.Event{newEvent(testID(1), "created", `{"title":"printer on fire"}`), newEvent(testID(2), "created", "")}
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, ev := range first {
			ev.Seq, ev.Tenant = 99, "someone-else" // the backend sets both
			require.NoError(t, tx.Append(ctx, ev))
		}
		require.Empty(t, mustCollect(t, tx.Journal(ctx, storage.JournalQuery{})),
			"a transaction does not read its own events before commit")
	})
	require.Equal(t, committedAs(tenantA, first, 1, 2), evRowsOf(journal(t, s, storage.JournalQuery{})))

	second := newEvent(testID(1), "resolved", `{"code":"fixed"}`)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { require.NoError(t, tx.Append(ctx, second)) })
	all := append(first, second)
	require.Equal(t, committedAs(tenantA, all, 1, 2, 3), evRowsOf(journal(t, s, storage.JournalQuery{})))
}

func testJournalFilters(t *testing.T, f Factory) {
	s := newStore(t, f)
	a, b, c := testID(1), testID(2), testID(3)
	evs := []itil.Event{
		newEvent(a, "created", `{"n":1}`), newEvent(b, "created", `{"n":2}`), newEvent(a, "updated", `{"n":3}`),
		newEvent(c, "created", `{"n":4}`), newEvent(a, "resolved", `{"n":5}`), newEvent(b, "updated", `{"n":6}`),
	}
	for i := 0; i < len(evs); i += 2 {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			require.NoError(t, tx.Append(ctx, evs[i]))
			require.NoError(t, tx.Append(ctx, evs[i+1]))
		})
	}
	all := evRowsOf(journal(t, s, storage.JournalQuery{}))
	require.Equal(t, committedAs(tenantA, evs, 1, 2, 3, 4, 5, 6), all)
	pick := func(seqs ...int64) []evRow { return pickRows(all, seqs...) }
	for _, tc := range []struct {
		q    storage.JournalQuery
		want []evRow
	}{
		{storage.JournalQuery{SubjectID: a}, pick(1, 3, 5)},
		{storage.JournalQuery{SubjectID: b}, pick(2, 6)},
		{storage.JournalQuery{SubjectID: testID(9)}, nil},
		{storage.JournalQuery{After: 2}, pick(3, 4, 5, 6)},
		{storage.JournalQuery{After: 6}, nil},
		{storage.JournalQuery{After: 60}, nil},
		{storage.JournalQuery{After: 1, SubjectID: a}, pick(3, 5)},
		{storage.JournalQuery{After: 3, SubjectID: a}, pick(5)},
		{storage.JournalQuery{After: 5, SubjectID: a}, nil},
		{storage.JournalQuery{Limit: 2}, pick(1, 2)},
		{storage.JournalQuery{Limit: 10}, all},
		{storage.JournalQuery{After: 3, Limit: 2}, pick(4, 5)},
		{storage.JournalQuery{SubjectID: a, Limit: 2}, pick(1, 3)},
		{storage.JournalQuery{After: 2, SubjectID: b, Limit: 1}, pick(6)},
	} {
		require.Equal(t, tc.want, evRowsOf(journal(t, s, tc.q)), "journal query %+v", tc.q)
	}
}

// testJournalMany reads more events than a backend is likely to fetch in
// one batch or keep in one block.
func testJournalMany(t *testing.T, f Factory) {
	const txs, perTx, subjects = 9, 500, 7
	s := newStore(t, f)
	var evs []itil.Event
	var seqs []int64
	for range txs {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			for range perTx {
				ev := newEvent(testID(len(evs)%subjects), "tick", fmt.Sprintf(`{"n":%d}`, len(evs)))
				require.NoError(t, tx.Append(ctx, ev))
				evs = append(evs, ev)
				seqs = append(seqs, int64(len(evs)))
			}
		})
	}
	all := committedAs(tenantA, evs, seqs...)
	requireList(t, all, evRowsOf(journal(t, s, storage.JournalQuery{})), "the whole journal")

	// Follow the journal in pages, by cursor.
	var paged []evRow
	for q := (storage.JournalQuery{Limit: 333}); ; {
		page := evRowsOf(journal(t, s, q))
		paged = append(paged, page...)
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].Seq
	}
	requireList(t, all, paged, "the journal read in pages")

	subject := testID(3)
	want := slices.DeleteFunc(slices.Clone(all), func(r evRow) bool { return r.SubjectID != subject || r.Seq <= 1000 })
	requireList(t, want, evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: subject, After: 1000})), "one subject")
	requireList(t, want[:300], evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: subject, After: 1000, Limit: 300})), "one subject, limited")
}

func testJournalMalformed(t *testing.T, f Factory) {
	s := newStore(t, f)
	for _, tc := range []struct {
		field string
		edit  func(*itil.Event)
	}{
		{"kind", func(ev *itil.Event) { ev.Kind = "" }},
		{"subject_id", func(ev *itil.Event) { ev.SubjectID = itil.NilID }},
		{"type", func(ev *itil.Event) { ev.Type = "" }},
		{"kind", func(ev *itil.Event) { ev.Kind = "incident\x00" }},
		{"type", func(ev *itil.Event) { ev.Type = "\xffcreated" }},
		{"actor.id", func(ev *itil.Event) { ev.Actor.ID = "al\x00ice" }},
		{"actor.name", func(ev *itil.Event) { ev.Actor.Name = "Al\xc3" }},
		{"time", func(ev *itil.Event) { ev.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"time", func(ev *itil.Event) { ev.Time = time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC) }},
		{"time", func(ev *itil.Event) { // 9999-12-31T23:30Z in UTC, not where it was written
			ev.Time = time.Date(10000, 1, 1, 0, 30, 0, 0, time.FixedZone("UTC+1", 3600))
		}},
		{"payload", func(ev *itil.Event) { ev.Payload = json.RawMessage(`{"title":"printer on fire"`) }},
		{"payload", func(ev *itil.Event) { ev.Payload = json.RawMessage(`not json`) }},
		{"payload", func(ev *itil.Event) { ev.Payload = json.RawMessage("\"tab\there\"") }},
		{"refs[1]", func(ev *itil.Event) { ev.Refs = []itil.ID{testID(2), itil.NilID} }},
		{"refs[2]", func(ev *itil.Event) { ev.Refs = []itil.ID{testID(2), testID(3), testID(2)} }},
		{"refs[0]", func(ev *itil.Event) { ev.Refs = []itil.ID{ev.SubjectID, testID(2)} }},
		{"refs", func(ev *itil.Event) {
			for i := range storage.MaxRefs + 1 {
				ev.Refs = append(ev.Refs, testID(1000+i))
			}
		}},
	} {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			ev := newEvent(testID(1), "created", "")
			tc.edit(&ev)
			requireValidation(t, tx.Append(ctx, ev), tc.field)
		})
	}
	require.Empty(t, journal(t, s, storage.JournalQuery{}), "rejected events are not journalled")
}

func testJournalPayloadCopied(t *testing.T, f Factory) {
	s := newStore(t, f)
	payload := []byte(`{"title":"printer on fire"}`)
	want := committedAs(tenantA, []itil.Event{newEvent(testID(1), "created", string(payload))}, 1)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		ev := newEvent(testID(1), "created", "")
		ev.Payload = payload
		require.NoError(t, tx.Append(ctx, ev))
		copy(payload, `{"title":"XXXXXXXXXXXXXXX"}`)
	})
	require.Equal(t, want, evRowsOf(journal(t, s, storage.JournalQuery{})), "Append must copy the payload")

	got := journal(t, s, storage.JournalQuery{})
	require.Len(t, got, 1)
	copy(got[0].Payload, `{"title":"XXXXXXXXXXXXXXX"}`)
	require.Equal(t, want, evRowsOf(journal(t, s, storage.JournalQuery{})), "Journal must copy the payload out")
}

func testJournalRollback(t *testing.T, f Factory) {
	s := newStore(t, f)
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		require.NoError(t, tx.Append(ctx, newEvent(testID(1), "created", `{"rolled":"back"}`)))
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Empty(t, journal(t, s, storage.JournalQuery{}))

	kept := newEvent(testID(2), "created", `{"rolled":"no"}`)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { require.NoError(t, tx.Append(ctx, kept)) })
	got := journal(t, s, storage.JournalQuery{})
	require.Len(t, got, 1, "only the committed event is journalled")
	require.Equal(t, committedAs(tenantA, []itil.Event{kept}, got[0].Seq), evRowsOf(got))
	require.Positive(t, got[0].Seq)
}

// testJournalRefs: an event's refs are journalled with it, in the order
// appended, copied in and out, whether a commit journals one event or
// several.
func testJournalRefs(t *testing.T, f Factory) {
	s := newStore(t, f)
	r1, r2, r3 := testID(11), testID(12), testID(13)
	refs := []itil.ID{r2, r1, r3} // not in byte order: the order appended is kept
	alone := refEvent(kindA, testID(1), "related", `{"n":1}`, refs...)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.NoError(t, tx.Append(ctx, alone))
		refs[0] = testID(99) // Append must have copied the refs
	})
	alone.Refs = []itil.ID{r2, r1, r3}
	several := []itil.Event{
		refEvent(kindB, testID(2), "linked", `{"n":2}`, r3),
		newEvent(testID(3), "created", `{"n":3}`),
		refEvent(kindA, testID(1), "related", "", r1, r2),
	}
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, ev := range several {
			require.NoError(t, tx.Append(ctx, ev))
		}
	})
	want := committedAs(tenantA, append([]itil.Event{alone}, several...), 1, 2, 3, 4)
	require.Equal(t, want, evRowsOf(journal(t, s, storage.JournalQuery{})))
	require.Nil(t, journal(t, s, storage.JournalQuery{After: 2, Limit: 1})[0].Refs, "an event without refs reads back without refs")

	got := journal(t, s, storage.JournalQuery{})
	got[0].Refs[0] = testID(98)
	require.Equal(t, want, evRowsOf(journal(t, s, storage.JournalQuery{})), "Journal must copy the refs out")
}

// testJournalSubjectRefs: a query by subject returns, in Seq order and each
// once, the subject's own events and those that refer to it, paged by
// After and Limit, across pages larger than a backend's batch.
func testJournalSubjectRefs(t *testing.T, f Factory) {
	s := newStore(t, f)
	a, b, c, rel1, rel2 := testID(1), testID(2), testID(3), testID(4), testID(5)
	evs := []itil.Event{
		newEvent(a, "created", `{"n":1}`),
		refEvent("relationship", rel1, "related", `{"n":2}`, a, b),
		refEvent(kindA, b, "updated", `{"n":3}`, c),
		refEvent(kindA, a, "updated", `{"n":4}`, b),
		refEvent(kindB, c, "created", `{"n":5}`, a),
		refEvent("relationship", rel2, "related", `{"n":6}`, b, a),
	}
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, ev := range evs[:3] {
			require.NoError(t, tx.Append(ctx, ev))
		}
	})
	for _, ev := range evs[3:] {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) { require.NoError(t, tx.Append(ctx, ev)) })
	}
	all := evRowsOf(journal(t, s, storage.JournalQuery{}))
	require.Equal(t, committedAs(tenantA, evs, 1, 2, 3, 4, 5, 6), all)
	pick := func(seqs ...int64) []evRow { return pickRows(all, seqs...) }
	for _, tc := range []struct {
		q    storage.JournalQuery
		want []evRow
	}{
		{storage.JournalQuery{SubjectID: a}, pick(1, 2, 4, 5, 6)},
		{storage.JournalQuery{SubjectID: b}, pick(2, 3, 4, 6)},
		{storage.JournalQuery{SubjectID: c}, pick(3, 5)},
		{storage.JournalQuery{SubjectID: rel1}, pick(2)},
		{storage.JournalQuery{SubjectID: testID(9)}, nil},
		{storage.JournalQuery{SubjectID: a, After: 1}, pick(2, 4, 5, 6)},
		{storage.JournalQuery{SubjectID: a, After: 4}, pick(5, 6)},
		{storage.JournalQuery{SubjectID: a, After: 6}, nil},
		{storage.JournalQuery{SubjectID: a, Limit: 2}, pick(1, 2)},
		{storage.JournalQuery{SubjectID: a, After: 2, Limit: 2}, pick(4, 5)},
		{storage.JournalQuery{SubjectID: b, After: 2, Limit: 1}, pick(3)},
		{storage.JournalQuery{SubjectID: c, After: 3, Limit: 5}, pick(5)},
	} {
		require.Equal(t, tc.want, evRowsOf(journal(t, s, tc.q)), "journal query %+v", tc.q)
	}

	// Many events, the queried subject's own and refs to it interleaved
	// with others, in commits of several events: pages of every size,
	// from every cursor, give each event once.
	const txs, perTx = 6, 120
	x, y := testID(20), testID(21)
	var more []itil.Event
	for range txs {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			for range perTx {
				n := len(more)
				var ev itil.Event
				switch {
				case n%3 == 0:
					ev = refEvent(kindA, x, "tick", fmt.Sprintf(`{"n":%d}`, n), y)
				case n%5 == 0:
					ev = refEvent(kindB, testID(100+n%7), "tick", fmt.Sprintf(`{"n":%d}`, n), y, x)
				default:
					ev = refEvent(kindB, testID(100+n%7), "tick", fmt.Sprintf(`{"n":%d}`, n), y)
				}
				require.NoError(t, tx.Append(ctx, ev))
				more = append(more, ev)
			}
		})
	}
	rows := committedFrom(tenantA, more, int64(len(evs)+1))
	wantX := slices.DeleteFunc(slices.Clone(rows), func(r evRow) bool { return r.SubjectID != x && !slices.Contains(r.Refs, x) })
	requireList(t, wantX, evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: x})), "subject x, own and referred to")
	wantY := slices.DeleteFunc(slices.Clone(rows), func(r evRow) bool { return r.SubjectID != y && !slices.Contains(r.Refs, y) })
	requireList(t, wantY, evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: y})), "subject y, referred to only")
	for _, limit := range []int{1, 7, 100, 300} {
		var paged []evRow
		for q := (storage.JournalQuery{SubjectID: x, Limit: limit}); ; {
			page := evRowsOf(journal(t, s, q))
			paged = append(paged, page...)
			if len(page) < q.Limit {
				break
			}
			q.After = page[len(page)-1].Seq
		}
		requireList(t, wantX, paged, fmt.Sprintf("subject x in pages of %d", limit))
	}
	mid := wantX[len(wantX)/2].Seq
	after := slices.DeleteFunc(slices.Clone(wantX), func(r evRow) bool { return r.Seq <= mid })
	requireList(t, after, evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: x, After: mid})), "subject x after the middle")
}

// testJournalKinds: a Kinds filter alone, with a subject (its own events
// and those referring to it), with After and Limit, and past a backend's
// batch when matches are sparse; malformed kinds are refused.
func testJournalKinds(t *testing.T, f Factory) {
	s := newStore(t, f)
	a, b := testID(1), testID(2)
	evs := []itil.Event{
		refEvent(kindA, a, "created", `{"n":1}`),
		refEvent(kindB, b, "created", `{"n":2}`, a),
		refEvent("relationship", testID(3), "related", `{"n":3}`, a, b),
		refEvent(kindA, b, "updated", `{"n":4}`),
		refEvent(kindB, a, "updated", `{"n":5}`, b),
		refEvent(kindA, testID(4), "created", `{"n":6}`, a),
	}
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, ev := range evs {
			require.NoError(t, tx.Append(ctx, ev))
		}
	})
	all := evRowsOf(journal(t, s, storage.JournalQuery{}))
	require.Equal(t, committedAs(tenantA, evs, 1, 2, 3, 4, 5, 6), all)
	pick := func(seqs ...int64) []evRow { return pickRows(all, seqs...) }
	for _, tc := range []struct {
		q    storage.JournalQuery
		want []evRow
	}{
		{storage.JournalQuery{Kinds: []string{kindA}}, pick(1, 4, 6)},
		{storage.JournalQuery{Kinds: []string{kindB, kindA}}, pick(1, 2, 4, 5, 6)},
		{storage.JournalQuery{Kinds: []string{kindA, kindA}}, pick(1, 4, 6)},
		{storage.JournalQuery{Kinds: []string{"change"}}, nil},
		{storage.JournalQuery{Kinds: []string{}}, all},
		{storage.JournalQuery{Kinds: []string{kindA}, After: 1}, pick(4, 6)},
		{storage.JournalQuery{Kinds: []string{kindA}, Limit: 2}, pick(1, 4)},
		{storage.JournalQuery{Kinds: []string{kindA, "relationship"}, After: 2, Limit: 2}, pick(3, 4)},
		{storage.JournalQuery{SubjectID: a, Kinds: []string{kindA}}, pick(1, 6)},
		{storage.JournalQuery{SubjectID: a, Kinds: []string{kindB}}, pick(2, 5)},
		{storage.JournalQuery{SubjectID: a, Kinds: []string{"relationship", kindB}}, pick(2, 3, 5)},
		{storage.JournalQuery{SubjectID: a, Kinds: []string{"relationship", kindB}, After: 2, Limit: 1}, pick(3)},
		{storage.JournalQuery{SubjectID: b, Kinds: []string{kindA}}, pick(4)},
		{storage.JournalQuery{SubjectID: b, Kinds: []string{"change"}}, nil},
	} {
		require.Equal(t, tc.want, evRowsOf(journal(t, s, tc.q)), "journal query %+v", tc.q)
	}

	// Sparse matches over many events: one in 50 is of kind "change", and
	// of those every other one concerns x, as subject or as a ref.
	x := testID(20)
	var more []itil.Event
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for n := range 1000 {
			ev := refEvent(kindB, testID(100+n%5), "tick", fmt.Sprintf(`{"n":%d}`, n), x)
			if n%50 == 0 {
				ev.Kind = "change"
				switch n % 100 {
				case 0:
					ev.Refs = nil
				default:
					ev.SubjectID, ev.Refs = x, nil
				}
			} else if n%2 == 0 {
				ev.SubjectID, ev.Refs = x, nil
			}
			require.NoError(t, tx.Append(ctx, ev))
			more = append(more, ev)
		}
	})
	rows := committedFrom(tenantA, more, int64(len(evs)+1))
	changes := slices.DeleteFunc(slices.Clone(rows), func(r evRow) bool { return r.Kind != "change" })
	require.Len(t, changes, 20)
	requireList(t, changes, evRowsOf(journal(t, s, storage.JournalQuery{Kinds: []string{"change"}})), "sparse kind")
	requireList(t, changes[5:8], evRowsOf(journal(t, s, storage.JournalQuery{Kinds: []string{"change"}, After: changes[4].Seq, Limit: 3})), "sparse kind, paged")
	xChanges := slices.DeleteFunc(slices.Clone(changes), func(r evRow) bool { return r.SubjectID != x && !slices.Contains(r.Refs, x) })
	require.Len(t, xChanges, 10)
	requireList(t, xChanges, evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: x, Kinds: []string{"change"}})), "sparse kind of a subject")
	xKindB := slices.DeleteFunc(slices.Clone(rows), func(r evRow) bool {
		return r.Kind != kindB || (r.SubjectID != x && !slices.Contains(r.Refs, x))
	})
	require.Len(t, xKindB, 980)
	requireList(t, xKindB, evRowsOf(journal(t, s, storage.JournalQuery{SubjectID: x, Kinds: []string{kindB}})), "a subject's own and referring events of a kind")

	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		_, err := collect(tx.Journal(ctx, storage.JournalQuery{Kinds: []string{kindA, ""}}))
		requireValidation(t, err, "kinds[1]")
		_, err = collect(tx.Journal(ctx, storage.JournalQuery{SubjectID: a, Kinds: []string{"bad\x00kind"}}))
		requireValidation(t, err, "kinds[0]")
	})
}

// testJournalLastSeq: LastSeq is the Seq of the newest committed event: 0
// for an empty journal, not counting the transaction's own appends nor
// those of a transaction that rolled back or is still open, and events
// committed after it are above it.
func testJournalLastSeq(t *testing.T, f Factory) {
	s := newStore(t, f)
	require.Zero(t, lastSeq(t, s), "an empty journal")

	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.NoError(t, tx.Append(ctx, newEvent(testID(1), "created", `{"n":1}`)))
		require.NoError(t, tx.Append(ctx, newEvent(testID(2), "created", `{"n":2}`)))
		last, err := tx.LastSeq(ctx)
		require.NoError(t, err)
		require.Zero(t, last, "the transaction's own appends do not count before it commits")
	})
	evs := journal(t, s, storage.JournalQuery{})
	require.Len(t, evs, 2)
	last := lastSeq(t, s)
	require.Equal(t, evs[1].Seq, last, "the newest committed event")

	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		require.NoError(t, tx.Append(ctx, newEvent(testID(3), "created", `{"rolled":"back"}`)))
		got, err := tx.LastSeq(ctx)
		require.NoError(t, err)
		require.Equal(t, last, got)
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Equal(t, last, lastSeq(t, s), "a rolled-back append does not count")

	// A transaction appends and stays open: it does not count until it
	// commits, and its event then lands above what LastSeq said.
	open := startTx(t, s, func(ctx context.Context, tx storage.Tx) error {
		return tx.Append(ctx, newEvent(testID(4), "created", `{"n":4}`))
	}, nil)
	require.NoError(t, open.awaitReady(t))
	before := lastSeq(t, s)
	require.Equal(t, last, before, "an open transaction's appends do not count")
	require.NoError(t, open.finish(t))
	after := journal(t, s, storage.JournalQuery{After: before})
	require.Len(t, after, 1, "a reader that starts at LastSeq sees what commits later")
	require.Greater(t, after[0].Seq, before)
	require.Equal(t, after[0].Seq, lastSeq(t, s))

	// A reader holding LastSeq sees, in the same transaction, an event
	// another transaction commits meanwhile, above it.
	var mark int64
	reader := startTx(t, s, func(ctx context.Context, tx storage.Tx) error {
		var err error
		mark, err = tx.LastSeq(ctx)
		return err
	}, func(ctx context.Context, tx storage.Tx) error {
		evs, err := collect(tx.Journal(ctx, storage.JournalQuery{After: mark}))
		if err != nil {
			return err
		}
		if len(evs) != 1 || evs[0].Seq <= mark || evs[0].SubjectID != testID(5) {
			return fmt.Errorf("after LastSeq %d the journal holds %+v, want the one event committed since", mark, evs)
		}
		return nil
	})
	require.NoError(t, reader.awaitReady(t))
	require.Equal(t, after[0].Seq, mark)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.NoError(t, tx.Append(ctx, newEvent(testID(5), "created", `{"n":5}`)))
	})
	require.NoError(t, reader.finish(t))
}

// pickRows returns the rows of all (the whole journal, Seq 1 first) at the
// given Seqs.
func pickRows(all []evRow, seqs ...int64) []evRow {
	var out []evRow
	for _, seq := range seqs {
		out = append(out, all[seq-1])
	}
	return out
}

// committedFrom is committedAs for events committed one after the other
// from Seq first.
func committedFrom(tenant string, evs []itil.Event, first int64) []evRow {
	seqs := make([]int64, len(evs))
	for i := range seqs {
		seqs[i] = first + int64(i)
	}
	return committedAs(tenant, evs, seqs...)
}
