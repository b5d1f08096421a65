package change

import (
	"time"

	"github.com/itilkit/itil"
)

// FreeSlot is a free period for a change: any start from Start on whose
// planned window ends by End is free of conflicts.
type FreeSlot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Limits of the next-free-slot search.
const (
	// DefaultSlots and MaxSlots: how many slots a search returns by
	// default, and at most.
	DefaultSlots = 10
	MaxSlots     = 100
	// DefaultSearchWindow is how far a search looks by default, and
	// MaxSearchWindow at most.
	DefaultSearchWindow = 90 * 24 * time.Hour
	MaxSearchWindow     = 366 * 24 * time.Hour
)

// touchGap is how far apart two windows must be when touching ends count
// as overlaps: free times are exact to the second.
const touchGap = int64(time.Second)

// conflictsAt returns every conflict of p's CIs, services and assignee
// over s: with other changes (the index) and with the schedules.
func (x *scheduleIndex) conflictsAt(p *planned, w *windowSet, s slot, o conflictOptions) []Conflict {
	q := *p
	q.Slot = s
	out := x.conflicts(&q, o)
	if w != nil {
		out = append(out, w.windowConflicts(&q, o)...)
		sortConflicts(out)
	}
	return out
}

// freeSlots returns up to n free slots for p's CIs, services and assignee
// (its own bookings aside) that hold a planned window of length d, from
// notBefore until until, earliest first. It does not step through time:
// from a start in conflict it jumps to the latest instant a conflict
// releases (the other change's end, the next maintenance window, the
// blackout's end), and from a free start to the first instant something
// blocks, so its cost grows with the bookings and windows met, not with
// the length of the search.
func (x *scheduleIndex) freeSlots(p *planned, w *windowSet, d time.Duration, notBefore, until time.Time, n int, o conflictOptions) []FreeSlot {
	var out []FreeSlot
	s, end, dur := notBefore.UnixNano(), until.UnixNano(), int64(d)
	if dur <= 0 {
		return nil
	}
	for len(out) < n && s+dur <= end {
		cs := x.conflictsAt(p, w, slot{s, s + dur}, o)
		if len(cs) == 0 {
			t := x.blockedFrom(p, w, s, end, o)
			out = append(out, FreeSlot{time.Unix(0, s).UTC(), time.Unix(0, t).UTC()})
			if t >= end {
				break
			}
			s = t
			continue
		}
		next := s
		for _, c := range cs {
			r, ok := x.release(p, w, c, s, end, o)
			if !ok {
				return out
			}
			next = max(next, r)
		}
		if next <= s { // cannot happen: every release lies after s
			next = s + touchGap
		}
		s = next
	}
	return out
}

// release returns the first instant from which conflict c, found for a
// window starting at s, no longer holds; false when nothing releases it
// before end.
func (x *scheduleIndex) release(p *planned, w *windowSet, c Conflict, s, end int64, o conflictOptions) (int64, bool) {
	gap := int64(0)
	if o.touching {
		gap = touchGap
	}
	switch c.Kind {
	case ConflictOutsideWindow:
		// The next window of that schedule from the gap on.
		sc := w.schedule(c.ScheduleID)
		for iv := range sc.inForce(c.Start, time.Unix(0, end)) {
			if st := iv.Start.UnixNano(); st > c.Start.UnixNano() {
				return st, true
			}
		}
		return 0, false
	case ConflictBlackout:
		// The end of the blackout's run that the window meets.
		sc := w.schedule(c.ScheduleID)
		for iv := range sc.inForce(c.Start, time.Unix(0, end)) {
			return iv.End.UnixNano() + gap, true
		}
		return c.End.UnixNano() + gap, true
	default:
		q := x.changes[c.ChangeID]
		if q == nil {
			return s + touchGap, true
		}
		return q.Slot.end + gap, true
	}
}

// blockedFrom returns the first instant after the free start s at which
// something blocks p's CIs, services or assignee (another change begins,
// a maintenance window ends, a blackout begins), or end.
func (x *scheduleIndex) blockedFrom(p *planned, w *windowSet, s, end int64, o conflictOptions) int64 {
	t := end
	gap := int64(0)
	if o.touching {
		gap = touchGap
	}
	nextStart := func(b *bookings) {
		for _, x := range b.around(slot{s, t}, false) {
			if x.change != p.ID && x.start >= s {
				t = min(t, x.start-gap)
				return
			}
		}
	}
	cis := p.CIs
	if !o.advanced && len(cis) > 1 {
		cis = cis[:1]
	}
	var checked []itil.ID
	forEachCI(cis, func(ci itil.ID) {
		checked = append(checked, ci)
		nextStart(x.byCI[ci])
		if o.related != nil {
			forEachCI(o.related(ci), func(rel itil.ID) {
				if rel != ci {
					checked = append(checked, rel)
					nextStart(x.byCI[rel])
				}
			})
		}
	})
	forEachCI(p.Services, func(svc itil.ID) { nextStart(x.byService[svc]) })
	if p.Assignee != "" {
		nextStart(x.byAssignee[p.Assignee])
	}
	if w == nil {
		return t
	}
	from, to := time.Unix(0, s), time.Unix(0, end)
	for _, sc := range w.schedules {
		covered, own := false, false
		for i, id := range checked {
			if sc.covers(w.info(id)) {
				covered = true
				// Blackouts count on the change's own CIs only.
				own = own || !isRelated(checked, cis, i)
			}
		}
		if !covered {
			continue
		}
		switch sc.spec.Type {
		case ScheduleMaintenance:
			for iv := range sc.inForce(from, to) {
				t = min(t, iv.End.UnixNano()) // the run holding s
				break
			}
		case ScheduleBlackout:
			if !own {
				continue
			}
			for iv := range sc.inForce(from, to) {
				t = min(t, iv.Start.UnixNano()-gap)
				break
			}
		}
	}
	return t
}

// isRelated reports whether checked[i] is a related CI rather than one of
// the change's own cis.
func isRelated(checked, cis []itil.ID, i int) bool {
	for _, c := range cis {
		if c == checked[i] {
			return false
		}
	}
	return true
}

// schedule returns the schedule id of w.
func (w *windowSet) schedule(id itil.ID) *compiledSchedule {
	for _, sc := range w.schedules {
		if sc.ID == id {
			return sc.compiledSchedule
		}
	}
	return nil
}
