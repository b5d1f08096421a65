package cmdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage/memory"
)

// TestDiagramInSync fails when lifecycle.md no longer matches the CI
// lifecycle. Run `go test ./cmdb -update` to regenerate it.
func TestDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "lifecycle.md", Title: "CI lifecycle",
		Source: "cmdb.Lifecycle()", Package: "./cmdb", Mermaid: cmdb.Diagram()})
}

func TestLifecycleTable(t *testing.T) {
	assert.Equal(t, []itil.Transition[cmdb.State]{
		{Event: "build", From: []cmdb.State{cmdb.Planned}, To: cmdb.InBuild},
		{Event: "deploy", From: []cmdb.State{cmdb.InBuild}, To: cmdb.Operational},
		{Event: "maintain", From: []cmdb.State{cmdb.Operational}, To: cmdb.UnderMaintenance},
		{Event: "restore", From: []cmdb.State{cmdb.UnderMaintenance}, To: cmdb.Operational},
		{Event: "retire", From: []cmdb.State{cmdb.Planned, cmdb.InBuild, cmdb.Operational, cmdb.UnderMaintenance}, To: cmdb.Retired},
	}, cmdb.Lifecycle())
	table := cmdb.Lifecycle()
	table[0].From[0] = cmdb.Retired
	assert.Equal(t, cmdb.Planned, cmdb.Lifecycle()[0].From[0], "Lifecycle returns a copy")
}

var admin = itil.Actor{ID: "cmdb-admin", Name: "CMDB admin"}

type fixture struct {
	t   *testing.T
	ctx context.Context
	svc *cmdb.Service
	now time.Time
}

func newFixture(t *testing.T, opts ...cmdb.Option) *fixture {
	f := &fixture{t: t, ctx: t.Context(), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc, err := cmdb.New(memory.NewStore(), append([]cmdb.Option{cmdb.WithClock(itil.ClockFunc(func() time.Time { return f.now }))}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

func (f *fixture) ci(class, name string, attrs map[string]string) *cmdb.CI {
	f.t.Helper()
	c, err := f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: class, Name: name, Attributes: attrs, State: cmdb.Operational})
	require.NoError(f.t, err)
	return c
}

func (f *fixture) relate(typ string, parent, child *cmdb.CI) *cmdb.Relationship {
	f.t.Helper()
	r, err := f.svc.Relate(f.ctx, admin, typ, parent.ID, child.ID)
	require.NoError(f.t, err)
	return r
}

func TestDefaultClassTree(t *testing.T) {
	cs := cmdb.DefaultClasses()
	cases := []struct {
		class, ancestor string
		is              bool
	}{
		{cmdb.ClassLinuxServer, cmdb.ClassServer, true},
		{cmdb.ClassLinuxServer, cmdb.ClassHardware, true},
		{cmdb.ClassWindowsServer, cmdb.ClassLinuxServer, false},
		{cmdb.ClassDatabaseInstance, cmdb.ClassSoftwareInstance, true},
		{cmdb.ClassApplicationService, cmdb.ClassBusinessService, true},
		{cmdb.ClassVirtualMachine, cmdb.ClassHardware, false},
		{cmdb.ClassNetworkDevice, cmdb.ClassHardware, true},
	}
	for _, c := range cases {
		assert.Equal(t, c.is, cs.IsA(c.class, c.ancestor), "%s is a %s", c.class, c.ancestor)
	}
	var names []string
	for _, a := range cs.Attributes(cmdb.ClassLinuxServer) {
		names = append(names, a.Name)
	}
	assert.Subset(t, names, []string{"serial_number", "host_name", "cpu_count", "kernel"}, "inherited down the tree")
	assert.Equal(t, "serial_number", names[0], "ancestors' attributes come first")

	testkit.RequireInvalid(t, cs.Add(cmdb.Class{Name: "Bad Name", Parent: "nope",
		Attributes: []cmdb.Attribute{{Name: "kernel", Type: cmdb.String}, {Name: "x", Type: "blob"}, {Name: "e", Type: cmdb.Enum}}}),
		"name", "parent")
	testkit.RequireInvalid(t, cs.Add(cmdb.Class{Name: "aix_server", Parent: cmdb.ClassServer,
		Attributes: []cmdb.Attribute{{Name: "kernel", Type: cmdb.String}, {Name: "x", Type: "blob"}, {Name: "e", Type: cmdb.Enum}}}),
		"attributes[1].type", "attributes[2].values")
	require.NoError(t, cs.Add(cmdb.Class{Name: "aix_server", Parent: cmdb.ClassServer,
		Attributes: []cmdb.Attribute{{Name: "oslevel", Type: cmdb.String, Required: true}}}))
	assert.True(t, cs.IsA("aix_server", cmdb.ClassHardware))
}

func TestCIAttributes(t *testing.T) {
	f := newFixture(t)
	srv, err := f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "app01",
		Attributes: map[string]string{"serial_number": "SN1", "cpu_count": " 8", "cost": "1200.50", "purchased": "2025-01-02T03:04:05+01:00"}})
	require.NoError(t, err)
	assert.Equal(t, "8", srv.Attributes["cpu_count"], "canonical int")
	assert.Equal(t, "1200.5", srv.Attributes["cost"], "exact decimal")
	assert.Equal(t, "2025-01-02T02:04:05Z", srv.Attributes["purchased"], "UTC time")
	assert.Equal(t, cmdb.Planned, srv.State)

	_, err = f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "",
		Attributes: map[string]string{"serial_number": "SN1", "cpu_count": "eight", "colour": "red"}})
	testkit.RequireInvalid(t, err, "name", "attributes.cpu_count", "attributes.colour")
	_, err = f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: cmdb.ClassWindowsServer, Name: "win01",
		Attributes: map[string]string{"serial_number": "SN1"}})
	testkit.RequireInvalid(t, err, "attributes.serial_number") // unique across the hardware subtree
	_, err = f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: "mainframe", Name: "z1"})
	testkit.RequireInvalid(t, err, "class")
	_, err = f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: cmdb.ClassNetworkDevice, Name: "sw1",
		Attributes: map[string]string{"device_role": "router"}})
	testkit.RequireInvalid(t, err, "attributes.device_role")
}

func TestRelationshipRules(t *testing.T) {
	f := newFixture(t)
	app := f.ci(cmdb.ClassApplication, "payroll", nil)
	srv := f.ci(cmdb.ClassLinuxServer, "app01", map[string]string{"serial_number": "SN1"})
	loc := f.ci(cmdb.ClassLocation, "DC1", nil)
	r := f.relate(cmdb.RunsOn, app, srv)
	again := f.relate(cmdb.RunsOn, app, srv)
	assert.Equal(t, r.ID, again.ID, "an identical relationship is not stored twice")
	rels, err := f.svc.Relationships(f.ctx, srv.ID)
	require.NoError(t, err)
	assert.Len(t, rels, 1)

	_, err = f.svc.Relate(f.ctx, admin, cmdb.RunsOn, srv.ID, app.ID)
	testkit.RequireInvalid(t, err, "type") // a server does not run on an application
	_, err = f.svc.Relate(f.ctx, admin, cmdb.Contains, loc.ID, srv.ID)
	require.NoError(t, err, "contains allows location → hardware, inherited by linux_server")
	_, err = f.svc.Relate(f.ctx, admin, "frobs", app.ID, srv.ID)
	testkit.RequireInvalid(t, err, "type")
	_, err = f.svc.Relate(f.ctx, admin, cmdb.RunsOn, app.ID, itil.NewID())
	testkit.RequireInvalid(t, err, "child")
	_, err = f.svc.Relate(f.ctx, admin, cmdb.DependsOn, app.ID, app.ID)
	testkit.RequireInvalid(t, err, "child")

	// Block: a CI with relationships cannot be retired or deleted.
	_, err = f.svc.SetState(f.ctx, admin, srv.ID, cmdb.Retired)
	assert.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.ErrorIs(t, f.svc.DeleteCI(f.ctx, admin, srv.ID), itil.ErrInvalidTransition)
	require.NoError(t, f.svc.Unrelate(f.ctx, admin, r.ID))
	assert.ErrorIs(t, f.svc.Unrelate(f.ctx, admin, r.ID), itil.ErrNotFound)
}

func TestCascade(t *testing.T) {
	f := newFixture(t, cmdb.WithRelationshipRule(cmdb.Cascade))
	app := f.ci(cmdb.ClassApplication, "payroll", nil)
	srv := f.ci(cmdb.ClassLinuxServer, "app01", nil)
	f.relate(cmdb.RunsOn, app, srv)
	retired, err := f.svc.SetState(f.ctx, admin, srv.ID, cmdb.Retired)
	require.NoError(t, err)
	assert.Equal(t, cmdb.Retired, retired.State)
	rels, err := f.svc.Relationships(f.ctx, app.ID)
	require.NoError(t, err)
	assert.Empty(t, rels, "cascade removed the relationship: no dangling end")
	_, err = f.svc.SetState(f.ctx, admin, srv.ID, cmdb.Operational)
	assert.ErrorIs(t, err, itil.ErrInvalidTransition, "retired is final")
	_, err = f.svc.Relate(f.ctx, admin, cmdb.RunsOn, app.ID, srv.ID)
	testkit.RequireInvalid(t, err, "child")
	require.NoError(t, f.svc.DeleteCI(f.ctx, admin, srv.ID))
	_, err = f.svc.Get(f.ctx, srv.ID)
	assert.True(t, errors.Is(err, itil.ErrNotFound))
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	c, err := f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01"})
	require.NoError(t, err)
	for _, step := range []struct {
		to cmdb.State
		ok bool
	}{{cmdb.Operational, false}, {cmdb.InBuild, true}, {cmdb.Operational, true}, {cmdb.UnderMaintenance, true},
		{cmdb.Operational, true}, {cmdb.Planned, false}, {cmdb.Retired, true}, {cmdb.Operational, false}} {
		_, err := f.svc.SetState(f.ctx, admin, c.ID, step.to)
		if step.ok {
			require.NoError(t, err, "to %s", step.to)
		} else {
			require.ErrorIs(t, err, itil.ErrInvalidTransition, "to %s", step.to)
		}
	}
}

func TestAsOfAndHistory(t *testing.T) {
	f := newFixture(t)
	c := f.ci(cmdb.ClassLinuxServer, "app01", map[string]string{"ip_address": "10.0.0.1"})
	t1 := f.now
	f.now = f.now.Add(time.Hour)
	_, err := f.svc.UpdateCI(f.ctx, admin, c.ID, cmdb.Patch{Attributes: map[string]string{"ip_address": "10.0.0.2"}})
	require.NoError(t, err)
	f.now = f.now.Add(time.Hour)
	require.NoError(t, f.svc.DeleteCI(f.ctx, admin, c.ID))

	old, err := f.svc.AsOf(f.ctx, c.ID, t1.Add(30*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1", old.Attributes["ip_address"])
	mid, err := f.svc.AsOf(f.ctx, c.ID, t1.Add(90*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.2", mid.Attributes["ip_address"])
	_, err = f.svc.AsOf(f.ctx, c.ID, f.now)
	assert.ErrorIs(t, err, itil.ErrNotFound, "deleted by then")
	_, err = f.svc.AsOf(f.ctx, c.ID, t1.Add(-time.Second))
	assert.ErrorIs(t, err, itil.ErrNotFound, "not yet created")
	hist, err := f.svc.History(f.ctx, c.ID)
	require.NoError(t, err, "a deleted CI keeps its history")
	require.Len(t, hist, 3)
	for i, want := range []struct {
		typ     string
		version int64
		at      time.Time
	}{{cmdb.EventCICreated, 1, t1}, {cmdb.EventCIUpdated, 2, t1.Add(time.Hour)}, {cmdb.EventCIDeleted, 3, f.now}} {
		e := hist[i]
		assert.Equal(t, cmdb.KindCI, e.Kind)
		assert.Equal(t, c.ID, e.SubjectID)
		assert.Equal(t, want.typ, e.Type)
		assert.Equal(t, want.version, e.Version)
		assert.Equal(t, want.at, e.Time)
		assert.Equal(t, admin, e.Actor)
	}
	var created cmdb.CI
	require.NoError(t, json.Unmarshal(hist[0].Created, &created))
	assert.Equal(t, *c, created, "the creation carries the CI as stored")
	require.Len(t, hist[1].Fields, 1)
	assert.Equal(t, "attributes", hist[1].Fields[0].Field)
	assert.JSONEq(t, `{"ip_address": "10.0.0.1"}`, string(hist[1].Fields[0].From))
	assert.JSONEq(t, `{"ip_address": "10.0.0.2"}`, string(hist[1].Fields[0].To))
	assert.True(t, hist[2].Deleted)
	assert.Nil(t, hist[2].Created)
	assert.Empty(t, hist[2].Fields)
	_, err = f.svc.History(f.ctx, itil.NewID())
	assert.ErrorIs(t, err, itil.ErrNotFound)
}
