package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// stuck turns a wait that should end into a failure instead of a hang; no
// test asserts on elapsed time.
const stuck = 30 * time.Second

func tenantOf(t testing.TB, b *Backend, name string) storage.Store {
	t.Helper()
	s, err := b.Tenant(name)
	require.NoError(t, err)
	return s
}

// heldAtCommit runs commit (a transaction on b) in a goroutine and returns
// once it has done all but its COMMIT, holding its locks; release lets it
// commit, and done receives its result.
func heldAtCommit(t *testing.T, b *Backend, commit func() error) (done <-chan error, release func()) {
	t.Helper()
	paused, resume := make(chan struct{}), make(chan struct{})
	b.beforeCommit = func(string) {
		close(paused)
		<-resume
	}
	result := make(chan error, 1)
	go func() { result <- commit() }()
	select {
	case <-paused:
	case err := <-result:
		t.Fatalf("finished instead of reaching its commit: %v", err)
	case <-time.After(stuck):
		t.Fatal("never reached its commit")
	}
	return result, func() { close(resume) }
}

func appendTx(s storage.Store, subject itil.ID, marks ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		return s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			for _, m := range marks {
				if err := tx.Append(ctx, itil.Event{Kind: "incident", SubjectID: subject, Actor: itil.System,
					Time: time.Unix(1_700_000_000, 123456789), Type: "tick", Payload: json.RawMessage(`"` + m + `"`)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// readJournalAfter returns the payload marks and seqs of the events after
// the cursor, read through s.
func readJournalAfter(t testing.TB, s storage.Store, after int64) (marks []string, seqs []int64) {
	t.Helper()
	marks, seqs, err := journalAfter(s, after)
	require.NoError(t, err)
	return marks, seqs
}

// journalAfter is readJournalAfter for goroutines other than the test's.
func journalAfter(s storage.Store, after int64) (marks []string, seqs []int64, err error) {
	err = s.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: after}) {
			if err != nil {
				return err
			}
			var m string
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				return err
			}
			marks, seqs = append(marks, m), append(seqs, ev.Seq)
		}
		return nil
	})
	return marks, seqs, err
}

func waitFor(t testing.TB, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(stuck):
		t.Fatalf("still waiting for %s after %v", what, stuck)
		return nil
	}
}

// TestJournalCommitOrder interleaves transactions deliberately: the
// outbox trap is a transaction that took its journal numbers and commits
// after a later one. Here transaction A is held after taking its numbers
// and before COMMIT while B appends and tries to commit on another
// instance; a reader on a third instance polls throughout. B must wait for
// A (it cannot number before A is visible), and the reader sees A's events
// and then B's, none skipped.
func TestJournalCommitOrder(t *testing.T) {
	dsn := freshSchema(t)
	a, b, r := openIn(t, dsn), openIn(t, dsn), openIn(t, dsn)
	subject := itil.NewID()
	sa, sb, reader := tenantOf(t, a, "t"), tenantOf(t, b, "t"), tenantOf(t, r, "t")

	aDone, release := heldAtCommit(t, a, func() error { return appendTx(sa, subject, "a1", "a2")(context.Background()) })
	bDone := make(chan error, 1)
	go func() { bDone <- appendTx(sb, subject, "b1")(context.Background()) }()

	// Wait until B is blocked behind A's lock on the journal head, as the
	// server reports it; then poll as a reader would.
	deadline := time.Now().Add(stuck)
	for {
		var waiting int
		require.NoError(t, serverAdmin(t).QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%journal_heads%'`).Scan(&waiting))
		if waiting > 0 {
			break
		}
		select {
		case err := <-bDone:
			t.Fatalf("B committed while A held its journal numbers uncommitted: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "B never waited for A")
		time.Sleep(10 * time.Millisecond)
	}
	marks, _ := readJournalAfter(t, reader, 0)
	require.Empty(t, marks, "nothing is committed yet")

	release()
	require.NoError(t, waitFor(t, aDone, "A"))
	require.NoError(t, waitFor(t, bDone, "B"))
	marks, seqs := readJournalAfter(t, reader, 0)
	require.Equal(t, []string{"a1", "a2", "b1"}, marks)
	require.Equal(t, []int64{1, 2, 3}, seqs)

	// The other interleaving: A is held before its commit starts while B
	// commits. B numbers first; A numbers after it, and a reader that
	// resumes after B's event still gets A's.
	a.beforeCommit = nil
	hold, holding := make(chan struct{}), make(chan struct{})
	aLater := make(chan error, 1)
	go func() {
		aLater <- sa.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
			if err := tx.Append(ctx, itil.Event{Kind: "incident", SubjectID: subject, Actor: itil.System,
				Time: time.Unix(1, 0), Type: "tick", Payload: json.RawMessage(`"a3"`)}); err != nil {
				return err
			}
			close(holding)
			<-hold
			return nil
		})
	}()
	<-holding
	require.NoError(t, appendTx(sb, subject, "b2")(context.Background()))
	marks, seqs = readJournalAfter(t, reader, 3)
	require.Equal(t, []string{"b2"}, marks)
	require.Equal(t, []int64{4}, seqs)
	close(hold)
	require.NoError(t, waitFor(t, aLater, "A"))
	marks, seqs = readJournalAfter(t, reader, 4)
	require.Equal(t, []string{"a3"}, marks)
	require.Equal(t, []int64{5}, seqs)
}

// TestMultiInstance has two instances (separate pools) increment the same
// counters with version-checked writes, retrying on conflict, each
// increment journalled, while a reader on a third pool follows the
// journal by cursor: no update is lost, no event is missed or repeated,
// and the numbers have no gaps.
func TestMultiInstance(t *testing.T) {
	const (
		counters   = 3
		perWorker  = 30
		workersPer = 3
	)
	dsn := freshSchema(t)
	inst := []*Backend{openIn(t, dsn), openIn(t, dsn)}
	stores := []storage.Store{tenantOf(t, inst[0], "acme"), tenantOf(t, inst[1], "acme")}
	reader := tenantOf(t, openIn(t, dsn), "acme")
	ctx := t.Context()

	ids := make([]itil.ID, counters)
	require.NoError(t, stores[0].RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for i := range ids {
			ids[i] = itil.NewID()
			if _, err := tx.Put(ctx, storage.Record{Kind: "counter", ID: ids[i], Data: "0", Terms: []string{"c=1"}}); err != nil {
				return err
			}
		}
		return nil
	}))

	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for i, s := range stores {
		for w := range workersPer {
			wg.Go(func() {
				for n := range perWorker {
					id := ids[(w+n)%counters]
					mark := fmt.Sprintf("%d/%d/%d", i, w, n)
					for attempt := 1; ; attempt++ {
						err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
							rec, err := tx.Get(ctx, "counter", id)
							if err != nil {
								return err
							}
							v, err := strconv.Atoi(rec.Data)
							if err != nil {
								return err
							}
							rec.Data = strconv.Itoa(v + 1)
							if _, err := tx.Put(ctx, rec); err != nil {
								return err
							}
							return tx.Append(ctx, itil.Event{Kind: "counter", SubjectID: id, SubjectVersion: rec.Version + 1,
								Actor: itil.System, Time: time.Unix(0, 0), Type: "incremented", Payload: json.RawMessage(`"` + mark + `"`)})
						})
						if err == nil {
							break
						}
						if !errors.Is(err, itil.ErrConflict) || attempt == 10_000 {
							t.Errorf("%s: attempt %d: %v", mark, attempt, err)
							return
						}
						mu.Lock()
						conflicts++
						mu.Unlock()
					}
				}
			})
		}
	}
	done := make(chan struct{})
	type page struct {
		marks []string
		seqs  []int64
	}
	var pages []page
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var after int64
		for {
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			marks, seqs, err := journalAfter(reader, after)
			if err != nil {
				t.Errorf("reader: %v", err)
				return
			}
			if len(marks) == 0 {
				if finished {
					return
				}
				time.Sleep(time.Millisecond)
				continue
			}
			pages = append(pages, page{marks, seqs})
			after = seqs[len(seqs)-1]
		}
	}()
	wg.Wait()
	close(done)
	<-readerDone

	total := len(stores) * workersPer * perWorker
	sum := 0
	require.NoError(t, reader.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for rec, err := range tx.Query(ctx, storage.Query{Kind: "counter", Terms: []string{"c=1"}}) {
			if err != nil {
				return err
			}
			v, err := strconv.Atoi(rec.Data)
			if err != nil {
				return err
			}
			assert.EqualValues(t, v+1, rec.Version, "one version per increment")
			sum += v
		}
		return nil
	}))
	require.Equal(t, total, sum, "no increment may be lost")

	seen := make(map[string]bool)
	var next int64 = 1
	for _, p := range pages {
		for i, m := range p.marks {
			require.Equal(t, next, p.seqs[i], "journal numbers count up without gaps in commit order")
			next++
			require.False(t, seen[m], "event %s read twice", m)
			seen[m] = true
		}
	}
	require.Len(t, seen, total, "every committed increment's event is read once")
	t.Logf("%d increments from 2 instances, %d conflicts retried, read in %d polls", total, conflicts, len(pages))
}

// TestSLMTwoInstances runs the SLA monitor of two instances over the same
// due timers at once: each threshold is fired, and journalled, once.
func TestSLMTwoInstances(t *testing.T) {
	dsn := freshSchema(t)
	start := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	clock := itil.ClockFunc(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	})
	engines := make([]*slm.Engine, 2)
	for i := range engines {
		e, err := slm.NewEngine(tenantOf(t, openIn(t, dsn), "acme"), slm.WithClock(clock))
		require.NoError(t, err)
		engines[i] = e
	}
	ctx := t.Context()
	_, err := engines[0].Define(ctx, itil.System, slm.Definition{
		Name: "Resolution", Type: slm.SLA, Metric: slm.Resolution, SubjectKind: "ticket", Selection: slm.FirstMatch,
		Targets: []slm.Target{{Name: "4h", Duration: 4 * time.Hour}},
		Start:   slm.Condition{States: []string{"new"}},
		Stop:    &slm.Condition{States: []string{"resolved"}},
	})
	require.NoError(t, err)
	ids := make([]itil.ID, 15)
	for i := range ids {
		ids[i] = itil.NewID()
		require.NoError(t, engines[0].Store().RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			return engines[0].Observe(ctx, tx, itil.System, itil.Snapshot{Kind: "ticket", ID: ids[i], State: "new", Priority: itil.P2, Time: start})
		}))
	}
	fireAt := start.Add(10 * time.Hour)
	var wg sync.WaitGroup
	counts := make([]int, len(engines))
	for i, e := range engines {
		wg.Go(func() {
			for range 3 {
				fired, err := e.Fire(ctx, fireAt)
				if err != nil && !errors.Is(err, itil.ErrConflict) {
					t.Error(err)
				}
				counts[i] += len(fired)
			}
		})
	}
	wg.Wait()
	fired, err := engines[1].Fire(ctx, fireAt)
	require.NoError(t, err)
	total := counts[0] + counts[1] + len(fired)
	thresholds := 3 // 50%, 75%, breach
	require.Equal(t, thresholds*len(ids), total, "each threshold fired once over both instances")
	perSubject := make(map[itil.ID]int)
	require.NoError(t, engines[0].Store().RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			if err != nil {
				return err
			}
			if ev.Type == slm.EventWarning || ev.Type == slm.EventBreached {
				// One event per subject written, listing its thresholds.
				var p slm.Thresholds
				if err := json.Unmarshal(ev.Payload, &p); err != nil {
					return err
				}
				perSubject[ev.SubjectID] += len(p.Reached)
			}
		}
		return nil
	}))
	for _, id := range ids {
		require.Equal(t, thresholds, perSubject[id], "threshold events of %s in the journal", id)
	}
	t.Logf("fired by instance: %d and %d, then %d", counts[0], counts[1], len(fired))
}

// TestMigrationsConcurrent opens one empty schema from several pools at
// once: every opener succeeds and each migration is applied once.
func TestMigrationsConcurrent(t *testing.T) {
	dsn := freshSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			b, err := Open(t.Context(), dsn)
			if err == nil {
				b.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	require.NoError(t, err)
	b := openIn(t, dsn, WithoutMigrations())
	var n int
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, len(files), n)
	// Reopening applies nothing again.
	openIn(t, dsn)
	require.NoError(t, b.pool.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n))
	require.Equal(t, len(files), n)
}

// TestUnreachable: a server that does not answer gives an error, not a
// hang. It needs no server.
func TestUnreachable(t *testing.T) {
	_, err := Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5")
	require.Error(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	require.Error(t, err)
	_, err = Open(t.Context(), "::not a dsn::")
	require.Error(t, err)
}

// TestContext: a cancelled context ends reads and commits with an error.
func TestContext(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		if _, err := tx.Put(ctx, storage.Record{Kind: "k", ID: itil.NewID(), Data: "{}"}); err != nil {
			return err
		}
		cancel()
		_, err := tx.Get(ctx, "k", itil.NewID())
		return err
	})
	require.ErrorIs(t, err, context.Canceled)
	err = s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}
