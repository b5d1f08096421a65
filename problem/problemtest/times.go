package problemtest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
)

// testTimesOutOfRange: a clock reading or a time a caller passes outside
// the years 1 to 9999 is an input error naming it, and nothing is
// written.
func testTimesOutOfRange(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	p := f.toFix("before the clock broke")
	good := f.clock.Now()
	for _, c := range testkit.BadTimes {
		t.Run(c.Name, func(t *testing.T) {
			f.clock.Set(c.At)
			defer f.clock.Set(good)
			before := f.journalLen()
			_, err := f.svc.Open(f.ctx, analyst, basic("now"))
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.svc.Assign(f.ctx, analyst, p.ID, "other", "")
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.svc.WorkNote(f.ctx, analyst, p.ID, "hello")
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.svc.Reanalyze(f.ctx, analyst, p.ID, "again")
			testkit.RequireInvalid(t, err, "clock")
			assert.Equal(t, before, f.journalLen(), "nothing written")
			assert.Equal(t, p, f.get(p.ID))
		})
	}
	for _, c := range []struct {
		name  string
		f     problem.Filter
		field string
	}{
		{"opened_from year 10000", problem.Filter{OpenedFrom: testkit.BadTimes[0].At}, "opened_from"},
		{"opened_to year 0", problem.Filter{OpenedTo: testkit.BadTimes[1].At}, "opened_to"},
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
