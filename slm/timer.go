package slm

import (
	"encoding/binary"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm/calendar"
)

// State is where a timer is in its lifecycle (see Lifecycle and lifecycle.md).
type State string

// Timer states.
const (
	InProgress State = "in_progress"
	Paused     State = "paused"
	Completed  State = "completed"
	Canceled   State = "canceled"
)

// Final reports whether the state is Completed or Canceled.
func (s State) Final() bool { return lifecycle.Final(s) }

// Pause is one interval the clock was held. End is zero while the pause
// lasts.
type Pause struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Firing records that a threshold was reached and journaled.
type Firing struct {
	Percent   int       `json:"percent"`
	ReachedAt time.Time `json:"reached_at"`
	FiredAt   time.Time `json:"fired_at"`
}

// Timer measures one cycle of one definition on one subject. Its state is
// a pure function of the subject's snapshots, the definition revision and
// its calendar (and of the thresholds the monitor fired): Engine.Replay
// rebuilds it from the journal.
type Timer struct {
	ID          itil.ID `json:"id"`
	Definition  itil.ID `json:"definition"`
	Revision    int     `json:"revision"`
	Name        string  `json:"name"`
	Type        Type    `json:"type"`
	Metric      Metric  `json:"metric"`
	SubjectKind string  `json:"subject_kind"`
	SubjectID   itil.ID `json:"subject_id"`
	Cycle       int     `json:"cycle"`
	State       State   `json:"state"`
	// Target is the name of the target in force and Goal its duration.
	Target string        `json:"target"`
	Goal   time.Duration `json:"goal"`

	StartedAt time.Time `json:"started_at"`
	// StoppedAt is when the timer completed or was canceled.
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	// RunningSince is the start of the current running span; zero unless
	// the timer is in progress.
	RunningSince time.Time `json:"running_since,omitzero"`
	// Elapsed is the business time of the running spans before
	// RunningSince (all of them once the timer is paused or final).
	Elapsed time.Duration `json:"elapsed"`
	Pauses  []Pause       `json:"pauses,omitempty"`

	// OriginalBreachAt is when the first target would have been used up
	// with no pause. BreachAt is when the target in force is (or was, or
	// will be if nothing changes) used up; zero while a paused timer still
	// has time left, or when a final timer never used it up.
	OriginalBreachAt time.Time `json:"original_breach_at"`
	BreachAt         time.Time `json:"breach_at,omitzero"`
	// Breached is true when the business time used had reached the goal
	// at the timer's last change (for a final timer: when it stopped).
	// Progress gives the same for any instant.
	Breached bool `json:"breached"`

	// Fired lists the thresholds the monitor has journaled, in order.
	Fired []Firing `json:"fired,omitempty"`
	// DueAt is when the next unfired threshold is (or was) reached; zero
	// when none is expected. The monitor finds timers by it.
	DueAt time.Time `json:"due_at,omitzero"`
	// CancelReason says why a canceled cycle ended: "cancel" or "reset".
	CancelReason string    `json:"cancel_reason,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// timerID is deterministic, so that a replay gives the live timer's ID.
func timerID(subject, def itil.ID, cycle int) itil.ID {
	var b [20]byte
	copy(b[:16], def[:])
	binary.BigEndian.PutUint32(b[16:], uint32(cycle))
	return uuid.NewSHA1(subject, b[:])
}

// percentOf is pct% of d, truncated to the nanosecond, without
// overflowing for any goal.
func percentOf(d time.Duration, pct int) time.Duration {
	p := time.Duration(pct)
	return d/100*p + d%100*p/100
}

func itoa(n int) string { return strconv.Itoa(n) }

func cloneTimer(t *Timer) *Timer {
	c := *t
	c.Pauses = slices.Clone(t.Pauses)
	c.Fired = slices.Clone(t.Fired)
	return &c
}

// Progress is a timer's position at an instant.
type Progress struct {
	At time.Time
	// Elapsed is the business time used; Wall the wall-clock time since
	// the start (up to the stop).
	Elapsed, Wall time.Duration
	// Remaining is Goal − Elapsed; negative once breached.
	Remaining time.Duration
	// Percent is Elapsed / Goal × 100, for display; Breached is decided on
	// the durations, not on it.
	Percent  float64
	Breached bool
}

// ProgressAt computes the timer's progress at now on cal, which must be
// the calendar of the timer's definition revision (Engine.Calendar returns
// it; Engine.Status does both). It costs at most one Between and does not
// allocate.
func (t *Timer) ProgressAt(cal *calendar.Calendar, now time.Time) Progress {
	p := Progress{At: now, Elapsed: t.Elapsed}
	end := now
	if t.State.Final() {
		end = t.StoppedAt
	}
	if t.State == InProgress && now.After(t.RunningSince) {
		p.Elapsed += cal.Between(t.RunningSince, now)
	}
	p.Wall = max(end.Sub(t.StartedAt), 0)
	p.Remaining = t.Goal - p.Elapsed
	p.Breached = p.Elapsed >= t.Goal
	if t.Goal > 0 {
		p.Percent = float64(p.Elapsed) / float64(t.Goal) * 100
	}
	return p
}

// reach returns when the timer's business time reached (or, running,
// will reach) amount; zero if it has not and is not running.
func (t *Timer) reach(cal *calendar.Calendar, amount time.Duration) time.Time {
	return t.reachIn(cal, amount).UTC()
}

func (t *Timer) reachIn(cal *calendar.Calendar, amount time.Duration) time.Time {
	if amount <= 0 {
		return t.StartedAt
	}
	// Elapsed is the time of the closed spans: an amount beyond it is
	// reached in the running span, or not at all; only an amount within it
	// needs the walk through the pauses.
	if amount > t.Elapsed {
		if t.State == InProgress {
			return cal.Add(t.RunningSince, amount-t.Elapsed)
		}
		return time.Time{}
	}
	acc := time.Duration(0)
	from := t.StartedAt
	for _, p := range t.Pauses {
		b := cal.Between(from, p.Start)
		if acc+b >= amount {
			return cal.Add(from, amount-acc)
		}
		acc += b
		if p.End.IsZero() {
			return time.Time{}
		}
		from = p.End
	}
	switch t.State {
	case InProgress:
		return cal.Add(from, amount-acc)
	case Completed, Canceled:
		if acc+cal.Between(from, t.StoppedAt) >= amount {
			return cal.Add(from, amount-acc)
		}
	}
	return time.Time{}
}

// account closes the running span at `at`.
func (t *Timer) account(cal *calendar.Calendar, at time.Time) {
	if t.State == InProgress {
		if at.After(t.RunningSince) {
			t.Elapsed += cal.Between(t.RunningSince, at)
		}
		t.RunningSince = time.Time{}
	}
}

// settle recomputes what follows from the timer's spans and goal at `at`:
// the breach instant, the breached flag and the next due threshold.
func (t *Timer) settle(cal *calendar.Calendar, thresholds []int, at time.Time) {
	t.BreachAt = t.reach(cal, t.Goal)
	// Business time only grows, so the goal is used up at `at` exactly
	// when the instant it is used up is not after `at`.
	t.Breached = !t.BreachAt.IsZero() && !t.BreachAt.After(at)
	t.settleDue(cal, thresholds)
}

// settleDue recomputes when the next unfired threshold is reached.
func (t *Timer) settleDue(cal *calendar.Calendar, thresholds []int) {
	t.DueAt = time.Time{}
	if t.State == Canceled {
		return
	}
	for _, pct := range thresholds {
		if t.fired(pct) {
			continue
		}
		if pct == 100 {
			t.DueAt = t.BreachAt
		} else {
			t.DueAt = t.reach(cal, percentOf(t.Goal, pct))
		}
		return
	}
}

func (t *Timer) fired(pct int) bool {
	for _, f := range t.Fired {
		if f.Percent == pct {
			return true
		}
	}
	return false
}

func (t *Timer) pause(at time.Time, cal *calendar.Calendar) {
	t.account(cal, at)
	t.Pauses = append(t.Pauses, Pause{Start: at})
	t.State = Paused
}

func (t *Timer) resume(at time.Time) {
	t.Pauses[len(t.Pauses)-1].End = at
	t.RunningSince = at
	t.State = InProgress
}

func (t *Timer) finish(at time.Time, cal *calendar.Calendar, state State, reason string) {
	t.account(cal, at)
	if t.State == Paused {
		t.Pauses[len(t.Pauses)-1].End = at
	}
	t.State, t.StoppedAt, t.CancelReason = state, at, reason
}

// describe is a one-line account of a timer for the journal.
func (t *Timer) describe() string {
	return t.Name + " #" + itoa(t.Cycle) + " (" + t.Target + ", " + t.Goal.String() + "): " + string(t.State)
}
