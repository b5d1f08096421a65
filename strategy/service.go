package strategy

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// Command names, as an Authorizer receives them. Move asks for the move's
// own name (such as "charter").
const (
	CommandPropose             = "propose"
	CommandUpdate              = "update"
	CommandApproveBusinessCase = "approve_business_case"
)

// Events journaled on a portfolio entry.
const (
	EventProposed             = "strategy.proposed"
	EventUpdated              = "strategy.updated"
	EventBusinessCaseApproved = "strategy.business_case_approved"
	EventMoved                = "strategy.moved"
)

type config struct {
	clock     itil.Clock
	authorize itil.Authorizer[Entry]
	hooks     []storage.Hook
	cmdb      *cmdb.Service
	incidents *incident.Service
	slm       *slm.Engine
	change    *change.Service
}

// Option configures a Service; New reports every bad option together.
type Option struct {
	apply func(*config, *itil.ValidationError)
}

// WithClock sets where the Service reads the time (default: the system
// clock).
func WithClock(c itil.Clock) Option {
	return Option{check.Option("clock", c != nil, func(cfg *config) { cfg.clock = c })}
}

// WithAuthorizer sets who may run which command on which entry (default:
// everyone everything). Commands on the other records (offerings,
// subscriptions, costs, budgets, customers, surveys, reviews, feedback,
// demand records) ask it with the zero Entry.
func WithAuthorizer(a itil.Authorizer[Entry]) Option {
	return Option{check.Option("authorizer", a != nil, func(cfg *config) { cfg.authorize = a })}
}

// WithHook adds a hook every command on a portfolio entry runs in its
// transaction.
func WithHook(h storage.Hook) Option {
	return Option{check.Option("hook", h != nil, func(cfg *config) { cfg.hooks = append(cfg.hooks, h) })}
}

// WithCMDB sets the CMDB whose dependencies AllocateCosts rolls costs up
// along. It must share the Service's store.
func WithCMDB(c *cmdb.Service) Option {
	return Option{check.Option("cmdb", c != nil, func(cfg *config) { cfg.cmdb = c })}
}

// WithIncidents sets where AssessValue finds a service's outages when
// none are supplied: the incidents on its CI that record it as down.
func WithIncidents(i *incident.Service) Option {
	return Option{check.Option("incidents", i != nil, func(cfg *config) { cfg.incidents = i })}
}

// WithSLM sets the SLA engine offerings' SLA commitments name
// definitions of: AddOffering and UpdateOffering check they exist, and
// AssessValue reports their compliance.
func WithSLM(e *slm.Engine) Option {
	return Option{check.Option("slm", e != nil, func(cfg *config) { cfg.slm = e })}
}

// WithChange sets the change management whose schedules offerings'
// maintenance windows name: AddOffering and UpdateOffering check they
// exist.
func WithChange(c *change.Service) Option {
	return Option{check.Option("change", c != nil, func(cfg *config) { cfg.change = c })}
}

// Service runs the service portfolio on a store.
type Service struct {
	cfg *config
	run pipeline.Runner[Entry]
}

type cmd = pipeline.Cmd[Entry]
type event = pipeline.Event

var entries = storage.NewCollection(storage.Schema[Entry]{
	Kind:    Kind,
	ID:      func(e *Entry) itil.ID { return e.ID },
	Version: func(e *Entry) *int64 { return &e.Version },
	SortKey: func(e *Entry) string { return storage.TimeKey(e.ProposedAt) },
	Terms:   terms,
	Clone:   copyEntry,
})

var spec = (&pipeline.Spec[Entry]{
	Collection: entries,
	Clone:      (*Entry).clone,
	Touch:      func(e *Entry, now time.Time) { e.UpdatedAt = now },
	Snapshot:   Snapshot,
	Skip:       []string{"version", "updated_at"},
}).Init()

// Index terms of an entry, sorted; the views' filters map onto them.
func terms(e *Entry, dst []string) []string {
	start := len(dst)
	dst = append(dst, storage.Term("number", e.Number), storage.Term("phase", string(e.Phase())),
		storage.Term("status", string(e.Status)), storage.Term("type", string(e.Type)))
	if e.Owner != "" {
		dst = append(dst, storage.Term("owner", e.Owner))
	}
	if e.ServiceCIID != itil.NilID {
		dst = append(dst, storage.Term("ci", e.ServiceCIID.String()))
	}
	slices.Sort(dst[start:])
	return dst
}

// Snapshot is what hooks see of an entry.
func Snapshot(e *Entry, at time.Time) itil.Snapshot {
	return itil.Snapshot{Kind: Kind, ID: e.ID, Version: e.Version, State: string(e.Status), Time: at,
		Fields: map[string]string{"phase": string(e.Phase()), "type": string(e.Type), "owner": e.Owner, "name": e.Name}}
}

// New returns the portfolio Service on store. Bad options give a
// *itil.ValidationError naming each.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := &config{clock: itil.SystemClock()}
	check.Options(&v, opts, func(o Option) bool {
		if o.apply == nil {
			return false
		}
		o.apply(cfg, &v)
		return true
	})
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, run: pipeline.New(spec, store, cfg.clock, cfg.authorize, cfg.hooks)}, nil
}

// In returns the Service running its commands in the caller's transaction
// tx: a command that fails may leave part of its work in it, so the
// caller must then abort the transaction.
func (s *Service) In(tx storage.Tx) *Service { return &Service{cfg: s.cfg, run: s.run.In(tx)} }

// IfVersion returns the Service for one command that must find the record
// it runs on (the entry, or the offering, subscription or other record the
// command names) at version v; otherwise it returns itil.ErrStale (an
// itil.ErrConflict), writes nothing and is not retried. Commands that
// create a record check none; through IfVersion they are not retried
// either.
func (s *Service) IfVersion(v int64) *Service { return &Service{cfg: s.cfg, run: s.run.IfVersion(v)} }

// Propose adds a service to the portfolio's pipeline, in requirements. A
// bad entry gives a *itil.ValidationError naming every bad field.
func (s *Service) Propose(ctx context.Context, actor itil.Actor, in NewEntry) (*Entry, error) {
	e := &Entry{ID: itil.NewID(), Name: in.Name, Description: in.Description, Type: in.Type, Owner: in.Owner,
		BusinessCase: in.BusinessCase, ServiceCIID: in.ServiceCIID, Status: StatusRequirements, ProposedBy: actor}
	e.BusinessCase.ApprovedBy, e.BusinessCase.ApprovedAt = itil.Actor{}, time.Time{} // approved by ApproveBusinessCase only
	e.BusinessCase.ExpectedOutcomes = slices.Clone(in.BusinessCase.ExpectedOutcomes)
	var v itil.ValidationError
	actor.Validate("actor", &v)
	e.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.run.Create(ctx, actor, CommandPropose, e, func(c *cmd, e *Entry) (event, error) {
		num, err := c.Number(Kind, NumberPrefix)
		if err != nil {
			return event{}, err
		}
		e.Number, e.ProposedAt = num, c.Now
		return event{Type: EventProposed, Summary: "proposed " + e.Number + " " + strconv.Quote(e.Name)}, nil
	})
}

// EntryPatch changes an entry's fields; nil fields stay as they are.
// Changing the business case withdraws its approval.
type EntryPatch struct {
	Name         *string
	Description  *string
	Owner        *string
	BusinessCase *BusinessCase
	ServiceCIID  *itil.ID
}

// Update changes the entry id's fields. A retired entry cannot be
// changed, nor the business case of a chartered one, nor the owner of a
// catalogue service removed (itil.ErrInvalidTransition); a bad value gives a
// *itil.ValidationError; an unknown entry an error wrapping
// itil.ErrNotFound.
func (s *Service) Update(ctx context.Context, actor itil.Actor, id itil.ID, p EntryPatch) (*Entry, error) {
	return s.run.Run(ctx, actor, id, CommandUpdate, func(c *cmd, e *Entry) (event, error) {
		if e.Phase() == PhaseRetired {
			return event{}, fmt.Errorf("%w: service %s is retired", itil.ErrInvalidTransition, e.Number)
		}
		if p.Name != nil {
			e.Name = *p.Name
		}
		if p.Description != nil {
			e.Description = *p.Description
		}
		if p.Owner != nil {
			if *p.Owner == "" && e.Phase() == PhaseCatalogue {
				return event{}, fmt.Errorf("%w: service %s is in the catalogue: it keeps an owner", itil.ErrInvalidTransition, e.Number)
			}
			e.Owner = *p.Owner
		}
		if p.BusinessCase != nil && (e.Status == StatusChartered || e.Phase() != PhasePipeline) {
			return event{}, fmt.Errorf("%w: service %s is chartered: its business case is settled", itil.ErrInvalidTransition, e.Number)
		}
		if p.BusinessCase != nil {
			e.BusinessCase = *p.BusinessCase
			e.BusinessCase.ExpectedOutcomes = slices.Clone(p.BusinessCase.ExpectedOutcomes)
			e.BusinessCase.ApprovedBy, e.BusinessCase.ApprovedAt = itil.Actor{}, time.Time{}
		}
		if p.ServiceCIID != nil {
			e.ServiceCIID = *p.ServiceCIID
		}
		var v itil.ValidationError
		e.validate(&v)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		return event{Type: EventUpdated, Summary: "updated " + e.Number}, nil
	})
}

// ApproveBusinessCase approves the entry's business case, which chartering
// the service needs. A business case without an expected outcome, value
// or cost gives a *itil.ValidationError; an entry past the pipeline
// itil.ErrInvalidTransition.
func (s *Service) ApproveBusinessCase(ctx context.Context, actor itil.Actor, id itil.ID) (*Entry, error) {
	return s.run.Run(ctx, actor, id, CommandApproveBusinessCase, func(c *cmd, e *Entry) (event, error) {
		if e.Phase() != PhasePipeline {
			return event{}, fmt.Errorf("%w: service %s is past the pipeline: its business case was settled", itil.ErrInvalidTransition, e.Number)
		}
		var v itil.ValidationError
		bc := &e.BusinessCase
		if bc.Approved() {
			return event{Type: EventBusinessCaseApproved}, nil // as it is: nothing written
		}
		if len(bc.ExpectedOutcomes) == 0 {
			v.Add("business_case.expected_outcomes", "is required to approve the business case")
		}
		if bc.ExpectedValue.Currency == "" {
			v.Add("business_case.expected_value", "is required to approve the business case")
		}
		if bc.ExpectedCost.Currency == "" {
			v.Add("business_case.expected_cost", "is required to approve the business case")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		bc.ApprovedBy, bc.ApprovedAt = c.Actor, c.Now
		return event{Type: EventBusinessCaseApproved, Summary: "business case of " + e.Number + " approved"}, nil
	})
}

// Move takes the entry id one step along the portfolio lifecycle
// (PortfolioLifecycle), by the move's name, after its guard (see the
// package doc): a move its status does not allow gives an error wrapping
// itil.ErrInvalidTransition, a guard that fails a *itil.ValidationError
// naming what is missing. reason is the override reason a retirement
// with active subscriptions needs, and is kept on the entry.
func (s *Service) Move(ctx context.Context, actor itil.Actor, id itil.ID, move, reason string) (*Entry, error) {
	if check.Blank(reason) {
		reason = ""
	} else {
		var v itil.ValidationError
		check.Text(&v, "reason", reason, false, check.Long)
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	return s.run.Run(ctx, actor, id, move, func(c *cmd, e *Entry) (event, error) {
		from := e.Status
		offered, active, err := catalogueFacts(c.Ctx, c.Tx, e.ID, c.Now) // catalogue.go
		if err != nil {
			return event{}, err
		}
		f := portfolioFacts{Owner: e.Owner, BusinessCaseApproved: e.BusinessCase.Approved(), OverrideReason: reason,
			Offerings: offered, ActiveSubscriptions: active}
		if err := portfolio.Apply(&e.Status, "service "+e.Number, move, func() error { return portfolioGuard(move, f) }); err != nil {
			return event{}, err
		}
		if move == MoveRetire && reason != "" {
			e.RetireOverride = reason
		}
		return event{Type: EventMoved, Summary: move + ": " + string(from) + " → " + string(e.Status), Reason: reason}, nil
	})
}

// Get returns the entry id, or an error wrapping itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*Entry, error) { return s.run.Get(ctx, id) }

// History returns the entry's journal, oldest first.
func (s *Service) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return s.run.History(ctx, id)
}

// EntryFilter selects portfolio entries: every field set must match (a
// list matches any of its values).
type EntryFilter struct {
	Statuses []Status
	Types    []ServiceType
	Owner    string
}

// Pipeline, Catalogue and Retired return the portfolio's entries in each
// phase that f selects, in the order they were proposed. A bad filter (a
// status of another phase, an unknown type) is yielded as a
// *itil.ValidationError.
func (s *Service) Pipeline(ctx context.Context, f EntryFilter) iter.Seq2[*Entry, error] {
	return s.view(ctx, PhasePipeline, f)
}

// Catalogue: see Pipeline.
func (s *Service) Catalogue(ctx context.Context, f EntryFilter) iter.Seq2[*Entry, error] {
	return s.view(ctx, PhaseCatalogue, f)
}

// Retired: see Pipeline.
func (s *Service) Retired(ctx context.Context, f EntryFilter) iter.Seq2[*Entry, error] {
	return s.view(ctx, PhaseRetired, f)
}

func (s *Service) view(ctx context.Context, phase Phase, f EntryFilter) iter.Seq2[*Entry, error] {
	var v itil.ValidationError
	q := pipeline.Query[Entry]{Terms: []string{storage.Term("phase", string(phase))}}
	if len(f.Statuses) > 0 {
		var any []string
		for i, st := range f.Statuses {
			if st.Phase() != phase {
				v.Add("statuses["+itoa(i)+"]", "is not a status of the "+string(phase))
			}
			any = append(any, storage.Term("status", string(st)))
		}
		q.AnyOf = append(q.AnyOf, any)
	}
	if len(f.Types) > 0 {
		var any []string
		for i, t := range f.Types {
			if t != BusinessService && t != TechnicalService {
				v.Add("types["+itoa(i)+"]", "must be business or technical")
			}
			any = append(any, storage.Term("type", string(t)))
		}
		q.AnyOf = append(q.AnyOf, any)
	}
	if f.Owner != "" {
		check.Text(&v, "owner", f.Owner, false, check.Short)
		q.Terms = append(q.Terms, storage.Term("owner", f.Owner))
	}
	return s.run.ListQuery(ctx, q, v.Err())
}

func itoa(i int) string { return strconv.Itoa(i) }

// sibling is the runner of another kind of record the Service keeps
// (offerings, subscriptions, costs, surveys...): the Service's Authorizer
// is asked with the command and the zero Entry, as these records concern
// no one entry or more than one. Hooks run on entries only.
func sibling[T any](s *Service, spec *pipeline.Spec[T]) pipeline.Runner[T] {
	var auth itil.Authorizer[T]
	if a := s.cfg.authorize; a != nil {
		auth = func(ctx context.Context, actor itil.Actor, command string, _ *T) error {
			return a(ctx, actor, command, &Entry{})
		}
	}
	return pipeline.Sibling(s.run, spec, auth, nil)
}
