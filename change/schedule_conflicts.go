package change

import (
	"slices"
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
	// scope finds the schedules that may cover a CI; nil: every one may.
	scope *scopeIndex
	// ci returns what a schedule's scope reads of a CI (nil for an
	// unknown CI: no schedule covers it but by its ID).
	ci func(itil.ID) *scopedCI
}

// scopeIndex finds, among many schedules, those whose scope may cover a
// CI: those naming it, one of its classes or one of its services, and
// those with a condition. covers decides.
type scopeIndex struct {
	byCI      map[itil.ID][]int32
	byClass   map[string][]int32
	byService map[itil.ID][]int32
	cond      []int32
}

func newScopeIndex(ss []scheduleRef) *scopeIndex {
	x := &scopeIndex{byCI: map[itil.ID][]int32{}, byClass: map[string][]int32{}, byService: map[itil.ID][]int32{}}
	for i, sc := range ss {
		n := int32(i)
		sp := &sc.spec.Scope
		for _, id := range sp.CIs {
			x.byCI[id] = append(x.byCI[id], n)
		}
		for _, cl := range sp.Classes {
			x.byClass[cl] = append(x.byClass[cl], n)
		}
		for _, id := range sp.Services {
			x.byService[id] = append(x.byService[id], n)
		}
		if sc.scope != nil {
			x.cond = append(x.cond, n)
		}
	}
	return x
}

// candidates appends to buf the positions in w.schedules of the schedules
// that may cover info, in order, each once.
func (w *windowSet) candidates(info *scopedCI, buf []int32) []int32 {
	if w.scope == nil {
		for i := range w.schedules {
			buf = append(buf, int32(i))
		}
		return buf
	}
	x := w.scope
	buf = append(buf, x.byCI[info.ID]...)
	for _, cl := range info.Classes {
		buf = append(buf, x.byClass[cl]...)
	}
	for _, id := range info.Services {
		buf = append(buf, x.byService[id]...)
	}
	buf = append(buf, x.cond...)
	slices.Sort(buf)
	return slices.Compact(buf)
}

// covering calls fn with each schedule of the type that covers info, in
// order.
func (w *windowSet) covering(info *scopedCI, typ ScheduleType, fn func(*scheduleRef)) {
	var buf [16]int32
	for _, i := range w.candidates(info, buf[:0]) {
		if sc := &w.schedules[i]; sc.spec.Type == typ && sc.covers(info) {
			fn(sc)
		}
	}
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
		w.covering(info, MaintenanceSchedule, func(sc *scheduleRef) {
			if gap, ok := firstGap(sc.in(info.Zone), p.Slot); ok {
				c := Conflict{Kind: ConflictOutsideMaintenanceWindow, CIID: ci, ScheduleID: sc.ID, ScheduleName: sc.spec.Name}
				if rel != ci {
					c.RelatedCIID = rel
				}
				c.Start, c.End = span(gap)
				out = append(out, c)
			}
		})
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
		w.covering(info, BlackoutSchedule, func(sc *scheduleRef) {
			if in, ok := firstOverlap(sc.in(info.Zone), p.Slot, o.touching); ok {
				c := Conflict{Kind: ConflictBlackout, CIID: ci, ScheduleID: sc.ID, ScheduleName: sc.spec.Name}
				c.Start, c.End = span(in)
				out = append(out, c)
			}
		})
	})
	sortConflicts(out)
	return out
}
