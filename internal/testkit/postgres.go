package testkit

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

var (
	adminMu   sync.Mutex
	admins    = map[string]*pgxpool.Pool{}
	schemaSeq atomic.Int64
)

// PostgresAdmin returns the connection pool to the PostgreSQL server of
// dsn that tests share for creating and dropping schemas and for watching
// the server; one per server DSN, for the whole test binary.
func PostgresAdmin(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	adminMu.Lock()
	defer adminMu.Unlock()
	if admin, ok := admins[dsn]; ok {
		return admin
	}
	admin, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err, "connect to the PostgreSQL server")
	admins[dsn] = admin
	return admin
}

// FreshSchema creates an empty schema, named prefix_<pid>_<n>, on the
// PostgreSQL server of dsn for one test or benchmark, drops it when t
// ends (unless the test dropped it before), and returns a DSN whose connections use it (search_path) and the
// schema's name.
func FreshSchema(t testing.TB, dsn, prefix string) (schemaDSN, name string) {
	t.Helper()
	admin := PostgresAdmin(t, dsn)
	name = fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), schemaSeq.Add(1))
	_, err := admin.Exec(context.Background(), `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`)
		require.NoError(t, err)
	})
	return WithDSNParam(dsn, "search_path", name), name
}
