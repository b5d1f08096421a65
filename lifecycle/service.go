package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/follow"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// Command names, as an Authorizer receives them; Move asks for the
// move's own name (such as "design").
const (
	CommandOpen          = "open"
	CommandUpdateSection = "update_section"
	CommandSetAcceptance = "set_acceptance"
	CommandSetChanges    = "set_changes"
	CommandSetEarlyLife  = "set_early_life"
	// CommandOverrideGate is asked of the Authorizer, besides the move,
	// when a move passes a failed gate by override.
	CommandOverrideGate = "override_gate"
)

// Events journaled on a lifecycle record.
const (
	EventOpened           = "lifecycle.opened"
	EventSectionUpdated   = "lifecycle.section_updated"
	EventAcceptanceSet    = "lifecycle.acceptance_set"
	EventChangesSet       = "lifecycle.changes_set"
	EventEarlyLifeSet     = "lifecycle.early_life_set"
	EventMoved            = "lifecycle.moved"
	EventGateOverridden   = "lifecycle.gate_overridden"
	overrideReasonMaximum = check.Long
)

type config struct {
	clock     itil.Clock
	authorize itil.Authorizer[Record]
	hooks     []storage.Hook
	strategy  *strategy.Service
	cmdb      *cmdb.Service
	change    *change.Service
	incidents *incident.Service
	slm       *slm.Engine
	problems  *problem.Service
	kpi       *follow.Index[kpiFacts] // kpi.go
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

// WithAuthorizer sets who may run which command on which record
// (default: everyone everything). Commands on an initiative ask it with
// the lifecycle record of the initiative's service (its ID and EntryID
// only, not read: the service may have none), or the zero Record for an
// initiative on no service; baselines with the zero Record.
func WithAuthorizer(a itil.Authorizer[Record]) Option {
	return Option{check.Option("authorizer", a != nil, func(cfg *config) { cfg.authorize = a })}
}

// WithHook adds a hook every command on a lifecycle record runs in its
// transaction (initiatives and baselines run none).
func WithHook(h storage.Hook) Option {
	return Option{check.Option("hook", h != nil, func(cfg *config) { cfg.hooks = append(cfg.hooks, h) })}
}

// WithCMDB, WithChange, WithIncidents and WithSLM set the processes the
// gates read: the service's CIs (design → transition, retirement), the
// transition's changes (transition → operation), the incidents and SLA
// compliance of early life support. Each must share the Service's store;
// a gate check that needs one the Service lacks fails and says so.
func WithCMDB(c *cmdb.Service) Option {
	return Option{check.Option("cmdb", c != nil, func(cfg *config) { cfg.cmdb = c })}
}

// WithChange: see WithCMDB.
func WithChange(c *change.Service) Option {
	return Option{check.Option("change", c != nil, func(cfg *config) { cfg.change = c })}
}

// WithIncidents: see WithCMDB.
func WithIncidents(i *incident.Service) Option {
	return Option{check.Option("incidents", i != nil, func(cfg *config) { cfg.incidents = i })}
}

// WithSLM: see WithCMDB.
func WithSLM(e *slm.Engine) Option {
	return Option{check.Option("slm", e != nil, func(cfg *config) { cfg.slm = e })}
}

// Service runs service lifecycles on a store.
type Service struct {
	cfg *config
	run pipeline.Runner[Record]
}

type cmd = pipeline.Cmd[Record]
type event = pipeline.Event

var records = storage.NewCollection(storage.Schema[Record]{
	Kind:    Kind,
	ID:      func(r *Record) itil.ID { return r.ID },
	Version: func(r *Record) *int64 { return &r.Version },
	SortKey: func(r *Record) string { return storage.TimeKey(r.OpenedAt) },
	Terms: func(r *Record, dst []string) []string {
		return append(dst, storage.Term("entry", r.EntryID.String()), storage.Term("stage", string(r.Stage)))
	},
	Clone: copyRecord,
})

var spec = (&pipeline.Spec[Record]{
	Collection: records,
	Clone:      (*Record).clone,
	Touch:      func(r *Record, now time.Time) { r.UpdatedAt = now },
	Snapshot:   Snapshot,
	Skip:       []string{"version", "updated_at"},
}).Init()

// Snapshot is what hooks see of a record.
func Snapshot(r *Record, at time.Time) itil.Snapshot {
	return itil.Snapshot{Kind: Kind, ID: r.ID, Version: r.Version, State: string(r.Stage), Time: at,
		Fields: map[string]string{"entry": r.EntryID.String()}}
}

// New returns the lifecycle Service on store, reading the portfolio
// through strategy (which must share the store). Bad options give a
// *itil.ValidationError naming each.
func New(store storage.Store, portfolio *strategy.Service, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	if portfolio == nil {
		v.Add("strategy", "must not be nil")
	}
	cfg := &config{clock: itil.SystemClock(), strategy: portfolio, kpi: &follow.Index[kpiFacts]{}}
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

// In returns the Service running its commands in the caller's
// transaction tx; the processes it reads are read in tx too.
func (s *Service) In(tx storage.Tx) *Service { return &Service{cfg: s.cfg, run: s.run.In(tx)} }

// IfVersion returns the Service for one command that must find what it
// runs on (the lifecycle record, or the initiative for the register's
// commands) at version v; otherwise it returns itil.ErrStale (an
// itil.ErrConflict), writes nothing and is not retried. Commands that
// create a record (Open, RaiseInitiative, FreezeBaseline) check none;
// through IfVersion they are not retried either.
func (s *Service) IfVersion(v int64) *Service { return &Service{cfg: s.cfg, run: s.run.IfVersion(v)} }

var recordSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/lifecycle#record"))

// RecordID is the ID of the lifecycle record of the portfolio entry
// entryID: one per service, so two instances opening it meet.
func RecordID(entryID itil.ID) itil.ID { return uuid.NewSHA1(recordSpace, entryID[:]) }

// Open starts the lifecycle of the portfolio entry entryID, in the
// strategy stage, with every design package section open and the
// default early life support (DefaultEarlyLife). An unknown entry gives
// an error wrapping itil.ErrNotFound; an entry already open
// itil.ErrConflict.
func (s *Service) Open(ctx context.Context, actor itil.Actor, entryID itil.ID) (*Record, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if entryID == itil.NilID {
		v.Add("entry_id", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := &Record{ID: RecordID(entryID), EntryID: entryID, Stage: StageStrategy, EarlyLife: DefaultEarlyLife()}
	for _, name := range DesignSections() {
		r.Design = append(r.Design, Section{Name: name, State: SectionOpen})
	}
	return s.run.Create(ctx, actor, CommandOpen, r, func(c *cmd, r *Record) (event, error) {
		e, err := s.cfg.strategy.In(c.Tx).Get(c.Ctx, entryID)
		if err != nil {
			return event{}, fmt.Errorf("entry_id: %w", err)
		}
		if r.Number, err = c.Number(Kind, NumberPrefix); err != nil {
			return event{}, err
		}
		r.OpenedAt = c.Now
		return event{Type: EventOpened, Summary: "lifecycle of " + e.Number + " " + strconv.Quote(e.Name) + " opened", Refs: []itil.ID{e.ID}}, nil
	})
}

// Get returns the record id, or an error wrapping itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*Record, error) { return s.run.Get(ctx, id) }

// History returns the record's journal, oldest first.
func (s *Service) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return s.run.History(ctx, id)
}

// SectionPatch changes a design package section; nil fields stay.
type SectionPatch struct {
	Owner    *string
	State    *SectionState
	Evidence *[]string
}

// UpdateSection changes the design package section name of the record
// id, while the service is in strategy or design. An unknown section or
// a bad value gives a *itil.ValidationError; a later stage
// itil.ErrInvalidTransition.
func (s *Service) UpdateSection(ctx context.Context, actor itil.Actor, id itil.ID, name string, p SectionPatch) (*Record, error) {
	if !slices.Contains(DesignSections(), name) {
		return nil, itil.Invalid("section", strconv.Quote(name)+" is not a design package section")
	}
	return s.edit(ctx, actor, id, CommandUpdateSection, func(r *Record) (event, error) {
		sec := r.section(name)
		if p.Owner != nil {
			sec.Owner = *p.Owner
		}
		if p.State != nil {
			sec.State = *p.State
		}
		if p.Evidence != nil {
			sec.Evidence = slices.Clone(*p.Evidence)
		}
		return event{Type: EventSectionUpdated, Summary: "design package: " + name + " " + string(sec.State)}, nil
	}, StageStrategy, StageDesign)
}

// SetAcceptance sets the service acceptance criteria, and whether each
// is met, up to operation. A bad criterion gives a *itil.ValidationError
// naming it; a record in operation or retired itil.ErrInvalidTransition;
// an unknown record itil.ErrNotFound.
func (s *Service) SetAcceptance(ctx context.Context, actor itil.Actor, id itil.ID, criteria []Criterion) (*Record, error) {
	return s.edit(ctx, actor, id, CommandSetAcceptance, func(r *Record) (event, error) {
		r.Acceptance = slices.Clone(criteria)
		met := 0
		for _, c := range criteria {
			if c.Met {
				met++
			}
		}
		return event{Type: EventAcceptanceSet, Summary: fmt.Sprintf("acceptance criteria: %d, %d met", len(criteria), met)}, nil
	}, StageStrategy, StageDesign, StageTransition)
}

// SetChanges sets the changes that transition the service, up to
// operation. An unknown change is found by the gate, which reads them.
// A nil, repeated or too many IDs give a *itil.ValidationError; a record
// in operation or retired itil.ErrInvalidTransition; an unknown record
// itil.ErrNotFound.
func (s *Service) SetChanges(ctx context.Context, actor itil.Actor, id itil.ID, changes []itil.ID) (*Record, error) {
	return s.edit(ctx, actor, id, CommandSetChanges, func(r *Record) (event, error) {
		r.Changes = slices.Clone(changes)
		return event{Type: EventChangesSet, Summary: fmt.Sprintf("%d transition changes", len(changes)), Refs: slices.Clone(changes)}, nil
	}, StageStrategy, StageDesign, StageTransition)
}

// SetEarlyLife sets early life support's exit criteria (its start is
// kept: the move into transition sets it), up to operation. A bad value
// gives a *itil.ValidationError naming it; a record in operation or
// retired itil.ErrInvalidTransition; an unknown record itil.ErrNotFound.
func (s *Service) SetEarlyLife(ctx context.Context, actor itil.Actor, id itil.ID, el EarlyLife) (*Record, error) {
	return s.edit(ctx, actor, id, CommandSetEarlyLife, func(r *Record) (event, error) {
		since := r.EarlyLife.Since
		r.EarlyLife = el
		r.EarlyLife.Priorities = slices.Clone(el.Priorities)
		r.EarlyLife.Since = since
		return event{Type: EventEarlyLifeSet, Summary: fmt.Sprintf("early life support: %d quiet days", el.QuietDays)}, nil
	}, StageStrategy, StageDesign, StageTransition)
}

// edit runs a change of the record's own fields in one of the stages
// allowed, validating the result: a bad value gives a
// *itil.ValidationError and writes nothing.
func (s *Service) edit(ctx context.Context, actor itil.Actor, id itil.ID, command string, change func(*Record) (event, error), allowed ...Stage) (*Record, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.run.Run(ctx, actor, id, command, func(c *cmd, r *Record) (event, error) {
		if !slices.Contains(allowed, r.Stage) {
			return event{}, fmt.Errorf("%w: service lifecycle %s is in %s", itil.ErrInvalidTransition, r.Number, r.Stage)
		}
		ev, err := change(r)
		if err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		if r.validate(&v); v.Err() != nil {
			return event{}, v.Err()
		}
		return ev, nil
	})
}

// Gate judges the gate of move for the record id as things stand, and
// moves nothing. A move its stage does not allow gives an error wrapping
// itil.ErrInvalidTransition; an unknown record itil.ErrNotFound.
func (s *Service) Gate(ctx context.Context, id itil.ID, move string) (*Gate, error) {
	var g *Gate
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		r, err := records.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		now, err := s.run.Clock()
		if err != nil {
			return err
		}
		g, err = s.judge(ctx, tx, r, move, now)
		return err
	})
	return g, err
}

// Move takes the record id to the next stage by the move's name, if its
// gate passes, judged in the move's transaction. A gate that fails gives
// a *GateError (wrapping itil.ErrInvalidTransition) listing the checks
// that failed, unless override gives a reason: the move is then made and
// the override kept on the record, with the failed checks, and journaled.
// The Authorizer is asked for CommandOverrideGate besides the move.
// Moving into transition starts early life support.
func (s *Service) Move(ctx context.Context, actor itil.Actor, id itil.ID, move, override string) (*Record, error) {
	if check.Blank(override) {
		override = ""
	} else {
		var v itil.ValidationError
		check.Text(&v, "override", override, false, overrideReasonMaximum)
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	return s.run.Run(ctx, actor, id, move, func(c *cmd, r *Record) (event, error) {
		g, err := s.judge(c.Ctx, c.Tx, r, move, c.Now)
		if err != nil {
			return event{}, err
		}
		summary := move + ": " + string(g.From) + " → " + string(g.To)
		if !g.Passed() {
			if override == "" {
				return event{}, &GateError{Gate: g}
			}
			// Passing a gate that failed is a decision of its own: the
			// Authorizer is asked for it apart from the move.
			if err := c.Authorize(CommandOverrideGate, r); err != nil {
				return event{}, err
			}
			r.Overrides = append(r.Overrides, Override{Move: move, Reason: override, By: c.Actor, At: c.Now, Failed: g.Failed()})
			summary += " (gate overridden: " + override + ")"
		}
		if err := stages.Apply(&r.Stage, "service lifecycle "+r.Number, move, nil); err != nil {
			return event{}, err
		}
		if r.Stage == StageTransition {
			r.EarlyLife.Since = c.Now
		}
		typ := EventMoved
		if !g.Passed() {
			typ = EventGateOverridden
		}
		return event{Type: typ, Summary: summary, Refs: []itil.ID{r.EntryID}}, nil
	})
}
