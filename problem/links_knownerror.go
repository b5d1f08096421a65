package problem

import (
	"context"
	"fmt"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
)

// CommandResolveWithKnownError is the command name an Authorizer receives
// for ResolveWithKnownError: the known error Authorizer on the known error,
// whose IncidentCount rises, and the problem Service's Authorizer on the
// known error's problem when the command links the incident to it.
const CommandResolveWithKnownError = "resolve_with_known_error"

// ResolveWithKnownError resolves the incident incidentID with the
// published known error knownErrorID: in one transaction, the incident is
// resolved with incident.KnownErrorCode and notes, naming the known error
// (incident.Incident.KnownErrorID); it is linked to the known error's
// problem unless it is already (the problem's IncidentCount rises, even on
// a Closed problem: the incident was one more occurrence of it), or to the
// problem that survives it when that problem was marked a duplicate, or to
// none when it was canceled; and the
// known error's IncidentCount, which search ranks by, rises by one. All
// of it is stored, or none of it. It is the only way an incident is
// resolved with that code (incident.Service.Resolve refuses it), and the
// only way a known error's IncidentCount rises.
//
// The incident's open children are resolved with it (as incident.Service
// resolves children with their parent), each naming the known error,
// linked to the same problem and counted: every incident resolved with
// the code is linked to the known error's problem.
//
// Refused, with nothing written: a known error that is not published or is
// past its valid-to date, or an incident (or an open child of it) that
// belongs to another problem (known_error_id or incident_id named in a
// *itil.ValidationError); an
// incident that is not open (itil.ErrInvalidTransition); unknown IDs
// (itil.ErrNotFound, naming the field). The incident Service's Authorizer
// authorizes the link and the resolution; CommandResolveWithKnownError is
// authorized by the known error Authorizer on the known error it counts,
// and by this Service's Authorizer on the problem it links the incident
// to.
func (s *Service) ResolveWithKnownError(ctx context.Context, actor itil.Actor, incidentID, knownErrorID itil.ID, notes string) (*incident.Incident, error) {
	var v itil.ValidationError
	if incidentID == itil.NilID {
		v.Add("incident_id", "is required")
	}
	if knownErrorID == itil.NilID {
		v.Add("known_error_id", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	kr := s.KnownErrors().run
	var out *incident.Incident
	err := s.run.Do(ctx, actor, func(c *cmd) error {
		svc, err := s.incidentsIn(c)
		if err != nil {
			return err
		}
		ke, err := pipeline.Other(c, kr).Load(knownErrorID)
		if err != nil {
			return fmt.Errorf("known_error_id: %w", err)
		}
		switch {
		case ke.State != KnownErrorPublished:
			return itil.Invalid("known_error_id", ke.Number+" is "+string(ke.State)+"; only a published known error resolves incidents")
		case ke.Expired(c.Now):
			return itil.Invalid("known_error_id", ke.Number+" is past its valid-to date")
		}
		inc, err := svc.Get(c.Ctx, incidentID)
		if err != nil {
			return fmt.Errorf("incident_id: %w", err)
		}
		// The incident's open children are resolved with it, with the
		// same known error: each is one more occurrence, linked and
		// counted like the incident.
		resolved := []*incident.Incident{inc}
		if inc.ChildCount > 0 {
			for k, err := range svc.List(c.Ctx, incident.Filter{ParentID: inc.ID}) {
				if err != nil {
					return err
				}
				if k.State.Open() {
					resolved = append(resolved, k)
				}
			}
		}
		p, err := s.knownErrorProblem(c, ke)
		if err != nil {
			return err
		}
		if p != nil {
			if err := s.linkForKnownError(c, svc, resolved, ke, p); err != nil {
				return err
			}
		}
		if out, err = svc.ResolveKnownError(c.Ctx, c.Actor, incidentID, ke.ID, notes); err != nil {
			return err
		}
		_, err = s.In(c.Tx).KnownErrors().countIncidents(c.Ctx, c.Actor, ke.ID, len(resolved))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// knownErrorProblem returns the problem an incident resolved with ke is
// linked to: ke's problem, or the problem that survives it when it was
// marked a duplicate (a survivor is never itself a duplicate); nil when ke
// names no problem or that problem was canceled, which no incident joins.
func (s *Service) knownErrorProblem(c *cmd, ke *KnownError) (*Problem, error) {
	if ke.ProblemID == itil.NilID {
		return nil, nil
	}
	p, err := c.Load(ke.ProblemID)
	if err != nil {
		return nil, fmt.Errorf("known error %s's problem: %w", ke.Number, err)
	}
	if p.ResolutionCode == Duplicate {
		if p, err = c.Load(p.DuplicateOf); err != nil {
			return nil, fmt.Errorf("known error %s's problem: %w", ke.Number, err)
		}
	}
	if p.State == StateCanceled {
		return nil, nil
	}
	return p, nil
}

// linkForKnownError links the incidents incs that belong to no problem to
// p, the problem of the known error ke, writing both halves; incs[0] is
// the incident resolved, the others its children. One that belongs to
// another problem refuses it all.
func (s *Service) linkForKnownError(c *cmd, svc *incident.Service, incs []*incident.Incident, ke *KnownError, p *Problem) error {
	for i, inc := range incs {
		if inc.ProblemID == itil.NilID || inc.ProblemID == p.ID {
			continue
		}
		which := "incident " + inc.Number
		if i > 0 {
			which = "child " + inc.Number + " of incident " + incs[0].Number
		}
		return itil.Invalid("incident_id", fmt.Sprintf("%s belongs to another problem than %s, known error %s's; an incident belongs to at most one",
			which, p.Number, ke.Number))
	}
	for _, inc := range incs {
		if inc.ProblemID == p.ID {
			continue
		}
		if err := c.Authorize(CommandResolveWithKnownError, p); err != nil {
			return err
		}
		if _, err := svc.SetProblem(c.Ctx, c.Actor, inc.ID, itil.NilID, p.ID); err != nil {
			return check.Rename(err, "problem_id", "incident_id")
		}
		p.IncidentCount++
		if err := c.Save(p, event{Type: EventIncidentLinked, Summary: "linked incident " + inc.Number + ", resolved with known error " + ke.Number,
			Refs: []itil.ID{inc.ID, ke.ID}}); err != nil {
			return err
		}
	}
	return nil
}
