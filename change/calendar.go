package change

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// kindSlot is the storage kind of the index of scheduled changes by
// planned start, which the change calendar reads.
const kindSlot = "change_slot"

// changeSlot is a scheduled change's planned window, sorted by its start;
// spanRecord keeps the longest window, so that the changes overlapping a
// range are found from its start less the longest window on.
type changeSlot struct {
	ID      itil.ID   `json:"id"` // the change's
	Version int64     `json:"version"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Active is false once the change has ended: the calendar still shows
	// it, the schedule no longer books it.
	Active bool `json:"active"`
}

var slots = storage.NewCollection(storage.Schema[changeSlot]{
	Kind:    kindSlot,
	ID:      func(s *changeSlot) itil.ID { return s.ID },
	Version: func(s *changeSlot) *int64 { return &s.Version },
	SortKey: func(s *changeSlot) string { return storage.TimeKey(s.Start) },
	Terms: func(s *changeSlot, dst []string) []string {
		return append(dst, storage.Term("active", strconv.FormatBool(s.Active)))
	},
	Clone: func(dst, src *changeSlot) { *dst = *src },
})

// spanID names the slot index's record of the longest window: a slot
// whose ID no change has.
var spanID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/change#longest_slot"))

// putSlot keeps ch's slot as its planned window stands, in tx: written
// while it has planned times (active or not), deleted once it has none.
func putSlot(ctx context.Context, tx storage.Tx, ch *Change) error {
	cur, err := slots.Get(ctx, tx, ch.ID)
	if err != nil && !errors.Is(err, itil.ErrNotFound) {
		return err
	}
	if ch.PlannedStart.IsZero() || ch.PlannedEnd.IsZero() {
		if cur != nil {
			return slots.Delete(ctx, tx, cur)
		}
		return nil
	}
	if cur == nil {
		cur = &changeSlot{ID: ch.ID}
	}
	cur.Start, cur.End, cur.Active = ch.PlannedStart.UTC(), ch.PlannedEnd.UTC(), !ch.State.Final()
	if err := slots.Put(ctx, tx, cur); err != nil {
		return err
	}
	// The longest window only grows: a range query reads back that far.
	span, err := slots.Get(ctx, tx, spanID)
	if errors.Is(err, itil.ErrNotFound) {
		span, err = &changeSlot{ID: spanID, Start: calendar.Earliest.UTC(), End: calendar.Earliest.UTC()}, nil
	}
	if err != nil {
		return err
	}
	if d := cur.End.Sub(cur.Start); d > span.End.Sub(span.Start) {
		span.End = span.Start.Add(d)
		return slots.Put(ctx, tx, span)
	}
	return nil
}

// CalendarFilter selects the changes of the change calendar: those whose
// planned window overlaps From to To, and matches every field set (a list
// matches any of its values). CIID keeps the changes on the CI and, with
// Related and the CMDB, on the CIs related to it (ConflictDetection's
// depth).
type CalendarFilter struct {
	From, To         time.Time
	CIID             itil.ID
	Related          bool
	ServiceID        itil.ID
	AssignmentGroups []string
	Models           []string
	States           []State
}

// MaxCalendarRange is the longest range a calendar reads.
const MaxCalendarRange = 366 * 24 * time.Hour

// Calendar returns the changes f selects, by planned start: the change
// calendar. A bad filter (no range, a range over MaxCalendarRange, an
// unknown model or state) is yielded as a *itil.ValidationError naming
// its fields.
func (s *Service) Calendar(ctx context.Context, f CalendarFilter) iter.Seq2[*Change, error] {
	return func(yield func(*Change, error) bool) {
		var v itil.ValidationError
		checkRange(&v, f.From, f.To)
		for i, m := range f.Models {
			if _, ok := s.cfg.models[m]; !ok {
				v.Add("models["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not one of the Service's models", m))
			}
		}
		for i, st := range f.States {
			if !slices.ContainsFunc(s.Models(), func(m string) bool { return slices.Contains(s.cfg.models[m].machine.States(), st) }) {
				v.Add("states["+strconv.Itoa(i)+"]", fmt.Sprintf("unknown state %q", st))
			}
		}
		for i, g := range f.AssignmentGroups {
			check.Text(&v, "assignment_groups["+strconv.Itoa(i)+"]", g, true, check.Short)
		}
		if err := v.Err(); err != nil {
			yield(nil, err)
			return
		}
		var out []*Change
		err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
			var err error
			out, err = s.calendar(ctx, tx, f)
			return err
		})
		if err != nil {
			yield(nil, err)
			return
		}
		for _, ch := range out {
			if !yield(ch, nil) {
				return
			}
		}
	}
}

func checkRange(v *itil.ValidationError, from, to time.Time) {
	switch {
	case from.IsZero():
		v.Add("from", "is required")
	case !check.TimeOK(from):
		v.Add("from", check.TimeReason(from))
	}
	switch {
	case to.IsZero():
		v.Add("to", "is required")
	case !check.TimeOK(to):
		v.Add("to", check.TimeReason(to))
	case !from.IsZero() && !to.After(from):
		v.Add("to", "must be after from")
	case !from.IsZero() && to.Sub(from) > MaxCalendarRange:
		v.Add("to", "the range is longer than a year and a day")
	}
	// The schedule's years, as for planned windows.
	if !from.IsZero() && !v.Has("from") {
		inScheduleYears(v, "from", from)
	}
	if !to.IsZero() && !v.Has("to") {
		inScheduleYears(v, "to", to)
	}
}

func (s *Service) calendar(ctx context.Context, tx storage.Tx, f CalendarFilter) ([]*Change, error) {
	longest := time.Duration(0)
	span, err := slots.Get(ctx, tx, spanID)
	if err != nil && !errors.Is(err, itil.ErrNotFound) {
		return nil, err
	}
	if span != nil {
		longest = span.End.Sub(span.Start)
	}
	var cis []itil.ID
	if f.CIID != itil.NilID {
		cis = append(cis, f.CIID)
		if f.Related && s.cfg.cmdb != nil && s.cfg.detection.RelationDepth >= 0 {
			depth := max(s.cfg.detection.RelationDepth, 1)
			rel, err := relatedCIs(ctx, s.cfg.cmdb.In(tx), f.CIID, depth)
			if err != nil {
				return nil, err
			}
			cis = append(cis, rel...)
		}
	}
	var out []*Change
	q := storage.Query{Kind: kindSlot, Min: storage.TimeKey(f.From.Add(-longest)), Max: storage.TimeKey(f.To)}
	for sl, err := range slots.Query(ctx, tx, q) {
		if err != nil {
			return nil, err
		}
		if sl.ID == spanID || !sl.End.After(f.From) {
			continue
		}
		ch, err := changes.Get(ctx, tx, sl.ID)
		if err != nil {
			return nil, fmt.Errorf("change %s: %w", sl.ID, err)
		}
		if (len(cis) > 0 && !slices.ContainsFunc(changeCIs(ch), func(id itil.ID) bool { return slices.Contains(cis, id) })) ||
			(f.ServiceID != itil.NilID && !slices.ContainsFunc(ch.AffectedServices, func(a AffectedService) bool { return a.ServiceID == f.ServiceID })) ||
			(len(f.AssignmentGroups) > 0 && !slices.Contains(f.AssignmentGroups, ch.AssignmentGroup)) ||
			(len(f.Models) > 0 && !slices.Contains(f.Models, ch.Model)) ||
			(len(f.States) > 0 && !slices.Contains(f.States, ch.State)) {
			continue
		}
		out = append(out, ch)
	}
	return out, nil
}

// WindowInForce is an interval in which an enforced schedule is in force.
type WindowInForce struct {
	ScheduleID itil.ID      `json:"schedule_id"`
	Name       string       `json:"name"`
	Type       ScheduleType `json:"type"`
	Start      time.Time    `json:"start"`
	End        time.Time    `json:"end"`
}

// Windows returns the intervals of f's range in which the enforced
// schedules are in force, by start: the windows the change calendar shows
// beside the changes. With f.CIID set, only the schedules that cover the
// CI (read in its zone when they float; maintenance windows of its
// related CIs too, with Related); the other fields of f do not apply to
// windows. A bad range is yielded as a *itil.ValidationError naming from
// or to.
func (s *Service) Windows(ctx context.Context, f CalendarFilter) iter.Seq2[WindowInForce, error] {
	return s.windows(ctx, f, false)
}

// windows is Windows; byDay splits the intervals at midnight in the
// schedule's zone (as read for the CI) and starts them from the first
// midnight of the range, so that a day's window is the same, start
// included, whatever range asks for it: what a calendar subscription
// needs to recognise an event it has seen.
func (s *Service) windows(ctx context.Context, f CalendarFilter, byDay bool) iter.Seq2[WindowInForce, error] {
	return func(yield func(WindowInForce, error) bool) {
		var v itil.ValidationError
		checkRange(&v, f.From, f.To)
		if err := v.Err(); err != nil {
			yield(WindowInForce{}, err)
			return
		}
		var out []WindowInForce
		err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
			var cm *cmdb.Service
			if s.cfg.cmdb != nil {
				cm = s.cfg.cmdb.In(tx)
			}
			// The CIs the windows are for, and whether each is the CI
			// itself (a blackout counts on it alone).
			type target struct {
				info *scopedCI
				own  bool
			}
			var targets []target
			if f.CIID != itil.NilID {
				info, err := ciScope(ctx, cm, f.CIID)
				if err != nil {
					return err
				}
				targets = append(targets, target{info, true})
				if f.Related && cm != nil && s.cfg.detection.RelationDepth >= 0 {
					rel, err := relatedCIs(ctx, cm, f.CIID, max(s.cfg.detection.RelationDepth, 1))
					if err != nil {
						return err
					}
					for _, id := range rel {
						info, err := ciScope(ctx, cm, id)
						if err != nil {
							return err
						}
						targets = append(targets, target{info, false})
					}
				}
			}
			for sc, err := range schedules.Query(ctx, tx, storage.Query{Kind: KindSchedule,
				Terms: []string{storage.Term("state", string(ScheduleEnforced))}}) {
				if err != nil {
					return err
				}
				c, err := compileSchedule(sc.Spec)
				if err != nil {
					continue // see view: a stored schedule that no longer compiles
				}
				zones := []string{sc.Spec.Windows.Zone}
				if f.CIID != itil.NilID {
					zones = zones[:0]
					for _, t := range targets {
						if c.covers(t.info) && (t.own || sc.Spec.Type == MaintenanceSchedule) {
							if z := c.in(t.info.Zone).spec.Windows.Zone; !slices.Contains(zones, z) {
								zones = append(zones, z)
							}
						}
					}
				}
				for _, z := range zones {
					zc := c.in(z)
					from := f.From
					loc, err := time.LoadLocation(zc.spec.Windows.Zone)
					if byDay && err == nil {
						l := f.From.In(loc)
						from = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
					}
					for iv := range zc.inForce(from, f.To) {
						for _, piece := range split(iv, loc, byDay && err == nil) {
							if piece.End.After(f.From) {
								out = append(out, WindowInForce{ScheduleID: sc.ID, Name: sc.Spec.Name, Type: sc.Spec.Type,
									Start: piece.Start.UTC(), End: piece.End.UTC()})
							}
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			yield(WindowInForce{}, err)
			return
		}
		slices.SortStableFunc(out, func(a, b WindowInForce) int { return a.Start.Compare(b.Start) })
		for _, w := range out {
			if !yield(w, nil) {
				return
			}
		}
	}
}

// split cuts iv at each midnight in loc when byDay, else returns it.
func split(iv calendar.Interval, loc *time.Location, byDay bool) []calendar.Interval {
	if !byDay {
		return []calendar.Interval{iv}
	}
	var out []calendar.Interval
	for start := iv.Start; start.Before(iv.End); {
		l := start.In(loc)
		next := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
		end := iv.End
		if next.Before(end) {
			end = next
		}
		out = append(out, calendar.Interval{Start: start, End: end})
		start = end
	}
	return out
}
