package problemtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

var (
	desk      = itil.Actor{ID: "desk", Name: "Service Desk"}
	trendBot  = itil.Actor{ID: "trend-watch", Name: "Trend watch"}
	byCI24h   = problem.TrendRule{Name: "ci-24h", By: problem.TrendByCI, Threshold: 5, Window: 24 * time.Hour}
	bySvcCat  = problem.TrendRule{Name: "service-category-7d", By: problem.TrendByService | problem.TrendByCategory, Threshold: 3, Window: 7 * 24 * time.Hour}
	testRules = []problem.TrendRule{byCI24h, bySvcCat}
)

// trendInstance is one application instance: incident and problem
// services and a trend watch on its handle of the store.
type trendInstance struct {
	inc   *incident.Service
	prb   *problem.Service
	watch *problem.TrendWatch
}

func newTrendInstance(t *testing.T, store storage.Store, c *clock) *trendInstance {
	inc, err := incident.New(store, incident.WithClock(c))
	require.NoError(t, err)
	prb, err := problem.New(store, problem.WithClock(c), problem.WithIncidents(inc))
	require.NoError(t, err)
	w, err := problem.NewTrendWatch(prb, testRules, time.Hour)
	require.NoError(t, err)
	return &trendInstance{inc, prb, w}
}

func (in *trendInstance) openIncident(t *testing.T, title string, ci, svc itil.ID) *incident.Incident {
	t.Helper()
	x, err := in.inc.Open(t.Context(), desk, incident.NewIncident{Title: title, Caller: itil.Actor{ID: "caller"}, Channel: incident.Phone,
		Impact: 3, Urgency: 3, Category: "network", CIID: ci, ServiceID: svc})
	require.NoError(t, err)
	return x
}

// candidate returns the candidate of rule and key, or fails.
func candidate(t *testing.T, cs []problem.TrendCandidate, rule string, key problem.TrendKey) problem.TrendCandidate {
	t.Helper()
	for _, c := range cs {
		if c.Rule == rule && c.Key == key {
			return c
		}
	}
	require.FailNow(t, "no candidate", "%s %s in %+v", rule, key, cs)
	return problem.TrendCandidate{}
}

// testTrendWatch: incidents opened on either instance reach both watches
// (a watch built later replays them); candidates name the open problem
// that covers them; two instances racing to open a problem for one
// candidate open one; a problem that ends frees its key.
func testTrendWatch(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	c := newClock()
	ctx := t.Context()
	ia := newTrendInstance(t, a, c)
	ciX, ciY, svc := itil.NewID(), itil.NewID(), itil.NewID()

	cs, err := ia.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	assert.Empty(t, cs)
	var onX []itil.ID
	for i := range 5 {
		onX = append(onX, ia.openIncident(t, "router X flaps", ciX, itil.NilID).ID)
		if i == 2 {
			ia.openIncident(t, "Y slow", ciY, svc)
			ia.openIncident(t, "Y slow again", ciY, svc)
		}
		c.Advance(time.Hour)
	}
	// An incident whose transaction rolled back is never counted.
	_ = a.RunInTx(ctx, func(ctx2 context.Context, tx storage.Tx) error {
		_, err := ia.inc.In(tx).Open(ctx2, desk, incident.NewIncident{Title: "rolled back", Caller: itil.Actor{ID: "caller"}, Channel: incident.Phone,
			Impact: 3, Urgency: 3, Category: "network", CIID: ciY, ServiceID: svc})
		require.NoError(t, err)
		return errors.New("roll back")
	})

	// Instance B starts after the incidents: it replays them.
	ib := newTrendInstance(t, b, c)
	now := c.Now()
	csA, err := ia.watch.Trends(ctx, now)
	require.NoError(t, err)
	csB, err := ib.watch.Trends(ctx, now)
	require.NoError(t, err)
	require.Equal(t, csA, csB, "both instances count the same committed incidents")
	require.Len(t, csA, 1)
	x := candidate(t, csA, byCI24h.Name, problem.TrendKey{CI: ciX})
	assert.Equal(t, onX, x.Incidents)
	assert.Equal(t, itil.NilID, x.CoveredBy)

	// A third incident on Y (service and category) makes a second
	// candidate, seen by both through catch-up.
	ib.openIncident(t, "Y down", ciY, svc)
	csA, err = ia.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	y := candidate(t, csA, bySvcCat.Name, problem.TrendKey{ServiceID: svc, Category: "network"})
	assert.Equal(t, 3, y.Count)
	csB, err = ib.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	assert.Equal(t, csA, csB)

	// Two instances race to open a problem for X: one problem.
	for round := range 2 {
		type result struct {
			p      *problem.Problem
			opened bool
			err    error
		}
		res := make([]result, 2)
		var race sync.WaitGroup
		for i, in := range []*trendInstance{ia, ib} {
			race.Go(func() {
				p, opened, err := in.watch.Open(ctx, trendBot, x)
				res[i] = result{p, opened, err}
			})
		}
		race.Wait()
		opened := 0
		for _, r := range res {
			if errors.Is(r.err, itil.ErrConflict) {
				continue // the retries did not absorb it; nothing was opened
			}
			require.NoError(t, r.err)
			if r.opened {
				opened++
			}
		}
		require.Equal(t, 1, opened, "round %d: %+v", round, res)
		var winner *problem.Problem
		for _, r := range res {
			if r.err == nil {
				if winner == nil {
					winner = r.p
				}
				assert.Equal(t, winner.ID, r.p.ID, "the loser finds the winner's problem")
			}
		}
		assert.Equal(t, "5 incidents on CI "+ciX.String()+" in 24h", winner.Title)
		// The winner linked the candidate's incidents, once each: in
		// round 0 all of them; in round 1 none, since they still belong
		// to round 0's canceled problem, and a work note names them.
		for _, id := range onX {
			got, err := ib.inc.Get(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, 1, countEvents(t, ctx, a, id, incident.EventProblemLinked), "round %d: linked once", round)
			if round == 0 {
				assert.Equal(t, winner.ID, got.ProblemID)
			} else {
				assert.NotEqual(t, winner.ID, got.ProblemID)
			}
		}
		var notes []string
		for n, err := range ib.prb.Notes(ctx, winner.ID, itil.WorkNote) {
			require.NoError(t, err)
			notes = append(notes, n.Text)
		}
		if round == 0 {
			assert.Equal(t, 5, winner.IncidentCount)
			assert.Empty(t, notes)
			linked, err := ib.prb.Incidents(ctx, winner.ID)
			require.NoError(t, err)
			assert.Len(t, linked, 5)
		} else {
			assert.Equal(t, 0, winner.IncidentCount)
			require.Len(t, notes, 1)
			assert.Contains(t, notes[0], "left unlinked")
			assert.Contains(t, notes[0], "(belongs to PRB")
		}
		assert.Equal(t, []itil.ID{ciX}, winner.CIIDs)
		assert.Contains(t, winner.Description, onX[0].String())
		open, _, err := ib.prb.ListPage(ctx, problem.Filter{CIID: ciX, States: []problem.State{problem.StateNew}}, 10, "")
		require.NoError(t, err)
		require.Len(t, open, 1, "one open problem for the key")
		h, err := ia.prb.History(ctx, winner.ID)
		require.NoError(t, err)
		var claimed bool
		for _, e := range h {
			claimed = claimed || e.Type == problem.EventTrendClaimed
		}
		assert.True(t, claimed, "the trend key is journaled with the problem")

		cs, err := ib.watch.Trends(ctx, c.Now())
		require.NoError(t, err)
		assert.Equal(t, winner.ID, candidate(t, cs, byCI24h.Name, x.Key).CoveredBy)
		// Opening again while it is open returns it.
		p, opened2, err := ia.watch.Open(ctx, trendBot, x)
		require.NoError(t, err)
		assert.False(t, opened2)
		assert.Equal(t, winner.ID, p.ID)

		// Once it ends, the key is free again (round 2 opens anew).
		_, err = ia.prb.Cancel(ctx, analyst, winner.ID, "not a problem after all")
		require.NoError(t, err)
		cs, err = ia.watch.Trends(ctx, c.Now())
		require.NoError(t, err)
		assert.Equal(t, itil.NilID, candidate(t, cs, byCI24h.Name, x.Key).CoveredBy)
	}

	// A problem whose fields match a key covers it: one on service svc
	// in category network covers Y.
	manual, err := ia.prb.Open(ctx, analyst, problem.NewProblem{Title: "Slow network on the service", Category: "network", ServiceID: svc})
	require.NoError(t, err)
	cs, err = ib.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	assert.Equal(t, manual.ID, candidate(t, cs, bySvcCat.Name, y.Key).CoveredBy)
	opened, err := ib.watch.OpenUncovered(ctx, trendBot, c.Now())
	require.NoError(t, err)
	require.Len(t, opened, 1, "X only: Y is covered")
	assert.Equal(t, []itil.ID{ciX}, opened[0].CIIDs)
	opened, err = ia.watch.OpenUncovered(ctx, trendBot, c.Now())
	require.NoError(t, err)
	assert.Empty(t, opened, "everything is covered now")

	// A candidate some of whose incidents belong to another problem, or
	// are canceled: those are left alone and named in a work note; the
	// others are linked.
	ciZ := itil.NewID()
	var onZ []*incident.Incident
	for range 6 {
		onZ = append(onZ, ia.openIncident(t, "Z reboots", ciZ, itil.NilID))
	}
	_, err = ia.prb.LinkIncident(ctx, analyst, manual.ID, onZ[1].ID)
	require.NoError(t, err)
	_, err = ia.inc.Cancel(ctx, desk, onZ[2].ID, "raised in error")
	require.NoError(t, err)
	cs, err = ia.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	z := candidate(t, cs, byCI24h.Name, problem.TrendKey{CI: ciZ})
	require.Len(t, z.Incidents, 6)
	pz, opened1, err := ib.watch.Open(ctx, trendBot, z)
	require.NoError(t, err)
	require.True(t, opened1)
	assert.Equal(t, 4, pz.IncidentCount)
	linked, err := ia.prb.Incidents(ctx, pz.ID)
	require.NoError(t, err)
	assert.Len(t, linked, 4)
	got1, err := ia.inc.Get(ctx, onZ[1].ID)
	require.NoError(t, err)
	assert.Equal(t, manual.ID, got1.ProblemID, "left with its problem")
	var zNotes []string
	for n, err := range ia.prb.Notes(ctx, pz.ID, itil.WorkNote) {
		require.NoError(t, err)
		zNotes = append(zNotes, n.Text)
	}
	require.Len(t, zNotes, 1)
	assert.Contains(t, zNotes[0], onZ[1].Number+" (belongs to "+manual.Number+")")
	assert.Contains(t, zNotes[0], onZ[2].Number+" (canceled)")

	// Without WithIncidents the watch reports trends but opens nothing.
	bare, err := problem.New(a, problem.WithClock(c))
	require.NoError(t, err)
	bw, err := problem.NewTrendWatch(bare, testRules, time.Hour)
	require.NoError(t, err)
	_, _, err = bw.Open(ctx, trendBot, z)
	require.ErrorIs(t, err, problem.ErrNoIncidents)
	// An unknown incident: nothing is opened.
	bad := z
	bad.Incidents = append(slices.Clone(z.Incidents), itil.NewID())
	bad.Count++
	_, err = ia.prb.Cancel(ctx, analyst, pz.ID, "retry")
	require.NoError(t, err)
	_, _, err = ia.watch.Open(ctx, trendBot, bad)
	require.ErrorIs(t, err, itil.ErrNotFound)
	cs, err = ia.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	assert.Equal(t, itil.NilID, candidate(t, cs, byCI24h.Name, z.Key).CoveredBy, "nothing opened")

	// Bad candidates.
	_, _, err = ia.watch.Open(ctx, trendBot, problem.TrendCandidate{Rule: "nope", Key: x.Key, Count: 5})
	testkit.RequireInvalid(t, err, "rule")
	_, _, err = ia.watch.Open(ctx, trendBot, problem.TrendCandidate{Rule: byCI24h.Name, Key: problem.TrendKey{ServiceID: svc}, Count: 5})
	testkit.RequireInvalid(t, err, "key")
	_, _, err = ia.watch.Open(ctx, itil.Actor{}, x)
	testkit.RequireInvalid(t, err, "actor.id")
	forged := x
	forged.Count = -5
	_, _, err = ia.watch.Open(ctx, trendBot, forged)
	testkit.RequireFields(t, err, "count")
	forged = x
	forged.Incidents, forged.Count = forged.Incidents[:2], 2
	_, _, err = ia.watch.Open(ctx, trendBot, forged)
	testkit.RequireFields(t, err, "count")
	forged = x
	forged.Incidents = slices.Clone(x.Incidents)
	forged.Incidents[0], forged.From = itil.NilID, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	_, _, err = ia.watch.Open(ctx, trendBot, forged)
	testkit.RequireFields(t, err, "incidents[0]", "from")
	forged = x
	forged.Incidents = slices.Clone(x.Incidents)
	forged.Incidents[1] = forged.Incidents[0]
	forged.From = x.To.Add(time.Hour)
	_, _, err = ia.watch.Open(ctx, trendBot, forged)
	testkit.RequireFields(t, err, "incidents[1]", "to")
	_, err = problem.NewTrendWatch(nil, testRules, 0)
	testkit.RequireInvalid(t, err, "service")
	_, err = problem.NewTrendWatch(ia.prb, nil, 0)
	testkit.RequireInvalid(t, err, "rules")
}

// testSLA: an slm definition for problems, time to root cause, runs from
// the opening until the fix starts, through the problem's hook, in the
// problem's own transactions.
func testSLA(t *testing.T, newStore NewStore) {
	store := newStore(t)
	c := newClock()
	ctx := t.Context()
	eng, err := slm.NewEngine(store, slm.WithClock(c))
	require.NoError(t, err)
	def := slm.StandardDefinition("Time to root cause", problem.Kind, slm.OLA, slm.Resolution,
		slm.Target{Name: "P1 1d", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 24 * time.Hour},
		slm.Target{Name: "other 5d", Duration: 5 * 24 * time.Hour})
	def.Stop = &slm.Condition{States: []string{string(problem.StateFixInProgress), string(problem.StateResolved), string(problem.StateClosed)}}
	def.Reset = nil
	defined, err := eng.Define(ctx, itil.Actor{ID: "sla-admin"}, def)
	require.NoError(t, err)
	def = *defined
	svc, err := problem.New(store, problem.WithClock(c), problem.WithHook(eng))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: ctx, store: store, svc: svc, clock: c}

	timer := func(id itil.ID) slm.Status {
		t.Helper()
		st, err := eng.Status(ctx, id, c.Now())
		require.NoError(t, err)
		require.Len(t, st, 1)
		require.Equal(t, def.ID, st[0].Timer.Definition)
		return st[0]
	}
	p := f.open("database deadlocks")
	assert.Equal(t, slm.InProgress, timer(p.ID).Timer.State)
	assert.Equal(t, "other 5d", timer(p.ID).Timer.Target)
	c.Advance(2 * time.Hour)
	p = f.toRCAFrom(p)
	c.Advance(3 * time.Hour)
	// A refused command changes no timer.
	before := timer(p.ID).Timer
	_, err = svc.Fix(ctx, analyst, p.ID)
	testkit.RequireInvalid(t, err, "cause_notes")
	assert.Equal(t, before, timer(p.ID).Timer)
	// Raising the priority to P1 picks the one-day target.
	impact, urgency := itil.Impact(1), itil.Urgency(1)
	_, err = svc.Update(ctx, analyst, p.ID, problem.Patch{Impact: &impact, Urgency: &urgency, CauseNotes: ptr("lock order inverted in the billing job")})
	require.NoError(t, err)
	assert.Equal(t, "P1 1d", timer(p.ID).Timer.Target)
	c.Advance(time.Hour)
	_, err = svc.Fix(ctx, analyst, p.ID)
	require.NoError(t, err)
	st := timer(p.ID)
	assert.Equal(t, slm.Completed, st.Timer.State, "the root cause is found when the fix starts")
	assert.Equal(t, 6*time.Hour, st.Timer.Elapsed)
	assert.False(t, st.Timer.Breached)
	c.Advance(48 * time.Hour)
	assert.Equal(t, 6*time.Hour, timer(p.ID).Timer.Elapsed, "stopped")

	// A canceled problem cancels its timer.
	q := f.open("phantom")
	_, err = svc.Cancel(ctx, analyst, q.ID, "duplicate report")
	require.NoError(t, err)
	assert.Equal(t, slm.Canceled, timer(q.ID).Timer.State)

	live, err := eng.Timers(ctx, p.ID)
	require.NoError(t, err)
	rebuilt, err := eng.Replay(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt, "the timers are what the journal says")
}

// toRCAFrom takes an open problem to Root Cause Analysis.
func (f *fixture) toRCAFrom(p *problem.Problem) *problem.Problem {
	f.t.Helper()
	_, err := f.svc.Assign(f.ctx, analyst, p.ID, "problem-mgmt", "ana")
	require.NoError(f.t, err)
	_, err = f.svc.Assess(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	p, err = f.svc.Confirm(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	return p
}

// testTrendWatchSkew: with no lateness allowed, an instance whose "now"
// is a little behind an incident another instance opened still gets its
// candidates, as of the latest instant the watch answers exactly.
func testTrendWatchSkew(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	ahead, behind := newClock(), newClock()
	ctx := t.Context()
	inc, err := incident.New(a, incident.WithClock(ahead))
	require.NoError(t, err)
	prb, err := problem.New(b, problem.WithClock(behind), problem.WithIncidents(inc))
	require.NoError(t, err)
	w, err := problem.NewTrendWatch(prb, testRules, 0)
	require.NoError(t, err)
	ci := itil.NewID()
	for range 5 {
		ahead.Advance(time.Minute)
		_, err := inc.Open(ctx, desk, incident.NewIncident{Title: "router flaps", Caller: itil.Actor{ID: "caller"}, Channel: incident.Phone,
			Impact: 3, Urgency: 3, Category: "network", CIID: ci})
		require.NoError(t, err)
	}
	cs, err := w.Trends(ctx, behind.Now())
	require.NoError(t, err)
	x := candidate(t, cs, byCI24h.Name, problem.TrendKey{CI: ci})
	assert.Equal(t, 5, x.Count)
	assert.Equal(t, ahead.Now(), x.To, "as of the latest incident")
	_, err = w.Trends(ctx, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))
	testkit.RequireFields(t, err, "as_of")
	_, err = w.Trends(ctx, time.Time{})
	testkit.RequireFields(t, err, "as_of")
	// Further behind than TrendSkew: a mistake, not skew.
	_, err = w.Trends(ctx, ahead.Now().Add(-problem.TrendSkew-time.Second))
	testkit.RequireFields(t, err, "as_of")
}

// testTrendWatchBadEvent: an incident.opened event no incident Service
// writes is reported once, by its Seq, and passed over; the watch counts
// the rest and goes on.
func testTrendWatchBadEvent(t *testing.T, newStore NewStore) {
	store := newStore(t)
	c := newClock()
	ctx := t.Context()
	in := newTrendInstance(t, store, c)
	ci := itil.NewID()
	for range 2 {
		in.openIncident(t, "router flaps", ci, itil.NilID)
	}
	require.NoError(t, store.RunInTx(storage.Writing(ctx), func(ctx context.Context, tx storage.Tx) error {
		return tx.Append(ctx, itil.Event{Kind: incident.Kind, SubjectID: itil.NewID(), Type: incident.EventOpened,
			Time: c.Now(), Actor: desk, Payload: []byte(`{"summary":"opened by hand","created":{"id":"not an ID"}}`)})
	}))
	var bad int64
	require.NoError(t, store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		bad, err = tx.LastSeq(ctx)
		return err
	}))
	for range 3 {
		in.openIncident(t, "router flaps", ci, itil.NilID)
	}
	n, err := in.watch.CatchUp(ctx)
	require.ErrorContains(t, err, fmt.Sprintf("journal event %d (incident.opened)", bad))
	assert.Equal(t, 5, n, "the others are counted")
	n, err = in.watch.CatchUp(ctx)
	require.NoError(t, err, "passed over, not read again")
	assert.Zero(t, n)
	cs, err := in.watch.Trends(ctx, c.Now())
	require.NoError(t, err)
	assert.Equal(t, 5, candidate(t, cs, byCI24h.Name, problem.TrendKey{CI: ci}).Count)
}
