package incidenttest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
)

// OneProcessWriters runs 32 goroutines × 100 commands of one process on
// one incident: assignments, which write it, and work notes, records
// apart that read it. It is for a backend that makes the transactions
// the pipeline marks with storage.Writing wait for each other (SQLite):
// every command succeeds, and the history holds exactly one event per
// command. A backend that stays optimistic within a process (memory,
// PostgreSQL) need not pass it.
func OneProcessWriters(t *testing.T, store storage.Store) {
	svc, err := incident.New(store)
	require.NoError(t, err)
	inc, err := svc.Open(t.Context(), agent, basic("busy incident"))
	require.NoError(t, err)
	const writers, each = 32, 100
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				var err error
				if i%2 == 0 {
					_, err = svc.Assign(t.Context(), agent, inc.ID, fmt.Sprintf("group-%d-%d", w, i), "")
				} else {
					_, err = svc.WorkNote(t.Context(), agent, inc.ID, fmt.Sprintf("writer %d note %d", w, i))
				}
				if err != nil && failed.Add(1) <= 5 {
					t.Errorf("writer %d, command %d: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d commands in %v, %d failed", writers*each, time.Since(start).Round(time.Millisecond), failed.Load())
	require.Zero(t, failed.Load())
	h, err := svc.History(t.Context(), inc.ID)
	require.NoError(t, err)
	require.Len(t, h, 1+writers*each, "one event per command, none lost")
	got, err := svc.Get(t.Context(), inc.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1+writers*each/2, got.Version, "one version per assignment")
}
