package incident

import (
	"context"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// WithSLA makes the Service maintain SLA timers: every change to an
// incident (and to the children a cascade changes) is handed to the
// engine as a snapshot in the same transaction, so timers start, pause,
// resume, stop and reset atomically with the incident. The engine must
// work on the Service's store.
func WithSLA(e *slm.Engine) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if e == nil {
			v.Add("sla", "must not be nil")
		}
		cfg.sla = e
	}
}

// Snapshot is the incident as service level management sees it. Besides
// state, priority, service and caller (as the customer), conditions can
// test these fields: category, subcategory, channel, assignment_group,
// assignee, hold_reason, major ("true"/"false"), responded ("true" once
// the first response happened), reopen_count, escalation_level, and
// opened_at (RFC 3339, for a retroactive start).
func Snapshot(inc *Incident, at time.Time) slm.Snapshot {
	s := slm.Snapshot{
		Kind: Kind, ID: inc.ID, Version: inc.Version, State: string(inc.State),
		Priority: inc.Priority, Customer: inc.Caller.ID, Time: at,
		Fields: map[string]string{
			"category":         inc.Category,
			"subcategory":      inc.Subcategory,
			"channel":          string(inc.Channel),
			"assignment_group": inc.AssignmentGroup,
			"assignee":         inc.Assignee,
			"hold_reason":      string(inc.HoldReason),
			"major":            strconv.FormatBool(inc.Major),
			"responded":        strconv.FormatBool(!inc.FirstRespondedAt.IsZero()),
			"reopen_count":     strconv.Itoa(inc.ReopenCount),
			"escalation_level": strconv.Itoa(inc.EscalationLevel),
			"opened_at":        inc.OpenedAt.UTC().Format(time.RFC3339Nano),
		},
	}
	if inc.ServiceID != itil.NilID {
		s.Service = inc.ServiceID.String()
	}
	return s
}

// SLADefinition returns a definition of the usual incident SLA for a
// metric, ready for slm.Engine.Define once given a calendar if needed:
//
//   - the clock starts when the incident is opened (retroactively from
//     opened_at, so a definition added later still counts from the
//     opening);
//   - it pauses while the incident is On Hold;
//   - a response timer stops at the first response, a resolution timer
//     (and any other metric) when the incident is Resolved or Closed;
//   - it is cancelled when the incident is Canceled;
//   - a resolution timer is reset by a reopen: the old cycle is kept and
//     a new one starts.
//
// Targets are chosen by the first that matches (FirstMatch).
func SLADefinition(name string, typ slm.Type, metric slm.Metric, targets ...slm.Target) slm.Definition {
	open := []string{string(StateNew), string(StateInProgress), string(StateOnHold)}
	d := slm.Definition{
		Name: name, Type: typ, Metric: metric, SubjectKind: Kind,
		Targets: targets, Selection: slm.FirstMatch,
		Start:     slm.Condition{States: open},
		Pause:     &slm.Condition{States: []string{string(StateOnHold)}},
		Stop:      &slm.Condition{States: []string{string(StateResolved), string(StateClosed)}},
		Cancel:    &slm.Condition{States: []string{string(StateCanceled)}},
		StartFrom: "opened_at",
	}
	switch metric {
	case slm.Response:
		d.Stop = &slm.Condition{Fields: map[string][]string{"responded": {"true"}}}
		d.Pause = nil
	default:
		d.Reset = &slm.Condition{Changed: []string{"reopen_count"}}
	}
	return d
}

// Timers returns the incident's SLA timers with their progress now: every
// cycle of every definition, in the order they started. It returns an
// error wrapping itil.ErrNotFound for an unknown incident and none when
// the Service has no SLA engine.
func (s *Service) Timers(ctx context.Context, id itil.ID) ([]slm.Status, error) {
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		_, err := tx.Get(ctx, Kind, id)
		return err
	})
	if err != nil || s.cfg.sla == nil {
		return nil, err
	}
	return s.cfg.sla.Status(ctx, id, s.now())
}
