package check_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
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
