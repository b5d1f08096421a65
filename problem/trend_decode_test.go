package problem

import (
	"context"
	"encoding/json"
	"math/rand"
	"slices"
	"strconv"
	"strings"
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
// incident reads, by the scan, and names the event of a payload it cannot
// read.
func TestOpenedFacts(t *testing.T) {
	for _, ev := range openedEvents(t) {
		want, err := openedFactsFull(&ev)
		require.NoError(t, err)
		require.NotEqual(t, itil.NilID, want.ID)
		c, ok := scanOpened(ev.Payload)
		require.True(t, ok, "the scan reads %s", ev.Payload)
		require.Equal(t, want, c.facts())
		got, err := openedFacts(&ev)
		require.NoError(t, err)
		require.Equal(t, want, got)
		got, err = openedFactsJSON(&ev)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	ev := itil.Event{Seq: 4217, Type: incident.EventOpened}
	for _, payload := range []string{
		``,
		`{"summary":"opened"`,
		`{"summary":"opened"}`,
		`{}`,
		`null`,
		`[]`,
		`{"summary":"opened","created":null}`,
		`{"summary":"opened","created":"INC0001001"}`,
		`{"summary":"opened","created":{"id":"not an ID"}}`,
		`{"summary":"opened","created":{"opened_at":"yesterday"}}`,
		`{"summary":"opened","created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666"}} trailing`,
		`{"summary":"opened","created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666","impact":01}}`,
	} {
		ev.Payload = []byte(payload)
		_, err := openedFacts(&ev)
		require.ErrorContains(t, err, "journal event 4217 (incident.opened)", "payload %s", payload)
	}
}

// scanCases are payloads the scan must leave to encoding/json (false) or
// read as it does (true).
var scanCases = []struct {
	payload string
	scans   bool
}{
	{`{"created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666","opened_at":"2026-03-02T10:00:00.5+02:00","service_id":"5e000000-0000-0000-0000-000000000001","ci_id":"c1000000-0000-0000-0000-000000000001","category":"network"}}`, true},
	{" \t\r\n{ \"created\" : { \"id\" : \"01a24e42-1df1-757d-b431-e124d8ce2666\" , \"x\" : [ 1 , -0.5e+3 , true , false , null , { } , [ ] , \"\\u00e9\\n\" ] } } \n", true},
	{`{"summary":"x","created":{},"fields":[{"a":{"b":[[[]]]}}],"deleted":true}`, true},
	{`{"created":{"category":"réseau"}}`, true},
	{`{"created":{"category":"a\"b\\c\u00e9\ud83d\ude00\u2028<>&"}}`, true},
	{`{"created":{"category":"\ud800 lone"}}`, true},
	{"{\"created\":{\"category\":\"\xff\xfe invalid\"}}", true},
	{`{"created":{"category":""}}`, true},
	{`{"created":{"opened_at":"2026-03-02T10:00:00Z","ci_id":"{c1000000-0000-0000-0000-000000000001}"}}`, true},
	{`{"created":{"ci_id":"urn:uuid:c1000000-0000-0000-0000-000000000001"}}`, true},
	{`{"Created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666"}}`, false},
	{`{"created":{"ID":"01a24e42-1df1-757d-b431-e124d8ce2666"}}`, false},
	{`{"created":{"Opened_At":"2026-03-02T10:00:00Z"}}`, false},
	{`{"created":{"openedat":"2026-03-02T10:00:00Z"}}`, false},
	{`{"created":{"ci-id":"c1000000-0000-0000-0000-000000000001"}}`, false},
	{`{"created":{"\u0069d":"01a24e42-1df1-757d-b431-e124d8ce2666"}}`, true},
	{`{"cr\u0065ated":{"category":"x"}}`, true},
	{`{"created":{"\u0049D":"01a24e42-1df1-757d-b431-e124d8ce2666"}}`, false},
	{`{"created":{"\u017fervice_id":"5e000000-0000-0000-0000-000000000001"}}`, false},
	{`{"created":{"\u0130d":"01a24e42-1df1-757d-b431-e124d8ce2666"}}`, false},
	{`{"created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666","\u0069d":"01a24e42-1df1-757d-b431-e124d8ce2667"}}`, false},
	{`{"created":{"category":"x"},"\u0063reated":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666"}}`, false},
	{`{"created":{"ſervice_id":"5e000000-0000-0000-0000-000000000001"}}`, false},
	{`{"created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666","id":"01a24e42-1df1-757d-b431-e124d8ce2667"}}`, false},
	{`{"created":{"id":"01a24e42-1df1-757d-b431-e124d8ce2666"},"created":{"category":"x"}}`, false},
	{`{"created":null}`, false},
	{`{"created":{"category":null}}`, false},
	{`{"created":{"category":5}}`, false},
	{`{"created":{"id":"\u00301a24e42-1df1-757d-b431-e124d8ce2666"}}`, true},
	{"{\"created\":{\"id\":\"01a24e42-1df1-757d-b431-e124d8ce266\xff\"}}", false},
	{"{\"created\":{\"id\":\"\x8201a24e42-1df1-757d-b431-e124d8ce2666\xff\"}}", false},
	{"{\"created\":{\"id\":\"\x8201a24e42-1df1-757d-b431-e124d8ce2666}\"}}", false},
	{`{"created":{"id":"é01a24e42-1df1-757d-b431-e124d8ce2666"}}`, false},
	{`{"created":{"id":null}}`, false},
	{`{"created":{"opened_at":null}}`, false},
	{`{"created":{"opened_at":"yesterday"}}`, false},
	{`{"created":{"opened_at":"2026-03-02T10:00:00\u005a"}}`, false},
	{`{"created":{},"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, true},
	{`{"created":{},"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, true},
	{`{"created":{},"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, false},
	{"\ufeff{\"created\":{}}", false},
	{`{"created":{}}x`, false},
	{`{"created":{},}`, false},
	{`{"created":{"x":[1,]}}`, false},
	{`{"created":{"x":01}}`, false},
	{`{"created":{"x":1.}}`, false},
	{`{"created":{"x":-}}`, false},
	{`{"created":{"x":+1}}`, false},
	{`{"created":{"x":1e}}`, false},
	{`{"created":{"x":tru}}`, false},
	{`{"created":{"x":"\x"}}`, false},
	{`{"created":{"x":"\u12"}}`, false},
	{"{\"created\":{\"x\":\"a\tb\"}}", false},
	{`{"created":{"x":1 2}}`, false},
	{`{"created":{"x" 1}}`, false},
	{`{"created"}`, false},
}

// TestScanOpened checks the scan on payloads it must read as
// encoding/json does, and on ones it must leave to it.
func TestScanOpened(t *testing.T) {
	for _, c := range scanCases {
		got, ok := scanOpened([]byte(c.payload))
		require.Equal(t, c.scans, ok, "scans %s", c.payload)
		checkScan(t, []byte(c.payload))
		if ok {
			var p openedPayload
			require.NoError(t, json.Unmarshal([]byte(c.payload), &p), c.payload)
			require.Equal(t, *p.Created, got, c.payload)
		}
	}
}

// checkScan fails when the scan reads payload and encoding/json reads it
// otherwise or not at all.
func checkScan(t testing.TB, payload []byte) bool {
	got, ok := scanOpened(payload)
	if !ok {
		return false
	}
	var p openedPayload
	err := json.Unmarshal(payload, &p)
	require.NoError(t, err, "the scan reads %q", payload)
	require.NotNil(t, p.Created, "the scan reads %q", payload)
	require.Equal(t, *p.Created, got, "the scan reads %q", payload)
	return true
}

// TestScanOpenedMutations mutates real payloads at random (bytes
// replaced, inserted, deleted, spans repeated, a key's case changed) and
// checks each against encoding/json.
func TestScanOpenedMutations(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	special := []byte("{}[]:,\"\\ \t\n0123456789-+.eEtfnul\x00\x1f\x7f\xc3\xa9\xff_IDabcd")
	scanned, total := 0, 0
	for _, ev := range openedEvents(t) {
		for range 4000 {
			p := slices.Clone(ev.Payload)
			for range 1 + r.Intn(3) {
				i := r.Intn(len(p))
				switch r.Intn(5) {
				case 0:
					p[i] = special[r.Intn(len(special))]
				case 1:
					p = slices.Insert(p, i, special[r.Intn(len(special))])
				case 2:
					p = slices.Delete(p, i, min(len(p), i+1+r.Intn(4)))
				case 3:
					j := min(len(p), i+1+r.Intn(40))
					p = slices.Insert(p, j, p[i:j]...)
				case 4:
					if 'a' <= p[i] && p[i] <= 'z' {
						p[i] -= 'a' - 'A'
					}
				}
				if len(p) == 0 {
					p = []byte{'{'}
				}
			}
			total++
			if checkScan(t, p) {
				scanned++
			}
		}
	}
	t.Logf("the scan read %d of %d mutated payloads", scanned, total)
	require.Greater(t, scanned, total/10)
	require.Less(t, scanned, total)
}

// FuzzScanOpened checks the scan against encoding/json:
//
//	go test ./problem -run '^$' -fuzz FuzzScanOpened -fuzztime 5m
func FuzzScanOpened(f *testing.F) {
	for _, ev := range openedEvents(f) {
		f.Add([]byte(ev.Payload))
	}
	for _, c := range scanCases {
		f.Add([]byte(c.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkScan(t, payload)
	})
}

// BenchmarkTrendOpenedFacts decodes an incident.opened event as
// openedFacts does (scan), with encoding/json into the facts (json), and
// as it did (full: the payload, then the whole incident).
func BenchmarkTrendOpenedFacts(b *testing.B) {
	ev := openedEvents(b)[0]
	for _, c := range []struct {
		name string
		read func(*itil.Event) (TrendIncident, error)
	}{{"scan", openedFacts}, {"json", openedFactsJSON}, {"full", openedFactsFull}} {
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
