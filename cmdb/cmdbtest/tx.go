package cmdbtest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage"
)

var errRollBack = errors.New("roll back")

// inTx: commands bound to a caller's transaction (In) are all or nothing
// with it. A CI created and related in a transaction that rolls back
// leaves no CI, no relationship, no journal event and no edge in the
// impact index (which only ever learns of committed relationships, from
// the journal); one that commits is seen by the index after catch-up.
// Bound queries see the transaction's own writes.
func inTx(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	store := newStore(t)
	svc, err := cmdb.New(store)
	require.NoError(t, err)
	app, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "payroll", State: cmdb.Operational})
	require.NoError(t, err)
	srv, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01", State: cmdb.Operational})
	require.NoError(t, err)
	affected := func(svc *cmdb.Service, origin itil.ID, noIndex bool) []string {
		t.Helper()
		res, err := svc.Impact(ctx, origin, cmdb.ImpactOptions{NoIndex: noIndex})
		require.NoError(t, err)
		var names []string
		for _, a := range res.Affected {
			names = append(names, a.Name)
		}
		return names
	}
	require.Empty(t, affected(svc, srv.ID, false)) // builds the index
	before := len(journal(t, store))

	var vmID itil.ID
	err = store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		in := svc.In(tx)
		vm, err := in.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassVirtualMachine, Name: "vm01", State: cmdb.Operational})
		if err != nil {
			return err
		}
		vmID = vm.ID
		if _, err := in.Relate(ctx, admin, cmdb.RunsOn, app.ID, srv.ID); err != nil {
			return err
		}
		if _, err := in.Relate(ctx, admin, cmdb.HostedOn, vm.ID, srv.ID); err != nil {
			return err
		}
		// The bound Service reads the transaction's own writes.
		require.Equal(t, []string{"payroll", "vm01"}, affected(in, srv.ID, false))
		got, err := in.Get(ctx, vm.ID)
		require.NoError(t, err)
		require.Equal(t, vm, got)
		return errRollBack
	})
	require.ErrorIs(t, err, errRollBack)
	_, err = svc.Get(ctx, vmID)
	require.ErrorIs(t, err, itil.ErrNotFound, "the CI was rolled back")
	rels, err := svc.Relationships(ctx, srv.ID)
	require.NoError(t, err)
	require.Empty(t, rels, "the relationships were rolled back")
	require.Len(t, journal(t, store), before, "nothing journaled")
	require.Empty(t, affected(svc, srv.ID, false), "no edge in the index after catch-up")
	require.Empty(t, affected(svc, srv.ID, true))
	st, err := svc.Propagate(ctx, []itil.ID{srv.ID}, nil)
	require.NoError(t, err)
	require.Empty(t, st)

	// Committed, the same relationship reaches the index through the
	// journal.
	require.NoError(t, store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		_, err := svc.In(tx).Relate(ctx, admin, cmdb.RunsOn, app.ID, srv.ID)
		return err
	}))
	require.Equal(t, []string{"payroll"}, affected(svc, srv.ID, false))
	require.Equal(t, []string{"payroll"}, affected(svc, srv.ID, true))

	// A bound command that fails leaves the transaction to its caller,
	// having written nothing of its own.
	err = store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		in := svc.In(tx)
		if _, err := in.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLocation, Name: "DC1"}); err != nil {
			return err
		}
		err := in.DeleteCI(ctx, admin, srv.ID) // Block: it has a relationship
		require.ErrorIs(t, err, itil.ErrInvalidTransition)
		return nil
	})
	require.NoError(t, err)
	_, err = svc.Get(ctx, srv.ID)
	require.NoError(t, err)
	found := 0
	for c, err := range svc.List(ctx, cmdb.Filter{Classes: []string{cmdb.ClassLocation}}) {
		require.NoError(t, err)
		require.Equal(t, "DC1", c.Name)
		found++
	}
	require.Equal(t, 1, found, "the caller's transaction committed the rest")
}
