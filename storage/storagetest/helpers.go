package storagetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"slices"
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
)

const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
	kindA   = "incident"
	kindB   = "problem"

	// stuckAfter turns a transaction that blocks where the contract says it
	// must not into a test failure instead of a hang. It bounds waiting
	// only; no test asserts on elapsed time.
	stuckAfter = 10 * time.Second
)

// errRollback is what test transactions return to roll back.
var errRollback = errors.New("storagetest: deliberate rollback")

// eventTime is the time of every test event, whole seconds in UTC so that
// any backend stores it exactly.
var eventTime = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

// tb is what the helpers need from *testing.T and *rapid.T.
type tb interface {
	testkit.TB
	Context() context.Context
}

// newBackend opens a backend with f and closes it when the test ends. The
// returned function closes it earlier; it is safe to call more than once.
func newBackend(t *testing.T, f Factory) (storage.Backend, func() error) {
	t.Helper()
	b := f(t)
	require.NotNil(t, b, "factory returned a nil Backend")
	closeOnce := sync.OnceValue(b.Close)
	t.Cleanup(func() { assert.NoError(t, closeOnce(), "Backend.Close") })
	return b, closeOnce
}

// newStore opens a backend with f and returns the store of tenantA.
func newStore(t *testing.T, f Factory) storage.Store {
	t.Helper()
	b, _ := newBackend(t, f)
	return tenantStore(t, b, tenantA)
}

func tenantStore(t tb, b storage.Backend, name string) storage.Store {
	t.Helper()
	s, err := b.Tenant(name)
	require.NoError(t, err, "Backend.Tenant(%q)", name)
	require.NotNil(t, s)
	return s
}

// inTx runs fn in a transaction of s and requires that it commits.
func inTx(t tb, s storage.Store, fn func(ctx context.Context, tx storage.Tx)) {
	t.Helper()
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		fn(ctx, tx)
		return nil
	})
	require.NoError(t, err, "RunInTx")
}

// collect drains seq, stopping at the first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func mustCollect[T any](t tb, seq iter.Seq2[T, error]) []T {
	t.Helper()
	out, err := collect(seq)
	require.NoError(t, err)
	return out
}

// testID returns a fixed, non-nil ID whose bytes look random, so the
// suite's orderings by ID bytes differ from the order of creation.
func testID(i int) itil.ID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("storagetest/"+strconv.Itoa(i)))
}

// newRecord returns a record to create (version 0) with data derived from
// the ID.
func newRecord(kind string, id itil.ID, sortKey string, terms ...string) storage.Record {
	return storage.Record{Kind: kind, ID: id, SortKey: sortKey, Terms: terms,
		Data: `{"id":"` + id.String() + `"}`}
}

// stored returns rec as a backend returns it after it was written at
// version v.
func stored(rec storage.Record, v int64) storage.Record {
	rec.Version = v
	return rec
}

// create stores records that do not exist yet in one transaction and
// returns them as stored (version 1).
func create(t tb, s storage.Store, recs ...storage.Record) []storage.Record {
	t.Helper()
	out := make([]storage.Record, len(recs))
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for i, r := range recs {
			r.Version = 0
			v, err := tx.Put(ctx, r)
			require.NoError(t, err, "Put %s %s", r.Kind, r.ID)
			require.EqualValues(t, 1, v, "version of a new record")
			out[i] = stored(r, v)
		}
	})
	return out
}

// update replaces a stored record with next at the stored version and
// returns next as stored.
func update(t tb, s storage.Store, cur, next storage.Record) storage.Record {
	t.Helper()
	next.Kind, next.ID, next.Version = cur.Kind, cur.ID, cur.Version
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		v, err := tx.Put(ctx, next)
		require.NoError(t, err)
		require.Equal(t, cur.Version+1, v)
		next.Version = v
	})
	return next
}

func get(t tb, s storage.Store, kind string, id itil.ID) (rec storage.Record, err error) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { rec, err = tx.Get(ctx, kind, id) })
	return rec, err
}

// requireStored requires that want is stored as it is.
func requireStored(t tb, s storage.Store, want storage.Record) {
	t.Helper()
	got, err := get(t, s, want.Kind, want.ID)
	require.NoError(t, err, "Get %s %s", want.Kind, want.ID)
	require.Equal(t, rowOf(want), rowOf(got))
}

func requireMissing(t tb, s storage.Store, kind string, id itil.ID) {
	t.Helper()
	_, err := get(t, s, kind, id)
	require.ErrorIs(t, err, itil.ErrNotFound, "Get %s %s", kind, id)
}

// query runs q in a transaction of its own.
func query(t tb, s storage.Store, q storage.Query) (rows []row) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { rows = rowsOf(mustCollect(t, tx.Query(ctx, q))) })
	return rows
}

func journal(t tb, s storage.Store, q storage.JournalQuery) (evs []itil.Event) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { evs = mustCollect(t, tx.Journal(ctx, q)) })
	return evs
}

// row is a record in comparable form: Terms are a sorted set, since the
// contract keeps neither their order nor duplicates.
type row struct {
	Kind    string
	ID      itil.ID
	Version int64
	SortKey string
	Data    string
	Terms   []string
}

func rowOf(r storage.Record) row {
	return row{Kind: r.Kind, ID: r.ID, Version: r.Version, SortKey: r.SortKey,
		Data: r.Data, Terms: termSet(r.Terms)}
}

// rowsOf returns the rows of recs, nil for none.
func rowsOf(recs []storage.Record) []row {
	var rows []row
	for _, r := range recs {
		rows = append(rows, rowOf(r))
	}
	return rows
}

// requireList is require.Equal for lists that may be long: on a mismatch
// it reports the first differing element and the lengths instead of
// diffing everything.
func requireList[E any](t tb, want, got []E, what string) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if !assert.ObjectsAreEqual(want[i], got[i]) {
			require.Equal(t, want[i], got[i], "%s: first difference at index %d (lengths: want %d, got %d)", what, i, len(want), len(got))
		}
	}
	require.Equal(t, len(want), len(got), "%s: length", what)
}

// termSet returns terms sorted and without duplicates, nil when empty.
func termSet(terms []string) []string {
	if len(terms) == 0 {
		return nil
	}
	out := slices.Clone(terms)
	slices.Sort(out)
	return slices.Compact(out)
}

// compareRows orders rows as queries do: by sort key, then by ID bytes.
func compareRows(a, b row) int {
	if c := cmp.Compare(a.SortKey, b.SortKey); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// sortedRows returns the rows of recs in query order.
func sortedRows(recs []storage.Record) []row {
	rows := rowsOf(recs)
	slices.SortFunc(rows, compareRows)
	return rows
}

func reversed[S ~[]E, E any](s S) S {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func cursorOf(r row) *storage.Cursor {
	return &storage.Cursor{SortKey: r.SortKey, ID: r.ID}
}

// newEvent returns an event to append.
func newEvent(subject itil.ID, typ, payload string) itil.Event {
	ev := itil.Event{Kind: kindA, SubjectID: subject, SubjectVersion: 1,
		Actor: itil.Actor{ID: "alice", Name: "Alice"}, Time: eventTime, Type: typ}
	if payload != "" {
		ev.Payload = json.RawMessage(payload)
	}
	return ev
}

// refEvent returns an event of kind about subject that refers to refs.
func refEvent(kind string, subject itil.ID, typ, payload string, refs ...itil.ID) itil.Event {
	ev := newEvent(subject, typ, payload)
	ev.Kind, ev.Refs = kind, refs
	return ev
}

// lastSeq reads LastSeq in a transaction of its own.
func lastSeq(t tb, s storage.Store) (seq int64) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		var err error
		seq, err = tx.LastSeq(ctx)
		require.NoError(t, err, "LastSeq")
	})
	return seq
}

// evRow is an event in comparable form: the time in UTC and the payload as
// canonical JSON, since a backend may store either in its own form.
type evRow struct {
	Seq            int64
	Tenant         string
	Kind           string
	SubjectID      itil.ID
	SubjectVersion int64
	Actor          itil.Actor
	Time           string
	Type           string
	Payload        string
	Refs           []itil.ID // nil for none, in the order appended
}

func evRowOf(ev itil.Event) evRow {
	r := evRow{Seq: ev.Seq, Tenant: ev.Tenant, Kind: ev.Kind, SubjectID: ev.SubjectID,
		SubjectVersion: ev.SubjectVersion, Actor: ev.Actor,
		Time: ev.Time.UTC().Format(time.RFC3339Nano), Type: ev.Type, Payload: canonicalJSON(ev.Payload)}
	if len(ev.Refs) > 0 {
		r.Refs = slices.Clone(ev.Refs)
	}
	return r
}

// evRowsOf returns the rows of evs, nil for none.
func evRowsOf(evs []itil.Event) []evRow {
	var rows []evRow
	for _, ev := range evs {
		rows = append(rows, evRowOf(ev))
	}
	return rows
}

// committedAs returns the rows of evs as a backend journals them for tenant
// at the given sequence numbers.
func committedAs(tenant string, evs []itil.Event, seqs ...int64) []evRow {
	rows := evRowsOf(evs)
	for i := range rows {
		rows[i].Tenant, rows[i].Seq = tenant, seqs[i]
	}
	return rows
}

func canonicalJSON(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		return string(p)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// requireValidation requires a *itil.ValidationError that names field.
func requireValidation(t tb, err error, field string) {
	t.Helper()
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	require.True(t, v.Has(field), "validation error %v should name %q", v, field)
}

// catchPanic runs f and returns the value it panicked with, nil if none.
func catchPanic(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// txStep is one part of a transaction run by startTx.
type txStep func(ctx context.Context, tx storage.Tx) error

// pausedTx runs a transaction on a goroutine of its own and holds it open
// between two steps until the test lets it go on, so that tests can
// interleave transactions deterministically. The steps run on that
// goroutine: they must report through their result or assert, never
// require.
type pausedTx struct {
	ready   chan error // the first step's result, once it returned
	release chan struct{}
	done    chan error // RunInTx's result
	once    sync.Once
}

// startTx runs first, pauses, then runs then (when not nil and first
// succeeded) and ends the transaction with the last step's result.
func startTx(t *testing.T, s storage.Store, first, then txStep) *pausedTx {
	p := &pausedTx{ready: make(chan error, 1), release: make(chan struct{}), done: make(chan error, 1)}
	t.Cleanup(p.unblock)
	go func() {
		p.done <- s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			err := first(ctx, tx)
			p.ready <- err
			<-p.release
			if err != nil || then == nil {
				return err
			}
			return then(ctx, tx)
		})
	}()
	return p
}

func (p *pausedTx) unblock() { p.once.Do(func() { close(p.release) }) }

// awaitReady waits until the first step returned and returns its error;
// the transaction stays open.
func (p *pausedTx) awaitReady(t *testing.T) error {
	t.Helper()
	return await(t, p.ready, "transaction to reach its pause point (was it blocked by another open transaction?)")
}

// finish lets the transaction go on and returns RunInTx's result.
// readyOrBlocked waits a moment for the first step. A backend that locks
// rows may hold a writer until the transaction holding the lock ends: then
// blocked is true and the caller goes on to end that transaction.
func (p *pausedTx) readyOrBlocked() (err error, blocked bool) {
	select {
	case err := <-p.ready:
		return err, false
	case <-time.After(blockedAfter):
		return nil, true
	}
}

// blockedAfter is how long a step may take before it counts as blocked by a
// lock; not a speed requirement.
const blockedAfter = 200 * time.Millisecond

func (p *pausedTx) finish(t *testing.T) error {
	t.Helper()
	p.unblock()
	return await(t, p.done, "RunInTx to return")
}

func await(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(stuckAfter):
		t.Fatalf("still waiting for %s after %v", what, stuckAfter)
		return nil
	}
}
