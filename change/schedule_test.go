package change

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
)

// sundayNights is a maintenance schedule: Sundays 01:30–03:30 in New York.
func sundayNights() ScheduleSpec {
	var week calendar.Week
	week[time.Sunday] = []calendar.Window{{Start: calendar.At(1, 30), End: calendar.At(3, 30)}}
	return ScheduleSpec{Name: "Sunday nights", Type: MaintenanceSchedule,
		Windows: calendar.Spec{Zone: "America/New_York", Week: week}, Scope: Scope{Classes: []string{"database"}}}
}

func total(c *compiledSchedule, from, to time.Time) time.Duration {
	var d time.Duration
	for iv := range c.inForce(from, to) {
		d += iv.Duration()
	}
	return d
}

func TestScheduleValidate(t *testing.T) {
	require.NoError(t, sundayNights().Validate())
	d := func(y int, m time.Month, day int) calendar.Date { return calendar.Date{Year: y, Month: m, Day: day} }
	bad := []struct {
		name   string
		edit   func(s *ScheduleSpec)
		fields []string
	}{
		{"no name", func(s *ScheduleSpec) { s.Name = " " }, []string{"name"}},
		{"unknown type", func(s *ScheduleSpec) { s.Type = "freeze" }, []string{"type"}},
		{"bad zone", func(s *ScheduleSpec) { s.Windows.Zone = "Mars/Olympus" }, []string{"windows.zone"}},
		{"range backwards", func(s *ScheduleSpec) { s.Ranges = []DateRange{{d(2026, 12, 31), d(2026, 12, 20)}} }, []string{"ranges[0].to"}},
		{"range of ten years", func(s *ScheduleSpec) { s.Ranges = []DateRange{{d(2026, 1, 1), d(2035, 12, 31)}} }, []string{"ranges[0].to"}},
		{"not a date", func(s *ScheduleSpec) { s.Ranges = []DateRange{{d(2026, 2, 30), d(2026, 3, 2)}} }, []string{"ranges[0].from"}},
		{"overlapping ranges", func(s *ScheduleSpec) {
			s.Ranges = []DateRange{{d(2026, 12, 20), d(2027, 1, 5)}, {d(2027, 1, 5), d(2027, 1, 6)}}
		}, []string{"ranges[1].from"}},
		{"never in force", func(s *ScheduleSpec) { s.Windows.Week = calendar.Week{} }, []string{"windows.week"}},
		{"one-off days with no week", func(s *ScheduleSpec) {
			s.Windows.Week = calendar.Week{}
			s.Windows.ExtraDays = []calendar.Day{{Date: d(2026, 12, 24), Windows: []calendar.Window{calendar.Hours(9, 0, 10, 0)}}}
		}, []string{"windows.week"}},
		{"ranges in no zone", func(s *ScheduleSpec) {
			s.Windows = calendar.Spec{Zone: "Atlantis"}
			s.Ranges = []DateRange{{d(2026, 12, 20), d(2027, 1, 5)}}
		}, []string{"windows.zone"}},
		{"nil CI in scope", func(s *ScheduleSpec) { s.Scope.CIs = []itil.ID{itil.NilID} }, []string{"scope.cis[0]"}},
		{"bad scope condition", func(s *ScheduleSpec) { s.Scope.When = Condition{Field: "colour", Op: OpEq, Value: "red"} }, []string{"scope.when.field"}},
		{"all at once", func(s *ScheduleSpec) { s.Name, s.Windows.Zone = "", "nowhere" }, []string{"name", "windows.zone"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			s := sundayNights()
			c.edit(&s)
			testkit.RequireFields(t, s.Validate(), c.fields...)
		})
	}
}

// TestScheduleDST: a window from 01:30 lasts as long as the night allows:
// on the spring-forward night 02:00–03:00 does not exist, on the
// fall-back night 01:00–02:00 happens twice.
func TestScheduleDST(t *testing.T) {
	c, err := compileSchedule(sundayNights())
	require.NoError(t, err)
	ny, _ := time.LoadLocation("America/New_York")
	on := func(y int, m time.Month, d int) time.Duration {
		start := time.Date(y, m, d, 0, 0, 0, 0, ny)
		return total(c, start, start.AddDate(0, 0, 1))
	}
	assert.Equal(t, 2*time.Hour, on(2026, 3, 1), "an ordinary Sunday")
	assert.Equal(t, time.Hour, on(2026, 3, 8), "spring forward: 01:30–03:30 is one hour")
	assert.Equal(t, 3*time.Hour, on(2026, 11, 1), "fall back: 01:30–03:30 is three hours")
}

func TestScheduleRanges(t *testing.T) {
	s := ScheduleSpec{Name: "Year-end freeze", Type: BlackoutSchedule, Windows: calendar.Spec{Zone: "Europe/Paris"},
		Ranges: []DateRange{{From: calendar.Date{Year: 2026, Month: 12, Day: 20}, To: calendar.Date{Year: 2027, Month: 1, Day: 3}}},
		Scope:  Scope{Services: []itil.ID{idOf("svc", 0)}}}
	c, err := compileSchedule(s)
	require.NoError(t, err)
	paris, _ := time.LoadLocation("Europe/Paris")
	var got []calendar.Interval
	for iv := range c.inForce(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)) {
		got = append(got, iv)
	}
	require.Len(t, got, 1, "whole dates in a row make one interval")
	assert.True(t, got[0].Start.Equal(time.Date(2026, 12, 20, 0, 0, 0, 0, paris)))
	assert.True(t, got[0].End.Equal(time.Date(2027, 1, 4, 0, 0, 0, 0, paris)))
}

func TestScheduleCovers(t *testing.T) {
	db, web, shop := idOf("ci", 0), idOf("ci", 1), idOf("svc", 0)
	s := ScheduleSpec{Name: "Scoped", Type: MaintenanceSchedule, Windows: calendar.AlwaysOpen(), Scope: Scope{
		CIs: []itil.ID{web}, Classes: []string{"database"}, Services: []itil.ID{shop},
		When: Condition{Field: "u_environment", Op: OpEq, Value: "test"},
	}}
	c, err := compileSchedule(s)
	require.NoError(t, err)
	assert.True(t, c.covers(&scopedCI{ID: web, Classes: []string{"server"}}), "listed")
	assert.True(t, c.covers(&scopedCI{ID: db, Classes: []string{"postgresql", "database"}}), "a subclass of a listed class")
	assert.True(t, c.covers(&scopedCI{ID: idOf("ci", 2), Services: []itil.ID{shop}}), "supports a listed service")
	assert.True(t, c.covers(&scopedCI{ID: idOf("ci", 3), Attributes: map[string]string{"environment": "test"}}), "by condition")
	assert.False(t, c.covers(&scopedCI{ID: idOf("ci", 4), Classes: []string{"server"}, Attributes: map[string]string{"environment": "prod"}}))
	none, err := compileSchedule(ScheduleSpec{Name: "Empty", Type: BlackoutSchedule, Windows: calendar.AlwaysOpen()})
	require.NoError(t, err)
	assert.False(t, none.covers(&scopedCI{ID: db}), "an empty scope covers no CI")
}

// TestScheduleRangesAndWeek: a range and the weekly windows in force
// together make one run where they meet or overlap.
func TestScheduleRangesAndWeek(t *testing.T) {
	s := sundayNights()
	s.Ranges = []DateRange{{From: calendar.Date{Year: 2026, Month: 3, Day: 2}, To: calendar.Date{Year: 2026, Month: 3, Day: 3}}}
	c, err := compileSchedule(s)
	require.NoError(t, err)
	ny, _ := time.LoadLocation("America/New_York")
	var got []calendar.Interval
	for iv := range c.inForce(time.Date(2026, 3, 1, 0, 0, 0, 0, ny), time.Date(2026, 3, 9, 0, 0, 0, 0, ny)) {
		got = append(got, iv)
	}
	require.Len(t, got, 3, "Sunday 1 March, the range, Sunday 8 March")
	assert.True(t, got[0].Start.Equal(time.Date(2026, 3, 1, 1, 30, 0, 0, ny)))
	assert.True(t, got[1].Start.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, ny)) && got[1].End.Equal(time.Date(2026, 3, 4, 0, 0, 0, 0, ny)))
	assert.Equal(t, time.Hour, got[2].Duration(), "spring forward")
}

func TestWindowConflicts(t *testing.T) {
	db, web := idOf("ci", 0), idOf("ci", 1)
	maint, err := compileSchedule(sundayNights()) // databases: Sundays 01:30–03:30 New York
	require.NoError(t, err)
	freeze, err := compileSchedule(ScheduleSpec{Name: "Freeze", Type: BlackoutSchedule, Windows: calendar.Spec{Zone: "America/New_York"},
		Ranges: []DateRange{{From: calendar.Date{Year: 2026, Month: 3, Day: 8}, To: calendar.Date{Year: 2026, Month: 3, Day: 8}}},
		Scope:  Scope{CIs: []itil.ID{web}}})
	require.NoError(t, err)
	w := &windowSet{schedules: []scheduleRef{{idOf("sched", 0), maint}, {idOf("sched", 1), freeze}},
		ci: func(id itil.ID) *scopedCI {
			if id == db {
				return &scopedCI{ID: db, Classes: []string{"postgresql", "database"}}
			}
			return nil
		}}
	ny, _ := time.LoadLocation("America/New_York")
	at := func(d, h, m int) int64 { return time.Date(2026, 3, d, h, m, 0, 0, ny).UnixNano() }
	check := func(s slot, cis []itil.ID, o conflictOptions) []Conflict {
		return w.windowConflicts(&planned{ID: idOf("change", 0), Slot: s, CIs: cis}, o)
	}
	assert.Empty(t, check(slot{at(1, 2, 0), at(1, 3, 0)}, []itil.ID{db}, conflictOptions{}), "inside Sunday's window")
	got := check(slot{at(1, 3, 0), at(1, 4, 0)}, []itil.ID{db}, conflictOptions{})
	if assert.Len(t, got, 1) {
		assert.Equal(t, ConflictOutsideMaintenanceWindow, got[0].Kind)
		assert.Equal(t, db, got[0].CIID)
		assert.True(t, got[0].Start.Equal(time.Unix(0, at(1, 3, 30))) && got[0].End.Equal(time.Unix(0, at(1, 4, 0))), "the part outside")
	}
	assert.Empty(t, check(slot{at(1, 3, 0), at(1, 4, 0)}, []itil.ID{web, db}, conflictOptions{}), "basic mode: the primary CI only")
	assert.Len(t, check(slot{at(1, 3, 0), at(1, 4, 0)}, []itil.ID{web, db}, conflictOptions{advanced: true}), 1)

	// The web server is frozen on 8 March; a related database outside its
	// window conflicts too.
	got = check(slot{at(8, 1, 0), at(8, 4, 0)}, []itil.ID{web}, conflictOptions{
		related: func(id itil.ID) []itil.ID { return []itil.ID{db} }})
	if assert.Len(t, got, 2) {
		assert.Equal(t, ConflictBlackout, got[0].Kind)
		assert.Equal(t, ConflictOutsideMaintenanceWindow, got[1].Kind)
		assert.Equal(t, web, got[1].CIID)
		assert.Equal(t, db, got[1].RelatedCIID)
	}
	// Ending as the freeze starts touches it: a conflict only if touching
	// ends count.
	edge := slot{at(7, 23, 0), at(8, 0, 0)}
	assert.Empty(t, check(edge, []itil.ID{web}, conflictOptions{}))
	assert.Len(t, check(edge, []itil.ID{web}, conflictOptions{touching: true}), 1)
}

// TestFloatingWindows: a floating maintenance window, 01:00–05:00, is
// read in each CI's zone: 01:00 in Paris is not 01:00 in Tokyo.
func TestFloatingWindows(t *testing.T) {
	paris, tokyo := idOf("ci", 0), idOf("ci", 1)
	var week calendar.Week
	for d := range 7 {
		week[d] = []calendar.Window{calendar.Hours(1, 0, 5, 0)}
	}
	spec := ScheduleSpec{Name: "Nights, local time", Type: MaintenanceSchedule, Floating: true,
		Windows: calendar.Spec{Zone: "UTC", Week: week}, Scope: Scope{CIs: []itil.ID{paris, tokyo}}}
	c, err := compileSchedule(spec)
	require.NoError(t, err)
	zones := map[itil.ID]string{paris: "Europe/Paris", tokyo: "Asia/Tokyo"}
	w := &windowSet{schedules: []scheduleRef{{idOf("sched", 0), c}},
		ci: func(id itil.ID) *scopedCI { return &scopedCI{ID: id, Zone: zones[id]} }}
	pz, _ := time.LoadLocation("Europe/Paris")
	night := time.Date(2026, 6, 3, 1, 0, 0, 0, pz) // 01:00 in Paris is 08:00 in Tokyo
	s := slot{night.UnixNano(), night.Add(2 * time.Hour).UnixNano()}
	assert.Empty(t, w.windowConflicts(&planned{ID: idOf("change", 0), Slot: s, CIs: []itil.ID{paris}}, conflictOptions{}))
	got := w.windowConflicts(&planned{ID: idOf("change", 0), Slot: s, CIs: []itil.ID{tokyo}}, conflictOptions{})
	if assert.Len(t, got, 1) {
		assert.Equal(t, ConflictOutsideMaintenanceWindow, got[0].Kind)
	}
	zones[tokyo] = "Nowhere/Atlantis" // not a zone: the schedule's own (UTC)
	utcNight := time.Date(2026, 6, 3, 1, 0, 0, 0, time.UTC)
	assert.Empty(t, w.windowConflicts(&planned{ID: idOf("change", 0), Slot: slot{utcNight.UnixNano(), utcNight.Add(time.Hour).UnixNano()},
		CIs: []itil.ID{tokyo}}, conflictOptions{}))

	// The slot search reads each CI in its zone too: for both CIs, the
	// nights of Paris and Tokyo never meet, so no slot of an hour.
	zones[tokyo] = "Asia/Tokyo"
	x := newScheduleIndex()
	assert.Empty(t, x.freeSlots(&planned{CIs: []itil.ID{paris, tokyo}}, w, time.Hour, night, night.Add(72*time.Hour), 3, conflictOptions{advanced: true}))
	got2 := x.freeSlots(&planned{CIs: []itil.ID{tokyo}}, w, time.Hour, night, night.Add(24*time.Hour), 1, conflictOptions{})
	tz, _ := time.LoadLocation("Asia/Tokyo")
	if assert.Len(t, got2, 1) {
		assert.True(t, got2[0].Start.Equal(time.Date(2026, 6, 4, 1, 0, 0, 0, tz)), "%v", got2[0])
	}
}
