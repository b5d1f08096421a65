package problem

import (
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Command names, as an Authorizer receives them. Reanalyze asks the
// Authorizer for CommandReanalyze and, on a Closed problem, for
// CommandReanalyzeClosed as well: the problem manager's decision.
const (
	CommandOpen            = "open"
	CommandUpdate          = "update"
	CommandAssign          = "assign"
	CommandComment         = "comment"
	CommandWorkNote        = "work_note"
	CommandAssess          = "assess"
	CommandConfirm         = "confirm"
	CommandMarkDuplicate   = "mark_duplicate"
	CommandCancel          = "cancel"
	CommandFix             = "fix"
	CommandAcceptRisk      = "accept_risk"
	CommandReanalyze       = "reanalyze"
	CommandReanalyzeClosed = "reanalyze_closed"
	CommandResolve         = "resolve"
	CommandComplete        = "complete"
)

type config struct {
	clock     itil.Clock
	matrix    *itil.PriorityMatrix
	authorize itil.Authorizer[Problem]
	keAuth    itil.Authorizer[KnownError] // WithKnownErrorAuthorizer
	ke        keCMDB                      // WithCMDB, WithCIModel: knownerror_cmdb.go
	hooks     []storage.Hook
	links     linkConfig // links.go
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

// WithPriorityMatrix sets the matrix priorities are derived from (default:
// itil.DefaultPriorityMatrix, as for incidents).
func WithPriorityMatrix(m *itil.PriorityMatrix) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if m == nil {
			v.Add("priority_matrix", "must not be nil; build it with itil.NewPriorityMatrix")
		}
		cfg.matrix = m
	}}
}

// WithAuthorizer installs a check run before every command, on a copy of
// the problem as loaded (for Open: as it would be created). MarkDuplicate
// is authorized on the surviving problem too, which it also changes.
// Reanalyze of a Closed problem is authorized a second time as
// CommandReanalyzeClosed; without an Authorizer nobody may take it.
func WithAuthorizer(a itil.Authorizer[Problem]) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("authorizer", "must not be nil")
		}
		cfg.authorize = a
	}}
}

// WithHook hands a Snapshot of every problem a command writes to h, inside
// the command's transaction (slm.Engine keeps SLA timers so). Hooks run in
// the order given; the hook must work on the Service's store.
func WithHook(h storage.Hook) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if h == nil {
			v.Add("hook", "must not be nil")
		}
		cfg.hooks = append(cfg.hooks, h)
	}}
}

// Service runs problem management commands and queries on one store. It
// is safe for concurrent use and holds no state besides its configuration.
type Service struct {
	cfg *config
	run pipeline.Runner[Problem]
}

// problems is how problems are stored.
var problems = storage.NewCollection(storage.Schema[Problem]{
	Kind:    Kind,
	ID:      func(p *Problem) itil.ID { return p.ID },
	Version: func(p *Problem) *int64 { return &p.Version },
	SortKey: func(p *Problem) string { return storage.TimeKey(p.OpenedAt) },
	Terms:   terms,
	Clone:   copyProblem,
})

var spec = (&pipeline.Spec[Problem]{
	Collection: problems,
	Clone:      (*Problem).clone,
	Touch:      func(p *Problem, now time.Time) { p.UpdatedAt = now },
	Snapshot:   Snapshot,
	Skip:       []string{"version", "updated_at"},
}).Init()

// Index terms of a problem, sorted; List filters map onto them.
func terms(p *Problem, dst []string) []string {
	start := len(dst)
	if p.Assignee != "" {
		dst = append(dst, storage.Term("assignee", p.Assignee))
	}
	for _, ci := range p.CIIDs {
		dst = append(dst, storage.Term("ci", ci.String()))
	}
	if p.Category != "" {
		dst = append(dst, storage.Term("category", p.Category))
	}
	if p.DuplicateOf != itil.NilID {
		dst = append(dst, storage.Term("duplicate_of", p.DuplicateOf.String()))
	}
	for _, r := range p.FixRecords {
		dst = append(dst, fixRecordTerm(r.Kind, r.ID))
	}
	if p.AssignmentGroup != "" {
		dst = append(dst, storage.Term("group", p.AssignmentGroup))
	}
	dst = append(dst, storage.Term("number", p.Number))
	if p.Priority != 0 {
		dst = append(dst, storage.Term("priority", strconv.Itoa(int(p.Priority))))
	}
	if p.ServiceID != itil.NilID {
		dst = append(dst, storage.Term("service", p.ServiceID.String()))
	}
	dst = append(dst, storage.Term("state", string(p.State)))
	slices.Sort(dst[start:])
	return dst
}

// New returns a Service on store. Invalid options are reported together in
// a *itil.ValidationError.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := &config{clock: itil.SystemClock(), matrix: itil.DefaultPriorityMatrix()}
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

// In returns the Service's commands and queries bound to the caller's
// transaction: they neither begin nor commit it and never retry, so that a
// flow across processes is all or nothing. Use it only inside the function
// tx was given to. A command that fails inside tx may have written part of
// its work there already (a hook's records): abort the transaction then,
// by returning the error from the function tx was given to.
func (s *Service) In(tx storage.Tx) *Service { return &Service{cfg: s.cfg, run: s.run.In(tx)} }

// IfVersion returns the Service for one command that must find the problem
// it runs on (the known error, for the commands of its KnownErrors) at
// version v ("only if unchanged since I read it"): otherwise the command
// fails with an error wrapping itil.ErrStale (an itil.ErrConflict) and is
// not retried. Without it, a command that conflicts with a concurrent one
// is run again on the fresh problem (its rules checked again), at most a
// few times.
func (s *Service) IfVersion(v int64) *Service { return &Service{cfg: s.cfg, run: s.run.IfVersion(v)} }
