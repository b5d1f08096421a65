package storagetest

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

func testPutCreateAndGet(t *testing.T, f Factory) {
	s := newStore(t, f)
	rec := newRecord(kindA, testID(1), "k1", "s=a", "p=1")
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		v, err := tx.Put(ctx, rec)
		require.NoError(t, err)
		require.EqualValues(t, 1, v, "a created record has version 1")
	})
	requireStored(t, s, stored(rec, 1))
}

func testPutUpdate(t *testing.T, f Factory) {
	s := newStore(t, f)
	cur := create(t, s, newRecord(kindA, testID(1), "k1", "s=a", "p=1"))[0]
	for want := int64(2); want <= 4; want++ {
		rev := strconv.FormatInt(want, 10)
		next := storage.Record{Data: `{"rev":` + rev + `}`, Terms: []string{"s=b", "p=" + rev}, SortKey: "k" + rev}
		cur = update(t, s, cur, next)
		require.Equal(t, want, cur.Version)
		requireStored(t, s, cur)
	}
}

func testPutStaleVersion(t *testing.T, f Factory) {
	s := newStore(t, f)
	v1 := create(t, s, newRecord(kindA, testID(1), "k1", "s=a"))[0]
	v2 := update(t, s, v1, newRecord(kindA, v1.ID, "k2", "s=b"))
	// A create of a record the transaction has not read may be checked
	// at commit instead (see Tx.Put); then the commit fails.
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Put(ctx, newRecord(kindA, v1.ID, "k9", "s=c"))
		return err
	})
	require.ErrorIs(t, err, itil.ErrConflict, "create of a record at version 2")
	requireStored(t, s, v2)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Get(ctx, kindA, v1.ID)
		require.NoError(t, err)
		for _, version := range []int64{0, 1, 3} {
			stale := newRecord(kindA, v1.ID, "k9", "s=c")
			stale.Version = version
			_, err := tx.Put(ctx, stale)
			require.ErrorIs(t, err, itil.ErrConflict, "Put at version %d of a record read at version 2", version)
		}
		got, err := tx.Get(ctx, kindA, v1.ID)
		require.NoError(t, err)
		require.Equal(t, rowOf(v2), rowOf(got), "a rejected Put writes nothing")
	})
	requireStored(t, s, v2)
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, version := range []int64{1, 3} {
			stale := newRecord(kindA, v1.ID, "k9", "s=c")
			stale.Version = version
			_, err := tx.Put(ctx, stale)
			require.ErrorIs(t, err, itil.ErrConflict, "Put at version %d of a record at version 2", version)
		}
	})
	requireStored(t, s, v2)
}

func testPutMissingWithVersion(t *testing.T, f Factory) {
	s := newStore(t, f)
	rec := newRecord(kindA, testID(1), "k1")
	rec.Version = 1
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Put(ctx, rec)
		require.ErrorIs(t, err, itil.ErrConflict)
	})
	requireMissing(t, s, kindA, rec.ID)
}

func testPutMalformed(t *testing.T, f Factory) {
	s := newStore(t, f)
	for _, tc := range []struct {
		name, field string
		rec         storage.Record
	}{
		{"EmptyKind", "kind", newRecord("", testID(1), "k")},
		{"NilID", "id", newRecord(kindA, itil.NilID, "k")},
		{"TermWithoutEquals", "terms[1]", newRecord(kindA, testID(2), "k", "s=a", "sa")},
		{"TermWithoutField", "terms[0]", newRecord(kindA, testID(3), "k", "=x")},
		{"NegativeVersion", "version", stored(newRecord(kindA, testID(4), "k"), -1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inTx(t, s, func(ctx context.Context, tx storage.Tx) {
				_, err := tx.Put(ctx, tc.rec)
				requireValidation(t, err, tc.field)
			})
		})
	}
	require.Empty(t, query(t, s, storage.Query{Kind: kindA}), "rejected records are not written")
}

func testPutCopiesTerms(t *testing.T, f Factory) {
	s := newStore(t, f)
	data := `{"title":"printer on fire"}`
	terms := []string{"s=a", "p=1"}
	want := stored(storage.Record{Kind: kindA, ID: testID(1), SortKey: "k",
		Data: data, Terms: []string{"s=a", "p=1"}}, 1)
	scribble := func(r *storage.Record) {
		for i := range r.Terms {
			r.Terms[i] = "x=x"
		}
	}

	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		rec := storage.Record{Kind: kindA, ID: want.ID, SortKey: "k", Data: data, Terms: terms}
		_, err := tx.Put(ctx, rec)
		require.NoError(t, err)
		scribble(&rec) // the caller's slices after Put

		got, err := tx.Get(ctx, kindA, want.ID)
		require.NoError(t, err)
		require.Equal(t, rowOf(want), rowOf(got), "Put must copy Terms")
		scribble(&got) // the slices Get returned, inside the transaction
		got, err = tx.Get(ctx, kindA, want.ID)
		require.NoError(t, err)
		require.Equal(t, rowOf(want), rowOf(got), "Get must copy Terms out")
	})
	requireStored(t, s, want)

	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		got, err := tx.Get(ctx, kindA, want.ID)
		require.NoError(t, err)
		scribble(&got)
		for _, r := range mustCollect(t, tx.Query(ctx, storage.Query{Kind: kindA})) {
			scribble(&r)
		}
		for _, r := range mustCollect(t, tx.Lookup(ctx, kindA, []string{"s=a"})) {
			scribble(&r)
		}
	})
	requireStored(t, s, want)
}

func testGetMissing(t *testing.T, f Factory) {
	s := newStore(t, f)
	rec := create(t, s, newRecord(kindA, testID(1), "k"))[0]
	requireMissing(t, s, kindA, testID(2))
	requireMissing(t, s, kindB, rec.ID)
	requireMissing(t, s, "unknown-kind", rec.ID)
}

func testDeleteCurrentVersion(t *testing.T, f Factory) {
	s := newStore(t, f)
	recs := create(t, s, newRecord(kindA, testID(1), "k1", "s=a"), newRecord(kindA, testID(2), "k2", "s=a"))
	cur := update(t, s, recs[0], newRecord(kindA, recs[0].ID, "k1", "s=a"))
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.NoError(t, tx.Delete(ctx, kindA, cur.ID, cur.Version))
		_, err := tx.Get(ctx, kindA, cur.ID)
		require.ErrorIs(t, err, itil.ErrNotFound, "a deleted record is gone inside its transaction")
	})
	requireMissing(t, s, kindA, cur.ID)
	require.Equal(t, []row{rowOf(recs[1])}, query(t, s, storage.Query{Kind: kindA}))
	require.Equal(t, []row{rowOf(recs[1])}, query(t, s, storage.Query{Kind: kindA, Terms: []string{"s=a"}}))

	recreated := create(t, s, newRecord(kindA, cur.ID, "k3"))[0]
	requireStored(t, s, recreated)
}

func testDeleteStaleVersion(t *testing.T, f Factory) {
	s := newStore(t, f)
	v1 := create(t, s, newRecord(kindA, testID(1), "k1"))[0]
	v2 := update(t, s, v1, newRecord(kindA, v1.ID, "k2"))
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, version := range []int64{0, 1, 3} {
			err := tx.Delete(ctx, kindA, v1.ID, version)
			require.ErrorIs(t, err, itil.ErrConflict, "Delete at version %d of a record at version 2", version)
		}
	})
	requireStored(t, s, v2)
}

func testDeleteMissing(t *testing.T, f Factory) {
	s := newStore(t, f)
	rec := create(t, s, newRecord(kindA, testID(1), "k"))[0]
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.ErrorIs(t, tx.Delete(ctx, kindA, testID(2), 1), itil.ErrNotFound)
		require.ErrorIs(t, tx.Delete(ctx, kindB, rec.ID, 1), itil.ErrNotFound)
		require.NoError(t, tx.Delete(ctx, kindA, rec.ID, 1))
		require.ErrorIs(t, tx.Delete(ctx, kindA, rec.ID, 1), itil.ErrNotFound, "deleting twice in one transaction")
	})
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		require.ErrorIs(t, tx.Delete(ctx, kindA, rec.ID, 1), itil.ErrNotFound, "deleting a deleted record")
	})
}
