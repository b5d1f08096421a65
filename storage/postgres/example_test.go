package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/postgres"
)

// ExampleOpen opens the backend from a DSN (here from ITIL_POSTGRES_DSN),
// scopes it to a tenant and runs the incident process on it. Several
// application instances may open the same database at once.
func ExampleOpen() {
	ctx := context.Background()
	b, err := postgres.Open(ctx, os.Getenv("ITIL_POSTGRES_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	store, err := b.Tenant("acme")
	if err != nil {
		log.Fatal(err)
	}
	svc, err := incident.New(store)
	if err != nil {
		log.Fatal(err)
	}
	inc, err := svc.Open(ctx, itil.Actor{ID: "alice"}, incident.NewIncident{
		Title: "VPN drops every hour", Caller: itil.Actor{ID: "bob"}, Channel: incident.Portal,
		Impact: 2, Urgency: 2,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inc.Number, inc.State)
}

// ExampleWithSequenceCache opens a backend that reserves every incident
// number on its own, so numbers follow creation order across all
// instances even when they are busy (each instance must be opened so).
func ExampleWithSequenceCache() {
	b, err := postgres.Open(context.Background(), os.Getenv("ITIL_POSTGRES_DSN"), postgres.WithSequenceCache(1))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
}
