// Package postgres is the storage backend for several application instances
// sharing one PostgreSQL database, built on github.com/jackc/pgx/v5 and
// its pool. It keeps every promise of the storage contract across
// processes and is proven by storagetest.Run, the incident, SLM and CMDB
// suites, and tests that run two pools against one database.
//
// Open it from a DSN, or hand it a pool you configured:
//
//	b, err := postgres.Open(ctx, "postgres://app@db.internal/itil")
//	b, err := postgres.New(ctx, pool)
//
// The schema (records, record_terms, journal, journal_refs, journal_heads,
// sequences, schema_migrations) lives in the connection's search_path and is created
// and migrated by numbered, embedded migrations on Open and New, unless
// WithoutMigrations is given. Applying them takes a session advisory lock,
// so two processes opening at once apply each migration once. Record data
// is kept byte for byte (bytea): money inside it is the exact decimal
// string the collections encode, never a float. Sort keys, terms and IDs
// (uuid) compare bytewise, the order the contract asks for.
//
// The package's tests run against the server named by ITIL_POSTGRES_DSN,
// each in a schema of its own, and skip without it; .ci/run starts a
// throwaway cluster and sets it.
//
// # Isolation
//
// A transaction is optimistic: while the caller's function runs it holds
// one pool connection (from its first statement until RunInTx returns) but
// no database transaction and no lock (a NextSeq that reserves a block runs
// a transaction of its own; see Sequences). Reads (Get, Query, Lookup,
// Journal) are single statements at PostgreSQL's READ COMMITTED, merged
// with the transaction's own buffered writes; every record a read returns,
// and every Get that finds nothing, is remembered with the record's
// revision (rev, a value from one database sequence that every write of a
// record renews), and a later Get of it is answered from there. Put and
// Delete check the version against what the transaction sees and fail with
// itil.ErrConflict at once when it is stale.
//
// Commit opens a short READ COMMITTED transaction that
//
//  1. takes a transaction-level advisory lock for every record it read or
//     wrote, keyed by a hash of (tenant, kind, id), in ascending key order
//     (no deadlocks): exclusive for records it writes, shared for records
//     it only read. Every commit of every instance goes through these
//     locks, so a commit that wrote a record is either finished before a
//     validator's lock is granted, or waits for the validator's commit;
//  2. reads the current revision of those records in one statement and
//     fails with itil.ErrConflict, writing nothing, when any differs from
//     what the transaction first read (absent included): the record was
//     committed by another transaction after this one read it. A record
//     the transaction creates needs no probe (its INSERT fails with a
//     unique violation, reported as a conflict, when another transaction
//     created it), and a commit that updates a single record checks the
//     revision in the UPDATE's WHERE clause;
//  3. writes records and term rows (one statement per row for a few rows,
//     multi-row statements over arrays for more), takes its journal
//     numbers from the tenant's journal_heads row, inserts the events
//     (with one more statement, for all of them, inserting the
//     journal_refs rows of their refs when they have any), and commits.
//
// All of it, BEGIN to COMMIT, goes to the server as one pipeline: one
// round trip. A failed check raises an error (SQLSTATE IT409) in a
// server-side function, which aborts the rest of the pipeline.
//
// This is the contract's read-set rule exactly, which SERIALIZABLE would
// not give: PostgreSQL commits a transaction whose read was overwritten
// when it can order it before the writer, while the contract asks for a
// conflict. When two transactions race on a record, the one whose commit
// takes the lock first commits, and the other then finds the new
// revision and conflicts: first committer wins. A transaction that
// neither writes nor appends commits without touching the database, so it
// always commits.
//
// # Journal order
//
// The classic outbox trap is a number taken from a sequence by a
// transaction that commits after a later one: a reader that resumes after
// the later number skips the earlier event forever. Here a commit takes
// its numbers as the last statement before COMMIT with an upsert on the
// tenant's journal_heads row, and keeps that row locked until it has
// committed. The next commit of the tenant waits for the lock, so it reads
// the head only after the previous commit is visible, and numbers after
// it: seq increases in commit order, with no gaps (a rolled-back commit
// returns its numbers). Commits of one tenant that append events are
// serialised from their journal statement to their COMMIT, the end of
// their single round trip; commits that only write records are not.
//
// An event's refs are stored with it (journal.refs) and, one row per ref,
// in journal_refs, indexed by (tenant, subject_id, seq) like the journal's
// own subjects; a query by subject merges both index ranges in seq order.
//
// # Sequences
//
// NextSeq hands out values from a block the backend reserved with one
// upsert on the sequences table, in a short transaction of its own (one
// round trip, committed at once, at READ COMMITTED), so a value is never
// handed out twice, even when the caller rolls back or another instance
// reserves the next block. A block starts at one value and doubles while
// each is used up within a second, up to WithSequenceCache (32 by
// default); a block older than a second is dropped with any values left
// in it. Numbers taken less often than that are therefore reserved one at
// a time and follow the order they are taken in across instances; a busy
// instance saves a round trip on most of its numbers, at the price
// PostgreSQL's sequence CACHE also asks (numbers of busy instances
// interleave, and values reserved and not used are skipped).
//
// A single value is reserved with synchronous_commit off: it does not wait
// for its own WAL flush. It goes to the transaction that took it, whose
// durable commit flushes it too, since the WAL is written in order. A
// block of more values commits durably before any of them is handed out,
// because the backend hands the rest out from memory: a reservation lost
// in a crash of the database server would let another instance reserve
// them again. So a number used by a committed record always survives a
// crash; only numbers handed to transactions that never committed may be
// handed out again after one.
//
// # Claims
//
// Work only one instance may do (the SLA monitor firing a breach) is
// claimed by writing a record at the version the claimer read; the second
// instance's commit gets itil.ErrConflict and skips the work. The
// advisory locks above make that hold across pools and processes.
//
// # Bulk writes
//
// Commits write several records with multi-row statements (unnest of
// arrays). A create of a record the transaction has not seen costs no
// round trip: the record is taken as absent and the commit's INSERT
// checks it (see storage.Tx.Put); other writes read the record first.
//
// Errors from the driver are wrapped with what was being done. A
// serialisation failure, deadlock, unique violation or lock timeout
// (lock_timeout) is a lost race and wraps itil.ErrConflict; a closed
// backend gives storage.ErrClosed; contexts are respected, and Open sets a
// connect timeout when the DSN has none.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

//go:embed migrations/*.sql
var migrations embed.FS

// defaultConnectTimeout bounds a connection attempt when the DSN sets no
// connect_timeout.
const defaultConnectTimeout = 10 * time.Second

// Backend is a PostgreSQL storage.Backend. It is safe for concurrent use.
type Backend struct {
	pool    *pgxpool.Pool
	ownPool bool
	closed  atomic.Bool
	seqs    *sequences
	// beforeCommit, set by tests only, runs inside a commit after its
	// last statement and before COMMIT.
	beforeCommit func(tenant string)
}

// Option configures Open and New.
type Option func(*options)

type options struct {
	noMigrations  bool
	sequenceCache int
}

// WithoutMigrations skips applying the embedded migrations: the schema
// must already be there (for deployments that migrate separately).
func WithoutMigrations() Option { return func(o *options) { o.noMigrations = true } }

// WithSequenceCache sets the most sequence values (NextSeq) the backend
// reserves at once: 32 by default, 1 for a reservation per value. A block
// starts at one value and doubles, up to n, while each is used up within a
// second of being reserved, and a block older than that is dropped, so a
// quiet service desk hands out consecutive numbers in the order it takes
// them, across instances too, and a busy one saves a round trip on most
// of its numbers. The price of n > 1, as with PostgreSQL's own sequence
// CACHE: when several instances are busy at once their numbers interleave
// out of creation order, and values reserved and not used (left in a
// dropped block, or when an instance stops) are never handed out. n < 1
// makes Open and New fail with a *itil.ValidationError.
func WithSequenceCache(n int) Option { return func(o *options) { o.sequenceCache = n } }

// Open connects to the database of dsn (a postgres:// URL or key=value
// string, as pgx parses it) with a pool of its own, applies the
// migrations, and returns the backend. Close closes the pool.
func Open(ctx context.Context, dsn string, opts ...Option) (*Backend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	b, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	b.ownPool = true
	return b, nil
}

// New returns a backend on an existing pool, after applying the
// migrations. The pool stays the caller's: Close does not close it.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Backend, error) {
	o := options{sequenceCache: defaultSequenceCache}
	for _, opt := range opts {
		opt(&o)
	}
	if pool == nil {
		return nil, errors.New("postgres: nil pool")
	}
	if o.sequenceCache < 1 {
		return nil, itil.Invalid("sequence_cache", "must be at least 1")
	}
	if !o.noMigrations {
		if err := migrate(ctx, pool); err != nil {
			return nil, err
		}
	}
	return &Backend{pool: pool, seqs: newSequences(o.sequenceCache)}, nil
}

// Tenant returns the store of the named tenant.
func (b *Backend) Tenant(name string) (storage.Store, error) {
	if err := storage.CheckName("tenant", name); err != nil {
		return nil, err
	}
	if b.closed.Load() {
		return nil, storage.ErrClosed
	}
	return &store{b: b, tenant: name}, nil
}

// Close marks the backend closed (its stores then return
// storage.ErrClosed) and closes the pool when Open made it.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.ownPool {
		if b.pool.Stat().AcquiredConns() == 0 {
			b.pool.Close()
		} else {
			// A transaction in flight holds a connection until its
			// RunInTx returns (with storage.ErrClosed); the pool closes
			// once they are all back.
			go b.pool.Close()
		}
	}
	return nil
}

// migrationLock is the advisory lock key (with the schema's hash) that
// serialises applying migrations.
const migrationLock = 0x17110001

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, each in a transaction of its own, under a session
// advisory lock so that concurrent openers apply each one once.
func migrate(ctx context.Context, pool *pgxpool.Pool) (err error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	sort.Strings(names)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// A session lock outlives errors; release it, or drop the
		// connection so the server does. Close's error is not reported:
		// it closes the socket whatever it returns, the server then
		// ends the session, and the migration's outcome is decided.
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, migrationLock); uerr != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied := make(map[int]bool)
	rows, _ := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: migrate: read versions: %w", err)
	}
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("postgres: migration %s: name must start with its number", base)
		}
		if applied[v] {
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", base, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", base, err)
		}
	}
	return nil
}

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for others.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// wrap gives a driver error context, and maps what the contract names:
// a closed backend, and the serialisation failures PostgreSQL reports
// (which this backend's locking avoids, but a DBA's settings may not).
func (b *Backend) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if b.closed.Load() {
		return storage.ErrClosed
	}
	msg := fmt.Sprintf(format, args...)
	switch pgCode(err) {
	case "40001", "40P01", "23505", "55P03": // 55P03: gave up waiting for a lock (lock_timeout)
		return fmt.Errorf("postgres: %s: %w (%w)", msg, itil.ErrConflict, err)
	}
	return fmt.Errorf("postgres: %s: %w", msg, err)
}
