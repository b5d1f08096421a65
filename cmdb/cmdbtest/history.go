package cmdbtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// history: one journal event per record written, each naming its record;
// a CI's history holds its own events (its creation whole, then the old
// and new value of every field a write changed, its deletion) and the
// events of the relationships that touched it (under both CIs, through
// Refs); AsOf at any instant is the CI as it then was, and equals the
// replay of its history up to that instant.
func history(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	store := newStore(t)
	svc, err := cmdb.New(store, cmdb.WithClock(itil.ClockFunc(func() time.Time { return now })))
	require.NoError(t, err)
	type state struct {
		at time.Time
		ci *cmdb.CI
	}
	var states []state // the server after each of its writes
	keep := func(c *cmdb.CI, err error) *cmdb.CI {
		t.Helper()
		require.NoError(t, err)
		states = append(states, state{now, c})
		return c
	}
	later := func() { now = now.Add(time.Hour) }

	app, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "payroll"})
	require.NoError(t, err)
	srv := keep(svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01", Owner: "alice",
		Attributes: map[string]string{"serial_number": "SN-1"}}))
	later()
	bob := "bob"
	keep(svc.UpdateCI(ctx, admin, srv.ID, cmdb.Patch{Owner: &bob}))
	later()
	rel, err := svc.Relate(ctx, admin, cmdb.RunsOn, app.ID, srv.ID)
	require.NoError(t, err)
	later()
	keep(svc.SetState(ctx, admin, srv.ID, cmdb.InBuild))
	later()
	require.NoError(t, svc.Unrelate(ctx, admin, rel.ID))
	later()
	last := keep(svc.UpdateCI(ctx, admin, srv.ID, cmdb.Patch{Attributes: map[string]string{"ip_address": "10.0.0.5"}}))
	later()
	same, err := svc.UpdateCI(ctx, admin, srv.ID, cmdb.Patch{Owner: &bob})
	require.NoError(t, err)
	require.Equal(t, last, same, "a patch that changes nothing writes nothing and returns the CI as stored")
	stored, err := svc.Get(ctx, srv.ID)
	require.NoError(t, err)
	require.Equal(t, last, stored)

	h, err := svc.History(ctx, srv.ID)
	require.NoError(t, err)
	type head struct {
		kind    string
		subject itil.ID
		version int64
		typ     string
		refs    []itil.ID
		at      time.Time
	}
	t0 := states[0].at
	hour := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	var heads []head
	for _, e := range h {
		heads = append(heads, head{e.Kind, e.SubjectID, e.Version, e.Type, e.Refs, e.Time.UTC()})
		require.Equal(t, admin, e.Actor)
	}
	both := []itil.ID{app.ID, srv.ID}
	require.Equal(t, []head{
		{cmdb.KindCI, srv.ID, 1, cmdb.EventCICreated, nil, hour(0)},
		{cmdb.KindCI, srv.ID, 2, cmdb.EventCIUpdated, nil, hour(1)},
		{cmdb.KindRelationship, rel.ID, 1, cmdb.EventRelated, both, hour(2)},
		{cmdb.KindCI, srv.ID, 3, cmdb.EventCIStateChanged, nil, hour(3)},
		{cmdb.KindRelationship, rel.ID, 2, cmdb.EventUnrelated, both, hour(4)},
		{cmdb.KindCI, srv.ID, 4, cmdb.EventCIUpdated, nil, hour(5)},
	}, heads)
	var created cmdb.CI
	require.NoError(t, json.Unmarshal(h[0].Created, &created))
	require.Equal(t, *states[0].ci, created, "the creation carries the CI as stored")
	require.Empty(t, h[0].Fields)
	requireFields(t, h[1], change{"owner", `"alice"`, `"bob"`})
	var related cmdb.Relationship
	require.NoError(t, json.Unmarshal(h[2].Created, &related))
	require.Equal(t, *rel, related, "the relationship event carries the relationship")
	requireFields(t, h[3], change{"state", `"planned"`, `"in_build"`})
	require.True(t, h[4].Deleted)
	require.Nil(t, h[4].Created)
	require.Len(t, h[5].Fields, 2)
	require.Equal(t, "attributes", h[5].Fields[0].Field)
	assert.JSONEq(t, `{"serial_number": "SN-1"}`, string(h[5].Fields[0].From))
	assert.JSONEq(t, `{"serial_number": "SN-1", "ip_address": "10.0.0.5"}`, string(h[5].Fields[0].To))
	require.Equal(t, "attr_sources", h[5].Fields[1].Field)
	assert.JSONEq(t, `{"serial_number": "manual"}`, string(h[5].Fields[1].From))
	assert.JSONEq(t, `{"serial_number": "manual", "ip_address": "manual"}`, string(h[5].Fields[1].To))

	ha, err := svc.History(ctx, app.ID)
	require.NoError(t, err)
	require.Len(t, ha, 3, "the application's history: its creation and the relationship's two events")
	require.Equal(t, app.ID, ha[0].SubjectID)
	require.Equal(t, h[2], ha[1])
	require.Equal(t, h[4], ha[2])

	// The journal holds one event per record written, each naming it;
	// the claim of the unique serial number is not journaled.
	events := journal(t, store)
	require.Len(t, events, 7)
	for _, ev := range events {
		switch ev.Kind {
		case cmdb.KindCI:
			require.Contains(t, []itil.ID{app.ID, srv.ID}, ev.SubjectID)
			require.Empty(t, ev.Refs)
		case cmdb.KindRelationship:
			require.Equal(t, rel.ID, ev.SubjectID)
			require.Equal(t, both, ev.Refs)
		default:
			t.Fatalf("unexpected event %+v", ev)
		}
	}

	// AsOf is the CI as it was, and the replay of its history up to then.
	checkAsOf := func(at time.Time, want *cmdb.CI) {
		t.Helper()
		got, err := svc.AsOf(ctx, srv.ID, at)
		if want == nil {
			require.ErrorIs(t, err, itil.ErrNotFound, "at %s", at)
			return
		}
		require.NoError(t, err, "at %s", at)
		require.Equal(t, want, got, "at %s", at)
		h, err := svc.History(ctx, srv.ID)
		require.NoError(t, err)
		var upTo []itil.HistoryEntry
		for _, e := range h {
			if !e.Time.After(at) {
				upTo = append(upTo, e)
			}
		}
		replayed, err := pipeline.Replay[cmdb.CI](cmdb.KindCI, srv.ID, upTo, 0)
		require.NoError(t, err)
		// The journal keeps the version and the update time per event,
		// not as field changes: AsOf reads them from the last event.
		replayed.Version, replayed.UpdatedAt = got.Version, got.UpdatedAt
		require.Equal(t, got, replayed, "at %s", at)
	}
	checkAsOf(t0.Add(-time.Second), nil)
	for _, s := range states {
		checkAsOf(s.at, s.ci)
		checkAsOf(s.at.Add(30*time.Minute), s.ci)
	}
	later()
	require.NoError(t, svc.DeleteCI(ctx, admin, srv.ID))
	checkAsOf(now, nil)
	checkAsOf(now.Add(-time.Minute), last)
	h, err = svc.History(ctx, srv.ID)
	require.NoError(t, err, "a deleted CI keeps its history")
	require.Len(t, h, 7)
	end := h[6]
	require.Equal(t, cmdb.EventCIDeleted, end.Type)
	require.Equal(t, int64(5), end.Version)
	require.True(t, end.Deleted)
	_, err = svc.History(ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
}

// journal reads the store's whole journal.
func journal(t require.TestingT, store storage.Store) []itil.Event {
	var out []itil.Event
	require.NoError(t, store.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		out = nil
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	}))
	return out
}
