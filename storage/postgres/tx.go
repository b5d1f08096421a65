package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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

// RunInTx implements storage.Store. fn runs without holding a connection;
// commit does the database work in one round trip (see the package doc).
func (s *store) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.b.closed.Load() {
		return storage.ErrClosed
	}
	x := &tx{s: s, b: s.b, reads: make(map[wkey]*entry), writes: make(map[wkey]int)}
	defer func() {
		x.done = true
		if x.conn != nil {
			x.conn.Release()
		}
	}()
	if err := fn(ctx, x); err != nil {
		return err
	}
	x.done = true
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.commit(ctx)
}

type wkey struct {
	kind string
	id   itil.ID
}

// entry is a record as read from the database or written by the
// transaction; nil stands for an absent record. rev is 0 for the
// transaction's own writes.
type entry struct {
	version int64
	rev     int64
	sortKey string
	data    string
	terms   []string // sorted, without repeats
}

// write is a buffered change; e is nil for a delete.
type write struct {
	key wkey
	e   *entry
}

type tx struct {
	s    *store
	b    *Backend
	done bool
	// reads holds the committed entry first seen for each record the
	// transaction read or wrote (nil: absent). Commit checks that each one
	// is still the current revision, and writes are based on it.
	reads     map[wkey]*entry
	readOrder []wkey
	writes    map[wkey]int // index into wlist
	wlist     []write
	events    []itil.Event
	// conn is the pool connection the transaction took at its first
	// statement; every statement of the transaction (reads in autocommit,
	// NextSeq's own small transaction, the commit) runs on it, so a
	// transaction never waits for a second connection.
	conn *pgxpool.Conn
}

// db returns the transaction's connection, acquiring it on first use.
func (x *tx) db(ctx context.Context) (*pgxpool.Conn, error) {
	if x.conn == nil {
		c, err := x.b.pool.Acquire(ctx)
		if err != nil {
			return nil, x.b.wrap(err, "connect")
		}
		x.conn = c
	}
	return x.conn, nil
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

func (x *tx) noteRead(k wkey, e *entry) {
	if _, ok := x.reads[k]; !ok {
		x.reads[k] = e
		x.readOrder = append(x.readOrder, k)
	}
}

const recordCols = `version, rev, sort_key, data, terms`

// fetch reads the committed entry of a record, nil when absent.
func (x *tx) fetch(ctx context.Context, k wkey) (*entry, error) {
	db, err := x.db(ctx)
	if err != nil {
		return nil, err
	}
	e, err := scanEntry(db.QueryRow(ctx, `SELECT `+recordCols+` FROM records WHERE tenant = $1 AND kind = $2 AND id = $3`,
		x.s.tenant, k.kind, [16]byte(k.id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, x.b.wrap(err, "get %s %s", k.kind, k.id)
	}
	return e, nil
}

// scanEntry reads recordCols, after dest (such as the id), into an entry.
func scanEntry(row pgx.Row, dest ...any) (*entry, error) {
	var e entry
	var sk, data, enc []byte
	if err := row.Scan(append(dest, &e.version, &e.rev, &sk, &data, &enc)...); err != nil {
		return nil, err
	}
	terms, err := termlist.Decode(enc)
	if err != nil {
		return nil, err
	}
	e.sortKey, e.data, e.terms = string(sk), string(data), terms
	return &e, nil
}

func toRecord(kind string, id itil.ID, e *entry) storage.Record {
	return storage.Record{Kind: kind, ID: id, Version: e.version, Data: e.data,
		Terms: slices.Clone(e.terms), SortKey: e.sortKey}
}

func (x *tx) Get(ctx context.Context, kind string, id itil.ID) (storage.Record, error) {
	if err := x.check(ctx); err != nil {
		return storage.Record{}, err
	}
	if err := storage.CheckName("kind", kind); err != nil {
		return storage.Record{}, err
	}
	// A record read before is served from what was read: the commit
	// checks that version anyway, so reading it again would only cost a
	// round trip.
	e, _, err := x.current(ctx, wkey{kind, id})
	if err != nil {
		return storage.Record{}, err
	}
	if e == nil {
		return storage.Record{}, fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	return toRecord(kind, id, e), nil
}

// current returns the record as the transaction sees it: its own write,
// else the committed entry it first read, else the committed entry now
// (which then counts as read).
func (x *tx) current(ctx context.Context, k wkey) (*entry, int, error) {
	if i, ok := x.writes[k]; ok {
		return x.wlist[i].e, i, nil
	}
	if e, ok := x.reads[k]; ok {
		return e, -1, nil
	}
	e, err := x.fetch(ctx, k)
	if err != nil {
		return nil, -1, err
	}
	x.noteRead(k, e)
	return e, -1, nil
}

func (x *tx) Put(ctx context.Context, rec storage.Record) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	if err := storage.CheckRecord(rec); err != nil {
		return 0, err
	}
	k := wkey{rec.Kind, rec.ID}
	if rec.Version == 0 {
		// A create of a record this transaction has not seen: taken as
		// absent without a round trip (the contract allows it); the
		// commit's INSERT fails on the key if it is not, and nothing is
		// written.
		_, written := x.writes[k]
		if _, read := x.reads[k]; !read && !written {
			x.noteRead(k, nil)
		}
	}
	cur, wi, err := x.current(ctx, k)
	if err != nil {
		return 0, err
	}
	var curVersion int64
	if cur != nil {
		curVersion = cur.version
	}
	if rec.Version != curVersion {
		return 0, fmt.Errorf("%s %s: version %d is stale (current %d): %w",
			rec.Kind, rec.ID, rec.Version, curVersion, itil.ErrConflict)
	}
	e := &entry{version: curVersion + 1, data: rec.Data, terms: termlist.Dedup(rec.Terms), sortKey: rec.SortKey}
	x.setWrite(k, wi, e)
	return e.version, nil
}

func (x *tx) setWrite(k wkey, wi int, e *entry) {
	if wi >= 0 {
		x.wlist[wi].e = e
		return
	}
	x.writes[k] = len(x.wlist)
	x.wlist = append(x.wlist, write{key: k, e: e})
}

func (x *tx) Delete(ctx context.Context, kind string, id itil.ID, version int64) error {
	if err := x.check(ctx); err != nil {
		return err
	}
	if err := storage.CheckRecord(storage.Record{Kind: kind, ID: id, Version: version}); err != nil {
		return err
	}
	k := wkey{kind, id}
	cur, wi, err := x.current(ctx, k)
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("%s %s: %w", kind, id, itil.ErrNotFound)
	}
	if cur.version != version {
		return fmt.Errorf("%s %s: version %d is stale (current %d): %w",
			kind, id, version, cur.version, itil.ErrConflict)
	}
	x.setWrite(k, wi, nil)
	return nil
}

// NextSeq takes the next value from the backend's block of the sequence,
// reserving a new block in a short transaction of its own on the
// transaction's connection when it is used up; see the package doc.
func (x *tx) NextSeq(ctx context.Context, name string) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	if err := storage.CheckName("name", name); err != nil {
		return 0, err
	}
	db, err := x.db(ctx)
	if err != nil {
		return 0, err
	}
	v, err := x.b.seqs.next(ctx, db, seqKey{x.s.tenant, name})
	if err != nil {
		return 0, x.b.wrap(err, "next %s", name)
	}
	return v, nil
}

// rollback ends a failed explicit transaction on conn; when that fails
// too, the connection is closed so the pool drops it. Nothing is
// returned: the caller reports the failure that got here, and a closed
// connection ends the transaction on the server either way (Close closes
// the socket whatever it returns).
func rollback(conn *pgx.Conn) {
	if conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, `ROLLBACK`); err != nil {
		_ = conn.Close(ctx)
	}
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

// LastSeq implements storage.Tx: the newest committed event of the tenant,
// read at READ COMMITTED. The transaction's own events are inserted only
// at its commit. A commit in flight that already took its numbers from
// journal_heads has not committed them: they are above the value read,
// and later commits number after it (see the package doc).
func (x *tx) LastSeq(ctx context.Context) (int64, error) {
	if err := x.check(ctx); err != nil {
		return 0, err
	}
	db, err := x.db(ctx)
	if err != nil {
		return 0, err
	}
	var last int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM journal WHERE tenant = $1`, x.s.tenant).Scan(&last); err != nil {
		return 0, x.b.wrap(err, "last seq")
	}
	return last, nil
}

// lockKey is the advisory lock key of a record: FNV-1a of (tenant, kind,
// id). Two records that share a key only serialise each other's commits.
func lockKey(tenant string, k wkey) int64 {
	h := fnv.New64a()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(k.kind))
	h.Write([]byte{0})
	h.Write(k.id[:])
	return int64(h.Sum64())
}

func cmpKey(a, b wkey) int {
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

const (
	sqlCheck = `SELECT itil_commit_check($1, $2, $3, $4, $5, $6)`

	sqlCheckOne = `SELECT itil_check_one($1, $2, $3, $4, $5, $6)`

	// fewRows is how many rows of a table a commit writes with one
	// statement each.
	fewRows = 16

	sqlDeleteRecord = `DELETE FROM records WHERE tenant = $1 AND kind = $2 AND id = $3`

	sqlDeleteTerm = `DELETE FROM record_terms WHERE tenant = $1 AND kind = $2 AND term = $3 AND sort_key = $4 AND id = $5`

	sqlLockOne = `SELECT pg_advisory_xact_lock($1)`

	sqlInsertRecord = `INSERT INTO records (tenant, kind, id, version, rev, sort_key, data, terms)
		VALUES ($1, $2, $3, $4, nextval('record_revs'), $5, $6, $7)`

	sqlUpdateRecord = `UPDATE records SET version = $4, rev = nextval('record_revs'), sort_key = $5, data = $6, terms = $7
		WHERE tenant = $1 AND kind = $2 AND id = $3`

	sqlInsertTerm = `INSERT INTO record_terms (tenant, kind, term, sort_key, id) VALUES ($1, $2, $3, $4, $5)`

	sqlAppendOne = `WITH head AS (
			INSERT INTO journal_heads AS h (tenant, seq) VALUES ($1, 1)
			ON CONFLICT (tenant) DO UPDATE SET seq = h.seq + 1
			RETURNING seq)
		INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload, refs)
		SELECT $1, head.seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM head`

	sqlDeleteRecords = `DELETE FROM records WHERE tenant = $1
		AND (kind, id) IN (SELECT * FROM unnest($2::text[], $3::uuid[]))`

	sqlDeleteTerms = `DELETE FROM record_terms WHERE tenant = $1
		AND (kind, term, sort_key, id) IN (SELECT * FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::uuid[]))`

	sqlInsertRecords = `INSERT INTO records (tenant, kind, id, version, rev, sort_key, data, terms)
		SELECT $1, u.kind, u.id, u.version, nextval('record_revs'), u.sort_key, u.data, u.terms
		FROM unnest($2::text[], $3::uuid[], $4::bigint[], $5::bytea[], $6::bytea[], $7::bytea[])
			AS u(kind, id, version, sort_key, data, terms)`

	sqlUpdateChecked = `WITH u AS (
			UPDATE records SET version = $4, rev = nextval('record_revs'), sort_key = $5, data = $6, terms = $7
			WHERE tenant = $1 AND kind = $2 AND id = $3 AND rev = $8
			RETURNING 1)
		SELECT itil_conflict($2, $3) FROM (SELECT count(*) AS n FROM u) c WHERE c.n = 0`

	sqlUpdateRecords = `UPDATE records r SET version = u.version, rev = nextval('record_revs'),
			sort_key = u.sort_key, data = u.data, terms = u.terms
		FROM unnest($2::text[], $3::uuid[], $4::bigint[], $5::bytea[], $6::bytea[], $7::bytea[])
			AS u(kind, id, version, sort_key, data, terms)
		WHERE r.tenant = $1 AND r.kind = u.kind AND r.id = u.id`

	sqlInsertTerms = `INSERT INTO record_terms (tenant, kind, term, sort_key, id)
		SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::uuid[])`

	// The journal head row stays locked until COMMIT: the next commit of
	// the tenant numbers after this one, once this one is visible.
	sqlAppend = `WITH head AS (
			INSERT INTO journal_heads AS h (tenant, seq) VALUES ($1, $2::bigint)
			ON CONFLICT (tenant) DO UPDATE SET seq = h.seq + $2::bigint
			RETURNING seq)
		INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload, refs)
		SELECT $1, head.seq - $2::bigint + e.n, e.kind, e.subject_id, e.subject_version, e.actor_id, e.actor_name, e.at, e.at_nanos, e.type, e.payload, e.refs
		FROM head, unnest($3::text[], $4::uuid[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[], $9::integer[], $10::text[], $11::bytea[], $12::bytea[])
			WITH ORDINALITY AS e(kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload, refs, n)`

	// The journal_refs rows of the events just numbered, queued after the
	// append (only when an event has refs): $3 are the refs, $4 the
	// position of each one's event among the commit's $2 events, from 1.
	// The head row is this commit's, locked, so it holds the last number
	// the append took.
	sqlAppendRefs = `INSERT INTO journal_refs (tenant, subject_id, seq)
		SELECT $1, r.subject_id, h.seq - $2::bigint + r.n
		FROM journal_heads h, unnest($3::uuid[], $4::bigint[]) AS r(subject_id, n)
		WHERE h.tenant = $1`
)

// termRows collects record_terms rows as column arrays.
type termRows struct {
	kinds     []string
	terms     [][]byte
	sortKeys  [][]byte
	ids       [][16]byte
	haveSome  bool
	lastSort  []byte
	lastSortS string
}

func (r *termRows) add(kind string, id itil.ID, sortKey string, term string) {
	if !r.haveSome || r.lastSortS != sortKey {
		r.lastSort, r.lastSortS, r.haveSome = []byte(sortKey), sortKey, true
	}
	r.kinds = append(r.kinds, kind)
	r.terms = append(r.terms, []byte(term))
	r.sortKeys = append(r.sortKeys, r.lastSort)
	r.ids = append(r.ids, id)
}

// commit validates what the transaction read and applies its writes and
// events, all in one pipelined round trip.
func (x *tx) commit(ctx context.Context) error {
	if len(x.wlist) == 0 && len(x.events) == 0 {
		return nil // a read-only transaction always commits
	}
	if x.b.closed.Load() {
		return storage.ErrClosed
	}
	tenant := x.s.tenant
	var batch pgx.Batch
	// READ COMMITTED whatever the database's default: the check must read
	// what is committed once its locks are granted (a REPEATABLE READ
	// snapshot is taken before, and misses the commit it waited for), and
	// the journal head update must wait for the previous commit, not fail
	// with a serialisation error.
	batch.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)

	// 1. Locks and the check of everything read (writes are based on reads).
	keys := slices.Clone(x.readOrder)
	type lock struct {
		key  int64
		excl bool
	}
	locks := make([]lock, 0, len(keys))
	for _, k := range keys {
		_, w := x.writes[k]
		locks = append(locks, lock{lockKey(tenant, k), w})
	}
	slices.SortFunc(locks, func(a, b lock) int { return cmp.Compare(a.key, b.key) })
	lockKeys, lockExcl := make([]int64, 0, len(locks)), make([]bool, 0, len(locks))
	for i, l := range locks {
		if i > 0 && l.key == lockKeys[len(lockKeys)-1] {
			lockExcl[len(lockExcl)-1] = lockExcl[len(lockExcl)-1] || l.excl
			continue
		}
		lockKeys, lockExcl = append(lockKeys, l.key), append(lockExcl, l.excl)
	}
	// A record the transaction creates needs no probe: its INSERT fails
	// with a unique violation (a conflict) if another one created it.
	slices.SortFunc(keys, cmpKey)
	var kinds []string
	var ids [][16]byte
	var revs []int64
	for _, k := range keys {
		e := x.reads[k]
		if i, ok := x.writes[k]; ok && e == nil && x.wlist[i].e != nil {
			continue
		}
		var rev int64
		if e != nil {
			rev = e.rev
		}
		kinds, ids, revs = append(kinds, k.kind), append(ids, k.id), append(revs, rev)
	}
	// One record updated, and nothing else read: lock it, and let the
	// UPDATE check the revision itself (below).
	var updateChecks *entry
	if len(keys) == 1 && len(kinds) == 1 && lockExcl[0] {
		if w := x.wlist[x.writes[keys[0]]]; w.e != nil {
			updateChecks = x.reads[keys[0]]
		}
	}
	switch {
	case len(lockKeys) == 0:
	case updateChecks != nil:
		batch.Queue(sqlLockOne, lockKeys[0])
	case len(lockKeys) == 1 && len(kinds) == 1:
		batch.Queue(sqlCheckOne, tenant, lockKeys[0], lockExcl[0], kinds[0], ids[0], revs[0])
	case len(lockKeys) == 1 && len(kinds) == 0 && lockExcl[0]:
		batch.Queue(sqlLockOne, lockKeys[0])
	default:
		batch.Queue(sqlCheck, tenant, lockKeys, lockExcl, kinds, ids, revs)
	}

	// 2. Records and their term rows.
	var delKinds []string
	var delIDs [][16]byte
	var insKinds []string
	var insIDs [][16]byte
	var insVersions []int64
	var insSort, insData, insTerms [][]byte
	var upKinds []string
	var upIDs [][16]byte
	var upVersions []int64
	var upSort, upData, upTerms [][]byte
	var oldTerms, newTerms termRows
	for _, w := range x.wlist {
		base := x.reads[w.key]
		k := w.key
		switch {
		case w.e == nil && base == nil:
			continue // created and deleted again
		case w.e == nil:
			delKinds, delIDs = append(delKinds, k.kind), append(delIDs, k.id)
			for _, t := range base.terms {
				oldTerms.add(k.kind, k.id, base.sortKey, t)
			}
			continue
		}
		e := w.e
		if base == nil {
			insKinds, insIDs = append(insKinds, k.kind), append(insIDs, k.id)
			insVersions = append(insVersions, e.version) // 2 when created and updated in the transaction
			insSort, insData, insTerms = append(insSort, []byte(e.sortKey)), append(insData, []byte(e.data)), append(insTerms, termlist.Encode(e.terms))
			for _, t := range e.terms {
				newTerms.add(k.kind, k.id, e.sortKey, t)
			}
			continue
		}
		upKinds, upIDs = append(upKinds, k.kind), append(upIDs, k.id)
		upVersions = append(upVersions, e.version)
		upSort, upData, upTerms = append(upSort, []byte(e.sortKey)), append(upData, []byte(e.data)), append(upTerms, termlist.Encode(e.terms))
		if base != nil && base.sortKey == e.sortKey {
			termlist.Diff(base.terms, e.terms,
				func(t string) { oldTerms.add(k.kind, k.id, base.sortKey, t) },
				func(t string) { newTerms.add(k.kind, k.id, e.sortKey, t) })
			continue
		}
		if base != nil {
			for _, t := range base.terms {
				oldTerms.add(k.kind, k.id, base.sortKey, t)
			}
		}
		for _, t := range e.terms {
			newTerms.add(k.kind, k.id, e.sortKey, t)
		}
	}
	// A few rows go as one statement each (cheap to plan and bind); more
	// as one multi-row statement per table.
	if n := len(delKinds); n > 0 && n <= fewRows {
		for i := range n {
			batch.Queue(sqlDeleteRecord, tenant, delKinds[i], delIDs[i])
		}
	} else if n > 0 {
		batch.Queue(sqlDeleteRecords, tenant, delKinds, delIDs)
	}
	if n := len(oldTerms.kinds); n > 0 && n <= fewRows {
		for i := range n {
			batch.Queue(sqlDeleteTerm, tenant, oldTerms.kinds[i], oldTerms.terms[i], oldTerms.sortKeys[i], oldTerms.ids[i])
		}
	} else if n > 0 {
		batch.Queue(sqlDeleteTerms, tenant, oldTerms.kinds, oldTerms.terms, oldTerms.sortKeys, oldTerms.ids)
	}
	if n := len(insKinds); n > 0 && n <= fewRows {
		for i := range n {
			batch.Queue(sqlInsertRecord, tenant, insKinds[i], insIDs[i], insVersions[i], insSort[i], insData[i], insTerms[i])
		}
	} else if n > 0 {
		batch.Queue(sqlInsertRecords, tenant, insKinds, insIDs, insVersions, insSort, insData, insTerms)
	}
	if updateChecks != nil {
		batch.Queue(sqlUpdateChecked, tenant, upKinds[0], upIDs[0], upVersions[0], upSort[0], upData[0], upTerms[0], updateChecks.rev)
	} else if n := len(upKinds); n > 0 && n <= fewRows {
		for i := range n {
			batch.Queue(sqlUpdateRecord, tenant, upKinds[i], upIDs[i], upVersions[i], upSort[i], upData[i], upTerms[i])
		}
	} else if n > 0 {
		batch.Queue(sqlUpdateRecords, tenant, upKinds, upIDs, upVersions, upSort, upData, upTerms)
	}
	if n := len(newTerms.kinds); n > 0 && n <= fewRows {
		for i := range n {
			batch.Queue(sqlInsertTerm, tenant, newTerms.kinds[i], newTerms.terms[i], newTerms.sortKeys[i], newTerms.ids[i])
		}
	} else if n > 0 {
		batch.Queue(sqlInsertTerms, tenant, newTerms.kinds, newTerms.terms, newTerms.sortKeys, newTerms.ids)
	}

	// 3. Journal, last: the head row's lock is held only until COMMIT.
	if len(x.events) == 1 {
		ev := x.events[0]
		at := ev.Time.Truncate(time.Microsecond)
		batch.Queue(sqlAppendOne, tenant, ev.Kind, [16]byte(ev.SubjectID), ev.SubjectVersion, ev.Actor.ID, ev.Actor.Name,
			at, int32(ev.Time.Sub(at)), ev.Type, []byte(ev.Payload), merge.EncodeRefs(ev.Refs))
	} else if n := len(x.events); n > 0 {
		evKinds, subj, subjV := make([]string, n), make([][16]byte, n), make([]int64, n)
		actorIDs, actorNames, ats, nanos := make([]string, n), make([]string, n), make([]time.Time, n), make([]int32, n)
		types, payloads, refs := make([]string, n), make([][]byte, n), make([][]byte, n)
		for i, ev := range x.events {
			evKinds[i], subj[i], subjV[i] = ev.Kind, ev.SubjectID, ev.SubjectVersion
			actorIDs[i], actorNames[i] = ev.Actor.ID, ev.Actor.Name
			at := ev.Time.Truncate(time.Microsecond)
			ats[i], nanos[i] = at, int32(ev.Time.Sub(at))
			types[i], payloads[i], refs[i] = ev.Type, []byte(ev.Payload), merge.EncodeRefs(ev.Refs)
		}
		batch.Queue(sqlAppend, tenant, int64(n), evKinds, subj, subjV, actorIDs, actorNames, ats, nanos, types, payloads, refs)
	}
	// Refs rows, when there are any: one more statement in the pipeline,
	// for all of the commit's events.
	var refIDs [][16]byte
	var refEvents []int64
	for i, ev := range x.events {
		for _, r := range ev.Refs {
			refIDs, refEvents = append(refIDs, r), append(refEvents, int64(i+1))
		}
	}
	if len(refIDs) > 0 {
		batch.Queue(sqlAppendRefs, tenant, int64(len(x.events)), refIDs, refEvents)
	}
	hook := x.b.beforeCommit
	if hook == nil {
		batch.Queue(`COMMIT`)
	}

	conn, err := x.db(ctx)
	if err != nil {
		return err
	}
	// The server has the whole pipeline, COMMIT included, as soon as it is
	// sent. pgx's answer to a cancelled context is to drop the socket,
	// which leaves the server to go on and commit once its locks are
	// granted, after RunInTx has returned an error. So the pipeline runs
	// on a context that is not cancelled, and when ctx ends the server is
	// asked to cancel it instead: the outcome RunInTx reports is then the
	// one the server decided.
	stop := cancelOnDone(ctx, conn.Conn().PgConn())
	run := context.WithoutCancel(ctx)
	err = conn.SendBatch(run, &batch).Close()
	if err == nil && hook != nil {
		// Tests only: everything but COMMIT is done, the journal head
		// included; let the test interleave other transactions here.
		hook(tenant)
		_, err = conn.Exec(run, `COMMIT`)
	}
	if stop() {
		// A cancel request went out: the connection is not reused, so
		// one that arrives late cannot cancel another transaction's
		// statement (and a failed transaction ends with it). Close's
		// error is not reported: the socket is closed whatever it
		// returns, and the outcome is the server's, in err.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Conn().Close(cctx)
		cancel()
		if err != nil && pgCode(err) != "IT409" {
			// ctx.Err(), so that errors.Is(err, context.Canceled) holds
			// however ctx was cancelled; its cause, when one was given,
			// says why.
			if cause := context.Cause(ctx); cause != ctx.Err() {
				return fmt.Errorf("postgres: commit: %w: %w (%w)", ctx.Err(), cause, err)
			}
			return fmt.Errorf("postgres: commit: %w (%w)", ctx.Err(), err)
		}
	}
	if err != nil {
		rollback(conn.Conn())
		if pgCode(err) == "IT409" {
			return fmt.Errorf("postgres: commit: %w: %w", itil.ErrConflict, err)
		}
		return x.b.wrap(err, "commit")
	}
	return nil
}

// cancelGrace bounds how long a commit whose context has ended waits for
// the server to act on its cancel request before dropping the connection.
const cancelGrace = 5 * time.Second

// cancelOnDone sends the server a cancel request for pc's running
// statement when ctx ends, and sets a deadline of cancelGrace on the
// socket in case the server does not answer. stop ends the watch and
// reports whether the request was sent (it waits for that to finish).
func cancelOnDone(ctx context.Context, pc *pgconn.PgConn) (stop func() bool) {
	fired := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		defer close(fired)
		cctx, cancel := context.WithTimeout(context.Background(), cancelGrace)
		defer cancel()
		// SetDeadline fails only on a connection already closed, which
		// has nothing left to wait for.
		if err := pc.CancelRequest(cctx); err != nil {
			_ = pc.Conn().SetDeadline(time.Now()) // the server cannot be told: give up now
			return
		}
		_ = pc.Conn().SetDeadline(time.Now().Add(cancelGrace))
	})
	return func() bool {
		if stopWatch() {
			return false
		}
		<-fired
		return true
	}
}

// hit is a record found by a read.
type hit struct {
	id itil.ID
	e  *entry
}

// pos is the hit's position in query order.
func (h hit) pos() storage.Cursor { return storage.Cursor{SortKey: h.e.sortKey, ID: h.id} }

func cmpHit(a, b hit) int { return merge.Compare(a.pos(), b.pos()) }

const pageSize = 256

// scanRows reads records (id first, then recordCols) into hits.
func scanRows(rows pgx.Rows) ([]hit, error) {
	defer rows.Close()
	var out []hit
	for rows.Next() {
		var id [16]byte
		e, err := scanEntry(rows, &id)
		if err != nil {
			return nil, err
		}
		out = append(out, hit{id, e})
	}
	return out, rows.Err()
}

// committedOnly drops, in place, the hits of records this transaction
// wrote: reads merge in its own version of them.
func (x *tx) committedOnly(kind string, hits []hit) []hit {
	out := hits[:0]
	for _, h := range hits {
		if _, mine := x.writes[wkey{kind, h.id}]; !mine {
			out = append(out, h)
		}
	}
	return out
}

// queryPage reads up to pageSize committed matches strictly after pos in
// the query's direction (all of them when only local writes were skipped
// is not guaranteed: the caller pages on while a page is full).
func (x *tx) queryPage(ctx context.Context, q *storage.Query, pos *storage.Cursor) ([]hit, bool, error) {
	var sb strings.Builder
	args := []any{x.s.tenant, q.Kind}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	col := "r."
	if len(q.Terms) == 0 {
		sb.WriteString(`SELECT r.id, r.version, r.rev, r.sort_key, r.data, r.terms FROM records r WHERE r.tenant = $1 AND r.kind = $2`)
	} else {
		col = "t."
		sb.WriteString(`SELECT r.id, r.version, r.rev, r.sort_key, r.data, r.terms FROM record_terms t
			JOIN records r ON r.tenant = t.tenant AND r.kind = t.kind AND r.id = t.id
			WHERE t.tenant = $1 AND t.kind = $2 AND t.term = `)
		sb.WriteString(arg([]byte(q.Terms[0])))
		if rest := q.Terms[1:]; len(rest) > 0 {
			bs := make([][]byte, len(rest))
			for i, t := range rest {
				bs[i] = []byte(t)
			}
			fmt.Fprintf(&sb, ` AND (SELECT count(*) FROM record_terms t2 WHERE t2.tenant = t.tenant AND t2.kind = t.kind
				AND t2.term = ANY(%s::bytea[]) AND t2.sort_key = t.sort_key AND t2.id = t.id) = %d`, arg(bs), len(rest))
		}
	}
	if q.Min != "" {
		fmt.Fprintf(&sb, ` AND %ssort_key >= %s`, col, arg([]byte(q.Min)))
	}
	if q.Max != "" {
		fmt.Fprintf(&sb, ` AND %ssort_key < %s`, col, arg([]byte(q.Max)))
	}
	dir, op := "", ">"
	if q.Reverse {
		dir, op = " DESC", "<"
	}
	if pos != nil {
		fmt.Fprintf(&sb, ` AND (%ssort_key, %sid) %s (%s, %s::uuid)`, col, col, op, arg([]byte(pos.SortKey)), arg([16]byte(pos.ID)))
	}
	fmt.Fprintf(&sb, ` ORDER BY %ssort_key%s, %sid%s LIMIT %d`, col, dir, col, dir, pageSize)
	db, err := x.db(ctx)
	if err != nil {
		return nil, false, err
	}
	rows, err := db.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, false, x.b.wrap(err, "query %s", q.Kind)
	}
	out, err := scanRows(rows)
	if err != nil {
		return nil, false, x.b.wrap(err, "query %s", q.Kind)
	}
	return out, len(out) < pageSize, nil
}

// localMatches returns this transaction's own live writes matching q, in
// the query's order.
func (x *tx) localMatches(q *storage.Query) []hit {
	var out []hit
	for _, w := range x.wlist {
		if w.key.kind != q.Kind || w.e == nil {
			continue
		}
		h := hit{w.key.id, w.e}
		if merge.Matches(q, h.pos(), w.e.terms) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, cmpHit)
	if q.Reverse {
		slices.Reverse(out)
	}
	return out
}

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
		// Pages are separate statements (merge.Query handles a record a
		// concurrent commit moves past the cursor).
		page := func(pos *storage.Cursor) ([]hit, *storage.Cursor, error) {
			if q.Limit > 0 && emitted >= q.Limit {
				return nil, nil, nil // no read for hits nobody takes
			}
			if err := x.check(ctx); err != nil {
				return nil, nil, err
			}
			rows, last, err := x.queryPage(ctx, &q, pos)
			if err != nil || len(rows) == 0 {
				return nil, nil, err
			}
			var next *storage.Cursor
			if !last {
				end := rows[len(rows)-1].pos()
				next = &end
			}
			return x.committedOnly(q.Kind, rows), next, nil
		}
		err := merge.Query(q.Reverse, q.After, x.localMatches(&q), hit.pos, page, func(h hit) bool {
			return x.emit(ctx, &q, h, &emitted, yield)
		})
		if err != nil {
			yield(storage.Record{}, err)
		}
	}
}

func (x *tx) emit(ctx context.Context, q *storage.Query, h hit, n *int, yield func(storage.Record, error) bool) bool {
	if q.Limit > 0 && *n >= q.Limit {
		return false
	}
	if err := x.check(ctx); err != nil {
		yield(storage.Record{}, err)
		return false
	}
	*n++
	x.noteCommitted(q.Kind, h)
	return yield(toRecord(q.Kind, h.id, h.e), nil)
}

// noteCommitted records a read of h unless h is one of this transaction's
// own writes.
func (x *tx) noteCommitted(kind string, h hit) {
	k := wkey{kind, h.id}
	if _, mine := x.writes[k]; !mine {
		x.noteRead(k, h.e)
	}
}

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
		terms = termlist.Dedup(terms)
		var hits []hit
		if len(terms) > 0 {
			bs := make([][]byte, len(terms))
			for i, t := range terms {
				bs[i] = []byte(t)
			}
			db, err := x.db(ctx)
			if err != nil {
				yield(storage.Record{}, err)
				return
			}
			rows, err := db.Query(ctx, `SELECT r.id, r.version, r.rev, r.sort_key, r.data, r.terms FROM records r
				WHERE r.tenant = $1 AND r.kind = $2 AND r.id IN (
					SELECT t.id FROM record_terms t WHERE t.tenant = $1 AND t.kind = $2 AND t.term = ANY($3::bytea[]))`,
				x.s.tenant, kind, bs)
			if err == nil {
				hits, err = scanRows(rows)
				hits = x.committedOnly(kind, hits)
			}
			if err != nil {
				yield(storage.Record{}, x.b.wrap(err, "lookup %s", kind))
				return
			}
		}
		for _, w := range x.wlist {
			if w.key.kind != kind || w.e == nil {
				continue
			}
			if termlist.Any(w.e.terms, terms) {
				hits = append(hits, hit{w.key.id, w.e})
			}
		}
		slices.SortFunc(hits, cmpHit)
		for _, h := range hits {
			if err := x.check(ctx); err != nil {
				yield(storage.Record{}, err)
				return
			}
			x.noteCommitted(kind, h)
			if !yield(toRecord(kind, h.id, h.e), nil) {
				return
			}
		}
	}
}

func (x *tx) Journal(ctx context.Context, q storage.JournalQuery) iter.Seq2[itil.Event, error] {
	return func(yield func(itil.Event, error) bool) {
		merge.Journal(q, pageSize, func() error { return x.check(ctx) }, func(after int64, n int) ([]itil.Event, error) {
			db, err := x.db(ctx)
			if err != nil {
				return nil, err
			}
			return readJournal(ctx, x.b, db, x.s.tenant, after, &q, n)
		}, yield)
	}
}

// Journal pages. A page by subject takes up to n of the subject's own
// events (journal_by_subject) and up to n of those referring to it
// (journal_refs), each an index range in seq order, and keeps the first n
// of both: an event is in at most one of them (a ref is never the
// subject), and seq IN (...) would drop a repeat anyway. A Kinds filter
// ($5) is checked on the journal rows inside each part, so that the limits
// count only matches.
const (
	journalCols = `SELECT seq, kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload, refs FROM journal`

	sqlJournal = journalCols + ` WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3`

	sqlJournalKinds = journalCols + ` WHERE tenant = $1 AND seq > $2 AND kind = ANY($4::text[]) ORDER BY seq LIMIT $3`

	sqlJournalSubject = journalCols + ` WHERE tenant = $1 AND seq IN (
		(SELECT seq FROM journal WHERE tenant = $1 AND subject_id = $4 AND seq > $2 ORDER BY seq LIMIT $3)
		UNION ALL
		(SELECT seq FROM journal_refs WHERE tenant = $1 AND subject_id = $4 AND seq > $2 ORDER BY seq LIMIT $3))
		ORDER BY seq LIMIT $3`

	sqlJournalSubjectKinds = journalCols + ` WHERE tenant = $1 AND seq IN (
		(SELECT seq FROM journal WHERE tenant = $1 AND subject_id = $4 AND seq > $2 AND kind = ANY($5::text[])
			ORDER BY seq LIMIT $3)
		UNION ALL
		(SELECT r.seq FROM journal_refs r JOIN journal j ON j.tenant = r.tenant AND j.seq = r.seq
			WHERE r.tenant = $1 AND r.subject_id = $4 AND r.seq > $2 AND j.kind = ANY($5::text[])
			ORDER BY r.seq LIMIT $3))
		ORDER BY seq LIMIT $3`
)

func readJournal(ctx context.Context, b *Backend, db *pgxpool.Conn, tenant string, after int64, q *storage.JournalQuery, n int) ([]itil.Event, error) {
	sql, args := sqlJournal, []any{tenant, after, n}
	switch {
	case q.SubjectID == itil.NilID && len(q.Kinds) > 0:
		sql, args = sqlJournalKinds, append(args, q.Kinds)
	case len(q.Kinds) > 0:
		sql, args = sqlJournalSubjectKinds, append(args, [16]byte(q.SubjectID), q.Kinds)
	case q.SubjectID != itil.NilID:
		sql, args = sqlJournalSubject, append(args, [16]byte(q.SubjectID))
	}
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, b.wrap(err, "journal")
	}
	defer rows.Close()
	var out []itil.Event
	for rows.Next() {
		ev := itil.Event{Tenant: tenant}
		var subj [16]byte
		var at time.Time
		var nanos int32
		var payload, refs []byte
		if err := rows.Scan(&ev.Seq, &ev.Kind, &subj, &ev.SubjectVersion, &ev.Actor.ID, &ev.Actor.Name,
			&at, &nanos, &ev.Type, &payload, &refs); err != nil {
			return nil, b.wrap(err, "journal")
		}
		if ev.Refs, err = merge.DecodeRefs(refs); err != nil {
			return nil, fmt.Errorf("postgres: journal: event %d: %w", ev.Seq, err)
		}
		ev.SubjectID = subj
		if payload != nil {
			ev.Payload = payload
		}
		ev.Time = at.UTC().Add(time.Duration(nanos))
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, b.wrap(err, "journal")
	}
	return out, nil
}
