package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/sqlite"
)

func mustTenant(t testing.TB, b storage.Backend, name string) storage.Store {
	t.Helper()
	s, err := b.Tenant(name)
	require.NoError(t, err)
	return s
}

func putRecord(ctx context.Context, s storage.Store, id itil.ID) error {
	return s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, storage.Record{Kind: "thing", ID: id, Data: `{}`, Terms: []string{"a=1"}})
		return err
	})
}

// TestReopen: data and sequences survive closing the backend; migrations
// run once.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "itil.db")
	ctx := t.Context()
	id := itil.NewID()
	for round := range 3 {
		b, err := sqlite.Open(path)
		require.NoError(t, err)
		s := mustTenant(t, b, "t")
		if round == 0 {
			require.NoError(t, putRecord(ctx, s, id))
		}
		var n int64
		require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			if _, err := tx.Get(ctx, "thing", id); err != nil {
				return err
			}
			n, err = tx.NextSeq(ctx, "thing")
			return err
		}))
		require.EqualValues(t, round+1, n)
		require.NoError(t, b.Close())
	}
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var versions int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&versions))
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.Equal(t, len(files), versions, "each migration applied once")
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)
}

func TestWithoutMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "itil.db")
	_, err := sqlite.Open(path, sqlite.WithoutMigrations())
	require.Error(t, err, "an empty database without migrations has no schema")
	b, err := sqlite.Open(path)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	b, err = sqlite.Open(path, sqlite.WithoutMigrations(), sqlite.WithSynchronous(sqlite.Normal))
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, putRecord(t.Context(), mustTenant(t, b, "t"), itil.NewID()))
}

func TestOpenInvalidPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "a?b"} {
		_, err := sqlite.Open(p)
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v, "path %q", p)
	}
	_, err := sqlite.Open(filepath.Join(t.TempDir(), "missing", "dir", "itil.db"))
	require.Error(t, err)
}

// TestWriterWaitRespectsContext: a writer waiting for the writer lock gives
// up when its context ends, and the closed backend's waiters get
// storage.ErrClosed.
func TestWriterWaitRespectsContext(t *testing.T) {
	b := open(t)
	s := mustTenant(t, b, "t")
	holding, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			if _, err := tx.NextSeq(ctx, "n"); err != nil { // now the writer
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := putRecord(ctx, s, itil.NewID())
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A read-only transaction does not wait for the writer.
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Get(ctx, "thing", itil.NewID())
		if errors.Is(err, itil.ErrNotFound) {
			return nil
		}
		return err
	}))

	waiting := make(chan error, 1)
	go func() { waiting <- putRecord(context.Background(), s, itil.NewID()) }()
	time.Sleep(20 * time.Millisecond) // let it queue for the lock (either way it must end)
	require.NoError(t, b.Close())
	require.ErrorIs(t, <-waiting, storage.ErrClosed)
	close(release)
	require.ErrorIs(t, <-held, storage.ErrClosed)
}

// TestSamePathTwoBackends: backends opened on the same file in one process
// share the writer lock, so concurrent writers through both never see
// "database is locked", only conflicts they retry.
func TestSamePathTwoBackends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "itil.db")
	var stores []storage.Store
	for range 2 {
		b, err := sqlite.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		stores = append(stores, mustTenant(t, b, "t"))
	}
	ctx := t.Context()
	id := itil.NewID()
	require.NoError(t, putRecord(ctx, stores[0], id))
	const workers, increments = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := stores[w%2]
		wg.Go(func() {
			for range increments {
				for {
					err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
						rec, err := tx.Get(ctx, "thing", id)
						if err != nil {
							return err
						}
						_, err = tx.Put(ctx, rec)
						return err
					})
					if errors.Is(err, itil.ErrConflict) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, stores[1].RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		rec, err := tx.Get(ctx, "thing", id)
		require.NoError(t, err)
		require.EqualValues(t, 1+workers*increments, rec.Version, "no lost update")
		return nil
	}))
}

// openEnv carries the database path to the children of
// TestConcurrentOpenProcesses.
const openEnv = "ITIL_SQLITE_OPEN_DB"

// TestConcurrentOpenProcesses: several processes open a new database file
// at the same moment; the migrations apply once and every process can
// write.
func TestConcurrentOpenProcesses(t *testing.T) {
	if os.Getenv(openEnv) != "" || os.Getenv(crashEnv) != "" {
		t.Skip("in a child")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	const procs = 3
	var cmds []*exec.Cmd
	outs := make([]*strings.Builder, procs)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), openEnv+"="+path)
		outs[i] = new(strings.Builder)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Start())
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "child %d:\n%s", i, outs[i])
	}
	b, err := sqlite.Open(path)
	require.NoError(t, err)
	defer b.Close()
	svc, err := incident.New(mustTenant(t, b, "t"))
	require.NoError(t, err)
	page, _, err := svc.ListPage(t.Context(), incident.Filter{}, 100, "")
	require.NoError(t, err)
	require.Len(t, page, procs*5)
}

// TestOpenChild is a child of TestConcurrentOpenProcesses.
func TestOpenChild(t *testing.T) {
	path := os.Getenv(openEnv)
	if path == "" {
		t.Skip("runs as a child of TestConcurrentOpenProcesses")
	}
	b, err := sqlite.Open(path)
	require.NoError(t, err)
	defer b.Close()
	svc, err := incident.New(mustTenant(t, b, "t"))
	require.NoError(t, err)
	for range 5 {
		_, err := svc.Open(t.Context(), itil.Actor{ID: "p"}, incident.NewIncident{
			Title: "from a child", Caller: itil.Actor{ID: "c"}, Category: "c", Channel: incident.Phone, Impact: 3, Urgency: 3,
		})
		require.NoError(t, err)
	}
}
