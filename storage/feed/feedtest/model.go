package feedtest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
	"github.com/itilkit/itil/storage/storagetest"
)

// errHandler is what the model's handler fails with when told to.
var errHandler = errors.New("feedtest: handler failed")

// mEvent is a committed event as the model knows it.
type mEvent struct {
	mark, kind string
	seq        int64
}

// feedModel is the naive model of one consumer name: the committed
// events in journal order, how many of them the cursor has passed, and
// which instance holds the lease. The clock only moves by whole leases
// ("expire"), so a lease is either held or expired.
type feedModel struct {
	s      storage.Store
	clk    *clock
	opts   []feed.Option
	kinds  []string // the filter; nil: every kind
	batch  int
	insts  []*feed.Consumer
	calls  []string // handler calls of the current poll
	failAt int      // the handler fails at its failAt-th call of a poll (0: never)

	committed  []mEvent
	rolledBack []string
	marks      int
	passed     int   // committed events the cursor has passed
	position   int64 // the Seq the cursor was last seen at
	owner      int   // index of the lease holder, -1 for none
	expired    bool
}

const modelLease = time.Minute

// testModel drives one consumer name with random steps (transactions
// committed or rolled back, polls of any instance with a handler that
// succeeds or fails at a random call, new instances, leases running out)
// and after every step compares the store with the model: the effect of
// every committed event the cursor passed (and the filter let through) is
// applied exactly once, of every other event never, and the cursor never
// goes backwards.
func testModel(t *testing.T, f storagetest.Factory) {
	rapid.Check(t, func(rt *rapid.T) {
		b, closeBackend := newBackend(t, f)
		defer func() { require.NoError(rt, closeBackend()) }()
		m := &feedModel{s: tenant(rt, b, "default"), clk: newClock(), owner: -1,
			batch: rapid.IntRange(1, 5).Draw(rt, "batch")}
		m.opts = []feed.Option{feed.WithClock(m.clk), feed.WithLease(modelLease), feed.WithBatchSize(m.batch)}
		if rapid.Bool().Draw(rt, "filter") {
			m.kinds = []string{"incident"}
			m.opts = append(m.opts, feed.WithKinds(m.kinds...))
		}
		m.newInstance(rt)
		rt.Repeat(map[string]func(*rapid.T){
			"":         m.check,
			"commit":   func(rt *rapid.T) { m.write(rt, true) },
			"rollback": func(rt *rapid.T) { m.write(rt, false) },
			"poll":     func(rt *rapid.T) { m.poll(rt, 0) },
			"pollFailing": func(rt *rapid.T) {
				m.poll(rt, rapid.IntRange(1, m.batch).Draw(rt, "failAt"))
			},
			"newInstance": func(rt *rapid.T) {
				if len(m.insts) == 3 {
					rt.Skip("three instances are enough")
				}
				m.newInstance(rt)
			},
			"expire": func(*rapid.T) {
				m.clk.Advance(2 * modelLease)
				m.expired = true
			},
		})
	})
}

func (m *feedModel) newInstance(t *rapid.T) {
	m.insts = append(m.insts, newConsumer(t, m.s, "model", m.handle, m.opts...))
}

func (m *feedModel) handle(ctx context.Context, tx storage.Tx, e itil.Event) error {
	m.calls = append(m.calls, markOf(e))
	if err := applyEffect(ctx, tx, e); err != nil {
		return err
	}
	if len(m.calls) == m.failAt {
		return errHandler
	}
	return nil
}

func (m *feedModel) matches(kind string) bool {
	return m.kinds == nil || kind == m.kinds[0]
}

// write appends one to four events in a transaction that commits or rolls
// back, and learns the Seq values of committed ones from the journal.
func (m *feedModel) write(t *rapid.T, commit bool) {
	n := rapid.IntRange(1, 4).Draw(t, "events")
	evs := make([]ev, n)
	for i := range evs {
		m.marks++
		evs[i] = ev{rapid.SampledFrom([]string{"incident", "problem"}).Draw(t, "kind"), "updated",
			"e" + strconv.Itoa(m.marks)}
	}
	require.NoError(t, write(context.Background(), m.s, commit, evs...))
	if !commit {
		for _, e := range evs {
			m.rolledBack = append(m.rolledBack, e.mark)
		}
		return
	}
	var after int64
	if len(m.committed) > 0 {
		after = m.committed[len(m.committed)-1].seq
	}
	got := journal(t, m.s, after)
	require.Len(t, got, n, "events after the last committed one")
	for i, e := range got {
		require.Equal(t, evs[i].mark, markOf(e))
		m.committed = append(m.committed, mEvent{mark: evs[i].mark, kind: evs[i].kind, seq: e.Seq})
	}
}

// poll polls a random instance with a handler that fails at its failAt-th
// call (0: never), and checks what it did against the model.
func (m *feedModel) poll(t *rapid.T, failAt int) {
	i := rapid.IntRange(0, len(m.insts)-1).Draw(t, "instance")
	m.calls, m.failAt = nil, failAt
	n, err := m.insts[i].Poll(context.Background())
	if m.owner >= 0 && m.owner != i && !m.expired {
		require.NoError(t, err)
		require.Zero(t, n, "instance %d polled while %d holds the lease", i, m.owner)
		require.Empty(t, m.calls)
		return
	}
	m.owner, m.expired = i, false
	next := m.committed[m.passed:]
	next = next[:min(len(next), m.batch)]
	var want []string
	for _, e := range next {
		if m.matches(e.kind) {
			want = append(want, e.mark)
		}
	}
	if failAt > 0 && failAt <= len(want) {
		require.ErrorIs(t, err, errHandler)
		require.Zero(t, n)
		require.Equal(t, want[:failAt], m.calls)
		return
	}
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	require.Equal(t, want, m.calls)
	m.passed += len(next)
}

// check compares the cursor and the effects in the store with the model.
func (m *feedModel) check(t *rapid.T) {
	pos := position(t, m.insts[0])
	var want int64
	if m.passed > 0 {
		want = m.committed[m.passed-1].seq
	}
	require.Equal(t, want, pos, "cursor after %d committed events", m.passed)
	require.GreaterOrEqual(t, pos, m.position, "the cursor went backwards")
	m.position = pos
	got := effects(t, m.s)
	for k, e := range m.committed {
		n := 0
		if k < m.passed && m.matches(e.kind) {
			n = 1
		}
		require.Equal(t, n, got[e.mark], "effect of %s (seq %d, passed %v)", e.mark, e.seq, k < m.passed)
	}
	for _, mark := range m.rolledBack {
		require.Zero(t, got[mark], "effect of %s, rolled back", mark)
	}
}
