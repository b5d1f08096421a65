package incidenttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// testSLA drives SLA timers through incident commands: they start with the
// incident, the response timer stops at the first response, the resolution
// timer pauses On Hold, stops at resolution and starts a new cycle on
// reopen, all in the incident's own transactions.
func testSLA(t *testing.T, newStore NewStore) {
	store := newStore(t)
	clk := newClock() // Monday 2 March 2026, 09:00 UTC
	eng, err := slm.NewEngine(store, slm.WithClock(clk))
	require.NoError(t, err)
	ctx := t.Context()
	admin := itil.Actor{ID: "sla-admin"}
	resp, err := eng.Define(ctx, admin, slm.StandardDefinition("Response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "1h", Duration: time.Hour}))
	require.NoError(t, err)
	resol, err := eng.Define(ctx, admin, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "P1 4h", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 4 * time.Hour},
		slm.Target{Name: "other 8h", Duration: 8 * time.Hour}))
	require.NoError(t, err)

	svc, err := incident.New(store, incident.WithClock(clk), incident.WithHook(eng))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: ctx, store: store, svc: svc, clock: clk}
	inc := f.open("VPN down")
	timers := func() map[itil.ID]slm.Status {
		st, err := eng.Status(ctx, inc.ID, clk.Now())
		require.NoError(t, err)
		out := map[itil.ID]slm.Status{}
		for _, s := range st {
			if s.Timer.Cycle == 1 || s.Timer.Definition == resol.ID {
				out[s.Timer.Definition] = s // the last cycle of each
			}
		}
		return out
	}
	st := timers()
	require.Len(t, st, 2)
	assert.Equal(t, slm.InProgress, st[resp.ID].Timer.State)
	assert.Equal(t, "other 8h", st[resol.ID].Timer.Target)

	clk.Advance(30 * time.Minute)
	_, err = svc.Assign(ctx, agent, inc.ID, "network", "sam")
	require.NoError(t, err)
	st = timers()
	assert.Equal(t, slm.Completed, st[resp.ID].Timer.State, "the first response stops the response timer")
	assert.Equal(t, 30*time.Minute, st[resp.ID].Timer.Elapsed)
	assert.False(t, st[resp.ID].Timer.Breached)

	clk.Advance(time.Hour)
	_, err = svc.Hold(ctx, agent, inc.ID, incident.AwaitingCaller, "which VPN client version?")
	require.NoError(t, err)
	assert.Equal(t, slm.Paused, timers()[resol.ID].Timer.State)
	clk.Advance(5 * time.Hour)
	assert.Equal(t, 90*time.Minute, timers()[resol.ID].Progress.Elapsed, "no time counts On Hold")
	_, err = svc.Resume(ctx, agent, inc.ID)
	require.NoError(t, err)

	// A refused command changes no timer: it shares the transaction.
	before := timers()
	_, err = svc.Resolve(ctx, agent, inc.ID, "no_such_code", "x")
	require.Error(t, err)
	assert.Equal(t, before[resol.ID].Timer, timers()[resol.ID].Timer)

	// Raising the priority mid-flight picks the 4 h target and keeps the
	// time used.
	impact, urgency := itil.Impact(1), itil.Urgency(1)
	_, err = svc.Update(ctx, agent, inc.ID, incident.Patch{Impact: &impact, Urgency: &urgency})
	require.NoError(t, err)
	st = timers()
	assert.Equal(t, "P1 4h", st[resol.ID].Timer.Target)
	assert.True(t, st[resol.ID].Timer.BreachAt.Equal(clk.Now().Add(150*time.Minute)), "%v", st[resol.ID].Timer.BreachAt)

	clk.Advance(time.Hour)
	_, err = svc.Resolve(ctx, agent, inc.ID, "solution_provided", "rebooted the concentrator")
	require.NoError(t, err)
	st = timers()
	assert.Equal(t, slm.Completed, st[resol.ID].Timer.State)
	assert.Equal(t, 150*time.Minute, st[resol.ID].Timer.Elapsed)

	clk.Advance(time.Hour)
	_, err = svc.Reopen(ctx, caller, inc.ID, "down again")
	require.NoError(t, err)
	all, err := eng.Status(ctx, inc.ID, clk.Now())
	require.NoError(t, err)
	require.Len(t, all, 3, "a reopen starts a second resolution cycle and keeps the first")
	assert.Equal(t, 2, all[2].Timer.Cycle)
	assert.True(t, all[2].Timer.StartedAt.Equal(clk.Now()), "a reset cycle starts at the reopen, not at the opening")
	assert.Equal(t, slm.InProgress, all[2].Timer.State)
	assert.Equal(t, slm.Completed, all[1].Timer.State)

	// The timers are what the journal says they are.
	live, err := eng.Timers(ctx, inc.ID)
	require.NoError(t, err)
	rebuilt, err := eng.Replay(ctx, inc.ID)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)

	// Each incident event is matched by one observation of the incident
	// at its version, journaled under the SLA record (which has the
	// incident's ID), so the incident's history shows both.
	hist, err := svc.History(ctx, inc.ID)
	require.NoError(t, err)
	var versions, observed []int64
	for _, h := range hist {
		switch h.Kind {
		case incident.Kind:
			versions = append(versions, h.Version)
		case slm.KindSubject:
			require.Equal(t, slm.EventObserved, h.Type)
			observed = append(observed, 0)
		}
	}
	require.NoError(t, store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		observed = observed[:0]
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: inc.ID}) {
			if err != nil {
				return err
			}
			if ev.Type == slm.EventObserved {
				require.Equal(t, slm.KindSubject, ev.Kind, "an observation names the SLA record it wrote")
				var o slm.Observation
				require.NoError(t, json.Unmarshal(ev.Payload, &o))
				observed = append(observed, o.Snapshot.Version)
			}
		}
		return nil
	}))
	assert.Equal(t, versions, observed)

	// Options.
	_, err = incident.New(store, incident.WithHook(nil))
	testkit.RequireInvalid(t, err, "hook")
}

// testTwoInstancesSLA runs two application instances, each with its own
// Service and SLA engine on its own handle of one store, with commands and
// monitors interleaved: the timers stay what the journal says, each
// threshold is recorded once, and both instances read the same timers.
func testTwoInstancesSLA(t *testing.T, instances storagetest.Instances) {
	clk := newClock()
	ctx := t.Context()
	engines, svcs := slaInstances(t, instances, clk, clk)
	_, err := engines[0].Define(ctx, itil.Actor{ID: "sla-admin"}, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "8h", Duration: 8 * time.Hour}))
	require.NoError(t, err)
	_, err = engines[1].Define(ctx, itil.Actor{ID: "sla-admin"}, slm.StandardDefinition("Response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "1h", Duration: time.Hour}))
	require.NoError(t, err)

	var ids []itil.ID
	for i := range 6 {
		inc, err := svcs[i%2].Open(ctx, agent, basic(fmt.Sprintf("incident %d", i)))
		require.NoError(t, err)
		ids = append(ids, inc.ID)
	}
	// Commands from both instances, concurrently, on the same incidents;
	// the monitors of both run while they do.
	clk.Advance(5 * time.Hour)
	var wg sync.WaitGroup
	var fired [2]int
	for i := range 2 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n, id := range ids {
				var err error
				switch (n + i) % 3 {
				case 0:
					_, err = svcs[i].Assign(ctx, agent, id, fmt.Sprintf("group-%d", i), "")
				case 1:
					_, err = svcs[i].Hold(ctx, agent, id, incident.AwaitingVendor, "")
				case 2:
					_, err = svcs[i].Escalate(ctx, agent, id, 1+i, "customer called")
				}
				// A refusal (already on hold) or a conflict the retries
				// did not absorb is fine; anything else is not.
				var v *itil.ValidationError
				if err != nil && !errors.As(err, &v) && !errors.Is(err, itil.ErrConflict) && !errors.Is(err, itil.ErrInvalidTransition) {
					t.Errorf("instance %d: %v", i, err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			f, err := engines[i].Fire(ctx, clk.Now())
			if err != nil {
				t.Errorf("monitor %d: %v", i, err)
			}
			fired[i] = len(f)
		}()
	}
	wg.Wait()
	late, err := engines[0].Fire(ctx, clk.Now())
	require.NoError(t, err)

	recorded := 0
	for _, id := range ids {
		live0, err := engines[0].Timers(ctx, id)
		require.NoError(t, err)
		live1, err := engines[1].Timers(ctx, id)
		require.NoError(t, err)
		require.Equal(t, live0, live1, "both instances read the same timers")
		rebuilt, err := engines[1].Replay(ctx, id)
		require.NoError(t, err)
		require.Equal(t, live0, rebuilt, "the timers are what the journal says")
		require.Len(t, live0, 2, "both definitions, defined on different instances, time every incident")
		for _, tm := range live0 {
			recorded += len(tm.Fired)
		}
		inc, err := svcs[1].Get(ctx, id)
		require.NoError(t, err)
		h, err := svcs[0].History(ctx, id)
		require.NoError(t, err)
		own := 0
		for _, e := range h {
			if e.Kind == incident.Kind && e.SubjectID == id {
				own++
				require.Equal(t, int64(own), e.Version, "one event per version, in order")
			}
		}
		require.Equal(t, inc.Version, int64(own))
	}
	require.Equal(t, recorded, fired[0]+fired[1]+len(late), "each threshold recorded once over both monitors")
	require.Positive(t, recorded)
}

// slaInstances opens two application instances, each with its own SLA
// engine and incident Service on its own handle of one store, reading the
// clocks given.
func slaInstances(t *testing.T, instances storagetest.Instances, clocks ...*clock) ([2]*slm.Engine, [2]*incident.Service) {
	a, b := instances(t)
	var engines [2]*slm.Engine
	var svcs [2]*incident.Service
	for i, st := range []storage.Store{a, b} {
		var err error
		engines[i], err = slm.NewEngine(st, slm.WithClock(clocks[i]))
		require.NoError(t, err)
		svcs[i], err = incident.New(st, incident.WithClock(clocks[i]), incident.WithHook(engines[i]))
		require.NoError(t, err)
	}
	return engines, svcs
}

// testClockSkewSLA runs two instances whose clocks are five minutes
// apart: the one behind writes later versions of an incident at earlier
// times than the one ahead did. Its commands succeed (a skewed clock is not
// the caller's mistake), the timers see each change no earlier than the
// one before it, so no business time runs backwards or twice, and the
// journal replays to the same timers.
func testClockSkewSLA(t *testing.T, instances storagetest.Instances) {
	ctx := t.Context()
	behind, ahead := newClock(), newClock()
	ahead.Advance(5 * time.Minute)
	engines, svcs := slaInstances(t, instances, behind, ahead)
	_, err := engines[1].Define(ctx, itil.Actor{ID: "sla-admin"}, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "8h", Duration: 8 * time.Hour}))
	require.NoError(t, err)
	// The instance ahead opens the incident at 09:05; the one behind puts
	// it on hold at 09:01 by its clock, then the one ahead resumes it at
	// 10:05 and the one behind assigns it at 10:00.
	inc, err := svcs[1].Open(ctx, agent, basic("skewed"))
	require.NoError(t, err)
	behind.Advance(time.Minute)
	_, err = svcs[0].Hold(ctx, agent, inc.ID, incident.AwaitingVendor, "")
	require.NoError(t, err, "a later version at an earlier time is the clock's skew, not bad input")
	behind.Advance(59 * time.Minute)
	ahead.Advance(time.Hour)
	_, err = svcs[1].Resume(ctx, agent, inc.ID)
	require.NoError(t, err)
	_, err = svcs[0].Assign(ctx, agent, inc.ID, "network", "")
	require.NoError(t, err)

	timers, err := engines[0].Timers(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, timers, 1)
	st, err := engines[0].Status(ctx, inc.ID, ahead.Now())
	require.NoError(t, err)
	// Running from 09:05 (open) to 09:05 (the hold, seen no earlier than
	// the open) and again from 10:05 (resume) to 10:05 (now on the clock
	// ahead): no time at all, and none negative.
	require.Equal(t, time.Duration(0), st[0].Progress.Elapsed)
	rebuilt, err := engines[1].Replay(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, timers, rebuilt, "the timers are what the journal says")
}
