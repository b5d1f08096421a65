package problem_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/postgres"
	"github.com/itilkit/itil/storage/sqlite"
)

// BenchmarkResolveLinked resolves a problem with 1,000 linked incidents On
// Hold awaiting it, in one transaction (problem.Service.Resolve and its
// cascade), beside 1,000 separate incident.Resolve commands, each in a
// transaction of its own, on 1,000 other incidents in the same state (linked
// to another problem, On Hold awaiting it) in the same store. One sub-benchmark
// per backend:
//
//   - memory: memory.NewStore;
//   - sqlite: a new database file (sqlite.Open with its defaults: WAL,
//     synchronous FULL, so every commit is a sync to disk);
//   - postgres: a new, empty schema on the server of ITIL_POSTGRES_DSN
//     (postgres.Open with search_path set to it, dropped after the
//     operation), as the storage/postgres suites do; skipped without it.
//     Its tables are ANALYZEd after the setup (untimed), as autovacuum
//     does in a database in use: on tables never analyzed, PostgreSQL 15
//     joins record_terms to records on (tenant, kind) alone, filtering on
//     id, so that each page of 256 incidents the cascade's list reads
//     scans every record 256 times (47 ms a page, against 1 ms with
//     statistics), and the cascade takes several times as long.
//
// Each operation builds a fresh, empty store and its 2,000 incidents
// (untimed; the setup runs the same commands a user would, bound to a
// transaction per 100 incidents so that SQLite's setup does not sync 6,000
// times), then times each side once. The order of the two sides alternates
// between operations (the cascade first in even ones, the separate commands
// first in odd ones), so that neither always runs on the store the other
// has already written to, and runtime.GC runs (untimed) before each side, so
// that neither pays for the setup's or the other side's garbage.
// cascade-ns/op and separate-ns/op are each side's mean time; x-separate is
// the cascade's time over the separate commands' (below 1: one transaction
// beats a thousand). ns/op is both sides together.
//
//	go test ./problem -run '^$' -bench ResolveLinked -benchtime 5x -count 3
//	ITIL_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//		go test ./problem -run '^$' -bench ResolveLinked -benchtime 5x -count 3
//	go test ./problem -run '^$' -bench ResolveLinked/memory -benchtime 50x -count 3
//
// The second takes about 80 s on two cores, most of it in SQLite's and
// PostgreSQL's separate commands (each commit a sync to disk) and in the
// setups; without ITIL_POSTGRES_DSN, about half of that. On memory an
// operation takes milliseconds, and five are too few to see past the
// machine's noise: the third gives it 50.
func BenchmarkResolveLinked(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		benchResolveLinked(b, func(*testing.B) linkedStore { return linkedStore{store: memory.NewStore()} })
	})
	b.Run("sqlite", func(b *testing.B) {
		benchResolveLinked(b, func(b *testing.B) linkedStore {
			be, err := sqlite.Open(filepath.Join(b.TempDir(), "x.db"))
			if err != nil {
				b.Fatal(err)
			}
			closeBackend := sync.OnceFunc(func() {
				if err := be.Close(); err != nil {
					b.Error(err)
				}
			})
			b.Cleanup(closeBackend) // when the operation fails half-way
			store, err := be.Tenant("default")
			if err != nil {
				b.Fatal(err)
			}
			return linkedStore{store: store, close: closeBackend}
		})
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv("ITIL_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("ITIL_POSTGRES_DSN is not set")
		}
		ctx := context.Background()
		benchResolveLinked(b, func(b *testing.B) linkedStore {
			schemaDSN, schema := testkit.FreshSchema(b, dsn, "itilbench")
			be, err := postgres.Open(ctx, schemaDSN)
			if err != nil {
				b.Fatal(err)
			}
			closeBackend := sync.OnceFunc(func() {
				if err := be.Close(); err != nil {
					b.Error(err)
				}
			})
			b.Cleanup(closeBackend) // when the operation fails half-way
			store, err := be.Tenant("default")
			if err != nil {
				b.Fatal(err)
			}
			analyze := func() {
				var tables []string
				for _, t := range []string{"records", "record_terms", "journal", "journal_refs", "journal_heads", "sequences"} {
					tables = append(tables, pgx.Identifier{schema, t}.Sanitize())
				}
				if _, err := testkit.PostgresAdmin(b, dsn).Exec(ctx, `ANALYZE `+strings.Join(tables, ", ")); err != nil {
					b.Fatal(err)
				}
			}
			drop := func() {
				closeBackend()
				if _, err := testkit.PostgresAdmin(b, dsn).Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
					b.Error(err)
				}
			}
			return linkedStore{store: store, ready: analyze, close: drop}
		})
	})
}

// linkedStore is a fresh, empty store for one operation of
// BenchmarkResolveLinked: ready, when set, runs after the setup and before
// the timed sides; close, when set, closes it and removes what it made.
type linkedStore struct {
	store        storage.Store
	ready, close func()
}

// benchResolveLinked is BenchmarkResolveLinked on the stores open makes,
// a fresh one per operation.
func benchResolveLinked(b *testing.B, open func(*testing.B) linkedStore) {
	const (
		n     = 1000
		batch = 100 // incidents set up per transaction
	)
	ctx := context.Background()
	actor := itil.Actor{ID: "ana", Name: "Ana Analyst"}
	setup := func(store storage.Store) (*problem.Service, *incident.Service, itil.ID, []itil.ID) {
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
		for from := 0; from < 2*n; from += batch {
			err := store.RunInTx(storage.Writing(ctx), func(ctx context.Context, tx storage.Tx) error {
				svc, incs := svc.In(tx), incs.In(tx)
				for i := from; i < from+batch; i++ {
					inc, err := incs.Open(ctx, actor, incident.NewIncident{Title: "mail down", Caller: actor,
						Channel: incident.Phone, Impact: 2, Urgency: 2})
					if err != nil {
						return err
					}
					to := cascaded
					if i%2 == 1 {
						to = other
						separate = append(separate, inc.ID)
					}
					if _, err := svc.LinkIncident(ctx, actor, to, inc.ID); err != nil {
						return err
					}
					if _, err := incs.Hold(ctx, actor, inc.ID, incident.AwaitingProblem, ""); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
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
	// resolved counts the incidents of problem id that are Resolved.
	resolved := func(incs *incident.Service, id itil.ID) int {
		k := 0
		for _, err := range incs.List(ctx, incident.Filter{ProblemID: id, States: []incident.State{incident.StateResolved}}) {
			if err != nil {
				b.Fatal(err)
			}
			k++
		}
		return k
	}
	var inCascade, inSeparate time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st := open(b)
		svc, incs, id, separate := setup(st.store)
		if st.ready != nil {
			st.ready()
		}
		cascade := func() {
			t0 := time.Now()
			if _, err := svc.Resolve(ctx, actor, id); err != nil {
				b.Fatal(err)
			}
			inCascade += time.Since(t0)
		}
		commands := func() {
			t0 := time.Now()
			for _, inc := range separate {
				if _, err := incs.Resolve(ctx, actor, inc, problem.ResolvedByProblem, "patched"); err != nil {
					b.Fatal(err)
				}
			}
			inSeparate += time.Since(t0)
		}
		sides := [2]func(){cascade, commands}
		if i%2 == 1 {
			sides[0], sides[1] = commands, cascade
		}
		for _, side := range sides {
			runtime.GC()
			b.StartTimer()
			side()
			b.StopTimer()
		}
		if i == 0 {
			if k := resolved(incs, id); k != n {
				b.Fatalf("the cascade resolved %d incidents, not %d", k, n)
			}
		}
		if st.close != nil {
			st.close()
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(inCascade.Nanoseconds())/float64(b.N), "cascade-ns/op")
	b.ReportMetric(float64(inSeparate.Nanoseconds())/float64(b.N), "separate-ns/op")
	b.ReportMetric(float64(inCascade)/float64(inSeparate), "x-separate")
}
