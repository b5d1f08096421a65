package problem

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// openedFactsFull is openedFacts as it was: the payload decoded whole,
// then the incident whole, then TrendIncidentOf.
func openedFactsFull(ev *itil.Event) (TrendIncident, error) {
	var p itil.Payload
	var inc incident.Incident
	if err := json.Unmarshal(ev.Payload, &p); err != nil || len(p.Created) == 0 {
		return TrendIncident{}, err
	}
	if err := json.Unmarshal(p.Created, &inc); err != nil {
		return TrendIncident{}, err
	}
	return TrendIncidentOf(&inc), nil
}

// openedEvents opens incidents with and without CI, service and category
// and returns their incident.opened events.
func openedEvents(t testing.TB) []itil.Event {
	store := memory.NewStore()
	svc, err := incident.New(store)
	require.NoError(t, err)
	ctx := context.Background()
	actor := itil.Actor{ID: "agent", Name: "Alex Agent"}
	for i, in := range []incident.NewIncident{
		{Category: "network", ServiceID: itil.ID{0x5e, 1}, CIID: itil.ID{0xc1, 1}},
		{Category: `"quoted" \ ネットワーク ` + "\u2028 <&>"},
		{ServiceID: itil.ID{0x5e, 2}},
		{CIID: itil.ID{0xc1, 2}},
		{},
	} {
		in.Title, in.Description = "Email is down "+strconv.Itoa(i), "Outlook cannot connect since 9:00"
		in.Caller, in.Channel, in.Impact, in.Urgency = itil.Actor{ID: "caller", Name: "Casey Caller"}, incident.Phone, 2, 1
		_, err := svc.Open(ctx, actor, in)
		require.NoError(t, err)
	}
	var out []itil.Event
	require.NoError(t, store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{Kinds: incidentKinds}) {
			if err != nil {
				return err
			}
			if ev.Type == incident.EventOpened {
				out = append(out, ev)
			}
		}
		return nil
	}))
	require.Len(t, out, 5)
	return out
}

// TestOpenedFacts checks that openedFacts reads what decoding the whole
// incident reads, and names the event of a payload it cannot read.
func TestOpenedFacts(t *testing.T) {
	for _, ev := range openedEvents(t) {
		want, err := openedFactsFull(&ev)
		require.NoError(t, err)
		require.NotEqual(t, itil.NilID, want.ID)
		got, err := openedFacts(&ev)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.True(t, got.OpenedAt.Equal(want.OpenedAt))
	}
	ev := itil.Event{Seq: 4217, Type: incident.EventOpened}
	for _, payload := range []string{
		``,
		`{"summary":"opened"`,
		`{"summary":"opened"}`,
		`{"summary":"opened","created":null}`,
		`{"summary":"opened","created":"INC0001001"}`,
		`{"summary":"opened","created":{"id":"not an ID"}}`,
		`{"summary":"opened","created":{"opened_at":"yesterday"}}`,
		`{"summary":"opened","created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666"}} trailing`,
	} {
		ev.Payload = []byte(payload)
		_, err := openedFacts(&ev)
		require.ErrorContains(t, err, "journal event 4217 (incident.opened)", "payload %s", payload)
	}
}

// BenchmarkTrendOpenedFacts decodes an incident.opened event as
// openedFacts does (facts) and as it did (full: the payload, then the
// whole incident).
func BenchmarkTrendOpenedFacts(b *testing.B) {
	ev := openedEvents(b)[0]
	for _, c := range []struct {
		name string
		read func(*itil.Event) (TrendIncident, error)
	}{{"facts", openedFacts}, {"full", openedFactsFull}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ev.Payload)))
			for b.Loop() {
				if _, err := c.read(&ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
