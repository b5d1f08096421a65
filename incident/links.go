package incident

import (
	"context"
	"fmt"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Command names of an incident's links, as an Authorizer receives them.
const (
	CommandSetProblem  = "set_problem"
	CommandSetChange   = "set_change"
	CommandSetCausedBy = "set_caused_by"
	CommandRelease     = "release"
)

// Journal event types of an incident's links: to its problem, to the
// change it awaits, to the change that caused it.
const (
	EventProblemLinked   = "incident.problem_linked"
	EventProblemUnlinked = "incident.problem_unlinked"
	EventChangeLinked    = "incident.change_linked"
	EventChangeUnlinked  = "incident.change_unlinked"
	EventCauseLinked     = "incident.cause_linked"
	EventCauseUnlinked   = "incident.cause_unlinked"
)

// SetProblem changes the problem the incident id belongs to from the
// problem from to the problem to: from NilID links it, to NilID unlinks
// it, both set move it (a duplicate problem's incidents moving to the
// surviving one). from must be the incident's problem now, so that of two
// concurrent links of one incident to two problems one fails: an incident
// belongs to at most one problem. Unlinking an incident On Hold awaiting
// its problem is refused (resume it, or hold it for another reason,
// first); a Canceled incident is not linked (but it moves with the
// duplicate problem it belongs to).
//
// SetProblem is the incident's half of a link and knows nothing of
// problems beyond the ID: problem.Service's LinkIncident, UnlinkIncident
// and MarkDuplicate call it inside their own transaction (through In) and
// write the problem's half. Call those rather than this.
func (s *Service) SetProblem(ctx context.Context, actor itil.Actor, id, from, to itil.ID) (*Incident, error) {
	return s.relink(ctx, actor, id, from, to, problemLink)
}

// SetChange changes the change the incident awaits (Incident.ChangeID)
// from the change from to the change to, by the rules of SetProblem:
// from must be the incident's change now, an incident On Hold awaiting
// its change is not unlinked, and a Canceled incident is not linked.
//
// It is the incident's half of change.Service's LinkIncident and
// UnlinkIncident, which call it inside their own transaction (through In)
// and write the change's half. Call those rather than this.
func (s *Service) SetChange(ctx context.Context, actor itil.Actor, id, from, to itil.ID) (*Incident, error) {
	return s.relink(ctx, actor, id, from, to, changeLink)
}

// SetCausedBy changes the change that caused the incident
// (Incident.CausedBy) from the change from to the change to, by the rules
// of SetProblem. It is the incident's half of
// change.Service.LinkCausedIncident: call that rather than this.
func (s *Service) SetCausedBy(ctx context.Context, actor itil.Actor, id, from, to itil.ID) (*Incident, error) {
	return s.relink(ctx, actor, id, from, to, causeLink)
}

// link describes one of an incident's links to another process's record:
// the field it is kept in, the noun of that record, the hold reason
// awaiting it (none for a cause), and its command and events.
type link struct {
	field, noun      string
	awaiting         HoldReason
	command          string
	linked, unlinked string
	of               func(*Incident) *itil.ID
	linkedAs         string
	another          string // why a link to another is refused
}

var (
	problemLink = &link{field: "problem_id", noun: "problem", awaiting: AwaitingProblem, command: CommandSetProblem,
		linked: EventProblemLinked, unlinked: EventProblemUnlinked,
		of: func(i *Incident) *itil.ID { return &i.ProblemID }, linkedAs: "linked to problem ",
		another: "belongs to another problem; an incident belongs to at most one"}
	changeLink = &link{field: "change_id", noun: "change", awaiting: AwaitingChange, command: CommandSetChange,
		linked: EventChangeLinked, unlinked: EventChangeUnlinked,
		of: func(i *Incident) *itil.ID { return &i.ChangeID }, linkedAs: "awaits change ",
		another: "awaits another change; an incident awaits at most one"}
	causeLink = &link{field: "caused_by", noun: "causing change", command: CommandSetCausedBy,
		linked: EventCauseLinked, unlinked: EventCauseUnlinked,
		of: func(i *Incident) *itil.ID { return &i.CausedBy }, linkedAs: "caused by change ",
		another: "was caused by another change; an incident has at most one cause"}
)

// relink moves the incident id's link l from from to to.
func (s *Service) relink(ctx context.Context, actor itil.Actor, id, from, to itil.ID, l *link) (*Incident, error) {
	return s.run.Run(ctx, actor, id, l.command, func(c *cmd, inc *Incident) (event, error) {
		cur := l.of(inc)
		if from == to {
			return event{}, itil.Invalid(l.field, "the new "+l.noun+" is the one the incident already has")
		}
		if *cur != from {
			if *cur == itil.NilID {
				return event{}, itil.Invalid(l.field, fmt.Sprintf("incident %s is linked to no %s", inc.Number, l.noun))
			}
			return event{}, itil.Invalid(l.field, fmt.Sprintf("incident %s %s", inc.Number, l.another))
		}
		if to == itil.NilID && l.awaiting != "" && inc.State == StateOnHold && inc.HoldReason == l.awaiting {
			return event{}, fmt.Errorf("%w: incident %s is on hold awaiting its %s; resume it or hold it for another reason before unlinking it",
				itil.ErrInvalidTransition, inc.Number, l.noun)
		}
		if from == itil.NilID && inc.State == StateCanceled {
			return event{}, fmt.Errorf("%w: cannot link canceled incident %s to a %s", itil.ErrInvalidTransition, inc.Number, l.noun)
		}
		*cur = to
		switch {
		case from == itil.NilID:
			return event{Type: l.linked, Summary: l.linkedAs + to.String(), Refs: []itil.ID{to}}, nil
		case to == itil.NilID:
			return event{Type: l.unlinked, Summary: "unlinked from " + l.noun + " " + from.String(), Refs: []itil.ID{from}}, nil
		}
		return event{Type: l.linked, Summary: "moved from " + l.noun + " " + from.String() + " to " + to.String(), Refs: []itil.ID{to, from}}, nil
	})
}

// KnownErrorCode is the resolution code of an incident resolved by a
// published known error (among DefaultResolutionCodes). Resolve refuses
// it: ResolveKnownError sets it, with the known error named.
const KnownErrorCode = "known_error"

// ResolveKnownError resolves the incident id with KnownErrorCode and
// notes, naming the known error knownErrorID (Incident.KnownErrorID, and
// the resolution event's Refs); its open children are resolved with the
// same resolution, as by Resolve. The Service's resolution codes must
// include KnownErrorCode.
//
// ResolveKnownError is the incident's half and knows nothing of known
// errors beyond the ID: problem.Service.ResolveWithKnownError calls it
// inside its own transaction (through In), after checking that the known
// error is published, and links the incident to the known error's problem
// and counts it there. Call that rather than this.
func (s *Service) ResolveKnownError(ctx context.Context, actor itil.Actor, id, knownErrorID itil.ID, notes string) (*Incident, error) {
	if knownErrorID == itil.NilID {
		return nil, itil.Invalid("known_error_id", "is required")
	}
	return s.resolveCmd(ctx, actor, id, KnownErrorCode, notes, knownErrorID)
}

// Release tells the incident id, with a work note, that the problem or
// change it awaited has ended, and resumes it (In Progress) when it is On
// Hold for reason (AwaitingProblem or AwaitingChange): nothing more is
// coming, or the fix is in and the agent checks it. An incident that is
// not open (resolved, closed, canceled) is left as it is.
//
// It is the incident's half of the end of a problem or a change, which
// call it inside their own transaction (through In). Call those rather
// than this.
func (s *Service) Release(ctx context.Context, actor itil.Actor, id itil.ID, reason HoldReason, note string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandRelease, func(c *cmd, inc *Incident) (event, error) {
		var v itil.ValidationError
		check.Text(&v, "note", note, true, check.Long)
		if reason != AwaitingProblem && reason != AwaitingChange {
			v.Add("reason", "must be awaiting_problem or awaiting_change")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		if !inc.State.Open() {
			return event{}, nil // unchanged: nothing is written
		}
		if _, err := c.AddNote(inc.ID, itil.WorkNote, note, EventWorkNoted, "added a work note"); err != nil {
			return event{}, err
		}
		if inc.State != StateOnHold || inc.HoldReason != reason {
			return event{}, nil
		}
		if err := fire(inc, evResume, nil); err != nil {
			return event{}, err
		}
		inc.respond(c.Actor, c.Now)
		return event{Type: EventResumed, Summary: "resumed: no longer " + string(reason)}, nil
	})
}
