package itil

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Actor is who performed a command: a person, or a system process such as
// monitoring or an automatic sweep. ID is the stable identity in the
// embedding application (user name, e-mail, service account); Name is for
// display only.
type Actor struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// System is the actor of commands the SDK runs by itself (sweeps, cascades).
var System = Actor{ID: "system", Name: "System"}

// Validate adds the actor's problems to v under the given field name: the
// ID is required, and ID and name must be valid UTF-8 without NUL bytes
// (the journal keeps them as text) of at most 256 bytes.
func (a Actor) Validate(field string, v *ValidationError) {
	switch {
	case a.ID == "":
		v.Add(field+".id", "is required")
	case !actorText(a.ID):
		v.Add(field+".id", "must be valid UTF-8 without NUL bytes, at most 256 bytes")
	}
	if !actorText(a.Name) {
		v.Add(field+".name", "must be valid UTF-8 without NUL bytes, at most 256 bytes")
	}
}

// Check returns the actor's problems as a *ValidationError under the
// given field name, or nil; a valid actor costs no allocation.
func (a Actor) Check(field string) error {
	if a.ID != "" && actorText(a.ID) && actorText(a.Name) {
		return nil
	}
	var v ValidationError
	a.Validate(field, &v)
	return v.Err()
}

func actorText(s string) bool {
	return len(s) <= maxActorText && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

const maxActorText = 256

// Clock is where every service reads the time, so tests, replays and
// simulations can control it.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock reads the machine's clock.
func SystemClock() Clock { return ClockFunc(time.Now) }

// Event is one entry of the append-only journal: who did what to which
// subject, when, at which version of the subject. Commands append exactly
// one event per changed subject in the same transaction as the change.
//
// Kind, SubjectID and SubjectVersion always name the record written. Refs
// lists the other subjects the event concerns besides that record (say,
// the CIs at both ends of a relationship whose record was written), so
// that reading the journal by any of them finds the event too.
type Event struct {
	// Seq is the event's position in its tenant's journal, assigned by the
	// storage backend at commit; readers use it as their cursor.
	Seq            int64           `json:"seq"`
	Tenant         string          `json:"tenant"`
	Kind           string          `json:"kind"`
	SubjectID      ID              `json:"subject_id"`
	SubjectVersion int64           `json:"subject_version"`
	Actor          Actor           `json:"actor"`
	Time           time.Time       `json:"time"`
	Type           string          `json:"type"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	// Refs are the other subjects the event concerns besides the record
	// it names (the CIs a relationship links, the incident a note is
	// on). A journal query by subject matches them too.
	// At most 64, none nil, none repeated, none equal to SubjectID; the
	// journal keeps their order.
	Refs []ID `json:"refs,omitempty"`
}
