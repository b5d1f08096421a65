package changetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// testScheduleEdges: the cases where keeping conflicts current needs more
// than the change a command alters.
func testScheduleEdges(t *testing.T, newStore func(*testing.T) storage.Store) {
	t.Run("OneTransaction", func(t *testing.T) { testScheduleOneTransaction(t, newStore) })
	t.Run("MaintenanceRanges", func(t *testing.T) { testMaintenanceRanges(t, newStore) })
	t.Run("BasicModeRelated", func(t *testing.T) { testBasicModeRelated(t, newStore) })
	t.Run("TemplateServices", func(t *testing.T) { testTemplateServices(t, newStore) })
	t.Run("NextSlotsBounds", func(t *testing.T) { testNextSlotsBounds(t, newStore) })
}

// sameAsFresh asserts that the change id keeps the conflicts a fresh
// check finds, and returns them.
func (f *fixture) sameAsFresh(id itil.ID) []change.Conflict {
	f.t.Helper()
	fresh, err := f.svc.Conflicts(f.ctx, id)
	require.NoError(f.t, err)
	ch := f.get(id)
	assert.Equal(f.t, kindsOf(fresh), kindsOf(ch.Conflicts), "%s keeps the conflicts a fresh check finds", ch.Number)
	return fresh
}

func kindsOf(cs []change.Conflict) []change.ConflictKind {
	var out []change.ConflictKind
	for _, c := range cs {
		out = append(out, c.Kind)
	}
	return out
}

// testScheduleOneTransaction: several commands in one caller transaction
// (In) see each other's writes: two changes booked onto one CI both keep
// the conflict, and a move into a state a freeze blocks, after the freeze
// was enforced in the same transaction, is refused.
func testScheduleOneTransaction(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore, change.WithConflictRules([]change.ConflictRule{
		{State: change.StateAssess, Kinds: []change.ConflictKind{change.ConflictBlackout}}}))
	ci := itil.NewID()
	a, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "a", CIID: ci, AssignmentGroup: "messaging"})
	require.NoError(t, err)
	b, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "b", CIID: ci, AssignmentGroup: "messaging"})
	require.NoError(t, err)
	_, err = f.svc.Conflicts(f.ctx, a.ID) // the Service's schedule is built
	require.NoError(t, err)
	start := time.Date(2027, 3, 1, 22, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	require.NoError(t, f.store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		in := f.svc.In(tx)
		if _, err := in.Update(ctx, requester, a.ID, change.Patch{PlannedStart: &start, PlannedEnd: &end}); err != nil {
			return err
		}
		_, err := in.Update(ctx, requester, b.ID, change.Patch{PlannedStart: &start, PlannedEnd: &end})
		return err
	}))
	assert.Len(t, f.sameAsFresh(a.ID), 1)
	assert.Len(t, f.sameAsFresh(b.ID), 1)

	freeze := change.ScheduleSpec{Name: "freeze", Type: change.BlackoutSchedule, Windows: calendar.Spec{Zone: "UTC"},
		Ranges: []change.DateRange{{From: calendar.DateOf(start), To: calendar.DateOf(start)}}, Scope: change.Scope{CIs: []itil.ID{ci}}}
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, freeze)
	require.NoError(t, err)
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	var moved error
	require.NoError(t, f.store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		in := f.svc.In(tx)
		if _, err := in.EnforceSchedule(ctx, changeManager, sc.ID); err != nil {
			return err
		}
		_, moved = in.Move(ctx, requester, a.ID, change.MoveAssess)
		return nil
	}))
	var ce *change.ConflictError
	require.ErrorAs(t, moved, &ce, "the freeze enforced before it in the transaction blocks the move")
	assert.Equal(t, change.StateNew, f.get(a.ID).State)
	f.sameAsFresh(a.ID)
	f.sameAsFresh(b.ID)
}

// testMaintenanceRanges: a maintenance schedule of dates alone reaches the
// changes on its CIs outside those dates (outside is the conflict), when
// it is enforced and when it is retired.
func testMaintenanceRanges(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ci := itil.NewID()
	start := time.Date(2027, 4, 7, 22, 0, 0, 0, time.UTC)
	ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "a", CIID: ci, AssignmentGroup: "messaging",
		PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	sc := f.enforced(change.ScheduleSpec{Name: "March window", Type: change.MaintenanceSchedule, Windows: calendar.Spec{Zone: "UTC"},
		Ranges: []change.DateRange{{From: calendar.Date{Year: 2027, Month: 3, Day: 1}, To: calendar.Date{Year: 2027, Month: 3, Day: 2}}},
		Scope:  change.Scope{CIs: []itil.ID{ci}}})
	assert.Equal(t, []change.ConflictKind{change.ConflictOutsideMaintenanceWindow}, kindsOf(f.sameAsFresh(ch.ID)))
	_, err = f.svc.RetireSchedule(f.ctx, changeManager, sc.ID, "no longer needed")
	require.NoError(t, err)
	assert.Empty(t, f.sameAsFresh(ch.ID))
}

// testBasicModeRelated: in basic mode, a change whose primary CI is related
// to another change's second CI keeps the conflict when that other change
// is booked.
func testBasicModeRelated(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	cm, err := cmdb.New(store)
	require.NoError(t, err)
	ctx := t.Context()
	server, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "mail-01",
		Attributes: map[string]string{"serial_number": "SN1"}})
	require.NoError(t, err)
	app, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "postfix"})
	require.NoError(t, err)
	_, err = cm.Relate(ctx, requester, cmdb.RunsOn, app.ID, server.ID)
	require.NoError(t, err)
	f := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm),
		change.WithConflictDetection(change.ConflictDetection{Basic: true}))
	start := time.Date(2027, 4, 7, 22, 0, 0, 0, time.UTC)
	q, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Patch the kernel", CIID: server.ID,
		AssignmentGroup: "messaging", PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: "Upgrade postfix and the relay", CIID: itil.NewID(),
		CIIDs: []itil.ID{app.ID}, AssignmentGroup: "messaging", PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []change.ConflictKind{change.ConflictRelatedCIScheduled}, kindsOf(f.sameAsFresh(q.ID)),
		"the server's change meets postfix's, which the other change books")
}

// testTemplateServices: a change opened from a template records the
// business services its CIs support, as Open does, and so conflicts on
// them.
func testTemplateServices(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	cm, err := cmdb.New(store)
	require.NoError(t, err)
	ctx := t.Context()
	server, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "web-01",
		Attributes: map[string]string{"serial_number": "SN2"}})
	require.NoError(t, err)
	shop, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Shop"})
	require.NoError(t, err)
	app, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "shop-web"})
	require.NoError(t, err)
	_, err = cm.Relate(ctx, requester, cmdb.DependsOn, shop.ID, app.ID)
	require.NoError(t, err)
	_, err = cm.Relate(ctx, requester, cmdb.RunsOn, app.ID, server.ID)
	require.NoError(t, err)
	f := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm))
	in := tmplRestart()
	in.CIID = server.ID
	tp := f.tmplPublished(in)
	start := time.Date(2027, 4, 7, 22, 0, 0, 0, time.UTC)
	ch, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: start})
	require.NoError(t, err)
	assert.Equal(t, []change.AffectedService{{ServiceID: shop.ID}}, ch.AffectedServices)
	other, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Reprice the shop", CIID: shop.ID,
		AssignmentGroup: "messaging", PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	assert.Contains(t, kindsOf(f.sameAsFresh(ch.ID)), change.ConflictServiceAffected)
	f.sameAsFresh(other.ID)
}

// testNextSlotsBounds: a search the schedule cannot compute exactly (before
// 1910, past 2189) or a window under a second is refused, naming the field.
func testNextSlotsBounds(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ci := itil.NewID()
	for _, c := range []struct {
		req   change.SlotRequest
		field string
	}{
		{change.SlotRequest{CIIDs: []itil.ID{ci}, Duration: time.Hour, NotBefore: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}, "not_before"},
		{change.SlotRequest{CIIDs: []itil.ID{ci}, Duration: time.Hour, NotBefore: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, "not_before"},
		{change.SlotRequest{CIIDs: []itil.ID{ci}, Duration: time.Hour, NotBefore: time.Date(2189, 12, 1, 0, 0, 0, 0, time.UTC)}, "within"},
		{change.SlotRequest{CIIDs: []itil.ID{ci}, Duration: time.Nanosecond, Within: time.Nanosecond}, "within"},
	} {
		_, err := f.svc.NextSlots(f.ctx, c.req)
		testkit.RequireFields(t, err, c.field)
	}
}
