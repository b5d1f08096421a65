package lifecycle

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/sqlite"
)

// BenchmarkKPIApply is what keeping the KPI facts current costs per
// event, beside the incident command that journaled the event. assign
// moves one incident between two groups, the read model's worst case:
// every event moves the incident's backlog interval; lifecycle walks
// incidents through open, assign, hold, resume, resolve and close. Both
// run on the memory backend, whose commands are the fastest, so the
// ratio is the strictest there; assign/sqlite is the same on a SQLite
// file.
// x-command is the fold's time over the commands' (the target
// is 5 %).
//
//	go test ./lifecycle -run '^$' -bench KPIApply
func BenchmarkKPIApply(b *testing.B) {
	desk, caller := itil.Actor{ID: "desk"}, itil.Actor{ID: "casey"}
	newIncident := incident.NewIncident{Title: "Mail slow", Caller: caller, Channel: incident.Phone, Impact: 2, Urgency: 2}
	assign := func(b *testing.B, store storage.Store) {
		var id itil.ID
		groups := []string{"network", "messaging"}
		benchKPIApply(b, store, func(ctx context.Context, svc *incident.Service, i int) error {
			if i == -1 {
				inc, err := svc.Open(ctx, desk, newIncident)
				id = inc.ID
				return err
			}
			_, err := svc.Assign(ctx, desk, id, groups[i%2], "sam")
			return err
		})
	}
	b.Run("assign", func(b *testing.B) { assign(b, memory.NewStore()) })
	b.Run("assign/sqlite", func(b *testing.B) {
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "itil.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		store, err := db.Tenant("default")
		if err != nil {
			b.Fatal(err)
		}
		assign(b, store)
	})
	b.Run("lifecycle", func(b *testing.B) {
		var id itil.ID
		benchKPIApply(b, memory.NewStore(), func(ctx context.Context, svc *incident.Service, i int) error {
			var err error
			switch i % 6 {
			case 0:
				var inc *incident.Incident
				if inc, err = svc.Open(ctx, desk, newIncident); err == nil {
					id = inc.ID
				}
			case 1:
				_, err = svc.Assign(ctx, desk, id, "network", "sam")
			case 2:
				_, err = svc.Hold(ctx, desk, id, incident.AwaitingCaller, "asked for the error message")
			case 3:
				_, err = svc.Resume(ctx, desk, id)
			case 4:
				_, err = svc.Resolve(ctx, desk, id, "solution_provided", "restarted the relay")
			case 5:
				_, err = svc.Close(ctx, desk, id)
			}
			return err
		})
	})
}

// benchKPIApply runs command(i) for i = -1 (set-up, not timed) and then
// as the benchmark's loop, each journaling one incident event, and
// reports the time to fold the events they journaled over the
// commands' time.
func benchKPIApply(b *testing.B, store storage.Store, command func(context.Context, *incident.Service, int) error) {
	ctx := context.Background()
	clock := testkit.NewClock()
	svc, err := incident.New(store, incident.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	if err := command(ctx, svc, -1); err != nil {
		b.Fatal(err)
	}
	k := newKPIFacts(nil)
	// events reads the journal past what the facts hold.
	events := func() []itil.Event {
		var evs []itil.Event
		if err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			for e, err := range tx.Journal(ctx, storage.JournalQuery{After: k.pos}) {
				if err != nil {
					return err
				}
				evs = append(evs, e)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		return evs
	}
	foldAll := func(evs []itil.Event) time.Duration {
		t0 := time.Now()
		for i := range evs {
			if err := k.apply(ctx, nil, &evs[i]); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	foldAll(events())
	// The read model folds what it finds when a query catches it up: here
	// the events of every 64 commands, read from the journal (not timed),
	// while the store has them at hand. Commands and folds are timed a
	// batch at a time: timing each fold alone would time the clock (and
	// StopTimer stops the world).
	const batch = 64
	var cmd, fold time.Duration
	n := 0
	t0 := time.Now()
	for b.Loop() {
		clock.Advance(time.Minute)
		if err := command(ctx, svc, n); err != nil {
			b.Fatal(err)
		}
		if n++; n%batch == 0 {
			cmd += time.Since(t0)
			fold += foldAll(events())
			t0 = time.Now()
		}
	}
	cmd += time.Since(t0)
	fold += foldAll(events())
	b.ReportMetric(float64(fold)/float64(cmd)*100, "%-of-command")
}
