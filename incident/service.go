package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Command names, as an Authorizer receives them. AutoClose runs
// CommandClose as itil.System.
const (
	CommandOpen             = "open"
	CommandUpdate           = "update"
	CommandAssign           = "assign"
	CommandEscalate         = "escalate"
	CommandHold             = "hold"
	CommandResume           = "resume"
	CommandComment          = "comment"
	CommandWorkNote         = "work_note"
	CommandOverridePriority = "override_priority"
	CommandRestorePriority  = "restore_priority"
	CommandPromoteMajor     = "promote_major"
	CommandLink             = "link"
	CommandResolve          = "resolve"
	CommandClose            = "close"
	CommandReopen           = "reopen"
	CommandCancel           = "cancel"
)

type config struct {
	clock        itil.Clock
	matrix       *itil.PriorityMatrix
	codeList     []string
	codes        map[string]bool
	reopenWindow time.Duration
	autoClose    time.Duration
	maxLevel     int
	authorize    itil.Authorizer[Incident]
	hooks        []storage.Hook
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
// itil.DefaultPriorityMatrix).
func WithPriorityMatrix(m *itil.PriorityMatrix) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if m == nil {
			v.Add("priority_matrix", "must not be nil; build it with itil.NewPriorityMatrix")
		}
		cfg.matrix = m
	}}
}

// WithResolutionCodes replaces the accepted resolution codes (default:
// DefaultResolutionCodes()).
func WithResolutionCodes(codes ...string) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if len(codes) == 0 {
			v.Add("resolution_codes", "must list at least one code")
		}
		cfg.codeList = nil
		for _, c := range codes {
			check.Text(v, "resolution_codes", c, true, check.Short)
			if slices.Contains(cfg.codeList, c) {
				v.Add("resolution_codes", fmt.Sprintf("lists %q twice", c))
			}
			cfg.codeList = append(cfg.codeList, c)
		}
	}}
}

// WithReopenWindow sets how long after resolution an incident may be
// reopened (default 7 days). An incident can be reopened only until it is
// closed, so with AutoClose the shorter of the two delays applies.
func WithReopenWindow(d time.Duration) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if d <= 0 {
			v.Add("reopen_window", "must be positive")
		}
		cfg.reopenWindow = d
	}}
}

// WithAutoCloseAfter sets how long a resolved incident waits before
// AutoClose closes it (default 3 days).
func WithAutoCloseAfter(d time.Duration) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if d <= 0 {
			v.Add("auto_close_after", "must be positive")
		}
		cfg.autoClose = d
	}}
}

// WithMaxEscalationLevel sets the highest hierarchical escalation level
// (default 3; levels run from 0, not escalated, to the maximum).
func WithMaxEscalationLevel(n int) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if n < 1 {
			v.Add("max_escalation_level", "must be at least 1")
		}
		cfg.maxLevel = n
	}}
}

// WithAuthorizer installs a check run before every command, on a copy of
// the incident as loaded (for Open: as it would be created). Link is
// authorized on both the child and the parent, which it also changes.
// Incidents a command changes in cascade (the children of a resolved or
// closed parent) are covered by the parent's authorization.
func WithAuthorizer(a itil.Authorizer[Incident]) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("authorizer", "must not be nil")
		}
		cfg.authorize = a
	}}
}

// WithHook hands a Snapshot of every incident a command writes (cascades
// included) to h, inside the command's transaction: slm.Engine keeps SLA
// timers so, atomically with the incident. Hooks run in the order given;
// the hook must work on the Service's store.
func WithHook(h storage.Hook) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if h == nil {
			v.Add("hook", "must not be nil")
		}
		cfg.hooks = append(cfg.hooks, h)
	}}
}

// Service runs incident management commands and queries on one store. It
// is safe for concurrent use and holds no state besides its configuration.
type Service struct {
	cfg *config
	run pipeline.Runner[Incident]
}

// incidents is how incidents are stored. Its decode cache is shared by
// every Service in the process; a hit needs byte-identical stored data, so
// sharing across stores and tenants is safe.
var incidents = storage.NewCollection(storage.Schema[Incident]{
	Kind:    Kind,
	ID:      func(i *Incident) itil.ID { return i.ID },
	Version: func(i *Incident) *int64 { return &i.Version },
	SortKey: func(i *Incident) string { return storage.TimeKey(i.OpenedAt) },
	Terms:   terms,
	Clone:   copyIncident,
})

var spec = (&pipeline.Spec[Incident]{
	Collection: incidents,
	Clone:      (*Incident).clone,
	Touch:      func(i *Incident, now time.Time) { i.UpdatedAt = now },
	Snapshot:   Snapshot,
	Skip:       []string{"version", "updated_at"},
}).Init()

// Index terms of an incident; List filters map onto them. They are built in
// field order, so the backend finds them sorted, and cut from one string,
// so a save allocates once for all of them.
func terms(i *Incident, dst []string) []string {
	var buf [384]byte
	var endBuf [14]int
	b, ends := buf[:0], endBuf[:0]
	cut := func() { ends = append(ends, len(b)) }
	if i.Assignee != "" {
		b = append(b, "assignee="...)
		b = append(b, i.Assignee...)
		cut()
	}
	if i.CausedBy != itil.NilID {
		b = pipeline.AppendID(append(b, "caused_by="...), i.CausedBy)
		cut()
	}
	if i.ChangeID != itil.NilID {
		b = pipeline.AppendID(append(b, "change="...), i.ChangeID)
		cut()
	}
	if i.CIID != itil.NilID {
		b = pipeline.AppendID(append(b, "ci="...), i.CIID)
		cut()
	}
	if i.AssignmentGroup != "" {
		b = append(b, "group="...)
		b = append(b, i.AssignmentGroup...)
		cut()
	}
	if i.Major {
		b = append(b, "major=true"...)
		cut()
	}
	b = append(b, "number="...)
	b = append(b, i.Number...)
	cut()
	if i.ParentID != itil.NilID {
		b = pipeline.AppendID(append(b, "parent="...), i.ParentID)
		cut()
	}
	b = strconv.AppendInt(append(b, "priority="...), int64(i.Priority), 10)
	cut()
	if i.ProblemID != itil.NilID {
		b = pipeline.AppendID(append(b, "problem="...), i.ProblemID)
		cut()
	}
	if i.ServiceID != itil.NilID {
		b = pipeline.AppendID(append(b, "service="...), i.ServiceID)
		cut()
	}
	b = append(b, "state="...)
	b = append(b, i.State...)
	cut()
	all, start := string(b), 0
	dst = slices.Grow(dst, len(ends))
	for _, end := range ends {
		dst = append(dst, all[start:end])
		start = end
	}
	return dst
}

// New returns a Service on store. Invalid options are reported together in
// a *itil.ValidationError.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := &config{
		clock:        itil.SystemClock(),
		matrix:       itil.DefaultPriorityMatrix(),
		codeList:     DefaultResolutionCodes(),
		reopenWindow: 7 * 24 * time.Hour,
		autoClose:    3 * 24 * time.Hour,
		maxLevel:     3,
	}
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
	cfg.codes = make(map[string]bool, len(cfg.codeList))
	for _, c := range cfg.codeList {
		cfg.codes[c] = true
	}
	return &Service{cfg: cfg, run: pipeline.New(spec, store, cfg.clock, cfg.authorize, cfg.hooks)}, nil
}

// In returns the Service's commands and queries bound to the caller's
// transaction: they neither begin nor commit it and never retry, so that a
// flow across processes (a problem's fix resolving its incidents) is all or
// nothing. Use it only inside the function tx was given to. A command that fails
// inside tx may have written part of its work there already (a cascade, a
// hook's records): abort the transaction then, by returning the error from
// the function tx was given to, as a database aborts a transaction after a
// failed statement.
func (s *Service) In(tx storage.Tx) *Service { return &Service{cfg: s.cfg, run: s.run.In(tx)} }

// ResolutionCodes returns the Service's resolution codes (see
// WithResolutionCodes), in the order given: those Resolve accepts, and
// KnownErrorCode, which only ResolveKnownError sets.
func (s *Service) ResolutionCodes() []string { return slices.Clone(s.cfg.codeList) }

// IfVersion returns the Service for one command that must find the
// incident it runs on (the child, for LinkChild) at version v ("only if
// unchanged since I read it"): otherwise the command fails with an error
// wrapping itil.ErrStale (and so itil.ErrConflict) and is not retried.
// Without it, a command that conflicts with a concurrent one is run again
// on the fresh incident (its rules checked again), at most a few times.
func (s *Service) IfVersion(v int64) *Service { return &Service{cfg: s.cfg, run: s.run.IfVersion(v)} }

// AutoClose closes every Resolved incident resolved at least the configured
// auto-close delay ago, as itil.System, each in its own transaction. It is
// idempotent: incidents closed, reopened or changed concurrently are
// skipped. An incident that cannot be closed does not stop the sweep: its
// error is joined into the one returned with the count of incidents closed.
func (s *Service) AutoClose(ctx context.Context) (int, error) {
	now, err := s.run.Clock()
	if err != nil {
		return 0, err
	}
	cutoff := now.Add(-s.cfg.autoClose)
	var due []itil.ID
	for inc, err := range s.List(ctx, Filter{States: []State{StateResolved}}) {
		if err != nil {
			return 0, err
		}
		if !inc.ResolvedAt.After(cutoff) {
			due = append(due, inc.ID)
		}
	}
	closed := 0
	var errs []error
	for _, id := range due {
		if err := ctx.Err(); err != nil {
			return closed, errors.Join(append(errs, err)...)
		}
		_, err := s.run.Run(ctx, itil.System, id, CommandClose, func(c *pipeline.Cmd[Incident], inc *Incident) (pipeline.Event, error) {
			if inc.State != StateResolved || inc.ResolvedAt.After(c.Now.Add(-s.cfg.autoClose)) {
				return pipeline.Event{}, errSkip
			}
			return s.closeBody(c, inc)
		})
		switch {
		case err == nil:
			closed++
		case errors.Is(err, errSkip), errors.Is(err, itil.ErrConflict), errors.Is(err, itil.ErrNotFound):
		default:
			errs = append(errs, fmt.Errorf("auto-close %s: %w", id, err))
		}
	}
	return closed, errors.Join(errs...)
}

var errSkip = errors.New("skip")
