// Package sqlite is the embedded, persistent storage backend: one file, no
// server, pure Go (modernc.org/sqlite, no cgo). It implements the storage
// contract of package storage and passes its conformance suite.
//
// Open a database with
//
//	b, err := sqlite.Open("itil.db")
//
// and scope it per tenant with b.Tenant. The schema is created and migrated
// on Open by numbered SQL files embedded in the package (see
// WithoutMigrations).
//
// # Durability
//
// The database runs in WAL mode with synchronous FULL by default: when
// RunInTx returns nil, the transaction is on disk and survives a crash of
// the process or of the machine. WithSynchronous(Normal) skips the sync on
// each commit (the WAL is synced at checkpoints instead): a process crash
// still loses nothing, but a power loss or kernel crash may lose the last
// transactions that were reported committed. It never corrupts the
// database. Choose Normal when throughput matters more than the last
// seconds of work.
//
// # Transactions and concurrency
//
// Transactions are optimistic until they write. Reads run on a pool of
// reader connections, concurrently with each other and with the writer
// (WAL readers see the last committed state and never wait), and the
// transaction remembers what it read. The first Put, Delete or NextSeq, or
// the commit of a transaction that only appends events, makes the
// transaction the writer: it takes the database's writer lock (one per
// database file in the process, shared by every Backend opened on that
// path and every tenant; waiting for it respects the context), starts
// BEGIN IMMEDIATE on the writer connection, and checks that every record
// it read is still as it read it (each row carries the number of the
// commit that last wrote it, so a record deleted and created again at the
// same version is still seen to have changed). If one changed, the
// transaction fails with itil.ErrConflict and writes nothing. From then
// on it reads and writes on the writer connection, where nothing can
// change underneath it, until it commits. So writers are serialised,
// "database is locked" never surfaces between transactions of one
// process, read-only transactions never wait and always commit, and the
// first transaction to commit wins. Other processes on the same file are
// kept out by SQLite's own lock and the busy timeout.
//
// A transaction whose context is marked storage.Writing (the command
// pipeline marks every command) takes the writer lock when it begins,
// before fn reads, and keeps it until it ends: the writers of one process
// then wait their turn instead of conflicting, since nothing of the
// process can commit between their reads and their writes. Its reads
// still run on the reader pool and are checked when it becomes the
// writer, so a commit of another process in between still makes it fail
// with itil.ErrConflict. A command should not run another command from
// inside its own transaction (hooks get the command's Tx for that). If it
// does (an authorizer that journals through another service, say), the
// inner one must be given the context fn was given: it then writes under
// the outer one's lock as long as the outer one has not written, and
// after that its writes fail at once. Given another context, it waits for
// the outer one's lock until that context ends.
//
// The price of this design: one transaction that writes at a time per
// database file, across all tenants, holding the writer lock from its
// first write (or, marked, from its start) to its commit (keep work
// between them short). Another
// process writing the same file waits up to the busy timeout (10 s) for
// SQLite's lock and then gets an error. Backends opened on the same file
// share the lock when the path resolves to the same absolute name (a
// symbolic link to it does not).
//
// Journal sequence numbers are assigned at commit, under the writer lock,
// as the tenant's highest number plus one: they increase in commit order,
// and a reader resuming after the last number it saw misses nothing. An
// event's refs are kept with it (journal.refs) and, one row per ref, in
// journal_refs, written by the same commit with multi-row inserts (none
// for events without refs); a query by subject merges the journal's
// subject index with that table's in seq order.
//
// NextSeq makes the transaction the writer and raises the sequence row
// inside the transaction. Values handed out are also kept as a high-water
// mark in the process (per database file), so a value of a transaction
// that rolled back is not handed out again by this process. A value of a
// transaction that never committed may be handed out again after the
// process restarts, or by another process using the same file: it was
// never visible to anyone.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Synchronous is SQLite's durability setting for commits.
type Synchronous int

const (
	// Full syncs the WAL on every commit: a commit survives a power loss.
	Full Synchronous = iota
	// Normal syncs only at checkpoints: a power loss may lose the last
	// commits, never the integrity of the database.
	Normal
)

func (s Synchronous) pragma() string {
	if s == Normal {
		return "NORMAL"
	}
	return "FULL"
}

type config struct {
	sync          Synchronous
	noMigrations  bool
	busyTimeoutMS int
	readers       int
}

// Option configures Open.
type Option func(*config)

// WithSynchronous sets the durability of commits (default Full). See the
// package documentation for the trade-off.
func WithSynchronous(s Synchronous) Option { return func(c *config) { c.sync = s } }

// WithoutMigrations opens the database as it is, without creating or
// migrating the schema: for databases migrated by a deployment step.
func WithoutMigrations() Option { return func(c *config) { c.noMigrations = true } }

// Backend is an opened SQLite database. It is safe for concurrent use.
type Backend struct {
	path string
	sh   *shared
	wdb  *sql.DB // one connection: the writer
	rdb  *sql.DB // readers

	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	ws      [numStmts]*sql.Stmt    // prepared on the writer connection
	termIns [maxTermRows]*sql.Stmt // multi-row term inserts, by rows-1
	refIns  [maxRefRows]*sql.Stmt  // multi-row journal_refs inserts, by rows-1
	rstmts  stmtCache
}

// shared is the state of one database file shared by every Backend of the
// process opened on it.
type shared struct {
	lock chan struct{} // the writer lock: holding it is having sent to it

	seqMu sync.Mutex
	seqs  map[seqKey]int64 // high-water marks of sequences handed out
}

type seqKey struct{ tenant, name string }

var registry = struct {
	sync.Mutex
	m map[string]*shared
}{m: make(map[string]*shared)}

func sharedFor(path string) *shared {
	registry.Lock()
	defer registry.Unlock()
	sh := registry.m[path]
	if sh == nil {
		sh = &shared{lock: make(chan struct{}, 1), seqs: make(map[seqKey]int64)}
		registry.m[path] = sh
	}
	return sh
}

// Open opens (creating it if needed) the database file at path and applies
// the schema migrations unless WithoutMigrations is given.
func Open(path string, opts ...Option) (*Backend, error) {
	cfg := config{sync: Full, busyTimeoutMS: 10000, readers: 8}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" {
		return nil, itil.Invalid("path", "must be a file path without '?' or '#'")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	abs = filepath.Clean(abs)
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(%s)",
		cfg.busyTimeoutMS, cfg.sync.pragma())
	wdb, err := sql.Open("sqlite", abs+"?_txlock=immediate&"+common)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	b := &Backend{path: abs, sh: sharedFor(abs), wdb: wdb, done: make(chan struct{})}
	// The writer connection sets WAL mode (persistent in the file) before
	// any reader opens. Switching the journal mode does not always wait
	// for a lock held by another process opening the file at the same
	// time: retry while SQLite reports it busy.
	if err := retryBusy(cfg.busyTimeoutMS, func() error {
		var mode string
		if err := wdb.QueryRow(`PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
			return err
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal mode is %q, not wal", mode)
		}
		return nil
	}); err != nil {
		return nil, also(fmt.Errorf("sqlite: open %s: %w", path, err), wdb.Close())
	}
	rdb, err := sql.Open("sqlite", abs+"?_pragma=query_only(1)&"+common)
	if err != nil {
		return nil, also(fmt.Errorf("sqlite: open %s: %w", path, err), wdb.Close())
	}
	rdb.SetMaxOpenConns(cfg.readers)
	rdb.SetMaxIdleConns(cfg.readers)
	b.rdb = rdb
	if !cfg.noMigrations {
		if err := retryBusy(cfg.busyTimeoutMS, func() error { return b.migrate(context.Background()) }); err != nil {
			return nil, also(err, b.Close())
		}
	}
	if err := b.prepare(); err != nil {
		return nil, also(err, b.Close())
	}
	return b, nil
}

// retryBusy runs f until it does not fail with SQLITE_BUSY, for at most
// about timeoutMS milliseconds.
func retryBusy(timeoutMS int, f func() error) error {
	deadline := time.Now().Add(time.Duration(timeoutMS) * time.Millisecond)
	wait := time.Millisecond
	for {
		err := f()
		var se interface{ Code() int }
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

const sqliteBusy = 5 // SQLITE_BUSY, the primary result code

// prepare prepares the writer's statements while no transaction holds its
// connection.
func (b *Backend) prepare() error {
	ctx := context.Background()
	var err error
	for i, q := range writerSQL {
		if b.ws[i], err = b.wdb.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: open %s: prepare (is the schema migrated?): %w", b.path, err)
		}
	}
	for n := 1; n <= maxTermRows; n++ {
		q := "INSERT INTO record_terms (tenant, kind, term, sort_key, id) VALUES (?, ?, ?, ?, ?)" +
			strings.Repeat(", (?, ?, ?, ?, ?)", n-1)
		if b.termIns[n-1], err = b.wdb.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: open %s: prepare: %w", b.path, err)
		}
	}
	for n := 1; n <= maxRefRows; n++ {
		q := "INSERT INTO journal_refs (tenant, subject_id, seq) VALUES (?, ?, ?)" + strings.Repeat(", (?, ?, ?)", n-1)
		if b.refIns[n-1], err = b.wdb.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("sqlite: open %s: prepare (is the schema migrated?): %w", b.path, err)
		}
	}
	return nil
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

// Close closes the database. It does not wait for transactions in flight:
// they fail with storage.ErrClosed at their next operation and are rolled
// back. Stores of a closed backend return storage.ErrClosed.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.done)
		err0 := b.rstmts.close()
		err1 := b.rdb.Close()
		err2 := b.wdb.Close()
		if err := errors.Join(err0, err1, err2); err != nil {
			b.closeErr = fmt.Errorf("sqlite: close %s: %w", b.path, err)
		}
	})
	return b.closeErr
}

// lock takes the writer lock of the database, giving up when ctx ends or
// the backend is closed.
func (b *Backend) lock(ctx context.Context) error {
	select {
	case b.sh.lock <- struct{}{}:
		return nil
	default:
	}
	select {
	case b.sh.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-b.done:
		return storage.ErrClosed
	}
}

func (b *Backend) unlock() { <-b.sh.lock }

// stmtCache keeps prepared statements of one *sql.DB by their SQL text.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache: query shapes are few, but a Lookup's
// SQL depends on how many terms it has.
const maxCachedStmts = 256

// query runs a read on db through a cached prepared statement.
func (c *stmtCache) query(ctx context.Context, db *sql.DB, query string, args ...any) (*sql.Rows, error) {
	c.mu.Lock()
	st, full := c.m[query], len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if st == nil {
		if full {
			return db.QueryContext(ctx, query, args...)
		}
		var err error
		if st, err = db.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if old := c.m[query]; old != nil {
			// Prepared twice at once: keep the cached one. Closing a
			// statement of a *sql.DB that never ran only drops it from
			// the pool's bookkeeping and cannot fail.
			_ = st.Close()
			st = old
		} else {
			if c.m == nil {
				c.m = make(map[string]*sql.Stmt)
			}
			c.m[query] = st
		}
		c.mu.Unlock()
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}
