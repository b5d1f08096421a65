package problemtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
)

// ends are the ways a problem with linked incidents stops being worked
// on, each from a problem in Fix in Progress with fix notes.
var ends = []struct {
	name string
	end  func(f *linkFixture, p itil.ID)
	code problem.ResolutionCode
}{
	{"resolved", func(f *linkFixture, p itil.ID) {
		_, err := f.svc.Resolve(f.ctx, analyst, p)
		require.NoError(f.t, err)
	}, problem.FixApplied},
	{"closed with the fix", func(f *linkFixture, p itil.ID) {
		_, err := f.svc.Resolve(f.ctx, analyst, p)
		require.NoError(f.t, err)
		_, err = f.svc.Complete(f.ctx, analyst, p)
		require.NoError(f.t, err)
	}, problem.FixApplied},
	{"risk accepted", func(f *linkFixture, p itil.ID) {
		_, err := f.svc.Reanalyze(f.ctx, analyst, p, "too costly")
		require.NoError(f.t, err)
		_, err = f.svc.AcceptRisk(f.ctx, analyst, p, "too costly")
		require.NoError(f.t, err)
	}, problem.RiskAccepted},
	{"canceled", func(f *linkFixture, p itil.ID) {
		_, err := f.svc.Cancel(f.ctx, analyst, p, "the relay is retired")
		require.NoError(f.t, err)
	}, problem.Canceled},
}

// testAwaitEnded: an incident cannot be put On Hold awaiting a problem
// that is Resolved, Closed or Canceled (nothing is written); once a
// Resolved problem is reanalyzed, it can again.
func testAwaitEnded(t *testing.T, newStore NewStore) {
	for _, end := range ends {
		t.Run(end.name, func(t *testing.T) {
			f := setupLinks(t, newStore, nil)
			p := f.toFix("relay leaks memory")
			_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{FixNotes: ptr(fixText)})
			require.NoError(t, err)
			inc := f.openIncident("mail down")
			f.link(p.ID, inc.ID)
			incInProgress.to(f, inc.ID)
			end.end(f, p.ID)
			before, n := f.getIncident(inc.ID), f.journalLen()
			_, err = f.inc.Hold(f.ctx, agent, inc.ID, incident.AwaitingProblem, "waiting for the fix")
			require.ErrorIs(t, err, itil.ErrInvalidTransition)
			assert.Equal(t, before, f.getIncident(inc.ID), "refused: unchanged")
			assert.Equal(t, n, f.journalLen(), "refused: nothing journaled")
			// Other reasons are not the problem's business.
			_, err = f.inc.Hold(f.ctx, agent, inc.ID, incident.AwaitingVendor, "")
			require.NoError(t, err)
			if end.name == "resolved" {
				_, err = f.svc.Reanalyze(f.ctx, analyst, p.ID, "the fix did not hold")
				require.NoError(t, err)
				_, err = f.inc.Hold(f.ctx, agent, inc.ID, incident.AwaitingProblem, "")
				require.NoError(t, err, "a reanalyzed problem is worked on again")
			}
		})
	}
}

// testAwaitMissing: an incident naming a problem the store does not hold
// (linked by incident.Service.SetProblem alone, or from another store)
// cannot await it: an input error naming problem_id, not "not found",
// since the incident is there.
func testAwaitMissing(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	inc := f.openIncident("mail down")
	_, err := f.inc.SetProblem(f.ctx, agent, inc.ID, itil.NilID, itil.NewID())
	require.NoError(t, err)
	before, n := f.getIncident(inc.ID), f.journalLen()
	_, err = f.inc.Hold(f.ctx, agent, inc.ID, incident.AwaitingProblem, "")
	testkit.RequireFields(t, err, "problem_id")
	require.NotErrorIs(t, err, itil.ErrNotFound)
	assert.Equal(t, before, f.getIncident(inc.ID), "refused: unchanged")
	assert.Equal(t, n, f.journalLen(), "refused: nothing journaled")
}

// testDuplicateOfEnded: incidents a duplicate moves to a survivor that has
// ended already get what the survivor's end gave its own: resolved by the
// fix when awaiting it, resumed with a work note when no fix is coming.
func testDuplicateOfEnded(t *testing.T, newStore NewStore) {
	for _, end := range ends[:3] { // a canceled survivor is refused
		t.Run(end.name, func(t *testing.T) {
			f := setupLinks(t, newStore, nil)
			survivor := f.toFix("relay leaks memory")
			_, err := f.svc.Update(f.ctx, analyst, survivor.ID, problem.Patch{FixNotes: ptr(fixText)})
			require.NoError(t, err)
			dup := f.open("mail bounces")
			waiting, working := f.openIncident("bounce 1"), f.openIncident("bounce 2")
			f.link(dup.ID, waiting.ID)
			f.link(dup.ID, working.ID)
			incAwaiting.to(f, waiting.ID)
			incInProgress.to(f, working.ID)
			end.end(f, survivor.ID)

			d, err := f.svc.MarkDuplicate(f.ctx, analyst, dup.ID, survivor.ID)
			require.NoError(t, err)
			assert.Equal(t, 0, d.IncidentCount)
			assert.Equal(t, 2, f.get(survivor.ID).IncidentCount)
			w, k := f.getIncident(waiting.ID), f.getIncident(working.ID)
			assert.Equal(t, survivor.ID, w.ProblemID)
			assert.Equal(t, survivor.ID, k.ProblemID)
			assert.Equal(t, incident.StateInProgress, k.State)
			assert.Len(t, f.notes(k.ID, itil.WorkNote), 1)
			if end.code == problem.FixApplied {
				assert.Equal(t, incident.StateResolved, w.State)
				assert.Equal(t, problem.ResolvedByProblem, w.ResolutionCode)
				assert.Equal(t, fixText, w.ResolutionNotes)
				assert.Empty(t, f.notes(w.ID, itil.WorkNote))
			} else {
				assert.Equal(t, incident.StateInProgress, w.State, "resumed: no fix is coming")
				assert.Len(t, f.notes(w.ID, itil.WorkNote), 1)
			}
		})
	}
}

// testDuplicateMovesCanceled: a canceled incident moves with the duplicate
// it belongs to (it cannot be linked anew, but a move is no new link);
// the links model found MarkDuplicate refused for it.
func testDuplicateMovesCanceled(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	survivor, dup := f.open("disk full"), f.open("mail bounces")
	inc := f.openIncident("bounce")
	f.link(dup.ID, inc.ID)
	incCanceled.to(f, inc.ID)
	_, err := f.svc.MarkDuplicate(f.ctx, analyst, dup.ID, survivor.ID)
	require.NoError(t, err)
	assert.Equal(t, survivor.ID, f.getIncident(inc.ID).ProblemID)
	assert.Equal(t, 1, f.get(survivor.ID).IncidentCount)
	assert.Equal(t, 0, f.get(dup.ID).IncidentCount)
}
