package memory_test

import (
	"context"
	"fmt"
	"iter"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Backend { return memory.New() })
}

func TestNewStore(t *testing.T) {
	s := memory.NewStore()
	require.Equal(t, "default", s.Tenant())
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		n, err := tx.NextSeq(ctx, "incident")
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		return nil
	})
	require.NoError(t, err)
}

// storeOf returns a store holding n records of kind "k", in sort key order.
func storeOf(t *testing.T, n int) storage.Store {
	s := memory.NewStore()
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		for i := range n {
			if _, err := tx.Put(ctx, storage.Record{Kind: "k", ID: itil.NewID(), Data: "{}", SortKey: fmt.Sprintf("%04d", i)}); err != nil {
				return err
			}
		}
		return nil
	}))
	return s
}

// pulledInTx pulls the first n records of a query of kind "k" in a
// transaction and returns the iterator, pulled on no further, after the
// transaction has ended.
func pulledInTx(t *testing.T, s storage.Store, n int) (next func() (storage.Record, error, bool), stop func()) {
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		next, stop = iter.Pull2(tx.Query(ctx, storage.Query{Kind: "k"}))
		for range n {
			_, err, ok := next()
			require.True(t, ok)
			require.NoError(t, err)
		}
		return nil
	}))
	return next, stop
}

// A query iterator pulled on after its transaction ended (its state is
// back in the pool, maybe in use by another transaction) stops with
// ErrTxDone, also where it would fetch its next batch.
func TestQueryResumedAfterTheTransaction(t *testing.T) {
	const n = 600 // more than two of the iterator's batches
	s := storeOf(t, n)
	for _, pulled := range []int{1, 255, 256, 257, 511, 512} {
		next, stop := pulledInTx(t, s, pulled)
		// Another transaction takes the state back from the pool.
		require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			_, err := tx.Put(ctx, storage.Record{Kind: "k", ID: itil.NewID(), Data: "{}"})
			return err
		}))
		_, err, ok := next()
		require.True(t, ok, "after %d", pulled)
		require.ErrorIs(t, err, storage.ErrTxDone, "after %d", pulled)
		stop()
	}
}

// A query whose context ends, or whose transaction ends, between two
// batches reports it where it would read the next batch, even when no
// record follows (as PostgreSQL's does): the iteration does not end as if
// it were complete.
func TestQueryEndedAtABatchBoundary(t *testing.T) {
	for _, n := range []int{256, 512} { // whole batches of the iterator
		s := storeOf(t, n)

		ctx, cancel := context.WithCancel(t.Context())
		var got int
		var last error
		err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			for _, err := range tx.Query(ctx, storage.Query{Kind: "k"}) {
				if err != nil {
					last = err
					break
				}
				if got++; got == n {
					cancel()
				}
			}
			return last
		})
		require.Equal(t, n, got)
		require.ErrorIs(t, last, context.Canceled, "%d records", n)
		require.ErrorIs(t, err, context.Canceled)

		next, stop := pulledInTx(t, s, n)
		_, err, ok := next()
		require.True(t, ok, "%d records", n)
		require.ErrorIs(t, err, storage.ErrTxDone, "%d records", n)
		stop()
	}
}
