package change

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
)

// Recurrence is when a board meets: every week on Weekdays at Start, wall
// clock time in Zone, for Duration. A start that a daylight-saving change
// skips or repeats is resolved as time.Date resolves it.
type Recurrence struct {
	// Zone is an IANA time zone name, such as "Europe/Paris" or "UTC".
	Zone string `json:"zone"`
	// Weekdays are the days of the week the board meets (at least one).
	Weekdays []time.Weekday `json:"weekdays"`
	// Start is the time of day meetings start, from 00:00 to 23:59:59.
	Start calendar.TimeOfDay `json:"start"`
	// Duration is how long a meeting lasts: more than 0, at most
	// MaxMeetingDuration.
	Duration time.Duration `json:"duration"`
}

func (r *Recurrence) validate(v *itil.ValidationError) {
	check.Zone(v, "recurrence.zone", r.Zone, true)
	if len(r.Weekdays) == 0 {
		v.Add("recurrence.weekdays", "must name at least one day of the week")
	}
	for i, d := range r.Weekdays {
		at := "recurrence.weekdays[" + strconv.Itoa(i) + "]"
		switch {
		case d < time.Sunday || d > time.Saturday:
			v.Add(at, "must be a day of the week, 0 (Sunday) to 6 (Saturday)")
		case slices.Index(r.Weekdays, d) < i:
			v.Add(at, d.String()+" is listed twice")
		}
	}
	if r.Start < 0 || r.Start >= calendar.At(24, 0) {
		v.Add("recurrence.start", "must be a time of day from 00:00 to 23:59:59")
	}
	if r.Duration <= 0 || r.Duration > MaxMeetingDuration {
		v.Add("recurrence.duration", "must be more than 0 and at most "+MaxMeetingDuration.String())
	}
}

// holidayCalendar compiles the board's holiday calendar (nil when it has
// none), with its defaults: the recurrence's zone, and open around the
// clock but for its holidays when it has no weekly windows. Problems are
// named under "holidays.".
func (b *Board) holidayCalendar() (*calendar.Calendar, error) {
	if isZeroSpec(&b.Holidays) {
		return nil, nil
	}
	spec := b.Holidays.Clone()
	if spec.Zone == "" {
		spec.Zone = b.Recurrence.Zone
	}
	if emptyWeek(spec.Week) {
		spec.Week = calendar.EveryDay(calendar.Hours(0, 0, 24, 0))
	}
	c, err := calendar.New(spec)
	if err != nil {
		var in *itil.ValidationError
		if !errors.As(err, &in) {
			return nil, err
		}
		var out itil.ValidationError
		for _, f := range in.Fields {
			out.Add("holidays."+f.Field, f.Reason)
		}
		return nil, &out
	}
	return c, nil
}

func emptyWeek(w calendar.Week) bool {
	for _, ws := range w {
		if len(ws) > 0 {
			return false
		}
	}
	return true
}

func isZeroSpec(s *calendar.Spec) bool {
	return s.Name == "" && s.Zone == "" && s.Country == "" && emptyWeek(s.Week) &&
		len(s.Holidays) == 0 && len(s.ExtraDays) == 0
}

// meetingSpace names meeting IDs: a meeting's ID is a name-based UUID of
// its board and start, so that every instance scheduling the board's
// meetings names each the same and creates it once.
var meetingSpace = itil.ID{0x6d, 0x0e, 0x77, 0x1c, 0x2a, 0x5b, 0x4e, 0x43, 0x9a, 0x51, 0x0c, 0xab, 0x7e, 0x1d, 0x4f, 0x30}

// MeetingID returns the ID of the board's meeting that starts at start.
func MeetingID(boardID itil.ID, start time.Time) itil.ID {
	b := make([]byte, 0, 16+12)
	b = append(b, boardID[:]...)
	sec, nsec := start.Unix(), start.Nanosecond()
	for i := 7; i >= 0; i-- {
		b = append(b, byte(sec>>(8*i)))
	}
	for i := 3; i >= 0; i-- {
		b = append(b, byte(nsec>>(8*i)))
	}
	return uuid.NewSHA1(meetingSpace, b)
}

// Occurrences returns the meetings the board's recurrence gives with a
// start in [from, to), as intervals in the recurrence's zone, less those
// its holiday calendar closes. It reads no store: ScheduleMeetings
// creates these. The range must be ordered, of storable times, and at
// most MaxScheduleSpan long (a *itil.ValidationError names "from" or
// "to").
func (b *Board) Occurrences(from, to time.Time) ([]calendar.Interval, error) {
	var v itil.ValidationError
	check.Time(&v, "from", from)
	check.Time(&v, "to", to)
	switch {
	case v.Err() != nil:
	case !to.After(from):
		v.Add("to", "must be after from")
	case to.Sub(from) > MaxScheduleSpan:
		v.Add("to", "must be at most "+MaxScheduleSpan.String()+" after from")
	}
	loc := check.Zone(&v, "recurrence.zone", b.Recurrence.Zone, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	hol, err := b.holidayCalendar()
	if err != nil {
		return nil, err
	}
	var out []calendar.Interval
	// The dates are walked as noons in UTC (a date's weekday is the same
	// in every zone); each meeting's wall clock start is resolved on its
	// date in loc.
	first, last := calendar.DateOf(from.In(loc)), calendar.DateOf(to.In(loc))
	end := time.Date(last.Year, last.Month, last.Day, 12, 0, 0, 0, time.UTC)
	for d := time.Date(first.Year, first.Month, first.Day, 12, 0, 0, 0, time.UTC); !d.After(end); d = d.AddDate(0, 0, 1) {
		if !slices.Contains(b.Recurrence.Weekdays, d.Weekday()) {
			continue
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, int(b.Recurrence.Start), 0, loc)
		if start.Before(from) || !start.Before(to) {
			continue
		}
		iv := calendar.Interval{Start: start, End: start.Add(b.Recurrence.Duration)}
		if hol != nil && hol.Between(iv.Start, iv.End) != iv.Duration() {
			continue // a holiday: skipped, not moved
		}
		out = append(out, iv)
	}
	return out, nil
}
