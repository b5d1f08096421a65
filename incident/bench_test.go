package incident_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/internal/benchkit"
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

// compare times op beside its raw limit (benchkit.Compare): each run of
// the limit encodes the incidents op wrote, under a new ID, as Open makes.
func compare(b *testing.B, op func(ctx context.Context, svc *incident.Service) error) {
	writes := benchkit.Records[incident.Incident](b, incidenttest.Writes(b, op), incident.Kind)
	benchkit.Compare(b,
		func() func() {
			return benchkit.Limit(writes, func(inc *incident.Incident) *itil.ID { return &inc.ID }, itil.NewID)
		},
		func(b *testing.B) func(context.Context) error {
			svc := benchService(b)
			return func(ctx context.Context) error { return op(ctx, svc) }
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
