package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

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
