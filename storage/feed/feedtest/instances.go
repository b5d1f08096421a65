package feedtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
)

// testTwoInstances runs two instances of one consumer, on sa and sb,
// polling as fast as they can while writers commit and roll back events
// through both stores. With the lease never expiring, no event is handed
// to a handler twice, not even in a batch that did not commit: every
// handler call belongs to a committed batch of one instance, and every
// committed event is in exactly one of them, with its effect applied once.
// A rolled-back event is never handed over, and the cursor never goes
// backwards.
func testTwoInstances(t *testing.T, sa, sb storage.Store) {
	const (
		writers     = 2
		txPerWriter = 40
		batch       = 7
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*stuck)
	defer cancel()

	type instance struct {
		c         *feed.Consumer
		pending   []itil.Event // handler calls of the poll under way
		committed []itil.Event
		aborted   []itil.Event // handler calls of polls that committed nothing
	}
	insts := make([]*instance, 2)
	for i, s := range []storage.Store{sa, sb} {
		in := &instance{}
		in.c = newConsumer(t, s, "two-instances", func(ctx context.Context, tx storage.Tx, e itil.Event) error {
			in.pending = append(in.pending, e) // polls of one Consumer run one at a time
			return applyEffect(ctx, tx, e)
		}, feed.WithBatchSize(batch))
		insts[i] = in
	}

	var (
		mu         sync.Mutex
		rolledBack = map[string]bool{}
		committed  int
		wg         sync.WaitGroup
		writersWG  sync.WaitGroup
		writing    = make(chan struct{})
	)
	for w := range writers {
		writersWG.Go(func() {
			s := []storage.Store{sa, sb}[w%2]
			for i := range txPerWriter {
				commit := i%4 != 3
				evs := make([]ev, 1+i%3)
				for j := range evs {
					evs[j] = incidentEvent(fmt.Sprintf("w%d.%d.%d", w, i, j))
				}
				if err := write(ctx, s, commit, evs...); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				if commit {
					committed += len(evs)
				}
				for _, e := range evs {
					rolledBack[e.mark] = !commit
				}
				mu.Unlock()
			}
		})
	}
	go func() {
		writersWG.Wait()
		close(writing)
	}()

	// The writers are done once writing is closed; then each instance
	// polls until the cursor reaches the last event.
	target := func() (int64, bool) {
		select {
		case <-writing:
		default:
			return 0, false
		}
		return lastSeq(t, sa), true
	}
	for _, in := range insts {
		wg.Go(func() {
			var last int64
			for ctx.Err() == nil {
				in.pending = in.pending[:0]
				n, err := in.c.Poll(ctx)
				if err != nil {
					t.Errorf("poll: %v", err)
					return
				}
				if n > 0 {
					if !assert.Len(t, in.pending, n, "handler calls of a committed batch") {
						return
					}
					for _, e := range in.pending {
						assert.Greater(t, e.Seq, last, "an instance's events in Seq order")
						last = e.Seq
					}
					in.committed = append(in.committed, in.pending...)
				} else {
					in.aborted = append(in.aborted, in.pending...)
					if end, done := target(); done {
						p, err := in.c.Position(ctx)
						if err != nil {
							t.Errorf("position: %v", err)
							return
						}
						if p == end {
							return
						}
					}
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	// A reader of the cursor: it never goes backwards.
	watcher := newConsumer(t, sb, "two-instances", applyEffect)
	wg.Go(func() {
		var prev int64
		for {
			p, err := watcher.Position(ctx)
			if err != nil {
				t.Errorf("position: %v", err)
				return
			}
			assert.GreaterOrEqual(t, p, prev, "the cursor went backwards")
			prev = p
			if end, done := target(); done && p == end {
				return
			}
			if ctx.Err() != nil {
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	wg.Wait()
	require.NoError(t, ctx.Err(), "the instances did not catch up")
	if t.Failed() {
		return
	}

	all := journal(t, sa, 0)
	handledBy := map[int64]int{}
	for i, in := range insts {
		require.Empty(t, in.aborted, "instance %d ran its handler in a batch that did not commit", i)
		for _, e := range in.committed {
			other, dup := handledBy[e.Seq]
			require.False(t, dup, "event %d handled by instances %d and %d", e.Seq, other, i)
			handledBy[e.Seq] = i
		}
	}
	require.Len(t, handledBy, len(all), "every committed event handled")
	got := effects(t, sa)
	for _, e := range all {
		m := markOf(e)
		require.False(t, rolledBack[m], "event %s of a rolled-back transaction in the journal", m)
		require.Equal(t, 1, got[m], "effect of %s", m)
	}
	require.Len(t, got, len(all), "effects of events never committed")
	require.Equal(t, committed, len(all), "events committed")
	t.Logf("instance 0 handled %d events, instance 1 %d", len(insts[0].committed), len(insts[1].committed))
}
