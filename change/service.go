package change

import (
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/follow"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
)

// Command names, as an Authorizer receives them. Move asks for the move's
// own name (the transition's event, such as "assess" or "schedule").
const (
	CommandOpen   = "open"
	CommandUpdate = "update"
	CommandAssign = "assign"
	CommandClose  = MoveClose
	CommandCancel = MoveCancel
)

type config struct {
	clock         itil.Clock
	models        map[string]*compiled
	authorize     itil.Authorizer[Change]
	hooks         []storage.Hook
	problems      *problem.Service // fixes.go
	directory     Directory        // approving.go
	rules         ApprovalRules
	ruleWhen      []func(*Facts) bool // rules' conditions, compiled
	noSoD         bool
	risk          *RiskAssessor     // assess.go
	cmdb          *cmdb.Service     // cmdb.go
	incidents     *incident.Service // incidents.go
	scoring       SuccessScoring    // success.go
	detection     ConflictDetection // schedule_check.go
	conflictRules []ConflictRule    // schedule_enforce.go
	checkRules    bool
	live          *follow.Index[liveIndex] // schedule_live.go
}

// Option configures a Service; New reports every bad option together.
type Option struct {
	apply func(*config, *itil.ValidationError)
}

// WithClock sets where the Service reads the time (default: the system
// clock).
func WithClock(c itil.Clock) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		cfg.clock = c
	}}
}

// WithModels adds change models to the defaults (DefaultModels); a model
// named as a default replaces it. Each is validated (Model.Validate), its
// problems named under "models[i]".
func WithModels(models ...Model) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		seen := map[string]bool{}
		for i, m := range models {
			at := "models[" + strconv.Itoa(i) + "]."
			m.validate(v, at)
			if seen[m.Name] {
				v.Add(at+"name", "names a model given before")
			}
			seen[m.Name] = true
			if c, err := compile(m); err == nil {
				cfg.models[m.Name] = c
			}
		}
	}}
}

// WithAuthorizer installs a check run before every command, on a copy of
// the change as loaded (for Open: as it would be created). Template
// commands give it the change a template would make; the commands that
// concern no one change (boards, meetings, delegations) give it the zero
// Change, with their own command names (CommandCreateBoard,
// CommandRecordMinutes, CommandDelegate, ...).
func WithAuthorizer(a itil.Authorizer[Change]) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("authorizer", "must not be nil")
		}
		cfg.authorize = a
	}}
}

// WithHook hands a Snapshot of every change a command writes to h, inside
// the command's transaction. Hooks run in the order given; the hook must
// work on the Service's store.
func WithHook(h storage.Hook) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if h == nil {
			v.Add("hook", "must not be nil")
		}
		cfg.hooks = append(cfg.hooks, h)
	}}
}

// Service runs change enablement commands and queries on one store. It is
// safe for concurrent use and holds no state besides its configuration.
type Service struct {
	cfg *config
	run pipeline.Runner[Change]
}

// changes is how changes are stored.
var changes = storage.NewCollection(storage.Schema[Change]{
	Kind:    Kind,
	ID:      func(c *Change) itil.ID { return c.ID },
	Version: func(c *Change) *int64 { return &c.Version },
	SortKey: func(c *Change) string { return storage.TimeKey(c.OpenedAt) },
	Terms:   terms,
	Clone:   copyChange,
})

var spec = (&pipeline.Spec[Change]{
	Collection: changes,
	Clone:      (*Change).clone,
	Touch:      func(c *Change, now time.Time) { c.UpdatedAt = now },
	Snapshot:   Snapshot,
	Skip:       []string{"version", "updated_at"},
}).Init()

// Index terms of a change, sorted; List filters map onto them.
func terms(c *Change, dst []string) []string {
	start := len(dst)
	if c.Assignee != "" {
		dst = append(dst, storage.Term("assignee", c.Assignee))
	}
	if c.CIID != itil.NilID {
		dst = append(dst, storage.Term("ci", c.CIID.String()))
	}
	for _, ci := range c.CIIDs {
		dst = append(dst, storage.Term("ci", ci.String()))
	}
	if c.AssignmentGroup != "" {
		dst = append(dst, storage.Term("group", c.AssignmentGroup))
	}
	dst = append(dst, storage.Term("model", c.Model))
	dst = append(dst, storage.Term("number", c.Number))
	for _, p := range c.Fixes {
		dst = append(dst, storage.Term("fixes", p.String()))
	}
	for _, a := range c.AffectedServices {
		dst = append(dst, storage.Term("service", a.ServiceID.String()))
	}
	dst = append(dst, storage.Term("state", string(c.State)))
	slices.Sort(dst[start:])
	return dst
}

// Snapshot describes a change at time at to hooks (slm.Engine evaluates
// SLA conditions on it): its state, and as fields its phase (running,
// done or canceled), model, risk, group, assignee, close code and opening
// time.
func Snapshot(c *Change, at time.Time) itil.Snapshot {
	phase := "running"
	switch c.State {
	case StateClosed:
		phase = "done"
	case StateCanceled:
		phase = "canceled"
	}
	return itil.Snapshot{
		Kind: Kind, ID: c.ID, Version: c.Version, State: string(c.State), Time: at,
		Fields: map[string]string{
			"phase": phase, "model": c.Model, "risk": c.Risk.String(), "assignment_group": c.AssignmentGroup,
			"assignee": c.Assignee, "close_code": string(c.CloseCode),
			"opened_at": c.OpenedAt.UTC().Format(time.RFC3339Nano),
		},
	}
}

// New returns a Service on store with the default change models and those
// WithModels adds. Invalid options are reported together in a
// *itil.ValidationError.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := &config{clock: itil.SystemClock(), models: map[string]*compiled{}, scoring: DefaultSuccessScoring(), live: &follow.Index[liveIndex]{}}
	cfg.setRules(DefaultApprovalRules())
	cfg.conflictRules = DefaultConflictRules()
	for _, m := range DefaultModels() {
		c, err := compile(m)
		if err != nil {
			panic(err) // the defaults are tested
		}
		cfg.models[m.Name] = c
	}
	var err error
	if cfg.risk, err = DefaultRiskModel().Compile(); err != nil {
		panic(err) // the default is tested
	}
	check.Options(&v, opts, func(o Option) bool {
		if o.apply == nil {
			return false
		}
		o.apply(cfg, &v)
		return true
	})
	if cfg.checkRules {
		cfg.checkConflictRules(&v) // once every model is known
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, run: pipeline.New(spec, store, cfg.clock, cfg.authorize, cfg.hooks)}, nil
}

// In returns the Service's commands and queries bound to the caller's
// transaction tx: they commit or roll back with it and are not retried on
// a conflict.
func (s *Service) In(tx storage.Tx) *Service { return &Service{cfg: s.cfg, run: s.run.In(tx)} }

// IfVersion returns the Service for one command that must find the record
// it runs on at version v; otherwise the command returns itil.ErrStale (an
// itil.ErrConflict), writes nothing and is not retried. The record is the
// change for the commands taking a change's ID (Move, Update, Approve,
// LinkIncident…), and the task, schedule, template, board or meeting for
// the commands on those: each has a version of its own. Commands that
// create a record, and the delegations (which have no version), check
// none; through IfVersion they are not retried either.
func (s *Service) IfVersion(v int64) *Service { return &Service{cfg: s.cfg, run: s.run.IfVersion(v)} }

// Models returns the names of the Service's change models, sorted.
func (s *Service) Models() []string {
	out := make([]string, 0, len(s.cfg.models))
	for name := range s.cfg.models {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Model returns a copy of the model named name, and false when the Service
// has none.
func (s *Service) Model(name string) (Model, bool) {
	c, ok := s.cfg.models[name]
	if !ok {
		return Model{}, false
	}
	m := c.Model
	m.Transitions = itil.CloneTransitions(m.Transitions)
	m.ApprovalStates = slices.Clone(m.ApprovalStates)
	m.PlannedStates = slices.Clone(m.PlannedStates)
	m.CIChangeStates = slices.Clone(m.CIChangeStates)
	m.RiskStates = slices.Clone(m.RiskStates)
	return m, true // ReviewRequired and TemplateOnly copy with m
}
