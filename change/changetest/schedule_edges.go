package changetest

import (
	"context"
	"errors"
	"sync"
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
	"github.com/itilkit/itil/storage/storagetest"
)

// testScheduleEdges: the cases where keeping conflicts current needs more
// than the change a command alters.
func testScheduleEdges(t *testing.T, newStore func(*testing.T) storage.Store) {
	t.Run("OneTransaction", func(t *testing.T) { testScheduleOneTransaction(t, newStore) })
	t.Run("MaintenanceRanges", func(t *testing.T) { testMaintenanceRanges(t, newStore) })
	t.Run("BasicModeRelated", func(t *testing.T) { testBasicModeRelated(t, newStore) })
	t.Run("TemplateServices", func(t *testing.T) { testTemplateServices(t, newStore) })
	t.Run("NextSlotsBounds", func(t *testing.T) { testNextSlotsBounds(t, newStore) })
	t.Run("OneServiceConcurrent", func(t *testing.T) { testOneServiceConcurrent(t, newStore) })
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
	e := newMailEstate(t, store)
	cm, server := e.cm, e.server
	// An agent on the server that no service depends on: the changes on
	// it and on the server share no service, only the relationship.
	app, err := cm.CreateCI(t.Context(), requester, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "backup-agent"})
	require.NoError(t, err)
	_, err = cm.Relate(t.Context(), requester, cmdb.RunsOn, app.ID, server.ID)
	require.NoError(t, err)
	f := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm),
		change.WithConflictDetection(change.ConflictDetection{Basic: true}))
	start := time.Date(2027, 4, 7, 22, 0, 0, 0, time.UTC)
	q, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Patch the kernel", CIID: server.ID,
		AssignmentGroup: "messaging", PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: "Upgrade the relay and the backup agent", CIID: itil.NewID(),
		CIIDs: []itil.ID{app.ID}, AssignmentGroup: "messaging", PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []change.ConflictKind{change.ConflictRelatedCIScheduled}, kindsOf(f.sameAsFresh(q.ID)),
		"the server's change meets the agent's, which the other change books")
}

// testTemplateServices: a change opened from a template records the
// business services its CIs support, as Open does, and so conflicts on
// them.
func testTemplateServices(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	e := newMailEstate(t, store)
	cm, server, shop := e.cm, e.server, e.mail
	f := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm))
	in := tmplRestart()
	in.CIID = server.ID
	tp := f.tmplPublished(in)
	start := time.Date(2027, 4, 7, 22, 0, 0, 0, time.UTC)
	ch, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: start})
	require.NoError(t, err)
	assert.Equal(t, []change.AffectedService{{ServiceID: shop.ID}}, ch.AffectedServices)
	other, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Reconfigure Mail", CIID: shop.ID,
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

// testTwoInstanceFreezeRace: a freeze enforced on one instance while the
// other moves a change inside it into a state the freeze blocks: either
// the move is refused, or it committed before the freeze was enforced
// (the journal says which came first); never both passing on stale reads.
func testTwoInstanceFreezeRace(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	rules := change.WithConflictRules([]change.ConflictRule{{State: change.StateAssess, Kinds: []change.ConflictKind{change.ConflictBlackout}}})
	a := setup(t, func(*testing.T) storage.Store { return s1 }, rules)
	b := setup(t, func(*testing.T) storage.Store { return s2 }, change.WithClock(a.clock), rules)
	refused, moved := 0, 0
	for round := range 8 {
		db := itil.NewID()
		freeze := yearEndFreeze()
		freeze.Scope = change.Scope{CIs: []itil.ID{db}}
		sc, err := a.svc.CreateSchedule(a.ctx, changeManager, freeze)
		require.NoError(t, err)
		_, err = a.svc.ApproveSchedule(a.ctx, changeManager, sc.ID)
		require.NoError(t, err)
		into := time.Date(2026, 12, 22, 22, 0, 0, 0, time.UTC)
		ch, err := b.svc.Open(b.ctx, requester, change.NewChange{Title: "Patch", CIID: db, AssignmentGroup: "messaging",
			PlannedStart: into, PlannedEnd: into.Add(time.Hour)})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[0] = a.svc.EnforceSchedule(t.Context(), changeManager, sc.ID)
		}()
		go func() {
			defer wg.Done()
			// Let the freeze go first now and then: both orders, and
			// overlaps between.
			time.Sleep(time.Duration(round%4) * time.Millisecond)
			_, errs[1] = b.svc.Move(t.Context(), requester, ch.ID, change.MoveAssess)
		}()
		wg.Wait()
		require.NoError(t, errs[0], "round %d", round)
		var ce *change.ConflictError
		if errors.As(errs[1], &ce) {
			refused++
			assert.Equal(t, change.StateNew, a.get(ch.ID).State, "round %d", round)
			continue
		}
		require.NoError(t, errs[1], "round %d", round)
		moved++
		// It moved: then before the freeze was in force.
		var movedAt, enforcedAt int64
		hist, err := a.svc.History(a.ctx, ch.ID)
		require.NoError(t, err)
		for _, e := range hist {
			if e.Type == change.EventMoved {
				movedAt = e.Seq
			}
		}
		shist, err := a.svc.ScheduleHistory(a.ctx, sc.ID)
		require.NoError(t, err)
		for _, e := range shist {
			if e.Type == change.EventScheduleEnforced {
				enforcedAt = e.Seq
			}
		}
		require.NotZero(t, movedAt, "round %d", round)
		assert.Less(t, movedAt, enforcedAt, "round %d: moved into Assess inside an enforced freeze", round)
		a.sameAsFresh(ch.ID)
	}
	t.Logf("%d moves refused, %d before the freeze", refused, moved)
}

// testOneServiceConcurrent: one Service, several goroutines booking
// changes onto one CI and searching for slots at once: its schedule,
// shared by them, keeps every change's conflicts as a fresh check finds
// them.
func testOneServiceConcurrent(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db := itil.NewID()
	start := time.Date(2027, 10, 7, 22, 0, 0, 0, time.UTC)
	end := start.Add(time.Hour)
	var ids []itil.ID
	for range 6 {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Fix", CIID: itil.NewID(), AssignmentGroup: "messaging"})
		require.NoError(t, err)
		ids = append(ids, ch.ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(ids)+3)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cis := []itil.ID{db}
			var err error
			for range 20 { // a conflict between the goroutines is retried
				if _, err = f.svc.Update(f.ctx, requester, id, change.Patch{CIIDs: &cis, PlannedStart: &start, PlannedEnd: &end}); !errors.Is(err, itil.ErrConflict) {
					break
				}
			}
			errs <- err
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.NextSlots(f.ctx, change.SlotRequest{CIIDs: []itil.ID{db}, Duration: time.Hour, NotBefore: start})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, id := range ids {
		assert.Len(t, f.sameAsFresh(id), len(ids)-1, "each meets the others on the CI")
	}
}
