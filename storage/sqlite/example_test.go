package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/sqlite"
)

// Open a database file, scope it to a tenant and run incident management
// on it; the incident survives closing and reopening the file.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "itil-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "itil.db")

	b, err := sqlite.Open(path) // WAL, synchronous FULL, schema migrated
	if err != nil {
		log.Fatal(err)
	}
	store, err := b.Tenant("acme")
	if err != nil {
		log.Fatal(err)
	}
	svc, err := incident.New(store)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	inc, err := svc.Open(ctx, itil.Actor{ID: "alice"}, incident.NewIncident{
		Title: "VPN drops every hour", Caller: itil.Actor{ID: "bob"},
		Category: "network", Channel: incident.Portal, Impact: 2, Urgency: 2,
	})
	if err != nil {
		log.Fatal(err)
	}
	b.Close()

	b, err = sqlite.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	store, _ = b.Tenant("acme")
	svc, _ = incident.New(store)
	again, err := svc.Get(ctx, inc.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.Number, again.Title, again.State)
	// Output: INC0001001 VPN drops every hour new
}
