package cmdbtest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
)

// authorizer: every command asks the Authorizer about each CI it
// concerns (Relate and Unrelate about both ends), and a refusal writes
// nothing; IfVersion turns a stale read into ErrConflict; bad options are
// reported together.
func authorizer(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	var mu sync.Mutex
	var asked []string // "command name"
	intern := itil.Actor{ID: "intern"}
	auth := func(_ context.Context, actor itil.Actor, command string, c *cmdb.CI) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, command+" "+c.Name)
		if actor == intern && c.Class == cmdb.ClassLinuxServer {
			return errors.New("interns may not touch servers")
		}
		return nil
	}
	store := newStore(t)
	svc, err := cmdb.New(store, cmdb.WithAuthorizer(auth))
	require.NoError(t, err)
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := asked
		asked = nil
		return out
	}
	app, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "payroll"})
	require.NoError(t, err)
	srv, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01"})
	require.NoError(t, err)
	require.Equal(t, []string{"create_ci payroll", "create_ci db01"}, take())

	rel, err := svc.Relate(ctx, admin, cmdb.RunsOn, app.ID, srv.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"relate payroll", "relate db01"}, take())
	require.NoError(t, svc.Unrelate(ctx, admin, rel.ID))
	require.Equal(t, []string{"unrelate payroll", "unrelate db01"}, take())

	before := len(journal(t, store))
	_, err = svc.Relate(ctx, intern, cmdb.RunsOn, app.ID, srv.ID)
	require.ErrorIs(t, err, itil.ErrForbidden, "refused on the child")
	_, err = svc.UpdateCI(ctx, intern, srv.ID, cmdb.Patch{Owner: new("intern")})
	require.ErrorIs(t, err, itil.ErrForbidden)
	_, err = svc.SetState(ctx, intern, srv.ID, cmdb.InBuild)
	require.ErrorIs(t, err, itil.ErrForbidden)
	require.ErrorIs(t, svc.DeleteCI(ctx, intern, srv.ID), itil.ErrForbidden)
	_, err = svc.CreateCI(ctx, intern, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db02"})
	require.ErrorIs(t, err, itil.ErrForbidden)
	_, err = svc.TakeBaseline(ctx, intern, "servers", cmdb.Scope{Classes: []string{cmdb.ClassServer}})
	require.ErrorIs(t, err, itil.ErrForbidden)
	res, err := svc.Import(ctx, intern, cmdb.SourceManual, []cmdb.ImportRecord{
		{Class: cmdb.ClassApplication, Name: "crm"},
		{Class: cmdb.ClassLinuxServer, Name: "db03", Attributes: map[string]string{"serial_number": "SN-3"}},
	})
	require.ErrorIs(t, err, itil.ErrForbidden, "the import stops at the refused record")
	require.Len(t, res, 1)
	require.Equal(t, cmdb.Created, res[0].Outcome)
	require.Len(t, journal(t, store), before+1, "only the permitted record wrote")
	take()

	// IfVersion: only if unchanged since read.
	_, err = svc.IfVersion(srv.Version+1).UpdateCI(ctx, admin, srv.ID, cmdb.Patch{Owner: new("ops")})
	require.ErrorIs(t, err, itil.ErrConflict)
	updated, err := svc.IfVersion(srv.Version).UpdateCI(ctx, admin, srv.ID, cmdb.Patch{Owner: new("ops")})
	require.NoError(t, err)
	require.Equal(t, srv.Version+1, updated.Version)
	require.ErrorIs(t, svc.IfVersion(srv.Version).DeleteCI(ctx, admin, srv.ID), itil.ErrConflict)

	_, err = cmdb.New(store, cmdb.Option{}, cmdb.WithAuthorizer(nil), cmdb.WithClock(nil), cmdb.WithRelTypes(),
		cmdb.WithRelationshipRule("maybe"))
	testkit.RequireFields(t, err, "options[0]", "authorizer", "clock", "rel_types", "relationship_rule")
	_, err = cmdb.New(nil)
	testkit.RequireFields(t, err, "store")
}
