package changetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

var changeManager = itil.Actor{ID: "carla", Name: "Carla Change Manager"}

// yearEndFreeze is a blackout: 20 December to 3 January, Paris, on the
// databases.
func yearEndFreeze() change.ScheduleSpec {
	return change.ScheduleSpec{Name: "Year-end freeze", Type: change.BlackoutSchedule,
		Windows: calendar.Spec{Zone: "Europe/Paris"},
		Ranges: []change.DateRange{{From: calendar.Date{Year: 2026, Month: 12, Day: 20},
			To: calendar.Date{Year: 2027, Month: 1, Day: 3}}},
		Scope: change.Scope{Classes: []string{"database"}}}
}

// sundayMaintenance is a maintenance schedule: Sundays 01:00–05:00,
// Paris, for the databases.
func sundayMaintenance() change.ScheduleSpec {
	var week calendar.Week
	week[time.Sunday] = []calendar.Window{calendar.Hours(1, 0, 5, 0)}
	return change.ScheduleSpec{Name: "Database maintenance", Type: change.MaintenanceSchedule,
		Windows: calendar.Spec{Zone: "Europe/Paris", Week: week}, Scope: change.Scope{Classes: []string{"database"}}}
}

func runSchedules(t *testing.T, newStore func(*testing.T) storage.Store, instances storagetest.Instances) {
	t.Run("Schedules", func(t *testing.T) { testSchedules(t, newStore) })
	t.Run("TwoInstances/Schedules", func(t *testing.T) { testTwoInstanceSchedules(t, instances) })
}

// testSchedules: a schedule is drafted, approved, enforced and retired;
// edits, lists, refusals and the Authorizer.
func testSchedules(t *testing.T, newStore func(*testing.T) storage.Store) {
	var refuse string
	f := setup(t, newStore, change.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, ch *change.Change) error {
		if command == refuse {
			return itil.ErrForbidden
		}
		return nil
	}))
	freeze, err := f.svc.CreateSchedule(f.ctx, changeManager, yearEndFreeze())
	require.NoError(t, err)
	assert.Equal(t, change.ScheduleDraft, freeze.State)
	assert.Equal(t, yearEndFreeze(), freeze.Spec)
	maint, err := f.svc.CreateSchedule(f.ctx, changeManager, sundayMaintenance())
	require.NoError(t, err)

	// Bad input names every field and writes nothing.
	n := testkit.JournalLen(t, f.store)
	bad := yearEndFreeze()
	bad.Name, bad.Windows.Zone = "", "Europe/Atlantis"
	bad.Ranges = append(bad.Ranges, change.DateRange{From: calendar.Date{Year: 2026, Month: 1, Day: 1}, To: calendar.Date{Year: 2035, Month: 12, Day: 31}})
	_, err = f.svc.CreateSchedule(f.ctx, changeManager, bad)
	testkit.RequireFields(t, err, "name", "windows.zone", "ranges[1].to")
	_, err = f.svc.UpdateSchedule(f.ctx, changeManager, freeze.ID, yearEndFreeze())
	testkit.RequireFields(t, err, "spec")
	_, err = f.svc.EnforceSchedule(f.ctx, changeManager, freeze.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "approved first")
	_, err = f.svc.RetireSchedule(f.ctx, changeManager, freeze.ID, " ")
	testkit.RequireFields(t, err, "reason")
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
	refuse = change.CommandApproveSchedule
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, freeze.ID)
	require.ErrorIs(t, err, itil.ErrForbidden)
	refuse = ""
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "refusals write nothing")

	// The freeze is agreed and enforced; its dates move later.
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, freeze.ID)
	require.NoError(t, err)
	got, err := f.svc.EnforceSchedule(f.ctx, changeManager, freeze.ID)
	require.NoError(t, err)
	assert.Equal(t, change.ScheduleEnforced, got.State)
	assert.Equal(t, changeManager, got.EnforcedBy)
	moved := yearEndFreeze()
	moved.Ranges[0].To = calendar.Date{Year: 2027, Month: 1, Day: 6}
	got, err = f.svc.UpdateSchedule(f.ctx, changeManager, freeze.ID, moved)
	require.NoError(t, err)
	assert.Equal(t, change.ScheduleEnforced, got.State, "still in force")
	assert.Equal(t, moved, got.Spec)
	again, err := f.svc.GetSchedule(f.ctx, freeze.ID)
	require.NoError(t, err)
	assert.Equal(t, got, again)

	list := func(flt change.ScheduleFilter) []itil.ID {
		var out []itil.ID
		for sc, err := range f.svc.Schedules(f.ctx, flt) {
			require.NoError(t, err)
			out = append(out, sc.ID)
		}
		return out
	}
	assert.Equal(t, []itil.ID{freeze.ID, maint.ID}, list(change.ScheduleFilter{}))
	assert.Equal(t, []itil.ID{freeze.ID}, list(change.ScheduleFilter{States: []change.ScheduleState{change.ScheduleEnforced}}))
	assert.Equal(t, []itil.ID{maint.ID}, list(change.ScheduleFilter{Types: []change.ScheduleType{change.MaintenanceSchedule}}))
	for _, err := range f.svc.Schedules(f.ctx, change.ScheduleFilter{Types: []change.ScheduleType{"freeze"}, States: []change.ScheduleState{"gone"}}) {
		testkit.RequireFields(t, err, "states[0]", "types[0]")
	}

	got, err = f.svc.RetireSchedule(f.ctx, changeManager, freeze.ID, "superseded by the 2027 calendar")
	require.NoError(t, err)
	assert.Equal(t, change.ScheduleRetired, got.State)
	_, err = f.svc.UpdateSchedule(f.ctx, changeManager, freeze.ID, yearEndFreeze())
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
}

// testTwoInstanceSchedules: two instances approving one schedule at once:
// one approves, the other finds it approved.
func testTwoInstanceSchedules(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	a := setup(t, func(*testing.T) storage.Store { return s1 })
	b := setup(t, func(*testing.T) storage.Store { return s2 })
	sc, err := a.svc.CreateSchedule(a.ctx, changeManager, yearEndFreeze())
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, svc := range []*change.Service{a.svc, b.svc} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.ApproveSchedule(t.Context(), changeManager, sc.ID)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, itil.ErrInvalidTransition)
		}
	}
	assert.Equal(t, 1, ok, "approved once")
	hist, err := b.svc.ScheduleHistory(b.ctx, sc.ID)
	require.NoError(t, err)
	assert.Len(t, hist, 2, "created, approved")
}

// enforced creates, approves and enforces a schedule.
func (f *fixture) enforced(spec change.ScheduleSpec) *change.Schedule {
	f.t.Helper()
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, spec)
	require.NoError(f.t, err)
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(f.t, err)
	sc, err = f.svc.EnforceSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(f.t, err)
	return sc
}
