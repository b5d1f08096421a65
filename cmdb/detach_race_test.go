package cmdb_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// goneStore is a store whose first Delete of a relationship finds it gone,
// as when a concurrent Unrelate committed between a retirement's lookup
// of the CI's relationships and its removal of them.
type goneStore struct {
	storage.Store
	gone atomic.Bool
}

func (s *goneStore) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	return s.Store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		return fn(ctx, goneTx{tx, s})
	})
}

type goneTx struct {
	storage.Tx
	s *goneStore
}

func (tx goneTx) Delete(ctx context.Context, kind string, id itil.ID, version int64) error {
	if kind == cmdb.KindRelationship && tx.s.gone.CompareAndSwap(false, true) {
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
	store := &goneStore{Store: memory.NewStore()}
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
	require.True(t, store.gone.Load())
	rels, err := svc.Relationships(ctx, srv.ID)
	require.NoError(t, err)
	require.Empty(t, rels)
}
