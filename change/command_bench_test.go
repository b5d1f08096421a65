package change_test

import (
	"context"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/benchkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// BenchmarkCommand times change commands through the Service on the memory
// backend beside their raw limit, as incident's benchmarks do: the same
// records the command writes (recorded from one run of it), JSON-encoded
// and put in a map, in the same loop. Each "service" line reports x-limit,
// the command's time divided by the limit's (target: at most 3, as for
// incidents):
//
//	go test ./change -run '^$' -bench Command -benchtime 2s
//
// Each command runs on one open change and undoes itself on the next run,
// so that the loop can repeat it: update sets the title to one of two
// texts, assign hands the change to one of two members of its group, and
// move takes it between New and Scheduled of benchModel (the default
// models' moves request approvals or open tasks, records of other kinds).
func BenchmarkCommand(b *testing.B) {
	titles := [2]string{"Upgrade the mail relay", "Upgrade the mail relay to Postfix 3.9"}
	assignees := [2]string{"mia", "max"}
	moves := [2]string{"plan", "replan"}
	commands := []struct {
		name string
		run  func(ctx context.Context, svc *change.Service, id itil.ID, i int) error
	}{
		{"update", func(ctx context.Context, svc *change.Service, id itil.ID, i int) error {
			_, err := svc.Update(ctx, benchActor, id, change.Patch{Title: &titles[(i+1)%2]})
			return err
		}},
		{"assign", func(ctx context.Context, svc *change.Service, id itil.ID, i int) error {
			_, err := svc.Assign(ctx, benchActor, id, "messaging", assignees[(i+1)%2])
			return err
		}},
		{"move", func(ctx context.Context, svc *change.Service, id itil.ID, i int) error {
			_, err := svc.Move(ctx, benchActor, id, moves[i%2])
			return err
		}},
	}
	for _, c := range commands {
		b.Run(c.name, func(b *testing.B) {
			// command opens a change on store and returns the command on
			// it, each run the next of the pair.
			command := func(tb testing.TB, store storage.Store) func(context.Context) error {
				svc, id := benchChange(tb, store)
				i := 0
				return func(ctx context.Context) error {
					err := c.run(ctx, svc, id, i)
					i++
					return err
				}
			}
			writes := benchkit.Records[change.Change](b, benchkit.Writes(b, command), change.Kind)
			benchkit.Compare(b,
				func() func() {
					return benchkit.Limit(writes, func(ch *change.Change) *itil.ID { return &ch.ID }, nil)
				},
				func(b *testing.B) func(context.Context) error { return command(b, memory.NewStore()) })
		})
	}
}

var benchActor = itil.Actor{ID: "rita", Name: "Rita Requester"}

// benchModel is a model of the application's own whose changes go back
// and forth between New and Scheduled (plan, replan), planned times
// required in Scheduled.
var benchModel = change.Model{
	Name: "bench",
	Transitions: []itil.Transition[change.State]{
		{Event: "plan", From: []change.State{change.StateNew}, To: change.StateScheduled},
		{Event: "replan", From: []change.State{change.StateScheduled}, To: change.StateNew},
		{Event: change.MoveClose, From: []change.State{change.StateScheduled}, To: change.StateClosed},
		{Event: change.MoveCancel, From: []change.State{change.StateNew, change.StateScheduled}, To: change.StateCanceled},
	},
	PlannedStates: []change.State{change.StateScheduled},
}

// benchChange returns a Service on store and a change of benchModel it
// opened, assigned to messaging/mia, with planned times.
func benchChange(tb testing.TB, store storage.Store) (*change.Service, itil.ID) {
	tb.Helper()
	svc, err := change.New(store, change.WithModels(benchModel))
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	ch, err := svc.Open(context.Background(), benchActor, change.NewChange{
		Model: benchModel.Name, Title: "Upgrade the mail relay",
		Description:    "The relay runs Postfix 3.4, out of support since January.",
		Implementation: "apt upgrade postfix on relay-1, then relay-2", Backout: "apt install postfix=3.4",
		AssignmentGroup: "messaging", Assignee: "mia", Impact: 2,
		PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, ch.ID
}
