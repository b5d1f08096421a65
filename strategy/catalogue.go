package strategy

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// KindSubscription is the storage and journal kind of subscriptions.
const KindSubscription = "strategy_subscription"

// Commands and events of the catalogue.
const (
	CommandAddOffering     = "add_offering"
	CommandUpdateOffering  = "update_offering"
	CommandPublishOffering = "publish_offering"
	CommandRetireOffering  = "retire_offering"
	CommandSubscribe       = "subscribe"
	CommandEndSubscription = "end_subscription"

	EventOfferingAdded     = "strategy.offering_added"
	EventOfferingUpdated   = "strategy.offering_updated"
	EventOfferingMoved     = "strategy.offering_moved"
	EventSubscribed        = "strategy.subscribed"
	EventSubscriptionEnded = "strategy.subscription_ended"
)

// Subscription is a customer's use of an offering: how many units, from
// when until when (End zero: until ended).
type Subscription struct {
	ID         itil.ID         `json:"id"`
	Version    int64           `json:"version"`
	OfferingID itil.ID         `json:"offering_id"`
	EntryID    itil.ID         `json:"entry_id"`
	Customer   string          `json:"customer"`
	Quantity   decimal.Decimal `json:"quantity"`
	Start      time.Time       `json:"start"`
	End        time.Time       `json:"end,omitzero"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// ActiveAt reports whether the subscription runs at t.
func (s *Subscription) ActiveAt(t time.Time) bool {
	return !t.Before(s.Start) && (s.End.IsZero() || t.Before(s.End))
}

// NewSubscription subscribes a customer to an offering.
type NewSubscription struct {
	Customer string
	Quantity decimal.Decimal
	// Start is when it starts (zero: now); End when it ends (zero: open).
	Start, End time.Time
}

var offerings = storage.NewCollection(storage.Schema[Offering]{
	Kind:    KindOffering,
	ID:      func(o *Offering) itil.ID { return o.ID },
	Version: func(o *Offering) *int64 { return &o.Version },
	SortKey: func(o *Offering) string { return storage.TimeKey(o.CreatedAt) },
	Terms: func(o *Offering, dst []string) []string {
		return append(dst, storage.Term("entry", o.EntryID.String()), storage.Term("state", string(o.State)))
	},
	Clone: copyOffering,
})

var offeringSpec = (&pipeline.Spec[Offering]{
	Collection: offerings,
	Clone:      (*Offering).clone,
	Touch:      func(o *Offering, now time.Time) { o.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

var subscriptions = storage.NewCollection(storage.Schema[Subscription]{
	Kind:    KindSubscription,
	ID:      func(s *Subscription) itil.ID { return s.ID },
	Version: func(s *Subscription) *int64 { return &s.Version },
	SortKey: func(s *Subscription) string { return storage.TimeKey(s.Start) },
	Terms: func(s *Subscription, dst []string) []string {
		start := len(dst)
		dst = append(dst, storage.Term("customer", s.Customer), storage.Term("entry", s.EntryID.String()),
			storage.Term("offering", s.OfferingID.String()))
		slices.Sort(dst[start:])
		return dst
	},
	Clone: func(dst, src *Subscription) { *dst = *src },
})

var subscriptionSpec = (&pipeline.Spec[Subscription]{
	Collection: subscriptions,
	Clone:      func(s *Subscription) *Subscription { c := *s; return &c },
	Touch:      func(s *Subscription, now time.Time) { s.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

func (s *Service) offeringRunner() pipeline.Runner[Offering] {
	return sibling(s, offeringSpec)
}

func (s *Service) subscriptionRunner() pipeline.Runner[Subscription] {
	return sibling(s, subscriptionSpec)
}

// AddOffering drafts an offering of the portfolio entry entryID, which
// must not be retired. A bad offering gives a *itil.ValidationError
// naming every bad field; an unknown entry an error wrapping
// itil.ErrNotFound.
func (s *Service) AddOffering(ctx context.Context, actor itil.Actor, entryID itil.ID, in NewOffering) (*Offering, error) {
	o := &Offering{ID: itil.NewID(), EntryID: entryID, Name: in.Name, Description: in.Description, State: OfferingDraft,
		Utility: in.Utility, Warranty: in.Warranty, Commitments: in.Commitments, Pricing: in.Pricing, Capacity: in.Capacity}
	o = o.clone()
	var v itil.ValidationError
	actor.Validate("actor", &v)
	o.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.offeringRunner()
	return r.Create(ctx, actor, CommandAddOffering, o, func(c *pipeline.Cmd[Offering], o *Offering) (event, error) {
		e, err := entries.Get(c.Ctx, c.Tx, entryID)
		if err != nil {
			return event{}, fmt.Errorf("entry_id: %w", err)
		}
		if e.Phase() == PhaseRetired {
			return event{}, fmt.Errorf("%w: service %s is retired", itil.ErrInvalidTransition, e.Number)
		}
		if err := s.checkRefs(c.Ctx, c.Tx, &o.Commitments); err != nil {
			return event{}, err
		}
		o.CreatedAt = c.Now
		return event{Type: EventOfferingAdded, Summary: "offering " + strconv.Quote(o.Name) + " of " + e.Number,
			Refs: []itil.ID{e.ID}}, nil
	})
}

// OfferingPatch changes an offering's fields; nil fields stay as they
// are.
type OfferingPatch struct {
	Name        *string
	Description *string
	Utility     *[]string
	Warranty    *Warranty
	Commitments *Commitments
	Pricing     *Pricing
	Capacity    *decimal.Decimal
}

// UpdateOffering changes the offering id's fields. A retired offering
// cannot be changed, nor the pricing of a published one that customers
// have subscribed to: their statements read it, so a new price is a new
// offering (itil.ErrInvalidTransition). A bad value gives a
// *itil.ValidationError naming every bad field; an unknown offering, or
// an SLA definition or change schedule the Service's processes
// (WithSLM, WithChange) do not hold, an error wrapping itil.ErrNotFound.
func (s *Service) UpdateOffering(ctx context.Context, actor itil.Actor, id itil.ID, p OfferingPatch) (*Offering, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.offeringRunner()
	return r.Run(ctx, actor, id, CommandUpdateOffering, func(c *pipeline.Cmd[Offering], o *Offering) (event, error) {
		if o.State == OfferingRetired {
			return event{}, fmt.Errorf("%w: offering %q is retired", itil.ErrInvalidTransition, o.Name)
		}
		if p.Name != nil {
			o.Name = *p.Name
		}
		if p.Description != nil {
			o.Description = *p.Description
		}
		if p.Utility != nil {
			o.Utility = slices.Clone(*p.Utility)
		}
		if p.Warranty != nil {
			o.Warranty = *p.Warranty
		}
		if p.Commitments != nil {
			o.Commitments = *p.Commitments
		}
		if p.Pricing != nil {
			if !o.Pricing.equal(*p.Pricing) && o.State == OfferingPublished && o.Subscriptions > 0 {
				return event{}, fmt.Errorf("%w: offering %q has subscriptions: publish a new offering to change its price",
					itil.ErrInvalidTransition, o.Name)
			}
			o.Pricing = *p.Pricing
		}
		if p.Capacity != nil {
			o.Capacity = *p.Capacity
		}
		*o = *o.clone() // none of the patch's memory
		var v itil.ValidationError
		o.validate(&v)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		if err := s.checkRefs(c.Ctx, c.Tx, &o.Commitments); err != nil {
			return event{}, err
		}
		return event{Type: EventOfferingUpdated, Summary: "updated offering " + strconv.Quote(o.Name), Refs: []itil.ID{o.EntryID}}, nil
	})
}

// checkRefs refuses commitments naming an SLA definition or a change
// schedule that the Service's processes do not hold, read in tx; a
// blackout is not a maintenance window.
func (s *Service) checkRefs(ctx context.Context, tx storage.Tx, c *Commitments) error {
	if s.cfg.slm != nil {
		for _, r := range [...]struct {
			field string
			id    itil.ID
		}{{"commitments.response_sla", c.ResponseSLA}, {"commitments.resolution_sla", c.ResolutionSLA}} {
			if r.id == itil.NilID {
				continue
			}
			if _, err := s.cfg.slm.In(tx).Definition(ctx, r.id); err != nil {
				return fmt.Errorf("%s: %w", r.field, err)
			}
		}
	}
	if s.cfg.change != nil && c.MaintenanceSchedule != itil.NilID {
		sc, err := s.cfg.change.In(tx).GetSchedule(ctx, c.MaintenanceSchedule)
		if err != nil {
			return fmt.Errorf("commitments.maintenance_schedule: %w", err)
		}
		if sc.Spec.Type != change.MaintenanceSchedule {
			return itil.Invalid("commitments.maintenance_schedule", "names "+strconv.Quote(sc.Spec.Name)+", a "+string(sc.Spec.Type)+" schedule, not a maintenance window")
		}
	}
	return nil
}

// PublishOffering publishes a draft offering, once its service is in the
// catalogue (not retiring); RetireOffering retires one. A move the
// offering's state or its service's does not allow gives an error
// wrapping itil.ErrInvalidTransition.
func (s *Service) PublishOffering(ctx context.Context, actor itil.Actor, id itil.ID) (*Offering, error) {
	return s.offeringMove(ctx, actor, id, CommandPublishOffering, MovePublishOffering)
}

// RetireOffering: see PublishOffering.
func (s *Service) RetireOffering(ctx context.Context, actor itil.Actor, id itil.ID) (*Offering, error) {
	return s.offeringMove(ctx, actor, id, CommandRetireOffering, MoveRetireOffering)
}

func (s *Service) offeringMove(ctx context.Context, actor itil.Actor, id itil.ID, command, move string) (*Offering, error) {
	r := s.offeringRunner()
	return r.Run(ctx, actor, id, command, func(c *pipeline.Cmd[Offering], o *Offering) (event, error) {
		ec := pipeline.Other(c, s.run)
		e, err := ec.Load(o.EntryID)
		if err != nil {
			return event{}, err
		}
		from := o.State
		guard := func() error {
			if move == MovePublishOffering && (e.Phase() != PhaseCatalogue || e.Status == StatusRetiring) {
				return fmt.Errorf("%w: service %s is %s: an offering is published once its service is in the catalogue",
					itil.ErrInvalidTransition, e.Number, e.Status)
			}
			return nil
		}
		if err := offeringLifecycle.Apply(&o.State, "offering "+strconv.Quote(o.Name), move, guard); err != nil {
			return event{}, err
		}
		// The entry counts its published offerings: publishing (or
		// withdrawing) one writes it, so that a retirement of the service
		// judged at the same time on another instance meets it.
		switch {
		case o.State == OfferingPublished:
			e.Offerings++
		case from == OfferingPublished:
			e.Offerings--
		}
		if o.State == OfferingPublished || from == OfferingPublished {
			if err := ec.Save(e, event{Type: EventOfferingMoved, Summary: "offering " + strconv.Quote(o.Name) + " " + string(o.State),
				Refs: []itil.ID{o.ID}}); err != nil {
				return event{}, err
			}
		}
		return event{Type: EventOfferingMoved, Summary: move + ": " + string(from) + " → " + string(o.State), Refs: []itil.ID{e.ID}}, nil
	})
}

// Offerings returns the offerings of the entry entryID, oldest first.
func (s *Service) Offerings(ctx context.Context, entryID itil.ID) iter.Seq2[*Offering, error] {
	return s.offeringRunner().List(ctx, pipeline.Query[Offering]{Terms: []string{storage.Term("entry", entryID.String())}})
}

// GetOffering returns the offering id, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetOffering(ctx context.Context, id itil.ID) (*Offering, error) {
	return s.offeringRunner().Get(ctx, id)
}

// Subscribe subscribes a customer (by the code it has or will have as a
// Customer; not checked, so that subscriptions can be loaded before the
// customers are) to the published offering offeringID. The offering's
// capacity is not enforced: a subscription beyond it is taken, and
// AssessValue reports it as a capacity shortfall.
// A bad subscription (no customer, a quantity that is not positive, an
// end before its start) gives a *itil.ValidationError; an offering not
// published, or whose service is not in the catalogue or retiring, an
// error wrapping itil.ErrInvalidTransition.
func (s *Service) Subscribe(ctx context.Context, actor itil.Actor, offeringID itil.ID, in NewSubscription) (*Subscription, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "customer", in.Customer, true, check.Short)
	if in.Quantity.Sign() <= 0 {
		v.Add("quantity", "must be positive")
	} else if check.Places(in.Quantity) > MaxPricePlaces {
		v.Add("quantity", "has more than 6 decimal places")
	}
	if !in.Start.IsZero() {
		check.Time(&v, "start", in.Start)
	}
	if !in.End.IsZero() {
		check.Time(&v, "end", in.End)
		if !in.Start.IsZero() && !in.End.After(in.Start) {
			v.Add("end", "must be after start")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sub := &Subscription{ID: itil.NewID(), OfferingID: offeringID, Customer: in.Customer, Quantity: in.Quantity,
		Start: in.Start.UTC(), End: in.End.UTC()}
	if in.End.IsZero() {
		sub.End = time.Time{}
	}
	r := s.subscriptionRunner()
	return r.Create(ctx, actor, CommandSubscribe, sub, func(c *pipeline.Cmd[Subscription], sub *Subscription) (event, error) {
		o, err := offerings.Get(c.Ctx, c.Tx, offeringID)
		if err != nil {
			return event{}, fmt.Errorf("offering_id: %w", err)
		}
		e, err := entries.Get(c.Ctx, c.Tx, o.EntryID)
		if err != nil {
			return event{}, err
		}
		if o.State != OfferingPublished || e.Phase() != PhaseCatalogue || e.Status == StatusRetiring {
			return event{}, fmt.Errorf("%w: offering %q of %s (%s) is %s: customers subscribe to published offerings of services in the catalogue",
				itil.ErrInvalidTransition, o.Name, e.Number, e.Status, o.State)
		}
		sub.EntryID, sub.CreatedAt = e.ID, c.Now
		if sub.Start.IsZero() {
			sub.Start = c.Now.UTC()
		}
		if !sub.End.IsZero() && !sub.End.After(sub.Start) {
			return event{}, itil.Invalid("end", "must be after start")
		}
		oc := pipeline.Other(c, s.offeringRunner())
		if o, err = oc.Load(o.ID); err != nil {
			return event{}, err
		}
		o.Subscriptions++
		if err := oc.Save(o, event{Type: EventSubscribed, Summary: sub.Customer + " subscribed", Refs: []itil.ID{sub.ID}}); err != nil {
			return event{}, err
		}
		return event{Type: EventSubscribed, Summary: sub.Customer + " subscribed to " + strconv.Quote(o.Name),
			Refs: []itil.ID{o.ID, e.ID}}, nil
	})
}

// EndSubscription ends the subscription id at at (zero: now); one that
// has ended already, or an end before its start, is refused.
func (s *Service) EndSubscription(ctx context.Context, actor itil.Actor, id itil.ID, at time.Time) (*Subscription, error) {
	if !at.IsZero() {
		var v itil.ValidationError
		check.Time(&v, "end", at)
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	r := s.subscriptionRunner()
	return r.Run(ctx, actor, id, CommandEndSubscription, func(c *pipeline.Cmd[Subscription], sub *Subscription) (event, error) {
		end := at.UTC()
		if at.IsZero() {
			end = c.Now.UTC()
		}
		if !sub.End.IsZero() && !sub.End.After(c.Now) {
			return event{}, fmt.Errorf("%w: the subscription of %s ended already", itil.ErrInvalidTransition, sub.Customer)
		}
		if !sub.End.IsZero() && end.After(sub.End) {
			return event{}, itil.Invalid("end", "is after the end the subscription has: ending does not extend it")
		}
		if !end.After(sub.Start) {
			return event{}, itil.Invalid("end", "must be after the subscription's start")
		}
		sub.End = end
		return event{Type: EventSubscriptionEnded, Summary: "subscription of " + sub.Customer + " ends", Refs: []itil.ID{sub.OfferingID, sub.EntryID}}, nil
	})
}

// Entitlement is one thing a customer gets: the service, the offering
// (its commitments: availability, SLAs, RTO and RPO) and the
// subscription, with its monthly price.
type Entitlement struct {
	Entry        *Entry        `json:"entry"`
	Offering     *Offering     `json:"offering"`
	Subscription *Subscription `json:"subscription"`
	// Monthly is the subscription's price for a month, exact (rounded
	// on a statement).
	Monthly slm.Money `json:"monthly"`
}

// Entitlements answers "what does this customer get, under which SLAs,
// at what price" at the instant at (zero: now): the customer's
// subscriptions running then, with their offerings and services, in the
// order they started. A bad customer gives a *itil.ValidationError.
func (s *Service) Entitlements(ctx context.Context, customer string, at time.Time) ([]Entitlement, error) {
	var v itil.ValidationError
	check.Text(&v, "customer", customer, true, check.Short)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out []Entitlement
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		now := at
		if now.IsZero() {
			var err error
			if now, err = s.run.Clock(); err != nil {
				return err
			}
		}
		for sub, err := range subscriptions.Query(ctx, tx, storage.Query{Kind: KindSubscription,
			Terms: []string{storage.Term("customer", customer)}}) {
			if err != nil {
				return err
			}
			if !sub.ActiveAt(now) {
				continue
			}
			o, err := offerings.Get(ctx, tx, sub.OfferingID)
			if err != nil {
				return err
			}
			e, err := entries.Get(ctx, tx, sub.EntryID)
			if err != nil {
				return err
			}
			out = append(out, Entitlement{Entry: e, Offering: o, Subscription: sub, Monthly: o.Pricing.Monthly(sub.Quantity)})
		}
		return nil
	})
	return out, err
}

// ActiveSubscriptions counts the subscriptions to the entry's offerings
// that run at at or start after it: those a retirement waits for. An
// entry unknown, or without offerings, has none.
func (s *Service) ActiveSubscriptions(ctx context.Context, entryID itil.ID, at time.Time) (int, error) {
	var active int
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		_, active, err = catalogueFacts(ctx, tx, entryID, at)
		return err
	})
	return active, err
}

// catalogueFacts counts, in tx, the entry's offerings not retired and its
// subscriptions active at now, for the portfolio guards.
func catalogueFacts(ctx context.Context, tx storage.Tx, entryID itil.ID, now time.Time) (offered, active int, err error) {
	for o, err := range offerings.Query(ctx, tx, storage.Query{Kind: KindOffering, Terms: []string{storage.Term("entry", entryID.String())}}) {
		if err != nil {
			return 0, 0, err
		}
		if o.State != OfferingRetired {
			offered++
		}
	}
	for sub, err := range subscriptions.Query(ctx, tx, storage.Query{Kind: KindSubscription, Terms: []string{storage.Term("entry", entryID.String())}}) {
		if err != nil {
			return 0, 0, err
		}
		if sub.ActiveAt(now) || sub.Start.After(now) {
			active++
		}
	}
	return offered, active, nil
}
