package calendar

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// TimeOfDay is a wall-clock time as seconds after midnight. It is written
// "HH:MM" in JSON ("HH:MM:SS" when it has seconds); "24:00" is allowed as
// the end of a window.
type TimeOfDay int32

const day = 24 * 60 * 60

// At returns the time of day hour:minute.
func At(hour, minute int) TimeOfDay { return TimeOfDay(hour*3600 + minute*60) }

// String formats t as "HH:MM", or "HH:MM:SS" when it has seconds.
func (t TimeOfDay) String() string {
	h, m, s := int(t)/3600, int(t)/60%60, int(t)%60
	out := fmt.Sprintf("%02d:%02d", h, m)
	if s != 0 {
		out += fmt.Sprintf(":%02d", s)
	}
	return out
}

// ParseTimeOfDay reads a time of day from 00:00 to 24:00 exactly as String
// writes it: "HH:MM" (two digits, a colon, two digits), or "HH:MM:SS"
// for a time with seconds (01 to 59). Signs, spaces, one-digit fields
// and "24:01" are refused; 24:00 ends a window (a window may not start
// then).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	var n [3]int
	ok := len(s) == 5 || len(s) == 8
	for i := 0; ok && i < len(s); i++ {
		switch c := s[i]; {
		case i%3 == 2:
			ok = c == ':'
		case c >= '0' && c <= '9':
			n[i/3] = n[i/3]*10 + int(c-'0')
		default:
			ok = false
		}
	}
	if !ok || (len(s) == 8 && n[2] == 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	if n[1] > 59 || n[2] > 59 || n[0] > 24 || (n[0] == 24 && n[1]+n[2] != 0) {
		return 0, fmt.Errorf("%q is not a time of day from 00:00 to 24:00", s)
	}
	return TimeOfDay(n[0]*3600 + n[1]*60 + n[2]), nil
}

func (t TimeOfDay) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads a JSON string ParseTimeOfDay accepts.
func (t *TimeOfDay) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a time of day as a JSON string \"HH:MM\"")
	}
	v, err := ParseTimeOfDay(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Window is a span of wall-clock time on one date. A window ends on the
// same date unless it is marked Overnight, in which case End is a time of
// the next date (22:00–06:00).
type Window struct {
	Start     TimeOfDay `json:"start"`
	End       TimeOfDay `json:"end"`
	Overnight bool      `json:"overnight,omitempty"`
}

// Hours returns the window from start to end on the same date, both given
// as hour:minute pairs; 24:00 ends the window at midnight.
func Hours(startHour, startMinute, endHour, endMinute int) Window {
	return Window{Start: At(startHour, startMinute), End: At(endHour, endMinute)}
}

// length is the window's nominal length in seconds (without DST).
func (w Window) length() int64 {
	if w.Overnight {
		return int64(day - w.Start + w.End)
	}
	return int64(w.End - w.Start)
}

func (w Window) String() string {
	s := w.Start.String() + "–" + w.End.String()
	if w.Overnight {
		s += " (next day)"
	}
	return s
}

// Date is a calendar date without a zone, written "2006-01-02".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

func dateOfDays(n int64) Date { return DateOf(time.Unix(n*day, 0).UTC()) }

func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a date as a JSON string \"YYYY-MM-DD\"")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Week holds the open windows of each weekday, indexed by time.Weekday.
// In JSON it is an object keyed by lower-case English day names.
type Week [7][]Window

// MondayToFriday returns a week open in the given windows Monday to Friday.
func MondayToFriday(windows ...Window) Week {
	var w Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = slices.Clone(windows)
	}
	return w
}

// EveryDay returns a week open in the given windows every day.
func EveryDay(windows ...Window) Week {
	var w Week
	for d := range w {
		w[d] = slices.Clone(windows)
	}
	return w
}

func dayName(d time.Weekday) string { return strings.ToLower(d.String()) }

func (w Week) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for d := time.Sunday; d <= time.Saturday; d++ {
		if len(w[(d+1)%7]) == 0 { // Monday first, Sunday last
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		js, err := json.Marshal(w[(d+1)%7])
		if err != nil {
			return nil, err
		}
		b.WriteString(strconv.Quote(dayName((d + 1) % 7)))
		b.WriteByte(':')
		b.Write(js)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// UnmarshalJSON reads the week; a bad value gives a *itil.ValidationError
// naming its path within the week ("monday[0].start", "funday").
func (w *Week) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var v itil.ValidationError
	var m map[string]json.RawMessage
	if decodeAt(&v, "", b, &m); v.Err() != nil {
		return &v
	}
	*w = Week{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		d := slices.IndexFunc(weekdays, func(d time.Weekday) bool { return dayName(d) == name })
		if d < 0 {
			v.Add(name, fmt.Sprintf("%q is not a weekday name (monday … sunday)", name))
			continue
		}
		var elems []json.RawMessage
		if decodeAt(&v, name, m[name], &elems); v.Has(name) {
			continue
		}
		w[d] = make([]Window, len(elems))
		for i, e := range elems {
			decodeAt(&v, name+"["+strconv.Itoa(i)+"]", e, &w[d][i])
		}
		if len(elems) == 0 {
			w[d] = nil
		}
	}
	return v.Err()
}

var weekdays = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}

// UnmarshalJSON reads a window; a bad value gives a *itil.ValidationError
// naming "start", "end" or "overnight".
func (w *Window) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var raw struct {
		Start, End, Overnight json.RawMessage
	}
	var v itil.ValidationError
	if decodeAt(&v, "", b, &raw); v.Err() != nil {
		return &v
	}
	var out Window
	decodeAt(&v, "start", raw.Start, &out.Start)
	decodeAt(&v, "end", raw.End, &out.End)
	decodeAt(&v, "overnight", raw.Overnight, &out.Overnight)
	if err := v.Err(); err != nil {
		return err
	}
	*w = out
	return nil
}

// UnmarshalJSON reads a holiday; a bad value gives a *itil.ValidationError
// naming its path ("date", "closed[0].end").
func (h *Holiday) UnmarshalJSON(b []byte) error {
	type plain Holiday
	return decodeStruct(b, (*plain)(h))
}

// UnmarshalJSON reads an extra day; a bad value gives a
// *itil.ValidationError naming its path ("date", "windows[1].start").
func (d *Day) UnmarshalJSON(b []byte) error {
	type plain Day
	return decodeStruct(b, (*plain)(d))
}

// UnmarshalJSON reads a calendar spec; a bad value gives a
// *itil.ValidationError naming its path ("zone", "week.monday[0].start",
// "holidays[2].date"). The spec is checked when a Calendar is made of it
// (New). encoding/json reports malformed JSON itself, before any
// UnmarshalJSON runs: ParseSpec names where it is malformed too.
func (s *Spec) UnmarshalJSON(b []byte) error {
	type plain Spec
	return named(decodeStruct(b, (*plain)(s)))
}

// ParseSpec reads a calendar spec from JSON and checks it: every problem,
// malformed JSON included, is a *itil.ValidationError naming its path.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		var v itil.ValidationError
		addJSONError(&v, "", err)
		return Spec{}, named(&v)
	}
	var v itil.ValidationError
	s.validate(&v)
	return s, v.Err()
}

// Holiday closes the calendar on a date: the whole date when Closed is
// empty, otherwise only the Closed windows (a partial closure). A holiday
// closes its own date only, so an overnight window from the day before is
// cut at midnight.
type Holiday struct {
	Date   Date     `json:"date"`
	Name   string   `json:"name,omitempty"`
	Closed []Window `json:"closed,omitempty"`
}

// Day replaces the week's windows on one date, such as a working Saturday.
// It also overrides any holiday on that date.
type Day struct {
	Date    Date     `json:"date"`
	Name    string   `json:"name,omitempty"`
	Windows []Window `json:"windows"`
}

// Spec is the storable definition of a business calendar.
type Spec struct {
	Name string `json:"name,omitempty"`
	// Zone is an IANA time zone name, such as "America/New_York" or "UTC".
	Zone string `json:"zone"`
	Week Week   `json:"week"`
	// Country adds a national holiday set (see Countries), closed all day
	// on each holiday's observed date. A listed holiday on the same date
	// adds its closures; to open on a national holiday, list the date in
	// ExtraDays.
	Country   string    `json:"country,omitempty"`
	Holidays  []Holiday `json:"holidays,omitempty"`
	ExtraDays []Day     `json:"extra_days,omitempty"`
}

// AlwaysOpen is the 24×7 calendar in UTC.
func AlwaysOpen() Spec {
	return Spec{Name: "24x7", Zone: "UTC", Week: EveryDay(Hours(0, 0, 24, 0))}
}

// validate checks the spec and reports every problem with its field path.
func (s *Spec) validate(v *itil.ValidationError) *time.Location {
	loc := check.Zone(v, "zone", s.Zone, true)
	total := int64(0)
	type span struct {
		day        time.Weekday
		start, end int64 // seconds after Sunday 00:00
	}
	var spans []span
	for d := time.Sunday; d <= time.Saturday; d++ {
		checkWindows(v, "week."+dayName(d), s.Week[d])
		for _, w := range s.Week[d] {
			if w.valid() {
				total += w.length()
				start := int64(d)*day + int64(w.Start)
				spans = append(spans, span{d, start, start + w.length()})
			}
		}
	}
	if total == 0 {
		v.Add("week", "has no open window: the calendar would never be open")
	}
	// An overnight window may run into the next day's windows (Saturday's
	// into Sunday's), so overlaps are also checked across days, cyclically.
	for i, a := range spans {
		for _, b := range spans[:i] {
			if a.day == b.day {
				continue // checkWindows reported it
			}
			for _, shift := range []int64{-7 * day, 0, 7 * day} {
				if a.start < b.end+shift && b.start+shift < a.end {
					v.Add("week."+dayName(a.day), fmt.Sprintf("a window overlaps one of %s", dayName(b.day)))
				}
			}
		}
	}
	if s.Country != "" {
		if _, ok := countries[strings.ToUpper(s.Country)]; !ok {
			v.Add("country", fmt.Sprintf("%q has no holiday set; known: %s", s.Country, strings.Join(Countries(), ", ")))
		}
	}
	seen := map[Date]string{}
	for i, h := range s.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		checkDate(v, field+".date", h.Date)
		checkWindows(v, field+".closed", h.Closed)
		if prev, dup := seen[h.Date]; dup {
			v.Add(field+".date", fmt.Sprintf("%s is already listed as %s", h.Date, prev))
		}
		seen[h.Date] = field
	}
	for i, x := range s.ExtraDays {
		field := fmt.Sprintf("extra_days[%d]", i)
		checkDate(v, field+".date", x.Date)
		if len(x.Windows) == 0 {
			v.Add(field+".windows", "must list at least one window")
		}
		checkWindows(v, field+".windows", x.Windows)
		if prev, dup := seen[x.Date]; dup && strings.HasPrefix(prev, "extra") {
			v.Add(field+".date", fmt.Sprintf("%s is already listed as %s", x.Date, prev))
		}
		seen[x.Date] = field
	}
	return loc
}

func (w Window) valid() bool {
	return w.Start >= 0 && w.Start < day && w.End >= 0 && w.End <= day && w.length() > 0 &&
		(!w.Overnight || w.End < day)
}

func checkDate(v *itil.ValidationError, field string, d Date) {
	if d.Year < minYear || d.Year >= maxYear || d.Month < 1 || d.Month > 12 || d.Day < 1 ||
		d.Day > time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		v.Add(field, fmt.Sprintf("%s is not a date from %d to %d", d, minYear, maxYear-1))
	}
}

// checkWindows validates windows of one date: each well formed, none
// overlapping another.
func checkWindows(v *itil.ValidationError, field string, ws []Window) {
	for i, w := range ws {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case w.Start < 0 || w.Start >= day:
			v.Add(f+".start", fmt.Sprintf("%s is not a time from 00:00 to 23:59:59", w.Start))
		case w.End < 0 || w.End > day:
			v.Add(f+".end", fmt.Sprintf("%s is not a time from 00:00 to 24:00", w.End))
		case w.Overnight && w.End == day:
			v.Add(f+".end", "an overnight window must end before 24:00 on the next day")
		case !w.Overnight && w.End < w.Start:
			v.Add(f+".end", fmt.Sprintf("%s is before the start %s; set overnight if the window ends the next day", w.End, w.Start))
		case w.length() <= 0:
			v.Add(f+".end", fmt.Sprintf("the window %s is empty", w))
		}
	}
	for i, a := range ws {
		for j, b := range ws[:i] {
			if !a.valid() || !b.valid() {
				continue
			}
			as, bs := int64(a.Start), int64(b.Start)
			if as < bs+b.length() && bs < as+a.length() {
				v.Add(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%s overlaps %s[%d] %s", a, field, j, b))
			}
		}
	}
}
