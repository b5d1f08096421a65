package feedtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
	"github.com/itilkit/itil/storage/storagetest"
)

// stuck turns a wait that should end into a failure instead of a hang; no
// test asserts on elapsed time.
const stuck = 30 * time.Second

func marks(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

func incidentEvents(ms []string) []ev {
	out := make([]ev, len(ms))
	for i, m := range ms {
		out[i] = incidentEvent(m)
	}
	return out
}

func requireEffectsOnce(t *testing.T, s storage.Store, ms []string) {
	t.Helper()
	got := effects(t, s)
	for _, m := range ms {
		require.Equal(t, 1, got[m], "effect of %s", m)
	}
	require.Len(t, got, len(ms), "effects of events not handled")
}

// testAdvances: each poll handles the next batch in Seq order and moves
// the cursor past it; a poll with nothing new handles nothing; Drain
// handles everything up to the end.
func testAdvances(t *testing.T, s storage.Store) {
	mustWrite(t, s, incidentEvents(marks("a", 1, 3))...)
	mustWrite(t, s, incidentEvents(marks("a", 4, 5))...)
	evs := journal(t, s, 0)
	require.Len(t, evs, 5)
	var r recorder
	c := newConsumer(t, s, "advances", r.handle, feed.WithBatchSize(2))
	require.Equal(t, "advances", c.Name())
	for i, step := range []struct {
		n     int
		marks []string
		pos   int64
	}{
		{2, []string{"a1", "a2"}, evs[1].Seq},
		{2, []string{"a3", "a4"}, evs[3].Seq},
		{1, []string{"a5"}, evs[4].Seq},
		{0, nil, evs[4].Seq},
	} {
		require.Equal(t, step.n, poll(t, c), "poll %d", i)
		require.Equal(t, step.marks, r.take(), "poll %d", i)
		require.Equal(t, step.pos, position(t, c), "poll %d", i)
	}
	for i := 6; i <= 12; i++ {
		mustWrite(t, s, incidentEvent("a"+strconv.Itoa(i)))
	}
	n, err := c.Drain(bounded(t))
	require.NoError(t, err)
	require.Equal(t, 7, n)
	require.Equal(t, marks("a", 6, 12), r.take())
	require.Equal(t, lastSeq(t, s), position(t, c))
	requireEffectsOnce(t, s, marks("a", 1, 12))
}

// testHandlerErrorRollsBack: a handler error rolls back the effects of the
// whole batch and the cursor, and comes back wrapped with the event's Seq
// and type; the next poll hands the batch over again.
func testHandlerErrorRollsBack(t *testing.T, s storage.Store) {
	mustWrite(t, s, incidentEvents(marks("b", 1, 3))...)
	evs := journal(t, s, 0)
	boom := errors.New("mail server down")
	failOn := "b2"
	var r recorder
	c := newConsumer(t, s, "rollback", func(ctx context.Context, tx storage.Tx, e itil.Event) error {
		if err := r.handle(ctx, tx, e); err != nil {
			return err
		}
		if markOf(e) == failOn {
			return boom
		}
		return nil
	})
	n, err := c.Poll(t.Context())
	require.ErrorIs(t, err, boom)
	require.Zero(t, n)
	require.Contains(t, err.Error(), "rollback")
	require.Contains(t, err.Error(), "event "+strconv.FormatInt(evs[1].Seq, 10)+" (incident updated)")
	require.Equal(t, []string{"b1", "b2"}, r.take())
	require.Zero(t, position(t, c), "the cursor stays")
	require.Empty(t, effects(t, s), "the effects of the batch are rolled back, b1's too")

	n, err = c.Drain(bounded(t))
	require.ErrorIs(t, err, boom, "Drain returns the handler's error")
	require.Zero(t, n)
	require.Equal(t, []string{"b1", "b2"}, r.take(), "b1 is handed over again")

	failOn = ""
	require.Equal(t, 3, poll(t, c))
	require.Equal(t, marks("b", 1, 3), r.take())
	require.Equal(t, evs[2].Seq, position(t, c))
	requireEffectsOnce(t, s, marks("b", 1, 3))
}

// testHandlerConflict: a handler whose write conflicts makes the poll
// handle nothing, without an error; the next poll hands the batch over
// again.
func testHandlerConflict(t *testing.T, s storage.Store) {
	mustWrite(t, s, incidentEvents(marks("c", 1, 2))...)
	conflicts := 1
	var r recorder
	c := newConsumer(t, s, "conflict", func(ctx context.Context, tx storage.Tx, e itil.Event) error {
		if err := r.handle(ctx, tx, e); err != nil {
			return err
		}
		if conflicts > 0 {
			conflicts--
			return fmt.Errorf("read model moved: %w", itil.ErrConflict)
		}
		return nil
	})
	require.Zero(t, poll(t, c))
	require.Zero(t, position(t, c))
	require.Empty(t, effects(t, s))
	require.Equal(t, 2, poll(t, c))
	require.Equal(t, []string{"c1", "c1", "c2"}, r.take())
	requireEffectsOnce(t, s, marks("c", 1, 2))
}

// testFilters: only events of the chosen kinds and types reach the
// handler; the cursor moves past the others all the same.
func testFilters(t *testing.T, s storage.Store) {
	mustWrite(t, s, ev{"incident", "opened", "f1"}, ev{"problem", "opened", "f2"},
		ev{"incident", "slm.breached", "f3"})
	mustWrite(t, s, ev{"change", "slm.breached", "f4"}, ev{"incident", "resolved", "f5"})
	last := lastSeq(t, s)
	want := map[string]int{}
	for _, tc := range []struct {
		name string
		opts []feed.Option
		want []string
	}{
		{"Kind", []feed.Option{feed.WithKinds("incident")}, []string{"f1", "f3", "f5"}},
		{"Kinds", []feed.Option{feed.WithKinds("problem", "change")}, []string{"f2", "f4"}},
		{"Type", []feed.Option{feed.WithTypes("slm.breached")}, []string{"f3", "f4"}},
		{"KindAndType", []feed.Option{feed.WithKinds("incident"), feed.WithTypes("slm.breached")}, []string{"f3"}},
		{"NoneMatch", []feed.Option{feed.WithKinds("cmdb.ci")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			c := newConsumer(t, s, "filter-"+tc.name, r.handle, append(tc.opts, feed.WithBatchSize(2))...)
			n, err := c.Drain(bounded(t))
			require.NoError(t, err)
			require.Equal(t, len(tc.want), n)
			require.Equal(t, tc.want, r.take())
			require.Equal(t, last, position(t, c), "the cursor passes the filtered events")
			for _, m := range tc.want {
				want[m]++
			}
		})
	}
	got := effects(t, s)
	for m, n := range want {
		require.Equal(t, n, got[m], "effect of %s", m)
	}
	require.Len(t, got, len(want))
}

// testFromNow: a FromNow consumer without a cursor starts after the last
// event committed when its first poll creates the cursor; one whose cursor
// exists resumes from it.
func testFromNow(t *testing.T, s storage.Store) {
	var r recorder
	empty := newConsumer(t, s, "from-now-empty", r.handle, feed.FromNow())
	require.Zero(t, position(t, empty))
	require.Zero(t, poll(t, empty), "creates the cursor at 0")
	mustWrite(t, s, incidentEvents(marks("n", 1, 2))...)
	require.Equal(t, 2, poll(t, empty), "events after the cursor's creation are handled")
	require.Equal(t, marks("n", 1, 2), r.take())
	atN2 := position(t, empty)

	mustWrite(t, s, incidentEvent("n3"))
	c := newConsumer(t, s, "from-now", r.handle, feed.FromNow())
	require.Equal(t, lastSeq(t, s), position(t, c), "without a cursor, Position is where a poll would start now")
	require.Zero(t, poll(t, c), "the first poll creates the cursor at the last event")
	require.Equal(t, lastSeq(t, s), position(t, c))
	mustWrite(t, s, incidentEvents(marks("n", 4, 5))...)
	require.Equal(t, 2, poll(t, c))
	require.Equal(t, marks("n", 4, 5), r.take())

	again := newConsumer(t, s, "from-now-empty", r.handle, feed.FromNow())
	require.Equal(t, atN2, position(t, again), "an existing cursor is kept")
	requireEffectsOnce(t, s, []string{"n1", "n2", "n4", "n5"})
}

// testFromNowGaps: the last Seq a FromNow consumer starts from is found on
// journals of every length, with the numbers of rolled-back transactions
// in between.
func testFromNowGaps(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c := newConsumer(t, s, "from-now-gaps", applyEffect, feed.FromNow())
	for i := range 40 {
		if i%3 == 1 {
			require.NoError(t, write(ctx, s, false, incidentEvent("rolled-back"), incidentEvent("rolled-back")))
		}
		evs := make([]ev, 1+i%4)
		for j := range evs {
			evs[j] = incidentEvent(fmt.Sprintf("g%d.%d", i, j))
		}
		mustWrite(t, s, evs...)
		require.Equal(t, lastSeq(t, s), position(t, c), "after %d transactions", i+1)
	}
	require.Zero(t, poll(t, c))
	require.Empty(t, effects(t, s))
}

// testPosition: Position reports the shared cursor of a name, 0 before
// anything was passed, and reads only.
func testPosition(t *testing.T, s storage.Store) {
	c := newConsumer(t, s, "position", applyEffect)
	require.Zero(t, position(t, c))
	mustWrite(t, s, incidentEvents(marks("p", 1, 3))...)
	require.Zero(t, position(t, c))
	require.Equal(t, 3, poll(t, c))
	require.Equal(t, lastSeq(t, s), position(t, c))
	other := newConsumer(t, s, "position", applyEffect)
	require.Equal(t, lastSeq(t, s), position(t, other), "instances of a name share the cursor")
	require.Zero(t, position(t, newConsumer(t, s, "position-2", applyEffect)))

	var cursors int
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		for _, err := range tx.Query(ctx, storage.Query{Kind: feed.CursorKind}) {
			if err != nil {
				return err
			}
			cursors++
		}
		return nil
	}))
	require.Equal(t, 1, cursors, "Position creates no cursor")

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Position(ended)
	require.ErrorIs(t, err, context.Canceled)
	n, err := c.Poll(ended)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, n)
}

// testNamesIndependent: consumers of different names keep cursors of
// their own and do not hold each other's lease.
func testNamesIndependent(t *testing.T, s storage.Store) {
	mustWrite(t, s, incidentEvents(marks("i", 1, 3))...)
	var ra, rb recorder
	a := newConsumer(t, s, "alpha", ra.handle)
	b := newConsumer(t, s, "Bêta mailer", rb.handle, feed.WithBatchSize(1))
	require.Equal(t, 3, poll(t, a))
	require.Equal(t, 1, poll(t, b))
	require.Equal(t, marks("i", 1, 3), ra.take())
	require.Equal(t, []string{"i1"}, rb.take())
	evs := journal(t, s, 0)
	require.Equal(t, evs[2].Seq, position(t, a))
	require.Equal(t, evs[0].Seq, position(t, b))
}

func testLeaseTakeover(t *testing.T, s storage.Store) { testLeaseTakeoverOn(t, s, s) }

// testLeaseTakeoverOn: while one instance holds the lease another handles
// nothing; once the lease has expired, the other takes over, and the
// first then handles nothing.
func testLeaseTakeoverOn(t *testing.T, sa, sb storage.Store) {
	clk, lease := newClock(), time.Minute
	var ra, rb recorder
	a := newConsumer(t, sa, "takeover", ra.handle, feed.WithClock(clk), feed.WithLease(lease))
	b := newConsumer(t, sb, "takeover", rb.handle, feed.WithClock(clk), feed.WithLease(lease))
	mustWrite(t, sa, incidentEvents(marks("t", 1, 2))...)
	require.Equal(t, 2, poll(t, a))
	mustWrite(t, sb, incidentEvent("t3"))
	require.Zero(t, poll(t, b), "a holds the lease")
	n, err := b.Drain(bounded(t))
	require.NoError(t, err)
	require.Zero(t, n)
	clk.Advance(lease / 3)
	require.Zero(t, poll(t, b), "a's lease has not expired")
	clk.Advance(lease)
	require.Equal(t, 1, poll(t, b), "a's lease expired: b takes over")
	mustWrite(t, sa, incidentEvent("t4"))
	require.Zero(t, poll(t, a), "b holds the lease")
	require.Equal(t, 1, poll(t, b))
	require.Equal(t, marks("t", 1, 2), ra.take())
	require.Equal(t, marks("t", 3, 4), rb.take())
	requireEffectsOnce(t, sa, marks("t", 1, 4))
	require.Equal(t, lastSeq(t, sa), position(t, a))
}

// testLeaseRenewal: an instance that keeps polling keeps its lease, idle
// or busy; another takes over only after it stops.
func testLeaseRenewal(t *testing.T, s storage.Store) {
	clk, lease := newClock(), time.Minute
	var ra, rb recorder
	a := newConsumer(t, s, "renewal", ra.handle, feed.WithClock(clk), feed.WithLease(lease))
	b := newConsumer(t, s, "renewal", rb.handle, feed.WithClock(clk), feed.WithLease(lease))
	mustWrite(t, s, incidentEvent("r1"))
	require.Equal(t, 1, poll(t, a)) // lease until 0:60
	clk.Advance(40 * time.Second)
	require.Zero(t, poll(t, a)) // 0:40, less than half left: renewed until 1:40
	clk.Advance(40 * time.Second)
	mustWrite(t, s, incidentEvent("r2"))
	require.Zero(t, poll(t, b), "0:80: a renewed its lease while idle")
	require.Equal(t, 1, poll(t, a)) // renewed until 2:20, and by the batch
	clk.Advance(50 * time.Second)
	mustWrite(t, s, incidentEvent("r3"))
	require.Zero(t, poll(t, b), "2:10: a's lease runs until 2:20")
	clk.Advance(20 * time.Second)
	require.Equal(t, 1, poll(t, b), "2:30: a stopped polling, b takes over")
	require.Equal(t, marks("r", 1, 2), ra.take())
	require.Equal(t, []string{"r3"}, rb.take())
	requireEffectsOnce(t, s, marks("r", 1, 3))
}

func testLeaseExpiresMidBatch(t *testing.T, s storage.Store) { testLeaseExpiresMidBatchOn(t, s, s) }

// testLeaseExpiresMidBatchOn: the one case two instances both run the
// handler for an event. a's lease expires while it handles a batch and b
// takes over and handles the same events; a's batch then fails at its
// commit, so the store has every effect once, while the outside deliveries
// of a's handler happened twice.
func testLeaseExpiresMidBatchOn(t *testing.T, sa, sb storage.Store) {
	clk, lease := newClock(), time.Minute
	mustWrite(t, sa, incidentEvents(marks("m", 1, 3))...)
	var ra, rb recorder
	b := newConsumer(t, sb, "mid-batch", rb.handle, feed.WithClock(clk), feed.WithLease(lease))
	var bN int
	var bErr error
	first := true
	a := newConsumer(t, sa, "mid-batch", func(ctx context.Context, tx storage.Tx, e itil.Event) error {
		if first {
			first = false
			clk.Advance(2 * lease) // a is paused for longer than its lease
			done := make(chan struct{})
			go func() {
				defer close(done)
				bN, bErr = b.Poll(context.Background())
			}()
			select {
			case <-done:
			case <-time.After(stuck):
				return errors.New("b's poll is stuck")
			}
		}
		return ra.handle(ctx, tx, e)
	}, feed.WithClock(clk), feed.WithLease(lease))

	n, err := a.Poll(t.Context())
	require.NoError(t, err, "a's batch conflicts: not an error")
	require.Zero(t, n)
	require.NoError(t, bErr)
	require.Equal(t, 3, bN)
	require.Equal(t, marks("m", 1, 3), rb.take())
	got := ra.take()
	require.NotEmpty(t, got)
	require.Equal(t, marks("m", 1, 3)[:len(got)], got, "a ran its handler for a prefix of the batch")
	requireEffectsOnce(t, sa, marks("m", 1, 3))
	require.Equal(t, lastSeq(t, sa), position(t, a))

	mustWrite(t, sb, incidentEvent("m4"))
	require.Zero(t, poll(t, a), "b holds the lease now")
	require.Equal(t, 1, poll(t, b))
	requireEffectsOnce(t, sa, marks("m", 1, 4))
}

// testSkewedClocks: an instance whose clock runs behind still believes it
// holds a lease another instance (whose clock runs ahead) has taken over;
// its next batch sees the cursor record name the other instance and
// handles nothing.
func testSkewedClocks(t *testing.T, s storage.Store) {
	lease := time.Minute
	behind, ahead := newClock(), newClock()
	ahead.Advance(2 * lease)
	var ra, rb recorder
	a := newConsumer(t, s, "skew", ra.handle, feed.WithClock(behind), feed.WithLease(lease))
	b := newConsumer(t, s, "skew", rb.handle, feed.WithClock(ahead), feed.WithLease(lease))
	mustWrite(t, s, incidentEvent("k1"))
	require.Equal(t, 1, poll(t, a))
	mustWrite(t, s, incidentEvent("k2"))
	require.Equal(t, 1, poll(t, b), "by b's clock a's lease has expired")
	mustWrite(t, s, incidentEvent("k3"))
	require.Zero(t, poll(t, a), "a's lease is fresh by its clock, but the cursor names b")
	require.Zero(t, poll(t, a), "b's lease runs until 3:00 by a's clock")
	require.Equal(t, 1, poll(t, b))
	require.Equal(t, []string{"k1"}, ra.take())
	require.Equal(t, []string{"k2", "k3"}, rb.take())
	requireEffectsOnce(t, s, marks("k", 1, 3))
}

// testTenants: a consumer name is per tenant: a tenant's consumer sees
// only its own tenant's journal and keeps its cursor and lease there.
func testTenants(t *testing.T, f storagetest.Factory) {
	b, _ := newBackend(t, f)
	acme, globex := tenant(t, b, "acme"), tenant(t, b, "globex")
	mustWrite(t, acme, incidentEvents(marks("acme", 1, 3))...)
	mustWrite(t, globex, incidentEvent("globex1"))
	var ra, rg recorder
	a := newConsumer(t, acme, "mailer", ra.handle)
	g := newConsumer(t, globex, "mailer", rg.handle)
	require.Equal(t, 3, poll(t, a))
	require.Equal(t, 1, poll(t, g), "acme's instance holds acme's lease only")
	require.Equal(t, marks("acme", 1, 3), ra.take())
	require.Equal(t, []string{"globex1"}, rg.take())
	require.Equal(t, lastSeq(t, acme), position(t, a))
	require.Equal(t, lastSeq(t, globex), position(t, g))
	requireEffectsOnce(t, acme, marks("acme", 1, 3))
	requireEffectsOnce(t, globex, []string{"globex1"})
}

// testRun: Run keeps draining until its context ends and then returns
// ctx.Err(); a handler error ends it with that error.
func testRun(t *testing.T, s storage.Store) {
	var r recorder
	c := newConsumer(t, s, "run", r.handle)
	mustWrite(t, s, incidentEvents(marks("u", 1, 2))...)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, time.Millisecond) }()
	caughtUp := func() bool {
		p, err := c.Position(t.Context())
		return err == nil && p == lastSeq(t, s)
	}
	require.Eventually(t, caughtUp, stuck, time.Millisecond)
	mustWrite(t, s, incidentEvent("u3"))
	require.Eventually(t, caughtUp, stuck, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(stuck):
		t.Fatal("Run did not return after its context ended")
	}
	require.Equal(t, marks("u", 1, 3), r.take())
	requireEffectsOnce(t, s, marks("u", 1, 3))

	boom := errors.New("webhook refused")
	failing := newConsumer(t, s, "run-fails", func(context.Context, storage.Tx, itil.Event) error { return boom })
	require.ErrorIs(t, failing.Run(bounded(t), time.Millisecond), boom)

	err := c.Run(t.Context(), 0)
	var ve *itil.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("every"))
}

// testClockOutOfRange: a clock reading the cursor could not store (outside
// the years 1 to 9999, or a lease ending outside them) is a
// *itil.ValidationError naming "clock", and the consumer handles nothing.
func testClockOutOfRange(t *testing.T, s storage.Store) {
	mustWrite(t, s, incidentEvent("c1"))
	for _, c := range testkit.BadTimes {
		t.Run(c.Name, func(t *testing.T) {
			clk := testkit.ClockAt(c.At)
			var r recorder
			consumer := newConsumer(t, s, "clock", r.handle, feed.WithClock(clk))
			_, err := consumer.Poll(bounded(t))
			var v *itil.ValidationError
			require.ErrorAs(t, err, &v)
			require.True(t, v.Has("clock"), "%v", err)
			require.Empty(t, r.take())
		})
	}
	clk := testkit.ClockAt(time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC))
	var r recorder
	_, err := newConsumer(t, s, "clock", r.handle, feed.WithClock(clk), feed.WithLease(time.Hour)).Poll(bounded(t))
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v, "a lease that would end in the year 10000")
	require.Empty(t, r.take())
}
