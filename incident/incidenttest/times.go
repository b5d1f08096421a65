package incidenttest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil/incident"
)

// badClocks are clock readings no backend can store (RFC 3339 and
// encoding/json write the years 0 to 9999; storage keeps 1 to 9999).
var badClocks = []struct {
	name string
	at   time.Time
}{
	{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"year 0", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"year -1", time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"year 10000 in UTC", time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600))},
	{"year 0 in UTC", time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600))},
}

// testTimesOutOfRange: a clock reading or a time a caller passes outside
// the years 1 to 9999 is an input error naming it, and nothing is
// written.
func testTimesOutOfRange(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("before the clock broke")
	resolved := f.open("resolved long ago")
	_, err := f.svc.Resolve(f.ctx, agent, resolved.ID, "solution_provided", "done")
	assert.NoError(t, err)
	good := f.clock.Now()
	for _, c := range badClocks {
		t.Run(c.name, func(t *testing.T) {
			f.clock.Set(c.at)
			defer f.clock.Set(good)
			before := f.journalLen()
			_, err := f.svc.Open(f.ctx, agent, basic("now"))
			requireInvalid(t, err, "clock")
			_, err = f.svc.Assign(f.ctx, agent, inc.ID, "desk", "")
			requireInvalid(t, err, "clock")
			_, err = f.svc.Comment(f.ctx, agent, inc.ID, "hello")
			requireInvalid(t, err, "clock")
			_, err = f.svc.AutoClose(f.ctx)
			requireInvalid(t, err, "clock")
			assert.Equal(t, before, f.journalLen(), "nothing written")
			assert.Equal(t, inc, f.get(inc.ID))
		})
	}
	for _, c := range []struct {
		name  string
		f     incident.Filter
		field string
	}{
		{"opened_from year 10000", incident.Filter{OpenedFrom: badClocks[0].at}, "opened_from"},
		{"opened_from year 0", incident.Filter{OpenedFrom: badClocks[1].at}, "opened_from"},
		{"opened_to year 10000 in UTC", incident.Filter{OpenedTo: badClocks[3].at}, "opened_to"},
		{"opened_to year -1", incident.Filter{OpenedFrom: badClocks[2].at, OpenedTo: badClocks[2].at}, "opened_to"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, err := range f.svc.List(f.ctx, c.f) {
				requireInvalid(t, err, c.field)
				break
			}
			_, _, err := f.svc.ListPage(f.ctx, c.f, 10, "")
			requireInvalid(t, err, c.field)
		})
	}
}
