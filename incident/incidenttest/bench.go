package incidenttest

import (
	"context"
	"testing"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/benchkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// The unit of work the speed of the incident service and of every storage
// backend is measured on, shared by their benchmarks so they measure the
// same thing.
var (
	BenchActor    = itil.Actor{ID: "agent", Name: "Alex Agent"}
	BenchIncident = incident.NewIncident{
		Title: "Email is down for the finance floor", Description: "Outlook cannot connect since 9:00",
		Caller: itil.Actor{ID: "caller", Name: "Casey Caller"}, Category: "email", Subcategory: "outlook",
		Channel: incident.Phone, ServiceID: itil.NewID(), CIID: itil.NewID(), Impact: 2, Urgency: 1,
	}
)

// OpenAndAssign opens BenchIncident and assigns it to an engineer, which
// starts work: an incident created and one state transition, each command
// its own transaction.
func OpenAndAssign(ctx context.Context, svc *incident.Service) error {
	inc, err := svc.Open(ctx, BenchActor, BenchIncident)
	if err != nil {
		return err
	}
	_, err = svc.Assign(ctx, BenchActor, inc.ID, "messaging", "alex")
	return err
}

// Writes runs op once on a memory store and returns what each of its
// transactions that wrote anything wrote, in commit order: the work a
// benchmark's raw side replays.
func Writes(tb testing.TB, op func(context.Context, *incident.Service) error) []storagetest.Written {
	tb.Helper()
	return benchkit.Writes(tb, func(tb testing.TB, store storage.Store) func(context.Context) error {
		svc, err := incident.New(store)
		if err != nil {
			tb.Fatal(err)
		}
		return func(ctx context.Context) error { return op(ctx, svc) }
	})
}
