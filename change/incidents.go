package change

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/xref"
	"github.com/itilkit/itil/storage"
)

// Command names of a change's links to incidents, as an Authorizer
// receives them. The incident commands they run (incident.Service's
// SetChange, SetCausedBy and Release) are authorized by the
// incident Service's own Authorizer too, for the same actor.
const (
	CommandLinkIncident       = "link_incident"
	CommandUnlinkIncident     = "unlink_incident"
	CommandLinkCausedIncident = "link_caused_incident"
)

// Journal event types of a change's links to incidents, each with the
// incident in Refs (the incident's half is incident.EventChangeLinked,
// EventChangeUnlinked or EventCauseLinked).
const (
	EventIncidentLinked   = "change.incident_linked"
	EventIncidentUnlinked = "change.incident_unlinked"
	EventIncidentCaused   = "change.incident_caused"
)

// ErrNoIncidents is returned by a command that needs the incident Service
// (a link to an incident, or the end of a change that incidents await)
// from a Service made without WithIncidents.
var ErrNoIncidents = errors.New("change: no incident service; make the Service with WithIncidents")

// WithIncidents gives the Service the incident Service on the same store.
// Incidents then await changes (LinkIncident, and incident.Service.Hold
// with incident.AwaitingChange) and are resumed when the change ends, and
// incidents a change caused (LinkCausedIncident) count against its
// success score; each inside the change command's transaction
// (incident.Service.In), so that the change and its incidents never
// disagree.
//
// The links live on the incident (incident.Incident.ChangeID and
// CausedBy), so an incident awaits at most one change and has at most one
// cause even when two instances link it at once: the incident's
// version-checked write makes one of them conflict.
func WithIncidents(svc *incident.Service) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if svc == nil {
			v.Add("incidents", "must not be nil")
		}
		cfg.incidents = svc
	}}
}

// incidentsIn returns the incident Service bound to the command's
// transaction.
func (s *Service) incidentsIn(c *cmd) (*incident.Service, error) {
	if s.cfg.incidents == nil {
		return nil, ErrNoIncidents
	}
	return s.cfg.incidents.In(c.Tx), nil
}

// LinkIncident records that the incident incidentID awaits the change id:
// its implementation should restore the service. The incident names the
// change (incident.Incident.ChangeID); put it On Hold with
// incident.AwaitingChange to stop it waiting on its own clock. When the
// change closes or is canceled, every open incident awaiting it gets a
// work note saying how the change ended, and those On Hold awaiting it are
// resumed (In Progress), in the change's transaction.
//
// The change must not have ended. An incident awaiting another change
// gives a *itil.ValidationError naming incident_id (unlink it there
// first), a canceled one an error wrapping itil.ErrInvalidTransition, and
// an unknown incident an error wrapping itil.ErrNotFound that names
// incident_id.
func (s *Service) LinkIncident(ctx context.Context, actor itil.Actor, id, incidentID itil.ID) (*Change, error) {
	return s.incidentLink(ctx, actor, id, incidentID, CommandLinkIncident, func(c *cmd, svc *incident.Service, ch *Change) (event, error) {
		if err := requireActive(ch, "link an incident to"); err != nil {
			return event{}, err
		}
		inc, err := svc.SetChange(c.Ctx, c.Actor, incidentID, itil.NilID, ch.ID)
		if err != nil {
			return event{}, check.Rename(err, "change_id", "incident_id")
		}
		ch.IncidentCount++
		return event{Type: EventIncidentLinked, Summary: "awaited by incident " + inc.Number, Refs: []itil.ID{inc.ID}}, nil
	})
}

// UnlinkIncident removes the incident incidentID from the change id: it
// no longer awaits it. An incident On Hold awaiting the change is not
// unlinked: resume it, or hold it for another reason, first. The change
// must not have ended.
func (s *Service) UnlinkIncident(ctx context.Context, actor itil.Actor, id, incidentID itil.ID) (*Change, error) {
	return s.incidentLink(ctx, actor, id, incidentID, CommandUnlinkIncident, func(c *cmd, svc *incident.Service, ch *Change) (event, error) {
		if err := requireActive(ch, "unlink an incident from"); err != nil {
			return event{}, err
		}
		inc, err := svc.SetChange(c.Ctx, c.Actor, incidentID, ch.ID, itil.NilID)
		if err != nil {
			return event{}, check.Rename(err, "change_id", "incident_id")
		}
		ch.IncidentCount--
		return event{Type: EventIncidentUnlinked, Summary: "no longer awaited by incident " + inc.Number, Refs: []itil.ID{inc.ID}}, nil
	})
}

// LinkCausedIncident records that the change id caused the incident
// incidentID: the incident names it (incident.Incident.CausedBy), the
// change lists it (CausedIncidents), and the incident counts against the
// success score of the change's assignment group, model and CIs by its
// priority (SuccessScoring.CausedIncident), all in one transaction. The
// priority counted is the incident's when it is linked.
//
// The change must have been implemented (it has an actual start): a change
// that never ran caused nothing, and an error wrapping
// itil.ErrInvalidTransition says so. An incident with another cause, or a
// canceled one, gives a *itil.ValidationError naming incident_id; one the
// change lists already, too; a canceled incident gives an error wrapping
// itil.ErrInvalidTransition. A change lists at most MaxLinks incidents.
func (s *Service) LinkCausedIncident(ctx context.Context, actor itil.Actor, id, incidentID itil.ID) (*Change, error) {
	return s.incidentLink(ctx, actor, id, incidentID, CommandLinkCausedIncident, func(c *cmd, svc *incident.Service, ch *Change) (event, error) {
		if ch.ActualStart.IsZero() {
			return event{}, itilTransition("change %s has not been implemented, so it caused no incident", ch.Number)
		}
		if slices.Contains(ch.CausedIncidents, incidentID) {
			return event{}, itil.Invalid("incident_id", "the change lists that incident already")
		}
		if len(ch.CausedIncidents) >= MaxLinks {
			return event{}, itil.Invalid("caused_incidents", "the change lists the most incidents it may")
		}
		inc, err := svc.SetCausedBy(c.Ctx, c.Actor, incidentID, itil.NilID, ch.ID)
		if err != nil {
			return event{}, check.Rename(err, "caused_by", "incident_id")
		}
		ch.CausedIncidents = append(ch.CausedIncidents, inc.ID)
		if err := s.countCaused(c, ch, inc.Priority); err != nil { // success.go
			return event{}, err
		}
		return event{Type: EventIncidentCaused, Summary: "caused incident " + inc.Number + " (" + inc.Priority.String() + ")",
			Refs: []itil.ID{inc.ID}}, nil
	})
}

// incidentLink runs a link command of the change id on the incident
// incidentID.
func (s *Service) incidentLink(ctx context.Context, actor itil.Actor, id, incidentID itil.ID, command string,
	fn func(c *cmd, svc *incident.Service, ch *Change) (event, error)) (*Change, error) {
	return s.run.Run(ctx, actor, id, command, func(c *cmd, ch *Change) (event, error) {
		svc, err := s.incidentsIn(c)
		if err != nil {
			return event{}, err
		}
		if incidentID == itil.NilID {
			return event{}, itil.Invalid("incident_id", "is required")
		}
		return fn(c, svc, ch)
	})
}

// Incidents returns the incidents that await the change id, ordered by
// opening time (none without WithIncidents). The incidents it caused are
// listed on it (CausedIncidents), and by incident.Filter.CausedBy.
func (s *Service) Incidents(ctx context.Context, id itil.ID) ([]*incident.Incident, error) {
	if s.cfg.incidents == nil || id == itil.NilID {
		return nil, nil
	}
	var out []*incident.Incident
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = awaiting(ctx, s.cfg.incidents.In(tx), id)
		return err
	})
	return out, err
}

func awaiting(ctx context.Context, svc *incident.Service, id itil.ID) ([]*incident.Incident, error) {
	var out []*incident.Incident
	for inc, err := range svc.List(ctx, incident.Filter{ChangeID: id}) {
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// releaseIncidents is what the end of change ch does to the incidents
// awaiting it, in the command's transaction: every open one gets a work
// note saying how the change ended, and those On Hold awaiting the change
// are resumed (In Progress), whether it succeeded (the service should be
// back: check and resolve) or not (nothing more is coming from it).
func (s *Service) releaseIncidents(c *cmd, ch *Change) error {
	if ch.IncidentCount == 0 && s.cfg.incidents == nil {
		return nil
	}
	// An instance without the incident Service must not end a change
	// that incidents await: they would wait for ever.
	svc, err := s.incidentsIn(c)
	if err != nil {
		return err
	}
	incs, err := awaiting(c.Ctx, svc, ch.ID)
	if err != nil {
		return err
	}
	note := "Change " + ch.Number + " canceled"
	if ch.State == StateClosed {
		note = "Change " + ch.Number + " closed " + string(ch.CloseCode) + ": " + ch.CloseNotes
	}
	note = check.Cut(note, check.Long)
	for _, inc := range incs {
		if _, err := svc.Release(c.Ctx, c.Actor, inc.ID, incident.AwaitingChange, note); err != nil {
			return fmt.Errorf("incident %s: %w", inc.Number, err)
		}
	}
	return nil
}

// awaitable is the rule incident.Service.Hold runs, in its transaction,
// before an incident awaits the change id: the change has not ended.
// Registered with package xref, since package incident cannot import this
// one.
func awaitable(ctx context.Context, tx storage.Tx, id itil.ID) error {
	ch, err := changes.Get(ctx, tx, id)
	if errors.Is(err, itil.ErrNotFound) {
		// The incident exists; what it names does not.
		return itil.Invalid("change_id", "names change "+id.String()+", which this store does not hold")
	}
	if err != nil {
		return err
	}
	if ch.State.Final() {
		return itilTransition("an incident cannot await change %s: it is %s", ch.Number, ch.State)
	}
	return nil
}

func init() { xref.ChangeAwaitable = awaitable }
