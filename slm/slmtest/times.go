package slmtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// badTimes are instants no backend can store: RFC 3339 and encoding/json
// write the years 0 to 9999, storage keeps 1 to 9999.
var badTimes = []struct {
	name string
	at   time.Time
}{
	{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"year 0", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"year -1", time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"year 10000 in UTC", time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600))},
	{"year 0 in UTC", time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600))},
}

func journalLen(t *testing.T, store storage.Store) int {
	t.Helper()
	n := 0
	require.NoError(t, store.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		for _, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			if err != nil {
				return err
			}
			n++
		}
		return nil
	}))
	return n
}

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	require.True(t, v.Has(field), "expected field %q in %v", field, v)
}

// timesOutOfRange: a clock reading or a time a caller passes outside the
// years 1 to 9999 is an input error naming it, and nothing is written.
func timesOutOfRange(t *testing.T, newStore NewStore) {
	good := at(2026, 11, 16, 9, 0)
	f := newFixture(t, newStore, good)
	d := f.define(resolution(officeHours()))
	id := itil.NewID()
	f.observe(id, "new", itil.P1, nil)
	store := f.e.Store()
	for _, c := range badTimes {
		t.Run("clock "+c.name, func(t *testing.T) {
			f.set(c.at)
			defer f.set(good)
			before := journalLen(t, store)
			_, err := f.e.Define(f.ctx, admin, resolution(nil))
			requireInvalid(t, err, "clock")
			next := *d
			next.Name = "Resolution, revised"
			_, err = f.e.Define(f.ctx, admin, next)
			requireInvalid(t, err, "clock")
			_, err = f.e.Repair(f.ctx, admin, id)
			requireInvalid(t, err, "clock")
			assert.Equal(t, before, journalLen(t, store), "nothing written")
		})
		t.Run("passed "+c.name, func(t *testing.T) {
			before := journalLen(t, store)
			_, err := f.e.Status(f.ctx, id, c.at)
			requireInvalid(t, err, "now")
			_, err = f.e.Due(f.ctx, c.at)
			requireInvalid(t, err, "now")
			_, err = f.e.Fire(f.ctx, c.at)
			requireInvalid(t, err, "now")
			_, err = f.e.Compliance(f.ctx, d.ID, c.at, good, good)
			requireInvalid(t, err, "from")
			_, err = f.e.Compliance(f.ctx, d.ID, good, c.at, good)
			requireInvalid(t, err, "to")
			_, err = f.e.Compliance(f.ctx, d.ID, good, good.Add(time.Hour), c.at)
			requireInvalid(t, err, "now")
			err = store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
				return f.e.Observe(ctx, tx, agent, itil.Snapshot{Kind: "ticket", ID: id, State: "new", Priority: itil.P1, Time: c.at})
			})
			requireInvalid(t, err, "snapshot.time")
			assert.Equal(t, before, journalLen(t, store), "nothing written")
		})
	}
}
