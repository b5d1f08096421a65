package problem_test

import (
	"context"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

// BenchmarkResolveLinked resolves a problem with 1,000 linked incidents On
// Hold awaiting it, in one transaction, beside 1,000 separate
// incident.Resolve commands on 1,000 incidents in the same state, on the
// memory backend. Each operation builds both sets afresh (untimed) and
// times each side once; x-separate is the cascade's time over the separate
// commands' (below 1: one transaction beats a thousand).
//
//	go test ./problem -run '^$' -bench ResolveLinked -benchtime 10x
func BenchmarkResolveLinked(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	actor := itil.Actor{ID: "ana", Name: "Ana Analyst"}
	setup := func() (*problem.Service, *incident.Service, itil.ID, []itil.ID) {
		store := memory.NewStore()
		incs, err := incident.New(store)
		if err != nil {
			b.Fatal(err)
		}
		svc, err := problem.New(store, problem.WithIncidents(incs))
		if err != nil {
			b.Fatal(err)
		}
		open := func(title string) itil.ID {
			p, err := svc.Open(ctx, actor, problem.NewProblem{Title: title, Impact: 2, Urgency: 2})
			if err != nil {
				b.Fatal(err)
			}
			return p.ID
		}
		cascaded, other := open("cascaded"), open("other")
		var separate []itil.ID
		for i := range 2 * n {
			inc, err := incs.Open(ctx, actor, incident.NewIncident{Title: "mail down", Caller: actor,
				Channel: incident.Phone, Impact: 2, Urgency: 2})
			if err != nil {
				b.Fatal(err)
			}
			to := cascaded
			if i%2 == 1 {
				to = other
				separate = append(separate, inc.ID)
			}
			if _, err := svc.LinkIncident(ctx, actor, to, inc.ID); err != nil {
				b.Fatal(err)
			}
			if _, err := incs.Hold(ctx, actor, inc.ID, incident.AwaitingProblem, ""); err != nil {
				b.Fatal(err)
			}
		}
		cause, fix := "a leak", "patched"
		for _, step := range []func() (*problem.Problem, error){
			func() (*problem.Problem, error) { return svc.Assign(ctx, actor, cascaded, "problem-mgmt", "ana") },
			func() (*problem.Problem, error) { return svc.Assess(ctx, actor, cascaded) },
			func() (*problem.Problem, error) { return svc.Confirm(ctx, actor, cascaded) },
			func() (*problem.Problem, error) {
				return svc.Update(ctx, actor, cascaded, problem.Patch{CauseNotes: &cause, FixNotes: &fix})
			},
			func() (*problem.Problem, error) { return svc.Fix(ctx, actor, cascaded) },
		} {
			if _, err := step(); err != nil {
				b.Fatal(err)
			}
		}
		return svc, incs, cascaded, separate
	}
	var inCascade, inSeparate time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		svc, incs, id, separate := setup()
		b.StartTimer()
		t0 := time.Now()
		if _, err := svc.Resolve(ctx, actor, id); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, inc := range separate {
			if _, err := incs.Resolve(ctx, actor, inc, problem.ResolvedByProblem, "patched"); err != nil {
				b.Fatal(err)
			}
		}
		inCascade += t1.Sub(t0)
		inSeparate += time.Since(t1)
	}
	b.ReportMetric(float64(inCascade.Nanoseconds())/float64(b.N), "cascade-ns/op")
	b.ReportMetric(float64(inSeparate.Nanoseconds())/float64(b.N), "separate-ns/op")
	b.ReportMetric(float64(inCascade)/float64(inSeparate), "x-separate")
}
