package slm_test

import (
	"context"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"

	"github.com/itilkit/itil/slm/slmtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

func TestSLMOnMemory(t *testing.T) {
	slmtest.Run(t, storagetest.SameStore(func(testing.TB) storage.Store { return memory.NewStore() }))
}

// countingTx counts the records queries hand out.
type countingTx struct {
	storage.Tx
	n *atomic.Int64
}

func (tx countingTx) Query(ctx context.Context, q storage.Query) iter.Seq2[storage.Record, error] {
	return func(yield func(storage.Record, error) bool) {
		for r, err := range tx.Tx.Query(ctx, q) {
			if q.Kind == slm.KindSubject {
				tx.n.Add(1)
			}
			if !yield(r, err) {
				return
			}
		}
	}
}

// TestDueUsesTheIndex checks that Due reads the subjects due, not all.
func TestDueUsesTheIndex(t *testing.T) {
	var n atomic.Int64
	start := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	store := testkit.WrapTx(memory.NewStore(), func(tx storage.Tx) storage.Tx { return countingTx{tx, &n} })
	eng, err := slm.NewEngine(store, slm.WithClock(itil.ClockFunc(func() time.Time { return start })))
	require.NoError(t, err)
	admin := itil.Actor{ID: "admin"}
	_, err = eng.Define(t.Context(), admin, slm.Definition{
		Name: "Resolution", Type: slm.SLA, Metric: slm.Resolution, SubjectKind: "ticket", Selection: slm.FirstMatch,
		Targets: []slm.Target{{Name: "1h", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: time.Hour},
			{Name: "1w", Duration: 7 * 24 * time.Hour}},
		Start: slm.Condition{States: []string{"open"}}, Stop: &slm.Condition{States: []string{"done"}},
	})
	require.NoError(t, err)
	for i := range 500 {
		p := itil.P3
		if i%100 == 0 {
			p = itil.P1
		}
		require.NoError(t, store.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			return eng.Observe(ctx, tx, admin, itil.Snapshot{Kind: "ticket", ID: itil.NewID(), State: "open", Priority: p, Time: start})
		}))
	}
	n.Store(0)
	due, err := eng.Due(t.Context(), start.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Len(t, due, 5)
	assert.Equal(t, int64(5), n.Load(), "Due read subjects that were not due")
}
