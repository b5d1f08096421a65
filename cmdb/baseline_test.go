package cmdb_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
)

func TestBaselineDiff(t *testing.T) {
	f := newFixture(t)
	app := f.ci(cmdb.ClassApplication, "payroll", map[string]string{"version": "1.0"})
	srv := f.ci(cmdb.ClassLinuxServer, "app01", map[string]string{"ip_address": "10.0.0.1"})
	old := f.ci(cmdb.ClassLinuxServer, "app00", nil)
	f.relate(cmdb.RunsOn, app, srv)
	b, err := f.svc.TakeBaseline(f.ctx, admin, "before the upgrade", cmdb.Scope{Classes: []string{cmdb.ClassServer}, IDs: []itil.ID{app.ID}})
	require.NoError(t, err)
	assert.Len(t, b.CIs, 3)
	assert.Len(t, b.Relationships, 1)

	d, err := f.svc.DiffNow(f.ctx, b.ID)
	require.NoError(t, err)
	assert.True(t, d.Empty())

	f.now = f.now.Add(time.Hour)
	_, err = f.svc.UpdateCI(f.ctx, admin, srv.ID, cmdb.Patch{Attributes: map[string]string{"ip_address": "10.0.0.9", "kernel": "6.1"}})
	require.NoError(t, err)
	neu := f.ci(cmdb.ClassWindowsServer, "app02", nil)
	f.relate(cmdb.RunsOn, app, neu)
	require.NoError(t, f.svc.DeleteCI(f.ctx, admin, old.ID))

	d, err = f.svc.DiffNow(f.ctx, b.ID)
	require.NoError(t, err)
	require.Len(t, d.Added, 1)
	assert.Equal(t, "app02", d.Added[0].Name)
	require.Len(t, d.Removed, 1)
	assert.Equal(t, "app00", d.Removed[0].Name)
	require.Len(t, d.Changed, 1)
	assert.Equal(t, []cmdb.FieldChange{
		{Field: "attributes.ip_address", From: "10.0.0.1", To: "10.0.0.9"},
		{Field: "attributes.kernel", From: "", To: "6.1"},
	}, d.Changed[0].Changes)
	assert.Len(t, d.AddedRelationships, 1)
	assert.Empty(t, d.RemovedRelationships)

	b2, err := f.svc.TakeBaseline(f.ctx, admin, "after", b.Scope)
	require.NoError(t, err)
	d2 := cmdb.DiffBaselines(b, b2)
	assert.Equal(t, d, d2, "a baseline against now and against a baseline taken now agree")

	_, err = f.svc.TakeBaseline(f.ctx, admin, "", cmdb.Scope{Classes: []string{"nope"}})
	testkit.RequireInvalid(t, err, "name", "scope.classes[0]")
}

func TestHealth(t *testing.T) {
	cs := cmdb.DefaultClasses()
	require.NoError(t, cs.Add(cmdb.Class{Name: "appliance", Parent: cmdb.ClassHardware,
		Attributes: []cmdb.Attribute{{Name: "firmware", Type: cmdb.String}}}))
	f2 := newFixture(t, cmdb.WithClasses(cs))
	app := f2.ci(cmdb.ClassApplication, "payroll", nil)
	srv := f2.ci(cmdb.ClassLinuxServer, "app01", map[string]string{"serial_number": "SN1"})
	f2.relate(cmdb.RunsOn, app, srv)
	f2.ci(cmdb.ClassLocation, "DC1", nil) // standalone: not an orphan
	lonely := f2.ci(cmdb.ClassLinuxServer, "spare01", map[string]string{"host_name": "spare", "domain": "corp"})
	twin := f2.ci(cmdb.ClassVirtualMachine, "vm-a", map[string]string{"host_name": "web", "domain": "corp"})
	twin2 := f2.ci(cmdb.ClassVirtualMachine, "vm-b", map[string]string{"host_name": "web", "domain": "corp"})
	f2.relate(cmdb.HostedOn, twin, srv)
	f2.relate(cmdb.HostedOn, twin2, srv)

	// The same instance name on two servers is two CIs, not duplicates.
	srv2 := f2.ci(cmdb.ClassLinuxServer, "app02", map[string]string{"serial_number": "SN2"})
	f2.relate(cmdb.RunsOn, app, srv2)
	for _, host := range []*cmdb.CI{srv, srv2} {
		db := f2.ci(cmdb.ClassDatabaseInstance, "postgres", nil)
		f2.relate(cmdb.RunsOn, db, host)
	}

	h, err := f2.svc.Health(f2.ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, 9, h.CIs)
	require.Len(t, h.Orphans, 1)
	assert.Equal(t, lonely.ID, h.Orphans[0].ID)
	require.Len(t, h.Duplicates, 1)
	assert.Equal(t, []string{"host_name", "domain"}, h.Duplicates[0].Rule)
	assert.Len(t, h.Duplicates[0].CIs, 2)
	assert.Empty(t, h.Stale)
	assert.Empty(t, h.Incomplete)
	_, err = f2.svc.Health(f2.ctx, -time.Hour)
	testkit.RequireInvalid(t, err, "stale_after")
}
