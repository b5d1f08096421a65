package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// testConcurrentNoLostUpdate has goroutines increment one counter record
// with version-checked writes, retrying on conflict: no increment is lost.
func testConcurrentNoLostUpdate(t *testing.T, f Factory) {
	const (
		workers     = 8
		increments  = 50
		maxAttempts = 10_000 // per increment; only to end a livelock
	)
	s := newStore(t, f)
	counter := create(t, s, storage.Record{Kind: "counter", ID: testID(1), Data: "0"})[0]

	increment := func(ctx context.Context, tx storage.Tx) error {
		rec, err := tx.Get(ctx, counter.Kind, counter.ID)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(rec.Data)
		if err != nil {
			return err
		}
		rec.Data = strconv.Itoa(n + 1)
		_, err = tx.Put(ctx, rec)
		return err
	}
	var commits, conflicts atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				for attempt := 1; ; attempt++ {
					err := s.RunInTx(t.Context(), increment)
					if err == nil {
						commits.Add(1)
						break
					}
					if !errors.Is(err, itil.ErrConflict) || attempt == maxAttempts {
						t.Errorf("increment, attempt %d: %v", attempt, err)
						return
					}
					conflicts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d commits, %d conflicts retried", commits.Load(), conflicts.Load())

	require.EqualValues(t, workers*increments, commits.Load())
	got, err := get(t, s, counter.Kind, counter.ID)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(workers*increments), got.Data, "no increment may be lost")
	require.EqualValues(t, 1+workers*increments, got.Version, "one version per committed increment")
}

// eventMark is the payload of an event of testConcurrentJournalReaders: who
// appended it, in which transaction, and whether that transaction rolls
// back.
type eventMark struct {
	Writer   int  `json:"w"`
	Tx       int  `json:"tx"`
	Event    int  `json:"ev"`
	Rollback bool `json:"rb,omitempty"`
}

// testConcurrentJournalReaders has readers follow the journal by cursor
// while writers commit and roll back: every reader sees every committed
// event exactly once, in one order, and no rolled-back event.
func testConcurrentJournalReaders(t *testing.T, f Factory) {
	const (
		writers     = 4
		txPerWriter = 30
		readers     = 2
	)
	s := newStore(t, f)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	writersDone := make(chan struct{})
	pages := make([][][]itil.Event, readers)
	readErrs := make([]error, readers)
	var readersWG sync.WaitGroup
	for r := range readers {
		readersWG.Go(func() {
			// The first reader takes all it can get, so each of its pages
			// must hold whole transactions; the second reads short pages
			// to exercise Limit too.
			pages[r], readErrs[r] = followJournal(ctx, s, writersDone, r*3)
		})
	}

	txSize := func(m eventMark) int { return 1 + (m.Writer+m.Tx)%3 }
	committed := make([][]eventMark, writers)
	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			for i := range txPerWriter {
				marks := make([]eventMark, txSize(eventMark{Writer: w, Tx: i}))
				for j := range marks {
					marks[j] = eventMark{Writer: w, Tx: i, Event: j, Rollback: i%4 == 3}
				}
				err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
					for _, m := range marks {
						payload, _ := json.Marshal(m)
						if err := tx.Append(ctx, newEvent(testID(w), "tick", string(payload))); err != nil {
							return err
						}
					}
					if marks[0].Rollback {
						return errRollback
					}
					return nil
				})
				if marks[0].Rollback {
					assert.ErrorIs(t, err, errRollback)
					continue
				}
				if !assert.NoError(t, err) {
					return
				}
				committed[w] = append(committed[w], marks...)
			}
		})
	}
	writersWG.Wait()
	close(writersDone)
	readersWG.Wait()

	want := make(map[eventMark]bool)
	for _, marks := range committed {
		for _, m := range marks {
			want[m] = true
		}
	}
	var seen [readers][]itil.Event
	for r := range readers {
		require.NoError(t, readErrs[r], "reader %d", r)
		seen[r] = slices.Concat(pages[r]...)
		got := make(map[eventMark]bool, len(seen[r]))
		for i, ev := range seen[r] {
			if i > 0 {
				require.Greater(t, ev.Seq, seen[r][i-1].Seq, "reader %d: Seq must increase", r)
			}
			require.Equal(t, tenantA, ev.Tenant)
			m := markOf(t, ev)
			require.False(t, m.Rollback, "reader %d saw event %+v of a rolled-back transaction", r, m)
			require.False(t, got[m], "reader %d saw event %+v twice", r, m)
			got[m] = true
		}
		var missed, unknown []eventMark
		for m := range want {
			if !got[m] {
				missed = append(missed, m)
			}
		}
		for m := range got {
			if !want[m] {
				unknown = append(unknown, m)
			}
		}
		require.Empty(t, missed, "reader %d missed committed events", r)
		require.Empty(t, unknown, "reader %d saw events no committed transaction appended", r)
	}
	for i, page := range pages[0] {
		perTx := make(map[eventMark]int)
		for _, ev := range page {
			m := markOf(t, ev)
			perTx[eventMark{Writer: m.Writer, Tx: m.Tx}]++
		}
		for tx, n := range perTx {
			require.Equal(t, txSize(tx), n, "poll %d saw part of transaction %+v: commits must be visible atomically", i, tx)
		}
	}
	requireList(t, evRowsOf(seen[0]), evRowsOf(seen[1]), "the journal as both readers saw it")
	t.Logf("%d events committed, read in %d and %d polls", len(want), len(pages[0]), len(pages[1]))
}

func markOf(t *testing.T, ev itil.Event) eventMark {
	t.Helper()
	var m eventMark
	require.NoError(t, json.Unmarshal(ev.Payload, &m), "event %d", ev.Seq)
	return m
}

// followJournal polls the journal from the start, pageSize events at a time
// (0: all available), until writersDone is closed and a poll that started
// after that finds nothing new. It returns what each poll found.
func followJournal(ctx context.Context, s storage.Store, writersDone <-chan struct{}, pageSize int) ([][]itil.Event, error) {
	var pages [][]itil.Event
	var after int64
	for {
		var finished bool
		select {
		case <-writersDone:
			finished = true
		default:
		}
		var page []itil.Event
		err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: after, Limit: pageSize}) {
				if err != nil {
					return err
				}
				page = append(page, ev)
			}
			return nil
		})
		if err != nil {
			return pages, fmt.Errorf("after %d polls: %w", len(pages), err)
		}
		if pageSize > 0 && len(page) > pageSize {
			return pages, fmt.Errorf("journal returned %d events, more than Limit %d", len(page), pageSize)
		}
		if len(page) == 0 {
			if finished {
				return pages, nil
			}
			runtime.Gosched()
			continue
		}
		pages = append(pages, page)
		after = page[len(page)-1].Seq
	}
}
