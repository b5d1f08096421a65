package incident_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// hookStore runs hook once, just before the first transaction Puts an
// slm.subject record while armed.
type hookStore struct {
	storage.Store
	armed *atomic.Bool
	hook  func()
}

func (s *hookStore) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	return s.Store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		return fn(ctx, hookTx{tx, s})
	})
}

type hookTx struct {
	storage.Tx
	s *hookStore
}

func (tx hookTx) Put(ctx context.Context, r storage.Record) (int64, error) {
	if r.Kind == slm.KindSubject && tx.s.armed.CompareAndSwap(true, false) {
		done := make(chan struct{})
		go func() { tx.s.hook(); close(done) }()
		<-done
	}
	return tx.Tx.Put(ctx, r)
}

// Regression: the SLA monitor firing a warning made a concurrent incident
// command fail with ErrConflict although the incident had not changed; the
// command is now run again.
func TestRegressionMonitorBreaksIncidentCommands(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clk := itil.ClockFunc(func() time.Time { return now })
	hs := &hookStore{Store: memory.NewStore(), armed: new(atomic.Bool)}
	eng, err := slm.NewEngine(hs, slm.WithClock(clk))
	require.NoError(t, err)
	_, err = eng.Define(t.Context(), itil.Actor{ID: "admin"}, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "8h", Duration: 8 * time.Hour}))
	require.NoError(t, err)
	svc, err := incident.New(hs, incident.WithClock(clk), incident.WithHook(eng))
	require.NoError(t, err)
	agent := itil.Actor{ID: "agent", Name: "A"}
	inc, err := svc.Open(t.Context(), agent, incident.NewIncident{Title: "x", Caller: itil.Actor{ID: "c", Name: "C"},
		Channel: incident.Phone, Impact: 2, Urgency: 2, Category: "network"})
	require.NoError(t, err)

	now = now.Add(5 * time.Hour) // 50% reached at 13:00
	var fired int
	hs.hook = func() {
		f, err := eng.Fire(context.Background(), now)
		require.NoError(t, err)
		fired = len(f)
	}
	hs.armed.Store(true)
	_, err = svc.Assign(t.Context(), agent, inc.ID, "network", "sam")
	require.Equal(t, 1, fired)
	require.NoError(t, err, "the monitor's write conflicted with the incident command")
}
