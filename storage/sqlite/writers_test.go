package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/sqlite"
)

var (
	agent  = itil.Actor{ID: "agent", Name: "Alex Agent"}
	caller = itil.Actor{ID: "caller", Name: "Casey Caller"}
)

func openIncident(t *testing.T, svc *incident.Service) *incident.Incident {
	t.Helper()
	inc, err := svc.Open(t.Context(), agent, incident.NewIncident{Title: "busy incident", Caller: caller,
		Channel: incident.Phone, Impact: 2, Urgency: 2, Category: "network"})
	require.NoError(t, err)
	return inc
}

// command runs the i-th command of writer w on the incident: an
// assignment to a group no other command names (it writes the incident)
// or a work note (a record apart, which reads the incident).
func command(ctx context.Context, svc *incident.Service, id itil.ID, w, i int) (assigned bool, err error) {
	if i%2 == 0 {
		_, err = svc.Assign(ctx, agent, id, fmt.Sprintf("group-%d-%d", w, i), "")
		return true, err
	}
	_, err = svc.WorkNote(ctx, agent, id, fmt.Sprintf("writer %d note %d", w, i))
	return false, err
}

// requireHistory requires that the incident's history holds its opening
// and one event per command that succeeded, and that its version counts
// the assignments.
func requireHistory(t *testing.T, svc *incident.Service, id itil.ID, commands, assigns int) {
	t.Helper()
	h, err := svc.History(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, h, 1+commands, "one event per command, none lost")
	inc, err := svc.Get(t.Context(), id)
	require.NoError(t, err)
	require.EqualValues(t, 1+assigns, inc.Version, "one version per assignment")
}

// TestWritersOfOneProcessWait: commands of one process on one incident
// take the writer lock before they read, so they wait their turn instead
// of conflicting: every one succeeds.
func TestWritersOfOneProcessWait(t *testing.T) {
	incidenttest.OneProcessWriters(t, tenantStore(t))
}

// twoProcesses opens one database file twice with writer locks of their
// own, as two processes have: the second through a symbolic link, which
// the backend does not resolve.
func twoProcesses(t *testing.T) (first, second storage.Store) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "itil.db")
	link := filepath.Join(dir, "link.db")
	var stores [2]storage.Store
	for i, p := range []string{path, link} {
		b, err := sqlite.Open(p)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		stores[i] = mustTenant(t, b, "default")
		if i == 0 {
			require.NoError(t, os.Symlink(path, link))
		}
	}
	return stores[0], stores[1]
}

// counting counts the transactions that fail with a conflict, those the
// pipeline retries included.
type counting struct {
	storage.Store
	conflicts *atomic.Int64
}

func (c counting) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	err := c.Store.RunInTx(ctx, fn)
	if errors.Is(err, itil.ErrConflict) {
		c.conflicts.Add(1)
	}
	return err
}

// TestWritersOfTwoProcessesConflict: the writer lock is the process's; a
// transaction marked as a writer's still meets another process's commit
// at its optimistic check, with itil.ErrConflict, and nothing is lost.
func TestWritersOfTwoProcessesConflict(t *testing.T) {
	first, second := twoProcesses(t)
	ctx := storage.Writing(t.Context())
	id := itil.NewID()
	require.NoError(t, putRecord(ctx, first, id))

	// First reads, holding its process's lock; second commits a change
	// of the record meanwhile; first's write then conflicts.
	err := first.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		rec, err := tx.Get(ctx, "thing", id)
		if err != nil {
			return err
		}
		if err := second.RunInTx(storage.Writing(t.Context()), func(ctx context.Context, tx storage.Tx) error {
			rec, err := tx.Get(ctx, "thing", id)
			if err != nil {
				return err
			}
			_, err = tx.Put(ctx, rec)
			return err
		}); err != nil {
			return fmt.Errorf("the other process: %w", err)
		}
		_, err = tx.Put(ctx, rec)
		return err
	})
	require.ErrorIs(t, err, itil.ErrConflict)

	// Commands through both, on one incident: conflicts between the
	// processes come back as itil.ErrConflict, and none of the commands
	// that succeeded is lost.
	var retried atomic.Int64
	svcs := make([]*incident.Service, 2)
	for i, s := range []storage.Store{first, second} {
		svcs[i], err = incident.New(counting{s, &retried})
		require.NoError(t, err)
	}
	inc := openIncident(t, svcs[0])
	const writers, each = 8, 25
	var commands, assigns, conflicts, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		svc := svcs[w%2]
		wg.Go(func() {
			for i := range each {
				assigned, err := command(t.Context(), svc, inc.ID, w, i)
				switch {
				case err == nil:
					commands.Add(1)
					if assigned {
						assigns.Add(1)
					}
				case errors.Is(err, itil.ErrConflict):
					conflicts.Add(1)
				default:
					if failed.Add(1) <= 5 {
						t.Errorf("writer %d, command %d: %v", w, i, err)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d commands succeeded, %d failed with a conflict; %d transactions conflicted in all",
		commands.Load(), conflicts.Load(), retried.Load())
	require.Zero(t, failed.Load())
	requireHistory(t, svcs[1], inc.ID, int(commands.Load()), int(assigns.Load()))
}

// TestWritingWaitRespectsContext: a transaction marked as a writer's
// waits for the lock before fn runs, as long as its context lets it; a
// transaction that is not marked reads meanwhile, and so does a RunInTx
// inside the holder's fn (against the contract, but it must not wait for
// itself).
func TestWritingWaitRespectsContext(t *testing.T) {
	s := tenantStore(t)
	holding, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.RunInTx(storage.Writing(t.Context()), func(ctx context.Context, tx storage.Tx) error {
			// Nested, and marked through ctx: it must not wait.
			if err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
				_, err := tx.LastSeq(ctx)
				return err
			}); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithCancel(storage.Writing(t.Context()))
	ran := false
	waited := make(chan error, 1)
	go func() {
		waited <- s.RunInTx(ctx, func(context.Context, storage.Tx) error {
			ran = true
			return nil
		})
	}()
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.LastSeq(ctx)
		return err
	}), "a transaction that is not marked does not wait")
	cancel()
	require.ErrorIs(t, <-waited, context.Canceled)
	require.False(t, ran, "fn runs once the lock is taken")
	close(release)
	require.NoError(t, <-held)
}

// TestCommandInsideACommand: an authorizer that runs another command with
// the context it was given (a command inside a command's transaction,
// against the contract) worked before commands took the writer lock
// early, and still does: the inner transaction writes under the lock of
// the outer one, which waits for it. Once the outer one has written, an
// inner write fails at once instead of waiting for ever.
func TestCommandInsideACommand(t *testing.T) {
	s := tenantStore(t)
	audit, err := incident.New(s)
	require.NoError(t, err)
	log := openIncident(t, audit)
	svc, err := incident.New(s, incident.WithAuthorizer(func(ctx context.Context, actor itil.Actor, command string, _ *incident.Incident) error {
		if command != incident.CommandOpen {
			return nil
		}
		_, err := audit.WorkNote(ctx, actor, log.ID, "authorized "+command)
		return err
	}))
	require.NoError(t, err)
	inc := openIncident(t, svc)
	h, err := audit.History(t.Context(), log.ID)
	require.NoError(t, err)
	require.Len(t, h, 2, "the inner command's note is stored")
	_, err = svc.Get(t.Context(), inc.ID)
	require.NoError(t, err, "and so is the outer command's incident")

	err = s.RunInTx(storage.Writing(t.Context()), func(ctx context.Context, tx storage.Tx) error {
		if _, err := tx.NextSeq(ctx, "outer"); err != nil {
			return err
		}
		if _, err := tx.Put(ctx, storage.Record{Kind: "outer", ID: itil.NewID(), Data: "{}"}); err != nil {
			return err
		}
		_, err := audit.WorkNote(ctx, agent, log.ID, "after the outer write")
		return err
	})
	require.Error(t, err, "an inner write after the outer one's fails at once")
	require.NotErrorIs(t, err, itil.ErrConflict, "a misuse, not a conflict to retry")
	h, err = audit.History(t.Context(), log.ID)
	require.NoError(t, err)
	require.Len(t, h, 2, "nothing of it was stored")
}
