package slm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// Record kinds of the package. A definition's revisions (KindRevision) are
// immutable copies written with it and derived from its journal, so they
// have no events of their own.
const (
	KindDefinition = "slm.definition"
	KindRevision   = "slm.definition_revision"
	KindSubject    = "slm.subject"
)

// Journal event types and their payloads. EventDefined (kind
// KindDefinition) carries an itil.Payload: the definition as created, or
// the fields a revision changed. The others are journaled under a
// subject's timers (kind KindSubject, the subject's ID, the record's
// version): EventObserved carries an Observation, EventWarning and
// EventBreached a Thresholds, EventRepaired an itil.Payload.
const (
	EventDefined  = "slm.defined"
	EventObserved = "slm.observed"
	EventWarning  = "slm.warning"
	EventBreached = "slm.breached"
	EventRepaired = "slm.repaired"
)

var definitions = storage.NewCollection(storage.Schema[Definition]{
	Kind:    KindDefinition,
	ID:      func(d *Definition) itil.ID { return d.ID },
	Version: func(d *Definition) *int64 { return &d.Version },
	SortKey: func(d *Definition) string { return d.Name },
	Terms: func(d *Definition, dst []string) []string {
		return append(dst, storage.Term("kind", d.SubjectKind))
	},
})

// revisionRecord is how a definition revision is kept: immutable, under an
// ID derived from the definition's ID and revision number.
var revisionRecords = storage.NewCollection(storage.Schema[Definition]{
	Kind:    KindRevision,
	ID:      func(d *Definition) itil.ID { return revisionID(d.ID, d.Revision) },
	Version: func(d *Definition) *int64 { return &d.Version },
	SortKey: func(d *Definition) string { return fmt.Sprintf("%010d", d.Revision) },
	Terms: func(d *Definition, dst []string) []string {
		return append(dst, storage.Term("kind", d.SubjectKind), storage.Term("definition", d.ID.String()))
	},
})

func revisionID(def itil.ID, rev int) itil.ID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(rev))
	return uuid.NewSHA1(def, b[:])
}

var subjects = storage.NewCollection(storage.Schema[subject]{
	Kind:    KindSubject,
	ID:      func(s *subject) itil.ID { return s.ID },
	Version: func(s *subject) *int64 { return &s.Version },
	SortKey: func(s *subject) string {
		if due := s.due(); !due.IsZero() {
			return storage.TimeKey(due)
		}
		return ""
	},
	Terms: func(s *subject, dst []string) []string {
		if !s.due().IsZero() {
			dst = append(dst, "due=yes")
		}
		var seen []itil.ID
		for _, t := range s.Timers {
			if !slices.Contains(seen, t.Definition) {
				seen = append(seen, t.Definition)
				dst = append(dst, storage.Term("definition", t.Definition.String()))
			}
		}
		return dst
	},
	Clone: cloneSubject,
})

// due is the earliest DueAt of the subject's timers.
func (s *subject) due() time.Time {
	var d time.Time
	for _, t := range s.Timers {
		if !t.DueAt.IsZero() && (d.IsZero() || t.DueAt.Before(d)) {
			d = t.DueAt
		}
	}
	return d
}

// Engine runs service level management on one store: it keeps the
// definitions, maintains timers from the snapshots processes hand it (it
// is a storage.Hook: install it with a process's WithHook option), and
// monitors thresholds. It is safe for concurrent use.
type Engine struct {
	core *core
	tx   storage.Tx // bound by In
	defs pipeline.Runner[Definition]
}

// core is what every copy of an Engine (In) shares.
type core struct {
	store storage.Store
	clock itil.Clock

	mu   sync.RWMutex
	revs map[revKey]*revision // compiled revisions; revisions never change
}

// In returns the Engine bound to the caller's transaction: its methods
// neither begin nor commit and never retry. A process's hook already runs
// the Engine inside the process's transaction; In is for reading timers or
// defining SLAs inside a flow of the caller's. A command that fails
// inside tx may have written part of its work there already (a cascade, a
// hook's records): abort the transaction then, by returning the error from
// the function tx was given to, as a database aborts a transaction after a
// failed statement.
func (e *Engine) In(tx storage.Tx) *Engine {
	return &Engine{core: e.core, tx: tx, defs: e.defs.In(tx)}
}

// run runs fn in the bound transaction, or in a new one.
func (e *Engine) run(ctx context.Context, fn func(ctx context.Context, tx storage.Tx) error) error {
	if e.tx != nil {
		return fn(ctx, e.tx)
	}
	return e.core.store.RunInTx(ctx, fn)
}

// write runs fn, which writes, in the bound transaction, or in a new one
// marked as a writer's (pipeline.Write).
func (e *Engine) write(ctx context.Context, fn func(ctx context.Context, tx storage.Tx) error) error {
	if e.tx != nil {
		return fn(ctx, e.tx)
	}
	return pipeline.Write(ctx, e.core.store, fn)
}

type revKey struct {
	id  itil.ID
	rev int
}

// CommandDefine is the command name an Authorizer receives for Define.
const CommandDefine = "define"

type config struct {
	clock     itil.Clock
	authorize itil.Authorizer[Definition]
}

// Option configures an Engine; NewEngine reports every bad option
// together.
type Option struct {
	apply func(*config, *itil.ValidationError)
}

// WithClock sets where the Engine reads the time for definitions and the
// monitor (default: the system clock). Snapshots carry their own time.
func WithClock(c itil.Clock) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		cfg.clock = c
	}}
}

// WithAuthorizer installs a check run before Define, on a copy of the
// definition as it would be stored; for a revision it is also called with
// the revision in force, first.
func WithAuthorizer(a itil.Authorizer[Definition]) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("authorizer", "must not be nil")
		}
		cfg.authorize = a
	}}
}

var defSpec = (&pipeline.Spec[Definition]{
	Collection: definitions,
	Clone:      cloneDefinition,
	Skip:       []string{"version"},
}).Init()

// NewEngine returns an Engine on store.
func NewEngine(store storage.Store, opts ...Option) (*Engine, error) {
	cfg := &config{clock: itil.SystemClock()}
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	check.Options(&v, opts, func(o Option) bool {
		if o.apply == nil {
			return false
		}
		o.apply(cfg, &v)
		return true
	})
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Engine{core: &core{store: store, clock: cfg.clock, revs: map[revKey]*revision{}},
		defs: pipeline.New(defSpec, store, cfg.clock, cfg.authorize, nil)}, nil
}

// Store returns the store the engine works on.
func (e *Engine) Store() storage.Store { return e.core.store }

var alwaysOpen = calendar.MustNew(calendar.AlwaysOpen())

// compile turns a stored revision into its compiled form, once.
func (e *Engine) compile(d *Definition) (*revision, error) {
	k := revKey{d.ID, d.Revision}
	e.core.mu.RLock()
	r := e.core.revs[k]
	e.core.mu.RUnlock()
	if r != nil {
		return r, nil
	}
	r = &revision{def: cloneDefinition(d), cal: alwaysOpen}
	if d.Calendar != nil {
		c, err := calendar.New(*d.Calendar)
		if err != nil {
			return nil, fmt.Errorf("slm: definition %s revision %d: %w", d.ID, d.Revision, err)
		}
		r.cal = c
	}
	r.thresholds = r.def.thresholds()
	e.core.mu.Lock()
	if old := e.core.revs[k]; old != nil {
		r = old
	} else {
		e.core.revs[k] = r
	}
	e.core.mu.Unlock()
	return r, nil
}

// Define stores a definition: a new one when d.ID is nil (an ID is
// assigned), otherwise the next revision of an existing one, which must
// keep its subject kind. d.Version must be the version last read (0 for a
// new definition); a stale one gives itil.ErrConflict. Running timers keep
// the revision they started under; cycles started from now on use the new
// one. An invalid definition gives a *itil.ValidationError naming every
// bad field, and nothing is written.
func (e *Engine) Define(ctx context.Context, actor itil.Actor, d Definition) (*Definition, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	d.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	in := cloneDefinition(&d)
	if in.ID == itil.NilID && in.Version != 0 {
		return nil, itil.Invalid("version", "must be 0 for a new definition")
	}
	if in.Version == 0 {
		candidate := cloneDefinition(in)
		candidate.Revision = 1
		runner := e.defs
		if candidate.ID == itil.NilID {
			candidate.ID = itil.NewID()
		} else {
			// A definition with a chosen ID is created once; a second
			// Define of it at version 0 conflicts with the first.
			runner = runner.Once()
		}
		return runner.Create(ctx, actor, CommandDefine, candidate, e.revise)
	}
	at := e.defs.IfVersion(in.Version)
	return at.Run(ctx, actor, in.ID, CommandDefine, func(c *pipeline.Cmd[Definition], cur *Definition) (pipeline.Event, error) {
		if cur.SubjectKind != in.SubjectKind {
			return pipeline.Event{}, itil.Invalid("subject_kind", "cannot change from "+cur.SubjectKind)
		}
		next := cloneDefinition(in)
		next.Version, next.Revision = cur.Version, cur.Revision+1
		// The authorizer saw the definition in force; it sees the
		// revision as it would be stored too.
		if err := c.Authorize(CommandDefine, next); err != nil {
			return pipeline.Event{}, err
		}
		*cur = *next
		return e.revise(c, cur)
	})
}

// revise stamps a revision and stores its immutable copy, which timers
// started under it read back.
func (e *Engine) revise(c *pipeline.Cmd[Definition], d *Definition) (pipeline.Event, error) {
	d.EffectiveFrom = c.Now
	d.DefinedBy = c.Actor
	rev := cloneDefinition(d)
	rev.Version = 0
	if err := revisionRecords.Put(c.Ctx, c.Tx, rev); err != nil {
		return pipeline.Event{}, err
	}
	return pipeline.Event{Type: EventDefined, Summary: fmt.Sprintf("defined %s revision %d", d.Name, d.Revision)}, nil
}

// Definition returns the current revision of a definition, or an error
// wrapping itil.ErrNotFound.
func (e *Engine) Definition(ctx context.Context, id itil.ID) (*Definition, error) {
	var out *Definition
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		d, err := definitions.Get(ctx, tx, id)
		out = d
		return err
	})
	return out, err
}

// History returns the journal of a definition, oldest first: its creation
// (the definition as created) and every later revision with the old and
// new value of each field it changed. An unknown definition gives an error
// wrapping itil.ErrNotFound.
func (e *Engine) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return e.defs.History(ctx, id)
}

// Revision returns one revision of a definition, or an error wrapping
// itil.ErrNotFound.
func (e *Engine) Revision(ctx context.Context, id itil.ID, rev int) (*Definition, error) {
	var out *Definition
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		d, err := revisionRecords.Get(ctx, tx, revisionID(id, rev))
		out = d
		return err
	})
	return out, err
}

// Filter selects definitions for List and ListPage. Empty fields do not
// filter; a list matches any of its values.
type Filter struct {
	SubjectKinds []string
	Types        []Type
}

func (f Filter) query() (pipeline.Query[Definition], error) {
	var v itil.ValidationError
	var q pipeline.Query[Definition]
	if len(f.SubjectKinds) > 0 {
		g := make([]string, len(f.SubjectKinds))
		for i, k := range f.SubjectKinds {
			check.Text(&v, "subject_kinds["+strconv.Itoa(i)+"]", k, true, check.Short)
			check.Bytes(&v, "subject_kinds["+strconv.Itoa(i)+"]", k, MaxSubjectKind)
			g[i] = storage.Term("kind", k)
		}
		q.AnyOf = append(q.AnyOf, g)
	}
	if len(f.Types) > 0 {
		for i, t := range f.Types {
			switch t {
			case SLA, OLA, UC:
			default:
				v.Add("types["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not one of sla, ola, uc", t))
			}
		}
		types := slices.Clone(f.Types)
		q.Keep = func(d *Definition) bool { return slices.Contains(types, d.Type) }
	}
	return q, v.Err()
}

// List returns the current revision of every definition matching f, by
// name. A bad filter is yielded as a *itil.ValidationError.
func (e *Engine) List(ctx context.Context, f Filter) iter.Seq2[*Definition, error] {
	q, err := f.query()
	return e.defs.ListQuery(ctx, q, err)
}

// ListPage returns up to limit definitions matching f (0 for the default
// of 50, at most 1000), after the page that returned token ("" for the
// first), and the token of the next page ("" on the last).
func (e *Engine) ListPage(ctx context.Context, f Filter, limit int, token string) ([]*Definition, string, error) {
	q, err := f.query()
	return e.defs.ListPage(ctx, q, err, limit, token)
}

// active returns the revision of each definition of kind in force at t.
func (e *Engine) active(ctx context.Context, tx storage.Tx, kind string, t time.Time) ([]*revision, error) {
	var out []*revision
	for d, err := range definitions.Query(ctx, tx, storage.Query{Terms: []string{storage.Term("kind", kind)}}) {
		if err != nil {
			return nil, err
		}
		if d.EffectiveFrom.After(t) {
			// Redefined after t: find the revision in force at t.
			q := storage.Query{Terms: []string{storage.Term("definition", d.ID.String())}, Reverse: true}
			var found *Definition
			for r, err := range revisionRecords.Query(ctx, tx, q) {
				if err != nil {
					return nil, err
				}
				if !r.EffectiveFrom.After(t) {
					found = r
					break
				}
			}
			if found == nil {
				continue
			}
			d = found
		}
		r, err := e.compile(d)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *revision) int { return compareIDs(a.def.ID, b.def.ID) })
	return out, nil
}

func compareIDs(a, b itil.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// lookup resolves a timer's revision through tx.
func (e *Engine) lookup(ctx context.Context, tx storage.Tx) revisions {
	return func(id itil.ID, rev int) (*revision, error) {
		e.core.mu.RLock()
		r := e.core.revs[revKey{id, rev}]
		e.core.mu.RUnlock()
		if r != nil {
			return r, nil
		}
		d, err := revisionRecords.Get(ctx, tx, revisionID(id, rev))
		if err != nil {
			return nil, err
		}
		return e.compile(d)
	}
}

// Observation is the payload of an EventObserved event: the snapshot,
// the definition revisions it was applied under (so that a replay uses
// exactly those) and one line per timer it started or moved.
type Observation struct {
	Summary   string        `json:"summary"`
	Snapshot  itil.Snapshot `json:"snapshot"`
	Revisions []RevisionRef `json:"revisions"`
	Changes   []string      `json:"changes,omitempty"`
}

// RevisionRef names one revision of a definition.
type RevisionRef struct {
	Definition itil.ID `json:"definition"`
	Revision   int     `json:"revision"`
}

// Observe applies a subject snapshot to the subject's timers, inside the
// caller's transaction, so that timers change atomically with the subject:
// timers start, pause, resume, stop, cancel, reset and retarget as the
// definitions' conditions say. It is the Engine's storage.Hook method:
// processes call it after every command through their WithHook option.
//
// The subject's timers are one record (kind KindSubject, under the
// subject's own ID), journaled at each write as EventObserved with an
// Observation, so that Replay can rebuild the timers. A subject of a kind
// no definition applies to is not recorded. A snapshot without kind, ID or
// time gives a *itil.ValidationError, and so does one whose time is before
// the subject's previous snapshot, unless it carries a later Version of
// the subject: then the time is that of the previous snapshot (the
// clocks of two instances differ, or a command read its clock before
// another one's commit), so timers never run backwards. A snapshot whose
// Version is not after the previous snapshot's (when both have one)
// gives an error wrapping itil.ErrConflict: the subject it describes is
// stale.
func (e *Engine) Observe(ctx context.Context, tx storage.Tx, actor itil.Actor, snap itil.Snapshot) error {
	var v itil.ValidationError
	validateSnapshot(&snap, &v)
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return err
	}
	snap.Time = snap.Time.UTC()
	sub, err := subjects.Get(ctx, tx, snap.ID)
	switch {
	case errors.Is(err, itil.ErrNotFound):
		sub = nil
	case err != nil:
		return err
	case sub.Kind != snap.Kind:
		return itil.Invalid("snapshot.kind", "subject "+snap.ID.String()+" is a "+sub.Kind)
	case sub.Last != nil && snap.Version != 0 && snap.Version <= sub.Last.Version:
		// The timers already saw this version of the subject or a later
		// one: the command that wrote it read the subject before another
		// command's commit, and its own commit would fail. A conflict, so
		// the pipeline runs it again on fresh state.
		return fmt.Errorf("slm: %s %s: snapshot of version %d, timers are at version %d: %w",
			snap.Kind, snap.ID, snap.Version, sub.Last.Version, itil.ErrConflict)
	case sub.Last != nil && snap.Time.Before(sub.Last.Time):
		if snap.Version == 0 {
			return itil.Invalid("snapshot.time", "is before the subject's previous snapshot ("+
				sub.Last.Time.Format(time.RFC3339Nano)+"): timers only move forward")
		}
		// A later version of the subject at an earlier time: the clock of
		// the instance that wrote it is behind the one that wrote the
		// version before (or it read its clock before that one
		// committed). The subject did change after that snapshot, so the
		// timers see the change at that snapshot's time: no business
		// time runs backwards or is counted twice, and the command is not
		// refused for its clock.
		snap.Time = sub.Last.Time
	}
	active, err := e.active(ctx, tx, snap.Kind, snap.Time)
	if err != nil {
		return err
	}
	if sub == nil {
		if len(active) == 0 {
			return nil
		}
		sub = &subject{ID: snap.ID, Kind: snap.Kind}
	}
	changes, err := sub.observe(active, e.lookup(ctx, tx), &snap)
	if err != nil {
		return err
	}
	if err := subjects.Put(ctx, tx, sub); err != nil {
		return err
	}
	refs := make([]RevisionRef, len(active))
	for i, r := range active {
		refs[i] = RevisionRef{r.def.ID, r.def.Revision}
	}
	summary := "observed " + snap.Kind + " " + snap.State
	if len(changes) > 0 {
		summary = strings.Join(changes, "; ")
	}
	return pipeline.Journal(ctx, tx, actor, snap.Time, KindSubject, sub.ID, sub.Version,
		pipeline.Event{Type: EventObserved}, Observation{Summary: summary, Snapshot: snap, Revisions: refs, Changes: changes})
}

// Timers returns every timer of a subject (every cycle of every
// definition), in the order they started; none for an unknown subject.
func (e *Engine) Timers(ctx context.Context, subjectID itil.ID) ([]*Timer, error) {
	var out []*Timer
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = timersOf(ctx, tx, subjectID)
		return err
	})
	return out, err
}

// Status is a timer with its progress at an instant.
type Status struct {
	Timer    *Timer
	Progress Progress
}

// Calendar returns the compiled business calendar of one revision of a
// definition (24×7 when it has none), as Timer.ProgressAt needs it. An
// unknown definition or revision gives an error wrapping itil.ErrNotFound.
func (e *Engine) Calendar(ctx context.Context, definition itil.ID, revision int) (*calendar.Calendar, error) {
	var out *calendar.Calendar
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		r, err := e.lookup(ctx, tx)(definition, revision)
		if err != nil {
			return err
		}
		out = r.cal
		return nil
	})
	return out, err
}

// Status returns the subject's timers with their progress at now; a now
// outside the years 1 to 9999 gives a *itil.ValidationError.
func (e *Engine) Status(ctx context.Context, subjectID itil.ID, now time.Time) ([]Status, error) {
	if err := checkTime("now", now); err != nil {
		return nil, err
	}
	var out []Status
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		ts, err := timersOf(ctx, tx, subjectID)
		if err != nil {
			return err
		}
		lookup := e.lookup(ctx, tx)
		for _, t := range ts {
			r, err := lookup(t.Definition, t.Revision)
			if err != nil {
				return err
			}
			out = append(out, Status{Timer: t, Progress: t.ProgressAt(r.cal, now)})
		}
		return nil
	})
	return out, err
}

// Replay rebuilds a subject's timers from the journal alone: every
// snapshot observed and every threshold fired, folded in order under the
// definition revisions each snapshot was applied under. For a subject whose
// timers were maintained live it returns exactly the stored timers (the
// storage version aside); a difference means the stored state needs
// repair (see Repair).
func (e *Engine) Replay(ctx context.Context, subjectID itil.ID) ([]*Timer, error) {
	var out []*Timer
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		sub, err := e.replay(ctx, tx, subjectID)
		if err != nil {
			return err
		}
		out = sub.Timers
		return nil
	})
	return out, err
}

func (e *Engine) replay(ctx context.Context, tx storage.Tx, subjectID itil.ID) (*subject, error) {
	sub := &subject{ID: subjectID}
	lookup := e.lookup(ctx, tx)
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: subjectID}) {
		if err != nil {
			return nil, err
		}
		if err := sub.apply(lookup, &ev); err != nil {
			return nil, err
		}
	}
	return sub, nil
}

// apply folds one journal event into the subject's timers, as they were
// maintained live: a snapshot observed under the revisions it names, or
// thresholds fired. Events of other kinds are skipped.
func (s *subject) apply(lookup revisions, ev *itil.Event) error {
	if ev.Kind != KindSubject {
		return nil
	}
	switch ev.Type {
	case EventObserved:
		var o Observation
		if err := json.Unmarshal(ev.Payload, &o); err != nil {
			return fmt.Errorf("slm: replay %s event %d: %w", s.ID, ev.Seq, err)
		}
		s.Kind = o.Snapshot.Kind
		active := make([]*revision, len(o.Revisions))
		for i, ref := range o.Revisions {
			var err error
			if active[i], err = lookup(ref.Definition, ref.Revision); err != nil {
				return err
			}
		}
		if _, err := s.observe(active, lookup, &o.Snapshot); err != nil {
			return err
		}
	case EventWarning, EventBreached:
		var p Thresholds
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return fmt.Errorf("slm: replay %s event %d: %w", s.ID, ev.Seq, err)
		}
		for _, f := range p.Reached {
			r, err := lookup(f.Definition, f.Revision)
			if err != nil {
				return err
			}
			s.fire(r, f.Timer, Firing{Percent: f.Percent, ReachedAt: f.ReachedAt, FiredAt: f.FiredAt})
		}
	}
	return nil
}

// TimerFold rebuilds timers from the journal event by event, as Replay
// does for one subject, for a reader that follows the whole journal (the
// KPIs of package lifecycle): each timer cycle is reported once, when an
// event decides it. It is not safe for concurrent use.
type TimerFold struct {
	e        *Engine
	subjects map[itil.ID]*subject
	decided  map[itil.ID]bool // the timers reported
}

// NewTimerFold returns a fold that has seen no event.
func (e *Engine) NewTimerFold() *TimerFold {
	return &TimerFold{e: e, subjects: map[itil.ID]*subject{}, decided: map[itil.ID]bool{}}
}

// Decided reports whether the cycle t is decided, and how: breached (its
// goal used up, completed or not: its breach fired, or an observation
// found the goal used up), or met (completed before that). A canceled
// cycle that had not breached is decided neither way, as Compliance
// counts it.
func Decided(t *Timer) (decided, met bool) {
	switch {
	case t.Breached || t.fired(100):
		return true, false
	case t.State == Completed:
		return true, true
	}
	return false, false
}

// Apply folds the journal event ev (events of other kinds are skipped),
// reading definition revisions in tx, and calls decided with each timer
// cycle the event decided (see Decided), once per cycle. Events must
// come in journal order. An error (an event it cannot read, a
// definition's lookup failing) leaves the fold as it was, so that the
// event can be applied again.
func (f *TimerFold) Apply(ctx context.Context, tx storage.Tx, ev *itil.Event, decided func(*Timer)) error {
	if ev.Kind != KindSubject {
		return nil
	}
	// The event is applied to a copy, kept only once it applied whole: a
	// lookup failing half-way leaves the subject as it was.
	sub := &subject{ID: ev.SubjectID}
	if prev := f.subjects[ev.SubjectID]; prev != nil {
		cloneSubject(sub, prev)
	}
	if err := sub.apply(f.e.lookup(ctx, tx), ev); err != nil {
		return err
	}
	f.subjects[ev.SubjectID] = sub
	for _, t := range sub.Timers {
		if ok, _ := Decided(t); ok && !f.decided[t.ID] {
			f.decided[t.ID] = true
			decided(t)
		}
	}
	return nil
}

// Repair replaces a subject's stored timers with those Replay rebuilds,
// and reports whether they differed. It is how timers are recovered after
// a bug or a manual edit, and it is idempotent. A repair that changes the
// timers is journaled (EventRepaired, by actor) like every write of the
// record; replays pass over it, since the timers it stores are the replay's
// own.
func (e *Engine) Repair(ctx context.Context, actor itil.Actor, subjectID itil.ID) (changed bool, err error) {
	if err := actor.Check("actor"); err != nil {
		return false, err
	}
	now, err := e.defs.Clock()
	if err != nil {
		return false, err
	}
	err = e.write(ctx, func(ctx context.Context, tx storage.Tx) error {
		// The subject is read first: an observation committed after this
		// read makes the commit conflict instead of being overwritten by
		// a rebuild that missed it.
		cur, err := subjects.Get(ctx, tx, subjectID)
		if err != nil && !errors.Is(err, itil.ErrNotFound) {
			return err
		}
		rebuilt, rerr := e.replay(ctx, tx, subjectID)
		if rerr != nil {
			return rerr
		}
		if errors.Is(err, itil.ErrNotFound) {
			if len(rebuilt.Timers) == 0 && rebuilt.Last == nil {
				changed = false
				return nil
			}
		} else {
			rebuilt.Version = cur.Version
			a, _ := json.Marshal(cur)
			b, _ := json.Marshal(rebuilt)
			if string(a) == string(b) {
				changed = false
				return nil
			}
		}
		changed = true
		if err := subjects.Put(ctx, tx, rebuilt); err != nil {
			return err
		}
		return pipeline.Journal(ctx, tx, actor, now, KindSubject, rebuilt.ID, rebuilt.Version,
			pipeline.Event{Type: EventRepaired}, itil.Payload{Summary: "timers rebuilt from the journal"})
	})
	return changed, err
}

// checkTime checks a time a caller passes (check.Time).
func checkTime(field string, t time.Time) error {
	var v itil.ValidationError
	check.Time(&v, field, t)
	return v.Err()
}

// timersOf reads a subject's timers within tx.
func timersOf(ctx context.Context, tx storage.Tx, subjectID itil.ID) ([]*Timer, error) {
	sub, err := subjects.Get(ctx, tx, subjectID)
	if errors.Is(err, itil.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return sub.Timers, nil
}
