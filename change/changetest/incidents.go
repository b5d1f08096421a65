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
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

var (
	agent  = itil.Actor{ID: "agent", Name: "Andy Agent"}
	caller = itil.Actor{ID: "carl", Name: "Carl Caller"}
)

// incFixture is a change Service with the incident Service on the same
// store.
type incFixture struct {
	*fixture
	inc *incident.Service
}

func setupIncidents(t *testing.T, store storage.Store, clock *testkit.Clock, opts ...change.Option) *incFixture {
	inc, err := incident.New(store, incident.WithClock(clock))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: t.Context(), store: store, clock: clock}
	f.svc, err = change.New(store, append([]change.Option{change.WithClock(clock), change.WithDirectory(directory),
		change.WithIncidents(inc)}, opts...)...)
	require.NoError(t, err)
	return &incFixture{fixture: f, inc: inc}
}

// openIncident opens an incident of priority P1 (impact and urgency 1) to
// P3 (2, 2).
func (f *incFixture) openIncident(title string, impact itil.Impact, urgency itil.Urgency) *incident.Incident {
	f.t.Helper()
	i, err := f.inc.Open(f.ctx, agent, incident.NewIncident{Title: title, Caller: caller,
		Channel: incident.Phone, Impact: impact, Urgency: urgency})
	require.NoError(f.t, err)
	return i
}

func (f *incFixture) incident(id itil.ID) *incident.Incident {
	f.t.Helper()
	i, err := f.inc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return i
}

func (f *incFixture) notes(id itil.ID) []string {
	f.t.Helper()
	var out []string
	for n, err := range f.inc.Notes(f.ctx, id) {
		require.NoError(f.t, err)
		out = append(out, n.Text)
	}
	return out
}

// done takes a standard change to Review.
func (f *fixture) done(id itil.ID) *change.Change {
	return f.move(id, change.MoveSchedule, change.MoveImplement, change.MoveReview)
}

func (f *fixture) score(of change.ScoreOf, name string) change.SuccessScore {
	f.t.Helper()
	s, err := f.svc.SuccessScore(f.ctx, of, name)
	require.NoError(f.t, err)
	return s
}

func runIncidents(t *testing.T, newStore func(*testing.T) storage.Store, instances storagetest.Instances) {
	t.Run("AwaitingChange", func(t *testing.T) { testAwaitingChange(t, newStore) })
	t.Run("CausedIncidents", func(t *testing.T) { testCausedIncidents(t, newStore) })
	t.Run("SuccessScores", func(t *testing.T) { testSuccessScores(t, newStore) })
	t.Run("TwoInstances/SuccessScores", func(t *testing.T) { testTwoInstanceScores(t, instances) })
}

// testAwaitingChange: incidents await a change, On Hold, and resume when
// it ends, in the change's transaction.
func testAwaitingChange(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setupIncidents(t, newStore(t), testkit.NewClock())
	ch := f.open(change.ModelStandard)
	held := f.openIncident("Mail relay drops messages", 2, 2)
	linked := f.openIncident("Mail is slow", 3, 3)

	_, err := f.inc.Hold(f.ctx, agent, held.ID, incident.AwaitingChange, "")
	testkit.RequireFields(t, err, "reason") // not linked yet

	got, err := f.svc.LinkIncident(f.ctx, requester, ch.ID, held.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.IncidentCount, "the change counts the incidents awaiting it")
	_, err = f.svc.LinkIncident(f.ctx, requester, ch.ID, linked.ID)
	require.NoError(t, err)
	assert.Equal(t, ch.ID, f.incident(held.ID).ChangeID)
	_, err = f.inc.Hold(f.ctx, agent, held.ID, incident.AwaitingChange, "")
	require.NoError(t, err)

	incs, err := f.svc.Incidents(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, []itil.ID{held.ID, linked.ID}, []itil.ID{incs[0].ID, incs[1].ID})

	// An incident awaits one change at most; one On Hold awaiting it is
	// not unlinked.
	other := f.open(change.ModelStandard)
	_, err = f.svc.LinkIncident(f.ctx, requester, other.ID, held.ID)
	testkit.RequireFields(t, err, "incident_id")
	_, err = f.svc.UnlinkIncident(f.ctx, requester, ch.ID, held.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.LinkIncident(f.ctx, requester, ch.ID, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.LinkIncident(f.ctx, requester, ch.ID, itil.NilID)
	testkit.RequireFields(t, err, "incident_id")

	f.done(ch.ID)
	assert.Equal(t, incident.StateOnHold, f.incident(held.ID).State, "still waiting while the change is in review")
	_, err = f.svc.Close(f.ctx, requester, ch.ID, change.Successful, "relay upgraded")
	require.NoError(t, err)
	h := f.incident(held.ID)
	assert.Equal(t, incident.StateInProgress, h.State, "resumed when the change closed")
	assert.Empty(t, h.HoldReason)
	assert.Contains(t, f.notes(held.ID), "Change "+ch.Number+" closed successful: relay upgraded")
	assert.Contains(t, f.notes(linked.ID), "Change "+ch.Number+" closed successful: relay upgraded", "every open incident awaiting it is told")

	// An ended change is not awaited.
	late := f.openIncident("Still slow", 3, 3)
	_, err = f.svc.LinkIncident(f.ctx, requester, ch.ID, late.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// A canceled change releases its incidents too: nothing is coming.
	_, err = f.svc.LinkIncident(f.ctx, requester, other.ID, late.ID)
	require.NoError(t, err)
	_, err = f.inc.Hold(f.ctx, agent, late.ID, incident.AwaitingChange, "")
	require.NoError(t, err)
	_, err = f.svc.Cancel(f.ctx, requester, other.ID, "superseded")
	require.NoError(t, err)
	assert.Equal(t, incident.StateInProgress, f.incident(late.ID).State)
	assert.Contains(t, f.notes(late.ID), "Change "+other.Number+" canceled")
	_, err = f.inc.Hold(f.ctx, agent, late.ID, incident.AwaitingChange, "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "a canceled change is not awaited")

	// Unlinking one that is not On Hold awaiting it.
	third := f.open(change.ModelStandard)
	free := f.openIncident("Spam gets through", 3, 3)
	_, err = f.svc.LinkIncident(f.ctx, requester, third.ID, free.ID)
	require.NoError(t, err)
	_, err = f.svc.UnlinkIncident(f.ctx, requester, third.ID, free.ID)
	require.NoError(t, err)
	assert.Equal(t, itil.NilID, f.incident(free.ID).ChangeID)

	// An ended change keeps its links; a canceled incident awaits nothing.
	_, err = f.svc.UnlinkIncident(f.ctx, requester, ch.ID, held.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	gone := f.openIncident("Opened by mistake", 3, 3)
	_, err = f.inc.Cancel(f.ctx, agent, gone.ID, "duplicate")
	require.NoError(t, err)
	_, err = f.svc.LinkIncident(f.ctx, requester, third.ID, gone.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// Without WithIncidents nothing is linked, and a change incidents
	// await does not end: they would wait for ever.
	bare := setup(t, func(*testing.T) storage.Store { return f.store })
	_, err = bare.svc.LinkIncident(f.ctx, requester, third.ID, free.ID)
	require.ErrorIs(t, err, change.ErrNoIncidents)
	_, err = f.svc.LinkIncident(f.ctx, requester, third.ID, free.ID)
	require.NoError(t, err)
	_, err = bare.svc.Cancel(f.ctx, requester, third.ID, "not needed")
	require.ErrorIs(t, err, change.ErrNoIncidents)
	_, err = bare.svc.Cancel(f.ctx, requester, f.open(change.ModelStandard).ID, "not needed")
	require.NoError(t, err, "one no incident awaits ends")
}

// testCausedIncidents: an implemented change lists the incidents it
// caused, and each counts against its success scores by priority.
func testCausedIncidents(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setupIncidents(t, newStore(t), testkit.NewClock())
	ch := f.open(change.ModelStandard)
	p1 := f.openIncident("Mail is down", 1, 1)
	p3 := f.openIncident("Mail is slow", 2, 2)
	require.Equal(t, itil.P1, p1.Priority)
	require.Equal(t, itil.P3, p3.Priority)

	_, err := f.svc.LinkCausedIncident(f.ctx, requester, ch.ID, p1.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "a change that never ran caused nothing")
	assert.Equal(t, itil.NilID, f.incident(p1.ID).CausedBy, "nothing written")

	f.move(ch.ID, change.MoveSchedule, change.MoveImplement)
	got, err := f.svc.LinkCausedIncident(f.ctx, requester, ch.ID, p1.ID)
	require.NoError(t, err)
	_, err = f.svc.LinkCausedIncident(f.ctx, requester, ch.ID, p3.ID)
	require.NoError(t, err)
	got, err = f.svc.Get(f.ctx, got.ID)
	require.NoError(t, err)
	assert.Equal(t, []itil.ID{p1.ID, p3.ID}, got.CausedIncidents)
	assert.Equal(t, ch.ID, f.incident(p1.ID).CausedBy)
	_, err = f.svc.LinkCausedIncident(f.ctx, requester, ch.ID, p1.ID)
	testkit.RequireFields(t, err, "incident_id")
	other := f.open(change.ModelStandard)
	f.move(other.ID, change.MoveSchedule, change.MoveImplement)
	_, err = f.svc.LinkCausedIncident(f.ctx, requester, other.ID, p3.ID)
	testkit.RequireFields(t, err, "incident_id") // one cause at most

	// -10 for the P1, -2 for the P3, on the group and the model.
	for _, k := range []struct {
		of   change.ScoreOf
		name string
	}{{change.ScoreOfGroup, "messaging"}, {change.ScoreOfModel, change.ModelStandard}} {
		s := f.score(k.of, k.name)
		assert.Equal(t, [5]int{1, 0, 1, 0, 0}, s.Caused, k.name)
		assert.Equal(t, -12, s.Score, k.name)
		assert.Equal(t, change.RatingLow, s.Rating, k.name)
	}
	incs, err := collectIncidents(f.ctx, f.inc, incident.Filter{CausedBy: ch.ID})
	require.NoError(t, err)
	assert.Len(t, incs, 2, "incident.Filter.CausedBy lists them")
}

func collectIncidents(ctx context.Context, svc *incident.Service, flt incident.Filter) ([]*incident.Incident, error) {
	var out []*incident.Incident
	for i, err := range svc.List(ctx, flt) {
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// testSuccessScores: closed changes teach the scores of their group, model
// and CIs, and a poor record raises the risk AssessRisk finds through the
// lookup.
func testSuccessScores(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setupIncidents(t, newStore(t), testkit.NewClock())
	ci := itil.NewID()
	tmpl := f.tmplPublished(change.NewTemplate{Name: "Restart the relay", Title: "Restart the relay",
		Implementation: "systemctl restart postfix", Backout: "none needed", AssignmentGroup: "messaging",
		PlannedDuration: time.Hour, CIID: ci})
	closeWith := func(code change.CloseCode) {
		ch, err := f.svc.OpenFromTemplate(f.ctx, requester, tmpl.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		f.done(ch.ID)
		if code != change.Successful {
			_, err = f.svc.RecordReview(f.ctx, requester, ch.ID, change.ReviewInput{WhatHappened: "it went wrong"})
			require.NoError(t, err)
		}
		_, err = f.svc.Close(f.ctx, requester, ch.ID, code, "done")
		require.NoError(t, err)
	}
	assert.Equal(t, change.SuccessScore{Of: change.ScoreOfGroup, Name: "messaging", Rating: change.RatingMedium},
		f.score(change.ScoreOfGroup, "messaging"), "no history scores 0")
	for range 5 {
		closeWith(change.Successful)
	}
	s := f.score(change.ScoreOfCI, ci.String())
	assert.Equal(t, 5, s.Successful)
	assert.Equal(t, 15, s.Score)
	assert.Equal(t, change.RatingHigh, s.Rating)
	closeWith(change.SuccessfulWithIssues)
	closeWith(change.Unsuccessful)
	s = f.score(change.ScoreOfGroup, "messaging")
	assert.Equal(t, []int{5, 1, 1}, []int{s.Successful, s.SuccessfulWithIssues, s.Unsuccessful})
	assert.Equal(t, 15-2-5, s.Score)
	assert.Equal(t, change.RatingMedium, s.Rating)
	canceled := f.open(change.ModelStandard)
	_, err := f.svc.Cancel(f.ctx, requester, canceled.ID, "not needed")
	require.NoError(t, err)
	assert.Equal(t, 8, f.score(change.ScoreOfGroup, "messaging").Score, "a canceled change counts nothing")

	_, err = f.svc.SuccessScore(f.ctx, "team", "x")
	testkit.RequireFields(t, err, "of")
	_, err = f.svc.SuccessScore(f.ctx, change.ScoreOfGroup, "")
	testkit.RequireFields(t, err, "name")

	// The lookup reads the rating: a normal change of impact 2 by a group
	// rated medium (messaging, 8) is moderate risk; by one rated low
	// (network, -5 for an unsuccessful change), high.
	net := f.tmplPublished(change.NewTemplate{Name: "Reload the router", Title: "Reload the router",
		Implementation: "reload", Backout: "none needed", AssignmentGroup: "network", PlannedDuration: time.Hour})
	failed, err := f.svc.OpenFromTemplate(f.ctx, requester, net.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	f.done(failed.ID)
	_, err = f.svc.RecordReview(f.ctx, requester, failed.ID, change.ReviewInput{WhatHappened: "the router did not come back"})
	require.NoError(t, err)
	_, err = f.svc.Close(f.ctx, requester, failed.ID, change.Unsuccessful, "rolled back")
	require.NoError(t, err)
	assess := func(g *incFixture, group string) *change.Change {
		ch, err := g.svc.Open(g.ctx, requester, change.NewChange{Model: change.ModelNormal, Title: "Move the relay",
			AssignmentGroup: group, Impact: 2})
		require.NoError(t, err)
		ch, err = g.svc.AssessRisk(g.ctx, requester, ch.ID, nil)
		require.NoError(t, err)
		return ch
	}
	assert.Equal(t, change.RiskModerate, assess(f, "messaging").Risk)
	low := assess(f, "network")
	assert.Equal(t, change.RiskHigh, low.Risk)
	assert.Contains(t, low.RiskExplanation, "success rating low")

	// Counts are stored, not points: another scoring rates the same
	// history at once.
	lenient := change.DefaultSuccessScoring()
	lenient.MediumFrom = -10
	g := setupIncidents(t, f.store, f.clock, change.WithSuccessScoring(lenient))
	assert.Equal(t, change.RatingMedium, g.score(change.ScoreOfGroup, "network").Rating)
	assert.Equal(t, change.RiskModerate, assess(g, "network").Risk)
	_, err = change.New(f.store, change.WithSuccessScoring(change.SuccessScoring{}))
	testkit.RequireFields(t, err, "success_scoring.high_from", "success_scoring.excellent_from")
}

// testTwoInstanceScores: two instances closing changes of one group at
// once lose no count.
func testTwoInstanceScores(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	clock := testkit.NewClock()
	a, b := setupIncidents(t, s1, clock), setupIncidents(t, s2, clock)
	const n = 4
	var ids []itil.ID
	for range n {
		ch := a.open(change.ModelStandard)
		a.done(ch.ID)
		ids = append(ids, ch.ID)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		svc := a.svc
		if i%2 == 1 {
			svc = b.svc
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.Close(t.Context(), requester, id, change.Successful, "done")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, n, b.score(change.ScoreOfGroup, "messaging").Successful)
	assert.Equal(t, 3*n, a.score(change.ScoreOfModel, change.ModelStandard).Score)
}
