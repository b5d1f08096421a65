// Package store opens the storage backend an example's -store flag names,
// so every example runs on any backend:
//
//	go run ./examples/sla                                   # in memory (the default)
//	go run ./examples/sla -store sqlite:/tmp/itil.db        # one SQLite file
//	go run ./examples/sla -store postgres://app@db/itil     # a PostgreSQL database
//
// The quickstart does not use it: it stays in memory so that it links no
// database driver.
package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/postgres"
	"github.com/itilkit/itil/storage/sqlite"
)

// Flag registers the -store flag on the command line's flag set.
func Flag() *string {
	return flag.String("store", "memory", "where to keep the data: memory, sqlite:PATH or a postgres:// DSN")
}

// Open returns a new tenant of the backend spec names ("memory",
// "sqlite:PATH", or a "postgres://" or "postgresql://" DSN) and a function
// that closes the backend. Each run gets a tenant of its own, named after
// the example and the run, so a run on a database an earlier run filled
// starts empty and prints the same.
func Open(ctx context.Context, spec, example string) (storage.Store, func() error, error) {
	b, err := OpenBackend(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	s, err := b.Tenant(example + "-" + itil.NewID().String())
	if err != nil {
		return nil, nil, errors.Join(err, b.Close())
	}
	return s, b.Close, nil
}

// OpenBackend opens the backend spec names, for a program that keeps its
// tenants from run to run (the service desk names them after its
// callers' organisations).
func OpenBackend(ctx context.Context, spec string) (storage.Backend, error) {
	switch {
	case spec == "" || spec == "memory":
		return memory.New(), nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("-store %q: sqlite: needs a file path, such as sqlite:itil.db", spec)
		}
		b, err := sqlite.Open(path)
		if err != nil {
			return nil, err // not a nil *Backend in the interface
		}
		return b, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		b, err := postgres.Open(ctx, spec)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("-store %q: want memory, sqlite:PATH or a postgres:// DSN", spec)
}
