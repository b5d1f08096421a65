package problemtest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// countEvents counts the journal events of type typ about subject.
func countEvents(t tb, ctx context.Context, store storage.Store, subject itil.ID, typ string) int {
	t.Helper()
	n := 0
	require.NoError(t, store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: subject}) {
			if err != nil {
				return err
			}
			if ev.Type == typ && ev.SubjectID == subject {
				n++
			}
		}
		return nil
	}))
	return n
}

// testFixRecords: fix records are added, completed and canceled; the
// command that leaves no record open with one complete journals
// EventFixReady; bad input and unknown records are typed errors that
// write nothing.
func testFixRecords(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	p := f.toFix("certificate expiries")
	ch1, ch2, ch3 := itil.NewID(), itil.NewID(), itil.NewID()
	for _, id := range []itil.ID{ch1, ch2, ch3} {
		var err error
		p, err = f.svc.AddFixRecord(f.ctx, analyst, p.ID, "change", id)
		require.NoError(t, err)
	}
	require.Len(t, p.FixRecords, 3)
	assert.Equal(t, problem.FixRecord{Kind: "change", ID: ch1, State: problem.FixOpen}, p.FixRecords[0])
	assert.False(t, p.FixReady())

	t.Run("BadInput", func(t *testing.T) {
		before := f.journalLen()
		for _, c := range []struct {
			name, kind string
			id         itil.ID
			field      string
		}{
			{"blank kind", "  ", ch1, "kind"},
			{"empty kind", "", ch1, "kind"},
			{"long kind", strings.Repeat("k", 161), ch1, "kind"},
			{"kind over the byte limit", strings.Repeat("é", 100), ch1, "kind"},
			{"bad UTF-8", "chan\xffge", ch1, "kind"},
			{"nil ID", "change", itil.NilID, "id"},
			{"duplicate", "change", ch2, "id"},
			{"itself", "change", p.ID, "id"},
		} {
			_, err := f.svc.AddFixRecord(f.ctx, analyst, p.ID, c.kind, c.id)
			testkit.RequireInvalid(t, err, c.field)
		}
		_, err := f.svc.CompleteFixRecord(f.ctx, analyst, p.ID, "", ch1)
		testkit.RequireInvalid(t, err, "kind")
		_, err = f.svc.CancelFixRecord(f.ctx, analyst, p.ID, "change", itil.NilID)
		testkit.RequireInvalid(t, err, "id")
		_, err = f.svc.CompleteFixRecord(f.ctx, analyst, p.ID, "change", itil.NewID())
		require.ErrorIs(t, err, itil.ErrNotFound, "an unknown record")
		_, err = f.svc.CompleteFixRecord(f.ctx, analyst, p.ID, "release", ch1)
		require.ErrorIs(t, err, itil.ErrNotFound, "the same ID under another kind")
		_, err = f.svc.AddFixRecord(f.ctx, analyst, itil.NewID(), "change", ch1)
		require.ErrorIs(t, err, itil.ErrNotFound, "an unknown problem")
		_, err = f.svc.CompleteFixRecord(f.ctx, itil.Actor{}, p.ID, "change", ch1)
		testkit.RequireInvalid(t, err, "actor.id")
		assert.Equal(t, before, f.journalLen(), "nothing written")
		assert.Equal(t, p, f.get(p.ID))
	})

	var err error
	p, err = f.svc.CompleteFixRecord(f.ctx, analyst, p.ID, "change", ch1)
	require.NoError(t, err)
	assert.Equal(t, problem.FixComplete, p.FixRecords[0].State)
	assert.False(t, p.FixReady())
	_, err = f.svc.CompleteFixRecord(f.ctx, analyst, p.ID, "change", ch1)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "complete twice")
	_, err = f.svc.CancelFixRecord(f.ctx, analyst, p.ID, "change", ch1)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "cancel a complete record")
	p, err = f.svc.CancelFixRecord(f.ctx, analyst, p.ID, "change", ch2)
	require.NoError(t, err)
	assert.False(t, p.FixReady())
	assert.Zero(t, countEvents(t, f.ctx, f.store, p.ID, problem.EventFixReady))
	p, err = f.svc.CompleteFixRecord(f.ctx, analyst, p.ID, "change", ch3)
	require.NoError(t, err)
	assert.True(t, p.FixReady())
	assert.Equal(t, 1, countEvents(t, f.ctx, f.store, p.ID, problem.EventFixReady))
	h, err := f.svc.History(f.ctx, p.ID)
	require.NoError(t, err)
	last := h[len(h)-1]
	assert.Equal(t, problem.EventFixReady, last.Type)
	assert.Equal(t, []itil.ID{ch3}, last.Refs)
	require.Len(t, last.Fields, 1)
	assert.Equal(t, "fix_records", last.Fields[0].Field)

	// Adding a record makes the fix not ready again; it becomes ready
	// again when that record ends.
	ch4 := itil.NewID()
	p, err = f.svc.AddFixRecord(f.ctx, analyst, p.ID, "release", ch4)
	require.NoError(t, err)
	assert.False(t, p.FixReady())
	p, err = f.svc.CancelFixRecord(f.ctx, analyst, p.ID, "release", ch4)
	require.NoError(t, err)
	assert.True(t, p.FixReady(), "canceling the last open record with another complete")
	assert.Equal(t, 2, countEvents(t, f.ctx, f.store, p.ID, problem.EventFixReady))

	// Only canceled records: no fix was delivered, not ready.
	q := f.toRCA("all canceled")
	ch5 := itil.NewID()
	_, err = f.svc.AddFixRecord(f.ctx, analyst, q.ID, "change", ch5)
	require.NoError(t, err)
	q, err = f.svc.CancelFixRecord(f.ctx, analyst, q.ID, "change", ch5)
	require.NoError(t, err)
	assert.False(t, q.FixReady())
	assert.Zero(t, countEvents(t, f.ctx, f.store, q.ID, problem.EventFixReady))

	// The limit.
	r := f.open("many changes")
	for range problem.MaxFixRecords {
		_, err := f.svc.AddFixRecord(f.ctx, analyst, r.ID, "change", itil.NewID())
		require.NoError(t, err)
	}
	_, err = f.svc.AddFixRecord(f.ctx, analyst, r.ID, "change", itil.NewID())
	testkit.RequireInvalid(t, err, "fix_records")

	// Final problems: no record is added, completed or canceled.
	c := f.toClosed("closed")
	_, err = f.svc.AddFixRecord(f.ctx, analyst, c.ID, "change", itil.NewID())
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	// A resolved problem takes no new record but its records still end.
	d := f.toFix("resolved with a change still open")
	ch6 := itil.NewID()
	_, err = f.svc.AddFixRecord(f.ctx, analyst, d.ID, "change", ch6)
	require.NoError(t, err)
	_, err = f.svc.Update(f.ctx, analyst, d.ID, problem.Patch{FixNotes: ptr("hotfix applied by hand")})
	require.NoError(t, err)
	_, err = f.svc.Resolve(f.ctx, analyst, d.ID)
	require.NoError(t, err)
	_, err = f.svc.AddFixRecord(f.ctx, analyst, d.ID, "change", itil.NewID())
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	d, err = f.svc.CompleteFixRecord(f.ctx, analyst, d.ID, "change", ch6)
	require.NoError(t, err)
	assert.True(t, d.FixReady())
	assert.Zero(t, countEvents(t, f.ctx, f.store, d.ID, problem.EventFixReady), "a resolved problem has nothing left to resolve")
	_, err = f.svc.Complete(f.ctx, analyst, d.ID)
	require.NoError(t, err)
	_, err = f.svc.CompleteFixRecord(f.ctx, analyst, d.ID, "change", ch6)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// The Authorizer sees the fix record commands.
	var seen []string
	var mu sync.Mutex
	g := setup(t, newStore, problem.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, _ *problem.Problem) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, command)
		if command == problem.CommandCancelFixRecord {
			return errors.New("only change managers cancel")
		}
		return nil
	}))
	e := g.open("authorized")
	ch7 := itil.NewID()
	_, err = g.svc.AddFixRecord(g.ctx, analyst, e.ID, "change", ch7)
	require.NoError(t, err)
	_, err = g.svc.CancelFixRecord(g.ctx, analyst, e.ID, "change", ch7)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Contains(t, seen, problem.CommandAddFixRecord)
	assert.Contains(t, seen, problem.CommandCancelFixRecord)
}

// testTwoInstancesFixReady: two instances complete the last two open fix
// records of a problem at the same moment; both commands succeed and the
// fix-ready event is journaled exactly once.
func testTwoInstancesFixReady(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	c := newClock()
	svcA, err := problem.New(a, problem.WithClock(c))
	require.NoError(t, err)
	svcB, err := problem.New(b, problem.WithClock(c))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: t.Context(), store: a, svc: svcA, clock: c}
	for range 5 {
		p := f.toFix("two changes")
		ch1, ch2 := itil.NewID(), itil.NewID()
		for _, id := range []itil.ID{ch1, ch2} {
			_, err := svcA.AddFixRecord(f.ctx, analyst, p.ID, "change", id)
			require.NoError(t, err)
		}
		errs := make([]error, 2)
		var race sync.WaitGroup
		race.Go(func() { _, errs[0] = svcA.CompleteFixRecord(f.ctx, analyst, p.ID, "change", ch1) })
		race.Go(func() { _, errs[1] = svcB.CompleteFixRecord(f.ctx, analyst, p.ID, "change", ch2) })
		race.Wait()
		for i, err := range errs {
			if errors.Is(err, itil.ErrConflict) {
				// The retries did not absorb it: the caller's turn.
				_, err = []*problem.Service{svcA, svcB}[i].CompleteFixRecord(f.ctx, analyst, p.ID, "change", []itil.ID{ch1, ch2}[i])
			}
			require.NoError(t, err)
		}
		got, err := svcB.Get(f.ctx, p.ID)
		require.NoError(t, err)
		assert.True(t, got.FixReady())
		assert.Equal(t, 1, countEvents(t, f.ctx, b, p.ID, problem.EventFixReady), "the fix is ready once")
		assert.Equal(t, 1, countEvents(t, f.ctx, a, p.ID, problem.EventFixRecordCompleted))
	}
}

// byFixRecord lists the numbers of the problems that list a fix record.
func byFixRecord(t tb, f *fixture, kind string, id itil.ID) []string {
	t.Helper()
	var out []string
	for p, err := range f.svc.ByFixRecord(f.ctx, kind, id) {
		require.NoError(t, err)
		out = append(out, p.Number)
	}
	return out
}

// testDuplicateFixRecords: MarkDuplicate moves the duplicate's fix
// records to the survivor (those the survivor lists keep the survivor's
// state), journals EventFixReady on the survivor when they make its fix
// ready, and refuses a move past MaxFixRecords without writing anything;
// ByFixRecord finds the problems that list a record.
func testDuplicateFixRecords(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	add := func(p itil.ID, id itil.ID) {
		t.Helper()
		_, err := f.svc.AddFixRecord(f.ctx, analyst, p, "change", id)
		require.NoError(t, err)
	}
	complete := func(p itil.ID, id itil.ID) {
		t.Helper()
		_, err := f.svc.CompleteFixRecord(f.ctx, analyst, p, "change", id)
		require.NoError(t, err)
	}

	t.Run("Move", func(t *testing.T) {
		s, d := f.toRCA("VPN drops"), f.toRCA("VPN drops again")
		ch1, ch3 := itil.NewID(), itil.NewID()
		add(s.ID, ch1)
		add(d.ID, ch1)
		complete(d.ID, ch1)
		add(d.ID, ch3)
		assert.Equal(t, []string{s.Number, d.Number}, byFixRecord(t, f, "change", ch1))
		got, err := f.svc.MarkDuplicate(f.ctx, analyst, d.ID, s.ID)
		require.NoError(t, err)
		assert.Empty(t, got.FixRecords, "a duplicate keeps no fix records")
		assert.Equal(t, []problem.FixRecord{
			{Kind: "change", ID: ch1, State: problem.FixOpen}, // the survivor's own state stands
			{Kind: "change", ID: ch3, State: problem.FixOpen},
		}, f.get(s.ID).FixRecords)
		assert.Equal(t, []string{s.Number}, byFixRecord(t, f, "change", ch1))
		assert.Equal(t, []string{s.Number}, byFixRecord(t, f, "change", ch3))
		assert.Empty(t, byFixRecord(t, f, "change", itil.NewID()))
		assert.Empty(t, byFixRecord(t, f, "release", ch1), "the kind is part of the record's name")
		assert.Equal(t, 0, countEvents(t, f.ctx, f.store, s.ID, problem.EventFixReady))
		// The moved record is the survivor's now: completing both makes
		// its fix ready.
		complete(s.ID, ch1)
		p, err := f.svc.CompleteFixRecord(f.ctx, analyst, s.ID, "change", ch3)
		require.NoError(t, err)
		assert.True(t, p.FixReady())
	})

	t.Run("MakesReady", func(t *testing.T) {
		s, d := f.toRCA("printer queue stalls"), f.toRCA("print jobs lost")
		ch := itil.NewID()
		add(d.ID, ch)
		complete(d.ID, ch)
		_, err := f.svc.MarkDuplicate(f.ctx, analyst, d.ID, s.ID)
		require.NoError(t, err)
		got := f.get(s.ID)
		assert.True(t, got.FixReady())
		assert.Equal(t, 1, countEvents(t, f.ctx, f.store, s.ID, problem.EventFixReady), "the survivor's fix is ready, journaled once")
		assert.Equal(t, 0, countEvents(t, f.ctx, f.store, s.ID, problem.EventDuplicateLinked))
	})

	t.Run("TooMany", func(t *testing.T) {
		s, d := f.toRCA("disk latency"), f.toRCA("disk latency spikes")
		for range problem.MaxFixRecords - 1 {
			add(s.ID, itil.NewID())
		}
		add(d.ID, itil.NewID())
		add(d.ID, itil.NewID())
		before := f.journalLen()
		_, err := f.svc.MarkDuplicate(f.ctx, analyst, d.ID, s.ID)
		testkit.RequireInvalid(t, err, "fix_records")
		assert.Equal(t, before, f.journalLen(), "nothing written")
		assert.Len(t, f.get(d.ID).FixRecords, 2)
		assert.Equal(t, problem.StateRootCauseAnalysis, f.get(d.ID).State)
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, c := range []struct {
			kind  string
			id    itil.ID
			field string
		}{{"", itil.NewID(), "kind"}, {"change", itil.NilID, "id"}, {strings.Repeat("k", 200), itil.NewID(), "kind"}} {
			n := 0
			for p, err := range f.svc.ByFixRecord(f.ctx, c.kind, c.id) {
				n++
				assert.Nil(t, p)
				testkit.RequireInvalid(t, err, c.field)
			}
			assert.Equal(t, 1, n)
		}
	})
}
