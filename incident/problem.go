package incident

import (
	"context"
	"fmt"

	"github.com/itilkit/itil"
)

// CommandSetProblem is the command name an Authorizer receives for
// SetProblem.
const CommandSetProblem = "set_problem"

// Journal event types of an incident's problem link.
const (
	EventProblemLinked   = "incident.problem_linked"
	EventProblemUnlinked = "incident.problem_unlinked"
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
	return s.run.Run(ctx, actor, id, CommandSetProblem, func(c *cmd, inc *Incident) (event, error) {
		if from == to {
			return event{}, itil.Invalid("problem_id", "the new problem is the one the incident already has")
		}
		if inc.ProblemID != from {
			if inc.ProblemID == itil.NilID {
				return event{}, itil.Invalid("problem_id", fmt.Sprintf("incident %s is linked to no problem", inc.Number))
			}
			return event{}, itil.Invalid("problem_id", fmt.Sprintf("incident %s belongs to another problem; an incident belongs to at most one", inc.Number))
		}
		if to == itil.NilID && inc.State == StateOnHold && inc.HoldReason == AwaitingProblem {
			return event{}, fmt.Errorf("%w: incident %s is on hold awaiting its problem; resume it or hold it for another reason before unlinking it",
				itil.ErrInvalidTransition, inc.Number)
		}
		if from == itil.NilID && inc.State == StateCanceled {
			return event{}, fmt.Errorf("%w: cannot link canceled incident %s to a problem", itil.ErrInvalidTransition, inc.Number)
		}
		inc.ProblemID = to
		switch {
		case from == itil.NilID:
			return event{Type: EventProblemLinked, Summary: "linked to problem " + to.String(), Refs: []itil.ID{to}}, nil
		case to == itil.NilID:
			return event{Type: EventProblemUnlinked, Summary: "unlinked from problem " + from.String(), Refs: []itil.ID{from}}, nil
		}
		return event{Type: EventProblemLinked, Summary: "moved from problem " + from.String() + " to " + to.String(), Refs: []itil.ID{to, from}}, nil
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
