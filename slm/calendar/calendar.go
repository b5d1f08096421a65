package calendar

import (
	"encoding/json"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itilkit/itil"
	"github.com/rickar/cal/v2"
)

// The range a calendar computes over: instants are clamped to
// [minYear-01-01, maxYear-01-01) UTC. Open time is counted in nanoseconds
// in an int64, so the range must hold less than 292 years; 280 years keeps
// every sum exact.
const (
	minYear = 1910
	maxYear = 2190
)

// Earliest and Latest bound the instants a calendar computes with: from
// Earliest (1910) up to, not including, Latest (2190). Instants outside
// are clamped.
var (
	Earliest = time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC)
	Latest   = time.Date(maxYear, 1, 1, 0, 0, 0, 0, time.UTC)
)

var (
	minUnix = Earliest.Unix()
	maxUnix = Latest.Unix()
)

// Calendar is a compiled business calendar: it answers IsOpen, NextOpen,
// Add and Between exactly, to the nanosecond, in a binary search each.
//
// Open time is kept as sorted UTC intervals with prefix sums of open
// seconds, computed date by date in the calendar's zone (so DST nights
// are exact) and extended lazily, in either direction, when a question
// falls outside what has been computed. Questions inside the computed
// range do not allocate. A Calendar is safe for concurrent use.
//
// Instants before 1910 or from 2190 on are clamped to that range.
type Calendar struct {
	spec     Spec
	loc      *time.Location
	week     [7][]Window
	holidays map[Date][]Window // nil slice: closed all day
	extra    map[Date][]Window
	national []*cal.Holiday

	mu       sync.Mutex   // serializes extension and guards what follows
	natYears map[int]bool // years whose national holidays are in natDates
	natDates map[Date]bool
	tab      atomic.Pointer[table]
	always   bool // 24×7 in a zone where that is all wall time: Add is t+d
}

// table is an immutable view of the computed intervals. start and end are
// Unix seconds; cum[i] is the open seconds before start[i], counted from an
// arbitrary origin, and cum[len(start)] the open seconds before hi.
// Intervals are disjoint, sorted, non-empty and not adjacent.
type table struct {
	lo, hi     int64 // covered: every open interval within [lo, hi) is listed
	dlo, dhi   int64 // the same as days since 1970 in the zone's dates
	start, end []int64
	cum        []int64
}

// New compiles a calendar. An invalid spec gives a *itil.ValidationError
// naming every bad field.
func New(spec Spec) (*Calendar, error) {
	c := new(Calendar)
	if err := c.init(spec); err != nil {
		return nil, err
	}
	return c, nil
}

// MustNew is New for specs known to be valid, such as AlwaysOpen(); it
// panics on an invalid spec.
func MustNew(spec Spec) *Calendar {
	c, err := New(spec)
	if err != nil {
		panic(err)
	}
	return c
}

func (c *Calendar) init(spec Spec) error {
	var v itil.ValidationError
	loc := spec.validate(&v)
	if err := v.Err(); err != nil {
		return err
	}
	spec = cloneSpec(spec)
	c.spec, c.loc = spec, loc
	c.week = spec.Week
	c.holidays = make(map[Date][]Window, len(spec.Holidays))
	for _, h := range spec.Holidays {
		c.holidays[h.Date] = h.Closed
	}
	c.extra = make(map[Date][]Window, len(spec.ExtraDays))
	for _, x := range spec.ExtraDays {
		c.extra[x.Date] = x.Windows
	}
	if spec.Country != "" {
		c.national = countries[strings.ToUpper(spec.Country)]
	}
	c.natYears, c.natDates = map[int]bool{}, map[Date]bool{}
	c.always = len(c.holidays) == 0 && len(c.national) == 0 && len(c.extra) == 0
	for _, ws := range c.week {
		if len(ws) != 1 || ws[0] != (Window{0, day, false}) {
			c.always = false
		}
	}
	c.tab.Store(&table{})
	return nil
}

// Clone returns a deep copy of s: it shares no slice with s.
func (s Spec) Clone() Spec { return cloneSpec(s) }

func cloneSpec(s Spec) Spec {
	for d := range s.Week {
		s.Week[d] = slices.Clone(s.Week[d])
	}
	s.Holidays = slices.Clone(s.Holidays)
	for i := range s.Holidays {
		s.Holidays[i].Closed = slices.Clone(s.Holidays[i].Closed)
	}
	s.ExtraDays = slices.Clone(s.ExtraDays)
	for i := range s.ExtraDays {
		s.ExtraDays[i].Windows = slices.Clone(s.ExtraDays[i].Windows)
	}
	return s
}

// Spec returns a copy of the calendar's definition.
func (c *Calendar) Spec() Spec { return cloneSpec(c.spec) }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// MarshalJSON writes the calendar's Spec.
func (c *Calendar) MarshalJSON() ([]byte, error) { return json.Marshal(c.spec) }

// UnmarshalJSON compiles a Spec; an invalid one gives a
// *itil.ValidationError.
func (c *Calendar) UnmarshalJSON(b []byte) error {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return c.init(s)
}

// clampUnix splits t into Unix seconds and nanoseconds, clamped to the
// calendar's range [minUnix, maxUnix).
func clampUnix(t time.Time) (sec int64, nsec int64) {
	sec = t.Unix()
	switch {
	case sec < minUnix:
		return minUnix, 0
	case sec >= maxUnix:
		return maxUnix - 1, 0
	}
	return sec, int64(t.Nanosecond())
}

// covering returns a table whose range holds the whole second sec: the
// table lists the intervals of [lo, hi), so sec must be before hi.
func (c *Calendar) covering(sec int64) *table {
	if t := c.tab.Load(); t.lo <= sec && sec < t.hi {
		return t
	}
	return c.extend(sec, sec)
}

// IsOpen reports whether t falls in an open window. Windows are half-open:
// open at their start, closed at their end.
func (c *Calendar) IsOpen(t time.Time) bool {
	sec, _ := clampUnix(t)
	tb := c.covering(sec)
	i := upper(tb.start, sec)
	return i > 0 && sec < tb.end[i-1]
}

// NextOpen returns t when the calendar is open at t, otherwise the start of
// the next open window.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	sec, _ := clampUnix(t)
	tb := c.covering(sec)
	i := upper(tb.start, sec)
	if i > 0 && sec < tb.end[i-1] {
		return t
	}
	for i == len(tb.start) {
		if tb.hi >= maxUnix {
			return time.Unix(maxUnix, 0).In(c.loc)
		}
		tb = c.extend(sec, tb.hi+1)
		i = upper(tb.start, sec)
	}
	return time.Unix(tb.start[i], 0).In(c.loc)
}

// open is the open time before an instant, in nanoseconds from the table's
// origin.
func (tb *table) open(sec, nsec int64) int64 {
	i := upper(tb.start, sec)
	if i == 0 {
		return tb.cum[0] * 1e9
	}
	j := i - 1
	if sec >= tb.end[j] {
		return tb.cum[j+1] * 1e9
	}
	return (tb.cum[j]+sec-tb.start[j])*1e9 + nsec
}

// Between returns the open time between t1 and t2. When t2 is before t1 it
// is negative: Between(t2, t1) == -Between(t1, t2). It is additive:
// Between(a, b) + Between(b, c) == Between(a, c) for any a, b, c.
func (c *Calendar) Between(t1, t2 time.Time) time.Duration {
	if c.always {
		s1, n1 := clampUnix(t1)
		s2, n2 := clampUnix(t2)
		return time.Duration((s2-s1)*1e9 + n2 - n1)
	}
	s1, n1 := clampUnix(t1)
	s2, n2 := clampUnix(t2)
	tb := c.tab.Load()
	if !(tb.lo <= min(s1, s2) && max(s1, s2) < tb.hi) {
		tb = c.extend(min(s1, s2), max(s1, s2))
	}
	return time.Duration(tb.open(s2, n2) - tb.open(s1, n1))
}

// Add returns the instant at which d of open time has elapsed from t: the
// earliest instant u with Between(t, u) == d. Add(t, 0) is t. So when the
// time runs out at the end of a window, Add returns that end (Friday
// 17:00), not the start of the next window. A negative d counts backwards
// and returns the earliest instant u with Between(u, t) == -d.
//
// The result is in the calendar's zone. It is clamped to the calendar's
// range (the year 2190) should the open time run out before.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if d == 0 {
		return t
	}
	sec, nsec := clampUnix(t)
	if c.always {
		u := time.Unix(sec, nsec).Add(d)
		if us := u.Unix(); us >= maxUnix || us < minUnix {
			u = time.Unix(min(max(us, minUnix), maxUnix), 0)
		}
		return u.In(c.loc)
	}
	tb := c.covering(sec)
	target := tb.open(sec, nsec) + int64(d)
	for target > tb.cum[len(tb.cum)-1]*1e9 && tb.hi < maxUnix {
		tb = c.extend(tb.lo, min(tb.hi+max(tb.hi-tb.lo, 366*day), maxUnix))
	}
	// At target == cum[0] the earliest instant may end a window before lo.
	for target <= tb.cum[0]*1e9 && tb.lo > minUnix {
		tb = c.extend(max(tb.lo-max(tb.hi-tb.lo, 366*day), minUnix), tb.hi)
	}
	n := len(tb.start)
	if target > tb.cum[n]*1e9 {
		return time.Unix(maxUnix, 0).In(c.loc)
	}
	if target < tb.cum[0]*1e9 || n == 0 {
		return time.Unix(minUnix, 0).In(c.loc)
	}
	// The first interval whose end has at least target open time before it.
	k, hi := 0, n-1
	for k < hi {
		m := int(uint(k+hi) >> 1)
		if tb.cum[m+1]*1e9 < target {
			k = m + 1
		} else {
			hi = m
		}
	}
	rest := target - tb.cum[k]*1e9
	return time.Unix(tb.start[k]+rest/1e9, rest%1e9).In(c.loc)
}

// Interval is a span of time [Start, End).
type Interval struct {
	Start, End time.Time
}

// Duration is End − Start.
func (i Interval) Duration() time.Duration { return i.End.Sub(i.Start) }

// Open yields the open intervals overlapping [from, to), clipped to it, in
// order, in the calendar's zone. Adjacent windows come out merged.
func (c *Calendar) Open(from, to time.Time) iter.Seq[Interval] {
	return func(yield func(Interval) bool) {
		if !from.Before(to) {
			return
		}
		s1, _ := clampUnix(from)
		s2, _ := clampUnix(to)
		tb := c.extend(s1, s2)
		for i := max(upper(tb.start, s1)-1, 0); i < len(tb.start) && tb.start[i] <= s2; i++ {
			iv := Interval{time.Unix(tb.start[i], 0).In(c.loc), time.Unix(tb.end[i], 0).In(c.loc)}
			if iv.Start.Before(from) {
				iv.Start = from.In(c.loc)
			}
			if iv.End.After(to) {
				iv.End = to.In(c.loc)
			}
			if iv.Start.Before(iv.End) && !yield(iv) {
				return
			}
		}
	}
}

// upper returns the number of elements of s that are <= x.
func upper(s []int64, x int64) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// extend returns a table covering the seconds from through to (Unix
// seconds; the table's hi is after to), computing the
// missing dates. It grows the range at least by half its size each time,
// so a calendar used over a moving window of time recomputes rarely.
func (c *Calendar) extend(from, to int64) *table {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.tab.Load()
	if old.hi > old.lo && old.lo <= from && to < old.hi {
		return old
	}
	// Dates in the zone: two days of margin either side, since a date's
	// local midnight is within a day of its UTC midnight.
	dfrom := max(from, minUnix)/day - 2
	dto := min(to, maxUnix)/day + 3
	if old.hi > old.lo {
		span := max(old.dhi-old.dlo, 366)
		if dfrom < old.dlo {
			dfrom = min(dfrom, old.dlo-span/2)
		} else {
			dfrom = old.dlo
		}
		if dto > old.dhi {
			dto = max(dto, old.dhi+span/2)
		} else {
			dto = old.dhi
		}
	}
	tb := &table{dlo: dfrom, dhi: dto, lo: c.midnight(dfrom), hi: c.midnight(dto)}
	if old.hi <= old.lo {
		tb.start, tb.end = c.intervals(dfrom, dto)
		tb.cum = prefix(tb.start, tb.end, 0)
	} else {
		bs, be := c.intervals(dfrom, old.dlo)
		as, ae := c.intervals(old.dhi, dto)
		tb.start = slices.Concat(bs, old.start, as)
		tb.end = slices.Concat(be, old.end, ae)
		// Keep the old origin: the old first interval keeps its cum.
		tb.cum = prefix(tb.start, tb.end, 0)
		shift := old.cum[0] - tb.cum[len(bs)]
		for i := range tb.cum {
			tb.cum[i] += shift
		}
		tb.start, tb.end, tb.cum = merge(tb.start, tb.end, tb.cum)
	}
	c.tab.Store(tb)
	return tb
}

func prefix(start, end []int64, base int64) []int64 {
	cum := make([]int64, len(start)+1)
	cum[0] = base
	for i := range start {
		cum[i+1] = cum[i] + end[i] - start[i]
	}
	return cum
}

// merge joins adjacent intervals (where two computed ranges meet).
func merge(start, end, cum []int64) ([]int64, []int64, []int64) {
	w := 0
	for i := range start {
		if w > 0 && start[i] == end[w-1] {
			end[w-1] = end[i]
			continue
		}
		start[w], end[w], cum[w] = start[i], end[i], cum[i]
		w++
	}
	cum[w] = cum[len(start)]
	return start[:w], end[:w], cum[:w+1]
}

// midnight returns the instant local midnight starts the date n days after
// 1970-01-01, clamped to the calendar's range.
func (c *Calendar) midnight(n int64) int64 {
	return min(max(c.at(dateOfDays(n), 0), minUnix), maxUnix)
}

// at resolves a wall-clock time on a date in the zone. Seconds past 24:00
// run into the next date. A wall time in a spring-forward gap resolves as
// time.Date does (read in the offset before the change: 02:30 is 03:30).
func (c *Calendar) at(d Date, sec TimeOfDay) int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, int(sec), 0, c.loc).Unix()
}

// intervals computes the open intervals of the dates [d0, d1) (days since
// 1970), clipped to those dates' local span.
func (c *Calendar) intervals(d0, d1 int64) (start, end []int64) {
	if d0 >= d1 {
		return nil, nil
	}
	lo, hi := c.midnight(d0), c.midnight(d1)
	c.loadNational(d0-2, d1+2)
	var open, closed []span
	// Windows that start one or two dates earlier may run into d0.
	for n := d0 - 2; n < d1; n++ {
		d := dateOfDays(n)
		ws, extra := c.extra[d]
		if !extra {
			ws = c.week[time.Weekday((n%7+7+4)%7)] // 1970-01-01 was a Thursday
		}
		for _, w := range ws {
			open = append(open, c.span(d, w))
		}
		if extra {
			continue
		}
		if cl, hol := c.holidays[d]; hol {
			if len(cl) == 0 {
				closed = append(closed, span{c.at(d, 0), c.at(d, day)})
			}
			for _, w := range cl {
				closed = append(closed, c.span(d, w))
			}
		}
		if c.natDates[d] {
			closed = append(closed, span{c.at(d, 0), c.at(d, day)})
		}
	}
	open = normalize(open)
	closed = normalize(closed)
	// open minus closed, clipped to [lo, hi).
	j := 0
	for _, o := range open {
		s, e := max(o.s, lo), min(o.e, hi)
		for s < e {
			for j < len(closed) && closed[j].e <= s {
				j++
			}
			if j == len(closed) || closed[j].s >= e {
				start, end = append(start, s), append(end, e)
				break
			}
			if closed[j].s > s {
				start, end = append(start, s), append(end, closed[j].s)
			}
			s = closed[j].e
		}
	}
	return start, end
}

type span struct{ s, e int64 }

func (c *Calendar) span(d Date, w Window) span {
	end := w.End
	if w.Overnight {
		end += day
	}
	return span{c.at(d, w.Start), c.at(d, end)}
}

// normalize sorts spans and merges those that overlap or touch, dropping
// empty ones (a window that DST made empty).
func normalize(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int {
		switch {
		case a.s < b.s:
			return -1
		case a.s > b.s:
			return 1
		}
		return 0
	})
	out := ss[:0]
	for _, x := range ss {
		if x.e <= x.s {
			continue
		}
		if n := len(out); n > 0 && x.s <= out[n-1].e {
			out[n-1].e = max(out[n-1].e, x.e)
			continue
		}
		out = append(out, x)
	}
	return out
}
