// Package slmtest is the service level management suite every storage
// backend runs: hand-worked timer cases, the monitor's claims, replay and
// repair, compliance, the limits on names and subject kinds, and a rapid
// model-based test of timers.
package slmtest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// tb is what fixture helpers report failures to.
type tb = testkit.TB

// NewStore returns an empty store for one test.
type NewStore func(t testing.TB) storage.Store

// Run runs the whole suite on stores made by instances: most tests on the
// first handle; the two-instance tests run an engine on each handle.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t testing.TB) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("FridayAfternoonP1", func(t *testing.T) { fridayP1(t, newStore) })
	t.Run("PauseResume", func(t *testing.T) { pauseResume(t, newStore) })
	t.Run("Retarget", func(t *testing.T) { retarget(t, newStore) })
	t.Run("ResetKeepsOldCycle", func(t *testing.T) { reset(t, newStore) })
	t.Run("Revisions", func(t *testing.T) { revisions(t, newStore) })
	t.Run("RetroactiveStart", func(t *testing.T) { retroactive(t, newStore) })
	t.Run("ResponseMetric", func(t *testing.T) { response(t, newStore) })
	t.Run("Monitor", func(t *testing.T) { monitor(t, newStore) })
	t.Run("MonitorsRace", func(t *testing.T) { monitorsRace(t, newStore) })
	t.Run("ReplayAndRepair", func(t *testing.T) { replayRepair(t, newStore) })
	t.Run("Compliance", func(t *testing.T) { compliance(t, newStore) })
	t.Run("Validation", func(t *testing.T) { validation(t, newStore) })
	t.Run("TimesOutOfRange", func(t *testing.T) { timesOutOfRange(t, newStore) })
	t.Run("List", func(t *testing.T) { list(t, newStore) })
	t.Run("Limits", func(t *testing.T) { limits(t, newStore) })
	t.Run("Model", func(t *testing.T) { model(t, newStore, nil) })
	t.Run("TwoInstances/Model", func(t *testing.T) { model(t, newStore, instances) })
	t.Run("TwoInstances/MonitorsRace", func(t *testing.T) { monitorsRaceTwoInstances(t, instances) })
}

var (
	admin = itil.Actor{ID: "sla-admin", Name: "SLA admin"}
	agent = itil.Actor{ID: "agent", Name: "Agent"}
	ny    = mustZone("America/New_York")
)

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// officeHours is Mon–Fri 09:00–17:00 in New York.
func officeHours() *calendar.Spec {
	return &calendar.Spec{Zone: "America/New_York", Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0))}
}

// resolution is a resolution SLA on "ticket" subjects: open states run the
// clock, on_hold pauses it, resolved stops it, canceled cancels it and a
// change of reopen_count resets it. P1 has 4 h, P2 8 h, anything else 16 h.
func resolution(cal *calendar.Spec) slm.Definition {
	return slm.Definition{
		Name: "Resolution", Type: slm.SLA, Metric: slm.Resolution, SubjectKind: "ticket",
		Selection: slm.FirstMatch, Calendar: cal,
		Targets: []slm.Target{
			{Name: "P1 4h", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 4 * time.Hour},
			{Name: "P2 8h", When: slm.Condition{Priorities: []itil.Priority{itil.P2}}, Duration: 8 * time.Hour},
			{Name: "other 16h", Duration: 16 * time.Hour},
		},
		Start:  slm.Condition{States: []string{"new", "in_progress", "on_hold"}},
		Pause:  &slm.Condition{States: []string{"on_hold"}},
		Stop:   &slm.Condition{States: []string{"resolved", "closed"}},
		Cancel: &slm.Condition{States: []string{"canceled"}},
		Reset:  &slm.Condition{Changed: []string{"reopen_count"}},
	}
}

// fixture is one engine on a fresh store with a settable clock.
type fixture struct {
	t   tb
	ctx context.Context
	e   *slm.Engine
	mu  sync.Mutex
	now time.Time
}

func newFixture(t testing.TB, newStore NewStore, now time.Time) *fixture {
	f := &fixture{t: t, ctx: context.Background(), now: now}
	f.e = f.engine(newStore(t))
	return f
}

// engine returns an engine on store reading the fixture's clock.
func (f *fixture) engine(store storage.Store) *slm.Engine {
	e, err := slm.NewEngine(store, slm.WithClock(itil.ClockFunc(func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.now
	})))
	require.NoError(f.t, err)
	return e
}

func (f *fixture) set(now time.Time) {
	f.mu.Lock()
	f.now = now
	f.mu.Unlock()
}

func (f *fixture) define(d slm.Definition) *slm.Definition {
	out, err := f.e.Define(f.ctx, admin, d)
	require.NoError(f.t, err)
	return out
}

// observe hands the engine a snapshot of a ticket at the fixture's time.
func (f *fixture) observe(id itil.ID, state string, p itil.Priority, fields map[string]string) []*slm.Timer {
	var out []*slm.Timer
	err := f.e.Store().RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		if err := f.e.Observe(ctx, tx, agent, itil.Snapshot{
			Kind: "ticket", ID: id, State: state, Priority: p, Fields: fields, Time: f.now,
		}); err != nil {
			return err
		}
		var err error
		out, err = f.e.In(tx).Timers(ctx, id)
		return err
	})
	require.NoError(f.t, err)
	return out
}

func (f *fixture) timers(id itil.ID) []*slm.Timer {
	ts, err := f.e.Timers(f.ctx, id)
	require.NoError(f.t, err)
	return ts
}

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }

func sameInstant(t tb, want, got time.Time, msg ...any) {
	t.Helper()
	assert.True(t, want.Equal(got), "want %v, got %v %v", want, got, msg)
}

func fridayP1(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 13, 16, 30)) // a Friday
	f.define(resolution(officeHours()))
	id := itil.NewID()
	ts := f.observe(id, "new", itil.P1, nil)
	require.Len(t, ts, 1)
	tm := ts[0]
	assert.Equal(t, slm.InProgress, tm.State)
	assert.Equal(t, "P1 4h", tm.Target)
	sameInstant(t, at(2026, 11, 16, 12, 30), tm.BreachAt)
	sameInstant(t, at(2026, 11, 16, 12, 30), tm.OriginalBreachAt)
	st, err := f.e.Status(f.ctx, id, at(2026, 11, 16, 10, 30))
	require.NoError(t, err)
	require.Len(t, st, 1)
	assert.Equal(t, 2*time.Hour, st[0].Progress.Elapsed)
	assert.Equal(t, 2*time.Hour, st[0].Progress.Remaining)
	assert.Equal(t, 66*time.Hour, st[0].Progress.Wall)
	assert.False(t, st[0].Progress.Breached)
	st, err = f.e.Status(f.ctx, id, at(2026, 11, 16, 12, 30))
	require.NoError(t, err)
	assert.True(t, st[0].Progress.Breached, "100% is the breach")
	assert.Equal(t, 100.0, st[0].Progress.Percent)
}

func pauseResume(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0)) // Monday
	f.define(resolution(officeHours()))
	id := itil.NewID()
	f.observe(id, "new", itil.P1, nil)
	f.set(at(2026, 11, 16, 10, 0))
	tm := f.observe(id, "on_hold", itil.P1, nil)[0]
	assert.Equal(t, slm.Paused, tm.State)
	assert.Equal(t, time.Hour, tm.Elapsed)
	assert.True(t, tm.BreachAt.IsZero(), "a paused timer with time left has no breach instant")
	f.set(at(2026, 11, 17, 9, 0))
	tm = f.observe(id, "in_progress", itil.P1, nil)[0]
	assert.Equal(t, slm.InProgress, tm.State)
	sameInstant(t, at(2026, 11, 17, 12, 0), tm.BreachAt)
	sameInstant(t, at(2026, 11, 16, 13, 0), tm.OriginalBreachAt)
	f.set(at(2026, 11, 17, 11, 0))
	tm = f.observe(id, "resolved", itil.P1, nil)[0]
	assert.Equal(t, slm.Completed, tm.State)
	assert.Equal(t, 3*time.Hour, tm.Elapsed)
	assert.False(t, tm.Breached)
	require.Len(t, tm.Pauses, 1)
	sameInstant(t, at(2026, 11, 16, 10, 0), tm.Pauses[0].Start)
	sameInstant(t, at(2026, 11, 17, 9, 0), tm.Pauses[0].End)
	st, err := f.e.Status(f.ctx, id, at(2026, 12, 1, 0, 0))
	require.NoError(t, err)
	assert.Equal(t, 3*time.Hour, st[0].Progress.Elapsed, "a completed timer no longer runs")
	assert.Equal(t, 26*time.Hour, st[0].Progress.Wall)
}

func retarget(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	f.define(resolution(officeHours()))
	id := itil.NewID()
	tm := f.observe(id, "new", itil.P3, nil)[0]
	assert.Equal(t, 16*time.Hour, tm.Goal)
	f.set(at(2026, 11, 16, 10, 0))
	f.observe(id, "on_hold", itil.P3, nil)
	f.set(at(2026, 11, 16, 11, 0))
	f.observe(id, "in_progress", itil.P3, nil)
	f.set(at(2026, 11, 16, 13, 0))
	tm = f.observe(id, "in_progress", itil.P1, nil)[0]
	assert.Equal(t, "P1 4h", tm.Target)
	assert.Equal(t, 4*time.Hour, tm.Goal)
	assert.Len(t, tm.Pauses, 1, "the pause history is kept")
	// 1 h before the pause, 2 h since: 1 h left from 13:00.
	sameInstant(t, at(2026, 11, 16, 14, 0), tm.BreachAt)
	sameInstant(t, at(2026, 11, 17, 17, 0), tm.OriginalBreachAt, "the original breach instant stays")
	// Lowering the priority again after the breach moves the breach away.
	f.set(at(2026, 11, 16, 15, 0))
	tm = f.observe(id, "in_progress", itil.P1, nil)[0]
	assert.True(t, tm.Breached)
	tm = f.observe(id, "in_progress", itil.P2, nil)[0]
	assert.False(t, tm.Breached)
	sameInstant(t, at(2026, 11, 17, 10, 0), tm.BreachAt)
}

func reset(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	f.define(resolution(officeHours()))
	id := itil.NewID()
	f.observe(id, "new", itil.P2, map[string]string{"reopen_count": "0"})
	f.set(at(2026, 11, 16, 12, 0))
	f.observe(id, "resolved", itil.P2, map[string]string{"reopen_count": "0"})
	f.set(at(2026, 11, 17, 9, 0))
	ts := f.observe(id, "in_progress", itil.P2, map[string]string{"reopen_count": "1"})
	require.Len(t, ts, 2)
	assert.Equal(t, 1, ts[0].Cycle)
	assert.Equal(t, slm.Completed, ts[0].State)
	assert.Equal(t, 3*time.Hour, ts[0].Elapsed)
	assert.Equal(t, 2, ts[1].Cycle)
	assert.Equal(t, slm.InProgress, ts[1].State)
	sameInstant(t, at(2026, 11, 17, 9, 0), ts[1].StartedAt)
	assert.NotEqual(t, ts[0].ID, ts[1].ID)
	// A reset while running cancels the running cycle as "reset".
	f.set(at(2026, 11, 17, 10, 0))
	ts = f.observe(id, "in_progress", itil.P2, map[string]string{"reopen_count": "2"})
	require.Len(t, ts, 3)
	assert.Equal(t, slm.Canceled, ts[1].State)
	assert.Equal(t, "reset", ts[1].CancelReason)
	assert.Equal(t, slm.InProgress, ts[2].State)
}

func revisions(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	d1 := f.define(resolution(nil))
	assert.Equal(t, 1, d1.Revision)
	a := itil.NewID()
	f.observe(a, "new", itil.P1, nil)
	f.set(at(2026, 11, 16, 9, 30))
	d2 := *d1
	d2.Targets = []slm.Target{{Name: "all 2h", Duration: 2 * time.Hour}}
	got := f.define(d2)
	assert.Equal(t, 2, got.Revision)
	b := itil.NewID()
	tb := f.observe(b, "new", itil.P1, nil)[0]
	assert.Equal(t, 2, tb.Revision)
	assert.Equal(t, 2*time.Hour, tb.Goal)
	f.set(at(2026, 11, 16, 10, 0))
	ta := f.observe(a, "in_progress", itil.P1, nil)[0]
	assert.Equal(t, 1, ta.Revision, "a running timer keeps its revision")
	assert.Equal(t, 4*time.Hour, ta.Goal)
	r1, err := f.e.Revision(f.ctx, d1.ID, 1)
	require.NoError(t, err)
	assert.Equal(t, 4*time.Hour, r1.Targets[0].Duration)
	// The history shows the revision's field changes, and replaying it
	// gives the current definition.
	h, err := f.e.History(f.ctx, d1.ID)
	require.NoError(t, err)
	require.Len(t, h, 2)
	var fields []string
	for _, c := range h[1].Fields {
		fields = append(fields, c.Field)
	}
	assert.Contains(t, fields, "targets")
	assert.Contains(t, fields, "revision")
	replayed, err := pipeline.Replay[slm.Definition](slm.KindDefinition, d1.ID, h, 0)
	require.NoError(t, err)
	current, err := f.e.Definition(f.ctx, d1.ID)
	require.NoError(t, err)
	replayed.Version = current.Version // not journaled per write
	assert.Equal(t, current, replayed)
	// A stale version is a conflict.
	d2.Version = d1.Version
	_, err = f.e.Define(f.ctx, admin, d2)
	assert.ErrorIs(t, err, itil.ErrConflict)
}

func retroactive(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 11, 0))
	d := resolution(officeHours())
	d.StartFrom = "opened_at"
	f.define(d)
	id := itil.NewID()
	tm := f.observe(id, "in_progress", itil.P1, map[string]string{"opened_at": at(2026, 11, 16, 9, 0).UTC().Format(time.RFC3339Nano)})[0]
	sameInstant(t, at(2026, 11, 16, 9, 0), tm.StartedAt)
	sameInstant(t, at(2026, 11, 16, 13, 0), tm.BreachAt)
}

func response(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	f.define(slm.Definition{
		Name: "Response", Type: slm.OLA, Metric: slm.Response, SubjectKind: "ticket",
		Selection: slm.Strictest, Calendar: officeHours(),
		Targets: []slm.Target{
			{Name: "any 1h", Duration: time.Hour},
			{Name: "P1 15m", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 15 * time.Minute},
		},
		Start: slm.Condition{States: []string{"new", "in_progress"}},
		Stop:  &slm.Condition{Fields: map[string][]string{"responded": {"true"}}},
	})
	id := itil.NewID()
	tm := f.observe(id, "new", itil.P1, map[string]string{"responded": "false"})[0]
	assert.Equal(t, "P1 15m", tm.Target, "strictest picks the shortest matching target")
	f.set(at(2026, 11, 16, 9, 10))
	tm = f.observe(id, "in_progress", itil.P1, map[string]string{"responded": "true"})[0]
	assert.Equal(t, slm.Completed, tm.State)
	assert.Equal(t, 10*time.Minute, tm.Elapsed)
	assert.Equal(t, slm.OLA, tm.Type)
}

func monitor(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	f.define(resolution(officeHours()))
	id, other := itil.NewID(), itil.NewID()
	f.observe(id, "new", itil.P1, nil)    // breach 13:00
	f.observe(other, "new", itil.P3, nil) // 16 h: 50% at Monday 17:00
	due, err := f.e.Due(f.ctx, at(2026, 11, 16, 10, 59))
	require.NoError(t, err)
	assert.Empty(t, due)
	due, err = f.e.Due(f.ctx, at(2026, 11, 16, 11, 0))
	require.NoError(t, err)
	require.Len(t, due, 1, "50% of 4 h is reached at 11:00")
	fired, err := f.e.Fire(f.ctx, at(2026, 11, 16, 11, 0))
	require.NoError(t, err)
	require.Len(t, fired, 1)
	assert.Equal(t, 50, fired[0].Percent)
	fired, err = f.e.Fire(f.ctx, at(2026, 11, 16, 11, 0))
	require.NoError(t, err)
	assert.Empty(t, fired, "firing is idempotent")
	// Past the breach: 75% and 100% at once, in order, with their instants.
	fired, err = f.e.Fire(f.ctx, at(2026, 11, 16, 14, 0))
	require.NoError(t, err)
	require.Len(t, fired, 2)
	assert.Equal(t, 75, fired[0].Percent)
	sameInstant(t, at(2026, 11, 16, 12, 0), fired[0].ReachedAt)
	assert.Equal(t, 100, fired[1].Percent)
	assert.True(t, fired[1].Breach)
	sameInstant(t, at(2026, 11, 16, 13, 0), fired[1].ReachedAt)
	tm := f.timers(id)[0]
	assert.Len(t, tm.Fired, 3)
	assert.True(t, tm.DueAt.IsZero())
	// The thresholds are in the journal, once each: one event per run of
	// the monitor that wrote the subject, a breach among them making it
	// EventBreached.
	var types []string
	var reached []int
	err = f.e.Store().RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: id}) {
			if err != nil {
				return err
			}
			if ev.Type == slm.EventWarning || ev.Type == slm.EventBreached {
				require.Equal(t, slm.KindSubject, ev.Kind)
				types = append(types, ev.Type)
				var p slm.Thresholds
				require.NoError(t, json.Unmarshal(ev.Payload, &p))
				for _, th := range p.Reached {
					reached = append(reached, th.Percent)
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{slm.EventWarning, slm.EventBreached}, types)
	assert.Equal(t, []int{50, 75, 100}, reached)
	// A paused timer is not due; its pending threshold comes back on resume.
	f.set(at(2026, 11, 16, 14, 0))
	f.observe(other, "on_hold", itil.P3, nil)
	due, err = f.e.Due(f.ctx, at(2026, 11, 30, 0, 0))
	require.NoError(t, err)
	assert.Empty(t, due)
}

func monitorsRace(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	raceMonitors(t, f, []*slm.Engine{f.e})
}

// monitorsRaceTwoInstances races the monitors of two application
// instances, two on each.
func monitorsRaceTwoInstances(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	f := newFixture(t, func(testing.TB) storage.Store { return a }, at(2026, 11, 16, 9, 0))
	raceMonitors(t, f, []*slm.Engine{f.e, f.engine(b)})
}

func raceMonitors(t *testing.T, f *fixture, engines []*slm.Engine) {
	f.define(resolution(nil))
	ids := make([]itil.ID, 20)
	for i := range ids {
		ids[i] = itil.NewID()
		f.observe(ids[i], "new", itil.P1, nil)
	}
	var wg sync.WaitGroup
	counts := make(chan int, 8)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for range 3 {
				fired, err := engines[i%len(engines)].Fire(f.ctx, at(2026, 11, 16, 20, 0))
				if err != nil && !errors.Is(err, itil.ErrConflict) {
					t.Error(err)
				}
				n += len(fired)
			}
			counts <- n
		}()
	}
	wg.Wait()
	close(counts)
	total := 0
	for n := range counts {
		total += n
	}
	// Whatever raced, a last run leaves nothing and every threshold of
	// every timer is recorded exactly once.
	fired, err := f.e.Fire(f.ctx, at(2026, 11, 16, 20, 0))
	require.NoError(t, err)
	total += len(fired)
	assert.Equal(t, 3*len(ids), total)
	for _, id := range ids {
		tm := f.timers(id)[0]
		require.Len(t, tm.Fired, 3)
		assert.Equal(t, []int{50, 75, 100}, []int{tm.Fired[0].Percent, tm.Fired[1].Percent, tm.Fired[2].Percent})
	}
}

func replayRepair(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 13, 16, 0))
	f.define(resolution(officeHours()))
	id := itil.NewID()
	steps := []struct {
		at    time.Time
		state string
		p     itil.Priority
		reop  string
	}{
		{at(2026, 11, 13, 16, 0), "new", itil.P3, "0"},
		{at(2026, 11, 16, 10, 0), "in_progress", itil.P2, "0"},
		{at(2026, 11, 16, 11, 0), "on_hold", itil.P2, "0"},
		{at(2026, 11, 17, 9, 30), "in_progress", itil.P1, "0"},
		{at(2026, 11, 17, 15, 0), "resolved", itil.P1, "0"},
		{at(2026, 11, 18, 9, 0), "in_progress", itil.P1, "1"},
	}
	for i, s := range steps {
		f.set(s.at)
		f.observe(id, s.state, s.p, map[string]string{"reopen_count": s.reop})
		if i == 3 {
			_, err := f.e.Fire(f.ctx, s.at.Add(3*time.Hour))
			require.NoError(t, err)
		}
	}
	live := f.timers(id)
	rebuilt, err := f.e.Replay(f.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, live, rebuilt)
	changed, err := f.e.Repair(f.ctx, admin, id)
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, live, f.timers(id))
}

func compliance(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	d := f.define(resolution(officeHours()))
	met, late, open, canceled := itil.NewID(), itil.NewID(), itil.NewID(), itil.NewID()
	for _, id := range []itil.ID{met, late, open, canceled} {
		f.observe(id, "new", itil.P1, nil)
	}
	f.set(at(2026, 11, 16, 11, 0))
	f.observe(met, "resolved", itil.P1, nil)
	f.observe(canceled, "canceled", itil.P1, nil)
	f.set(at(2026, 11, 16, 15, 0))
	f.observe(late, "resolved", itil.P1, nil)
	c, err := f.e.Compliance(f.ctx, d.ID, at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0), at(2026, 11, 16, 12, 0))
	require.NoError(t, err)
	assert.Equal(t, 1, c.Met)
	assert.Equal(t, 1, c.Breached)
	assert.Equal(t, 1, c.InProgress)
	assert.Equal(t, 1, c.Canceled)
	assert.Equal(t, 50.0, c.MetPercent)
	assert.Equal(t, 4*time.Hour, c.MeanElapsed)
	assert.Equal(t, 2*time.Hour, c.P50Elapsed)
	assert.Equal(t, 6*time.Hour, c.P95Elapsed)
	// Judged later, the open one has breached too.
	c, err = f.e.Compliance(f.ctx, d.ID, at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0), at(2026, 11, 17, 12, 0))
	require.NoError(t, err)
	assert.Equal(t, 2, c.Breached)
	assert.Equal(t, 0, c.InProgress)
	// A period before the cycles started holds none.
	c, err = f.e.Compliance(f.ctx, d.ID, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), at(2026, 11, 17, 12, 0))
	require.NoError(t, err)
	assert.Zero(t, c.Met+c.Breached+c.InProgress+c.Canceled)
	_, err = f.e.Compliance(f.ctx, itil.NewID(), at(2026, 11, 1, 0, 0), at(2026, 12, 1, 0, 0), at(2026, 11, 17, 12, 0))
	assert.ErrorIs(t, err, itil.ErrNotFound)
}

func validation(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	bad := resolution(&calendar.Spec{Zone: "Nowhere/Special", Week: calendar.MondayToFriday(calendar.Hours(17, 0, 9, 0))})
	bad.Type = "xla"
	bad.Targets[1].Duration = 0
	bad.Warnings = []int{75, 50}
	bad.Stop = nil
	bad.Name = " \t "
	bad.Targets[0].Name = "gold\x00"
	_, err := f.e.Define(f.ctx, admin, bad)
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, field := range []string{"name", "targets[0].name", "type", "targets[1].duration", "warnings[1]", "stop", "calendar.zone", "calendar.week.monday[0].end"} {
		assert.True(t, v.Has(field), "%s missing from %v", field, err)
	}
	n := 0
	for _, err := range f.e.List(f.ctx, slm.Filter{SubjectKinds: []string{"ticket"}}) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "nothing is written")
	err = f.e.Store().RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		err := f.e.Observe(ctx, tx, agent, itil.Snapshot{Kind: "ticket"})
		return err
	})
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("snapshot.id"))
	assert.True(t, v.Has("snapshot.time"))
}

func list(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	mk := func(name, kind string, typ slm.Type) {
		d := resolution(nil)
		d.Name, d.SubjectKind, d.Type = name, kind, typ
		f.define(d)
	}
	mk("C ticket OLA", "ticket", slm.OLA)
	mk("A ticket SLA", "ticket", slm.SLA)
	mk("B problem SLA", "problem", slm.SLA)
	mk("D change UC", "change", slm.UC)
	names := func(fl slm.Filter) []string {
		var out []string
		for d, err := range f.e.List(f.ctx, fl) {
			require.NoError(t, err)
			out = append(out, d.Name)
		}
		return out
	}
	assert.Equal(t, []string{"A ticket SLA", "B problem SLA", "C ticket OLA", "D change UC"}, names(slm.Filter{}))
	assert.Equal(t, []string{"A ticket SLA", "B problem SLA", "C ticket OLA"}, names(slm.Filter{SubjectKinds: []string{"ticket", "problem"}}))
	assert.Equal(t, []string{"A ticket SLA"}, names(slm.Filter{SubjectKinds: []string{"ticket"}, Types: []slm.Type{slm.SLA}}))
	var paged []string
	for _, d := range testkit.AllPages(t, func(token string) ([]*slm.Definition, string, error) {
		return f.e.ListPage(f.ctx, slm.Filter{Types: []slm.Type{slm.SLA, slm.UC}}, 1, token)
	}) {
		paged = append(paged, d.Name)
	}
	assert.Equal(t, []string{"A ticket SLA", "B problem SLA", "D change UC"}, paged)
	_, _, err := f.e.ListPage(f.ctx, slm.Filter{Types: []slm.Type{"xla"}, SubjectKinds: []string{" "}}, -1, "!!")
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, field := range []string{"types[0]", "subject_kinds[0]", "limit", "page_token"} {
		assert.True(t, v.Has(field), field)
	}
}
