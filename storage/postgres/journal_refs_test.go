package postgres

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// TestMigrateJournalRefs: a schema written before the journal kept refs
// (migration 0001 only) is migrated on Open, reads its old events back
// without refs, and journals and finds refs from then on.
func TestMigrateJournalRefs(t *testing.T) {
	dsn := freshSchema(t)
	ctx := context.Background()
	initSQL, err := migrations.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	subject, other := itil.NewID(), itil.NewID()
	for _, stmt := range []string{
		string(initSQL),
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO schema_migrations (version) VALUES (1)`,
		`INSERT INTO journal_heads (tenant, seq) VALUES ('t', 1)`,
	} {
		_, err := pool.Exec(ctx, stmt)
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload)
		VALUES ('t', 1, 'incident', $1, 1, 'alice', '', '2026-01-01T00:00:00Z', 0, 'created', '{"old":true}')`, [16]byte(subject))
	require.NoError(t, err)
	pool.Close()

	b := openIn(t, dsn)
	s, err := b.Tenant("t")
	require.NoError(t, err)
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

// roundTrips counts the statements and batches sent on a pool's
// connections.
type roundTrips struct {
	queries, batches, batchQueries atomic.Int64
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.queries.Add(1)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.batches.Add(1)
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	r.batchQueries.Add(1)
}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestCommitWithRefsIsOneRoundTrip: events with refs add one statement to
// the commit's pipeline (all refs rows at once), not a round trip; events
// without refs add none.
func TestCommitWithRefsIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(freshSchema(t))
	require.NoError(t, err)
	var rt roundTrips
	cfg.ConnConfig.Tracer = &rt
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	b, err := New(ctx, pool)
	require.NoError(t, err)
	s, err := b.Tenant("t")
	require.NoError(t, err)
	event := func(refs ...itil.ID) itil.Event {
		return itil.Event{Kind: "ci", SubjectID: itil.NewID(), SubjectVersion: 1, Actor: itil.Actor{ID: "alice"},
			Time: time.Now(), Type: "related", Payload: []byte(`{}`), Refs: refs}
	}
	commit := func(evs ...itil.Event) (queries, batches, statements int64) {
		rt.queries.Store(0)
		rt.batches.Store(0)
		rt.batchQueries.Store(0)
		require.NoError(t, s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			if _, err := tx.Put(ctx, storage.Record{Kind: "ci", ID: itil.NewID(), Data: `{}`}); err != nil {
				return err
			}
			for _, ev := range evs {
				if err := tx.Append(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		}))
		return rt.queries.Load(), rt.batches.Load(), rt.batchQueries.Load()
	}
	q, bt, plain := commit(event(), event())
	require.Zero(t, q)
	require.EqualValues(t, 1, bt, "one pipeline")
	q, bt, withRefs := commit(event(itil.NewID(), itil.NewID()), event(), event(itil.NewID()))
	require.Zero(t, q)
	require.EqualValues(t, 1, bt, "one pipeline with refs")
	require.Equal(t, plain+1, withRefs, "refs rows of all events in one statement")
	_, _, one := commit(event())
	_, _, oneWithRefs := commit(event(itil.NewID()))
	require.Equal(t, one+1, oneWithRefs)
}
