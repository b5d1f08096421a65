package slmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// model is a rapid stateful test: a ticket goes through a random but
// lawful history (holds, resumes, priority changes, resolutions, reopens,
// cancellation) on a random calendar, a monitor fires at random moments,
// and after every step the engine's timers are checked against a plain
// model and against the invariants:
//
//   - the business time used equals the open time of the running spans
//     the model recorded, and is never more than the wall time;
//   - no open time counts while paused;
//   - the breach instant is where exactly the goal of open time has run
//     over the running spans (nothing counted while paused);
//   - each state change is one the timer lifecycle allows;
//   - replaying the journal gives exactly the live timers;
//   - each threshold fires at most once per cycle, in order.
//
// model checks one ticket's timers against the model; with instances, an
// engine runs on each handle of one store and every snapshot and monitor
// run goes to one of them at random.
func model(t *testing.T, newStore NewStore, instances storagetest.Instances) {
	specs := []*calendar.Spec{
		nil, // 24×7
		officeHours(),
		{Zone: "Europe/London", Country: "GB", Week: calendar.Week{
			time.Monday:   {calendar.Hours(8, 0, 12, 0), calendar.Hours(13, 0, 18, 0)},
			time.Tuesday:  {{Start: calendar.At(22, 0), End: calendar.At(6, 0), Overnight: true}},
			time.Thursday: {calendar.Hours(0, 0, 24, 0)},
			time.Saturday: {calendar.Hours(10, 0, 11, 30)},
		}},
		{Zone: "Australia/Lord_Howe", Week: calendar.EveryDay(calendar.Hours(1, 0, 3, 0))},
	}
	rapid.Check(t, func(rt *rapid.T) {
		spec := rapid.SampledFrom(specs).Draw(rt, "calendar")
		cal := alwaysOrNew(spec)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(
			time.Duration(rapid.Int64Range(0, 365*24*3600).Draw(rt, "start")) * time.Second)
		var f *fixture
		engines := []*slm.Engine{}
		if instances == nil {
			f = newFixture(t, newStore, start)
			engines = append(engines, f.e)
		} else {
			a, b := instances(t)
			f = newFixture(t, func(testing.TB) storage.Store { return a }, start)
			engines = append(engines, f.e, f.engine(b))
		}
		f.t = rt
		def := f.define(resolution(spec))
		m := &ticketModel{rt: rt, f: f, cal: cal, def: def, id: itil.NewID(), state: "new",
			priority: itil.Priority(rapid.IntRange(1, 4).Draw(rt, "priority")), states: map[itil.ID]slm.State{}}
		m.observe()
		actions := map[string]func(*rapid.T){
			"":         m.check,
			"wait":     m.wait,
			"work":     func(rt *rapid.T) { m.move(rt, "in_progress") },
			"hold":     func(rt *rapid.T) { m.move(rt, "on_hold") },
			"resolve":  func(rt *rapid.T) { m.move(rt, "resolved") },
			"close":    func(rt *rapid.T) { m.move(rt, "closed") },
			"cancel":   func(rt *rapid.T) { m.move(rt, "canceled") },
			"reopen":   m.reopen,
			"priority": m.reprioritize,
			"fire":     m.fire,
		}
		storagetest.Spread(actions, engines, func(e *slm.Engine) { f.e = e })
		rt.Repeat(actions)
	})
}

func alwaysOrNew(spec *calendar.Spec) *calendar.Calendar {
	if spec == nil {
		return calendar.MustNew(calendar.AlwaysOpen())
	}
	return calendar.MustNew(*spec)
}

type span struct{ from, to time.Time } // to zero: still running

// cycle is the model of one timer cycle.
type cycle struct {
	started time.Time
	running []span
	stopped time.Time
	state   slm.State
	// retargeted is set when a priority change moved the goal.
	retargeted bool
}

type ticketModel struct {
	rt       *rapid.T
	f        *fixture
	cal      *calendar.Calendar
	def      *slm.Definition
	id       itil.ID
	state    string
	priority itil.Priority
	reopens  int
	cycles   []*cycle
	states   map[itil.ID]slm.State
	// resetPending is set by a reopen until the next snapshot.
	resetPending bool
}

var lawful = map[string][]string{
	"new":         {"in_progress", "on_hold", "resolved", "canceled"},
	"in_progress": {"on_hold", "resolved", "canceled"},
	"on_hold":     {"in_progress", "resolved", "canceled"},
	"resolved":    {"closed"},
}

func (m *ticketModel) now() time.Time { return m.f.now }

func (m *ticketModel) wait(rt *rapid.T) {
	d := time.Duration(rapid.Int64Range(1, 3*24*3600).Draw(rt, "seconds")) * time.Second
	d += time.Duration(rapid.Int64Range(0, 999).Draw(rt, "millis")) * time.Millisecond
	m.f.set(m.now().Add(d))
}

func (m *ticketModel) observe() {
	m.f.observe(m.id, m.state, m.priority, map[string]string{"reopen_count": strconv.Itoa(m.reopens)})
	now := m.now()
	cur := m.current()
	switch m.state {
	case "new", "in_progress":
		if cur == nil || (cur.state.Final() && m.resetPending) {
			m.cycles = append(m.cycles, &cycle{started: now, running: []span{{from: now}}, state: slm.InProgress})
		} else if cur.state == slm.Paused {
			cur.running = append(cur.running, span{from: now})
			cur.state = slm.InProgress
		}
	case "on_hold":
		if cur != nil && cur.state == slm.InProgress {
			cur.running[len(cur.running)-1].to = now
			cur.state = slm.Paused
		}
	case "resolved", "closed", "canceled":
		if cur != nil && !cur.state.Final() {
			if cur.state == slm.InProgress {
				cur.running[len(cur.running)-1].to = now
			}
			cur.stopped = now
			cur.state = slm.Completed
			if m.state == "canceled" {
				cur.state = slm.Canceled
			}
		}
	}
	m.resetPending = false
}

func (m *ticketModel) current() *cycle {
	if len(m.cycles) == 0 {
		return nil
	}
	return m.cycles[len(m.cycles)-1]
}

func (m *ticketModel) move(rt *rapid.T, to string) {
	if !slices.Contains(lawful[m.state], to) {
		rt.Skip("not lawful from " + m.state)
	}
	m.state = to
	m.observe()
}

func (m *ticketModel) reopen(rt *rapid.T) {
	if m.state != "resolved" {
		rt.Skip("only a resolved ticket reopens")
	}
	m.state = "in_progress"
	m.reopens++
	m.resetPending = true
	m.observe()
}

func (m *ticketModel) reprioritize(rt *rapid.T) {
	if m.state == "closed" || m.state == "canceled" {
		rt.Skip("final")
	}
	old := m.goal()
	m.priority = itil.Priority(rapid.IntRange(1, 4).Draw(rt, "priority"))
	if c := m.current(); c != nil && !c.state.Final() && m.goal() != old {
		c.retargeted = true
	}
	m.observe()
}

func (m *ticketModel) fire(rt *rapid.T) {
	fired, err := m.f.e.Fire(m.f.ctx, m.now())
	if err != nil {
		rt.Fatalf("fire: %v", err)
	}
	for _, x := range fired {
		if x.ReachedAt.After(m.now()) {
			rt.Fatalf("fired %d%% reached at %v, after now %v", x.Percent, x.ReachedAt, m.now())
		}
	}
}

func (m *ticketModel) goal() time.Duration {
	switch m.priority {
	case itil.P1:
		return 4 * time.Hour
	case itil.P2:
		return 8 * time.Hour
	}
	return 16 * time.Hour
}

// openIn is the open time of the spans up to limit; with a zero limit, up
// to now. A running span runs on to the limit (a projection when the
// limit is later than now).
func (m *ticketModel) openIn(spans []span, limit time.Time) time.Duration {
	var d time.Duration
	for _, s := range spans {
		to := s.to
		if to.IsZero() {
			to = limit
			if limit.IsZero() {
				to = m.now()
			}
		}
		if !limit.IsZero() && to.After(limit) {
			to = limit
		}
		if to.After(s.from) {
			d += m.cal.Between(s.from, to)
		}
	}
	return d
}

func (m *ticketModel) check(rt *rapid.T) {
	ts := m.f.timers(m.id)
	if len(ts) != len(m.cycles) {
		rt.Fatalf("%d timers, model has %d cycles", len(ts), len(m.cycles))
	}
	now := m.now()
	for i, tm := range ts {
		c := m.cycles[i]
		if tm.Cycle != i+1 || tm.State != c.state || !tm.StartedAt.Equal(c.started) {
			rt.Fatalf("timer %d: cycle %d state %s started %v; model state %s started %v", i, tm.Cycle, tm.State, tm.StartedAt, c.state, c.started)
		}
		if prev, ok := m.states[tm.ID]; ok && !allowed(prev, tm.State) {
			rt.Fatalf("timer %d moved %s -> %s, which the lifecycle does not allow", i, prev, tm.State)
		}
		m.states[tm.ID] = tm.State
		p := tm.ProgressAt(m.cal, now)
		if want := m.openIn(c.running, time.Time{}); p.Elapsed != want {
			rt.Fatalf("timer %d: elapsed %v, open time of its running spans %v", i, p.Elapsed, want)
		}
		if p.Elapsed > p.Wall {
			rt.Fatalf("timer %d: business %v > wall %v", i, p.Elapsed, p.Wall)
		}
		for j, ps := range tm.Pauses {
			if !ps.End.IsZero() && ps.End.Before(ps.Start) || j > 0 && ps.Start.Before(tm.Pauses[j-1].End) {
				rt.Fatalf("timer %d: pauses out of order: %v", i, tm.Pauses)
			}
		}
		if i == len(ts)-1 && !tm.State.Final() && tm.Goal != m.goal() {
			rt.Fatalf("timer %d: goal %v, priority %v wants %v", i, tm.Goal, m.priority, m.goal())
		}
		if !tm.BreachAt.IsZero() {
			if got := m.openIn(c.running, tm.BreachAt); got != tm.Goal {
				rt.Fatalf("timer %d: %v of open time runs before its breach at %v, goal %v", i, got, tm.BreachAt, tm.Goal)
			}
		} else if tm.State == slm.InProgress {
			rt.Fatalf("timer %d: running without a breach instant", i)
		}
		if tm.Breached != (m.openIn(c.running, tm.UpdatedAt) >= tm.Goal) {
			rt.Fatalf("timer %d: breached=%v at its last change", i, tm.Breached)
		}
		prev := 0
		for _, fr := range tm.Fired {
			if fr.Percent <= prev {
				rt.Fatalf("timer %d: thresholds fired out of order or twice: %v", i, tm.Fired)
			}
			prev = fr.Percent
			// A threshold keeps the instant it was reached under the goal
			// in force then, so this holds while the goal never changed.
			if got := m.openIn(c.running, fr.ReachedAt); !c.retargeted && got != tm.Goal*time.Duration(fr.Percent)/100 {
				rt.Fatalf("timer %d: %d%% reached at %v with %v used", i, fr.Percent, fr.ReachedAt, got)
			}
		}
	}
	rebuilt, err := m.f.e.Replay(m.f.ctx, m.id)
	if err != nil {
		rt.Fatalf("replay: %v", err)
	}
	if fmt.Sprint(deref(rebuilt)) != fmt.Sprint(deref(ts)) {
		rt.Fatalf("replay differs from live:\nlive   %+v\nreplay %+v", deref(ts), deref(rebuilt))
	}
	m.checkJournal(rt)
}

func deref(ts []*slm.Timer) []slm.Timer {
	out := make([]slm.Timer, len(ts))
	for i, t := range ts {
		out[i] = *t
	}
	return out
}

// checkJournal counts the thresholds the journal records: each fired
// threshold exactly once.
func (m *ticketModel) checkJournal(rt *rapid.T) {
	seen := map[[2]any]int{}
	err := m.f.e.Store().RunInTx(m.f.ctx, func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: m.id}) {
			if err != nil {
				return err
			}
			if ev.Type == slm.EventWarning || ev.Type == slm.EventBreached {
				var p slm.Thresholds
				if err := json.Unmarshal(ev.Payload, &p); err != nil {
					return err
				}
				for _, th := range p.Reached {
					seen[[2]any{th.Timer, th.Percent}]++
				}
			}
		}
		return nil
	})
	if err != nil {
		rt.Fatalf("journal: %v", err)
	}
	total := 0
	for _, tm := range m.f.timers(m.id) {
		total += len(tm.Fired)
	}
	for k, c := range seen {
		if c != 1 {
			rt.Fatalf("threshold %v journaled %d times", k, c)
		}
	}
	if len(seen) != total {
		rt.Fatalf("%d thresholds journaled, timers record %d", len(seen), total)
	}
}

// allowed reports whether the timer lifecycle (slm.Lifecycle) moves from one
// state to another in one event.
func allowed(from, to slm.State) bool {
	if from == to {
		return true
	}
	for _, e := range slm.Lifecycle() {
		if e.To == to && slices.Contains(e.From, from) {
			return true
		}
	}
	return false
}
