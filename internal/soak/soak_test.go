package soak

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/postgres"
	"github.com/itilkit/itil/storage/sqlite"
)

// soakFor is how long the workload runs on each backend. Without it the
// run is short, so that a plain go test ./... stays quick.
var soakFor = flag.Duration("soak", 0, "how long the soak workload runs on each backend (default: a short run of "+shortRun.String()+")")

const shortRun = 2 * time.Second

func runFor() time.Duration {
	if *soakFor > 0 {
		return *soakFor
	}
	return shortRun
}

func TestSoakMemory(t *testing.T) {
	s := memory.NewStore()
	soak(t, "memory", s, s)
}

func TestSoakSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soak.db")
	var stores [2]storage.Store
	for i := range stores {
		b, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		if stores[i], err = b.Tenant("soak"); err != nil {
			t.Fatal(err)
		}
	}
	soak(t, "sqlite", stores[0], stores[1])
}

// dsnEnv names the variable the PostgreSQL run reads the server from, as
// storage/postgres's tests do.
const dsnEnv = "ITIL_POSTGRES_DSN"

func TestSoakPostgres(t *testing.T) {
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(dsnEnv + " is not set: the PostgreSQL soak needs a server where the user may create schemas, e.g. " +
			dsnEnv + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable (.ci/run starts a throwaway cluster and sets it)")
	}
	ctx := context.Background()
	dsn, _ = testkit.FreshSchema(t, dsn, "itilsoak")
	var stores [2]storage.Store
	for i := range stores {
		b, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		if stores[i], err = b.Tenant("soak"); err != nil {
			t.Fatal(err)
		}
	}
	soak(t, "postgres", stores[0], stores[1])
}
