package cmdbtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
)

// timesOutOfRange: a clock reading or a time a caller passes outside the
// years 1 to 9999 is an input error naming it, and nothing is written.
func timesOutOfRange(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	good := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := good
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	store := newStore(t)
	svc, err := cmdb.New(store, cmdb.WithClock(itil.ClockFunc(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })))
	require.NoError(t, err)
	ci, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01",
		Attributes: map[string]string{"serial_number": "SN1"}})
	require.NoError(t, err)
	rec := cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "db02", Attributes: map[string]string{"serial_number": "SN2"}}

	for _, c := range testkit.BadTimes {
		t.Run("clock "+c.Name, func(t *testing.T) {
			set(c.At)
			defer set(good)
			before := testkit.JournalLen(t, store)
			_, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db03"})
			testkit.RequireFields(t, err, "clock")
			name := "db01.example.com"
			_, err = svc.UpdateCI(ctx, admin, ci.ID, cmdb.Patch{Name: &name})
			testkit.RequireFields(t, err, "clock")
			res, err := svc.Import(ctx, admin, cmdb.SourceDiscovery, []cmdb.ImportRecord{rec})
			testkit.RequireFields(t, err, "clock")
			require.Empty(t, res)
			_, err = svc.TakeBaseline(ctx, admin, "all", cmdb.Scope{Classes: []string{cmdb.ClassServer}})
			testkit.RequireFields(t, err, "clock")
			_, err = svc.Health(ctx, 0)
			testkit.RequireFields(t, err, "clock")
			require.Equal(t, before, testkit.JournalLen(t, store), "nothing written")
			got, err := svc.Get(ctx, ci.ID)
			require.NoError(t, err)
			require.Equal(t, ci, got)
		})
		t.Run("passed "+c.Name, func(t *testing.T) {
			before := testkit.JournalLen(t, store)
			_, err := svc.AsOf(ctx, ci.ID, c.At)
			testkit.RequireFields(t, err, "as_of")
			_, err = svc.Impact(ctx, ci.ID, cmdb.ImpactOptions{Direction: cmdb.Upstream, AsOf: c.At})
			testkit.RequireFields(t, err, "as_of")
			bad := rec
			bad.DiscoveredAt = c.At
			next := cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "db04", Attributes: map[string]string{"serial_number": "SN4"}}
			res, err := svc.Import(ctx, admin, cmdb.SourceDiscovery, []cmdb.ImportRecord{bad, next})
			require.NoError(t, err, "a bad record is rejected alone")
			require.Len(t, res, 2)
			require.Equal(t, cmdb.Rejected, res[0].Outcome)
			require.Equal(t, []itil.FieldError{{Field: "discovered_at", Reason: res[0].Reasons[0].Reason}}, res[0].Reasons)
			require.Contains(t, []cmdb.Outcome{cmdb.Created, cmdb.Unchanged}, res[1].Outcome, "the rest of the batch imports")
			require.LessOrEqual(t, testkit.JournalLen(t, store), before+1)
		})
	}
}
