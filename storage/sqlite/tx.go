package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/internal/merge"
	"github.com/itilkit/itil/storage/internal/termlist"
)

// store is one tenant's view of a Backend.
type store struct {
	b      *Backend
	tenant string
}

func (s *store) Tenant() string { return s.tenant }

// RunInTx implements storage.Store; see the package documentation for how
// transactions are isolated.
func (s *store) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) (err error) {
	if s.b.closed.Load() {
		return storage.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	x := &tx{s: s, b: s.b}
	// However fn ends (error, panic, runtime.Goexit), the transaction is
	// over; unless it committed, it is rolled back.
	defer func() { err = also(err, x.end()) }()
	if storage.IsWriting(ctx) && holder(ctx, s.b) == nil {
		// A transaction that will write takes the writer lock before it
		// reads: writers of the process wait for each other rather than
		// conflict. fn's context names the holder, so that a RunInTx
		// inside fn (against the contract, from an authorizer, say) does
		// not wait for the lock its caller holds (see become).
		if err := s.b.lock(ctx); err != nil {
			return err
		}
		x.locked, x.early = true, true
		ctx = context.WithValue(ctx, holdingKey{}, x)
	}
	x.runCtx = ctx
	if err := fn(ctx, x); err != nil {
		return err
	}
	x.done = true
	return x.commit(ctx)
}

// holdingKey marks the context of a transaction that took the writer lock
// of a database when it began; its value is that *tx.
type holdingKey struct{}

// holder returns the transaction that holds b's writer lock and whose fn
// ctx was derived from, or nil.
func holder(ctx context.Context, b *Backend) *tx {
	if h, _ := ctx.Value(holdingKey{}).(*tx); h != nil && h.b.sh == b.sh {
		return h
	}
	return nil
}

// errHolderWrites is returned to a transaction run inside the fn of one
// that holds the writer lock, when it would write after that one did:
// the writer connection is that one's until it commits, after this one
// returns, so waiting would never end.
var errHolderWrites = errors.New("sqlite: a transaction run inside another one's fn cannot write once that one has written " +
	"(run the inner command in the outer one's Tx instead)")

type key struct {
	kind string
	id   itil.ID
}

// readNote is the stamp of a record as a transaction first read it before
// it became the writer (0: the record did not exist).
type readNote struct {
	k     key
	stamp int64
}

type tx struct {
	s      *store
	b      *Backend
	runCtx context.Context // RunInTx's: the writer transaction lives as long as it
	done   bool

	// Before the transaction writes: what it read.
	reads   []readNote
	readIdx map[key]int

	// Once it writes: the open IMMEDIATE transaction on the writer
	// connection, holding the writer lock.
	w      *sql.Tx
	locked bool
	early  bool // the lock was taken when the transaction began (storage.Writing)
	// writing is set while w is open; a transaction run inside this one's
	// fn reads it (holder).
	writing atomic.Bool
	stamp   int64 // the stamp of this commit, 0 until a record is written
	doomed  error // a conflict found, or a write that failed halfway

	// Batches that Query and Lookup iterators fetched and have not yielded
	// all of: rows fetched on the reader pool but yielded after the
	// transaction became the writer are checked when it becomes it.
	live []*pending

	events []itil.Event
}

// pending is a batch of rows an iterator fetched; rows[next:] are not
// yielded yet.
type pending struct {
	rows []row
	next int
}

func (x *tx) track() *pending {
	p := &pending{}
	x.live = append(x.live, p)
	return p
}

func (x *tx) untrack(p *pending) {
	if i := slices.Index(x.live, p); i >= 0 {
		x.live = slices.Delete(x.live, i, i+1)
	}
}

// yielding notes the read of a row an iterator is about to yield. A row
// fetched on the reader pool that changed before the transaction became
// the writer is a stale read: the commit must fail.
func (x *tx) yielding(kind string, r *row) {
	if r.stale && x.doomed == nil {
		x.doomed = fmt.Errorf("sqlite: %s %s: read by this transaction, changed by a concurrent one: %w",
			kind, r.id, itil.ErrConflict)
	}
	x.noteRead(key{kind, r.id}, r.stamp)
}

// failed dooms the transaction after a write that failed once the
// transaction became the writer: the write may have been done in part, and
// SQLite rolls the whole transaction back on some errors (an interrupt, a
// full disk), after which statements would run outside of it.
func (x *tx) failed(err error) error {
	if x.doomed == nil {
		x.doomed = err
	}
	return err
}

// end ends the transaction: whatever is still open is rolled back, and
// the writer lock released. It returns the error of that rollback.
func (x *tx) end() error {
	x.done = true
	x.early = false
	return x.release()
}

// release rolls back the writer transaction, if any, and releases the
// writer lock, unless the transaction took it when it began: it keeps it
// until it ends. It returns the error of the rollback: none when there
// was nothing to roll back (after Commit x.w is nil), nor when
// database/sql had already rolled it back because RunInTx's context ended
// (sql.ErrTxDone).
func (x *tx) release() error {
	var err error
	if x.w != nil {
		if err = x.w.Rollback(); errors.Is(err, sql.ErrTxDone) {
			err = nil
		}
		x.w = nil
		x.writing.Store(false)
	}
	if x.locked && !x.early {
		x.locked = false
		x.b.unlock()
	}
	if err != nil {
		return fmt.Errorf("sqlite: rollback: %w", err)
	}
	return nil
}

func (x *tx) check(ctx context.Context) error {
	if x.done {
		return storage.ErrTxDone
	}
	if x.b.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

// wrap gives a driver error context, and turns the errors of a closed
// backend into storage.ErrClosed. When the context of the call or of
// RunInTx has ended, the error is also that context's error: database/sql
// then rolls the writer transaction back underneath the statements that
// are running or about to run, which fail with errors of their own ("sql:
// statement is closed", sql.ErrTxDone, an interrupt), and a caller must be
// able to tell a cancellation (errors.Is(err, context.Canceled)) from a
// failure.
func (x *tx) wrap(ctx context.Context, err error, format string, args ...any) error {
	if x.b.closed.Load() {
		return storage.ErrClosed
	}
	msg := fmt.Sprintf(format, args...)
	if cerr := x.ended(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlite: %s: %w (%w)", msg, cerr, err)
	}
	return fmt.Errorf("sqlite: %s: %w", msg, err)
}

// ended returns the error of ctx, or else of RunInTx's context, once it
// has ended; nil while both run.
func (x *tx) ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.runCtx.Err()
}

func (x *tx) noteRead(k key, stamp int64) {
	if x.w != nil {
		return // reads on the writer connection cannot change underneath
	}
	if x.readIdx != nil {
		if _, ok := x.readIdx[k]; ok {
			return
		}
	} else {
		for _, r := range x.reads {
			if r.k == k {
				return
			}
		}
	}
	x.reads = append(x.reads, readNote{k, stamp})
	switch {
	case x.readIdx != nil:
		x.readIdx[k] = len(x.reads) - 1
	case len(x.reads) > 8:
		x.readIdx = make(map[key]int, 16)
		for i, r := range x.reads {
			x.readIdx[r.k] = i
		}
	}
}

// become makes the transaction the writer: it takes the writer lock, begins
// an IMMEDIATE transaction and checks that nothing it read has changed.
func (x *tx) become(ctx context.Context) error {
	if x.doomed != nil {
		return x.doomed
	}
	if x.w != nil {
		return nil
	}
	switch h := holder(x.runCtx, x.b); {
	case x.locked:
	case h != nil:
		// Run inside the fn of the transaction that holds the lock: that
		// one waits for this one, so this one writes under its lock, as
		// long as it has not taken the writer connection itself.
		if h.writing.Load() {
			return errHolderWrites
		}
	default:
		if err := x.b.lock(ctx); err != nil {
			return err
		}
		x.locked = true
	}
	// database/sql rolls the transaction back when the context given here
	// ends: that is RunInTx's, not that of the call that happens to write
	// first.
	w, err := x.b.wdb.BeginTx(x.runCtx, nil)
	if err != nil {
		// Release the lock (unless taken when the transaction began): a
		// later write tries again rather than wait for the lock this
		// transaction holds.
		return also(x.wrap(ctx, err, "begin"), x.release())
	}
	x.w = w
	x.writing.Store(true)
	st := x.wstmt(ctx, stStamp)
	stampOf := func(k key) (int64, error) {
		var stamp int64
		err := st.QueryRowContext(ctx, x.s.tenant, k.kind, k.id[:]).Scan(&stamp)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, x.wrap(ctx, err, "check %s %s", k.kind, k.id)
		}
		return stamp, nil
	}
	for _, r := range x.reads {
		stamp, err := stampOf(r.k)
		if err != nil {
			// Not checked: back to before, so that a later write checks
			// again.
			return also(err, x.release())
		}
		if stamp != r.stamp {
			x.doomed = fmt.Errorf("sqlite: %s %s: read by this transaction, changed by a concurrent one: %w",
				r.k.kind, r.k.id, itil.ErrConflict)
			return also(x.doomed, x.release())
		}
	}
	// Rows that iterators fetched on the reader pool and will yield from
	// now on: a read is noted when yielded, and from now on nothing is
	// noted, so mark those that changed since they were fetched.
	type mark struct {
		r     *row
		stale bool
	}
	var marks []mark
	for _, p := range x.live {
		for i := p.next; i < len(p.rows); i++ {
			r := &p.rows[i]
			stamp, err := stampOf(key{r.rec.Kind, r.id})
			if err != nil {
				return also(err, x.release())
			}
			marks = append(marks, mark{r, stamp != r.stamp})
		}
	}
	for _, m := range marks {
		m.r.stale = m.stale
	}
	x.reads, x.readIdx = nil, nil
	return nil
}

func (x *tx) wstmt(ctx context.Context, id stmtID) *sql.Stmt {
	return x.w.StmtContext(ctx, x.b.ws[id])
}

// query runs a read: on the writer connection once the transaction writes
// (it sees its own writes there), on the reader pool before.
func (x *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if x.w != nil {
		return x.w.QueryContext(ctx, q, args...)
	}
	return x.b.rstmts.query(ctx, x.b.rdb, q, args...)
}

// row is a record as read, with its stamp.
type row struct {
	id    itil.ID
	rec   storage.Record
	stamp int64
	stale bool // fetched on the reader pool, changed before the transaction became the writer
}

func scanRows(rows *sql.Rows, kind string) (out []row, err error) {
	// Next closes rows at the end; an early return closes them here.
	defer func() { err = also(err, rows.Close()) }()
	for rows.Next() {
		var (
			id      []byte
			terms   []byte
			r       row
			sortKey string
			data    string
		)
		if err := rows.Scan(&id, &r.rec.Version, &r.stamp, &sortKey, &terms, &data); err != nil {
			return nil, err
		}
		if len(id) != len(r.id) {
			return nil, fmt.Errorf("record id of %d bytes", len(id))
		}
		copy(r.id[:], id)
		r.rec.Kind, r.rec.ID, r.rec.SortKey, r.rec.Data = kind, r.id, sortKey, data
		if r.rec.Terms, err = termlist.Decode(terms); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (x *tx) Get(ctx context.Context, kind string, id itil.ID) (storage.Record, error) {
	if err := x.check(ctx); err != nil {
		return storage.Record{}, err
	}
	if err := storage.CheckName("kind", kind); err != nil {
		return storage.Record{}, err
	}
	rows, err := x.query(ctx, `SELECT `+recordCols+` FROM records WHERE tenant = ? AND kind = ? AND id = ?`,
		x.s.tenant, kind, id[:])
	if err != nil {
		return storage.Record{}, x.wrap(ctx, err, "get %s %s", kind, id)
	}
	got, err := scanRows(rows, kind)
	if err != nil {
		return storage.Record{}, x.wrap(ctx, err, "get %s %s", kind, id)
	}
	if len(got) == 0 {
		x.noteRead(key{kind, id}, 0)
		return storage.Record{}, fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	x.noteRead(key{kind, id}, got[0].stamp)
	return got[0].rec, nil
}

// current returns the stored version, sort key and terms of a record on
// the writer connection; version 0 when it does not exist.
func (x *tx) current(ctx context.Context, kind string, id itil.ID) (version int64, sortKey string, terms []string, err error) {
	var enc []byte
	err = x.wstmt(ctx, stCur).QueryRowContext(ctx, x.s.tenant, kind, id[:]).Scan(&version, &sortKey, &enc)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil, nil
	}
	if err != nil {
		return 0, "", nil, err
	}
	terms, err = termlist.Decode(enc)
	return version, sortKey, terms, err
}

// nextStamp returns the stamp of this commit, reading the counter the first
// time a record is written.
func (x *tx) nextStamp(ctx context.Context) (int64, error) {
	if x.stamp == 0 {
		var v int64
		if err := x.wstmt(ctx, stGetCounter).QueryRowContext(ctx).Scan(&v); err != nil {
			return 0, err
		}
		x.stamp = v + 1
	}
	return x.stamp, nil
}

func (x *tx) Put(ctx context.Context, rec storage.Record) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	if err := storage.CheckRecord(rec); err != nil {
		return 0, err
	}
	if err := x.become(ctx); err != nil {
		return 0, err
	}
	cur, oldSort, oldTerms, err := x.current(ctx, rec.Kind, rec.ID)
	if err != nil {
		return 0, x.failed(x.wrap(ctx, err, "put %s %s", rec.Kind, rec.ID))
	}
	if rec.Version != cur {
		return 0, fmt.Errorf("%s %s: version %d is stale (current %d): %w",
			rec.Kind, rec.ID, rec.Version, cur, itil.ErrConflict)
	}
	stamp, err := x.nextStamp(ctx)
	if err != nil {
		return 0, x.failed(x.wrap(ctx, err, "put %s %s", rec.Kind, rec.ID))
	}
	terms := termlist.Dedup(rec.Terms)
	enc := termlist.Encode(terms)
	if cur == 0 {
		_, err = x.wstmt(ctx, stInsert).ExecContext(ctx, x.s.tenant, rec.Kind, rec.ID[:], 1, stamp, rec.SortKey, enc, rec.Data)
		if err == nil {
			err = x.insertTerms(ctx, rec.Kind, rec.ID, rec.SortKey, terms)
		}
	} else {
		_, err = x.wstmt(ctx, stUpdate).ExecContext(ctx, cur+1, stamp, rec.SortKey, enc, rec.Data, x.s.tenant, rec.Kind, rec.ID[:])
		if err == nil {
			err = x.moveTerms(ctx, rec.Kind, rec.ID, oldSort, oldTerms, rec.SortKey, terms)
		}
	}
	if err != nil {
		return 0, x.failed(x.wrap(ctx, err, "put %s %s", rec.Kind, rec.ID))
	}
	return cur + 1, nil
}

// maxTermRows is the most term rows one INSERT carries.
const maxTermRows = 16

// insertTerms inserts the term rows of a record, up to maxTermRows per
// statement.
func (x *tx) insertTerms(ctx context.Context, kind string, id itil.ID, sortKey string, terms []string) error {
	for len(terms) > 0 {
		n := min(len(terms), maxTermRows)
		args := make([]any, 0, 5*n)
		for _, t := range terms[:n] {
			args = append(args, x.s.tenant, kind, t, sortKey, id[:])
		}
		if _, err := x.w.StmtContext(ctx, x.b.termIns[n-1]).ExecContext(ctx, args...); err != nil {
			return err
		}
		terms = terms[n:]
	}
	return nil
}

func (x *tx) deleteTerms(ctx context.Context, kind string, id itil.ID, sortKey string, terms []string) error {
	if len(terms) == 0 {
		return nil
	}
	st := x.wstmt(ctx, stDelTerm)
	for _, t := range terms {
		if _, err := st.ExecContext(ctx, x.s.tenant, kind, t, sortKey, id[:]); err != nil {
			return err
		}
	}
	return nil
}

// moveTerms replaces a record's term rows; when the sort key stays, only
// the terms that changed are touched (most updates change one or two).
func (x *tx) moveTerms(ctx context.Context, kind string, id itil.ID, oldSort string, old []string, newSort string, new []string) error {
	if oldSort != newSort {
		if err := x.deleteTerms(ctx, kind, id, oldSort, old); err != nil {
			return err
		}
		return x.insertTerms(ctx, kind, id, newSort, new)
	}
	var gone, added []string
	termlist.Diff(old, new, func(t string) { gone = append(gone, t) }, func(t string) { added = append(added, t) })
	if err := x.deleteTerms(ctx, kind, id, oldSort, gone); err != nil {
		return err
	}
	return x.insertTerms(ctx, kind, id, newSort, added)
}

func (x *tx) Delete(ctx context.Context, kind string, id itil.ID, version int64) error {
	if err := x.check(ctx); err != nil {
		return err
	}
	if err := storage.CheckRecord(storage.Record{Kind: kind, ID: id, Version: version}); err != nil {
		return err
	}
	if err := x.become(ctx); err != nil {
		return err
	}
	cur, oldSort, oldTerms, err := x.current(ctx, kind, id)
	if err != nil {
		return x.failed(x.wrap(ctx, err, "delete %s %s", kind, id))
	}
	if cur == 0 {
		return fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	if cur != version {
		return fmt.Errorf("%s %s: version %d is stale (current %d): %w",
			kind, id, version, cur, itil.ErrConflict)
	}
	if _, err := x.nextStamp(ctx); err != nil {
		return x.failed(x.wrap(ctx, err, "delete %s %s", kind, id))
	}
	if _, err := x.wstmt(ctx, stDelete).ExecContext(ctx, x.s.tenant, kind, id[:]); err != nil {
		return x.failed(x.wrap(ctx, err, "delete %s %s", kind, id))
	}
	if err := x.deleteTerms(ctx, kind, id, oldSort, oldTerms); err != nil {
		return x.failed(x.wrap(ctx, err, "delete %s %s", kind, id))
	}
	return nil
}

func (x *tx) NextSeq(ctx context.Context, name string) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	if err := storage.CheckName("name", name); err != nil {
		return 0, err
	}
	if err := x.become(ctx); err != nil {
		return 0, err
	}
	var stored int64
	err := x.wstmt(ctx, stGetSeq).QueryRowContext(ctx, x.s.tenant, name).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, x.failed(x.wrap(ctx, err, "next %s", name))
	}
	sh, k := x.b.sh, seqKey{x.s.tenant, name}
	sh.seqMu.Lock()
	last := max(stored, sh.seqs[k])
	if last == math.MaxInt64 {
		sh.seqMu.Unlock()
		return 0, fmt.Errorf("sqlite: sequence %q is exhausted", name)
	}
	v := last + 1
	sh.seqs[k] = v
	sh.seqMu.Unlock()
	if _, err := x.wstmt(ctx, stSetSeq).ExecContext(ctx, x.s.tenant, name, v); err != nil {
		return 0, x.failed(x.wrap(ctx, err, "next %s", name))
	}
	return v, nil
}

func (x *tx) Append(ctx context.Context, ev itil.Event) error {
	if err := x.check(ctx); err != nil {
		return err
	}
	if err := storage.CheckEvent(ev); err != nil {
		return err
	}
	ev.Seq = 0
	ev.Tenant = x.s.tenant
	ev.Payload = bytes.Clone(ev.Payload)
	ev.Refs = slices.Clone(ev.Refs)
	x.events = append(x.events, ev)
	return nil
}

// LastSeq implements storage.Tx. It reads the committed journal on the
// reader pool, as Journal does: the transaction's own events are inserted
// only at commit, and a later commit numbers after what is committed.
func (x *tx) LastSeq(ctx context.Context) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	rows, err := x.b.rstmts.query(ctx, x.b.rdb, `SELECT COALESCE(MAX(seq), 0) FROM journal WHERE tenant = ?`, x.s.tenant)
	if err != nil {
		return 0, x.wrap(ctx, err, "last seq")
	}
	var last int64
	if rows.Next() {
		err = rows.Scan(&last)
	}
	if err == nil {
		err = rows.Err()
	}
	if err = also(err, rows.Close()); err != nil {
		return 0, x.wrap(ctx, err, "last seq")
	}
	return last, nil
}

// maxRefRows is the most journal_refs rows one INSERT carries.
const maxRefRows = 16

// timeFormat stores event times exactly, in UTC, sortable as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// commit journals the events and commits. A transaction that neither wrote
// nor appended has nothing to commit.
func (x *tx) commit(ctx context.Context) error {
	if x.w == nil && len(x.events) == 0 {
		// Nothing written (a write that found a conflict when the
		// transaction became the writer wrote nothing): nothing to check.
		return nil
	}
	if x.doomed != nil {
		return x.doomed
	}
	if err := x.become(ctx); err != nil {
		return err
	}
	if x.b.closed.Load() {
		return storage.ErrClosed
	}
	if len(x.events) > 0 {
		var last int64
		if err := x.wstmt(ctx, stMaxSeq).QueryRowContext(ctx, x.s.tenant).Scan(&last); err != nil {
			return x.wrap(ctx, err, "journal")
		}
		st := x.wstmt(ctx, stInsEvent)
		var refRows []any // (tenant, ref, seq) of every ref of the commit's events
		for i, ev := range x.events {
			var payload, refs any
			if ev.Payload != nil {
				payload = []byte(ev.Payload)
			}
			seq := last + int64(i) + 1
			if len(ev.Refs) > 0 {
				refs = merge.EncodeRefs(ev.Refs)
				for _, r := range ev.Refs {
					refRows = append(refRows, x.s.tenant, r[:], seq)
				}
			}
			if _, err := st.ExecContext(ctx, x.s.tenant, seq, ev.Kind, ev.SubjectID[:], ev.SubjectVersion,
				ev.Actor.ID, ev.Actor.Name, ev.Time.UTC().Format(timeFormat), ev.Type, payload, refs); err != nil {
				return x.wrap(ctx, err, "journal %s %s", ev.Type, ev.SubjectID)
			}
		}
		for len(refRows) > 0 {
			n := min(len(refRows)/3, maxRefRows)
			if _, err := x.w.StmtContext(ctx, x.b.refIns[n-1]).ExecContext(ctx, refRows[:3*n]...); err != nil {
				return x.wrap(ctx, err, "journal refs")
			}
			refRows = refRows[3*n:]
		}
	}
	if x.stamp != 0 {
		if _, err := x.wstmt(ctx, stSetCounter).ExecContext(ctx, x.stamp); err != nil {
			return x.wrap(ctx, err, "commit")
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := x.w.Commit()
	x.w = nil
	x.writing.Store(false)
	if err != nil {
		return x.wrap(ctx, err, "commit") // with ctx's error, when it ended
	}
	return nil
}

const batchSize = 256

func (x *tx) Query(ctx context.Context, q storage.Query) iter.Seq2[storage.Record, error] {
	return func(yield func(storage.Record, error) bool) {
		if err := x.check(ctx); err != nil {
			yield(storage.Record{}, err)
			return
		}
		if err := storage.CheckQuery(q); err != nil {
			yield(storage.Record{}, err)
			return
		}
		q.Terms = termlist.Dedup(q.Terms)
		emitted := 0
		pos := q.After
		// Batches are separate statements, so a record whose sort key a
		// concurrent commit moves past the cursor could come round again:
		// past the first batch, remember what was returned.
		var seen map[itil.ID]bool
		p := x.track()
		defer x.untrack(p)
		for {
			n := batchSize
			if q.Limit > 0 && seen == nil {
				n = min(n, q.Limit-emitted)
			}
			sqlText, args := x.querySQL(&q, pos, n)
			rows, err := x.query(ctx, sqlText, args...)
			if err != nil {
				yield(storage.Record{}, x.wrap(ctx, err, "query %s", q.Kind))
				return
			}
			batch, err := scanRows(rows, q.Kind)
			if err != nil {
				yield(storage.Record{}, x.wrap(ctx, err, "query %s", q.Kind))
				return
			}
			last := len(batch) < n
			if !last && seen == nil {
				seen = make(map[itil.ID]bool, 2*batchSize)
			}
			p.rows, p.next = batch, 0
			for i := range batch {
				r := &batch[i]
				p.next = i + 1
				if seen != nil {
					if seen[r.id] {
						continue
					}
					seen[r.id] = true
				}
				if q.Limit > 0 && emitted >= q.Limit {
					return
				}
				if err := x.check(ctx); err != nil {
					yield(storage.Record{}, err)
					return
				}
				emitted++
				x.yielding(q.Kind, r)
				if !yield(r.rec, nil) {
					return
				}
			}
			if last || (q.Limit > 0 && emitted >= q.Limit) {
				return
			}
			end := batch[len(batch)-1]
			pos = &storage.Cursor{SortKey: end.rec.SortKey, ID: end.id}
			p.rows = nil
		}
	}
}

// querySQL builds the statement of one batch of q after pos.
func (x *tx) querySQL(q *storage.Query, pos *storage.Cursor, n int) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 8+len(q.Terms))
	col := "r."
	if len(q.Terms) == 0 {
		b.WriteString(`SELECT r.id, r.version, r.stamp, r.sort_key, r.terms, r.data FROM records r WHERE r.tenant = ? AND r.kind = ?`)
		args = append(args, x.s.tenant, q.Kind)
	} else {
		// Walk the first term's rows in order; check the others by key.
		col = "t."
		b.WriteString(`SELECT r.id, r.version, r.stamp, r.sort_key, r.terms, r.data FROM record_terms t CROSS JOIN records r` +
			` ON r.tenant = t.tenant AND r.kind = t.kind AND r.id = t.id WHERE t.tenant = ? AND t.kind = ? AND t.term = ?`)
		args = append(args, x.s.tenant, q.Kind, q.Terms[0])
		for _, term := range q.Terms[1:] {
			b.WriteString(` AND EXISTS (SELECT 1 FROM record_terms u WHERE u.tenant = t.tenant AND u.kind = t.kind` +
				` AND u.term = ? AND u.sort_key = t.sort_key AND u.id = t.id)`)
			args = append(args, term)
		}
	}
	if q.Min != "" {
		b.WriteString(` AND ` + col + `sort_key >= ?`)
		args = append(args, q.Min)
	}
	if q.Max != "" {
		b.WriteString(` AND ` + col + `sort_key < ?`)
		args = append(args, q.Max)
	}
	cmp, dir := ">", ""
	if q.Reverse {
		cmp, dir = "<", " DESC"
	}
	for _, c := range []*storage.Cursor{q.After, pos} {
		if c != nil {
			b.WriteString(` AND (` + col + `sort_key, ` + col + `id) ` + cmp + ` (?, ?)`)
			args = append(args, c.SortKey, c.ID[:])
		}
	}
	b.WriteString(` ORDER BY ` + col + `sort_key` + dir + `, ` + col + `id` + dir + ` LIMIT ?`)
	args = append(args, n)
	return b.String(), args
}

// maxLookupTerms is the most terms one Lookup statement carries; longer
// lists (rare: a frontier of thousands) are split and merged.
const maxLookupTerms = 500

func (x *tx) Lookup(ctx context.Context, kind string, terms []string) iter.Seq2[storage.Record, error] {
	return func(yield func(storage.Record, error) bool) {
		if err := x.check(ctx); err != nil {
			yield(storage.Record{}, err)
			return
		}
		if err := storage.CheckLookup(kind, terms); err != nil {
			yield(storage.Record{}, err)
			return
		}
		terms := termlist.Dedup(terms)
		var hits []row
		for chunk := range slices.Chunk(terms, maxLookupTerms) {
			var b strings.Builder
			// Drive from the term rows (one index range per term), then
			// fetch each record by key and sort: the cost follows the
			// frontier, not the size of the kind.
			b.WriteString(`SELECT r.id, r.version, r.stamp, r.sort_key, r.terms, r.data FROM` +
				` (SELECT DISTINCT id FROM record_terms WHERE tenant = ? AND kind = ? AND term IN (`)
			args := make([]any, 0, 4+len(chunk))
			args = append(args, x.s.tenant, kind)
			for i, t := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("?")
				args = append(args, t)
			}
			b.WriteString(`)) m CROSS JOIN records r ON r.tenant = ? AND r.kind = ? AND r.id = m.id ORDER BY r.sort_key, r.id`)
			args = append(args, x.s.tenant, kind)
			rows, err := x.query(ctx, b.String(), args...)
			if err != nil {
				yield(storage.Record{}, x.wrap(ctx, err, "lookup %s", kind))
				return
			}
			got, err := scanRows(rows, kind)
			if err != nil {
				yield(storage.Record{}, x.wrap(ctx, err, "lookup %s", kind))
				return
			}
			hits = append(hits, got...)
		}
		if len(terms) > maxLookupTerms {
			// Chunks are separate statements: a record found by two of
			// them may have been seen at two sort keys, as a concurrent
			// commit moved it. Keep the first seen of each record.
			seen := make(map[itil.ID]bool, len(hits))
			hits = slices.DeleteFunc(hits, func(h row) bool {
				if seen[h.id] {
					return true
				}
				seen[h.id] = true
				return false
			})
			slices.SortFunc(hits, func(a, b row) int {
				if c := strings.Compare(a.rec.SortKey, b.rec.SortKey); c != 0 {
					return c
				}
				return bytes.Compare(a.id[:], b.id[:])
			})
		}
		p := x.track()
		defer x.untrack(p)
		p.rows = hits
		for i := range hits {
			p.next = i + 1
			if err := x.check(ctx); err != nil {
				yield(storage.Record{}, err)
				return
			}
			x.yielding(kind, &hits[i])
			if !yield(hits[i].rec, nil) {
				return
			}
		}
	}
}

func (x *tx) Journal(ctx context.Context, q storage.JournalQuery) iter.Seq2[itil.Event, error] {
	return func(yield func(itil.Event, error) bool) {
		merge.Journal(q, batchSize, func() error { return x.check(ctx) }, func(after int64, n int) ([]itil.Event, error) {
			batch, err := x.readJournal(ctx, after, &q, n)
			if err != nil {
				return nil, x.wrap(ctx, err, "journal")
			}
			return batch, nil
		}, yield)
	}
}

// readJournal reads committed events only, always from the reader pool:
// a transaction's own events are journalled at its commit.
func (x *tx) readJournal(ctx context.Context, after int64, jq *storage.JournalQuery, n int) (out []itil.Event, err error) {
	q, args := x.journalSQL(after, jq, n)
	rows, err := x.b.rstmts.query(ctx, x.b.rdb, q, args...)
	if err != nil {
		return nil, err
	}
	// Next closes rows at the end; an early return closes them here.
	defer func() { err = also(err, rows.Close()) }()
	for rows.Next() {
		var (
			ev      itil.Event
			sid     []byte
			ts      string
			payload []byte
			refs    []byte
		)
		if err := rows.Scan(&ev.Seq, &ev.Kind, &sid, &ev.SubjectVersion, &ev.Actor.ID, &ev.Actor.Name, &ts, &ev.Type, &payload, &refs); err != nil {
			return nil, err
		}
		var err error
		if ev.Refs, err = merge.DecodeRefs(refs); err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		if len(sid) != len(ev.SubjectID) {
			return nil, fmt.Errorf("subject id of %d bytes", len(sid))
		}
		copy(ev.SubjectID[:], sid)
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, err
		}
		ev.Time = t
		ev.Tenant = x.s.tenant
		if payload != nil {
			ev.Payload = payload
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// journalSQL builds the statement of one page of up to n events of q
// after the given seq. A page by subject takes up to n of the subject's
// own events (journal_subject) and up to n of those referring to it
// (journal_refs), each an index range in seq order, and keeps the first n
// of both: an event is in at most one of them (a ref is never the
// subject), and seq IN (...) would drop a repeat anyway. A Kinds filter
// is checked on the journal rows, inside each part, so that the limits
// count only matches.
func (x *tx) journalSQL(after int64, q *storage.JournalQuery, n int) (string, []any) {
	const cols = `SELECT seq, kind, subject_id, subject_version, actor_id, actor_name, time, type, payload, refs FROM journal`
	var kinds string
	var kindArgs []any
	if len(q.Kinds) > 0 {
		ks := slices.Compact(slices.Sorted(slices.Values(q.Kinds)))
		kinds = ` AND %skind IN (?` + strings.Repeat(`, ?`, len(ks)-1) + `)`
		for _, k := range ks {
			kindArgs = append(kindArgs, k)
		}
	}
	col := func(alias string) string {
		if kinds == "" {
			return ""
		}
		return fmt.Sprintf(kinds, alias)
	}
	t := x.s.tenant
	if q.SubjectID == itil.NilID {
		args := append([]any{t, after}, kindArgs...)
		return cols + ` WHERE tenant = ? AND seq > ?` + col("") + ` ORDER BY seq LIMIT ?`, append(args, n)
	}
	subject := q.SubjectID[:]
	args := []any{t, t, subject, after}
	args = append(args, kindArgs...)
	args = append(args, n, t, subject, after)
	args = append(args, kindArgs...)
	args = append(args, n, n)
	refs := `SELECT r.seq FROM journal_refs r WHERE r.tenant = ? AND r.subject_id = ? AND r.seq > ?`
	if kinds != "" {
		refs = `SELECT r.seq FROM journal_refs r CROSS JOIN journal j ON j.tenant = r.tenant AND j.seq = r.seq` +
			` WHERE r.tenant = ? AND r.subject_id = ? AND r.seq > ?` + col("j.")
	}
	return cols + ` WHERE tenant = ? AND seq IN (` +
		`SELECT seq FROM (SELECT seq FROM journal WHERE tenant = ? AND subject_id = ? AND seq > ?` + col("") + ` ORDER BY seq LIMIT ?)` +
		` UNION ALL SELECT seq FROM (` + refs + ` ORDER BY r.seq LIMIT ?))` +
		` ORDER BY seq LIMIT ?`, args
}

const recordCols = `id, version, stamp, sort_key, terms, data`

// Statements of the writer connection, prepared once at Open.
type stmtID int

const (
	stStamp stmtID = iota
	stCur
	stInsert
	stUpdate
	stDelete
	stDelTerm
	stGetCounter
	stSetCounter
	stGetSeq
	stSetSeq
	stMaxSeq
	stInsEvent
	numStmts
)

var writerSQL = [numStmts]string{
	stStamp:      `SELECT stamp FROM records WHERE tenant = ? AND kind = ? AND id = ?`,
	stCur:        `SELECT version, sort_key, terms FROM records WHERE tenant = ? AND kind = ? AND id = ?`,
	stInsert:     `INSERT INTO records (tenant, kind, id, version, stamp, sort_key, terms, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	stUpdate:     `UPDATE records SET version = ?, stamp = ?, sort_key = ?, terms = ?, data = ? WHERE tenant = ? AND kind = ? AND id = ?`,
	stDelete:     `DELETE FROM records WHERE tenant = ? AND kind = ? AND id = ?`,
	stDelTerm:    `DELETE FROM record_terms WHERE tenant = ? AND kind = ? AND term = ? AND sort_key = ? AND id = ?`,
	stGetCounter: `SELECT value FROM counters WHERE name = 'stamp'`,
	stSetCounter: `UPDATE counters SET value = ? WHERE name = 'stamp'`,
	stGetSeq:     `SELECT value FROM sequences WHERE tenant = ? AND name = ?`,
	stSetSeq:     `INSERT INTO sequences (tenant, name, value) VALUES (?, ?, ?) ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value`,
	stMaxSeq:     `SELECT COALESCE(MAX(seq), 0) FROM journal WHERE tenant = ?`,
	stInsEvent:   `INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, time, type, payload, refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
}
