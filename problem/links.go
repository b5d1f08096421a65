package problem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/xref"
	"github.com/itilkit/itil/storage"
)

// Command names of the incident links, as an Authorizer receives them.
// The incident commands they run (incident.Service.SetProblem, Comment,
// WorkNote, Resolve, Release) are authorized by the incident Service's own
// Authorizer too, for the same actor.
const (
	CommandLinkIncident          = "link_incident"
	CommandUnlinkIncident        = "unlink_incident"
	CommandCommunicateWorkaround = "communicate_workaround"
	CommandCommunicateFix        = "communicate_fix"
)

// Journal event types of the incident links. EventIncidentLinked and
// EventIncidentUnlinked are the problem's half of a link (the incident's
// half is incident.EventProblemLinked or EventProblemUnlinked), with the
// incident in Refs. The communications are journaled as work notes on the
// problem that name the incidents told.
const (
	EventIncidentLinked         = "problem.incident_linked"
	EventIncidentUnlinked       = "problem.incident_unlinked"
	EventWorkaroundCommunicated = "problem.workaround_communicated"
	EventFixCommunicated        = "problem.fix_communicated"
)

// ResolvedByProblem is the incident resolution code Resolve gives the
// incidents it resolves; the incident Service must accept it (it is among
// incident.DefaultResolutionCodes).
const ResolvedByProblem = "resolved_by_problem"

// ErrNoIncidents is returned by a command that needs the incident Service
// (to link, to communicate, or to cascade to linked incidents) from a
// Service made without WithIncidents.
var ErrNoIncidents = errors.New("problem: no incident service; make the Service with WithIncidents")

type linkConfig struct {
	incidents  *incident.Service
	resolveAll bool
}

// WithIncidents gives the Service the incident Service on the same store,
// which links, communications and resolution cascades run through: inside
// the problem command's transaction (incident.Service.In), so that a
// problem command and everything it does to incidents commit together or
// not at all.
//
// The incident Service's resolution codes must include ResolvedByProblem
// and incident.KnownErrorCode (both are defaults): New refuses it
// otherwise, naming "incidents".
//
// The link lives on the incident (incident.Incident.ProblemID), so an
// incident belongs to at most one problem even when two instances link it
// at once: the incident's version-checked write makes one of them
// conflict. The problem counts its incidents (Problem.IncidentCount) and
// is written with every link, so that a link and a resolution of the
// problem never interleave.
func WithIncidents(svc *incident.Service) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if svc == nil {
			v.Add("incidents", "must not be nil")
		} else {
			// The cascade and ResolveWithKnownError resolve incidents with
			// these codes: a Service that refuses them would fail only
			// when a problem ends.
			for _, code := range []string{ResolvedByProblem, incident.KnownErrorCode} {
				if !slices.Contains(svc.ResolutionCodes(), code) {
					v.Add("incidents", "its resolution codes must include "+code)
				}
			}
		}
		cfg.links.incidents = svc
	}}
}

// WithResolveAllLinked makes Resolve resolve every open linked incident
// with the fix, not only those On Hold awaiting the problem.
func WithResolveAllLinked() Option {
	return Option{func(cfg *config, _ *itil.ValidationError) { cfg.links.resolveAll = true }}
}

// linkable reports whether incidents may be linked to a problem in state
// s: while it is worked on. An incident recurring after the fix means the
// fix did not hold: Reanalyze the problem first.
func linkable(s State) bool { return !s.Final() && s != StateResolved }

// incidentsIn returns the incident Service bound to the command's
// transaction.
func (s *Service) incidentsIn(c *cmd) (*incident.Service, error) {
	if s.cfg.links.incidents == nil {
		return nil, ErrNoIncidents
	}
	return s.cfg.links.incidents.In(c.Tx), nil
}

// LinkIncident links the incident incidentID to the problem problemID.
// An incident belongs to at most one problem: one linked to another
// problem is refused (unlink it there first), and so is a canceled one.
// The problem must be New, in Assess, Root Cause Analysis or Fix in
// Progress. Both records are written and journaled, each naming the other
// in Refs; the problem's IncidentCount rises. An unknown incident (or one
// of another tenant) gives an error wrapping itil.ErrNotFound that names
// incident_id.
func (s *Service) LinkIncident(ctx context.Context, actor itil.Actor, problemID, incidentID itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, problemID, CommandLinkIncident, func(c *cmd, p *Problem) (event, error) {
		svc, err := s.incidentsIn(c)
		if err != nil {
			return event{}, err
		}
		if incidentID == itil.NilID {
			return event{}, itil.Invalid("incident_id", "is required")
		}
		if !linkable(p.State) {
			return event{}, fmt.Errorf("%w: cannot link an incident to problem %s while it is %s", itil.ErrInvalidTransition, p.Number, p.State)
		}
		inc, err := svc.SetProblem(c.Ctx, c.Actor, incidentID, itil.NilID, p.ID)
		if err != nil {
			return event{}, check.Rename(err, "problem_id", "incident_id")
		}
		p.IncidentCount++
		return event{Type: EventIncidentLinked, Summary: "linked incident " + inc.Number, Refs: []itil.ID{inc.ID}}, nil
	})
}

// UnlinkIncident removes the incident incidentID from the problem
// problemID, which must not be final. An incident On Hold awaiting the
// problem is not unlinked: resume it, or hold it for another reason,
// first. Both records are written and journaled; the problem's
// IncidentCount falls.
func (s *Service) UnlinkIncident(ctx context.Context, actor itil.Actor, problemID, incidentID itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, problemID, CommandUnlinkIncident, func(c *cmd, p *Problem) (event, error) {
		svc, err := s.incidentsIn(c)
		if err != nil {
			return event{}, err
		}
		if incidentID == itil.NilID {
			return event{}, itil.Invalid("incident_id", "is required")
		}
		if err := requireActive(p, "unlink an incident from"); err != nil {
			return event{}, err
		}
		inc, err := svc.SetProblem(c.Ctx, c.Actor, incidentID, p.ID, itil.NilID)
		if err != nil {
			return event{}, check.Rename(err, "problem_id", "incident_id")
		}
		p.IncidentCount--
		return event{Type: EventIncidentUnlinked, Summary: "unlinked incident " + inc.Number, Refs: []itil.ID{inc.ID}}, nil
	})
}

// Incidents returns the incidents that belong to the problem id, ordered
// by opening time (none without WithIncidents).
func (s *Service) Incidents(ctx context.Context, id itil.ID) ([]*incident.Incident, error) {
	if s.cfg.links.incidents == nil || id == itil.NilID {
		return nil, nil
	}
	var out []*incident.Incident
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = collect(ctx, s.cfg.links.incidents.In(tx), id)
		return err
	})
	return out, err
}

func collect(ctx context.Context, svc *incident.Service, problemID itil.ID) ([]*incident.Incident, error) {
	var out []*incident.Incident
	for inc, err := range svc.List(ctx, incident.Filter{ProblemID: problemID}) {
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// linked returns the problem's incidents, read in the command's
// transaction, and the incident Service bound to it. The incidents are
// found by the link they carry, not by the problem's count: a Service made
// without WithIncidents is refused only when the count says it has some.
func (s *Service) linked(c *cmd, p *Problem) ([]*incident.Incident, *incident.Service, error) {
	if p.IncidentCount == 0 && s.cfg.links.incidents == nil {
		return nil, nil, nil
	}
	svc, err := s.incidentsIn(c)
	if err != nil {
		return nil, nil, err
	}
	incs, err := collect(c.Ctx, svc, p.ID)
	return incs, svc, err
}

// fresh returns inc as it is now in the command's transaction: a child
// incident may have been changed by its parent's cascade since it was
// listed.
func fresh(c *cmd, svc *incident.Service, inc *incident.Incident) (*incident.Incident, error) {
	if inc.ParentID == itil.NilID {
		return inc, nil
	}
	return svc.Get(c.Ctx, inc.ID)
}

// told reports whether an incident is still told about its problem: not
// resolved, closed or canceled.
func told(inc *incident.Incident) bool { return inc.State.Open() }

// CommunicateWorkaround adds the problem's workaround as a comment to every
// linked incident that is not resolved, closed or canceled, in one
// transaction with a work note on the problem naming them, and returns how
// many were told. The problem must not be final and must have a
// workaround.
func (s *Service) CommunicateWorkaround(ctx context.Context, actor itil.Actor, id itil.ID) (int, error) {
	return s.communicate(ctx, actor, id, CommandCommunicateWorkaround, "workaround",
		func(p *Problem) string { return p.Workaround }, EventWorkaroundCommunicated)
}

// CommunicateFix adds the problem's fix notes as a comment to every linked
// incident that is not resolved, closed or canceled, like
// CommunicateWorkaround. The problem must not be final and must have fix
// notes.
func (s *Service) CommunicateFix(ctx context.Context, actor itil.Actor, id itil.ID) (int, error) {
	return s.communicate(ctx, actor, id, CommandCommunicateFix, "fix_notes",
		func(p *Problem) string { return p.FixNotes }, EventFixCommunicated)
}

func (s *Service) communicate(ctx context.Context, actor itil.Actor, id itil.ID, command, field string, text func(*Problem) string, typ string) (int, error) {
	var n int
	_, err := s.run.Run(ctx, actor, id, command, func(c *cmd, p *Problem) (event, error) {
		n = 0
		if err := requireActive(p, "communicate from"); err != nil {
			return event{}, err
		}
		if _, err := s.incidentsIn(c); err != nil {
			return event{}, err
		}
		what := strings.ReplaceAll(field, "_", " ")
		msg := text(p)
		if msg == "" {
			return event{}, itil.Invalid(field, "is empty: set it with Update first")
		}
		incs, svc, err := s.linked(c, p)
		if err != nil {
			return event{}, err
		}
		var numbers []string
		for _, inc := range incs {
			if !told(inc) {
				continue
			}
			if _, err := svc.Comment(c.Ctx, c.Actor, inc.ID, check.Cut("Problem "+p.Number+" "+what+": "+msg, check.Long)); err != nil {
				return event{}, fmt.Errorf("incident %s: %w", inc.Number, err)
			}
			numbers = append(numbers, inc.Number)
		}
		if n = len(numbers); n > 0 {
			note := what + " communicated to " + strconv.Itoa(n) + " incidents: " + strings.Join(numbers, ", ")
			if _, err := c.AddNote(p.ID, itil.WorkNote, check.Cut(note, check.Long), typ, what+" communicated"); err != nil {
				return event{}, err
			}
		}
		return event{}, nil // the problem is unchanged: not written
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// resolveLinked is Resolve's cascade (see settle). The problem's event
// does not list the incidents (an event names at most storage.MaxRefs
// subjects): each incident's own events do, and its ProblemID names the
// problem.
func (s *Service) resolveLinked(c *cmd, p *Problem) error {
	return s.endLinked(c, p, "")
}

// noteLinked is AcceptRisk's cascade (see settle).
func (s *Service) noteLinked(c *cmd, p *Problem) error { return s.endLinked(c, p, "") }

// cancelLinked is Cancel's cascade (see settle): the incidents stay linked
// to the canceled problem, as in ServiceNow.
func (s *Service) cancelLinked(c *cmd, p *Problem, reason string) error {
	return s.endLinked(c, p, reason)
}

func (s *Service) endLinked(c *cmd, p *Problem, reason string) error {
	incs, svc, err := s.linked(c, p)
	if err != nil {
		return err
	}
	return s.settle(c, svc, p, incs, reason)
}

// settle is what the end of problem p does to its open incidents incs (its
// own, or those a duplicate moves to it after it ended), in the problem
// command's transaction:
//
//   - fix applied: the incidents On Hold awaiting the problem (every open
//     one, WithResolveAllLinked) are resolved with ResolvedByProblem and
//     the fix notes; the other open ones get a work note;
//   - risk accepted or canceled (reason is the cancellation's): every open
//     incident gets a work note, and those On Hold awaiting the problem
//     are resumed (In Progress): no fix is coming, so they must not wait
//     for one forever.
func (s *Service) settle(c *cmd, svc *incident.Service, p *Problem, incs []*incident.Incident, reason string) error {
	var note string
	switch p.ResolutionCode {
	case FixApplied:
		note = "Problem " + p.Number + " resolved, fix applied: " + p.FixNotes
	case RiskAccepted:
		note = "Problem " + p.Number + " closed, risk accepted: " + p.RiskAcceptedReason
	default:
		note = "Problem " + p.Number + " canceled: " + reason
	}
	// The problem's text fits the incident's limit on a note; with the
	// prefix, it may not.
	note = check.Cut(note, check.Long)
	for _, inc := range incs {
		inc, err := fresh(c, svc, inc)
		if err != nil {
			return err
		}
		if !inc.State.Open() {
			continue
		}
		awaiting := inc.State == incident.StateOnHold && inc.HoldReason == incident.AwaitingProblem
		if p.ResolutionCode == FixApplied && (awaiting || s.cfg.links.resolveAll) {
			if _, err := svc.Resolve(c.Ctx, c.Actor, inc.ID, ResolvedByProblem, p.FixNotes); err != nil {
				return fmt.Errorf("incident %s: %w", inc.Number, err)
			}
			continue
		}
		// Not resolved: told, and resumed when awaiting the problem (with
		// the fix applied, those awaiting it were resolved above).
		if _, err := svc.Release(c.Ctx, c.Actor, inc.ID, incident.AwaitingProblem, note); err != nil {
			return fmt.Errorf("incident %s: %w", inc.Number, err)
		}
	}
	return nil
}

// awaitable is the rule incident.Service.Hold runs, in its transaction,
// before an incident awaits the problem id: the problem is still worked on
// (see linkable). Registered with package xref, since package incident
// cannot import this one.
func awaitable(ctx context.Context, tx storage.Tx, id itil.ID) error {
	p, err := problems.Get(ctx, tx, id)
	if errors.Is(err, itil.ErrNotFound) {
		// The incident exists; what it names does not.
		return itil.Invalid("problem_id", "names problem "+id.String()+", which this store does not hold")
	}
	if err != nil {
		return err
	}
	if !linkable(p.State) {
		return fmt.Errorf("%w: an incident cannot await problem %s: it is %s", itil.ErrInvalidTransition, p.Number, p.State)
	}
	return nil
}

func init() { xref.ProblemAwaitable = awaitable }

// moveLinked is MarkDuplicate's cascade: the duplicate's incidents move to
// the survivor, each journaled on the incident with both problems in
// Refs.
func (s *Service) moveLinked(c *cmd, dup, survivor *Problem) error {
	incs, svc, err := s.linked(c, dup)
	if err != nil {
		return err
	}
	moved := make([]*incident.Incident, 0, len(incs))
	for _, inc := range incs {
		m, err := svc.SetProblem(c.Ctx, c.Actor, inc.ID, dup.ID, survivor.ID)
		if err != nil {
			return fmt.Errorf("incident %s: %w", inc.Number, err)
		}
		moved = append(moved, m)
	}
	survivor.IncidentCount += len(incs)
	dup.IncidentCount -= len(incs)
	if linkable(survivor.State) || len(moved) == 0 {
		return nil
	}
	// The survivor has ended already (Resolved, or Closed with the fix
	// applied or the risk accepted): the moved incidents get what its end
	// gave its own.
	return s.settle(c, svc, survivor, moved, "")
}
