package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/sqlite"
)

// TestMigrateJournalRefs: a database written before the journal kept refs
// (migration 0001 only) opens, migrates, reads its old events back without
// refs, and journals and finds refs from then on.
func TestMigrateJournalRefs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "itil.db")
	initSQL, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	subject, other := itil.NewID(), itil.NewID()
	for _, stmt := range []string{
		string(initSQL),
		`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (1, '2026-01-01T00:00:00Z')`,
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err)
	}
	_, err = db.Exec(`INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, time, type, payload)
		VALUES ('t', 1, 'incident', ?, 1, 'alice', '', '2026-01-01T00:00:00.000000000Z', 'created', '{"old":true}')`, subject[:])
	require.NoError(t, err)
	require.NoError(t, db.Close())

	b, err := sqlite.Open(path)
	require.NoError(t, err)
	defer b.Close()
	s := mustTenant(t, b, "t")
	ctx := context.Background()
	require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		return tx.Append(ctx, itil.Event{Kind: "relationship", SubjectID: other, SubjectVersion: 1,
			Actor: itil.Actor{ID: "alice"}, Time: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Type: "related",
			Refs: []itil.ID{subject}})
	}))
	require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var got []itil.Event
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: subject}) {
			require.NoError(t, err)
			got = append(got, ev)
		}
		require.Len(t, got, 2)
		require.Nil(t, got[0].Refs, "an event journalled before refs existed")
		require.Equal(t, subject, got[0].SubjectID)
		require.Equal(t, []itil.ID{subject}, got[1].Refs)
		last, err := tx.LastSeq(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2, last)
		return nil
	}))
}
