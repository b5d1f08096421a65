// Package pipeline is the one command pipeline every process runs on:
// create an entity, or run a command on an existing one, in a transaction:
// load, authorize, the command's own guards and rules, a version-checked
// put, one journal event per record written (with the old and new value of
// every field that changed), then the in-transaction hooks. A process
// package's command body is its rules and nothing else.
//
// Commands run their transactions on a context marked storage.Writing
// (reads, Read and Get, do not): on a backend that runs one writer at a
// time, commands of one process wait for each other rather than conflict.
// The pipeline is the one place that marks; a write outside of it (an
// SLA monitor's round) runs through Write.
//
// Retry rule: a command that conflicts (another transaction committed
// first) is run again on fresh state, at most Attempts times in all; its
// guards are checked again, so the outcome is that of some serial order. A
// caller who passes the version it read (IfVersion) gets itil.ErrConflict
// instead when the entity changed, and a command bound to a caller's
// transaction (In) never retries: the caller owns the transaction.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Attempts bounds how often a conflicting command runs in all.
const Attempts = 4

// Spec is what the pipeline needs to know of an entity type, declared once
// per process.
type Spec[T any] struct {
	// Collection stores the entities; its kind is the journal kind.
	Collection *storage.Collection[T]
	// Clone deep-copies an entity (authorizers and diffs get copies).
	Clone func(*T) *T
	// Touch records the time of a write (UpdatedAt), when set. It runs
	// only when the write changes a journaled field, after the diff, so
	// it must change nothing but skipped fields (Skip).
	Touch func(v *T, now time.Time)
	// Snapshot describes the entity to hooks; nil when the kind has none.
	Snapshot func(v *T, now time.Time) itil.Snapshot
	// Skip names JSON fields the journal does not track (the version and
	// the update time change on every write).
	Skip []string

	fields []field
}

// Init prepares the spec; call it once, at package initialisation.
func (s *Spec[T]) Init() *Spec[T] {
	s.fields = fieldsOf[T](s.Skip)
	return s
}

// Runner runs the commands of one entity type on one store. It is a value:
// In and IfVersion return modified copies.
type Runner[T any] struct {
	spec      *Spec[T]
	store     storage.Store
	tx        storage.Tx // bound by In: no begin, no commit, no retry
	clock     itil.Clock
	authorize itil.Authorizer[T]
	hooks     []storage.Hook
	expect    int64
	once      bool
}

// New returns a runner. authorize may be nil.
func New[T any](spec *Spec[T], store storage.Store, clock itil.Clock, authorize itil.Authorizer[T], hooks []storage.Hook) Runner[T] {
	return Runner[T]{spec: spec, store: store, clock: clock, authorize: authorize, hooks: hooks}
}

// In returns the runner bound to the caller's transaction. A command that
// fails there may have written part of its work into it; the caller must
// then abort the transaction (the process packages' In say so).
func (r Runner[T]) In(tx storage.Tx) Runner[T] {
	r.tx = tx
	return r
}

// Bound reports whether the runner is bound to a caller's transaction.
func (r *Runner[T]) Bound() bool { return r.tx != nil }

// IfVersion returns a runner whose next commands on an existing entity
// fail with itil.ErrStale (an itil.ErrConflict) unless the entity is at
// version v.
func (r Runner[T]) IfVersion(v int64) Runner[T] {
	r.expect = v
	return r
}

// Once returns a runner that does not retry a conflicting command: for a
// create under an ID the caller chose, a conflict means the entity exists.
func (r Runner[T]) Once() Runner[T] {
	r.once = true
	return r
}

// Clock is the runner's clock reading, in UTC, or a *itil.ValidationError
// naming "clock" when the reading is not a time storage can write (see
// check.Time). Every command reads the time here before it reads or
// writes anything, so a clock out of range rejects it with nothing
// written, in every process.
func (r Runner[T]) Clock() (time.Time, error) {
	t := r.clock.Now()
	if !check.TimeOK(t) {
		// t.String, since RFC 3339 cannot write such a time.
		return time.Time{}, itil.Invalid("clock", "the clock reads "+t.String()+": it "+check.TimeReason(t))
	}
	return t.UTC(), nil
}

// unencodable turns the error of a value encoding/json refuses into a
// *itil.ValidationError naming the field: the input checks should have
// refused it first, but a value that still cannot be written is the
// input's fault, not storage's.
func unencodable(field string, err error) error {
	var ve *itil.ValidationError
	if errors.As(err, &ve) {
		return err
	}
	var me *json.MarshalerError
	var uv *json.UnsupportedValueError
	var ut *json.UnsupportedTypeError
	if errors.As(err, &me) || errors.As(err, &uv) || errors.As(err, &ut) {
		return itil.Invalid(field, "cannot be written as JSON: "+err.Error())
	}
	return err
}

// Read runs fn in the bound transaction, or in a new one.
func (r Runner[T]) Read(ctx context.Context, fn func(ctx context.Context, tx storage.Tx) error) error {
	if r.tx != nil {
		return fn(ctx, r.tx)
	}
	return r.store.RunInTx(ctx, fn)
}

// Write runs fn, which writes, in a new transaction of store marked
// storage.Writing: for the few writes of a process that are not commands
// on a runner (with no retry: fn's caller decides what a conflict means).
func Write(ctx context.Context, store storage.Store, fn func(ctx context.Context, tx storage.Tx) error) error {
	return store.RunInTx(storage.Writing(ctx), fn)
}

// Get loads an entity.
func (r Runner[T]) Get(ctx context.Context, id itil.ID) (*T, error) {
	var out *T
	err := r.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = r.spec.Collection.Get(ctx, tx, id)
		return err
	})
	return out, err
}

// Number draws the next number of kind's sequence in the command's
// transaction and formats it with prefix (INC0001001).
func (c *Cmd[T]) Number(kind, prefix string) (string, error) {
	n, err := c.Tx.NextSeq(c.Ctx, kind)
	if err != nil {
		return "", err
	}
	return itil.FormatNumber(prefix, n), nil
}

// GetByNumber returns the entity whose reference number (index term
// "number") is number, which must parse with prefix (itil.ParseNumber's
// error otherwise); an error wrapping itil.ErrNotFound, saying "noun
// number", when none has it.
func (r Runner[T]) GetByNumber(ctx context.Context, prefix, noun, number string) (*T, error) {
	if _, err := itil.ParseNumber(prefix, number); err != nil {
		return nil, err
	}
	for v, err := range r.List(ctx, Query[T]{Terms: []string{storage.Term("number", number)}}) {
		return v, err
	}
	return nil, fmt.Errorf("%s %s: %w", noun, number, itil.ErrNotFound)
}

// Event describes one journal event of a write: its type, what happened
// in words, the reason the actor gave, and the other subjects it concerns.
type Event struct {
	Type    string
	Summary string
	Reason  string
	Refs    []itil.ID
}

// Cmd is what a command body works with: its transaction, the time, the
// actor, and ways to load, authorize and save other entities of its kind
// (cascades) and to add notes.
type Cmd[T any] struct {
	Ctx   context.Context
	Tx    storage.Tx
	Now   time.Time
	Actor itil.Actor
	r     *Runner[T]
	// before holds the entities as loaded (or last saved), for diffs; a
	// command touches a handful, so a slice beats a map. They are only
	// read: some are the collection's shared decode cache entries.
	before []loaded[T]
}

type loaded[T any] struct {
	id itil.ID
	v  *T
}

func (c *Cmd[T]) loadedAs(id itil.ID) (*T, bool) {
	for _, l := range c.before {
		if l.id == id {
			return l.v, true
		}
	}
	return nil, false
}

// Load loads another entity of the kind for the command (a parent, a
// child), remembering it as loaded so that Save journals what changed.
func (c *Cmd[T]) Load(id itil.ID) (*T, error) {
	v, base, err := c.r.spec.Collection.GetBase(c.Ctx, c.Tx, id)
	if err != nil {
		return nil, err
	}
	c.rememberAs(v, base)
	return v, nil
}

// Query runs a storage query for entities of the kind, remembering each
// as loaded.
func (c *Cmd[T]) Query(q storage.Query) ([]*T, error) {
	var out []*T
	for v, err := range c.r.spec.Collection.Query(c.Ctx, c.Tx, q) {
		if err != nil {
			return nil, err
		}
		c.remember(v)
		out = append(out, v)
	}
	return out, nil
}

func (c *Cmd[T]) remember(v *T) { c.rememberAs(v, nil) }

// rememberAs remembers v as loaded; base, when not nil, is a read-only
// copy of v as stored (the collection's decode cache entry), which saves
// copying v.
func (c *Cmd[T]) rememberAs(v, base *T) {
	if base == nil {
		base = c.r.spec.Clone(v)
	}
	id := c.r.spec.Collection.IDOf(v)
	for i := range c.before {
		if c.before[i].id == id {
			c.before[i].v = base
			return
		}
	}
	c.before = append(c.before, loaded[T]{id, base})
}

// Authorize runs the authorizer on another entity the command changes.
func (c *Cmd[T]) Authorize(command string, v *T) error {
	return c.r.check(c.Ctx, c.Actor, command, v)
}

// Save writes an entity the command changed (or created, when it was not
// loaded): when no journaled field changed it writes nothing; otherwise it
// touches it, puts it at the version loaded, journals one event with the
// fields' old and new values, and hands its snapshot to the hooks.
func (c *Cmd[T]) Save(v *T, ev Event) error { return c.save(v, ev, true) }

// save is Save; keep says whether the command may change v again (the
// pipeline's own final save of the subject may not), so that its saved
// state must be remembered for a later diff.
func (c *Cmd[T]) save(v *T, ev Event, keep bool) error {
	sp := c.r.spec
	id := sp.Collection.IDOf(v)
	before, loaded := c.loadedAs(id)
	buf := borrow()
	defer giveBack(buf)
	payload := (*buf)[:0]
	if loaded {
		var n int
		var err error
		payload, n, err = appendDiff(appendPayloadHead(payload, ev.Summary), sp.fields, before, v)
		if err != nil {
			return fmt.Errorf("journal %s %s: %w", sp.Collection.Kind(), id, err)
		}
		if n == 0 {
			return nil // unchanged: not touched either, so v is as stored
		}
	}
	if sp.Touch != nil {
		sp.Touch(v, c.Now) // not journaled (Spec.Skip)
	}
	data, err := sp.Collection.PutJSON(c.Ctx, c.Tx, v)
	if err != nil {
		return unencodable(sp.Collection.Kind(), err)
	}
	if !loaded {
		// A creation journals the entity as stored.
		payload = append(append(appendPayloadHead(payload, ev.Summary), `,"created":`...), data...)
	}
	if keep {
		c.remember(v)
	}
	payload = appendPayloadTail(payload, ev.Reason)
	*buf = payload
	if err := c.Tx.Append(c.Ctx, itil.Event{
		Kind: sp.Collection.Kind(), SubjectID: id, SubjectVersion: sp.Collection.VersionOf(v),
		Actor: c.Actor, Time: c.Now, Type: ev.Type, Payload: payload, Refs: ev.Refs,
	}); err != nil {
		return err
	}
	if sp.Snapshot == nil || len(c.r.hooks) == 0 {
		return nil
	}
	snap := sp.Snapshot(v, c.Now)
	for _, h := range c.r.hooks {
		if err := h.Observe(c.Ctx, c.Tx, c.Actor, snap); err != nil {
			return err
		}
	}
	return nil
}

// scratch holds the buffers payloads are built in. A backend copies an
// event's payload on Append (storage.Tx contract), so a buffer is reused
// as soon as Append returns: a payload is then allocated once, by the
// backend, at its final size.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

func borrow() *[]byte { return scratch.Get().(*[]byte) }

// giveBack returns a buffer to the pool; one grown large by a rare big
// payload is dropped rather than kept.
func giveBack(b *[]byte) {
	if cap(*b) <= 64<<10 {
		scratch.Put(b)
	}
}

// Delete removes an entity the command loaded, at the version loaded, and
// journals its end: one event at the next version, with Deleted set.
func (c *Cmd[T]) Delete(v *T, ev Event) error {
	sp := c.r.spec
	id := sp.Collection.IDOf(v)
	if err := sp.Collection.Delete(c.Ctx, c.Tx, v); err != nil {
		return err
	}
	c.before = slices.DeleteFunc(c.before, func(l loaded[T]) bool { return l.id == id })
	payload := append(appendPayloadHead(nil, ev.Summary), `,"deleted":true`...)
	return c.Tx.Append(c.Ctx, itil.Event{
		Kind: sp.Collection.Kind(), SubjectID: id, SubjectVersion: sp.Collection.VersionOf(v) + 1,
		Actor: c.Actor, Time: c.Now, Type: ev.Type, Payload: appendPayloadTail(payload, ev.Reason), Refs: ev.Refs,
	})
}

// Other returns a command on another kind of entity (r's) that shares c's
// transaction, time and actor: a process whose command writes entities of
// two kinds (CIs and their relationships) runs both through the pipeline.
func Other[U, T any](c *Cmd[T], r Runner[U]) *Cmd[U] {
	return &Cmd[U]{Ctx: c.Ctx, Tx: c.Tx, Now: c.Now, Actor: c.Actor, r: &r}
}

// Journal appends the one event of a record written: kind, ID and version
// name the record; payload is encoded as JSON.
func Journal(ctx context.Context, tx storage.Tx, actor itil.Actor, now time.Time, kind string, id itil.ID, version int64, ev Event, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("journal %s %s: %w", kind, id, err)
	}
	return tx.Append(ctx, itil.Event{
		Kind: kind, SubjectID: id, SubjectVersion: version,
		Actor: actor, Time: now, Type: ev.Type, Payload: data, Refs: ev.Refs,
	})
}

// check runs the authorizer on a copy of v.
func (r *Runner[T]) check(ctx context.Context, actor itil.Actor, command string, v *T) error {
	if r.authorize == nil {
		return nil
	}
	if err := r.authorize(ctx, actor, command, r.spec.Clone(v)); err != nil {
		if errors.Is(err, itil.ErrForbidden) {
			return err
		}
		return fmt.Errorf("%w: %s may not %s: %w", itil.ErrForbidden, actor.ID, command, err)
	}
	return nil
}

// Run runs command on the entity id: load, authorize, fn (guards and rules,
// changing v in place; it returns the event describing the change), save
// and journal v, hooks. A command by an invalid actor is rejected for the
// actor alone, before anything is read: its other checks depend on the
// entity's state, which an unauthorized caller must not learn.
func (r *Runner[T]) Run(ctx context.Context, actor itil.Actor, id itil.ID, command string, fn func(c *Cmd[T], v *T) (Event, error)) (*T, error) {
	if err := validActor(actor); err != nil {
		return nil, err
	}
	return r.attempt(ctx, &call[T]{Cmd: Cmd[T]{Actor: actor, r: r}, id: id, command: command, run: fn})
}

// Delete runs command, which ends the entity id: load, authorize, the
// version IfVersion asked for, fn (guards, and cascades that save or
// delete other entities through c), then the entity's deletion, journaled
// with Deleted set (see Cmd.Delete).
func (r *Runner[T]) Delete(ctx context.Context, actor itil.Actor, id itil.ID, command string, fn func(c *Cmd[T], v *T) (Event, error)) error {
	if err := validActor(actor); err != nil {
		return err
	}
	_, err := r.attempt(ctx, &call[T]{Cmd: Cmd[T]{Actor: actor, r: r}, id: id, command: command, run: fn, del: true})
	return err
}

// subject loads the entity a command runs on, authorizes the command on it
// and checks the version IfVersion asked for.
func (c *Cmd[T]) subject(id itil.ID, command string) (*T, error) {
	r := c.r
	v, err := c.Load(id)
	if err != nil {
		return nil, err
	}
	// Authorized first: the version is the entity's state, which an
	// unauthorized caller must not learn.
	if err := r.check(c.Ctx, c.Actor, command, v); err != nil {
		return nil, err
	}
	if err := c.Expect(id, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Expect checks v, the entity id a command runs on, against the version
// IfVersion asked for: an error wrapping itil.ErrStale (and so
// itil.ErrConflict) when they differ, nil when they agree or none was asked for. Run checks its own
// subject; a command that loads its subject through Other (a change
// task's command runs on its change's pipeline) calls Expect on it once
// the command is authorized, since the version is state an unauthorized
// caller must not learn.
func (c *Cmd[T]) Expect(id itil.ID, v *T) error {
	r := c.r
	if r.expect != 0 && r.spec.Collection.VersionOf(v) != r.expect {
		return fmt.Errorf("%w: %s %s is at version %d, not %d", itil.ErrStale,
			r.spec.Collection.Kind(), id, r.spec.Collection.VersionOf(v), r.expect)
	}
	return nil
}

// Create authorizes and stores a new entity. candidate is the entity as
// the input describes it: it is authorized before anything is read, so an
// unauthorized caller learns nothing about stored entities from the
// command's other checks. build then completes a fresh copy of it on each
// attempt (store-dependent rules, numbers taken inside); it is saved and
// journaled as created, and handed to the hooks.
func (r *Runner[T]) Create(ctx context.Context, actor itil.Actor, command string, candidate *T, build func(c *Cmd[T], v *T) (Event, error)) (*T, error) {
	if err := validActor(actor); err != nil {
		return nil, err
	}
	return r.attempt(ctx, &call[T]{Cmd: Cmd[T]{Actor: actor, r: r}, command: command, candidate: candidate, build: build})
}

// Do runs fn, a command that writes no entity of the runner's kind by
// itself (a note on one, a sweep), in the bound transaction or a new one,
// with the retry rule.
func (r *Runner[T]) Do(ctx context.Context, actor itil.Actor, fn func(c *Cmd[T]) error) error {
	if err := validActor(actor); err != nil {
		return err
	}
	_, err := r.attempt(ctx, &call[T]{Cmd: Cmd[T]{Actor: actor, r: r}, do: fn})
	return err
}

// call is one command across its attempts. A single allocation holds the
// Cmd its body works with, its arguments and its result: each attempt
// starts the Cmd afresh, with its own transaction, time and loaded
// entities. One of run, build and do is set.
type call[T any] struct {
	Cmd[T]
	id      itil.ID
	command string
	run     func(c *Cmd[T], v *T) (Event, error)
	del     bool // run ends the entity: Delete, not Save
	// candidate is what Create completes with build, afresh each attempt.
	candidate *T
	build     func(c *Cmd[T], v *T) (Event, error)
	do        func(c *Cmd[T]) error
	out       *T
	// Most commands load one entity: its slot is in place.
	first [1]loaded[T]
}

// attempt runs the call in the bound transaction, or in new ones under the
// retry rule.
func (r *Runner[T]) attempt(ctx context.Context, k *call[T]) (*T, error) {
	if r.tx != nil {
		if err := k.body(ctx, r.tx); err != nil {
			return nil, err
		}
		return k.out, nil
	}
	body := k.body // one function value for every attempt
	// A command writes: a backend that runs one writer at a time lets the
	// process's commands wait their turn instead of conflicting.
	wctx := storage.Writing(ctx)
	for n := 1; ; n++ {
		err := r.store.RunInTx(wctx, body)
		if err == nil {
			return k.out, nil
		}
		if n == Attempts || r.expect != 0 || r.once || ctx.Err() != nil || !errors.Is(err, itil.ErrConflict) {
			return nil, err
		}
	}
}

// Set applies one field of a patch: when to is not nil and differs from
// the field, it sets the field and appends name to changed, which it
// returns (the list a command's summary names).
func Set[V comparable](changed []string, name string, field, to *V) []string {
	if to == nil || *to == *field {
		return changed
	}
	*field = *to
	return append(changed, name)
}

// body is one attempt of the call, in transaction tx.
func (k *call[T]) body(ctx context.Context, tx storage.Tx) error {
	r, c := k.r, &k.Cmd
	now, err := r.Clock()
	if err != nil {
		return err
	}
	c.Ctx, c.Tx, c.Now = ctx, tx, now
	clear(k.first[:])
	c.before, k.out = k.first[:0], nil
	var v *T
	var ev Event
	switch {
	case k.do != nil:
		return k.do(c)
	case k.build != nil:
		v = r.spec.Clone(k.candidate)
		if err := r.check(ctx, c.Actor, k.command, v); err != nil {
			return err
		}
		if ev, err = k.build(c, v); err != nil {
			return err
		}
	default:
		if v, err = c.subject(k.id, k.command); err != nil {
			return err
		}
		if ev, err = k.run(c, v); err != nil {
			return err
		}
		if k.del {
			return c.Delete(v, ev)
		}
	}
	if err := c.save(v, ev, false); err != nil {
		return err
	}
	k.out = v
	return nil
}

func validActor(actor itil.Actor) error { return actor.Check("actor") }
