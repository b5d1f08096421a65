package memory

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/storage"
)

// TestSequenceExhausted: a sequence at the largest int64 fails instead of
// wrapping around to negative values.
func TestSequenceExhausted(t *testing.T) {
	s := NewStore()
	s.(*tenant).seqs["incident"] = math.MaxInt64 - 1
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
	v, err = next()
	require.Error(t, err)
	require.Zero(t, v)
}
