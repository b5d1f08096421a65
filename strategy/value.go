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
	// name is ignored: they are this offering's).
	Outages []slm.Outage
	// Outcomes are the customer's records; Outputs the provider's counts
	// (such as "tickets resolved": 120), reported as given.
	Outcomes []OutcomeRecord
	Outputs  map[string]int64
}

// Shortfall is a commitment an offering failed, and by how much.
type Shortfall struct {
	// Commitment is "availability" or "capacity".
	Commitment string `json:"commitment"`
	Promised   string `json:"promised"`
	Actual     string `json:"actual"`
	// By is how much was missing: downtime beyond what the target allows
	// (Downtime), or units beyond capacity (Units).
	Downtime time.Duration   `json:"downtime,omitempty"`
	Units    decimal.Decimal `json:"units,omitzero"`
}

// ValueAssessment is an offering's value over a period.
type ValueAssessment struct {
	OfferingID   itil.ID          `json:"offering_id"`
	From         time.Time        `json:"from"`
	To           time.Time        `json:"to"`
	Availability slm.Availability `json:"availability"`
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

// assess judges o over in, with the units subscribed at the period's end.
func assess(o *Offering, in ValueInput, subscribed decimal.Decimal) (*ValueAssessment, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
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
	out := &ValueAssessment{OfferingID: o.ID, From: in.From, To: in.To, Availability: av, Subscribed: subscribed,
		Outcomes: slices.Clone(in.Outcomes), Outputs: maps.Clone(in.Outputs)}
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
		out, err = assess(o, in, subscribed)
		return err
	})
	return out, err
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
