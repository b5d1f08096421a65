package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change/changetest"
	"github.com/itilkit/itil/cmdb/cmdbtest"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/lifecycle/lifecycletest"
	"github.com/itilkit/itil/problem/problemtest"
	"github.com/itilkit/itil/slm/slmtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed/feedtest"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy/strategytest"
)

// dsnEnv names the variable the tests read the server's DSN from.
const dsnEnv = "ITIL_POSTGRES_DSN"

// serverDSN returns the DSN of the test server, or skips the test.
func serverDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(dsnEnv + " is not set: to run the PostgreSQL tests, point it at a server where the user may " +
			"create schemas, e.g. " + dsnEnv + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable " +
			"(.ci/run starts a throwaway cluster and sets it)")
	}
	return dsn
}

// freshSchema creates an empty schema for one test (dropped when the test
// ends) and returns a DSN whose connections use it.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn, _ := testkit.FreshSchema(t, serverDSN(t), "itiltest")
	return dsn
}

// serverAdmin is the tests' shared pool to the server, for watching it.
func serverAdmin(t testing.TB) *pgxpool.Pool { return testkit.PostgresAdmin(t, serverDSN(t)) }

// openIn opens a backend on dsn and closes it when the test ends (Close is
// idempotent, so tests and suites may close it earlier).
func openIn(t testing.TB, dsn string, opts ...Option) *Backend {
	t.Helper()
	b, err := Open(context.Background(), dsn, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// newBackend opens a backend on a fresh, empty schema.
func newBackend(t testing.TB) *Backend { return openIn(t, freshSchema(t)) }

// instances opens one fresh schema twice (two pools), as two application
// instances would.
func instances(t testing.TB) (storage.Store, storage.Store) {
	// The suites' model tests open a pair per rapid check and close them
	// when the whole test ends: idle connections are let go quickly so
	// that a hundred checks stay within the server's connection limit.
	dsn := testkit.WithDSNParam(testkit.WithDSNParam(freshSchema(t), "pool_max_conn_idle_time", "1s"), "pool_health_check_period", "250ms")
	a, err := openIn(t, dsn).Tenant("default")
	require.NoError(t, err)
	b, err := openIn(t, dsn).Tenant("default")
	require.NoError(t, err)
	return a, b
}

func newStore(t testing.TB) storage.Store {
	s, err := newBackend(t).Tenant("default")
	require.NoError(t, err)
	return s
}

// suiteBackend opens a backend on a fresh schema for a suite that closes
// its backends itself (storagetest.Factory).
func suiteBackend(t *testing.T) storage.Backend {
	b, err := Open(t.Context(), freshSchema(t))
	require.NoError(t, err)
	return b
}

func TestConformance(t *testing.T) {
	serverDSN(t)
	storagetest.Run(t, suiteBackend)
}

func TestIncident(t *testing.T) {
	serverDSN(t)
	incidenttest.Run(t, instances)
}

func TestProblem(t *testing.T) {
	serverDSN(t)
	problemtest.Run(t, instances)
}

func TestChange(t *testing.T) {
	serverDSN(t)
	changetest.Run(t, instances)
}

func TestLifecycle(t *testing.T) {
	serverDSN(t)
	lifecycletest.Run(t, instances)
}

func TestStrategy(t *testing.T) {
	serverDSN(t)
	strategytest.Run(t, instances)
}

func TestSLM(t *testing.T) {
	serverDSN(t)
	slmtest.Run(t, instances)
}

func TestCMDB(t *testing.T) {
	serverDSN(t)
	cmdbtest.Run(t, instances)
}

func TestFeed(t *testing.T) {
	serverDSN(t)
	feedtest.Run(t, suiteBackend)
}

// TestFeedTwoBackends: instances of one consumer on two backends opened on
// the same database, as two application instances would.
func TestFeedTwoBackends(t *testing.T) {
	serverDSN(t)
	feedtest.RunTwoStores(t, instances)
}

// TestCreatedAndUpdatedInOneTx: a record created and updated by one
// transaction is stored at version 2 (found by the model-based test).
func TestCreatedAndUpdatedInOneTx(t *testing.T) {
	s := newStore(t)
	id := itil.NewID()
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		v, err := tx.Put(ctx, storage.Record{Kind: "k", ID: id, Data: "a", SortKey: "c"})
		if err != nil {
			return err
		}
		_, err = tx.Put(ctx, storage.Record{Kind: "k", ID: id, Version: v, Data: "b", SortKey: "b"})
		return err
	}))
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		rec, err := tx.Get(ctx, "k", id)
		require.NoError(t, err)
		require.EqualValues(t, 2, rec.Version)
		require.Equal(t, "b", rec.Data)
		return nil
	}))
}

// TestCreateCheckedAtCommit: a create of a record the transaction has not
// read costs no round trip; when the record exists, Put succeeds and the
// commit fails with ErrConflict, writing nothing.
func TestCreateCheckedAtCommit(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id := itil.NewID()
	put := func(data string) error {
		return s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			if _, err := tx.Put(ctx, storage.Record{Kind: "k", ID: id, Data: data}); err != nil {
				t.Errorf("Put: %v (a create of an unread record is checked at commit)", err)
			}
			if err := tx.Append(ctx, itil.Event{Kind: "k", SubjectID: id, Type: "created"}); err != nil {
				return err
			}
			return nil
		})
	}
	require.NoError(t, put("first"))
	require.ErrorIs(t, put("second"), itil.ErrConflict)
	require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		rec, err := tx.Get(ctx, "k", id)
		require.NoError(t, err)
		require.Equal(t, "first", rec.Data)
		n := 0
		for _, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			require.NoError(t, err)
			n++
		}
		require.Equal(t, 1, n, "the failed commit appended nothing")
		return nil
	}))
}
