package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/sqlite"
)

func reviewPut(t *testing.T, s storage.Store, rec storage.Record) int64 {
	t.Helper()
	var v int64
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		var err error
		v, err = tx.Put(ctx, rec)
		return err
	}))
	return v
}

// concurrently commits fn in another goroutine and waits for it.
func concurrently(t *testing.T, s storage.Store, fn func(ctx context.Context, tx storage.Tx) error) {
	t.Helper()
	done := make(chan error)
	go func() { done <- s.RunInTx(context.Background(), fn) }()
	require.NoError(t, <-done)
}

// A record that a Query or Lookup fetched on the reader pool, but yielded
// only after the transaction became the writer, is a read: if another
// transaction committed it in between, the commit must conflict.
func TestReviewStaleRowYieldedAfterBecomingWriter(t *testing.T) {
	for _, how := range []string{"query", "lookup"} {
		t.Run(how, func(t *testing.T) {
			s := tenantStore(t)
			ctx := t.Context()
			a, b := itil.NewID(), itil.NewID()
			reviewPut(t, s, storage.Record{Kind: "thing", ID: a, Data: "a", SortKey: "a", Terms: []string{"x=1"}})
			reviewPut(t, s, storage.Record{Kind: "thing", ID: b, Data: "b", SortKey: "b", Terms: []string{"x=1"}})
			err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
				seq := tx.Query(ctx, storage.Query{Kind: "thing"})
				if how == "lookup" {
					seq = tx.Lookup(ctx, "thing", []string{"x=1"})
				}
				for rec, err := range seq {
					if err != nil {
						return err
					}
					if rec.ID != a {
						require.Equal(t, "b", rec.Data, "b as it was before the concurrent commit")
						continue
					}
					concurrently(t, s, func(ctx context.Context, tx storage.Tx) error {
						_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: b, Version: 1, Data: "b2", SortKey: "b", Terms: []string{"x=1"}})
						return err
					})
					// Become the writer.
					if _, err := tx.Put(ctx, storage.Record{Kind: "other", ID: itil.NewID(), Data: "o"}); err != nil {
						return err
					}
				}
				return nil
			})
			require.ErrorIs(t, err, itil.ErrConflict)
		})
	}
}

// A transaction whose only write failed with a conflict, and whose fn then
// returns nil, neither wrote nor appended: it commits.
func TestReviewFailedWriteOnlyCommits(t *testing.T) {
	s := tenantStore(t)
	ctx := t.Context()
	id := itil.NewID()
	reviewPut(t, s, storage.Record{Kind: "thing", ID: id, Data: "1"})
	err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		rec, err := tx.Get(ctx, "thing", id)
		if err != nil {
			return err
		}
		concurrently(t, s, func(ctx context.Context, tx storage.Tx) error {
			_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: id, Version: 1, Data: "2"})
			return err
		})
		_, err = tx.Put(ctx, rec)
		require.ErrorIs(t, err, itil.ErrConflict)
		return nil
	})
	require.NoError(t, err)
}

// Data and sort keys are opaque strings: NUL bytes survive.
func TestReviewOpaqueBytes(t *testing.T) {
	s := tenantStore(t)
	id := itil.NewID()
	rec := storage.Record{Kind: "thing", ID: id, Data: "a\x00b\xff", SortKey: "k\x00z", Terms: []string{"f=\x00v"}}
	reviewPut(t, s, rec)
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		got, err := tx.Get(ctx, "thing", id)
		require.NoError(t, err)
		require.Equal(t, rec.Data, got.Data)
		require.Equal(t, rec.SortKey, got.SortKey)
		require.Equal(t, rec.Terms, got.Terms)
		n := 0
		for r, err := range tx.Query(ctx, storage.Query{Kind: "thing", Terms: []string{"f=\x00v"}, Min: "k\x00", Max: "k\x00{"}) {
			require.NoError(t, err)
			require.Equal(t, rec.Data, r.Data)
			n++
		}
		require.Equal(t, 1, n)
		return nil
	}))
}

// tripCtx is a context that is cancelled at its n-th use (a call of Done or
// Err): searching n puts the cancellation between any two steps of an
// operation.
type tripCtx struct {
	context.Context
	mu      sync.Mutex
	n       int
	ch      chan struct{}
	tripped bool
}

func newTripCtx(n int) *tripCtx {
	return &tripCtx{Context: context.Background(), n: n, ch: make(chan struct{})}
}

func (c *tripCtx) tick() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tripped {
		c.n--
		if c.n < 0 {
			c.tripped = true
			close(c.ch)
		}
	}
	return c.tripped
}

func (c *tripCtx) Done() <-chan struct{} { c.tick(); return c.ch }

func (c *tripCtx) Err() error {
	if c.tick() {
		return context.Canceled
	}
	return nil
}

// When beginning the writer transaction fails, the writer lock is
// released: a later write of the same transaction must not wait for the
// lock the transaction holds itself.
func TestReviewBeginFailureReleasesWriterLock(t *testing.T) {
	s := tenantStore(t)
	runCtx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.RunInTx(runCtx, func(_ context.Context, tx storage.Tx) error {
			cancel() // the writer transaction cannot begin any more
			bg := context.Background()
			if _, err := tx.Put(bg, storage.Record{Kind: "thing", ID: itil.NewID()}); err == nil {
				return fmt.Errorf("put succeeded after RunInTx's context ended")
			}
			_, err := tx.Put(bg, storage.Record{Kind: "thing", ID: itil.NewID()})
			return err
		})
	}()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the second write waits for the writer lock its own transaction holds")
	}
	// And the lock is free for others.
	reviewPut(t, s, storage.Record{Kind: "thing", ID: itil.NewID()})
}

// A write that fails while the transaction checks what it read (here its
// context ends) must not leave the reads unchecked for the next write.
func TestReviewInterruptedCheckKeepsReads(t *testing.T) {
	s := tenantStore(t)
	ctx := t.Context()
	for n := range 120 {
		id := itil.NewID()
		reviewPut(t, s, storage.Record{Kind: "thing", ID: id, Data: "1"})
		err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			if _, err := tx.Get(ctx, "thing", id); err != nil {
				return err
			}
			concurrently(t, s, func(ctx context.Context, tx storage.Tx) error {
				_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: id, Version: 1, Data: "2"})
				return err
			})
			if _, err := tx.Put(newTripCtx(n), storage.Record{Kind: "other", ID: itil.NewID()}); err == nil {
				return nil
			}
			_, err := tx.Put(ctx, storage.Record{Kind: "other", ID: itil.NewID()})
			return err
		})
		require.ErrorIs(t, err, itil.ErrConflict, "cancelled at use %d", n)
	}
}

// A Put or Delete that fails halfway (its context ends between two
// statements) must not leave half a write to be committed: a record
// without its index terms, or terms without their record.
func TestReviewHalfDoneWriteNotCommitted(t *testing.T) {
	s := tenantStore(t)
	ctx := t.Context()
	consistent := func(n int, id itil.ID) {
		t.Helper()
		require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			rec, err := tx.Get(ctx, "thing", id)
			exists := err == nil
			for _, term := range []string{"a=1", "b=1", "c=1", "d=1"} {
				has := exists && slices.Contains(rec.Terms, term)
				found := false
				for r, err := range tx.Query(ctx, storage.Query{Kind: "thing", Terms: []string{term}}) {
					require.NoError(t, err)
					if r.ID == id {
						found = true
						require.Equal(t, rec.Version, r.Version)
					}
				}
				require.Equal(t, has, found, "use %d: term %s: record has it %v, query finds it %v", n, term, has, found)
			}
			return nil
		}))
	}
	for n := range 150 {
		id := itil.NewID()
		reviewPut(t, s, storage.Record{Kind: "thing", ID: id, SortKey: "k", Terms: []string{"a=1", "b=1"}})
		for step, write := range []func(ctx context.Context, tx storage.Tx) error{
			func(ctx context.Context, tx storage.Tx) error { // create
				_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: itil.NewID(), SortKey: "k", Terms: []string{"a=1", "c=1"}})
				return err
			},
			func(ctx context.Context, tx storage.Tx) error { // terms change
				_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: id, Version: 1, SortKey: "k", Terms: []string{"b=1", "c=1", "d=1"}})
				return err
			},
			func(ctx context.Context, tx storage.Tx) error { // sort key changes
				rec, err := tx.Get(ctx, "thing", id)
				if err != nil {
					return err
				}
				_, err = tx.Put(ctx, storage.Record{Kind: "thing", ID: id, Version: rec.Version, SortKey: "m", Terms: []string{"a=1", "d=1"}})
				return err
			},
			func(ctx context.Context, tx storage.Tx) error { // delete
				rec, err := tx.Get(ctx, "thing", id)
				if err != nil {
					return err
				}
				return tx.Delete(ctx, "thing", id, rec.Version)
			},
		} {
			_ = s.RunInTx(ctx, func(_ context.Context, tx storage.Tx) error {
				// Another write first, so that the write under test is not
				// the one that makes the transaction the writer.
				if _, err := tx.Put(ctx, storage.Record{Kind: "other", ID: itil.NewID()}); err != nil {
					return err
				}
				_ = write(newTripCtx(n), tx) // fn ignores the error
				return nil
			})
			consistent(n*10+step, id)
		}
	}
}

// A Lookup with more terms than one statement carries must return each
// record at most once, even while a concurrent commit moves its sort key
// between the statements. (Probabilistic: it needs a commit between two
// statements of one Lookup, which happens within a few lookups.)
func TestReviewLookupChunksEachRecordOnce(t *testing.T) {
	s := mustTenant(t, open(t, sqlite.WithSynchronous(sqlite.Normal)), "default")
	ctx := t.Context()
	id := itil.NewID()
	reviewPut(t, s, storage.Record{Kind: "thing", ID: id, SortKey: "a", Terms: []string{"t=0000", "t=9999"}})
	// Another record between the two sort keys the first one takes.
	reviewPut(t, s, storage.Record{Kind: "thing", ID: itil.NewID(), SortKey: "m", Terms: []string{"t=0008"}})
	terms := make([]string, 1200)
	for i := range terms {
		terms[i] = fmt.Sprintf("t=%04d", i*8)
	}
	terms = append(terms, "t=9999")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for v := int64(1); ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			key := "a"
			if v%2 == 1 {
				key = "z"
			}
			if err := s.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
				_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: id, Version: v, SortKey: key, Terms: []string{"t=0000", "t=9999"}})
				return err
			}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			n := 0
			for _, err := range tx.Lookup(ctx, "thing", terms) {
				require.NoError(t, err)
				n++
			}
			require.LessOrEqual(t, n, 2, "a record returned twice")
			return nil
		}))
	}
}

// TestSequenceExhausted: a sequence at the largest int64 fails instead of
// wrapping around to negative values.
func TestSequenceExhausted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "itil.db")
	b, err := sqlite.Open(path)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO sequences (tenant, name, value) VALUES ('t', 'incident', ?)`, int64(math.MaxInt64-1))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	b, err = sqlite.Open(path)
	require.NoError(t, err)
	defer b.Close()
	s, err := b.Tenant("t")
	require.NoError(t, err)
	next := func() (v int64, err error) {
		err = s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			v, err = tx.NextSeq(ctx, "incident")
			return err
		})
		return v, err
	}
	v, err := next()
	require.NoError(t, err)
	require.EqualValues(t, int64(math.MaxInt64), v)
	for range 2 {
		v, err = next()
		require.Error(t, err)
		require.Zero(t, v)
	}
}
