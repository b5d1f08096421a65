package storagetest

import (
	"context"
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
	pick := func(seqs ...int64) []evRow {
		var out []evRow
		for _, seq := range seqs {
			out = append(out, all[seq-1])
		}
		return out
	}
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
