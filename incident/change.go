package incident

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/itilkit/itil"
)

// Journal event types of incidents.
const (
	EventOpened           = "incident.opened"
	EventUpdated          = "incident.updated"
	EventAssigned         = "incident.assigned"
	EventEscalated        = "incident.escalated"
	EventHeld             = "incident.held"
	EventResumed          = "incident.resumed"
	EventCommented        = "incident.commented"
	EventWorkNoted        = "incident.work_noted"
	EventPriorityOverride = "incident.priority_overridden"
	EventPriorityRestored = "incident.priority_restored"
	EventPromoted         = "incident.promoted_major"
	EventLinked           = "incident.linked"
	EventChildLinked      = "incident.child_linked"
	EventResolved         = "incident.resolved"
	EventClosed           = "incident.closed"
	EventReopened         = "incident.reopened"
	EventCanceled         = "incident.canceled"
)

// Change is the payload of every incident journal event: what happened in
// words, and the fields after it that SLA conditions and reports are
// written against (state, priority, hold reason, assignment), so that a
// reader of the journal can follow an incident's life without loading it.
type Change struct {
	Summary    string        `json:"summary"`
	From       State         `json:"from,omitempty"`
	State      State         `json:"state"`
	Priority   itil.Priority `json:"priority"`
	HoldReason HoldReason    `json:"hold_reason,omitempty"`
	Group      string        `json:"group,omitempty"`
	Assignee   string        `json:"assignee,omitempty"`
	Reason     string        `json:"reason,omitempty"`
}

// describe fills in the incident's fields after the change.
func (c *Change) describe(inc *Incident) {
	c.State, c.Priority, c.HoldReason = inc.State, inc.Priority, inc.HoldReason
	c.Group, c.Assignee = inc.AssignmentGroup, inc.Assignee
}

// appendJSON appends c as JSON, exactly as encoding/json would without HTML
// escaping. Every command journals a Change; encoding it by hand keeps
// reflection off the command path.
func (c Change) appendJSON(b []byte) []byte {
	b = slices.Grow(b, 128+len(c.Summary)+len(c.Reason))
	b = append(b, `{"summary":`...)
	b = appendString(b, c.Summary)
	b = appendOptional(b, `,"from":`, string(c.From))
	b = append(b, `,"state":`...)
	b = appendString(b, string(c.State))
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, int64(c.Priority), 10)
	b = appendOptional(b, `,"hold_reason":`, string(c.HoldReason))
	b = appendOptional(b, `,"group":`, c.Group)
	b = appendOptional(b, `,"assignee":`, c.Assignee)
	b = appendOptional(b, `,"reason":`, c.Reason)
	return append(b, '}')
}

// appendOptional appends an omitempty string field.
func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
