package check_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

func TestTime(t *testing.T) {
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Time{}, true},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), true},
		{time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("", 23*3600+59*60)), true},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600)), false}, // 10000 in UTC
		{time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)), false},         // 0 in UTC
		{time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("", 24*3600)), false},    // RFC 3339 cannot write it
	} {
		var v itil.ValidationError
		check.Time(&v, "at", c.at)
		assert.Equal(t, c.ok, check.TimeOK(c.at), "%v", c.at)
		assert.Equal(t, !c.ok, v.Has("at"), "%v", c.at)
		assert.Equal(t, c.ok, check.TimeReason(c.at) == "", "%v", c.at)
		if !c.ok {
			_, err := c.at.MarshalJSON()
			if err == nil {
				// JSON writes it; storage does not keep it.
				assert.True(t, c.at.Year() < 1 || c.at.UTC().Year() < 1 || c.at.UTC().Year() > 9999, "%v", c.at)
			}
		} else {
			_, err := c.at.MarshalJSON()
			assert.NoError(t, err, "an accepted time can be written")
		}
	}
}

// TestLimitsFitStorage: a text at its limit in characters, each of
// utf8.UTFMax bytes, fits storage's byte limits where processes index it
// (the process suites store such texts on every backend).
func TestLimitsFitStorage(t *testing.T) {
	// The longest field prefix a process puts before a Short text: an
	// incident's assignee (the others are group=, name= and kind=).
	const prefix = len("assignee=")
	require.LessOrEqual(t, check.Name*utf8.UTFMax, storage.MaxSortKey, "a CI name is a sort key")
	require.LessOrEqual(t, check.Short*utf8.UTFMax+prefix, storage.MaxTerm, "a short text is a term's value")
	require.LessOrEqual(t, check.Short*utf8.UTFMax, storage.MaxSortKey, "a short text is a sort key")
}

func TestBytes(t *testing.T) {
	var v itil.ValidationError
	check.Bytes(&v, "kind", strings.Repeat("k", 128), 128)
	require.NoError(t, v.Err())
	check.Bytes(&v, "kind", strings.Repeat("é", 65), 128)
	require.Equal(t, []itil.FieldError{{Field: "kind", Reason: "must be at most 128 bytes"}}, v.Fields)

	v = itil.ValidationError{}
	s := strings.Repeat("é", 200)
	check.Text(&v, "kind", s, true, 160)
	check.Bytes(&v, "kind", s, 128)
	require.Len(t, v.Fields, 1, "one reason per field")
}

func TestCut(t *testing.T) {
	require.Equal(t, "abc", check.Cut("abc", 3))
	require.Equal(t, "ab…", check.Cut("abcd", 3))
	require.Equal(t, "éé…", check.Cut("éééé", 3), "characters, not bytes")
	require.Equal(t, "ééé", check.Cut("ééé", 3))
	long := check.Cut(strings.Repeat("ü", check.Long+5), check.Long)
	require.Equal(t, check.Long, utf8.RuneCountInString(long))
}

// TestZone: a zone is an IANA name; "Local" differs from machine to
// machine, and an empty name is UTC unless one is required.
func TestZone(t *testing.T) {
	for _, c := range []struct {
		name     string
		required bool
		want     string // the zone, "" for a problem
	}{
		{"Europe/Paris", true, "Europe/Paris"}, {"UTC", true, "UTC"}, {"", false, "UTC"},
		{"", true, ""}, {"Local", false, ""}, {"Mars/Olympus", false, ""},
	} {
		var v itil.ValidationError
		loc := check.Zone(&v, "zone", c.name, c.required)
		if c.want == "" {
			if loc != nil || v.Err() == nil {
				t.Errorf("%q (required %v): %v, %v", c.name, c.required, loc, v.Err())
			}
		} else if loc == nil || loc.String() != c.want || v.Err() != nil {
			t.Errorf("%q (required %v): %v, %v", c.name, c.required, loc, v.Err())
		}
	}
}
