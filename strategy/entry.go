package strategy

import (
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm"
)

// Kind is the storage and journal kind of portfolio entries.
const Kind = "strategy_entry"

// NumberPrefix starts the reference of a portfolio entry, as in
// SVC0001001.
const NumberPrefix = "SVC"

// ServiceType says whom a service is for: the business (customers see it
// in the catalogue) or IT itself (a technical service other services run
// on).
type ServiceType string

const (
	BusinessService  ServiceType = "business"
	TechnicalService ServiceType = "technical"
)

// BusinessCase is why a service should exist: the outcomes it should
// bring, the value expected from it and what it should cost, over the
// same horizon. A service is chartered only once its business case is
// approved.
type BusinessCase struct {
	ExpectedOutcomes []string  `json:"expected_outcomes,omitempty"`
	ExpectedValue    slm.Money `json:"expected_value,omitzero"`
	ExpectedCost     slm.Money `json:"expected_cost,omitzero"`
	// Horizon is how long the value and the cost are expected over,
	// such as three years.
	Horizon    string     `json:"horizon,omitempty"`
	ApprovedBy itil.Actor `json:"approved_by,omitzero"`
	ApprovedAt time.Time  `json:"approved_at,omitzero"`
}

// Approved reports whether the business case is approved.
func (b BusinessCase) Approved() bool { return !b.ApprovedAt.IsZero() }

// Entry is a service in the service portfolio: proposed in the pipeline,
// offered in the catalogue, or retired.
type Entry struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	// Number is the reference people use, such as SVC0001001.
	Number      string      `json:"number"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Type        ServiceType `json:"type"`
	// Owner is the service owner, accountable for the service.
	Owner        string       `json:"owner,omitempty"`
	BusinessCase BusinessCase `json:"business_case"`
	// ServiceCIID is the CMDB's business service CI the entry stands for,
	// once it exists.
	ServiceCIID itil.ID `json:"service_ci_id,omitzero"`
	Status      Status  `json:"status"`
	// Offerings is how many of its offerings are published. Publishing
	// or withdrawing one writes the entry through it, so that a
	// retirement judged at the same time on another instance meets it;
	// the guards themselves read the offerings.
	Offerings int `json:"offerings"`
	// RetireOverride is the reason a service was retired with active
	// subscriptions.
	RetireOverride string     `json:"retire_override,omitempty"`
	ProposedBy     itil.Actor `json:"proposed_by"`
	ProposedAt     time.Time  `json:"proposed_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Phase returns the portfolio phase of the entry's status.
func (e *Entry) Phase() Phase { return e.Status.Phase() }

func (e *Entry) clone() *Entry {
	out := *e
	out.BusinessCase.ExpectedOutcomes = slices.Clone(e.BusinessCase.ExpectedOutcomes)
	return &out
}

func copyEntry(dst, src *Entry) {
	*dst = *src
	dst.BusinessCase.ExpectedOutcomes = slices.Clone(src.BusinessCase.ExpectedOutcomes)
}

// Limits of an entry's fields.
const (
	// MaxOutcomes bounds a business case's expected outcomes.
	MaxOutcomes = 50
)

// NewEntry is a service proposed to the portfolio.
type NewEntry struct {
	Name         string
	Description  string
	Type         ServiceType
	Owner        string
	BusinessCase BusinessCase
	ServiceCIID  itil.ID
}

// validate checks e's fields, each problem named under its JSON name.
func (e *Entry) validate(v *itil.ValidationError) {
	check.Text(v, "name", e.Name, true, check.Short)
	check.Text(v, "description", e.Description, false, check.Long)
	switch e.Type {
	case BusinessService, TechnicalService:
	default:
		v.Add("type", "must be business or technical")
	}
	check.Text(v, "owner", e.Owner, false, check.Short)
	if e.Owner != "" && check.Blank(e.Owner) {
		v.Add("owner", "must not be blank (leave it empty for none)")
	}
	bc := &e.BusinessCase
	if len(bc.ExpectedOutcomes) > MaxOutcomes {
		v.Add("business_case.expected_outcomes", "lists more than 50 outcomes")
	}
	for i, o := range bc.ExpectedOutcomes {
		check.Text(v, "business_case.expected_outcomes["+itoa(i)+"]", o, true, check.Short)
	}
	money := func(field string, m slm.Money) {
		if m.Currency != "" || !m.Amount.IsZero() { // none is allowed until approval
			checkMoney(v, field, m)
		}
	}
	money("business_case.expected_value", bc.ExpectedValue)
	money("business_case.expected_cost", bc.ExpectedCost)
	check.Text(v, "business_case.horizon", bc.Horizon, false, check.Short)
}
