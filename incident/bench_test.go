package incident_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/storage/memory"
)

// The benchmarks compare the Service on the memory backend with the raw
// limit on the same data: JSON-encoding the same records the operation
// writes (recorded from one run of it) and putting them in a map. Each "service" line reports
// x-limit, its time per operation divided by the limit's, both measured in
// the same loop (its ns/op and allocs/op cover both):
//
//	go test ./incident -run '^$' -bench . -benchmem

var (
	benchAgent = incidenttest.BenchActor
	benchInput = incidenttest.BenchIncident
)

func benchService(b *testing.B) *incident.Service {
	svc, err := incident.New(memory.NewStore())
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// writesOf runs op once and returns the incidents it wrote, in order.
func writesOf(b *testing.B, op func(ctx context.Context, svc *incident.Service) error) []*incident.Incident {
	var out []*incident.Incident
	for _, w := range incidenttest.Writes(b, op) {
		for _, p := range w.Puts {
			inc := new(incident.Incident)
			if err := json.Unmarshal([]byte(p.Data), inc); err != nil {
				b.Fatal(err)
			}
			out = append(out, inc)
		}
	}
	return out
}

// rawLimit returns the raw limit of an operation: JSON-encode each record
// it writes, as the Service stores it, and put it in a map.
func rawLimit(writes []*incident.Incident) func() {
	m := make(map[itil.ID][]byte)
	records := make([]incident.Incident, len(writes))
	for i, w := range writes {
		records[i] = *w
	}
	return func() {
		id := itil.NewID() // a new incident each time, as Open makes
		for i := range records {
			records[i].ID = id
			data, err := json.Marshal(&records[i])
			if err != nil {
				panic(err)
			}
			m[id] = data
		}
	}
}

// compare runs the raw limit and the service operation alternately in one
// loop, timing each, so that both see the same machine state (a noisy
// neighbour, the garbage collector) and the ratio stays stable. It reports
// ns/op of each and x-limit, the service's time divided by the limit's.
// The limit alone is also run as a sub-benchmark for its allocations.
func compare(b *testing.B, op func(ctx context.Context, svc *incident.Service) error) {
	ctx := context.Background()
	writes := writesOf(b, op)
	b.Run("limit", func(b *testing.B) {
		raw := rawLimit(writes)
		b.ReportAllocs()
		for range b.N {
			raw()
		}
	})
	b.Run("service", func(b *testing.B) {
		svc, raw := benchService(b), rawLimit(writes)
		var inLimit, inService time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			raw()
			t1 := time.Now()
			if err := op(ctx, svc); err != nil {
				b.Fatal(err)
			}
			inLimit += t1.Sub(t0)
			inService += time.Since(t1)
		}
		b.ReportMetric(float64(inLimit.Nanoseconds())/float64(b.N), "limit-ns/op")
		b.ReportMetric(float64(inService.Nanoseconds())/float64(b.N), "service-ns/op")
		b.ReportMetric(float64(inService)/float64(inLimit), "x-limit")
	})
}

func BenchmarkOpen(b *testing.B) {
	compare(b, func(ctx context.Context, svc *incident.Service) error {
		_, err := svc.Open(ctx, benchAgent, benchInput)
		return err
	})
}

// BenchmarkOpenAndTransition is the target: Open plus one state
// transition (assigning an engineer starts work) within 3x of the limit.
func BenchmarkOpenAndTransition(b *testing.B) {
	compare(b, func(ctx context.Context, svc *incident.Service) error {
		inc, err := svc.Open(ctx, benchAgent, benchInput)
		if err != nil {
			return err
		}
		_, err = svc.Assign(ctx, benchAgent, inc.ID, "messaging", "alex")
		return err
	})
}

// BenchmarkLifecycle runs open, assign, hold, resume, resolve and close.
func BenchmarkLifecycle(b *testing.B) {
	compare(b, func(ctx context.Context, svc *incident.Service) error {
		inc, err := svc.Open(ctx, benchAgent, benchInput)
		if err != nil {
			return err
		}
		steps := []func() (*incident.Incident, error){
			func() (*incident.Incident, error) { return svc.Assign(ctx, benchAgent, inc.ID, "messaging", "alex") },
			func() (*incident.Incident, error) {
				return svc.Hold(ctx, benchAgent, inc.ID, incident.AwaitingVendor, "")
			},
			func() (*incident.Incident, error) { return svc.Resume(ctx, benchAgent, inc.ID) },
			func() (*incident.Incident, error) {
				return svc.Resolve(ctx, benchAgent, inc.ID, "solution_provided", "restarted the mail gateway")
			},
			func() (*incident.Incident, error) { return svc.Close(ctx, benchAgent, inc.ID) },
		}
		for _, step := range steps {
			if _, err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkCommandAfterComments: a command on an incident with 1,000
// comments costs what it costs on a fresh one (target at most 1.2x), since
// notes are records of their own. Both incidents are escalated in turn in
// one loop; x-fresh is the loaded one's time over the fresh one's.
//
//	go test ./incident -run '^$' -bench CommandAfterComments -benchmem
func BenchmarkCommandAfterComments(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b)
	fresh, err := svc.Open(ctx, benchAgent, benchInput)
	if err != nil {
		b.Fatal(err)
	}
	loaded, err := svc.Open(ctx, benchAgent, benchInput)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if _, err := svc.Comment(ctx, benchAgent, loaded.ID, fmt.Sprintf("comment %d: the printer on floor 3 still jams on A3 paper", i)); err != nil {
			b.Fatal(err)
		}
	}
	var inFresh, inLoaded time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	escalate := func(id itil.ID, level int) time.Duration {
		t0 := time.Now()
		if _, err := svc.Escalate(ctx, benchAgent, id, level, "customer called"); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for i := range b.N {
		level := 1 + i%2
		if i%2 == 0 { // each goes first half the time
			inFresh += escalate(fresh.ID, level)
			inLoaded += escalate(loaded.ID, level)
		} else {
			inLoaded += escalate(loaded.ID, level)
			inFresh += escalate(fresh.ID, level)
		}
	}
	b.ReportMetric(float64(inFresh.Nanoseconds())/float64(b.N), "fresh-ns/op")
	b.ReportMetric(float64(inLoaded.Nanoseconds())/float64(b.N), "loaded-ns/op")
	b.ReportMetric(float64(inLoaded)/float64(inFresh), "x-fresh")
}
