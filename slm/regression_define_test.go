package slm_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// A revision whose Define transaction read the clock (EffectiveFrom = T)
// commits after an Observe at T+1m that still saw the previous revision.
// The snapshot is not a conflict for Define (Observe wrote no definition
// record), so both commit; replay then applies the new revision to the
// snapshot at T+1m and rebuilt a different timer. Regression: replay now
// uses the revisions each observation recorded.
func TestRegressionDefineObserveRaceReplayDiffers(t *testing.T) {
	var mu sync.Mutex
	now := t0
	block := false
	reached, release := make(chan struct{}), make(chan struct{})
	clock := itil.ClockFunc(func() time.Time {
		mu.Lock()
		n, b := now, block
		mu.Unlock()
		if b {
			close(reached)
			<-release
		}
		return n
	})
	store := memory.NewStore()
	e, err := slm.NewEngine(store, slm.WithClock(clock))
	require.NoError(t, err)
	d1, err := e.Define(t.Context(), rvAdmin, rvDef(4*time.Hour))
	require.NoError(t, err)

	mu.Lock()
	now, block = t0.Add(time.Hour), true
	mu.Unlock()
	d2 := *d1
	d2.Targets = []slm.Target{{Name: "new 8h", Duration: 8 * time.Hour}}
	done := make(chan error)
	go func() { _, err := e.Define(context.Background(), rvAdmin, d2); done <- err }()
	<-reached // Define is inside its tx, EffectiveFrom = t0+1h

	id := itil.NewID()
	require.NoError(t, store.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		err := e.Observe(ctx, tx, rvAdmin, itil.Snapshot{Kind: "ticket", ID: id, State: "open", Time: t0.Add(time.Hour + time.Minute)})
		return err
	}))
	mu.Lock()
	block = false
	mu.Unlock()
	close(release)
	require.NoError(t, <-done)

	live, err := e.Timers(t.Context(), id)
	require.NoError(t, err)
	replayed, err := e.Replay(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, live[0].Revision, replayed[0].Revision, "live target %q, replay target %q", live[0].Target, replayed[0].Target)
}

// Regression: the authorizer's copy of a definition shared its calendar's
// slices with the caller's input and the stored definition, so an
// authorizer that changed "its copy" changed what was stored.
func TestAuthorizerCopyOwnsItsCalendar(t *testing.T) {
	scribble := func(_ context.Context, _ itil.Actor, _ string, d *slm.Definition) error {
		if d.Calendar != nil {
			for day := range d.Calendar.Week {
				for i := range d.Calendar.Week[day] {
					d.Calendar.Week[day][i] = calendar.Hours(1, 0, 2, 0)
				}
			}
		}
		return nil
	}
	e, err := slm.NewEngine(memory.NewStore(), slm.WithAuthorizer(scribble))
	require.NoError(t, err)
	cal := calendar.Spec{Zone: "UTC", Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0))}
	d := rvDef(4 * time.Hour)
	d.Calendar = &cal
	out, err := e.Define(t.Context(), rvAdmin, d)
	require.NoError(t, err)
	stored, err := e.Definition(t.Context(), out.ID)
	require.NoError(t, err)
	require.Equal(t, calendar.Hours(9, 0, 17, 0), stored.Calendar.Week[time.Monday][0], "the stored calendar")
	require.Equal(t, calendar.Hours(9, 0, 17, 0), cal.Week[time.Monday][0], "the caller's calendar")
}
