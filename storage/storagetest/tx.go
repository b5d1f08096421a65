package storagetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// txFixture is a store holding two committed records, and the writes of a
// transaction over them: create one record, update one, delete one, append
// one event.
type txFixture struct {
	s                       storage.Store
	kept, removed, creation storage.Record
}

func newTxFixture(t *testing.T, f Factory) *txFixture {
	s := newStore(t, f)
	recs := create(t, s, newRecord(kindA, testID(1), "m", "s=a"), newRecord(kindA, testID(2), "n", "s=b"))
	return &txFixture{s: s, kept: recs[0], removed: recs[1], creation: newRecord(kindA, testID(3), "a", "s=a")}
}

// updated is fx.kept as write changes it.
func (fx *txFixture) updated() storage.Record {
	return stored(newRecord(kindA, fx.kept.ID, "z", "p=1"), fx.kept.Version)
}

func (fx *txFixture) event() itil.Event { return newEvent(fx.creation.ID, "created", `{"n":1}`) }

func (fx *txFixture) write(ctx context.Context, tx storage.Tx) error {
	if _, err := tx.Put(ctx, fx.creation); err != nil {
		return err
	}
	if _, err := tx.Put(ctx, fx.updated()); err != nil {
		return err
	}
	if err := tx.Delete(ctx, kindA, fx.removed.ID, fx.removed.Version); err != nil {
		return err
	}
	return tx.Append(ctx, fx.event())
}

// requireUntouched requires that no write of fx.write is visible.
func (fx *txFixture) requireUntouched(t *testing.T) {
	t.Helper()
	requireStored(t, fx.s, fx.kept)
	requireStored(t, fx.s, fx.removed)
	requireMissing(t, fx.s, kindA, fx.creation.ID)
	require.Equal(t, sortedRows([]storage.Record{fx.kept, fx.removed}), query(t, fx.s, storage.Query{Kind: kindA}))
	require.Empty(t, journal(t, fx.s, storage.JournalQuery{}))
}

// requireWritten requires that every write of fx.write is visible.
func (fx *txFixture) requireWritten(t *testing.T) {
	t.Helper()
	created, updated := stored(fx.creation, 1), stored(fx.updated(), fx.kept.Version+1)
	requireStored(t, fx.s, created)
	requireStored(t, fx.s, updated)
	requireMissing(t, fx.s, kindA, fx.removed.ID)
	require.Equal(t, sortedRows([]storage.Record{created, updated}), query(t, fx.s, storage.Query{Kind: kindA}))
	require.Equal(t, committedAs(tenantA, []itil.Event{fx.event()}, 1), evRowsOf(journal(t, fx.s, storage.JournalQuery{})))
}

func testTxCommitOnNil(t *testing.T, f Factory) {
	fx := newTxFixture(t, f)
	require.NoError(t, fx.s.RunInTx(t.Context(), fx.write))
	fx.requireWritten(t)
}

func testTxRollbackOnError(t *testing.T, f Factory) {
	fx := newTxFixture(t, f)
	err := fx.s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		require.NoError(t, fx.write(ctx, tx))
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Equal(t, errRollback, err, "RunInTx must return fn's error unchanged")
	fx.requireUntouched(t)
}

func testTxRollbackOnPanic(t *testing.T, f Factory) {
	fx := newTxFixture(t, f)
	p := catchPanic(func() {
		_ = fx.s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			require.NoError(t, fx.write(ctx, tx))
			panic(errRollback)
		})
	})
	require.Same(t, errRollback, p, "RunInTx must re-panic with fn's value")
	fx.requireUntouched(t)
}

// leakedTx is a transaction and iterators kept beyond RunInTx.
type leakedTx struct {
	tx      storage.Tx
	query   iter.Seq2[storage.Record, error]
	lookup  iter.Seq2[storage.Record, error]
	journal iter.Seq2[itil.Event, error]
}

func testTxDoneAfterReturn(t *testing.T, f Factory) {
	for _, ending := range []struct {
		name string
		end  func() error // how fn ends
	}{
		{"Commit", func() error { return nil }},
		{"Error", func() error { return errRollback }},
		{"Panic", func() error { panic(errRollback) }},
	} {
		t.Run(ending.name, func(t *testing.T) {
			s := newStore(t, f)
			rec := create(t, s, newRecord(kindA, testID(1), "k", "s=a"))[0]
			var leaked leakedTx
			catchPanic(func() {
				_ = s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
					leaked = leakedTx{tx: tx,
						query:   tx.Query(ctx, storage.Query{Kind: kindA}),
						lookup:  tx.Lookup(ctx, kindA, []string{"s=a"}),
						journal: tx.Journal(ctx, storage.JournalQuery{}),
					}
					return ending.end()
				})
			})
			require.NotNil(t, leaked.tx)
			requireTxDone(t, leaked, rec)
			requireStored(t, s, rec)
			require.Empty(t, journal(t, s, storage.JournalQuery{}))
		})
	}
}

// requireTxDone requires every method of a finished transaction, and every
// iterator it returned, to fail with storage.ErrTxDone.
func requireTxDone(t *testing.T, l leakedTx, rec storage.Record) {
	t.Helper()
	ctx := t.Context()
	_, err := l.tx.Get(ctx, rec.Kind, rec.ID)
	require.ErrorIs(t, err, storage.ErrTxDone, "Get")
	_, err = l.tx.Put(ctx, rec)
	require.ErrorIs(t, err, storage.ErrTxDone, "Put")
	require.ErrorIs(t, l.tx.Delete(ctx, rec.Kind, rec.ID, rec.Version), storage.ErrTxDone, "Delete")
	_, err = collect(l.tx.Query(ctx, storage.Query{Kind: rec.Kind}))
	require.ErrorIs(t, err, storage.ErrTxDone, "Query")
	_, err = collect(l.tx.Query(ctx, storage.Query{Kind: "unknown-kind"}))
	require.ErrorIs(t, err, storage.ErrTxDone, "Query without results")
	_, err = collect(l.tx.Lookup(ctx, rec.Kind, rec.Terms))
	require.ErrorIs(t, err, storage.ErrTxDone, "Lookup")
	_, err = collect(l.tx.Lookup(ctx, "unknown-kind", rec.Terms))
	require.ErrorIs(t, err, storage.ErrTxDone, "Lookup without results")
	_, err = l.tx.NextSeq(ctx, "number")
	require.ErrorIs(t, err, storage.ErrTxDone, "NextSeq")
	require.ErrorIs(t, l.tx.Append(ctx, newEvent(rec.ID, "late", "")), storage.ErrTxDone, "Append")
	_, err = collect(l.tx.Journal(ctx, storage.JournalQuery{}))
	require.ErrorIs(t, err, storage.ErrTxDone, "Journal")
	_, err = l.tx.LastSeq(ctx)
	require.ErrorIs(t, err, storage.ErrTxDone, "LastSeq")
	_, err = collect(l.query)
	require.ErrorIs(t, err, storage.ErrTxDone, "Query iterator")
	_, err = collect(l.lookup)
	require.ErrorIs(t, err, storage.ErrTxDone, "Lookup iterator")
	_, err = collect(l.journal)
	require.ErrorIs(t, err, storage.ErrTxDone, "Journal iterator")
}

func testTxReadYourWrites(t *testing.T, f Factory) {
	s := newStore(t, f)
	recs := create(t, s,
		newRecord(kindA, testID(1), "b", "s=a"),
		newRecord(kindA, testID(2), "c", "s=a"),
		newRecord(kindA, testID(3), "d", "s=b"),
	)
	kept, toMove, gone := recs[0], recs[1], recs[2]
	var final []storage.Record
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		put := func(rec storage.Record) storage.Record {
			t.Helper()
			v, err := tx.Put(ctx, rec)
			require.NoError(t, err)
			return stored(rec, v)
		}
		added := put(newRecord(kindA, testID(4), "a", "s=a"))
		moved := put(stored(newRecord(kindA, toMove.ID, "e", "p=1"), toMove.Version))
		require.NoError(t, tx.Delete(ctx, kindA, gone.ID, gone.Version))
		twice := put(newRecord(kindA, testID(5), "f", "s=b"))
		twice = put(stored(newRecord(kindA, twice.ID, "c", "s=b"), twice.Version))
		require.EqualValues(t, 2, twice.Version, "a record created and updated in one transaction")

		getRow := func(id itil.ID) row {
			t.Helper()
			rec, err := tx.Get(ctx, kindA, id)
			require.NoError(t, err)
			return rowOf(rec)
		}
		for _, r := range []storage.Record{added, kept, moved, twice} {
			require.Equal(t, rowOf(r), getRow(r.ID))
		}
		_, err := tx.Get(ctx, kindA, gone.ID)
		require.ErrorIs(t, err, itil.ErrNotFound)

		rows := func(seq iter.Seq2[storage.Record, error]) []row {
			t.Helper()
			return rowsOf(mustCollect(t, seq))
		}
		all := sortedRows([]storage.Record{added, kept, moved, twice})
		require.Equal(t, all, rows(tx.Query(ctx, storage.Query{Kind: kindA})))
		require.Equal(t, reversed(all), rows(tx.Query(ctx, storage.Query{Kind: kindA, Reverse: true})))
		require.Equal(t, sortedRows([]storage.Record{added, kept}), rows(tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"s=a"}})))
		require.Equal(t, []row{rowOf(moved)}, rows(tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"p=1"}})))
		require.Equal(t, []row{rowOf(twice)}, rows(tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"s=b"}})))
		require.Equal(t, sortedRows([]storage.Record{kept, twice}), rows(tx.Query(ctx, storage.Query{Kind: kindA, Min: "b", Max: "e"})))
		require.Equal(t, sortedRows([]storage.Record{twice, moved}), rows(tx.Query(ctx, storage.Query{Kind: kindA, After: cursorOf(rowOf(kept))})))
		require.Equal(t, sortedRows([]storage.Record{kept, twice, moved}), rows(tx.Query(ctx, storage.Query{Kind: kindA, After: cursorOf(rowOf(added))})),
			"After a record the transaction wrote")
		require.Equal(t, reversed(sortedRows([]storage.Record{added, kept})), rows(tx.Query(ctx, storage.Query{Kind: kindA, After: cursorOf(rowOf(twice)), Reverse: true})))
		require.Equal(t, sortedRows([]storage.Record{moved, twice}), rows(tx.Lookup(ctx, kindA, []string{"s=b", "p=1"})))
		require.Equal(t, sortedRows([]storage.Record{added, kept}), rows(tx.Lookup(ctx, kindA, []string{"s=a"})))

		require.NoError(t, tx.Delete(ctx, kindA, twice.ID, twice.Version), "deleting a record created in the transaction")
		require.Equal(t, sortedRows([]storage.Record{added, kept, moved}), rows(tx.Query(ctx, storage.Query{Kind: kindA})))
		require.Empty(t, rows(tx.Lookup(ctx, kindA, []string{"s=b"})))
		recreated := put(newRecord(kindA, twice.ID, "g"))
		require.EqualValues(t, 1, recreated.Version, "recreating a record deleted in the transaction")
		final = []storage.Record{added, kept, moved, recreated}
	})
	require.Equal(t, sortedRows(final), query(t, s, storage.Query{Kind: kindA}))
	requireMissing(t, s, kindA, gone.ID)
}

func testTxUncommittedInvisible(t *testing.T, f Factory) {
	fx := newTxFixture(t, f)
	writer := startTx(t, fx.s, fx.write, nil)
	require.NoError(t, writer.awaitReady(t))

	// The writer is open with all its writes done: another transaction
	// still sees the committed state only.
	before := sortedRows([]storage.Record{fx.kept, fx.removed})
	inTx(t, fx.s, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Get(ctx, kindA, fx.creation.ID)
		require.ErrorIs(t, err, itil.ErrNotFound)
		for _, want := range []storage.Record{fx.kept, fx.removed} {
			got, err := tx.Get(ctx, kindA, want.ID)
			require.NoError(t, err)
			require.Equal(t, rowOf(want), rowOf(got))
		}
		require.Equal(t, before, rowsOf(mustCollect(t, tx.Query(ctx, storage.Query{Kind: kindA}))))
		require.Equal(t, []row{rowOf(fx.kept)}, rowsOf(mustCollect(t, tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"s=a"}}))))
		require.Empty(t, mustCollect(t, tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"p=1"}})))
		require.Equal(t, before, rowsOf(mustCollect(t, tx.Lookup(ctx, kindA, []string{"s=a", "s=b", "p=1"}))))
		require.Empty(t, mustCollect(t, tx.Journal(ctx, storage.JournalQuery{})))
	})

	require.NoError(t, writer.finish(t))
	fx.requireWritten(t)
}

func testTxFirstCommitWins(t *testing.T, f Factory) {
	s := newStore(t, f)
	orig := create(t, s, newRecord(kindA, testID(1), "k", "s=a"))[0]
	// write reads orig, then writes it and a record of its own and appends
	// an event, all marked with who.
	write := func(who string, own itil.ID) txStep {
		return func(ctx context.Context, tx storage.Tx) error {
			got, err := tx.Get(ctx, kindA, orig.ID)
			if err != nil {
				return err
			}
			assert.Equal(t, rowOf(orig), rowOf(got), "%s must see the committed record only", who)
			next := got
			next.Data = `"` + who + `"`
			if _, err := tx.Put(ctx, next); err != nil {
				return err
			}
			if _, err := tx.Put(ctx, newRecord(kindB, own, who)); err != nil {
				return err
			}
			return tx.Append(ctx, newEvent(orig.ID, "updated", `{"by":"`+who+`"}`))
		}
	}
	first := startTx(t, s, write("first", testID(2)), nil)
	require.NoError(t, first.awaitReady(t))
	second := startTx(t, s, write("second", testID(3)), nil)
	if err, blocked := second.readyOrBlocked(); !blocked && err != nil {
		// A backend may detect the conflict before commit, or hold the
		// second writer on a lock until the first commits.
		require.ErrorIs(t, err, itil.ErrConflict)
	}

	require.NoError(t, first.finish(t), "the first transaction to commit wins")
	require.ErrorIs(t, second.finish(t), itil.ErrConflict, "the second transaction to commit loses")

	won := stored(orig, orig.Version+1)
	won.Data = `"first"`
	requireStored(t, s, won)
	requireStored(t, s, stored(newRecord(kindB, testID(2), "first"), 1))
	requireMissing(t, s, kindB, testID(3))
	require.Equal(t,
		committedAs(tenantA, []itil.Event{newEvent(orig.ID, "updated", `{"by":"first"}`)}, 1),
		evRowsOf(journal(t, s, storage.JournalQuery{})))
}

// testTxRecreatedAfterRead: a transaction reads a record, which other
// transactions then delete and create again, at the version that was read.
// The record was committed by another transaction after fn read it, so
// writing it back at the version read must conflict, whether the write
// comes after the re-creation or before it.
func testTxRecreatedAfterRead(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name       string
		writeFirst bool // write before the re-creation, then commit after it
	}{{"BeforeWrite", false}, {"BeforeCommit", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, f)
			orig := create(t, s, newRecord(kindA, testID(1), "k", "s=a"))[0]
			var read storage.Record
			writeBack := func(ctx context.Context, tx storage.Tx) error {
				next := read
				next.Data = `"written from a stale read"`
				_, err := tx.Put(ctx, next)
				return err
			}
			first := func(ctx context.Context, tx storage.Tx) (err error) {
				if read, err = tx.Get(ctx, kindA, orig.ID); err != nil || !tc.writeFirst {
					return err
				}
				return writeBack(ctx, tx)
			}
			var then txStep
			if !tc.writeFirst {
				then = writeBack
			}
			stale := startTx(t, s, first, then)
			require.NoError(t, stale.awaitReady(t))

			// Delete and re-create from other transactions. A backend that
			// locks rows holds them while the stale writer is open: then
			// the stale writer commits first, legitimately, and they follow.
			recreated := newRecord(kindA, orig.ID, "k2", "s=b")
			churned := make(chan error, 1)
			go func() {
				churned <- s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
					return tx.Delete(ctx, kindA, orig.ID, orig.Version)
				})
				churned <- s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
					_, err := tx.Put(ctx, recreated)
					return err
				})
			}()
			select {
			case err := <-churned:
				require.NoError(t, err, "delete")
				require.NoError(t, await(t, churned, "re-create"))
				require.ErrorIs(t, stale.finish(t), itil.ErrConflict)
			case <-time.After(blockedAfter):
				// Held by a lock: one side wins whole, the other conflicts.
				staleErr := stale.finish(t)
				delErr, putErr := await(t, churned, "delete"), await(t, churned, "re-create")
				if staleErr == nil {
					require.ErrorIs(t, delErr, itil.ErrConflict, "the stale writer won; the delete must see its write")
					require.ErrorIs(t, putErr, itil.ErrConflict)
					return
				}
				require.ErrorIs(t, staleErr, itil.ErrConflict)
				require.NoError(t, delErr)
				require.NoError(t, putErr)
			}
			requireStored(t, s, stored(recreated, orig.Version))
		})
	}
}

// testTxReadChanged: a transaction that writes one record after reading
// another must not commit when the record it read was changed meanwhile,
// whether it read it by Get, Query or Lookup, or found it missing.
func testTxReadChanged(t *testing.T, f Factory) {
	reads := map[string]func(ctx context.Context, tx storage.Tx, id itil.ID) error{
		"Get": func(ctx context.Context, tx storage.Tx, id itil.ID) error {
			_, err := tx.Get(ctx, kindA, id)
			return err
		},
		"Query": func(ctx context.Context, tx storage.Tx, id itil.ID) error {
			_, err := collect(tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"s=a"}}))
			return err
		},
		"Lookup": func(ctx context.Context, tx storage.Tx, id itil.ID) error {
			_, err := collect(tx.Lookup(ctx, kindA, []string{"s=a"}))
			return err
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, f)
			rule := create(t, s, newRecord(kindA, testID(1), "k", "s=a"))[0]
			decide := startTx(t, s, func(ctx context.Context, tx storage.Tx) error {
				return read(ctx, tx, rule.ID)
			}, func(ctx context.Context, tx storage.Tx) error {
				_, err := tx.Put(ctx, newRecord(kindB, testID(2), "k"))
				return err
			})
			require.NoError(t, decide.awaitReady(t))
			next := rule
			next.Data = `"changed"`
			update(t, s, rule, next)
			require.ErrorIs(t, decide.finish(t), itil.ErrConflict)
			requireMissing(t, s, kindB, testID(2))
		})
	}
	t.Run("Missing", func(t *testing.T) {
		s := newStore(t, f)
		decide := startTx(t, s, func(ctx context.Context, tx storage.Tx) error {
			_, err := tx.Get(ctx, kindA, testID(1))
			if !errors.Is(err, itil.ErrNotFound) {
				return fmt.Errorf("want not found, got %v", err)
			}
			return nil
		}, func(ctx context.Context, tx storage.Tx) error {
			_, err := tx.Put(ctx, newRecord(kindB, testID(2), "k"))
			return err
		})
		require.NoError(t, decide.awaitReady(t))
		create(t, s, newRecord(kindA, testID(1), "k"))
		require.ErrorIs(t, decide.finish(t), itil.ErrConflict)
		requireMissing(t, s, kindB, testID(2))
	})
	t.Run("UnrelatedChange", func(t *testing.T) {
		s := newStore(t, f)
		recs := create(t, s, newRecord(kindA, testID(1), "k", "s=a"), newRecord(kindA, testID(3), "k", "s=b"))
		decide := startTx(t, s, func(ctx context.Context, tx storage.Tx) error {
			_, err := tx.Get(ctx, kindA, testID(1))
			return err
		}, func(ctx context.Context, tx storage.Tx) error {
			_, err := tx.Put(ctx, newRecord(kindB, testID(2), "k"))
			return err
		})
		require.NoError(t, decide.awaitReady(t))
		next := recs[1]
		next.Data = `"changed"`
		update(t, s, recs[1], next)
		require.NoError(t, decide.finish(t), "a change to a record not read is no conflict")
	})
}

// testTxClosedInFlight: closing the backend ends transactions in flight;
// none of them commits afterwards.
func testTxClosedInFlight(t *testing.T, f Factory) {
	b, closeBackend := newBackend(t, f)
	s := tenantStore(t, b, tenantA)
	open := startTx(t, s, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, newRecord(kindA, testID(1), "k"))
		return err
	}, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, newRecord(kindA, testID(2), "k"))
		return err
	})
	require.NoError(t, open.awaitReady(t))
	require.NoError(t, closeBackend())
	require.ErrorIs(t, open.finish(t), storage.ErrClosed)
}
