package calendar_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
)

func TestParseTimeOfDayStrict(t *testing.T) {
	for _, s := range []string{"25:00", "24:01", "24:00:01", "9:00", "09:0", "0900", "+9:00", "-0:00", "+1:+5", " 9:00",
		"09:00 ", "09:60", "09:00:00", "09:00:60", "09:00:+1", "Monday", "", "09-00", "１９:00"} {
		_, err := calendar.ParseTimeOfDay(s)
		assert.Error(t, err, "%q", s)
	}
	for s, want := range map[string]calendar.TimeOfDay{"00:00": 0, "09:30": calendar.At(9, 30), "23:59": calendar.At(23, 59),
		"24:00": calendar.At(24, 0), "12:00:30": calendar.At(12, 0) + 30} {
		got, err := calendar.ParseTimeOfDay(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
		assert.Equal(t, s, got.String())
	}
}

// Any string ParseTimeOfDay accepts is written back exactly, so no
// second spelling of a time ("+9:00", "09:00:00") is accepted.
func TestParseTimeOfDayRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(
			rapid.StringOfN(rapid.SampledFrom([]rune("0123456789:+- 2４")), 0, 9, -1),
			rapid.StringMatching(`[+-]?[0-9]{1,2}:[+-]?[0-9]{1,2}(:[0-9]{1,2})?`),
		).Draw(t, "s")
		tod, err := calendar.ParseTimeOfDay(s)
		if err != nil {
			return
		}
		if tod.String() != s {
			t.Fatalf("%q parsed as %d, written %q", s, tod, tod.String())
		}
	})
}

func TestCalendarJSONErrorsAreTyped(t *testing.T) {
	week := `"week":{"monday":[{"start":"09:00","end":"17:00"}]}`
	for _, c := range []struct {
		json  string
		field string
	}{
		{`{"zone":"UTC","week":{"monday":[{"start":"25:00","end":"17:00"}]}}`, "week.monday[0].start"},
		{`{"zone":"UTC","week":{"monday":[{"start":"09:00","end":"24:01"}]}}`, "week.monday[0].end"},
		{`{"zone":"UTC","week":{"monday":[{"start":"9:00","end":"17:00"}]}}`, "week.monday[0].start"},
		{`{"zone":"UTC","week":{"monday":[{"start":"09:00","end":"17:00"},{"start":"+9:00","end":"17:00"}]}}`, "week.monday[1].start"},
		{`{"zone":"UTC","week":{"Monday":[{"start":"09:00","end":"17:00"}]}}`, "week.Monday"},
		{`{"zone":"UTC",` + week + `,"holidays":[{"date":"2026-01-01"},{"date":"2026-12-25"},{"date":"2026-13-01"}]}`, "holidays[2].date"},
		{`{"zone":"UTC",` + week + `,"holidays":[{"date":"2026-01-01","closed":[{"start":9,"end":"17:00"}]}]}`, "holidays[0].closed[0].start"},
		{`{"zone":"UTC",` + week + `,"extra_days":[{"date":"2026-01-03","windows":[{"start":"09:00","end":"17:00","overnight":"yes"}]}]}`, "extra_days[0].windows[0].overnight"},
		{`{"zone":7,` + week + `}`, "zone"},
		{`{"zone":"UTC","week":[]}`, "week"},
		{`{"zone":"UTC",` + week + `,"holidays":{}}`, "holidays"},
		{`{"zone":"Mars/Olympus",` + week + `}`, "zone"},
		{`[]`, "calendar"},
	} {
		var cal calendar.Calendar
		testkit.RequireFields(t, json.Unmarshal([]byte(c.json), &cal), c.field)
		_, err := calendar.ParseSpec([]byte(c.json))
		testkit.RequireFields(t, err, c.field)
	}
	_, err := calendar.ParseSpec([]byte(`{"zone":"UTC",` + week + `,}`))
	testkit.RequireFields(t, err, "calendar")

	// Valid edge cases.
	var cal calendar.Calendar
	require.NoError(t, json.Unmarshal([]byte(`{"zone":"UTC","week":{"sunday":[{"start":"00:00","end":"24:00"}],
		"monday":[{"start":"22:00","end":"06:00","overnight":true}]},"holidays":[{"date":"2026-02-28"}]}`), &cal))
	assert.Equal(t, calendar.At(24, 0), cal.Spec().Week[0][0].End)
	testkit.RequireFields(t, json.Unmarshal([]byte(`{"zone":"UTC","week":{"monday":[{"start":"24:00","end":"24:00"}]}}`), &cal),
		"week.monday[0].start", "week")
}
