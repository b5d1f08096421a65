package incidenttest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
)

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
	for _, c := range testkit.BadTimes {
		t.Run(c.Name, func(t *testing.T) {
			f.clock.Set(c.At)
			defer f.clock.Set(good)
			before := f.journalLen()
			_, err := f.svc.Open(f.ctx, agent, basic("now"))
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.svc.Assign(f.ctx, agent, inc.ID, "desk", "")
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.svc.Comment(f.ctx, agent, inc.ID, "hello")
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.svc.AutoClose(f.ctx)
			testkit.RequireInvalid(t, err, "clock")
			assert.Equal(t, before, f.journalLen(), "nothing written")
			assert.Equal(t, inc, f.get(inc.ID))
		})
	}
	for _, c := range []struct {
		name  string
		f     incident.Filter
		field string
	}{
		{"opened_from year 10000", incident.Filter{OpenedFrom: testkit.BadTimes[0].At}, "opened_from"},
		{"opened_from year 0", incident.Filter{OpenedFrom: testkit.BadTimes[1].At}, "opened_from"},
		{"opened_to year 10000 in UTC", incident.Filter{OpenedTo: testkit.BadTimes[3].At}, "opened_to"},
		{"opened_to year -1", incident.Filter{OpenedFrom: testkit.BadTimes[2].At, OpenedTo: testkit.BadTimes[2].At}, "opened_to"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, err := range f.svc.List(f.ctx, c.f) {
				testkit.RequireInvalid(t, err, c.field)
				break
			}
			_, _, err := f.svc.ListPage(f.ctx, c.f, 10, "")
			testkit.RequireInvalid(t, err, c.field)
		})
	}
}
