package changetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// testConflicts: a change's conflicts, read from the store: the CI in
// another overlapping change, the assignee booked twice, an enforced
// blackout on the CI; touching ends are not overlaps, ended changes do
// not count.
func testConflicts(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db, web := itil.NewID(), itil.NewID()
	start := time.Date(2026, 12, 18, 21, 0, 0, 0, time.UTC)
	open := func(title, assignee string, from time.Time, hours int, cis ...itil.ID) *change.Change {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: title, AssignmentGroup: "messaging", Assignee: assignee,
			CIID: cis[0], CIIDs: cis[1:], PlannedStart: from, PlannedEnd: from.Add(time.Duration(hours) * time.Hour)})
		require.NoError(t, err)
		return ch
	}
	a := open("Patch the database", "max", start, 2, db)
	b := open("Reindex the database", "", start.Add(time.Hour), 2, db)
	c := open("Restart the web server", "max", start.Add(90*time.Minute), 1, web)
	touching := open("Vacuum the database", "", start.Add(3*time.Hour), 1, db)
	got, err := f.svc.Conflicts(f.ctx, a.ID)
	require.NoError(t, err)
	kinds := func(cs []change.Conflict) map[change.ConflictKind][]string {
		out := map[change.ConflictKind][]string{}
		for _, c := range cs {
			out[c.Kind] = append(out[c.Kind], c.Number)
		}
		return out
	}
	assert.Equal(t, map[change.ConflictKind][]string{change.ConflictCI: {b.Number}, change.ConflictAssignee: {c.Number}}, kinds(got))
	for _, cf := range got {
		if cf.Kind == change.ConflictCI {
			assert.Equal(t, db, cf.CIID)
			assert.True(t, cf.Start.Equal(start.Add(time.Hour)) && cf.End.Equal(start.Add(2*time.Hour)), "the overlap")
		}
	}
	got, err = f.svc.Conflicts(f.ctx, touching.ID)
	require.NoError(t, err)
	assert.Empty(t, got, "b ends as it starts: touching ends are not overlaps")

	// A freeze on the database, once enforced.
	freeze := yearEndFreeze()
	freeze.Ranges[0].From = calendar.Date{Year: 2026, Month: 12, Day: 18}
	freeze.Scope = change.Scope{CIs: []itil.ID{db}}
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, freeze)
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, b.ID)
	require.NoError(t, err)
	assert.NotContains(t, kinds(got), change.ConflictBlackout, "a draft freeze counts for nothing")
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	_, err = f.svc.EnforceSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, map[change.ConflictKind][]string{change.ConflictBlackout: {""}, change.ConflictCI: {a.Number}}, kinds(got))

	// An ended change conflicts with nothing, and nothing with it.
	_, err = f.svc.Cancel(f.ctx, requester, b.ID, "not needed")
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, map[change.ConflictKind][]string{change.ConflictAssignee: {c.Number}, change.ConflictBlackout: {""}}, kinds(got))
	got, err = f.svc.Conflicts(f.ctx, b.ID)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = f.svc.Conflicts(f.ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
}
