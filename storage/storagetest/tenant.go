package storagetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

func testBackendEmptyTenant(t *testing.T, f Factory) {
	b, _ := newBackend(t, f)
	_, err := b.Tenant("")
	requireValidation(t, err, "tenant")
}

// testBackendNamesAreText: tenants, kinds and sequence names are stored
// as text by some backends, so every backend rejects a NUL byte or
// invalid UTF-8 in them with a *itil.ValidationError, and writes nothing.
func testBackendNamesAreText(t *testing.T, f Factory) {
	b, _ := newBackend(t, f)
	for _, bad := range []string{"acme\x00", "acme\xff"} {
		_, err := b.Tenant(bad)
		requireValidation(t, err, "tenant")
	}
	s := tenantStore(t, b, tenantA)
	for _, bad := range []string{"incident\x00", "in\xc3cident"} {
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			_, err := tx.Put(ctx, newRecord(bad, testID(1), "k"))
			requireValidation(t, err, "kind")
			_, err = tx.Get(ctx, bad, testID(1))
			requireValidation(t, err, "kind")
			requireValidation(t, tx.Delete(ctx, bad, testID(1), 1), "kind")
			for _, err := range tx.Query(ctx, storage.Query{Kind: bad}) {
				requireValidation(t, err, "kind")
			}
			for _, err := range tx.Lookup(ctx, bad, []string{"s=a"}) {
				requireValidation(t, err, "kind")
			}
			_, err = tx.NextSeq(ctx, bad)
			requireValidation(t, err, "name")
		})
	}
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Get(ctx, kindA, testID(1))
		require.ErrorIs(t, err, itil.ErrNotFound, "nothing was written")
	})
	require.EqualValues(t, 1, nextSeq(t, s, "incident"))
}

func testBackendSameTenant(t *testing.T, f Factory) {
	b, _ := newBackend(t, f)
	s1, s2 := tenantStore(t, b, tenantA), tenantStore(t, b, tenantA)
	require.Equal(t, tenantA, s1.Tenant())
	require.Equal(t, tenantA, s2.Tenant())

	rec := create(t, s1, newRecord(kindA, testID(1), "k", "s=a"))[0]
	ev := newEvent(rec.ID, "created", "")
	inTx(t, s1, func(ctx context.Context, tx storage.Tx) { require.NoError(t, tx.Append(ctx, ev)) })
	require.EqualValues(t, 1, nextSeq(t, s1, "incident"))

	requireStored(t, s2, rec)
	require.Equal(t, []row{rowOf(rec)}, query(t, s2, storage.Query{Kind: kindA, Terms: []string{"s=a"}}))
	require.Equal(t, committedAs(tenantA, []itil.Event{ev}, 1), evRowsOf(journal(t, s2, storage.JournalQuery{})))
	require.EqualValues(t, 2, nextSeq(t, s2, "incident"))

	updated := update(t, s2, rec, newRecord(kindA, rec.ID, "k2"))
	requireStored(t, s1, updated)
}

func testBackendClosed(t *testing.T, f Factory) {
	b, closeBackend := newBackend(t, f)
	s := tenantStore(t, b, tenantA)
	create(t, s, newRecord(kindA, testID(1), "k"))
	require.NoError(t, closeBackend())
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error { return nil })
	require.ErrorIs(t, err, storage.ErrClosed)
}

func testTenantIsolation(t *testing.T, f Factory) {
	b, _ := newBackend(t, f)
	a, other := tenantStore(t, b, tenantA), tenantStore(t, b, tenantB)
	require.Equal(t, tenantB, other.Tenant())

	recA := create(t, a, newRecord(kindA, testID(1), "k", "s=a"))[0]
	recA = update(t, a, recA, newRecord(kindA, recA.ID, "k", "s=a"))
	shared := testID(7) // a subject both tenants' events refer to
	evA := refEvent(kindA, recA.ID, "created", `{"tenant":"a"}`, shared)
	inTx(t, a, func(ctx context.Context, tx storage.Tx) { require.NoError(t, tx.Append(ctx, evA)) })
	require.EqualValues(t, 1, nextSeq(t, a, "incident"))
	require.EqualValues(t, 2, nextSeq(t, a, "incident"))

	inTx(t, other, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Get(ctx, kindA, recA.ID)
		require.ErrorIs(t, err, itil.ErrNotFound)
		require.Empty(t, mustCollect(t, tx.Query(ctx, storage.Query{Kind: kindA})))
		require.Empty(t, mustCollect(t, tx.Query(ctx, storage.Query{Kind: kindA, Terms: []string{"s=a"}})))
		require.Empty(t, mustCollect(t, tx.Lookup(ctx, kindA, []string{"s=a"})))
		require.Empty(t, mustCollect(t, tx.Journal(ctx, storage.JournalQuery{})))
		require.Empty(t, mustCollect(t, tx.Journal(ctx, storage.JournalQuery{SubjectID: recA.ID})))
		require.Empty(t, mustCollect(t, tx.Journal(ctx, storage.JournalQuery{SubjectID: shared})))
		last, err := tx.LastSeq(ctx)
		require.NoError(t, err)
		require.Zero(t, last, "LastSeq is per tenant")
		require.ErrorIs(t, tx.Delete(ctx, kindA, recA.ID, recA.Version), itil.ErrNotFound)
		_, err = tx.Put(ctx, stored(newRecord(kindA, recA.ID, "k"), recA.Version))
		require.ErrorIs(t, err, itil.ErrConflict, "tenant B has no record at tenant A's version")
	})
	require.EqualValues(t, 1, nextSeq(t, other, "incident"), "sequences are per tenant")

	// B creates its own record with the same kind and ID, and its own event.
	recB := create(t, other, newRecord(kindA, recA.ID, "other", "s=b"))[0]
	evB := refEvent(kindA, recA.ID, "created", `{"tenant":"b"}`, shared)
	inTx(t, other, func(ctx context.Context, tx storage.Tx) { require.NoError(t, tx.Append(ctx, evB)) })
	requireStored(t, a, recA)
	requireStored(t, other, recB)
	require.Equal(t, []row{rowOf(recA)}, query(t, a, storage.Query{Kind: kindA}))
	require.Equal(t, []row{rowOf(recB)}, query(t, other, storage.Query{Kind: kindA}))
	require.Empty(t, query(t, other, storage.Query{Kind: kindA, Terms: []string{"s=a"}}))

	journalA := journal(t, a, storage.JournalQuery{})
	require.Equal(t, committedAs(tenantA, []itil.Event{evA}, 1), evRowsOf(journalA))
	journalB := journal(t, other, storage.JournalQuery{})
	require.Equal(t, committedAs(tenantB, []itil.Event{evB}, 1), evRowsOf(journalB), "each tenant's journal starts at 1")
	require.Equal(t, committedAs(tenantA, []itil.Event{evA}, 1), evRowsOf(journal(t, a, storage.JournalQuery{SubjectID: shared})),
		"refs are per tenant")
	require.Equal(t, committedAs(tenantB, []itil.Event{evB}, 1), evRowsOf(journal(t, other, storage.JournalQuery{SubjectID: shared})))

	// Changes in one tenant leave the other's record alone.
	recB = update(t, other, recB, newRecord(kindA, recB.ID, "other2"))
	requireStored(t, a, recA)
	inTx(t, other, func(ctx context.Context, tx storage.Tx) {
		require.NoError(t, tx.Delete(ctx, kindA, recB.ID, recB.Version))
	})
	requireStored(t, a, recA)
	requireMissing(t, other, kindA, recA.ID)
	require.EqualValues(t, 3, nextSeq(t, a, "incident"))
}
