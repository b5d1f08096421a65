package slmtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
)

// timesOutOfRange: a clock reading or a time a caller passes outside the
// years 1 to 9999 is an input error naming it, and nothing is written.
func timesOutOfRange(t *testing.T, newStore NewStore) {
	good := at(2026, 11, 16, 9, 0)
	f := newFixture(t, newStore, good)
	d := f.define(resolution(officeHours()))
	id := itil.NewID()
	f.observe(id, "new", itil.P1, nil)
	store := f.e.Store()
	for _, c := range testkit.BadTimes {
		t.Run("clock "+c.Name, func(t *testing.T) {
			f.set(c.At)
			defer f.set(good)
			before := testkit.JournalLen(t, store)
			_, err := f.e.Define(f.ctx, admin, resolution(nil))
			testkit.RequireInvalid(t, err, "clock")
			next := *d
			next.Name = "Resolution, revised"
			_, err = f.e.Define(f.ctx, admin, next)
			testkit.RequireInvalid(t, err, "clock")
			_, err = f.e.Repair(f.ctx, admin, id)
			testkit.RequireInvalid(t, err, "clock")
			assert.Equal(t, before, testkit.JournalLen(t, store), "nothing written")
		})
		t.Run("passed "+c.Name, func(t *testing.T) {
			before := testkit.JournalLen(t, store)
			_, err := f.e.Status(f.ctx, id, c.At)
			testkit.RequireInvalid(t, err, "now")
			_, err = f.e.Due(f.ctx, c.At)
			testkit.RequireInvalid(t, err, "now")
			_, err = f.e.Fire(f.ctx, c.At)
			testkit.RequireInvalid(t, err, "now")
			_, err = f.e.Compliance(f.ctx, d.ID, c.At, good, good)
			testkit.RequireInvalid(t, err, "from")
			_, err = f.e.Compliance(f.ctx, d.ID, good, c.At, good)
			testkit.RequireInvalid(t, err, "to")
			_, err = f.e.Compliance(f.ctx, d.ID, good, good.Add(time.Hour), c.At)
			testkit.RequireInvalid(t, err, "now")
			err = store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
				return f.e.Observe(ctx, tx, agent, itil.Snapshot{Kind: "ticket", ID: id, State: "new", Priority: itil.P1, Time: c.At})
			})
			testkit.RequireInvalid(t, err, "snapshot.time")
			assert.Equal(t, before, testkit.JournalLen(t, store), "nothing written")
		})
	}
}
