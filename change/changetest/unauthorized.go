package changetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

var discovery = itil.Actor{ID: "discovery", Name: "Discovery"}

func runUnauthorized(t *testing.T, newStore func(*testing.T) storage.Store, instances storagetest.Instances) {
	t.Run("Unauthorized", func(t *testing.T) { testUnauthorized(t, newStore) })
	t.Run("TwoInstances/Unauthorized", func(t *testing.T) { testTwoInstanceUnauthorized(t, instances) })
}

// count returns how many changes the store holds.
func (f *fixture) count() int {
	f.t.Helper()
	n := 0
	for _, err := range f.svc.List(f.ctx, change.Filter{}) {
		require.NoError(f.t, err)
		n++
	}
	return n
}

// testUnauthorized: an unplanned change to a CI is covered by the change
// being implemented on it then, or opens an unauthorized emergency change.
func testUnauthorized(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	relay, other := itil.NewID(), itil.NewID()
	tmpl := f.tmplPublished(change.NewTemplate{Name: "Patch the relay", Title: "Patch the relay",
		Implementation: "apt upgrade", Backout: "apt install previous", AssignmentGroup: "messaging",
		PlannedDuration: time.Hour, CIID: relay})
	planned, err := f.svc.OpenFromTemplate(f.ctx, requester, tmpl.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	before := f.clock.Now()
	f.clock.Advance(time.Hour)
	f.move(planned.ID, change.MoveSchedule, change.MoveImplement)
	f.clock.Advance(10 * time.Minute)

	n := f.count()
	got, err := f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{CIID: relay, At: f.clock.Now(),
		Description: "postfix 3.7.10 → 3.7.11", Source: "discovery"})
	require.NoError(t, err)
	assert.Equal(t, planned.ID, got.ID, "covered by the change in Implement on the CI")
	assert.False(t, got.Unauthorized)
	assert.Equal(t, n, f.count(), "nothing written")

	// Before the change's implementation started, nothing covered it.
	un, err := f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{CIID: relay, At: before,
		Description: "postfix config edited by hand", Source: "discovery"})
	require.NoError(t, err)
	assert.True(t, un.Unauthorized)
	assert.Equal(t, change.ModelEmergency, un.Model)
	assert.Equal(t, change.StateNew, un.State)
	assert.Equal(t, relay, un.CIID)
	assert.True(t, un.ActualStart.Equal(before) && un.ActualEnd.Equal(before), "it happened then")
	assert.Equal(t, "postfix config edited by hand", un.Description)
	assert.Contains(t, un.Title, "(discovery)")
	assert.Equal(t, discovery, un.RequestedBy)
	assert.Equal(t, n+1, f.count())

	// While it is open, more unplanned changes to the CI return it.
	again, err := f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{CIID: relay, At: before.Add(-time.Hour),
		Description: "another edit"})
	require.NoError(t, err)
	assert.Equal(t, un.ID, again.ID)
	assert.Equal(t, n+1, f.count())

	// Another CI is not covered by a change on the relay.
	o, err := f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{CIID: other, At: f.clock.Now(), Description: "rebooted"})
	require.NoError(t, err)
	assert.True(t, o.Unauthorized)
	assert.NotEqual(t, un.ID, o.ID)

	// Once the unauthorized change has ended, the next one opens anew;
	// a change whose implementation ended before the moment covers
	// nothing.
	_, err = f.svc.Cancel(f.ctx, requester, un.ID, "duplicate of the planned patch")
	require.NoError(t, err)
	f.move(planned.ID, change.MoveReview)
	f.clock.Advance(time.Minute)
	late, err := f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{CIID: relay, At: f.clock.Now(), Description: "edited again"})
	require.NoError(t, err)
	assert.True(t, late.Unauthorized)
	assert.NotEqual(t, un.ID, late.ID)

	// Bad input names every field and writes nothing.
	n = f.count()
	_, err = f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{})
	testkit.RequireFields(t, err, "ci_id", "at", "description")
	_, err = f.svc.RecordUnplanned(f.ctx, discovery, change.Unplanned{CIID: relay, At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		Description: "x"})
	testkit.RequireFields(t, err, "at")
	assert.Equal(t, n, f.count())
}

// testTwoInstanceUnauthorized: two instances recording unplanned changes
// to one CI at once open one unauthorized change.
func testTwoInstanceUnauthorized(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	clock := testkit.NewClock()
	a := setup(t, func(*testing.T) storage.Store { return s1 }, change.WithClock(clock))
	b := setup(t, func(*testing.T) storage.Store { return s2 }, change.WithClock(clock))
	ci := itil.NewID()
	var wg sync.WaitGroup
	got := make([]*change.Change, 4)
	errs := make([]error, 4)
	for i := range got {
		svc := a.svc
		if i%2 == 1 {
			svc = b.svc
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = svc.RecordUnplanned(t.Context(), discovery, change.Unplanned{CIID: ci, At: clock.Now(), Description: "seen"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err)
		assert.Equal(t, got[0].ID, got[i].ID, "one unauthorized change for the CI")
	}
	assert.Equal(t, 1, a.count())
}
