package change

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
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
// it merges, in start order, the busy intervals of every key the change
// books (each key's bookings are sorted already) with the times the
// schedules forbid (outside a maintenance window, inside a blackout), and
// reports the gaps long enough; it stops at the n-th, so its cost grows
// with the busy intervals met, not with the length of the search.
func (x *scheduleIndex) freeSlots(p *planned, w *windowSet, d time.Duration, notBefore, until time.Time, n int, o conflictOptions) []FreeSlot {
	s0, end, dur := notBefore.UnixNano(), until.UnixNano(), int64(d)
	if dur <= 0 || n <= 0 || s0 >= end {
		return nil
	}
	gap := int64(0)
	if o.touching {
		gap = touchGap
	}
	m := merger{own: p.ID, gap: gap}
	span := slot{s0, end}
	cis := p.CIs
	if !o.advanced && len(cis) > 1 {
		cis = cis[:1]
	}
	var checked []itil.ID
	forEachCI(cis, func(ci itil.ID) {
		checked = append(checked, ci)
		m.add(x.byCI[ci].around(span, true))
		if o.related != nil {
			forEachCI(o.related(ci), func(rel itil.ID) {
				if rel != ci {
					checked = append(checked, rel)
					m.add(x.byCI[rel].around(span, true))
				}
			})
		}
	})
	forEachCI(p.Services, func(svc itil.ID) { m.add(x.byService[svc].around(span, true)) })
	if p.Assignee != "" {
		m.add(x.byAssignee[p.Assignee].around(span, true))
	}
	if w != nil {
		from, to := time.Unix(0, s0), time.Unix(0, end)
		var cand []int32 // the schedules that may cover a CI checked
		for _, id := range checked {
			cand = w.candidates(w.info(id), cand)
		}
		slices.Sort(cand)
		for _, i := range slices.Compact(cand) {
			sc := &w.schedules[i]
			// The zones the schedule is read in for the CIs it covers (one
			// unless it floats); blackouts count on the change's own CIs.
			var zones []string
			for i, id := range checked {
				info := w.info(id)
				if !sc.covers(info) || (sc.spec.Type == BlackoutSchedule && isRelated(checked, cis, i)) {
					continue
				}
				z := sc.in(info.Zone).spec.Windows.Zone
				if !slices.Contains(zones, z) {
					zones = append(zones, z)
				}
			}
			for _, z := range zones {
				zc := sc.in(z)
				var busy []booking
				switch sc.spec.Type {
				case MaintenanceSchedule:
					at := s0 // outside the windows is busy
					for iv := range zc.inForce(from, to) {
						if st := iv.Start.UnixNano(); st > at {
							busy = append(busy, booking{slot: slot{at, st}})
						}
						at = iv.End.UnixNano()
					}
					if at < end {
						busy = append(busy, booking{slot: slot{at, end}})
					}
					m.addWindows(busy)
				case BlackoutSchedule:
					for iv := range zc.inForce(from.Add(-time.Duration(gap)), to) {
						busy = append(busy, booking{slot: slot{iv.Start.UnixNano(), iv.End.UnixNano()}})
					}
					m.add(busy)
				}
			}
		}
	}
	var out []FreeSlot
	cursor := s0
	for {
		b, ok := m.next()
		if !ok || b.start >= end {
			break
		}
		if b.start > cursor && b.start-cursor >= dur {
			out = append(out, FreeSlot{time.Unix(0, cursor).UTC(), time.Unix(0, b.start).UTC()})
			if len(out) == n {
				return out
			}
		}
		cursor = max(cursor, b.end)
		if cursor >= end {
			return out
		}
	}
	if end-cursor >= dur {
		out = append(out, FreeSlot{time.Unix(0, cursor).UTC(), time.Unix(0, end).UTC()})
	}
	return out
}

// merger yields, in start order, the busy intervals of several sorted
// lists: a k-way merge over a small heap of list heads. Bookings of the
// change itself are skipped; with touching ends counted, bookings and
// blackouts are widened by gap on both sides (a window that ends where
// another starts touches it), while the gaps outside maintenance windows
// are not: a change may end as its window does.
type merger struct {
	own   itil.ID
	gap   int64
	lists []mergeList
	heap  []int // indexes into lists, by the start of their head
}

type mergeList struct {
	items []booking
	gap   int64
}

func (m *merger) add(items []booking)        { m.push(mergeList{items, m.gap}) }
func (m *merger) addWindows(items []booking) { m.push(mergeList{items, 0}) }

func (m *merger) push(l mergeList) {
	for len(l.items) > 0 && l.items[0].change == m.own && m.own != itil.NilID {
		l.items = l.items[1:]
	}
	if len(l.items) == 0 {
		return
	}
	m.lists = append(m.lists, l)
	m.heap = append(m.heap, len(m.lists)-1)
	m.up(len(m.heap) - 1)
}

func (m *merger) head(i int) int64 { l := &m.lists[m.heap[i]]; return l.items[0].start - l.gap }

func (m *merger) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if m.head(parent) <= m.head(i) {
			return
		}
		m.heap[parent], m.heap[i] = m.heap[i], m.heap[parent]
		i = parent
	}
}

func (m *merger) down(i int) {
	for {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(m.heap) && m.head(l) < m.head(least) {
			least = l
		}
		if r < len(m.heap) && m.head(r) < m.head(least) {
			least = r
		}
		if least == i {
			return
		}
		m.heap[least], m.heap[i] = m.heap[i], m.heap[least]
		i = least
	}
}

// next returns the busy interval that starts first.
func (m *merger) next() (slot, bool) {
	if len(m.heap) == 0 {
		return slot{}, false
	}
	l := &m.lists[m.heap[0]]
	b := l.items[0]
	out := slot{b.start - l.gap, b.end + l.gap}
	l.items = l.items[1:]
	for len(l.items) > 0 && l.items[0].change == m.own && m.own != itil.NilID {
		l.items = l.items[1:]
	}
	if len(l.items) == 0 {
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return out, true
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

// SlotRequest asks NextSlots for free slots: for an existing change (its
// CIs, services and assignee, its own bookings aside) or for a set of CIs
// and an assignee.
type SlotRequest struct {
	ChangeID itil.ID
	CIIDs    []itil.ID
	Assignee string
	// Duration is the planned window's length; for a change with planned
	// times, zero means theirs.
	Duration time.Duration
	// NotBefore is the earliest start (zero: now); Within how far from it
	// the search looks (zero: DefaultSearchWindow; at most
	// MaxSearchWindow); Count how many slots it returns (zero:
	// DefaultSlots; at most MaxSlots).
	NotBefore time.Time
	Within    time.Duration
	Count     int
}

// NextSlots returns the earliest free slots for r, earliest first: the
// periods, exact to the second and across DST nights, in which a planned
// window of r's duration lies inside the maintenance windows of every CI
// (and related CI) that has them, outside every enforced blackout on its
// CIs, and free of the other changes on its CIs, related CIs, services and
// assignee. Bad input (no CI nor change, both, a duration that is not
// positive or does not fit the search window, a window over
// MaxSearchWindow, a count over MaxSlots) gives a *itil.ValidationError
// naming the fields; an unknown change an error wrapping
// itil.ErrNotFound.
func (s *Service) NextSlots(ctx context.Context, r SlotRequest) ([]FreeSlot, error) {
	var v itil.ValidationError
	switch {
	case r.ChangeID == itil.NilID && len(r.CIIDs) == 0:
		v.Add("ci_ids", "name the CIs, or the change (change_id)")
	case r.ChangeID != itil.NilID && (len(r.CIIDs) > 0 || r.Assignee != ""):
		v.Add("change_id", "the change's CIs and assignee are used: give the change or the CIs, not both")
	}
	ids(&v, "ci_ids", r.CIIDs, MaxCIs)
	check.Text(&v, "assignee", r.Assignee, false, check.Short)
	if r.Within == 0 {
		r.Within = DefaultSearchWindow
	}
	if r.Within < time.Second || r.Within > MaxSearchWindow {
		v.Add("within", "must be from a second to "+MaxSearchWindow.String())
	}
	if r.Duration < 0 || (r.Duration == 0 && r.ChangeID == itil.NilID) {
		v.Add("duration", "must be positive")
	} else if r.Duration > r.Within {
		v.Add("duration", "is longer than the search window")
	}
	if r.Count == 0 {
		r.Count = DefaultSlots
	}
	if r.Count < 0 || r.Count > MaxSlots {
		v.Add("count", fmt.Sprintf("must be from 1 to %d", MaxSlots))
	}
	if !r.NotBefore.IsZero() {
		check.Time(&v, "not_before", r.NotBefore)
		inScheduleYears(&v, "not_before", r.NotBefore)
		if !v.Has("not_before") && !v.Has("within") && !r.NotBefore.Add(r.Within).Before(calendar.Latest) {
			v.Add("within", "reaches past 2189, where the schedule ends")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out []FreeSlot
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		now, err := s.run.Clock()
		if err != nil {
			return err
		}
		from := r.NotBefore
		if from.IsZero() {
			from = now
		}
		until := from.Add(r.Within)
		if !check.TimeOK(until) {
			return itil.Invalid("not_before", "the search window ends past the year 9999")
		}
		p := &planned{CIs: r.CIIDs, Assignee: r.Assignee}
		d := r.Duration
		if r.ChangeID != itil.NilID {
			ch, err := changes.Get(ctx, tx, r.ChangeID)
			if err != nil {
				return fmt.Errorf("change_id: %w", err)
			}
			p = &planned{ID: ch.ID, Number: ch.Number, CIs: changeCIs(ch), Assignee: ch.Assignee}
			for _, a := range ch.AffectedServices {
				p.Services = append(p.Services, a.ServiceID)
			}
			if d == 0 {
				if ch.PlannedStart.IsZero() || ch.PlannedEnd.IsZero() {
					return itil.Invalid("duration", "is required: the change has no planned times")
				}
				d = ch.PlannedEnd.Sub(ch.PlannedStart)
			}
		} else if s.cfg.cmdb != nil {
			for _, id := range r.CIIDs {
				info, err := ciScope(ctx, s.cfg.cmdb.In(tx), id)
				if err != nil {
					return err
				}
				p.Services = append(p.Services, info.Services...)
			}
		}
		view, err := s.view(ctx, tx, p, slot{from.UnixNano(), until.UnixNano()}, checkWith{claims: s.run.Bound()})
		if err != nil {
			return err
		}
		defer view.release()
		out = view.x.freeSlots(p, view.w, d, from, until, r.Count, view.o)
		return view.ciErr
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
