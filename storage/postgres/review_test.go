package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
)

// withIsolation sets the default isolation level of dsn's sessions, as a
// DBA may for a database.
func withIsolation(dsn, level string) string {
	return strings.ReplaceAll(testkit.WithDSNParam(dsn, "default_transaction_isolation", level), "+", "%20")
}

// waitUntilBlocked waits until a backend of the server waits for a lock
// while running a statement that contains fragment.
func waitUntilBlocked(t *testing.T, fragment string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(stuck)
	for {
		var waiting int
		require.NoError(t, serverAdmin(t).QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
			fragment).Scan(&waiting))
		if waiting > 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("finished instead of waiting for the lock: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "never waited for the lock")
		time.Sleep(10 * time.Millisecond)
	}
}

// waitUntilIdle waits until no backend of the server runs a statement that
// contains fragment.
func waitUntilIdle(t *testing.T, fragment string) {
	t.Helper()
	deadline := time.Now().Add(stuck)
	for {
		var active int
		require.NoError(t, serverAdmin(t).QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid()
				AND query LIKE '%' || $1 || '%'`, fragment).Scan(&active))
		if active == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "a backend still runs %q", fragment)
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReadSetUnderRepeatableRead: the read-set rule holds whatever the
// database's default isolation level. B reads X and writes Y while A's
// update of X waits before COMMIT (A holds X's lock); B's commit waits for
// that lock, and must then see A's revision and conflict. With the
// commit's transaction at the database default (REPEATABLE READ here)
// its check read a snapshot taken before the lock was granted and missed
// A's write: B committed on a stale read.
func TestReadSetUnderRepeatableRead(t *testing.T) {
	dsn := withIsolation(freshSchema(t), "repeatable read")
	a, b := openIn(t, dsn), openIn(t, dsn)
	sa, sb := tenantOf(t, a, "t"), tenantOf(t, b, "t")
	x := itil.NewID()
	require.NoError(t, sa.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, storage.Record{Kind: "k", ID: x, Data: "0"})
		return err
	}))

	aDone, release := heldAtCommit(t, a, func() error {
		return sa.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
			rec, err := tx.Get(ctx, "k", x)
			if err != nil {
				return err
			}
			rec.Data = "1"
			_, err = tx.Put(ctx, rec)
			return err
		})
	})

	bRead, bDone := make(chan struct{}), make(chan error, 1)
	go func() {
		bDone <- sb.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
			rec, err := tx.Get(ctx, "k", x)
			if err != nil {
				return err
			}
			if rec.Data != "0" {
				return errors.New("B saw A's uncommitted write")
			}
			close(bRead)
			_, err = tx.Put(ctx, storage.Record{Kind: "k", ID: itil.NewID(), Data: "y"})
			return err
		})
	}()
	select {
	case <-bRead:
	case err := <-bDone:
		t.Fatalf("B: %v", err)
	}
	waitUntilBlocked(t, "itil_commit_check", bDone)
	release()
	require.NoError(t, waitFor(t, aDone, "A"))
	err := waitFor(t, bDone, "B")
	require.ErrorIs(t, err, itil.ErrConflict, "B read X before A's commit and must not commit after it")
}

// TestConcurrentAppendsUnderSerializable: two transactions that only
// append both commit, whatever the database's default isolation level
// (under SERIALIZABLE the second one's journal head update failed with
// a serialisation error, reported as a conflict).
func TestConcurrentAppendsUnderSerializable(t *testing.T) {
	dsn := withIsolation(freshSchema(t), "serializable")
	a, b := openIn(t, dsn), openIn(t, dsn)
	sa, sb := tenantOf(t, a, "t"), tenantOf(t, b, "t")
	subject := itil.NewID()
	require.NoError(t, appendTx(sa, subject, "a0")(t.Context()))

	aDone, release := heldAtCommit(t, a, func() error { return appendTx(sa, subject, "a1")(context.Background()) })
	bDone := make(chan error, 1)
	go func() { bDone <- appendTx(sb, subject, "b1")(context.Background()) }()
	waitUntilBlocked(t, "journal_heads", bDone)
	release()
	require.NoError(t, waitFor(t, aDone, "A"))
	require.NoError(t, waitFor(t, bDone, "B"))
	marks, seqs := readJournalAfter(t, tenantOf(t, a, "t"), 0)
	require.Equal(t, []string{"a0", "a1", "b1"}, marks)
	require.Equal(t, []int64{1, 2, 3}, seqs)
}

// TestCancelledCommitCommitsNothing: a commit waiting on the server for a
// lock when its context ends returns at once with the context's error, and
// then must not commit. Closing the socket alone (pgx's default on a
// cancelled context) left the server running the rest of the pipeline,
// COMMIT included, as soon as the lock was granted: B's event appeared in
// the journal after B's RunInTx had reported failure.
func TestCancelledCommitCommitsNothing(t *testing.T) {
	dsn := freshSchema(t)
	a, b := openIn(t, dsn), openIn(t, dsn)
	sa, sb := tenantOf(t, a, "t"), tenantOf(t, b, "t")
	subject := itil.NewID()

	aDone, release := heldAtCommit(t, a, func() error { return appendTx(sa, subject, "a1")(context.Background()) })
	bDone := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { bDone <- appendTx(sb, subject, "b1")(ctx) }()
	waitUntilBlocked(t, "journal_heads", bDone)
	cancel()
	err := waitFor(t, bDone, "B")
	require.ErrorIs(t, err, context.Canceled)

	release()
	require.NoError(t, waitFor(t, aDone, "A"))
	waitUntilIdle(t, "journal_heads")
	marks, _ := readJournalAfter(t, sa, 0)
	require.Equal(t, []string{"a1"}, marks, "B reported failure, so its event must not be committed")
	require.Zero(t, b.pool.Stat().AcquiredConns(), "B's connection went back to the pool")
}

// TestLockTimeoutIsConflict: a commit that gives up waiting for another
// transaction's lock (lock_timeout set by a DBA) reports itil.ErrConflict,
// like any other lost race, and writes nothing.
func TestLockTimeoutIsConflict(t *testing.T) {
	dsn := freshSchema(t)
	b := openIn(t, testkit.WithDSNParam(dsn, "lock_timeout", "100ms"))
	s := tenantOf(t, b, "t")
	id := itil.NewID()
	holder, err := b.pool.Acquire(t.Context())
	require.NoError(t, err)
	defer holder.Release()
	_, err = holder.Exec(t.Context(), `SELECT pg_advisory_lock($1)`, lockKey("t", wkey{"k", id}))
	require.NoError(t, err)
	err = s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, storage.Record{Kind: "k", ID: id, Data: "{}"})
		return err
	})
	require.ErrorIs(t, err, itil.ErrConflict)
	_, err = holder.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, lockKey("t", wkey{"k", id}))
	require.NoError(t, err)
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Get(ctx, "k", id)
		require.ErrorIs(t, err, itil.ErrNotFound)
		return nil
	}))
}

// TestNextSeqUnderSerializable: a database whose default isolation is
// SERIALIZABLE does not make concurrent NextSeq calls fail.
func TestNextSeqUnderSerializable(t *testing.T) {
	dsn := withIsolation(freshSchema(t), "serializable")
	stores := []storage.Store{
		tenantOf(t, openIn(t, dsn, WithSequenceCache(1)), "t"),
		tenantOf(t, openIn(t, dsn, WithSequenceCache(1)), "t"),
	}
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			var err error
			for range 40 {
				if err = stores[i%2].RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
					_, err := tx.NextSeq(ctx, "incident")
					return err
				}); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}
