// Storage backends: every process takes one tenant's Store of any
// backend. Set ITIL_POSTGRES_DSN to try PostgreSQL too.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/postgres"
	"github.com/itilkit/itil/storage/sqlite"
)

func main() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "itil")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	backends := map[string]func() (storage.Backend, error){
		// In memory: tests, teaching, the default.
		"memory": func() (storage.Backend, error) { return memory.New(), nil },
		// One file, no server, pure Go (WAL, synchronous FULL).
		"sqlite": func() (storage.Backend, error) { return sqlite.Open(filepath.Join(dir, "itil.db")) },
	}
	if dsn := os.Getenv("ITIL_POSTGRES_DSN"); dsn != "" {
		// Several application instances on one database.
		backends["postgres"] = func() (storage.Backend, error) { return postgres.Open(ctx, dsn) }
	}
	for _, name := range []string{"memory", "sqlite", "postgres"} {
		open, ok := backends[name]
		if !ok {
			continue
		}
		b, err := open()
		if err != nil {
			log.Fatal(err)
		}
		store, err := b.Tenant("acme") // every process package takes a tenant's Store
		if err != nil {
			log.Fatal(err)
		}
		svc, err := incident.New(store)
		if err != nil {
			log.Fatal(err)
		}
		n := 0
		for _, err := range svc.List(ctx, incident.Filter{}) {
			if err != nil {
				log.Fatal(err)
			}
			n++
		}
		fmt.Println(name, "holds", n, "incidents")
		if err := b.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
