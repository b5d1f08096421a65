// Package feedtest is the suite of package feed, run against any storage
// backend: the in-memory backend runs it in feed's own tests, and every
// other backend runs it beside storagetest.Run, with the same factory, so
// that named consumers are proven on each of them with nothing but the
// storage contract.
//
//	func TestFeed(t *testing.T) {
//		feedtest.Run(t, func(t *testing.T) storage.Backend { return openMyBackend(t) })
//	}
//
// As with storagetest.Run, the suite calls the factory once per test (and
// once per check of the model-based test) and closes every backend it
// gets when it is done with it.
//
// A backend that several processes can open on the same data also runs
// RunTwoStores with two stores of one tenant opened through two backends,
// as two application instances would:
//
//	func TestFeedTwoBackends(t *testing.T) {
//		feedtest.RunTwoStores(t, instances) // a storagetest.Instances
//	}
//
// Subtests are named after the clause they check, so one can be run on its
// own (go test -run 'TestFeed/LeaseTakeover'). The model-based test
// ("Model") runs rapid's default number of checks; search deeper with
// rapid's flags (-rapid.checks=2000).
package feedtest

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
	"github.com/itilkit/itil/storage/storagetest"
)

// Run runs the feed suite on backends made by f, the factory of
// storagetest.Run.
func Run(t *testing.T, f storagetest.Factory) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"Advances", testAdvances},
		{"HandlerErrorRollsBack", testHandlerErrorRollsBack},
		{"HandlerConflictIsRetried", testHandlerConflict},
		{"Filters", testFilters},
		{"FromNow", testFromNow},
		{"FromNowGaps", testFromNowGaps},
		{"Position", testPosition},
		{"NamesAreIndependent", testNamesIndependent},
		{"LeaseTakeover", testLeaseTakeover},
		{"LeaseRenewal", testLeaseRenewal},
		{"LeaseExpiresMidBatch", testLeaseExpiresMidBatch},
		{"SkewedClocks", testSkewedClocks},
		{"ClockOutOfRange", testClockOutOfRange},
		{"Run", testRun},
		{"TwoInstances", func(t *testing.T, s storage.Store) { testTwoInstances(t, s, s) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newBackend(t, f)
			c.run(t, tenant(t, b, "default"))
		})
	}
	t.Run("Tenants", func(t *testing.T) { testTenants(t, f) })
	t.Run("Model", func(t *testing.T) { testModel(t, f) })
}

// newBackend opens a backend with f and closes it when the test ends. The
// returned function closes it earlier; it is safe to call more than once.
func newBackend(t *testing.T, f storagetest.Factory) (storage.Backend, func() error) {
	t.Helper()
	b := f(t)
	require.NotNil(t, b, "factory returned a nil Backend")
	closeOnce := sync.OnceValue(b.Close)
	t.Cleanup(func() { assert.NoError(t, closeOnce(), "Backend.Close") })
	return b, closeOnce
}

func tenant(t tb, b storage.Backend, name string) storage.Store {
	t.Helper()
	s, err := b.Tenant(name)
	require.NoError(t, err)
	return s
}

// RunTwoStores runs the tests of two instances of one consumer, each on
// its own handle of one tenant made by two (the Instances the process
// suites run on). The backends behind them are two's to close (with
// t.Cleanup).
func RunTwoStores(t *testing.T, two storagetest.Instances) {
	t.Run("TwoInstances", func(t *testing.T) {
		a, b := two(t)
		testTwoInstances(t, a, b)
	})
	t.Run("LeaseTakeover", func(t *testing.T) {
		a, b := two(t)
		testLeaseTakeoverOn(t, a, b)
	})
	t.Run("LeaseExpiresMidBatch", func(t *testing.T) {
		a, b := two(t)
		testLeaseExpiresMidBatchOn(t, a, b)
	})
}

// tb is what fixture helpers report failures to.
type tb = testkit.TB

// clock is the suites' settable clock.
type clock = testkit.Clock

func newClock() *clock { return testkit.NewClock() }

// errRollback is what a writer returns to roll its transaction back.
var errRollback = errors.New("feedtest: deliberate rollback")

var eventTime = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// ev is an event to append: its kind, its type and a mark, unique per
// test, carried in its payload.
type ev struct{ kind, typ, mark string }

func incidentEvent(mark string) ev { return ev{"incident", "updated", mark} }

// write appends the events in one transaction of s, committed or rolled
// back.
func write(ctx context.Context, s storage.Store, commit bool, evs ...ev) error {
	err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for _, e := range evs {
			payload, _ := json.Marshal(e.mark)
			if err := tx.Append(ctx, itil.Event{Kind: e.kind, SubjectID: markID(e.mark), Actor: itil.System,
				Time: eventTime, Type: e.typ, Payload: payload}); err != nil {
				return err
			}
		}
		if !commit {
			return errRollback
		}
		return nil
	})
	if !commit && errors.Is(err, errRollback) {
		return nil
	}
	return err
}

func mustWrite(t tb, s storage.Store, evs ...ev) {
	t.Helper()
	require.NoError(t, write(context.Background(), s, true, evs...))
}

// markID is the subject of a marked event and the ID of its effect record.
func markID(mark string) itil.ID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("feedtest/"+mark))
}

func markOf(e itil.Event) string {
	var m string
	_ = json.Unmarshal(e.Payload, &m)
	return m
}

// effectKind is the kind of the records handlers write: one per event
// handled, holding how many times its effect was applied.
const effectKind = "feedtest.effect"

// applyEffect counts one application of ev's effect in the store.
func applyEffect(ctx context.Context, tx storage.Tx, e itil.Event) error {
	mark := markOf(e)
	rec, err := tx.Get(ctx, effectKind, markID(mark))
	n := 0
	switch {
	case errors.Is(err, itil.ErrNotFound):
		rec = storage.Record{Kind: effectKind, ID: markID(mark), SortKey: mark}
	case err != nil:
		return err
	default:
		if n, err = strconv.Atoi(rec.Data); err != nil {
			return err
		}
	}
	rec.Data = strconv.Itoa(n + 1)
	_, err = tx.Put(ctx, rec)
	return err
}

// effects returns how many times each mark's effect was applied.
func effects(t tb, s storage.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	require.NoError(t, s.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		for rec, err := range tx.Query(ctx, storage.Query{Kind: effectKind}) {
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(rec.Data)
			if err != nil {
				return err
			}
			out[rec.SortKey] = n
		}
		return nil
	}))
	return out
}

// journal returns the committed events after the given Seq.
func journal(t tb, s storage.Store, after int64) []itil.Event {
	t.Helper()
	var out []itil.Event
	require.NoError(t, s.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		out = out[:0]
		for e, err := range tx.Journal(ctx, storage.JournalQuery{After: after}) {
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	}))
	return out
}

// lastSeq returns the Seq of the last committed event, by reading the
// journal through.
func lastSeq(t tb, s storage.Store) int64 {
	t.Helper()
	evs := journal(t, s, 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

func newConsumer(t tb, s storage.Store, name string, h feed.Handler, opts ...feed.Option) *feed.Consumer {
	t.Helper()
	c, err := feed.New(s, name, h, opts...)
	require.NoError(t, err)
	return c
}

func position(t tb, c *feed.Consumer) int64 {
	t.Helper()
	p, err := c.Position(context.Background())
	require.NoError(t, err)
	return p
}

// bounded returns a context that ends after stuck, so that a poll or a
// drain that never returns fails the test instead of hanging it.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), stuck)
	t.Cleanup(cancel)
	return ctx
}

func poll(t tb, c *feed.Consumer) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stuck)
	defer cancel()
	n, err := c.Poll(ctx)
	require.NoError(t, err)
	return n
}

// recorder is a handler that applies the effect and remembers the marks it
// was called with.
type recorder struct {
	mu    sync.Mutex
	marks []string
}

func (r *recorder) handle(ctx context.Context, tx storage.Tx, e itil.Event) error {
	r.mu.Lock()
	r.marks = append(r.marks, markOf(e))
	r.mu.Unlock()
	return applyEffect(ctx, tx, e)
}

// take returns the marks recorded since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.marks
	r.marks = nil
	return out
}
