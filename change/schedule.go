package change

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
)

// ScheduleType says what a schedule's windows are: when changes may be
// made, or when they may not.
type ScheduleType string

// The schedule types.
const (
	// MaintenanceSchedule: the windows in which the CIs in scope may be
	// changed; a change on them outside is a conflict.
	MaintenanceSchedule ScheduleType = "maintenance"
	// BlackoutSchedule: the windows in which the CIs in scope must not be
	// changed (a freeze); a change on them inside is a conflict.
	BlackoutSchedule ScheduleType = "blackout"
)

// DateRange is a run of whole dates, From to To inclusive, read in the
// schedule's zone: a one-off period such as a year-end freeze.
type DateRange struct {
	From calendar.Date `json:"from"`
	To   calendar.Date `json:"to"`
}

// Scope says which CIs a schedule covers: those listed, those of the
// classes (with their subclasses), those supporting the business
// services (their failure affects the service), and those a condition on
// the CI holds for. A CI is covered when any part names it; an empty
// scope covers none.
type Scope struct {
	CIs      []itil.ID `json:"cis,omitempty"`
	Classes  []string  `json:"classes,omitempty"`
	Services []itil.ID `json:"services,omitempty"`
	// When is a condition on the CI: it reads ci_classes (the CI's class
	// and its ancestors), ci_criticality, and each attribute as u_<name>
	// (a text). The zero Condition names no CI.
	When Condition `json:"when,omitzero"`
}

// Limits of a schedule.
const (
	// MaxScheduleRanges is the most date ranges a schedule lists, and
	// MaxRangeDays the most dates one range spans (a year and a day).
	MaxScheduleRanges = 100
	MaxRangeDays      = 367
	// MaxScopeEntries is the most CIs, classes or services a scope lists
	// (each).
	MaxScopeEntries = 1000
)

// ScheduleSpec is what a schedule is: its windows (weekly ones in a zone,
// overnight ones included, holidays and one-off days, as an
// slm/calendar.Spec, plus one-off date ranges) and the CIs it covers.
type ScheduleSpec struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Type        ScheduleType `json:"type"`
	// Windows is when the schedule is in force: for a maintenance
	// schedule, when changes may be made; for a blackout, when they may
	// not. Its holidays close it (no maintenance, or no freeze, that day).
	Windows calendar.Spec `json:"windows"`
	// Ranges adds whole dates in force, in the windows' zone.
	Ranges []DateRange `json:"ranges,omitempty"`
	// Floating reads the windows and ranges in the zone of each CI's
	// location (its location's time_zone attribute), such as "01:00–05:00
	// local time" on servers around the world; a CI with no location, or
	// no valid zone there, is read in the windows' own zone.
	Floating bool  `json:"floating,omitempty"`
	Scope    Scope `json:"scope"`
}

// compiledSchedule is a ScheduleSpec ready to answer when it is in force.
type compiledSchedule struct {
	spec   ScheduleSpec
	cal    *calendar.Calendar // nil when the week has no window
	ranges []calendar.Interval
	scope  func(*Facts) bool // nil when the scope has no condition

	// zones holds a floating schedule as read in other zones, compiled
	// on first use; a compiled schedule is shared by the checks of a
	// Service (schedule_live.go).
	mu    sync.Mutex
	zones map[string]*compiledSchedule
}

// in returns the schedule as read for a CI in zone: itself unless it is
// floating and zone is another valid zone.
func (c *compiledSchedule) in(zone string) *compiledSchedule {
	if !c.spec.Floating || zone == "" || zone == c.spec.Windows.Zone {
		return c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if z, ok := c.zones[zone]; ok {
		return z
	}
	spec := c.spec
	spec.Windows = spec.Windows.Clone()
	spec.Windows.Zone = zone
	spec.Floating = false
	z, err := compileSchedule(spec)
	if err != nil {
		return c // not a zone the calendar knows: the schedule's own (not kept: zones is bounded by the valid ones)
	}
	if c.zones == nil {
		c.zones = map[string]*compiledSchedule{}
	}
	c.zones[zone] = z
	return z
}

// weekless reports whether w has no window on any day.
func weekless(w calendar.Week) bool {
	for _, ws := range w {
		if len(ws) > 0 {
			return false
		}
	}
	return true
}

// compileSchedule validates s and compiles its windows and scope; a bad
// spec gives a *itil.ValidationError naming every bad field (name, type,
// windows.zone, ranges[2].to, scope.when.field, ...).
func compileSchedule(s ScheduleSpec) (*compiledSchedule, error) {
	var v itil.ValidationError
	check.Text(&v, "name", s.Name, true, check.Short)
	check.Text(&v, "description", s.Description, false, check.Long)
	if s.Type != MaintenanceSchedule && s.Type != BlackoutSchedule {
		v.Add("type", "must be maintenance or blackout")
	}
	out := &compiledSchedule{spec: s}
	loc := check.Zone(&itil.ValidationError{}, "windows.zone", s.Windows.Zone, true) // reported below, or by calendar.New
	if weekless(s.Windows.Week) {
		// Only ranges: the weekly calendar has nothing to say.
		switch {
		case loc == nil:
			v.Add("windows.zone", "must be an IANA time zone, such as Europe/Paris")
		case len(s.Windows.ExtraDays) > 0 || len(s.Windows.Holidays) > 0 || s.Windows.Country != "":
			v.Add("windows.week", "has no window, so one-off days and holidays say nothing: give one-off periods as ranges")
		case len(s.Ranges) == 0:
			v.Add("windows.week", "has no window and there are no ranges: the schedule would never be in force")
		}
	} else if cal, err := calendar.New(s.Windows); err != nil {
		nest(&v, "windows.", err)
	} else {
		out.cal = cal
	}
	if len(s.Ranges) > MaxScheduleRanges {
		v.Add("ranges", fmt.Sprintf("lists %d ranges, more than %d", len(s.Ranges), MaxScheduleRanges))
	}
	for i, r := range s.Ranges {
		at := "ranges[" + strconv.Itoa(i) + "]."
		from, to, ok := rangeDays(&v, at, r)
		if !ok {
			continue
		}
		for j, o := range s.Ranges[:i] {
			if of, ot, ok := rangeDays(&itil.ValidationError{}, "", o); ok && from <= ot && of <= to {
				v.Add(at+"from", fmt.Sprintf("overlaps ranges[%d]", j))
			}
		}
		if loc != nil {
			f, t := dateOfDay(from), dateOfDay(to+1)
			out.ranges = append(out.ranges, calendar.Interval{
				Start: time.Date(f.Year, f.Month, f.Day, 0, 0, 0, 0, loc),
				End:   time.Date(t.Year, t.Month, t.Day, 0, 0, 0, 0, loc)})
		}
	}
	slices.SortFunc(out.ranges, func(a, b calendar.Interval) int { return a.Start.Compare(b.Start) })
	scopeIDs(&v, "scope.cis", s.Scope.CIs)
	scopeIDs(&v, "scope.services", s.Scope.Services)
	if len(s.Scope.Classes) > MaxScopeEntries {
		v.Add("scope.classes", fmt.Sprintf("lists more than %d", MaxScopeEntries))
	}
	for i, c := range s.Scope.Classes {
		check.Text(&v, "scope.classes["+strconv.Itoa(i)+"]", c, true, check.Short)
	}
	if !s.Scope.When.zero() {
		f, err := s.Scope.When.Compile()
		if err != nil {
			nest(&v, "scope.when.", err)
		}
		out.scope = f
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// rangeDays returns r's first and last dates as days since 1970, checking
// them under the field prefix at.
func rangeDays(v *itil.ValidationError, at string, r DateRange) (from, to int64, ok bool) {
	okDate := func(field string, d calendar.Date) bool {
		if d.Year < 1 || d.Year > 9999 || d != calendar.DateOf(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)) {
			v.Add(at+field, "must be a date from the years 1 to 9999")
			return false
		}
		return true
	}
	if !okDate("from", r.From) || !okDate("to", r.To) {
		return 0, 0, false
	}
	from, to = dayOf(r.From), dayOf(r.To)
	switch {
	case to < from:
		v.Add(at+"to", "must not be before from")
		return 0, 0, false
	case to-from+1 > MaxRangeDays:
		v.Add(at+"to", fmt.Sprintf("spans %d dates, more than %d: list a recurring window instead", to-from+1, MaxRangeDays))
		return 0, 0, false
	}
	return from, to, true
}

func dayOf(d calendar.Date) int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func dateOfDay(n int64) calendar.Date { return calendar.DateOf(time.Unix(n*86400, 0).UTC()) }

func scopeIDs(v *itil.ValidationError, field string, ids []itil.ID) {
	if len(ids) > MaxScopeEntries {
		v.Add(field, fmt.Sprintf("lists more than %d", MaxScopeEntries))
	}
	for i, id := range ids {
		if id == itil.NilID {
			v.Add(field+"["+strconv.Itoa(i)+"]", "must not be the nil ID")
		}
	}
}

// Validate returns a *itil.ValidationError naming every bad field of s,
// or nil.
func (s ScheduleSpec) Validate() error {
	_, err := compileSchedule(s)
	return err
}

// inForce yields the intervals of [from, to) in which the schedule is in
// force, in order, disjoint and not adjacent: its weekly windows and its
// ranges, merged.
func (c *compiledSchedule) inForce(from, to time.Time) iter.Seq[calendar.Interval] {
	return func(yield func(calendar.Interval) bool) {
		if !from.Before(to) {
			return
		}
		var cur calendar.Interval
		have := false
		emit := func(iv calendar.Interval) bool {
			if iv.Start.Before(from) {
				iv.Start = from
			}
			if iv.End.After(to) {
				iv.End = to
			}
			if !iv.Start.Before(iv.End) {
				return true
			}
			if have && !iv.Start.After(cur.End) {
				if iv.End.After(cur.End) {
					cur.End = iv.End
				}
				return true
			}
			if have && !yield(cur) {
				return false
			}
			cur, have = iv, true
			return true
		}
		// A schedule of weekly windows alone, or of ranges alone (most
		// are), is merged without pulling from the calendar's iterator,
		// which costs a coroutine switch per window.
		switch {
		case c.cal == nil:
			for _, iv := range c.ranges {
				if !iv.Start.Before(to) {
					break
				}
				if iv.End.After(from) && !emit(iv) {
					return
				}
			}
			if have {
				yield(cur)
			}
			return
		case len(c.ranges) == 0:
			for iv := range c.cal.Open(from, to) {
				if !emit(iv) {
					return
				}
			}
			if have {
				yield(cur)
			}
			return
		}
		next, stop := iter.Pull(c.cal.Open(from, to))
		defer stop()
		w, wok := next()
		ri := 0
		for wok || ri < len(c.ranges) {
			var iv calendar.Interval
			if ri < len(c.ranges) && (!wok || c.ranges[ri].Start.Before(w.Start)) {
				iv = c.ranges[ri]
				ri++
			} else {
				iv = w
				w, wok = next()
			}
			if !emit(iv) {
				return
			}
		}
		if have {
			yield(cur)
		}
	}
}

// scopedCI is what a schedule's scope reads of a CI.
type scopedCI struct {
	ID          itil.ID
	Zone        string   // its location's time zone, "" when unknown
	Classes     []string // the CI's class and its ancestors
	Criticality cmdb.Criticality
	Attributes  map[string]string
	Services    []itil.ID // the business services its failure affects
}

// covers reports whether the schedule's scope covers ci.
func (c *compiledSchedule) covers(ci *scopedCI) bool {
	sc := &c.spec.Scope
	if slices.Contains(sc.CIs, ci.ID) {
		return true
	}
	for _, cl := range sc.Classes {
		if slices.Contains(ci.Classes, cl) {
			return true
		}
	}
	for _, s := range sc.Services {
		if slices.Contains(ci.Services, s) {
			return true
		}
	}
	if c.scope != nil {
		f := &Facts{CIClasses: ci.Classes, CICriticality: ci.Criticality, CIs: 1}
		if len(ci.Attributes) > 0 {
			f.Texts = make(map[string]string, len(ci.Attributes))
			for k, v := range ci.Attributes {
				f.Texts[customFactPrefix+k] = v
			}
		}
		return c.scope(f)
	}
	return false
}

// zero reports whether c is the zero Condition (which, compiled, always
// holds; a scope reads it as naming no CI).
func (c *Condition) zero() bool {
	return c.Field == "" && c.Op == "" && c.Value == nil && c.All == nil && c.Any == nil && c.Not == nil
}
