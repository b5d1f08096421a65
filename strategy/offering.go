package strategy

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

// KindOffering is the storage and journal kind of service offerings.
const KindOffering = "strategy_offering"

// OfferingState is where an offering is: drafted, published in the
// catalogue (customers subscribe to it), or retired.
type OfferingState string

const (
	OfferingDraft     OfferingState = "draft"
	OfferingPublished OfferingState = "published"
	OfferingRetired   OfferingState = "retired"
)

// Offering moves.
const (
	MovePublishOffering = "publish"
	MoveRetireOffering  = "retire"
)

var offeringLifecycle = machine.New(OfferingDraft, []itil.Transition[OfferingState]{
	{Event: MovePublishOffering, From: []OfferingState{OfferingDraft}, To: OfferingPublished},
	{Event: MoveRetireOffering, From: []OfferingState{OfferingDraft, OfferingPublished}, To: OfferingRetired},
})

// OfferingLifecycle returns a copy of the offering lifecycle's table;
// OfferingDiagram draws it (offering.md).
func OfferingLifecycle() []itil.Transition[OfferingState] { return offeringLifecycle.Transitions() }

// OfferingDiagram: see OfferingLifecycle.
func OfferingDiagram() string { return offeringLifecycle.Diagram() }

// Commitments are what an offering promises: its service levels.
type Commitments struct {
	// Availability is the availability target over ServiceHours, in
	// percent (99.9).
	Availability decimal.Decimal `json:"availability,omitzero"`
	// ServiceHours is when the service is to be available; nil: always.
	ServiceHours *calendar.Spec `json:"service_hours,omitempty"`
	// ResponseSLA and ResolutionSLA are slm definitions.
	ResponseSLA   itil.ID `json:"response_sla,omitzero"`
	ResolutionSLA itil.ID `json:"resolution_sla,omitzero"`
	// SLACompliance is the share of those SLAs' cycles decided in a
	// period that must be met, in percent (95); zero: none promised.
	SLACompliance decimal.Decimal `json:"sla_compliance,omitzero"`
	// MaintenanceSchedule is a change schedule (a maintenance window).
	MaintenanceSchedule itil.ID `json:"maintenance_schedule,omitzero"`
	// RTO and RPO: how long the service may be down after a disaster,
	// and how much data may be lost.
	RTO time.Duration `json:"rto,omitempty"`
	RPO time.Duration `json:"rpo,omitempty"`
	// DeliveryTime is how long a new subscription takes to deliver.
	DeliveryTime time.Duration `json:"delivery_time,omitempty"`
}

// PriceModel is how an offering is priced.
type PriceModel string

const (
	// PriceFixed charges Price a month, whatever the quantity.
	PriceFixed PriceModel = "fixed"
	// PricePerUnit charges Price a month per unit subscribed.
	PricePerUnit PriceModel = "per_unit"
	// PriceTiered charges each unit at the price of the tier it falls in
	// (graduated: the first tier's units at its price, the next tier's
	// at its own).
	PriceTiered PriceModel = "tiered"
)

// Tier is a band of a tiered price: units up to UpTo (from the previous
// tier's), each at UnitPrice a month. The last tier has no UpTo.
type Tier struct {
	UpTo      decimal.Decimal `json:"up_to,omitzero"`
	UnitPrice decimal.Decimal `json:"unit_price"`
}

// Pricing is an offering's price, a month, in one currency.
type Pricing struct {
	Model    PriceModel      `json:"model"`
	Unit     string          `json:"unit,omitempty"` // "mailbox", "user"
	Currency string          `json:"currency"`
	Price    decimal.Decimal `json:"price,omitzero"`
	Tiers    []Tier          `json:"tiers,omitempty"`
}

// equal reports whether p and q price alike.
func (p Pricing) equal(q Pricing) bool {
	return p.Model == q.Model && p.Unit == q.Unit && p.Currency == q.Currency && p.Price.Equal(q.Price) &&
		slices.EqualFunc(p.Tiers, q.Tiers, func(a, b Tier) bool { return a.UpTo.Equal(b.UpTo) && a.UnitPrice.Equal(b.UnitPrice) })
}

// Monthly returns the price of quantity units for a month, exactly (not
// rounded).
func (p Pricing) Monthly(quantity decimal.Decimal) slm.Money {
	var amt decimal.Decimal
	switch p.Model {
	case PriceFixed:
		amt = p.Price
	case PricePerUnit:
		amt = p.Price.Mul(quantity)
	case PriceTiered:
		var below decimal.Decimal
		for _, t := range p.Tiers {
			top := quantity
			if !t.UpTo.IsZero() && t.UpTo.LessThan(quantity) {
				top = t.UpTo
			}
			if top.GreaterThan(below) {
				amt = amt.Add(top.Sub(below).Mul(t.UnitPrice))
			}
			if t.UpTo.IsZero() || !t.UpTo.LessThan(quantity) {
				break
			}
			below = t.UpTo
		}
	}
	return slm.Money{Amount: amt, Currency: p.Currency}
}

// Warranty is how well an offering is fit for use: ITIL's four warranty
// aspects, each a level the offering promises.
type Warranty struct {
	Availability string `json:"availability,omitempty"`
	Capacity     string `json:"capacity,omitempty"`
	Continuity   string `json:"continuity,omitempty"`
	Security     string `json:"security,omitempty"`
}

// Offering is one way a service is offered in the catalogue: what it
// does for the customer (its utility: the outcomes it supports), how well
// (its warranty and commitments), for how much, and for how many.
type Offering struct {
	ID          itil.ID       `json:"id"`
	Version     int64         `json:"version"`
	EntryID     itil.ID       `json:"entry_id"`
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	State       OfferingState `json:"state"`
	// Utility lists the outcomes the offering supports: fit for purpose.
	Utility     []string    `json:"utility,omitempty"`
	Warranty    Warranty    `json:"warranty"`
	Commitments Commitments `json:"commitments"`
	Pricing     Pricing     `json:"pricing"`
	// Capacity is how many units the offering can serve; zero when not
	// bounded.
	Capacity decimal.Decimal `json:"capacity,omitzero"`
	// Subscriptions counts the subscriptions ever made to it. Each one
	// writes the offering, so that a retirement of its service judged at
	// the same time on another instance meets it (the service's guards
	// read its offerings).
	Subscriptions int       `json:"subscriptions"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func (o *Offering) clone() *Offering {
	out := *o
	out.Utility = slices.Clone(o.Utility)
	out.Pricing.Tiers = slices.Clone(o.Pricing.Tiers)
	if o.Commitments.ServiceHours != nil {
		h := o.Commitments.ServiceHours.Clone()
		out.Commitments.ServiceHours = &h
	}
	return &out
}

func copyOffering(dst, src *Offering) { *dst = *src.clone() }

// NewOffering is an offering drafted for a portfolio entry.
type NewOffering struct {
	Name        string
	Description string
	Utility     []string
	Warranty    Warranty
	Commitments Commitments
	Pricing     Pricing
	Capacity    decimal.Decimal
}

// validate checks o's fields, each problem named under its JSON name.
func (o *Offering) validate(v *itil.ValidationError) {
	check.Text(v, "name", o.Name, true, check.Short)
	check.Text(v, "description", o.Description, false, check.Long)
	if len(o.Utility) > MaxOutcomes {
		v.Add("utility", "lists more than 50 outcomes")
	}
	for i, u := range o.Utility {
		check.Text(v, "utility["+itoa(i)+"]", u, true, check.Short)
	}
	for _, w := range []struct{ field, s string }{{"availability", o.Warranty.Availability}, {"capacity", o.Warranty.Capacity},
		{"continuity", o.Warranty.Continuity}, {"security", o.Warranty.Security}} {
		check.Text(v, "warranty."+w.field, w.s, false, check.Short)
	}
	c := &o.Commitments
	if c.Availability.Sign() < 0 || c.Availability.GreaterThan(decimal.NewFromInt(100)) {
		v.Add("commitments.availability", "must be a percentage from 0 to 100")
	}
	if c.SLACompliance.Sign() < 0 || c.SLACompliance.GreaterThan(decimal.NewFromInt(100)) {
		v.Add("commitments.sla_compliance", "must be a percentage from 0 to 100")
	}
	if c.SLACompliance.Sign() > 0 && c.ResponseSLA == itil.NilID && c.ResolutionSLA == itil.NilID {
		v.Add("commitments.sla_compliance", "needs a response or resolution SLA to apply to")
	}
	if c.ServiceHours != nil {
		if _, err := calendar.New(*c.ServiceHours); err != nil {
			v.Add("commitments.service_hours", err.Error())
		}
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"rto", c.RTO}, {"rpo", c.RPO}, {"delivery_time", c.DeliveryTime}} {
		if d.d < 0 {
			v.Add("commitments."+d.field, "must not be negative")
		}
	}
	p := &o.Pricing
	checkCurrency(v, "pricing.currency", p.Currency)
	check.Text(v, "pricing.unit", p.Unit, false, check.Short)
	switch p.Model {
	case PriceFixed, PricePerUnit:
		if p.Price.Sign() < 0 {
			v.Add("pricing.price", "must not be negative")
		}
		if len(p.Tiers) > 0 {
			v.Add("pricing.tiers", "are for tiered pricing only")
		}
	case PriceTiered:
		if len(p.Tiers) == 0 {
			v.Add("pricing.tiers", "are required for tiered pricing")
		}
		if !p.Price.IsZero() {
			v.Add("pricing.price", "is not used by tiered pricing: price each tier")
		}
		var below decimal.Decimal
		for i, t := range p.Tiers {
			field := "pricing.tiers[" + itoa(i) + "]"
			last := i == len(p.Tiers)-1
			switch {
			case last && !t.UpTo.IsZero():
				v.Add(field+".up_to", "must be empty on the last tier (it has no top)")
			case !last && !t.UpTo.GreaterThan(below):
				v.Add(field+".up_to", "must be above the previous tier's")
			}
			if t.UnitPrice.Sign() < 0 {
				v.Add(field+".unit_price", "must not be negative")
			}
			below = t.UpTo
		}
	default:
		v.Add("pricing.model", "must be fixed, per_unit or tiered")
	}
	if o.Capacity.Sign() < 0 {
		v.Add("capacity", "must not be negative")
	}
	// Prices to at most six places: statements round prorated prices
	// exactly only that far (statement.go).
	if check.Places(p.Price) > MaxPricePlaces {
		v.Add("pricing.price", "has more than 6 decimal places")
	}
	for i, t := range p.Tiers {
		if check.Places(t.UnitPrice) > MaxPricePlaces {
			v.Add("pricing.tiers["+itoa(i)+"].unit_price", "has more than 6 decimal places")
		}
		if check.Places(t.UpTo) > MaxPricePlaces {
			v.Add("pricing.tiers["+itoa(i)+"].up_to", "has more than 6 decimal places")
		}
	}
}

// MaxPricePlaces is the finest a price may be given in.
const MaxPricePlaces = 6
