package cmdb_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// goneTx's first Delete of a relationship finds it gone, as when a
// concurrent Unrelate committed between a retirement's lookup of the CI's
// relationships and its removal of them.
type goneTx struct {
	storage.Tx
	gone *atomic.Bool
}

func (tx goneTx) Delete(ctx context.Context, kind string, id itil.ID, version int64) error {
	if kind == cmdb.KindRelationship && tx.gone.CompareAndSwap(false, true) {
		return fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	return tx.Tx.Delete(ctx, kind, id, version)
}

// Regression (found by the soak test): retiring a CI under the Cascade
// rule while another command removed one of its relationships failed
// with the relationship's ErrNotFound, an error about a record the caller
// never named; it is a conflict, and the command runs again on fresh
// state.
func TestRetireWhileRelationshipRemoved(t *testing.T) {
	ctx := context.Background()
	var gone atomic.Bool
	store := testkit.WrapTx(memory.NewStore(), func(tx storage.Tx) storage.Tx { return goneTx{tx, &gone} })
	svc, err := cmdb.New(store, cmdb.WithRelationshipRule(cmdb.Cascade))
	require.NoError(t, err)
	app, err := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "payroll"})
	require.NoError(t, err)
	srv, err := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "app01"})
	require.NoError(t, err)
	_, err = svc.Relate(ctx, exampleAdmin, cmdb.RunsOn, app.ID, srv.ID)
	require.NoError(t, err)

	got, err := svc.SetState(ctx, exampleAdmin, srv.ID, cmdb.Retired)
	require.NoError(t, err)
	require.Equal(t, cmdb.Retired, got.State)
	require.True(t, gone.Load())
	rels, err := svc.Relationships(ctx, srv.ID)
	require.NoError(t, err)
	require.Empty(t, rels)
}
