package calendar

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
)

func ny(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	return loc
}

func officeHours(t testing.TB, country string, holidays ...Holiday) *Calendar {
	c, err := New(Spec{Zone: "America/New_York", Country: country, Holidays: holidays,
		Week: MondayToFriday(Hours(9, 0, 17, 0))})
	require.NoError(t, err)
	return c
}

func TestFridayAfternoonP1(t *testing.T) {
	loc := ny(t)
	c := officeHours(t, "")
	opened := time.Date(2026, 11, 13, 16, 30, 0, 0, loc) // a Friday
	due := c.Add(opened, 4*time.Hour)
	assert.Equal(t, time.Date(2026, 11, 16, 12, 30, 0, 0, loc), due)
	assert.Equal(t, 4*time.Hour, c.Between(opened, due))
	assert.Equal(t, -4*time.Hour, c.Between(due, opened))
	// Running out exactly at a window's end gives that end.
	assert.Equal(t, time.Date(2026, 11, 13, 17, 0, 0, 0, loc), c.Add(opened, 30*time.Minute))
}

func TestDSTNights(t *testing.T) {
	loc := ny(t)
	c, err := New(Spec{Zone: "America/New_York", Week: EveryDay(Hours(0, 0, 3, 0))})
	require.NoError(t, err)
	spring := time.Date(2026, 3, 8, 0, 0, 0, 0, loc)
	fall := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	assert.Equal(t, 2*time.Hour, c.Between(spring, spring.Add(12*time.Hour)))
	assert.Equal(t, 4*time.Hour, c.Between(fall, fall.Add(12*time.Hour)))
	assert.Equal(t, 3*time.Hour, c.Between(fall.AddDate(0, 0, 1), fall.AddDate(0, 0, 1).Add(12*time.Hour)))
	// Four hours of open time from the fall-back midnight end at 03:00 EST.
	assert.Equal(t, time.Date(2026, 11, 1, 3, 0, 0, 0, loc), c.Add(fall, 4*time.Hour))
}

func TestOvernightAcrossHoliday(t *testing.T) {
	loc := ny(t)
	c, err := New(Spec{Zone: "America/New_York",
		Week:     EveryDay(Window{Start: At(22, 0), End: At(6, 0), Overnight: true}),
		Holidays: []Holiday{{Date: Date{2026, 12, 25}, Name: "Christmas"}}})
	require.NoError(t, err)
	// A holiday closes its own date: the 24th's shift stops at midnight,
	// the 25th's shift never starts, and the 26th opens at 22:00. The
	// 00:00–06:00 tail on the 26th belongs to the 25th's shift, but it is
	// on the 26th, so it is open.
	from := time.Date(2026, 12, 24, 21, 0, 0, 0, loc)
	to := time.Date(2026, 12, 27, 7, 0, 0, 0, loc)
	var got []Interval
	for iv := range c.Open(from, to) {
		got = append(got, iv)
	}
	want := []Interval{
		{time.Date(2026, 12, 24, 22, 0, 0, 0, loc), time.Date(2026, 12, 25, 0, 0, 0, 0, loc)},
		{time.Date(2026, 12, 26, 0, 0, 0, 0, loc), time.Date(2026, 12, 26, 6, 0, 0, 0, loc)},
		{time.Date(2026, 12, 26, 22, 0, 0, 0, loc), time.Date(2026, 12, 27, 6, 0, 0, 0, loc)},
	}
	require.Len(t, got, len(want))
	for i := range want {
		assert.True(t, want[i].Start.Equal(got[i].Start) && want[i].End.Equal(got[i].End), "%d: %v", i, got[i])
	}
	assert.Equal(t, 2*time.Hour+6*time.Hour+8*time.Hour, c.Between(from, to))
	// Two hours from the 24th 23:00: one before the holiday, one after it.
	assert.Equal(t, time.Date(2026, 12, 26, 1, 0, 0, 0, loc), c.Add(time.Date(2026, 12, 24, 23, 0, 0, 0, loc), 2*time.Hour))
}

func TestUSHolidays(t *testing.T) {
	loc := ny(t)
	c := officeHours(t, "US")
	// Thanksgiving 2026 is Thursday 26 November.
	wed := time.Date(2026, 11, 25, 16, 0, 0, 0, loc)
	assert.Equal(t, time.Date(2026, 11, 27, 10, 0, 0, 0, loc), c.Add(wed, 2*time.Hour))
	assert.False(t, c.IsOpen(time.Date(2026, 11, 26, 12, 0, 0, 0, loc)))
	assert.True(t, c.IsOpen(time.Date(2026, 11, 27, 9, 0, 0, 0, loc)))
	assert.Equal(t, time.Date(2026, 11, 27, 9, 0, 0, 0, loc), c.NextOpen(time.Date(2026, 11, 25, 17, 0, 0, 0, loc)))
	// Independence Day 2026 is a Saturday, observed Friday 3 July.
	assert.False(t, c.IsOpen(time.Date(2026, 7, 3, 12, 0, 0, 0, loc)))
}

func TestPartialClosureAndExtraDay(t *testing.T) {
	loc := ny(t)
	c, err := New(Spec{Zone: "America/New_York", Week: MondayToFriday(Hours(9, 0, 17, 0)),
		Holidays:  []Holiday{{Date: Date{2026, 12, 24}, Closed: []Window{Hours(12, 0, 24, 0)}}},
		ExtraDays: []Day{{Date: Date{2026, 12, 26}, Windows: []Window{Hours(10, 0, 14, 0)}}}})
	require.NoError(t, err)
	d := func(m time.Month, dd, h int) time.Time { return time.Date(2026, m, dd, h, 0, 0, 0, loc) }
	assert.Equal(t, 3*time.Hour, c.Between(d(12, 24, 0), d(12, 25, 0)))
	assert.Equal(t, 8*time.Hour, c.Between(d(12, 25, 0), d(12, 26, 0)))
	assert.Equal(t, 4*time.Hour, c.Between(d(12, 26, 0), d(12, 27, 0)))
}

func TestAlwaysOpen(t *testing.T) {
	c := MustNew(AlwaysOpen())
	t0 := time.Date(2030, 5, 1, 1, 2, 3, 4, time.UTC)
	assert.Equal(t, t0.Add(1000*time.Hour), c.Add(t0, 1000*time.Hour).UTC())
	assert.Equal(t, 1000*time.Hour, c.Between(t0, t0.Add(1000*time.Hour)))
	assert.True(t, c.IsOpen(t0))
}

func TestFarFromNow(t *testing.T) {
	loc := ny(t)
	c := officeHours(t, "US")
	a := time.Date(2150, 3, 2, 10, 0, 0, 0, loc)
	assert.Equal(t, 40*time.Hour, c.Between(a, c.Add(a, 40*time.Hour)))
	b := time.Date(1950, 3, 2, 10, 0, 0, 0, loc)
	assert.Equal(t, 40*time.Hour, c.Between(b, c.Add(b, 40*time.Hour)))
	assert.Equal(t, c.Between(b, a), c.Between(b, time.Date(2000, 1, 1, 0, 0, 0, 0, loc))+c.Between(time.Date(2000, 1, 1, 0, 0, 0, 0, loc), a))
}

func TestValidation(t *testing.T) {
	cases := map[string]struct {
		spec  Spec
		field string
	}{
		"zone":         {Spec{Zone: "Mars/Olympus", Week: MondayToFriday(Hours(9, 0, 17, 0))}, "zone"},
		"no zone":      {Spec{Week: MondayToFriday(Hours(9, 0, 17, 0))}, "zone"},
		"never open":   {Spec{Zone: "UTC"}, "week"},
		"end first":    {Spec{Zone: "UTC", Week: MondayToFriday(Hours(17, 0, 9, 0))}, "week.monday[0].end"},
		"overlap":      {Spec{Zone: "UTC", Week: MondayToFriday(Hours(9, 0, 13, 0), Hours(12, 0, 17, 0))}, "week.monday[1]"},
		"overnight":    {Spec{Zone: "UTC", Week: Week{time.Monday: {{Start: At(22, 0), End: At(6, 0), Overnight: true}}, time.Tuesday: {Hours(5, 0, 9, 0)}}}, "week.tuesday"},
		"country":      {Spec{Zone: "UTC", Country: "XX", Week: MondayToFriday(Hours(9, 0, 17, 0))}, "country"},
		"holiday date": {Spec{Zone: "UTC", Week: MondayToFriday(Hours(9, 0, 17, 0)), Holidays: []Holiday{{Date: Date{2026, 2, 30}}}}, "holidays[0].date"},
		"extra empty":  {Spec{Zone: "UTC", Week: MondayToFriday(Hours(9, 0, 17, 0)), ExtraDays: []Day{{Date: Date{2026, 2, 3}}}}, "extra_days[0].windows"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.spec)
			var v *itil.ValidationError
			require.True(t, errors.As(err, &v), "%v", err)
			assert.True(t, v.Has(tc.field), "%v", err)
		})
	}
}

func TestJSON(t *testing.T) {
	c := officeHours(t, "US", Holiday{Date: Date{2026, 12, 24}, Name: "Christmas Eve", Closed: []Window{Hours(12, 0, 24, 0)}})
	b, err := json.Marshal(c)
	require.NoError(t, err)
	var back Calendar
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, c.Spec(), back.Spec())
	b2, _ := json.Marshal(&back)
	assert.JSONEq(t, string(b), string(b2))
	var bad Calendar
	err = json.Unmarshal([]byte(`{"zone":"UTC","week":{"monday":[{"start":"17:00","end":"09:00"}]}}`), &bad)
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("week.monday[0].end"))
}

func TestZeroAllocs(t *testing.T) {
	c := officeHours(t, "US")
	t0 := time.Date(2026, 11, 13, 16, 30, 0, 0, time.UTC)
	c.Add(t0, 240*time.Hour)
	c.Between(t0, t0.AddDate(1, 0, 0))
	allocs := testing.AllocsPerRun(100, func() {
		u := c.Add(t0, 24*time.Hour)
		_ = c.Between(t0, u)
		_ = c.IsOpen(u)
	})
	assert.Zero(t, allocs)
}
