package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// How a transaction of testTxCancelled ends its context.
const (
	cancelNever       = iota
	cancelDeadline    // a deadline of 1 µs to 3 ms
	cancelTimer       // a cancellation, with a cause, from another goroutine after 1 µs to 3 ms
	cancelBeforeRead  // inside fn, before its first read
	cancelBeforeWrite // inside fn, between its read and its write
	cancelBeforeEnd   // inside fn, after its writes, right before it returns nil
	cancelModes
)

// errCancelCause is the cause a cancelTimer transaction's context ends with:
// an error that is not context.Canceled, which ctx.Err() still is.
var errCancelCause = errors.New("storagetest: cancelled by the test")

// testTxCancelled runs many transactions whose contexts end at random
// points, on a few goroutines at once, half of them marked
// storage.Writing: before fn reads, while it runs,
// right before the commit, during the commit. Each transaction increments
// a counter record and appends one event naming it. Every RunInTx must
// return nil (and then its writes are stored), or an error for which
// errors.Is(err, context.Canceled) or errors.Is(err, context.
// DeadlineExceeded) holds, or a conflict with a concurrent one (and then
// nothing of it is stored). A transaction whose context ended before fn
// returned must not commit. In the end the counter counts exactly the
// transactions that returned nil, and the journal holds exactly their
// events.
func testTxCancelled(t *testing.T, f Factory) {
	const workers = 4
	perWorker := 400
	if testing.Short() {
		perWorker = 100
	}
	s := newStore(t, f)
	counter := create(t, s, storage.Record{Kind: "counter", ID: testID(1), Data: "0"})[0]

	var (
		mu         sync.Mutex
		committed  []int // the transactions whose RunInTx returned nil
		cancelled  [cancelModes]int
		conflicts  atomic.Int64
		unexpected atomic.Int64
	)
	run := func(rng *rand.Rand, n int) {
		mode := rng.IntN(cancelModes)
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		if rng.IntN(2) == 0 {
			ctx = storage.Writing(ctx) // half of them say they will write
		}
		switch mode {
		case cancelDeadline:
			var stop context.CancelFunc
			ctx, stop = context.WithTimeout(ctx, shortDelay(rng))
			defer stop()
		case cancelTimer:
			timer := time.AfterFunc(shortDelay(rng), func() { cancel(errCancelCause) })
			defer timer.Stop()
		}
		err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			if mode == cancelBeforeRead {
				cancel(nil)
			}
			rec, err := tx.Get(ctx, counter.Kind, counter.ID)
			if err != nil {
				return err
			}
			v, err := strconv.Atoi(rec.Data)
			if err != nil {
				return err
			}
			if mode == cancelBeforeWrite {
				cancel(nil)
			}
			rec.Data = strconv.Itoa(v + 1)
			if _, err := tx.Put(ctx, rec); err != nil {
				return err
			}
			if err := tx.Append(ctx, newEvent(counter.ID, "incremented", `{"tx":`+strconv.Itoa(n)+`}`)); err != nil {
				return err
			}
			if mode == cancelBeforeEnd {
				cancel(nil)
			}
			return nil
		})
		switch {
		case err == nil:
			if mode >= cancelBeforeRead {
				t.Errorf("transaction %d (%s): committed although its context ended before fn returned", n, cancelModeNames[mode])
			}
			mu.Lock()
			committed = append(committed, n)
			mu.Unlock()
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			mu.Lock()
			cancelled[mode]++
			mu.Unlock()
		case errors.Is(err, itil.ErrConflict):
			conflicts.Add(1)
		default:
			if unexpected.Add(1) <= 5 {
				t.Errorf("transaction %d (%s): neither nil, a cancellation nor a conflict: %v", n, cancelModeNames[mode], err)
			}
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := range perWorker {
				run(rng, w*perWorker+i)
			}
		})
	}
	wg.Wait()
	var byMode []string
	for m, n := range cancelled {
		byMode = append(byMode, fmt.Sprintf("%s %d", cancelModeNames[m], n))
	}
	t.Logf("%d committed; cancelled: %s; %d conflicts, %d other errors",
		len(committed), strings.Join(byMode, ", "), conflicts.Load(), unexpected.Load())
	require.Zero(t, unexpected.Load(), "errors that are neither a cancellation nor a conflict")

	got, err := get(t, s, counter.Kind, counter.ID)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(len(committed)), got.Data, "the counter counts the transactions that returned nil")
	require.EqualValues(t, 1+len(committed), got.Version, "one version per transaction that returned nil")
	var journaled []int
	for _, ev := range journal(t, s, storage.JournalQuery{SubjectID: counter.ID}) {
		var p struct{ Tx int }
		require.NoError(t, json.Unmarshal(ev.Payload, &p), "event %d", ev.Seq)
		journaled = append(journaled, p.Tx)
	}
	slices.Sort(committed)
	slices.Sort(journaled)
	require.Equal(t, committed, journaled, "the journal holds the events of exactly the transactions that returned nil")
}

// cancelModeNames name the cancel modes in messages.
var cancelModeNames = [cancelModes]string{"never", "deadline", "timer", "before read", "before write", "before end"}

// shortDelay draws a delay from 1 µs to 3 ms, log-uniformly: as many
// below 50 µs, where a transaction's statements run, as above.
func shortDelay(rng *rand.Rand) time.Duration {
	return time.Duration(float64(time.Microsecond) * math.Pow(3000, rng.Float64()))
}
