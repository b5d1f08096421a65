package slm

import (
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm/calendar"
)

// subject is the SLA state of one subject: its last snapshot and all its
// timers (every cycle of every definition). It is stored as one record, so
// an observation reads and writes one record whatever the number of
// definitions.
type subject struct {
	ID        itil.ID        `json:"id"`
	Kind      string         `json:"kind"`
	Version   int64          `json:"version"`
	Last      *itil.Snapshot `json:"last,omitempty"`
	Timers    []*Timer       `json:"timers"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// revision is a compiled definition revision.
type revision struct {
	def        *Definition
	cal        *calendar.Calendar
	thresholds []int
}

// revisions finds the revision a timer runs under.
type revisions func(def itil.ID, rev int) (*revision, error)

// latest returns the subject's last cycle of a definition.
func (s *subject) latest(def itil.ID) *Timer {
	var last *Timer
	for _, t := range s.Timers {
		if t.Definition == def && (last == nil || t.Cycle > last.Cycle) {
			last = t
		}
	}
	return last
}

// observe applies one snapshot: the pure heart of SLA management. active
// holds, per definition of the subject's kind, the revision in force at
// the snapshot's time, in a stable order. It returns one line per timer
// that started or changed state.
func (s *subject) observe(active []*revision, lookup revisions, snap *itil.Snapshot) ([]string, error) {
	prev := s.Last
	at := snap.Time
	var changes []string
	for _, a := range active {
		t := s.latest(a.def.ID)
		switch {
		case t != nil && !t.State.Final():
			r, err := lookup(t.Definition, t.Revision)
			if err != nil {
				return nil, err
			}
			before := t.State
			d := r.def
			switch {
			case d.Cancel.Matches(prev, snap):
				t.finish(at, r.cal, Canceled, "cancel")
			case d.Stop.Matches(prev, snap):
				t.finish(at, r.cal, Completed, "")
			case d.Reset.Matches(prev, snap):
				t.finish(at, r.cal, Canceled, "reset")
			default:
				if tg, ok := d.target(snap); ok && (tg.Name != t.Target || tg.Duration != t.Goal) {
					changes = append(changes, t.Name+" #"+itoa(t.Cycle)+": target "+t.Target+" -> "+tg.Name)
					t.Target, t.Goal = tg.Name, tg.Duration
				}
				if t.State == InProgress && d.Pause.Matches(prev, snap) {
					t.pause(at, r.cal)
				} else if t.State == Paused && r.resumes(prev, snap) {
					t.resume(at)
				}
			}
			t.settle(r.cal, r.thresholds, at)
			t.UpdatedAt = at
			if t.State != before {
				changes = append(changes, t.describe())
			}
			if t.CancelReason == "reset" {
				if nt := s.start(a, prev, snap, t.Cycle+1); nt != nil {
					changes = append(changes, nt.describe())
				}
			}
		case t == nil:
			if nt := s.start(a, prev, snap, 1); nt != nil {
				changes = append(changes, nt.describe())
			}
		default: // the last cycle is final: only a reset starts another
			if a.def.Reset.Matches(prev, snap) {
				if nt := s.start(a, prev, snap, t.Cycle+1); nt != nil {
					changes = append(changes, nt.describe())
				}
			}
		}
	}
	last := cloneSnapshot(snap)
	s.Last = &last
	s.UpdatedAt = at
	return changes, nil
}

func (r *revision) resumes(prev, cur *itil.Snapshot) bool {
	if r.def.Resume != nil {
		return r.def.Resume.Matches(prev, cur)
	}
	return !r.def.Pause.Matches(prev, cur)
}

// start begins a cycle when the revision's start condition holds and a
// target applies, then lets the same snapshot stop, cancel or pause it.
func (s *subject) start(r *revision, prev, snap *itil.Snapshot, cycle int) *Timer {
	d := r.def
	if !d.Start.Matches(prev, snap) {
		return nil
	}
	tg, ok := d.target(snap)
	if !ok {
		return nil
	}
	begin := snap.Time
	if d.StartFrom != "" && cycle == 1 {
		if v, err := time.Parse(time.RFC3339Nano, snap.Fields[d.StartFrom]); err == nil && !v.After(begin) && !v.Before(calendar.Earliest) {
			begin = v.UTC()
		}
	}
	t := &Timer{
		ID: timerID(s.ID, d.ID, cycle), Definition: d.ID, Revision: d.Revision,
		Name: d.Name, Type: d.Type, Metric: d.Metric,
		SubjectKind: s.Kind, SubjectID: s.ID, Cycle: cycle, State: InProgress,
		Target: tg.Name, Goal: tg.Duration, StartedAt: begin, RunningSince: begin,
		OriginalBreachAt: r.cal.Add(begin, tg.Duration).UTC(),
	}
	switch {
	case d.Cancel.Matches(prev, snap):
		t.finish(snap.Time, r.cal, Canceled, "cancel")
	case d.Stop.Matches(prev, snap):
		t.finish(snap.Time, r.cal, Completed, "")
	case d.Pause.Matches(prev, snap):
		t.pause(snap.Time, r.cal)
	}
	t.settle(r.cal, r.thresholds, snap.Time)
	t.UpdatedAt = snap.Time
	s.Timers = append(s.Timers, t)
	return t
}

// fire records a threshold the monitor journaled.
func (s *subject) fire(r *revision, timer itil.ID, f Firing) bool {
	for _, t := range s.Timers {
		if t.ID == timer && !t.fired(f.Percent) {
			t.Fired = append(t.Fired, f)
			t.settleDue(r.cal, r.thresholds)
			return true
		}
	}
	return false
}

func cloneSnapshot(s *itil.Snapshot) itil.Snapshot {
	c := *s
	if s.Fields != nil {
		c.Fields = make(map[string]string, len(s.Fields))
		for k, v := range s.Fields {
			c.Fields[k] = v
		}
	}
	return c
}

func cloneSubject(dst, src *subject) {
	*dst = *src
	if src.Last != nil {
		l := cloneSnapshot(src.Last)
		dst.Last = &l
	}
	dst.Timers = slices.Clone(src.Timers)
	for i, t := range dst.Timers {
		dst.Timers[i] = cloneTimer(t)
	}
}
