package calendar

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/us"
	"pgregory.net/rapid"
)

// Property tests over random calendars: random weekly windows (overnight
// ones included, and sometimes 24×7), holidays (whole and partial), extra
// working days and national holiday sets, in zones with and without DST,
// queried at instants from 1990 to 2060 with nanosecond parts.

var propZones = []string{"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"}

var (
	genFrom = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	genTo   = time.Date(2061, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
)

// world is a generated calendar and the date its holidays and extra days
// cluster around, so that instants drawn near it meet them.
type world struct {
	spec   Spec
	loc    *time.Location
	base   Date
	weekly int64 // nominal open seconds in a week, before holidays
}

func loadZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func addDays(d Date, n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// nationalSets are the sets a generated spec may name, and nationalDates
// their observed dates in the years [y0, y1]: the rule Spec.Country
// documents, computed here from rickar/cal directly.
var nationalSets = map[string][]*cal.Holiday{"US": us.Holidays, "GB": gb.Holidays}

func nationalDates(country string, y0, y1 int) map[Date]bool {
	out := map[Date]bool{}
	for y := y0; y <= y1; y++ {
		for _, h := range nationalSets[country] {
			actual, observed := h.Calc(y)
			if observed.IsZero() {
				observed = actual
			}
			if !observed.IsZero() {
				out[DateOf(observed)] = true
			}
		}
	}
	return out
}

// uniform draws an integer from [lo, hi] evenly. rapid's integer
// generators favour values near the bottom of their range (most instants
// would fall in the first hours of 1990); this one spreads them over it,
// and still shrinks towards lo.
func uniform(lo, hi int64) *rapid.Generator[int64] {
	return rapid.Map(rapid.SliceOfN(rapid.Bool(), 64, 64), func(bits []bool) int64 {
		var u uint64
		for _, b := range bits {
			u <<= 1
			if b {
				u |= 1
			}
		}
		return lo + int64(u%uint64(hi-lo+1))
	})
}

func uniformInt(t *rapid.T, label string, lo, hi int) int {
	return int(uniform(int64(lo), int64(hi)).Draw(t, label))
}

func pick[E any](t *rapid.T, label string, from []E) E {
	return from[uniformInt(t, label, 0, len(from)-1)]
}

// drawPoint draws a time of day from 00:00 to 24:00, often on the hour (so
// that windows meet), often in the night hours where clocks change.
func drawPoint(t *rapid.T, label string) int {
	switch rapid.IntRange(0, 3).Draw(t, label+".kind") {
	case 0:
		return uniformInt(t, label+".hour", 0, 24) * 3600
	case 1:
		return uniformInt(t, label+".minute", 0, 24*60) * 60
	case 2:
		return uniformInt(t, label+".night", 0, 4*60) * 60
	}
	return uniformInt(t, label+".second", 0, day)
}

// drawDay draws up to n sorted, disjoint windows within one date (the last
// may end at 24:00).
func drawDay(t *rapid.T, label string, n int) []Window {
	k := rapid.IntRange(0, n).Draw(t, label+".windows")
	pts := map[int]bool{}
	for range 2 * k {
		pts[drawPoint(t, label)] = true
	}
	ps := slices.Sorted(maps.Keys(pts))
	var ws []Window
	for i := 0; i+1 < len(ps); i += 2 {
		ws = append(ws, Window{Start: TimeOfDay(ps[i]), End: TimeOfDay(ps[i+1])})
	}
	return ws
}

// overnight makes the last window run into the next date, ending at or
// before limit (a time of day below 24:00).
func overnight(t *rapid.T, label string, ws []Window, limit int) {
	end := uniformInt(t, label+".overnight-end", 0, limit)
	ws[len(ws)-1] = Window{Start: ws[len(ws)-1].Start, End: TimeOfDay(end), Overnight: true}
}

// drawWeek draws a valid week: up to three windows a day, the last of a day
// sometimes overnight, ending before the next day's first window opens.
func drawWeek(t *rapid.T) Week {
	if rapid.IntRange(0, 9).Draw(t, "24x7") == 0 {
		return EveryDay(Hours(0, 0, 24, 0))
	}
	var w Week
	for d := range w {
		w[d] = drawDay(t, dayName(time.Weekday(d)), 3)
	}
	for d := range w {
		if len(w[d]) == 0 || !rapid.Bool().Draw(t, dayName(time.Weekday(d))+".overnight") {
			continue
		}
		limit := day - 1
		if next := w[(d+1)%7]; len(next) > 0 {
			limit = min(limit, int(next[0].Start))
		}
		overnight(t, dayName(time.Weekday(d)), w[d], limit)
	}
	empty := true
	for _, ws := range w {
		empty = empty && len(ws) == 0
	}
	if empty {
		w[time.Monday] = []Window{Hours(9, 0, 17, 0)}
	}
	return w
}

var worldGen = rapid.Custom(func(t *rapid.T) world {
	zone := pick(t, "zone", propZones)
	base := DateOf(time.Unix(uniform(genFrom, genTo-1).Draw(t, "base"), 0).UTC())
	s := Spec{Zone: zone, Week: drawWeek(t)}
	if rapid.IntRange(0, 5).Draw(t, "national") == 0 {
		s.Country = pick(t, "country", []string{"US", "GB"})
	}
	// A listed holiday on a national holiday's date replaces it in
	// calendar.go (see TestKnownBugs/partial-closure-on-national-holiday),
	// so listed holidays avoid those dates.
	national := nationalDates(s.Country, base.Year-1, base.Year+1)
	seen := map[Date]bool{}
	for i := range rapid.IntRange(0, 6).Draw(t, "holidays") {
		d := addDays(base, uniformInt(t, "holiday.date", -20, 40))
		if seen[d] || national[d] {
			continue
		}
		seen[d] = true
		h := Holiday{Date: d, Name: fmt.Sprint("holiday ", i)}
		if rapid.Bool().Draw(t, "holiday.partial") {
			h.Closed = drawDay(t, "closed", 2)
			if len(h.Closed) > 0 && rapid.IntRange(0, 3).Draw(t, "closed.overnight") == 0 {
				overnight(t, "closed", h.Closed, day-1)
			}
		}
		s.Holidays = append(s.Holidays, h)
	}
	seen = map[Date]bool{}
	for range rapid.IntRange(0, 3).Draw(t, "extra days") {
		d := addDays(base, uniformInt(t, "extra.date", -20, 40))
		ws := drawDay(t, "extra", 3)
		if seen[d] || len(ws) == 0 {
			continue
		}
		seen[d] = true
		if rapid.IntRange(0, 2).Draw(t, "extra.overnight") == 0 {
			overnight(t, "extra", ws, day-1)
		}
		s.ExtraDays = append(s.ExtraDays, Day{Date: d, Name: "extra", Windows: ws})
	}
	w := world{spec: s, loc: loadZone(zone), base: base}
	for _, ws := range s.Week {
		for _, x := range ws {
			w.weekly += x.length()
		}
	}
	return w
})

// calendar compiles the world's spec; the generators only make valid ones.
func (w world) calendar(t *rapid.T) *Calendar {
	c, err := New(w.spec)
	if err != nil {
		t.Fatalf("generated an invalid spec: %v\n%+v", err, w.spec)
	}
	return c
}

var inputZones = []*time.Location{time.UTC, loadZone("Asia/Kolkata")}

// instant draws an instant from 1990 to 2060: anywhere, near the holidays,
// at a wall-clock time near them (often a window's edge), or around a
// change of the zone's offset; with or without a nanosecond part, in the
// calendar's zone or another one.
func (w world) instant(t *rapid.T, label string) time.Time {
	var u time.Time
	switch rapid.IntRange(0, 3).Draw(t, label+".kind") {
	case 0:
		u = time.Unix(uniform(genFrom, genTo-1).Draw(t, label+".unix"), 0)
	case 1:
		mid := time.Date(w.base.Year, w.base.Month, w.base.Day, 12, 0, 0, 0, w.loc).Unix()
		u = time.Unix(mid+uniform(-25*day, 45*day).Draw(t, label+".near"), 0)
	case 2:
		d := addDays(w.base, uniformInt(t, label+".date", -25, 45))
		u = time.Date(d.Year, d.Month, d.Day, 0, 0, drawPoint(t, label), 0, w.loc)
	case 3:
		u = time.Unix(uniform(genFrom, genTo-1).Draw(t, label+".unix"), 0).In(w.loc)
		if _, end := u.ZoneBounds(); !end.IsZero() {
			u = end
		}
		u = u.Add(time.Duration(uniform(-3*3600, 3*3600).Draw(t, label+".dst")) * time.Second)
	}
	switch rapid.IntRange(0, 3).Draw(t, label+".nanos") {
	case 0:
	case 1:
		u = u.Add(-time.Nanosecond)
	default:
		u = u.Add(time.Duration(uniform(0, 1e9-1).Draw(t, label+".ns")))
	}
	if rapid.Bool().Draw(t, label+".in-zone") {
		return u.In(w.loc)
	}
	return u.In(pick(t, label+".zone", inputZones))
}

// duration draws a duration of open time of up to about eight weeks of the
// calendar: whole hours, whole seconds, any nanoseconds, or tiny.
func (w world) duration(t *rapid.T, label string) time.Duration {
	maxSec := min(w.weekly*8, 3000*3600)
	switch rapid.IntRange(0, 5).Draw(t, label+".kind") {
	case 0:
		return time.Duration(uniform(0, max(maxSec/3600, 1)).Draw(t, label+".hours")) * time.Hour
	case 1:
		return time.Duration(uniform(0, maxSec).Draw(t, label+".seconds")) * time.Second
	case 2:
		return time.Duration(rapid.Int64Range(0, 1e9).Draw(t, label+".small"))
	case 3:
		return time.Duration(rapid.Int64Range(0, maxSec*1e9).Draw(t, label+".biased"))
	}
	return time.Duration(uniform(0, maxSec*1e9).Draw(t, label+".ns"))
}

func TestPropBetweenInvertsAdd(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		at, d := w.instant(t, "t"), w.duration(t, "d")
		u := c.Add(at, d)
		if got := c.Between(at, u); got != d {
			t.Fatalf("Between(t, Add(t, %v)) = %v; Add = %v", d, got, u)
		}
		if d == 0 {
			if u != at {
				t.Fatalf("Add(t, 0) = %v, not t", u)
			}
			return
		}
		if u.Location() != c.Location() {
			t.Fatalf("Add returned %v, not in the calendar's zone", u)
		}
		// Add gives the earliest such instant.
		if got := c.Between(at, u.Add(-time.Nanosecond)); got >= d {
			t.Fatalf("Between(t, Add(t, %v) - 1ns) = %v: Add = %v is not the earliest", d, got, u)
		}
		// Backwards, Add(t, -d) gives the earliest instant u with
		// Between(u, t) == d.
		v := c.Add(at, -d)
		if got := c.Between(v, at); got != d {
			t.Fatalf("Between(Add(t, %v), t) = %v; Add = %v", -d, got, v)
		}
		if got := c.Between(v.Add(-time.Nanosecond), at); got <= d {
			t.Fatalf("Between(Add(t, %v) - 1ns, t) = %v: Add = %v is not the earliest", -d, got, v)
		}
	})
}

func TestPropAddComposes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		at, a, b := w.instant(t, "t"), w.duration(t, "a"), w.duration(t, "b")
		u := c.Add(at, a)
		x := c.Add(u, b)
		if y := c.Add(at, a+b); !x.Equal(y) {
			t.Fatalf("Add(Add(t, a), b) = %v, Add(t, a+b) = %v (Add(t, a) = %v)", x, y, u)
		}
	})
}

func TestPropBetweenAdditive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		a, b, x := w.instant(t, "a"), w.instant(t, "b"), w.instant(t, "c")
		ab := c.Between(a, b)
		bc := c.Between(b, x)
		ac := c.Between(a, x)
		if ab+bc != ac {
			t.Fatalf("Between(a, b) + Between(b, c) = %v + %v = %v, Between(a, c) = %v", ab, bc, ab+bc, ac)
		}
		if got := c.Between(b, b); got != 0 {
			t.Fatalf("Between(b, b) = %v", got)
		}
	})
}

func TestPropBetweenSign(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		a, b := w.instant(t, "a"), w.instant(t, "b")
		if b.Before(a) {
			a, b = b, a
		}
		ab, ba := c.Between(a, b), c.Between(b, a)
		if ab < 0 || ab > b.Sub(a) {
			t.Fatalf("Between(a, b) = %v for a <= b, %v apart", ab, b.Sub(a))
		}
		if ba != -ab {
			t.Fatalf("Between(a, b) = %v, Between(b, a) = %v", ab, ba)
		}
	})
}

func TestPropAddMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		t1, t2 := w.instant(t, "t1"), w.instant(t, "t2")
		if t2.Before(t1) {
			t1, t2 = t2, t1
		}
		d1, d2 := w.duration(t, "d1"), w.duration(t, "d2")
		if d2 < d1 {
			d1, d2 = d2, d1
		}
		x := c.Add(t1, d1)
		if y := c.Add(t2, d1); x.After(y) {
			t.Fatalf("t1 <= t2 but Add(t1, d) = %v after Add(t2, d) = %v", x, y)
		}
		if y := c.Add(t1, d2); x.After(y) {
			t.Fatalf("d1 <= d2 but Add(t, d1) = %v after Add(t, d2) = %v", x, y)
		}
	})
}

// openIntervals collects Open(from, to) and checks its shape: in order,
// non-empty, within [from, to), in the calendar's zone, never touching.
func openIntervals(t *rapid.T, c *Calendar, from, to time.Time) []Interval {
	var ivs []Interval
	for iv := range c.Open(from, to) {
		switch {
		case !iv.Start.Before(iv.End):
			t.Fatalf("empty interval %v", iv)
		case iv.Start.Before(from) || iv.End.After(to):
			t.Fatalf("interval %v outside [%v, %v)", iv, from, to)
		case len(ivs) > 0 && !ivs[len(ivs)-1].End.Before(iv.Start):
			t.Fatalf("interval %v does not follow %v with a gap", iv, ivs[len(ivs)-1])
		case iv.Start.Location() != c.Location() || iv.End.Location() != c.Location():
			t.Fatalf("interval %v not in the calendar's zone", iv)
		}
		ivs = append(ivs, iv)
	}
	return ivs
}

func TestPropIsOpenMatchesOpen(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		at := w.instant(t, "t")
		open := c.IsOpen(at)
		from := at.Add(-time.Duration(uniform(0, 8*day*1e9).Draw(t, "before")))
		to := at.Add(time.Duration(uniform(1, 8*day*1e9).Draw(t, "after")))
		ivs := openIntervals(t, c, from, to)
		in, sum := false, time.Duration(0)
		for _, iv := range ivs {
			in = in || !at.Before(iv.Start) && at.Before(iv.End)
			sum += iv.Duration()
			if !c.IsOpen(iv.Start) || !c.IsOpen(iv.End.Add(-time.Nanosecond)) {
				t.Fatalf("IsOpen false within %v", iv)
			}
			if iv.Start.After(from) && c.IsOpen(iv.Start.Add(-time.Nanosecond)) {
				t.Fatalf("IsOpen true just before %v", iv)
			}
			if iv.End.Before(to) && c.IsOpen(iv.End) {
				t.Fatalf("IsOpen true at the end of %v", iv)
			}
		}
		if in != open {
			t.Fatalf("IsOpen(t) = %v, but t is in an interval of Open: %v (%v)", open, in, ivs)
		}
		if b := c.Between(from, to); b != sum {
			t.Fatalf("Between(from, to) = %v, Open's intervals sum to %v", b, sum)
		}
	})
}

func TestPropNextOpen(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		c := w.calendar(t)
		at := w.instant(t, "t")
		n := c.NextOpen(at)
		if c.IsOpen(at) {
			if !n.Equal(at) {
				t.Fatalf("open at t, but NextOpen(t) = %v", n)
			}
			return
		}
		if !n.After(at) || !c.IsOpen(n) || c.IsOpen(n.Add(-time.Nanosecond)) {
			t.Fatalf("closed at t, NextOpen(t) = %v is not the start of an open window after t", n)
		}
		if got := c.Between(at, n); got != 0 {
			t.Fatalf("Between(t, NextOpen(t)) = %v", got)
		}
		for iv := range c.Open(at, n) {
			t.Fatalf("Open(t, NextOpen(t)) yields %v", iv)
		}
	})
}

// TestPropHistoryIndependent: what a calendar has computed before (its
// table, extended lazily in either direction) does not change its answers.
// The instants include the edges of the table left by the warm-up queries.
func TestPropHistoryIndependent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := worldGen.Draw(t, "world")
		warm, fresh := w.calendar(t), w.calendar(t)
		for i := range rapid.IntRange(1, 4).Draw(t, "warm-ups") {
			a := w.instant(t, fmt.Sprint("warm", i))
			warm.Between(a, a.Add(time.Duration(uniform(-3*day, 3*day).Draw(t, "span"))*time.Second))
		}
		tb := warm.tab.Load()
		edges := []int64{tb.lo, tb.hi}
		if len(tb.start) > 0 {
			edges = append(edges, tb.start[0], tb.end[len(tb.end)-1])
		}
		var at time.Time
		if rapid.Bool().Draw(t, "at-edge") {
			e := rapid.SampledFrom(edges).Draw(t, "edge")
			at = time.Unix(e+rapid.Int64Range(-2, 2).Draw(t, "edge-offset"), rapid.Int64Range(0, 2).Draw(t, "edge-ns"))
		} else {
			at = w.instant(t, "t")
		}
		d := w.duration(t, "d")
		if rapid.Bool().Draw(t, "to-edge") {
			// The open time from t to an edge, so that Add lands on it.
			d = warm.Between(at, time.Unix(rapid.SampledFrom(edges).Draw(t, "to"), 0))
		} else if rapid.Bool().Draw(t, "negative") {
			d = -d
		}
		b := w.instant(t, "b")
		if x, y := warm.IsOpen(at), fresh.IsOpen(at); x != y {
			t.Fatalf("IsOpen: %v after warm-up, %v fresh", x, y)
		}
		if x, y := warm.NextOpen(at), fresh.NextOpen(at); !x.Equal(y) {
			t.Fatalf("NextOpen: %v after warm-up, %v fresh", x, y)
		}
		if x, y := warm.Add(at, d), fresh.Add(at, d); !x.Equal(y) {
			t.Fatalf("Add(t, %v): %v after warm-up, %v fresh", d, x, y)
		}
		if x, y := warm.Between(at, b), fresh.Between(at, b); x != y {
			t.Fatalf("Between: %v after warm-up, %v fresh", x, y)
		}
	})
}

// TestConcurrentExtension has many goroutines question one fresh calendar
// at once, at instants years apart, so that they extend its table
// concurrently in both directions, and compares every answer with one
// goroutine's on another fresh calendar. Run it with -race.
func TestConcurrentExtension(t *testing.T) {
	type query struct {
		a, b time.Time
		d    time.Duration
	}
	type answer struct {
		add     time.Time
		between time.Duration
		open    bool
	}
	const goroutines, perGoroutine = 8, 24
	for seed := range 6 {
		w := worldGen.Example(seed)
		qs := rapid.Custom(func(t *rapid.T) []query {
			qs := make([]query, goroutines*perGoroutine)
			for i := range qs {
				qs[i] = query{w.instant(t, "a"), w.instant(t, "b"), w.duration(t, "d")}
			}
			return qs
		}).Example(seed)
		c1, err := New(w.spec)
		if err != nil {
			t.Fatal(err)
		}
		c2 := MustNew(w.spec)
		got := make([]answer, len(qs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range goroutines {
			wg.Go(func() {
				<-start
				for i := g; i < len(qs); i += goroutines {
					q := qs[i]
					got[i] = answer{c1.Add(q.a, q.d), c1.Between(q.a, q.b), c1.IsOpen(q.b)}
				}
			})
		}
		close(start)
		wg.Wait()
		for i, q := range qs {
			want := answer{c2.Add(q.a, q.d), c2.Between(q.a, q.b), c2.IsOpen(q.b)}
			if !got[i].add.Equal(want.add) || got[i].between != want.between || got[i].open != want.open {
				t.Fatalf("seed %d, query %d %+v: concurrent %+v, sequential %+v", seed, i, q, got[i], want)
			}
		}
	}
}

// TestRegressions holds the inputs of bugs the property tests found.
func TestRegressions(t *testing.T) {
	loc := ny(t)
	t.Run("table-upper-edge", func(t *testing.T) {
		// The table lists the intervals of [lo, hi): the second at hi is
		// not covered and needs an extension.
		c, err := New(Spec{Zone: "UTC", Week: EveryDay(Hours(0, 0, 24, 0)),
			Holidays: []Holiday{{Date: Date{2000, 1, 1}}}})
		if err != nil {
			t.Fatal(err)
		}
		c.IsOpen(time.Date(2030, 5, 1, 1, 2, 3, 4, time.UTC)) // the table now ends 2030-05-04 00:00 UTC
		edge := time.Date(2030, 5, 4, 0, 0, 0, 500, time.UTC)
		if !c.IsOpen(edge) {
			t.Errorf("IsOpen(%v) = false on a 24×7 calendar", edge)
		}
		if got, want := c.Between(edge.Add(-500-time.Second), edge), time.Second+500; got != want {
			t.Errorf("Between = %v, want %v", got, want)
		}
		if got, want := c.Add(edge, time.Hour), edge.Add(time.Hour); !got.Equal(want) {
			t.Errorf("Add = %v, want %v", got, want)
		}
	})
	t.Run("negative-add-depends-on-history", func(t *testing.T) {
		// At target == cum[0] the backward search must look before the
		// table for the end of the window before.
		spec := Spec{Zone: "America/New_York", Week: MondayToFriday(Hours(9, 0, 17, 0))}
		mon := time.Date(2026, 11, 16, 12, 0, 0, 0, loc)
		warm := MustNew(spec)
		warm.Between(mon.AddDate(0, 0, -30), mon)
		want := warm.Add(mon, -3*time.Hour) // Friday 13 November 17:00, the earliest
		if got := MustNew(spec).Add(mon, -3*time.Hour); !got.Equal(want) {
			t.Errorf("Add(Monday 12:00, -3h) = %v on a fresh calendar, %v after a warm-up", got, want)
		}
	})
	t.Run("partial-closure-on-national-holiday", func(t *testing.T) {
		// Spec.Country closes each observed date; a listed partial closure
		// on such a date adds to the national closure.
		c := MustNew(Spec{Zone: "America/New_York", Country: "US", Week: MondayToFriday(Hours(9, 0, 17, 0)),
			Holidays: []Holiday{{Date: Date{2026, 12, 25}, Closed: []Window{Hours(9, 0, 10, 0)}}}})
		xmas := time.Date(2026, 12, 25, 0, 0, 0, 0, loc)
		if got := c.Between(xmas, xmas.AddDate(0, 0, 1)); got != 0 {
			t.Errorf("open %v on Christmas Day with Country US", got)
		}
	})
}
