package slm

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// Record kinds and journal event types of the package.
const (
	KindDefinition = "slm.definition"
	KindRevision   = "slm.definition_revision"
	KindSubject    = "slm.subject"

	EventDefined  = "slm.defined"
	EventObserved = "slm.observed"
	EventWarning  = "slm.warning"
	EventBreached = "slm.breached"
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
// definitions, maintains timers from the snapshots processes hand it, and
// monitors thresholds. It is safe for concurrent use.
type Engine struct {
	store storage.Store
	clock itil.Clock

	mu   sync.RWMutex
	revs map[revKey]*revision // compiled revisions; revisions never change
}

type revKey struct {
	id  itil.ID
	rev int
}

// EngineOption configures an Engine.
type EngineOption func(*Engine, *itil.ValidationError)

// WithClock sets where the Engine reads the time for definitions and the
// monitor (default: the system clock). Snapshots carry their own time.
func WithClock(c itil.Clock) EngineOption {
	return func(e *Engine, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		e.clock = c
	}
}

// NewEngine returns an Engine on store.
func NewEngine(store storage.Store, opts ...EngineOption) (*Engine, error) {
	e := &Engine{store: store, clock: itil.SystemClock(), revs: map[revKey]*revision{}}
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	for i, o := range opts {
		if o == nil {
			v.Add("options["+strconv.Itoa(i)+"]", "must not be nil")
			continue
		}
		o(e, &v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

// Store returns the store the engine works on.
func (e *Engine) Store() storage.Store { return e.store }

var alwaysOpen = calendar.MustNew(calendar.AlwaysOpen())

// compile turns a stored revision into its compiled form, once.
func (e *Engine) compile(d *Definition) (*revision, error) {
	k := revKey{d.ID, d.Revision}
	e.mu.RLock()
	r := e.revs[k]
	e.mu.RUnlock()
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
	e.mu.Lock()
	if old := e.revs[k]; old != nil {
		r = old
	} else {
		e.revs[k] = r
	}
	e.mu.Unlock()
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
	out := cloneDefinition(&d)
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out.Revision = 1
		if out.ID == itil.NilID {
			if out.Version != 0 {
				return itil.Invalid("version", "must be 0 for a new definition")
			}
			out.ID = itil.NewID()
		} else {
			cur, err := definitions.Get(ctx, tx, out.ID)
			switch {
			case errors.Is(err, itil.ErrNotFound):
				if out.Version != 0 {
					return err
				}
			case err != nil:
				return err
			default:
				if cur.SubjectKind != out.SubjectKind {
					return itil.Invalid("subject_kind", "cannot change from "+cur.SubjectKind)
				}
				out.Revision = cur.Revision + 1
			}
		}
		out.EffectiveFrom = e.clock.Now().UTC()
		out.DefinedBy = actor
		rev := cloneDefinition(out)
		rev.Version = 0
		if err := revisionRecords.Put(ctx, tx, rev); err != nil {
			return err
		}
		if err := definitions.Put(ctx, tx, out); err != nil {
			return err
		}
		return tx.Append(ctx, itil.Event{
			Kind: KindDefinition, SubjectID: out.ID, SubjectVersion: out.Version,
			Actor: actor, Time: out.EffectiveFrom, Type: EventDefined,
			Payload: json.RawMessage(append(strconv.AppendQuote([]byte(`{"summary":`), fmt.Sprintf("defined %s revision %d", out.Name, out.Revision)), '}')),
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Definition returns the current revision of a definition, or an error
// wrapping itil.ErrNotFound.
func (e *Engine) Definition(ctx context.Context, id itil.ID) (*Definition, error) {
	var out *Definition
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		d, err := definitions.Get(ctx, tx, id)
		out = d
		return err
	})
	return out, err
}

// Revision returns one revision of a definition, or an error wrapping
// itil.ErrNotFound.
func (e *Engine) Revision(ctx context.Context, id itil.ID, rev int) (*Definition, error) {
	var out *Definition
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		d, err := revisionRecords.Get(ctx, tx, revisionID(id, rev))
		out = d
		return err
	})
	return out, err
}

// Definitions lists the current revisions of the definitions for a
// subject kind, by name.
func (e *Engine) Definitions(ctx context.Context, kind string) ([]*Definition, error) {
	var out []*Definition
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		for d, err := range definitions.Query(ctx, tx, storage.Query{Terms: []string{storage.Term("kind", kind)}}) {
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
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
		e.mu.RLock()
		r := e.revs[revKey{id, rev}]
		e.mu.RUnlock()
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

// observation is the payload of an EventObserved event: the snapshot and
// what it changed.
type observation struct {
	Snapshot Snapshot `json:"snapshot"`
	// Revisions are the definition revisions the snapshot was applied
	// under, so that a replay uses exactly those.
	Revisions []revisionRef `json:"revisions"`
	Changes   []string      `json:"changes,omitempty"`
}

type revisionRef struct {
	Definition itil.ID `json:"definition"`
	Revision   int     `json:"revision"`
}

// Observe applies a subject snapshot to the subject's timers, inside the
// caller's transaction, so that timers change atomically with the subject:
// timers start, pause, resume, stop, cancel, reset and retarget as the
// definitions' conditions say. The snapshot is journaled (as
// EventObserved, with what it changed) so that Replay can rebuild the
// timers. It returns the subject's timers (copies).
//
// A subject of a kind no definition applies to is not recorded. A snapshot
// without kind, ID or time gives a *itil.ValidationError.
func (e *Engine) Observe(ctx context.Context, tx storage.Tx, actor itil.Actor, snap Snapshot) ([]*Timer, error) {
	var v itil.ValidationError
	snap.validate(&v)
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	snap.Time = snap.Time.UTC()
	active, err := e.active(ctx, tx, snap.Kind, snap.Time)
	if err != nil {
		return nil, err
	}
	sub, err := subjects.Get(ctx, tx, snap.ID)
	switch {
	case errors.Is(err, itil.ErrNotFound):
		if len(active) == 0 {
			return nil, nil
		}
		sub = &subject{ID: snap.ID, Kind: snap.Kind}
	case err != nil:
		return nil, err
	case sub.Kind != snap.Kind:
		return nil, itil.Invalid("snapshot.kind", "subject "+snap.ID.String()+" is a "+sub.Kind)
	case sub.Last != nil && snap.Time.Before(sub.Last.Time):
		return nil, itil.Invalid("snapshot.time", "is before the subject's previous snapshot ("+
			sub.Last.Time.Format(time.RFC3339Nano)+"): timers only move forward")
	}
	changes, err := sub.observe(active, e.lookup(ctx, tx), &snap)
	if err != nil {
		return nil, err
	}
	if err := subjects.Put(ctx, tx, sub); err != nil {
		return nil, err
	}
	refs := make([]revisionRef, len(active))
	for i, r := range active {
		refs[i] = revisionRef{r.def.ID, r.def.Revision}
	}
	payload, err := json.Marshal(observation{Snapshot: snap, Revisions: refs, Changes: changes})
	if err != nil {
		return nil, err
	}
	if err := tx.Append(ctx, itil.Event{
		Kind: snap.Kind, SubjectID: snap.ID, SubjectVersion: snap.Version,
		Actor: actor, Time: snap.Time, Type: EventObserved, Payload: payload,
	}); err != nil {
		return nil, err
	}
	out := make([]*Timer, len(sub.Timers))
	for i, t := range sub.Timers {
		out[i] = cloneTimer(t)
	}
	return out, nil
}

// Timers returns every timer of a subject (every cycle of every
// definition), in the order they started; none for an unknown subject.
func (e *Engine) Timers(ctx context.Context, subjectID itil.ID) ([]*Timer, error) {
	var out []*Timer
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = e.TimersIn(ctx, tx, subjectID)
		return err
	})
	return out, err
}

// TimersIn is Timers inside the caller's transaction.
func (e *Engine) TimersIn(ctx context.Context, tx storage.Tx, subjectID itil.ID) ([]*Timer, error) {
	sub, err := subjects.Get(ctx, tx, subjectID)
	if errors.Is(err, itil.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return sub.Timers, nil
}

// Status is a timer with its progress at an instant.
type Status struct {
	Timer    *Timer
	Progress Progress
}

// Status returns the subject's timers with their progress at now.
func (e *Engine) Status(ctx context.Context, subjectID itil.ID, now time.Time) ([]Status, error) {
	var out []Status
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		ts, err := e.TimersIn(ctx, tx, subjectID)
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
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
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
		switch ev.Type {
		case EventObserved:
			var o observation
			if err := json.Unmarshal(ev.Payload, &o); err != nil {
				return nil, fmt.Errorf("slm: replay %s event %d: %w", subjectID, ev.Seq, err)
			}
			sub.Kind = o.Snapshot.Kind
			active := make([]*revision, len(o.Revisions))
			for i, ref := range o.Revisions {
				if active[i], err = lookup(ref.Definition, ref.Revision); err != nil {
					return nil, err
				}
			}
			if _, err := sub.observe(active, lookup, &o.Snapshot); err != nil {
				return nil, err
			}
		case EventWarning, EventBreached:
			var f firingEvent
			if err := json.Unmarshal(ev.Payload, &f); err != nil {
				return nil, fmt.Errorf("slm: replay %s event %d: %w", subjectID, ev.Seq, err)
			}
			r, err := lookup(f.Definition, f.Revision)
			if err != nil {
				return nil, err
			}
			sub.fire(r, f.Timer, Firing{Percent: f.Percent, ReachedAt: f.ReachedAt, FiredAt: f.FiredAt})
		}
	}
	return sub, nil
}

// Repair replaces a subject's stored timers with those Replay rebuilds,
// and reports whether they differed. It is how timers are recovered after
// a bug or a manual edit, and it is idempotent.
func (e *Engine) Repair(ctx context.Context, subjectID itil.ID) (changed bool, err error) {
	err = e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
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
			changed = true
			return subjects.Put(ctx, tx, rebuilt)
		}
		rebuilt.Version = cur.Version
		a, _ := json.Marshal(cur)
		b, _ := json.Marshal(rebuilt)
		changed = string(a) != string(b)
		if !changed {
			return nil
		}
		return subjects.Put(ctx, tx, rebuilt)
	})
	return changed, err
}
