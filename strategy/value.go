package strategy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// Value is utility and warranty together. An offering is fit for purpose
// when it delivered the outcomes it promises (its utility), and fit for
// use when it kept its warranty: available as promised over its service
// hours, with the capacity its customers took. Outputs (what the provider
// did: tickets resolved, changes delivered) say nothing of either on
// their own, so an assessment keeps them apart from the outcomes the
// customer records.

// OutcomeRecord is a business result the customer records for a period:
// whether an outcome of the offering's utility was achieved.
type OutcomeRecord struct {
	Outcome  string `json:"outcome"`
	Achieved bool   `json:"achieved"`
	Note     string `json:"note,omitempty"`
}

// ValueInput is what happened to an offering over a period.
type ValueInput struct {
	From, To time.Time
	// Outages of the service over the period (slm.Outage; the service
	// name is ignored: they are this offering's). When nil, and the
	// Service has incidents (WithIncidents), they are read from the
	// incidents on the service's CI that record it as down: each from
	// its opening to its resolution (to the period's end while
	// unresolved); canceled ones do not count.
	Outages []slm.Outage
	// Outcomes are the customer's records; Outputs the provider's counts
	// (such as "tickets resolved": 120), reported as given.
	Outcomes []OutcomeRecord
	Outputs  map[string]int64
}

// Shortfall is a commitment an offering failed, and by how much.
type Shortfall struct {
	// Commitment is "availability", "capacity", "response_sla" or
	// "resolution_sla".
	Commitment string `json:"commitment"`
	Promised   string `json:"promised"`
	Actual     string `json:"actual"`
	// By is how much was missing: downtime beyond what the target allows
	// (Downtime), units beyond capacity (Units), or SLA breaches beyond
	// what the compliance target allows (Breaches).
	Downtime time.Duration   `json:"downtime,omitempty"`
	Units    decimal.Decimal `json:"units,omitzero"`
	Breaches int             `json:"breaches,omitempty"`
}

// SLACompliance is how one of an offering's SLAs did over a period:
// slm's Compliance of its definition.
type SLACompliance struct {
	// Commitment is "response_sla" or "resolution_sla".
	Commitment string  `json:"commitment"`
	Definition itil.ID `json:"definition"`
	// Met and Breached count the cycles decided in the period; Percent
	// is Met over both, in percent to two places (100 when none was
	// decided).
	Met      int             `json:"met"`
	Breached int             `json:"breached"`
	Percent  decimal.Decimal `json:"percent"`
}

// ValueAssessment is an offering's value over a period.
type ValueAssessment struct {
	OfferingID   itil.ID          `json:"offering_id"`
	From         time.Time        `json:"from"`
	To           time.Time        `json:"to"`
	Availability slm.Availability `json:"availability"`
	// Outages are those measured: supplied, or read from incidents (the
	// outage's Service is then the incident's number).
	Outages []slm.Outage `json:"outages,omitempty"`
	// SLAs are the offering's SLA commitments' compliance, with the
	// Service's SLA engine (WithSLM).
	SLAs []SLACompliance `json:"slas,omitempty"`
	// Subscribed is the units subscribed at the end of the period.
	Subscribed decimal.Decimal `json:"subscribed"`
	// FitForUse holds when no warranty commitment failed; Shortfalls
	// lists those that did.
	FitForUse  bool        `json:"fit_for_use"`
	Shortfalls []Shortfall `json:"shortfalls,omitempty"`
	// FitForPurpose holds when the customer recorded every outcome of the
	// offering's utility as achieved; Missed lists the others (not
	// recorded, or not achieved).
	FitForPurpose bool             `json:"fit_for_purpose"`
	Missed        []string         `json:"missed,omitempty"`
	Outcomes      []OutcomeRecord  `json:"outcomes,omitempty"`
	Outputs       map[string]int64 `json:"outputs,omitempty"`
}

// assess judges o over in (validated by AssessValue), with the units
// subscribed at the period's end and its SLAs' compliance.
func assess(o *Offering, in ValueInput, subscribed decimal.Decimal, slas []SLACompliance) (*ValueAssessment, error) {
	hours := calendar.AlwaysOpen()

	if o.Commitments.ServiceHours != nil {
		hours = *o.Commitments.ServiceHours
	}
	cal, err := calendar.New(hours)
	if err != nil {
		return nil, fmt.Errorf("offering %q: service hours: %w", o.Name, err)
	}
	outages := make([]slm.Outage, len(in.Outages))
	for i, x := range in.Outages {
		outages[i] = slm.Outage{Service: o.Name, Start: x.Start, End: x.End}
	}
	av, err := slm.MeasureAvailability(cal, o.Name, outages, in.From, in.To)
	if err != nil {
		return nil, err
	}
	out := &ValueAssessment{OfferingID: o.ID, From: in.From, To: in.To, Availability: av, Outages: slices.Clone(in.Outages),
		SLAs: slas, Subscribed: subscribed, Outcomes: slices.Clone(in.Outcomes), Outputs: maps.Clone(in.Outputs)}
	if target := o.Commitments.Availability; target.Sign() > 0 && !av.Meets(target) {
		// Downtime the target allows: Agreed × (100 − target) / 100, to
		// the nanosecond, rounded down (the shortfall is not understated).
		allowed := decimal.NewFromInt(int64(av.Agreed)).Mul(decimal.NewFromInt(100).Sub(target)).Div(decimal.NewFromInt(100)).Floor()
		out.Shortfalls = append(out.Shortfalls, Shortfall{Commitment: "availability", Promised: target.String() + "%",
			Actual: av.Percent.String() + "%", Downtime: av.Downtime - time.Duration(allowed.IntPart())})
	}
	if o.Capacity.Sign() > 0 && subscribed.GreaterThan(o.Capacity) {
		out.Shortfalls = append(out.Shortfalls, Shortfall{Commitment: "capacity", Promised: o.Capacity.String() + " units",
			Actual: subscribed.String() + " units", Units: subscribed.Sub(o.Capacity)})
	}
	if target := o.Commitments.SLACompliance; target.Sign() > 0 {
		for _, c := range slas {
			decided := decimal.NewFromInt(int64(c.Met + c.Breached))
			if decimal.NewFromInt(int64(c.Met)).Mul(hundred).GreaterThanOrEqual(target.Mul(decided)) {
				continue
			}
			// Breaches the target allows: decided × (100 − target) / 100,
			// rounded down.
			allowed := decided.Mul(hundred.Sub(target)).Div(hundred).Floor().IntPart()
			out.Shortfalls = append(out.Shortfalls, Shortfall{Commitment: c.Commitment, Promised: target.String() + "%",
				Actual: c.Percent.String() + "%", Breaches: c.Breached - int(allowed)})
		}
	}
	out.FitForUse = len(out.Shortfalls) == 0
	for _, u := range o.Utility {
		if !slices.ContainsFunc(in.Outcomes, func(r OutcomeRecord) bool { return r.Outcome == u && r.Achieved }) {
			out.Missed = append(out.Missed, u)
		}
	}
	out.FitForPurpose = len(out.Missed) == 0
	return out, nil
}

// AssessValue assesses the offering id over in's period: the availability
// measured over its service hours against its target, the units its
// customers took at the period's end against its capacity, and the
// outcomes the customer recorded against its utility; outputs are
// reported apart. A bad period or record gives a *itil.ValidationError;
// an unknown offering an error wrapping itil.ErrNotFound.
func (s *Service) AssessValue(ctx context.Context, id itil.ID, in ValueInput) (*ValueAssessment, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *ValueAssessment
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		o, err := offerings.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		var subscribed decimal.Decimal
		for sub, err := range subscriptions.Query(ctx, tx, storage.Query{Kind: KindSubscription,
			Terms: []string{storage.Term("offering", id.String())}}) {
			if err != nil {
				return err
			}
			if end := in.To.Add(-time.Nanosecond); sub.ActiveAt(end) {
				subscribed = subscribed.Add(sub.Quantity)
			}
		}
		if in.Outages == nil && s.cfg.incidents != nil {
			e, err := entries.Get(ctx, tx, o.EntryID)
			if err != nil {
				return err
			}
			if in.Outages, err = s.incidentOutages(ctx, tx, e.ServiceCIID, in.From, in.To); err != nil {
				return err
			}
		}
		var slas []SLACompliance
		if s.cfg.slm != nil {
			at := in.To // running cycles judged now, or at the period's end
			now, err := s.run.Clock()
			if err != nil {
				return err
			}
			if now.Before(at) {
				at = now
			}
			for _, r := range [...]struct {
				name string
				id   itil.ID
			}{{"response_sla", o.Commitments.ResponseSLA}, {"resolution_sla", o.Commitments.ResolutionSLA}} {
				if r.id == itil.NilID {
					continue
				}
				c, err := s.cfg.slm.In(tx).Compliance(ctx, r.id, in.From, in.To, at)
				if err != nil {
					return fmt.Errorf("commitments.%s: %w", r.name, err)
				}
				pct := decimal.NewFromInt(100)
				if d := c.Met + c.Breached; d > 0 {
					pct = decimal.NewFromInt(int64(c.Met)).Mul(hundred).DivRound(decimal.NewFromInt(int64(d)), 2)
				}
				slas = append(slas, SLACompliance{Commitment: r.name, Definition: r.id, Met: c.Met, Breached: c.Breached, Percent: pct})
			}
		}
		out, err = assess(o, in, subscribed, slas)
		return err
	})
	return out, err
}

var hundred = decimal.NewFromInt(100)

// incidentOutages returns the outages of the service CI ci over [from,
// to) that incidents record: those on the CI, or naming it as their
// service, flagged service-down and not canceled, each from its opening
// to its resolution (to, while unresolved).
func (s *Service) incidentOutages(ctx context.Context, tx storage.Tx, ci itil.ID, from, to time.Time) ([]slm.Outage, error) {
	out := []slm.Outage{} // not nil: read, even if none
	if ci == itil.NilID {
		return out, nil
	}
	down := true
	seen := map[itil.ID]bool{}
	for _, f := range []incident.Filter{{CIID: ci, ServiceDown: &down, OpenedTo: to}, {ServiceID: ci, ServiceDown: &down, OpenedTo: to}} {
		for inc, err := range s.cfg.incidents.In(tx).List(ctx, f) {
			if err != nil {
				return nil, err
			}
			if seen[inc.ID] || inc.State == incident.StateCanceled {
				continue
			}
			seen[inc.ID] = true
			end := to
			if !inc.ResolvedAt.IsZero() && inc.ResolvedAt.Before(to) {
				end = inc.ResolvedAt
			}
			if end.After(from) {
				out = append(out, slm.Outage{Service: inc.Number, Start: inc.OpenedAt, End: end})
			}
		}
	}
	return out, nil
}

// validate checks the period and the outcome records.
func (in *ValueInput) validate() error {
	var v itil.ValidationError
	check.Time(&v, "from", in.From)
	check.Time(&v, "to", in.To)
	if !in.To.After(in.From) {
		v.Add("to", "must be after from")
	}
	for i, r := range in.Outcomes {
		check.Text(&v, "outcomes["+strconv.Itoa(i)+"].outcome", r.Outcome, true, check.Short)
		check.Text(&v, "outcomes["+strconv.Itoa(i)+"].note", r.Note, false, check.Long)
	}
	return v.Err()
}
