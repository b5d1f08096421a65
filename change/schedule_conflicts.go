package change

import (
	"time"

	"github.com/itilkit/itil"
)

// scheduleRef is a schedule in force, compiled, with its ID.
type scheduleRef struct {
	ID itil.ID
	*compiledSchedule
}

// windowSet is the maintenance and enforced blackout schedules a conflict
// check reads, and what it knows of the CIs.
type windowSet struct {
	schedules []scheduleRef
	// ci returns what a schedule's scope reads of a CI (nil for an
	// unknown CI: no schedule covers it but by its ID).
	ci func(itil.ID) *scopedCI
}

func (w *windowSet) info(id itil.ID) *scopedCI {
	if w.ci != nil {
		if c := w.ci(id); c != nil {
			return c
		}
	}
	return &scopedCI{ID: id}
}

// firstGap returns the first part of s not covered by the in-force time
// of sc, and false when sc covers all of s.
func firstGap(sc *compiledSchedule, s slot) (slot, bool) {
	from, to := time.Unix(0, s.start), time.Unix(0, s.end)
	at := s.start
	for iv := range sc.inForce(from, to) {
		if st := iv.Start.UnixNano(); st > at {
			return slot{at, st}, true
		}
		at = iv.End.UnixNano()
	}
	if at < s.end {
		return slot{at, s.end}, true
	}
	return slot{}, false
}

// firstOverlap returns the first part of s in which sc is in force; with
// touching, an interval ending or starting where s does counts, as the
// instant they share.
func firstOverlap(sc *compiledSchedule, s slot, touching bool) (slot, bool) {
	from, to := time.Unix(0, s.start), time.Unix(0, s.end)
	if touching {
		from, to = from.Add(-time.Nanosecond), to.Add(time.Nanosecond)
	}
	for iv := range sc.inForce(from, to) {
		a, b := max(iv.Start.UnixNano(), s.start), min(iv.End.UnixNano(), s.end)
		if a < b || (touching && a <= b) {
			return slot{a, b}, true
		}
	}
	return slot{}, false
}

// windowConflicts returns the conflicts of p with the schedules of w: a CI
// checked (the primary one, or every one in advanced mode), or a related
// CI, that a maintenance schedule covers and whose windows do not hold
// all of p's planned window (every maintenance schedule covering a CI
// must allow the change: they are constraints, met together); and a CI
// checked that an enforced blackout covers while it is in force. Each is
// reported once per CI and schedule, with the first part in conflict.
func (w *windowSet) windowConflicts(p *planned, o conflictOptions) []Conflict {
	var out []Conflict
	cis := p.CIs
	if !o.advanced && len(cis) > 1 {
		cis = cis[:1]
	}
	span := func(s slot) (time.Time, time.Time) { return time.Unix(0, s.start).UTC(), time.Unix(0, s.end).UTC() }
	maintenance := func(ci, rel itil.ID) {
		info := w.info(rel)
		for _, sc := range w.schedules {
			if sc.spec.Type != MaintenanceSchedule || !sc.covers(info) {
				continue
			}
			if gap, ok := firstGap(sc.in(info.Zone), p.Slot); ok {
				c := Conflict{Kind: ConflictOutsideMaintenanceWindow, CIID: ci, ScheduleID: sc.ID, ScheduleName: sc.spec.Name}
				if rel != ci {
					c.RelatedCIID = rel
				}
				c.Start, c.End = span(gap)
				out = append(out, c)
			}
		}
	}
	forEachCI(cis, func(ci itil.ID) {
		maintenance(ci, ci)
		if o.related != nil {
			forEachCI(o.related(ci), func(rel itil.ID) {
				if rel != ci {
					maintenance(ci, rel)
				}
			})
		}
		info := w.info(ci)
		for _, sc := range w.schedules {
			if sc.spec.Type != BlackoutSchedule || !sc.covers(info) {
				continue
			}
			if in, ok := firstOverlap(sc.in(info.Zone), p.Slot, o.touching); ok {
				c := Conflict{Kind: ConflictBlackout, CIID: ci, ScheduleID: sc.ID, ScheduleName: sc.spec.Name}
				c.Start, c.End = span(in)
				out = append(out, c)
			}
		}
	})
	sortConflicts(out)
	return out
}
