package itil

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Transition is one move of a lifecycle, declared as data: the event that
// causes it, the states it may start from and the state it leads to.
// Every process declares its lifecycle as a list of transitions and
// returns a copy from its Lifecycle function; diagrams are drawn from the
// same list.
type Transition[S ~string] struct {
	Event string `json:"event"`
	From  []S    `json:"from"`
	To    S      `json:"to"`
}

// CloneTransitions returns a deep copy of ts, as Lifecycle functions hand
// their table out.
func CloneTransitions[S ~string](ts []Transition[S]) []Transition[S] {
	out := slices.Clone(ts)
	for i := range out {
		out[i].From = slices.Clone(out[i].From)
	}
	return out
}

// Authorizer decides whether actor may run command on subject, a copy of
// the entity as loaded (for a create: as it would be created). A non-nil
// error rejects the command, which then returns an error wrapping
// ErrForbidden. Every process has an option installing one; each process
// exports its command names as constants (incident.CommandResolve, ...).
// The subject is loaded before the check, so an unknown ID gives
// ErrNotFound, not ErrForbidden. It runs inside the command's
// transaction: a command it runs in turn must be given ctx (see
// storage.Writing), or on SQLite it waits for the outer command's lock.
type Authorizer[T any] func(ctx context.Context, actor Actor, command string, subject *T) error

// Snapshot is a subject as hooks see it after a command changed it: a
// process hands one to every hook inside the command's transaction. It is
// how service level management times any process (incidents, problems,
// changes, requests) without importing it. Fields carries process
// attributes by name, as text, for conditions to test. Processes with
// SLA timers fill these standard fields, which slm.StandardDefinition
// times: "phase" ("running" while work goes on, "paused" while the clock
// should hold, "done" once resolved, "canceled"), "responded" ("true" once
// someone first responded), "reopen_count" and "opened_at" (RFC 3339).
type Snapshot struct {
	Kind     string            `json:"kind"`
	ID       ID                `json:"id"`
	Version  int64             `json:"version,omitempty"`
	State    string            `json:"state"`
	Priority Priority          `json:"priority,omitempty"`
	Service  string            `json:"service,omitempty"`
	Customer string            `json:"customer,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Time     time.Time         `json:"time"`
}

// FieldChange is the old and new value of one field an event changed,
// each as the JSON the entity stores it as. Field is the field's JSON
// name.
type FieldChange struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from"`
	To    json.RawMessage `json:"to"`
}

// Payload is the payload of every event a process command journals for
// an entity it wrote: what happened in words, the entity as created (on
// its creation) or the old and new value of each field that changed (on
// every later write), whether it was deleted, and the reason the actor
// gave, if any. Applying the
// Fields of an entity's later events to Created, in order, reproduces the
// entity's stored fields at each version, except those a process does not
// journal per write (its version and update time).
type Payload struct {
	Summary string          `json:"summary"`
	Created json.RawMessage `json:"created,omitempty"`
	Fields  []FieldChange   `json:"fields,omitempty"`
	// Deleted is set on the event of an entity's deletion.
	Deleted bool   `json:"deleted,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// HistoryEntry is one journal event of an entity's history, as every
// process's History returns it: the events of the entity itself and the
// events of other records that concern it (a note added to it, a
// relationship that touched it, the problem that resolved it), oldest
// first.
type HistoryEntry struct {
	Seq int64 `json:"seq"`
	// Kind, SubjectID and Version name the record the event was written
	// for: the entity itself, or the other record (see Refs).
	Kind      string    `json:"kind"`
	SubjectID ID        `json:"subject_id"`
	Version   int64     `json:"version"`
	Time      time.Time `json:"time"`
	Actor     Actor     `json:"actor"`
	// Type is one of the process's Event constants.
	Type string `json:"type"`
	Payload
	// Refs are the other subjects the event concerns.
	Refs []ID `json:"refs,omitempty"`
}

// Visibility says who may read a note.
type Visibility string

// Note visibilities.
const (
	// Comment: visible to the caller or customer.
	Comment Visibility = "comment"
	// WorkNote: internal to the people working on the subject.
	WorkNote Visibility = "work_note"
)

// KindNote is the record and journal kind of notes, whichever process
// they belong to (a feed consumer filters on it).
const KindNote = "note"

// Note is a comment or a work note on an entity (an incident, a problem,
// a change). Notes are activity entries stored apart from the entity they
// are about, so that an entity's size, and the cost of every command on
// it, stay the same however many notes it collects.
type Note struct {
	ID          ID         `json:"id"`
	Version     int64      `json:"version"`
	SubjectKind string     `json:"subject_kind"`
	SubjectID   ID         `json:"subject_id"`
	Visibility  Visibility `json:"visibility"`
	Author      Actor      `json:"author"`
	At          time.Time  `json:"at"`
	Text        string     `json:"text"`
}
