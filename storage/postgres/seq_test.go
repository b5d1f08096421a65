package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// fakeNow makes b's sequence blocks see a clock that moves only by step on
// each reading.
// errRollback makes RunInTx roll back.
var errRollback = errors.New("roll back")

func fakeNow(b *Backend, step time.Duration) {
	t := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	b.seqs.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

func takeSeq(t *testing.T, s storage.Store, name string) int64 {
	t.Helper()
	var v int64
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		var err error
		v, err = tx.NextSeq(ctx, name)
		return err
	}))
	return v
}

// reserved reads how far the sequence has been reserved in the database.
func reserved(t require.TestingT, b *Backend, tenant, name string) int64 {
	var v int64
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT value FROM sequences WHERE tenant = $1 AND name = $2`, tenant, name).Scan(&v))
	return v
}

func TestSequenceCacheOption(t *testing.T) {
	dsn := freshSchema(t)
	for _, n := range []int{0, -3} {
		_, err := Open(t.Context(), dsn, WithSequenceCache(n))
		var ve *itil.ValidationError
		require.ErrorAs(t, err, &ve, "WithSequenceCache(%d)", n)
		require.Contains(t, err.Error(), "sequence_cache")
	}
}

// TestSequenceBlocksGrowWhenBusy: values used up quickly come from blocks
// of 1, 2, 4, ... up to the cache size, handed out consecutively.
func TestSequenceBlocksGrowWhenBusy(t *testing.T) {
	b := openIn(t, freshSchema(t), WithSequenceCache(8))
	fakeNow(b, time.Millisecond)
	s := tenantOf(t, b, "t")
	// After value v, the database has reserved up to want[v].
	want := map[int64]int64{1: 1, 2: 3, 3: 3, 4: 7, 7: 7, 8: 15, 15: 15, 16: 23, 23: 23, 24: 31}
	for v := int64(1); v <= 24; v++ {
		require.Equal(t, v, takeSeq(t, s, "incident"))
		if end, ok := want[v]; ok {
			require.Equal(t, end, reserved(t, b, "t", "incident"), "reserved after value %d", v)
		}
	}
}

// TestSequenceQuietInstancesStayInOrder: when each block lasts longer than
// the busy window, two instances hand out consecutive numbers in the order
// they take them, and nothing is reserved ahead.
func TestSequenceQuietInstancesStayInOrder(t *testing.T) {
	dsn := freshSchema(t)
	one, two := openIn(t, dsn), openIn(t, dsn)
	fakeNow(one, 2*busyWindow)
	fakeNow(two, 2*busyWindow)
	s1, s2 := tenantOf(t, one, "t"), tenantOf(t, two, "t")
	for v := int64(1); v <= 10; v += 2 {
		require.Equal(t, v, takeSeq(t, s1, "incident"))
		require.Equal(t, v+1, takeSeq(t, s2, "incident"))
	}
	require.EqualValues(t, 10, reserved(t, one, "t", "incident"))
}

// TestSequenceInstancesNeverShareValues: three instances (one without a
// cache) take values concurrently, some in transactions that roll back;
// no value is handed out twice, each goroutine sees its values increase,
// and an instance opened afterwards continues past all of them.
func TestSequenceInstancesNeverShareValues(t *testing.T) {
	dsn := freshSchema(t)
	backends := []*Backend{openIn(t, dsn), openIn(t, dsn), openIn(t, dsn, WithSequenceCache(1))}
	const perGoroutine = 150
	var mu sync.Mutex
	var all []int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for _, b := range backends {
		s := tenantOf(t, b, "t")
		for range 2 {
			wg.Go(func() {
				var last int64
				for i := range perGoroutine {
					var v int64
					err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
						var err error
						if v, err = tx.NextSeq(ctx, "incident"); err != nil {
							return err
						}
						if i%3 == 0 {
							return errRollback
						}
						return nil
					})
					if err != nil && !errors.Is(err, errRollback) {
						errs <- err
						return
					}
					if v <= last {
						errs <- errors.New("values of one goroutine went down")
						return
					}
					last = v
					mu.Lock()
					all = append(all, v)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, all, len(backends)*2*perGoroutine)
	slices.Sort(all)
	require.Len(t, slices.Compact(slices.Clone(all)), len(all), "a value was handed out twice")
	for _, b := range backends {
		require.NoError(t, b.Close())
	}
	later := tenantOf(t, openIn(t, dsn), "t")
	require.Greater(t, takeSeq(t, later, "incident"), all[len(all)-1])
}

// TestSequenceWaitRespectsContext: a NextSeq waiting for another
// goroutine's refill of the same sequence gives up when its context ends.
func TestSequenceWaitRespectsContext(t *testing.T) {
	b := newBackend(t)
	s := tenantOf(t, b, "t")
	blk := b.seqs.block(seqKey{"t", "incident"})
	blk.lock <- struct{}{} // as if a refill were under way
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.NextSeq(ctx, "incident")
		return err
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	<-blk.lock
	require.EqualValues(t, 1, takeSeq(t, s, "incident"))
}

// seqModel is what one instance should hold: the block it reserved and
// when, on its own clock.
type seqModel struct {
	b               *Backend
	clock           time.Time
	next, end, size int64
	reservedAt      time.Time
	last            int64
}

// TestSequenceModel runs three instances (the third without a cache) on
// one database with random takes, quiet or busy gaps on each instance's
// clock, rollbacks and restarts, against a model of the block rule (grow
// while busy, drop a block older than the busy window): each
// value is the one the model predicts, the database has reserved what it
// predicts, and no value is handed out twice.
func TestSequenceModel(t *testing.T) {
	pool := openIn(t, freshSchema(t)).pool // schema migrated
	tenants := 0
	rapid.Check(t, func(rt *rapid.T) {
		tenants++
		tenant := fmt.Sprintf("t%d", tenants)
		caches := []int{4, 8, 1}
		open := func(i int) *seqModel {
			// An instance restarting: a new backend, the same database.
			b, err := New(t.Context(), pool, WithoutMigrations(), WithSequenceCache(caches[i]))
			require.NoError(rt, err)
			m := &seqModel{b: b, clock: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
			b.seqs.now = func() time.Time { return m.clock }
			return m
		}
		insts := []*seqModel{open(0), open(1), open(2)}
		var db int64 // reserved in the database
		seen := map[int64]bool{}
		rt.Repeat(map[string]func(*rapid.T){
			"take": func(rt *rapid.T) {
				i := rapid.IntRange(0, len(insts)-1).Draw(rt, "instance")
				m := insts[i]
				m.clock = m.clock.Add(rapid.SampledFrom([]time.Duration{time.Millisecond, busyWindow / 2, 2 * busyWindow}).Draw(rt, "gap"))
				rollback := rapid.Bool().Draw(rt, "rollback")
				want := m.next
				fresh := m.size > 0 && m.clock.Sub(m.reservedAt) < busyWindow
				if m.next == 0 || m.next > m.end || !fresh {
					size := int64(1)
					if fresh {
						size = min(2*m.size, int64(caches[i]))
					}
					db += size
					want, m.end, m.size, m.reservedAt = db-size+1, db, size, m.clock
				}
				m.next = want + 1
				s, err := m.b.Tenant(tenant)
				require.NoError(rt, err)
				var got int64
				err = s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
					if got, err = tx.NextSeq(ctx, "incident"); err != nil {
						return err
					}
					if rollback {
						return errRollback
					}
					return nil
				})
				if !rollback {
					require.NoError(rt, err)
				}
				require.Equal(rt, want, got, "instance %d", i)
				require.False(rt, seen[got], "%d handed out twice", got)
				require.Greater(rt, got, m.last, "instance %d went down", i)
				seen[got], m.last = true, got
				require.Equal(rt, db, reserved(rt, m.b, tenant, "incident"))
			},
			"restart": func(rt *rapid.T) {
				i := rapid.IntRange(0, len(insts)-1).Draw(rt, "instance")
				insts[i] = open(i)
			},
		})
	})
}

// TestSequenceLeftoverDropped: a block left over from a burst is dropped
// once it is older than the busy window, so quiet instances go back to
// handing out numbers in the order they take them.
func TestSequenceLeftoverDropped(t *testing.T) {
	dsn := freshSchema(t)
	one, two := openIn(t, dsn), openIn(t, dsn)
	clock := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	one.seqs.now = func() time.Time { return clock }
	two.seqs.now = func() time.Time { return clock }
	s1, s2 := tenantOf(t, one, "t"), tenantOf(t, two, "t")
	for v := int64(1); v <= 2; v++ { // a burst: 1, then a block of 2..3
		require.Equal(t, v, takeSeq(t, s1, "incident"))
	}
	clock = clock.Add(time.Hour)
	require.EqualValues(t, 4, takeSeq(t, s2, "incident"))
	require.EqualValues(t, 5, takeSeq(t, s1, "incident"), "3 was left over an hour ago")
}

// TestSequenceExhausted: a sequence at the largest int64 fails instead of
// wrapping around.
func TestSequenceExhausted(t *testing.T) {
	b := newBackend(t)
	fakeNow(b, time.Millisecond)
	s := tenantOf(t, b, "t")
	_, err := b.pool.Exec(t.Context(), `INSERT INTO sequences (tenant, name, value) VALUES ('t', 'incident', $1)`, int64(math.MaxInt64-1))
	require.NoError(t, err)
	require.EqualValues(t, int64(math.MaxInt64), takeSeq(t, s, "incident"))
	for range 2 {
		err = s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			v, err := tx.NextSeq(ctx, "incident")
			require.Zero(t, v)
			return err
		})
		require.Error(t, err)
	}
}

// TestSequenceBlocksCommitDurably: a block of more than one value commits
// with the server's synchronous_commit, since values handed out later
// from memory must not outlive their reservation in a server crash; a
// single value goes to the transaction that took it, whose durable
// commit flushes the reservation, so it does not wait for its flush.
func TestSequenceBlocksCommitDurably(t *testing.T) {
	b := newBackend(t)
	fakeNow(b, time.Millisecond)
	s := tenantOf(t, b, "t")
	type reservation struct {
		size       int64
		syncCommit string // as the server had it
	}
	var got []reservation
	b.seqs.onReserve = func(size int64, syncCommit string) { got = append(got, reservation{size, syncCommit}) }
	for range 4 {
		takeSeq(t, s, "incident")
	}
	require.Equal(t, []reservation{{1, "off"}, {2, "on"}, {4, "on"}}, got)
}
