// Package storage is the contract between process packages and storage
// backends, and the typed collections process packages use on top of it.
//
// A backend stores records: a kind, an ID, a version, opaque encoded data,
// index terms ("field=value" strings) and one sort key, all extracted by the
// collection that owns the kind. Backends offer transactions, version-checked
// writes, queries by terms and sort key with keyset pagination, batched
// any-of-terms lookups, per-tenant sequences and an append-only journal.
//
// The journal's schema is strict, the same on every backend: an event
// names the record written (Kind, SubjectID, SubjectVersion) and lists in
// Refs the other subjects it concerns (at most MaxRefs, none nil, none
// repeated, none equal to SubjectID); its payload is empty or valid JSON.
// Append refuses anything else (CheckEvent), so a reader never meets an
// event it cannot decode. A journal query by subject finds the events of
// that subject and those that refer to it.
//
// The contract is deliberately small so that a backend is easy to write and
// easy to prove: every backend MUST pass storagetest.Run, the shared
// conformance suite, whose model-based test checks it against a naive map
// model of the contract (the reference; storage/memory is one backend
// among others).
//
// Tenancy: a Backend is opened once and scoped per tenant with
// Backend.Tenant. A Store and every Tx it starts MUST NOT read, write, list
// or journal any record of another tenant.
//
// Limits: what a backend indexes or keys on has a maximum length in
// bytes, the same on every backend: a tenant name, a kind, a sequence
// name and an event type at most MaxName bytes, an index term ("field="
// included) at most MaxTerm bytes, a sort key at most MaxSortKey bytes.
// The Check functions (CheckName, CheckRecord, CheckQuery, CheckLookup,
// CheckJournalQuery, CheckEvent) refuse a longer value with a
// *itil.ValidationError that names it, before a backend sees it, so a
// value one backend stores is stored by all of them. The limits are
// chosen so that the largest allowed values of all parts at once fit in
// one index row of every backend (see MaxName). Record data, event
// payloads and actors are not indexed and have no such limit. A process
// package that puts user input into a term or sort key derives its own
// field limits from these, so that its users see the field they typed.
package storage

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Errors specific to the storage layer. The shared vocabulary
// (itil.ErrNotFound, itil.ErrConflict) is used for missing records and stale
// versions.
var (
	// ErrTxDone is returned by every Tx method once RunInTx has returned.
	ErrTxDone = errors.New("storage: transaction has already committed or rolled back")
	// ErrClosed is returned by a Store whose Backend has been closed.
	ErrClosed = errors.New("storage: backend is closed")
)

// Record is the unit a backend stores.
type Record struct {
	// Kind names the collection, such as "incident". Required.
	Kind string
	// ID is unique within (tenant, kind). Required and not the nil UUID.
	ID itil.ID
	// Version is the record's version. Get and Query return the stored
	// version (1 after the first Put, raised by one on each Put). Put takes
	// the version the caller last read, 0 to create.
	Version int64
	// Data is the encoded entity (JSON for collections); opaque to the
	// backend. It is a string so that it can be shared without copies and
	// without anyone changing it underneath the store.
	Data string
	// Terms are the record's index terms, each "field=value" with a
	// non-empty field. Query and Lookup match them exactly.
	Terms []string
	// SortKey orders query results (bytewise, then by ID).
	SortKey string
}

// Cursor is a position in a query's order: the sort key and ID of the last
// record a caller has seen. It is what keyset pagination resumes after.
type Cursor struct {
	SortKey string
	ID      itil.ID
}

// Query selects records of one kind.
type Query struct {
	// Kind is required.
	Kind string
	// Terms: a record matches when it has every one of them (AND). Empty
	// matches every record of the kind.
	Terms []string
	// Min and Max bound the sort key: Min <= SortKey < Max. An empty Max
	// means no upper bound.
	Min, Max string
	// After resumes a previous page: only records strictly after the cursor
	// in the query's order are returned.
	After *Cursor
	// Reverse returns records in descending (SortKey, ID) order.
	Reverse bool
	// Limit caps the number of records; 0 means no cap.
	Limit int
}

// JournalQuery selects events of the journal. Its filters combine (AND).
type JournalQuery struct {
	// After is the cursor: only events with Seq > After are returned.
	After int64
	// SubjectID, when not nil, keeps only the events that concern that
	// subject: those whose SubjectID is it and those whose Refs contain
	// it, each once.
	SubjectID itil.ID
	// Kinds, when not empty, keeps only the events whose Kind is one of
	// them. Each must pass CheckName.
	Kinds []string
	// Limit caps the number of events; 0 means no cap.
	Limit int
}

// MaxRefs is the most subjects an event's Refs may list.
const MaxRefs = 64

// Limits, in bytes, on the values a backend indexes or keys on. Every
// backend refuses a longer value with a *itil.ValidationError (through the
// Check functions), so all backends store the same values.
//
// They are chosen so that the largest allowed values of all parts fit at
// once in the widest index row of every backend, with a margin.
// PostgreSQL's btree refuses an index row over 2704 bytes (a third of an
// 8 KiB page, less page and item headers), and its widest row is a term's
// (tenant, kind, term, sort key, id): an 8-byte index tuple header, four
// variable-length values with a 4-byte header each (128 + 128 + 1024 +
// 1024 bytes of data) and a 16-byte UUID make 2344 bytes, 360 under the
// limit even when no value compresses. The conformance suite stores such
// rows of random bytes on every backend, and storage/postgres tests that
// a term 350 bytes longer still fits and one 400 bytes longer does not.
// SQLite and memory have no such limit.
const (
	// MaxName is the longest tenant name, kind, sequence name and event
	// type.
	MaxName = 128
	// MaxTerm is the longest index term, "field=" included.
	MaxTerm = 1024
	// MaxSortKey is the longest sort key.
	MaxSortKey = 1024
)

// Backend is an opened storage backend shared by all tenants.
type Backend interface {
	// Tenant returns the Store of one tenant. A name that fails CheckName
	// (empty, NUL bytes, invalid UTF-8, over MaxName bytes) gives a
	// *itil.ValidationError naming "tenant";
	// calling Tenant twice with the same name MUST give Stores that see the
	// same data.
	Tenant(name string) (Store, error)
	// Close releases the backend. Stores of a closed backend MUST return
	// ErrClosed.
	Close() error
}

// Store is one tenant's view of a backend. It is safe for concurrent use.
type Store interface {
	// Tenant returns the tenant name the Store is scoped to.
	Tenant() string
	// RunInTx runs fn in a transaction and commits it when fn returns nil.
	//
	// When fn returns an error the transaction MUST be rolled back and that
	// error returned unchanged. When fn panics the transaction MUST be
	// rolled back and the panic re-raised.
	//
	// The commit MUST fail with an error wrapping itil.ErrConflict, and
	// write nothing, when a record fn wrote or read (by Get, Query or
	// Lookup, including a Get that found nothing) was committed by another
	// transaction after fn first read it: a rule fn checked against it may
	// no longer hold. A record that starts to match a query after fn ran it
	// (a phantom) is not a conflict; commands that must exclude phantoms
	// write a record that both sides touch. A transaction that neither
	// writes nor appends always commits.
	//
	// A committed transaction's writes and journal events MUST become
	// visible to others atomically; before commit they MUST NOT be visible
	// to other transactions.
	//
	// Cancellation: when ctx ends (cancelled, or past its deadline), at
	// whatever point, the outcome is still all or nothing: RunInTx returns
	// nil, and then every write and event of the transaction is stored, or
	// an error, and then none is. A transaction that writes or appends
	// MUST NOT commit when ctx ended before fn returned. An error a backend
	// reports because ctx, or the context a Tx method was given, ended
	// MUST satisfy errors.Is(err, context.Canceled) or errors.Is(err,
	// context.DeadlineExceeded), whatever the driver said (a statement
	// closed or a transaction rolled back underneath it, a statement the
	// server cancelled, a cause given to context.WithCancelCause), so that
	// a caller can tell a cancellation from a failure; a conflict found
	// first may still be reported as itil.ErrConflict.
	//
	// A ctx marked by Writing says that fn will write. A backend MAY then
	// make the transaction wait, before fn's first read, for the other
	// marked transactions of the process that it would otherwise let fail
	// with a conflict; it changes nothing else. The conflict rule above
	// holds as it stands (a commit of another process, or of a
	// transaction that was not marked, still makes the commit fail), and
	// a marked transaction that does not write commits as any other.
	//
	// The Tx and every iterator it returned MUST NOT be used after RunInTx
	// returns (methods then return ErrTxDone). A Tx is not safe for
	// concurrent use. RunInTx MUST NOT be called from inside fn.
	RunInTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

type writingKey struct{}

// Writing returns ctx marked for RunInTx as the context of a transaction
// that will write (see Store.RunInTx): a backend that runs one writer at
// a time, such as storage/sqlite, then takes its writer lock before fn
// reads anything, so that writers of one process on the same records wait
// for each other instead of conflicting. The command pipeline marks its
// commands so; reads are not marked, since they would wait for writers.
// The mark stays on the ctx fn is given. A RunInTx called (against the
// contract) inside fn of a transaction holding the lock, with fn's ctx,
// must not wait for that lock, which would never come: storage/sqlite lets
// it write under the holder's lock until the holder has written, and then
// refuses its writes at once. With another ctx it does wait, until that
// ctx ends.
func Writing(ctx context.Context) context.Context {
	return context.WithValue(ctx, writingKey{}, true)
}

// IsWriting reports whether ctx was marked by Writing; backends call it
// in RunInTx.
func IsWriting(ctx context.Context) bool {
	v, _ := ctx.Value(writingKey{}).(bool)
	return v
}

// Tx is a transaction of one tenant.
//
// Reads see the committed state plus the transaction's own writes; a
// transaction never sees another transaction's uncommitted writes.
//
// Every method checks what it is given before a backend sees it and
// returns the *itil.ValidationError of the Check function: a kind or a
// sequence name with CheckName (at most MaxName bytes), Put and Delete
// with CheckRecord (terms at most MaxTerm bytes each, the sort key at
// most MaxSortKey bytes), Query with CheckQuery, Lookup with CheckLookup,
// Append with CheckEvent and Journal with CheckJournalQuery. So all
// backends refuse the same values, including those PostgreSQL cannot
// store as text or index.
type Tx interface {
	// Get returns the record, or an error wrapping itil.ErrNotFound. The
	// returned Terms slice belongs to the caller.
	Get(ctx context.Context, kind string, id itil.ID) (Record, error)

	// Put creates or replaces a record. rec.Version MUST equal the current
	// version (0 when the record does not exist); otherwise Put returns an
	// error wrapping itil.ErrConflict and writes nothing. One exception
	// spares a backend that stores remotely a round trip per new record:
	// a create (rec.Version 0) of a record the transaction has neither
	// read nor written MAY succeed without looking, and the transaction
	// then takes the record as absent from then on; when it is not (it
	// existed, or another transaction created it first), the commit MUST
	// fail with an error wrapping itil.ErrConflict and write nothing. On success it
	// returns the new version, rec.Version+1. The backend MUST copy Terms:
	// later changes to the caller's slice MUST NOT alter the record.
	// A malformed record (no kind, nil ID, a term without "field=", a
	// kind, term or sort key over its limit: see CheckRecord) is rejected
	// with a *itil.ValidationError and nothing is written.
	Put(ctx context.Context, rec Record) (int64, error)

	// Delete removes the record at the given current version, with the same
	// conflict rule as Put; a missing record gives itil.ErrNotFound, an
	// empty kind or nil ID a *itil.ValidationError.
	Delete(ctx context.Context, kind string, id itil.ID, version int64) error

	// Query returns the records matching q in (SortKey, ID) order, or the
	// reverse, starting strictly after q.After, each record at most once.
	// It reads committed state as the iteration proceeds plus the
	// transaction's own writes made before the call; a record that another
	// transaction commits, or that this one writes, while the iteration
	// runs may or may not be seen, and if seen may be seen as it was. A malformed query
	// (see CheckQuery) yields a *itil.ValidationError. Iteration stops at
	// the first error, which is yielded with a zero Record. Returned Terms
	// slices belong to the caller.
	Query(ctx context.Context, q Query) iter.Seq2[Record, error]

	// Lookup returns, in (SortKey, ID) order and each at most once, the
	// records of kind that have at least one of terms. It is the batched
	// lookup graph walks use for a whole frontier at once. A malformed
	// lookup (see CheckLookup) yields a *itil.ValidationError. Returned
	// Terms slices belong to the caller.
	Lookup(ctx context.Context, kind string, terms []string) iter.Seq2[Record, error]

	// NextSeq returns the next value of the tenant's named sequence,
	// starting at 1. A name that fails CheckName (at most MaxName bytes)
	// gives a *itil.ValidationError naming "name". Sequences are not
	// transactional: a value handed out is never handed out again, even
	// when this transaction rolls back. The
	// values one backend instance hands out increase; a backend shared by
	// several processes may reserve values in blocks, so theirs can
	// interleave and values a stopped process reserved can be skipped.
	NextSeq(ctx context.Context, name string) (int64, error)

	// Append adds an event to the journal when the transaction commits. The
	// backend sets Tenant and assigns Seq at commit. The event must pass
	// CheckEvent (Kind, SubjectID and Type required, Kind and Type at most
	// MaxName bytes, text fields valid UTF-8 without NUL bytes, a time
	// within the years 1 to 9999, a payload that is empty or valid JSON,
	// at most MaxRefs refs, none nil, repeated or equal to SubjectID), or
	// Append returns its *itil.ValidationError and the transaction
	// journals nothing of it.
	// The backend MUST copy Payload and Refs, and MUST journal Refs in
	// the order given.
	Append(ctx context.Context, ev itil.Event) error

	// Journal returns committed events in Seq order, each at most once; a
	// malformed query (see CheckJournalQuery) yields a
	// *itil.ValidationError. Seq values of one tenant MUST increase in
	// commit order, so a reader that resumes after the last Seq it saw
	// MUST see every event committed later exactly once, and none of a
	// rolled-back transaction. Events appended by this transaction are not
	// returned before it commits. A query by SubjectID MUST NOT read the
	// whole journal: backends index both an event's subject and its refs.
	// A Kinds filter may be applied while reading.
	Journal(ctx context.Context, q JournalQuery) iter.Seq2[itil.Event, error]

	// LastSeq returns the Seq of the newest committed event of the tenant
	// that this transaction can see, 0 when the journal is empty. Events
	// this transaction appended do not count before it commits. Events
	// committed after the call MUST get higher Seqs than the returned
	// value, so it is "the journal position now": an index built from
	// the records records it, then catches up by reading the journal
	// after it, and a consumer that only wants what happens from now on
	// starts there.
	LastSeq(ctx context.Context) (int64, error)
}

// Term builds an index term "field=value".
func Term(field, value string) string { return field + "=" + value }

// CheckName validates a name a backend stores as text and keys on: a
// tenant, a kind, a sequence name or an event type. It is required, must
// be valid UTF-8 without NUL bytes and at most MaxName bytes long;
// otherwise the *itil.ValidationError names field.
func CheckName(field, s string) error {
	if nameOK(s) {
		return nil
	}
	var v itil.ValidationError
	checkName(field, s, &v)
	return v.Err()
}

func nameOK(s string) bool { return s != "" && len(s) <= MaxName && textOK(s) }

func checkName(field, s string, v *itil.ValidationError) {
	if s == "" {
		v.Add(field, "is required")
		return
	}
	checkText(field, s, v)
	checkLen(field, s, MaxName, v)
}

func checkText(field, s string, v *itil.ValidationError) {
	if !textOK(s) {
		v.Add(field, "must be valid UTF-8 without NUL bytes")
	}
}

func checkLen(field, s string, max int, v *itil.ValidationError) {
	if len(s) > max {
		v.Add(field, "must be at most "+strconv.Itoa(max)+" bytes")
	}
}

// textOK reports whether s can be stored in a text column of every
// backend (PostgreSQL refuses NUL and invalid UTF-8 there).
func textOK(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return !strings.ContainsRune(s, 0) && utf8.ValidString(s)
		}
	}
	return true
}

// CheckRecord validates the parts of a record every backend requires: a
// kind that passes CheckName, a non-nil ID, a version that is not
// negative, terms of the form "field=value" with a non-empty field and at
// most MaxTerm bytes each, and a sort key of at most MaxSortKey bytes. All
// backends call it so they reject the same records with the same errors
// (fields "kind", "id", "version", "terms[i]", "sort_key").
func CheckRecord(rec Record) error {
	if nameOK(rec.Kind) && rec.ID != itil.NilID && rec.Version >= 0 && len(rec.SortKey) <= MaxSortKey && termsOK(rec.Terms) {
		return nil // the common case, without building an error
	}
	var v itil.ValidationError
	checkName("kind", rec.Kind, &v)
	if rec.ID == itil.NilID {
		v.Add("id", "is required")
	}
	if rec.Version < 0 {
		v.Add("version", "must not be negative")
	}
	checkTerms(rec.Terms, &v)
	checkLen("sort_key", rec.SortKey, MaxSortKey, &v)
	return v.Err()
}

func checkTerms(terms []string, v *itil.ValidationError) {
	for i, t := range terms {
		if f, _, ok := strings.Cut(t, "="); !ok || f == "" {
			v.Add("terms["+strconv.Itoa(i)+"]", "must have the form field=value")
		}
		if len(t) > MaxTerm {
			checkLen("terms["+strconv.Itoa(i)+"]", t, MaxTerm, v)
		}
	}
}

func termsOK(terms []string) bool {
	for _, t := range terms {
		if len(t) > MaxTerm {
			return false
		}
		if i := strings.IndexByte(t, '='); i <= 0 {
			return false
		}
	}
	return true
}

// CheckQuery validates a query: a kind that passes CheckName, terms as
// CheckRecord requires them (a longer term could match no record) and a
// limit that is not negative. Min, Max and After are bounds and need no
// limit.
func CheckQuery(q Query) error {
	if nameOK(q.Kind) && q.Limit >= 0 && termsOK(q.Terms) {
		return nil
	}
	var v itil.ValidationError
	checkName("kind", q.Kind, &v)
	if q.Limit < 0 {
		v.Add("limit", "must not be negative")
	}
	checkTerms(q.Terms, &v)
	return v.Err()
}

// CheckLookup validates the arguments of Tx.Lookup: a kind that passes
// CheckName and terms as CheckRecord requires them.
func CheckLookup(kind string, terms []string) error {
	if nameOK(kind) && termsOK(terms) {
		return nil
	}
	var v itil.ValidationError
	checkName("kind", kind, &v)
	checkTerms(terms, &v)
	return v.Err()
}

// CheckJournalQuery validates a journal query: neither After nor Limit
// may be negative, and every one of Kinds must pass CheckName.
func CheckJournalQuery(q JournalQuery) error {
	if q.After >= 0 && q.Limit >= 0 && namesOK(q.Kinds) {
		return nil
	}
	var v itil.ValidationError
	if q.After < 0 {
		v.Add("after", "must not be negative")
	}
	if q.Limit < 0 {
		v.Add("limit", "must not be negative")
	}
	for i, k := range q.Kinds {
		checkName("kinds["+strconv.Itoa(i)+"]", k, &v)
	}
	return v.Err()
}

func namesOK(names []string) bool {
	for _, n := range names {
		if !nameOK(n) {
			return false
		}
	}
	return true
}

// CheckEvent validates an event before Append: kind, subject and type
// are required; kind and type must pass CheckName (at most MaxName bytes);
// the actor's ID and name must be valid UTF-8 without NUL bytes; the time
// must be one RFC 3339 and encoding/json can write (within the years 1 to
// 9999, in UTC too, with a zone offset under a day); the payload must be
// empty or valid JSON; Refs may list at most MaxRefs IDs, none of them
// nil, repeated or equal to SubjectID. A valid event is checked without
// allocating.
func CheckEvent(ev itil.Event) error {
	if nameOK(ev.Kind) && ev.SubjectID != itil.NilID && nameOK(ev.Type) && check.TimeOK(ev.Time) &&
		textOK(ev.Actor.ID) && textOK(ev.Actor.Name) &&
		payloadOK(ev.Payload) && refsOK(ev.SubjectID, ev.Refs) {
		return nil
	}
	var v itil.ValidationError
	checkName("kind", ev.Kind, &v)
	if ev.SubjectID == itil.NilID {
		v.Add("subject_id", "is required")
	}
	checkName("type", ev.Type, &v)
	checkText("actor.id", ev.Actor.ID, &v)
	checkText("actor.name", ev.Actor.Name, &v)
	if !check.TimeOK(ev.Time) {
		v.Add("time", check.TimeReason(ev.Time))
	}
	if !payloadOK(ev.Payload) {
		v.Add("payload", "must be valid JSON")
	}
	checkRefs(ev.SubjectID, ev.Refs, &v)
	return v.Err()
}

// payloadOK reports whether p is empty or valid JSON (as json.Valid
// says; see jsonvalid.go), without allocating.
func payloadOK(p []byte) bool { return len(p) == 0 || validJSON(p) }

// refsOK reports whether refs are few enough, none nil, none repeated and
// none the subject. Refs are few: comparing each with those before it
// costs less than a set and allocates nothing.
func refsOK(subject itil.ID, refs []itil.ID) bool {
	if len(refs) > MaxRefs {
		return false
	}
	for i, r := range refs {
		if r == itil.NilID || r == subject || slices.Contains(refs[:i], r) {
			return false
		}
	}
	return true
}

func checkRefs(subject itil.ID, refs []itil.ID, v *itil.ValidationError) {
	if len(refs) > MaxRefs {
		v.Add("refs", "must list at most "+strconv.Itoa(MaxRefs)+" subjects, not "+strconv.Itoa(len(refs)))
	}
	for i, r := range refs {
		field := "refs[" + strconv.Itoa(i) + "]"
		switch {
		case r == itil.NilID:
			v.Add(field, "must not be the nil ID")
		case r == subject:
			v.Add(field, "must not be subject_id: the subject is not a ref of its own event")
		default:
			if j := slices.Index(refs[:i], r); j >= 0 {
				v.Add(field, "repeats refs["+strconv.Itoa(j)+"]")
			}
		}
	}
}
