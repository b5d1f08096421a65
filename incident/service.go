package incident

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// Authorizer decides whether actor may run command on inc. A non-nil error
// rejects the command; the Service wraps it with itil.ErrForbidden.
//
// command is one of open, update, assign, escalate, hold, resume, comment,
// work_note, override_priority, restore_priority, promote_major, link,
// resolve, close, reopen and cancel (AutoClose runs close as itil.System).
// inc is a copy of the incident as loaded (for open: as it would be
// created). Link is authorized on both the child and the parent, which it
// also changes. Incidents a command changes in cascade (the children of a
// resolved or closed parent) are covered by the parent's authorization. The incident is loaded
// before the check, so an unknown ID gives itil.ErrNotFound, not
// itil.ErrForbidden.
type Authorizer func(ctx context.Context, actor itil.Actor, command string, inc *Incident) error

type config struct {
	clock        itil.Clock
	matrix       *itil.PriorityMatrix
	codeList     []string
	codes        map[string]bool
	reopenWindow time.Duration
	autoClose    time.Duration
	maxLevel     int
	authorize    Authorizer
	sla          *slm.Engine
}

// Option configures a Service.
type Option func(*config, *itil.ValidationError)

// WithClock sets where the Service reads the time (default: the system
// clock).
func WithClock(c itil.Clock) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		cfg.clock = c
	}
}

// WithPriorityMatrix sets the matrix priorities are derived from (default:
// itil.DefaultPriorityMatrix).
func WithPriorityMatrix(m *itil.PriorityMatrix) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if m == nil {
			v.Add("priority_matrix", "must not be nil; build it with itil.NewPriorityMatrix")
		}
		cfg.matrix = m
	}
}

// WithResolutionCodes replaces the accepted resolution codes (default:
// DefaultResolutionCodes()).
func WithResolutionCodes(codes ...string) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if len(codes) == 0 {
			v.Add("resolution_codes", "must list at least one code")
		}
		cfg.codeList = nil
		for _, c := range codes {
			checkText(v, "resolution_codes", c, true, maxTitle)
			if slices.Contains(cfg.codeList, c) {
				v.Add("resolution_codes", fmt.Sprintf("lists %q twice", c))
			}
			cfg.codeList = append(cfg.codeList, c)
		}
	}
}

// WithReopenWindow sets how long after resolution an incident may be
// reopened (default 7 days). An incident can be reopened only until it is
// closed, so with AutoClose the shorter of the two delays applies.
func WithReopenWindow(d time.Duration) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if d <= 0 {
			v.Add("reopen_window", "must be positive")
		}
		cfg.reopenWindow = d
	}
}

// WithAutoCloseAfter sets how long a resolved incident waits before
// AutoClose closes it (default 3 days).
func WithAutoCloseAfter(d time.Duration) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if d <= 0 {
			v.Add("auto_close_after", "must be positive")
		}
		cfg.autoClose = d
	}
}

// WithMaxEscalationLevel sets the highest hierarchical escalation level
// (default 3; levels run from 0, not escalated, to the maximum).
func WithMaxEscalationLevel(n int) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if n < 1 {
			v.Add("max_escalation_level", "must be at least 1")
		}
		cfg.maxLevel = n
	}
}

// WithAuthorizer installs a check run before every command.
func WithAuthorizer(a Authorizer) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("authorizer", "must not be nil")
		}
		cfg.authorize = a
	}
}

// Service runs incident management commands and queries on one store. It is
// safe for concurrent use and holds no state besides its configuration.
type Service struct {
	store storage.Store
	cfg   config
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

// Index terms of an incident; List filters map onto them. They are built in
// field order, so the backend finds them sorted, and cut from one string,
// so a save allocates once for all of them.
func terms(i *Incident, dst []string) []string {
	var buf [384]byte
	var endBuf [12]int
	b, ends := buf[:0], endBuf[:0]
	cut := func() { ends = append(ends, len(b)) }
	if i.Assignee != "" {
		b = append(b, "assignee="...)
		b = append(b, i.Assignee...)
		cut()
	}
	if i.CIID != itil.NilID {
		b = appendID(append(b, "ci="...), i.CIID)
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
		b = appendID(append(b, "parent="...), i.ParentID)
		cut()
	}
	b = strconv.AppendInt(append(b, "priority="...), int64(i.Priority), 10)
	cut()
	if i.ServiceID != itil.NilID {
		b = appendID(append(b, "service="...), i.ServiceID)
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

// appendID appends the canonical text form of an ID, as id.String() returns
// it, without allocating.
func appendID(b []byte, id itil.ID) []byte {
	const hexDigits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// New returns a Service on store. Invalid options are reported together in
// a *itil.ValidationError.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := config{
		clock:        itil.SystemClock(),
		matrix:       itil.DefaultPriorityMatrix(),
		codeList:     DefaultResolutionCodes(),
		reopenWindow: 7 * 24 * time.Hour,
		autoClose:    3 * 24 * time.Hour,
		maxLevel:     3,
	}
	for i, o := range opts {
		if o == nil {
			v.Add("options["+strconv.Itoa(i)+"]", "must not be nil")
			continue
		}
		o(&cfg, &v)
	}
	if cfg.sla != nil && store != nil && !sameStore(cfg.sla.Store(), store) {
		v.Add("sla", "the engine must work on the same store as the Service")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	cfg.codes = make(map[string]bool, len(cfg.codeList))
	for _, c := range cfg.codeList {
		cfg.codes[c] = true
	}
	return &Service{store: store, cfg: cfg}, nil
}

// sameStore compares two stores without panicking on a store type that is
// not comparable.
func sameStore(a, b storage.Store) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

func (s *Service) now() time.Time { return s.cfg.clock.Now().UTC() }

// authorize runs the configured Authorizer on a copy of inc.
func (s *Service) authorize(ctx context.Context, actor itil.Actor, command string, inc *Incident) error {
	if s.cfg.authorize == nil {
		return nil
	}
	if err := s.cfg.authorize(ctx, actor, command, inc.clone()); err != nil {
		if errors.Is(err, itil.ErrForbidden) {
			return err
		}
		return fmt.Errorf("%w: %s may not %s: %w", itil.ErrForbidden, actor.ID, command, err)
	}
	return nil
}

// save stores inc at its expected version and journals one event for it.
func (s *Service) save(ctx context.Context, tx storage.Tx, inc *Incident, actor itil.Actor, now time.Time, typ string, ch Change) error {
	inc.UpdatedAt = now
	if err := incidents.Put(ctx, tx, inc); err != nil {
		return err
	}
	ch.describe(inc)
	if err := tx.Append(ctx, itil.Event{
		Kind: Kind, SubjectID: inc.ID, SubjectVersion: inc.Version,
		Actor: actor, Time: now, Type: typ, Payload: ch.appendJSON(nil),
	}); err != nil {
		return err
	}
	if s.cfg.sla != nil {
		if _, err := s.cfg.sla.Observe(ctx, tx, actor, Snapshot(inc, now)); err != nil {
			return err
		}
	}
	return nil
}

// command is the body of a command on one incident: it checks its input and
// the rules, changes inc in place and describes the change. It may also
// change other incidents through tx.
type command func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (typ string, ch Change, err error)

// run loads the incident, authorizes, applies fn and saves, all in one
// transaction. A command by an invalid actor is rejected for the actor
// alone, before anything is read: its other checks depend on the
// incident's state, which an unauthorized caller must not learn.
func (s *Service) run(ctx context.Context, id itil.ID, actor itil.Actor, name string, fn command) (*Incident, error) {
	var badActor itil.ValidationError
	actor.Validate("actor", &badActor)
	if err := badActor.Err(); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		out, loaded, err := s.runOnce(ctx, id, actor, name, fn)
		if err == nil || s.cfg.sla == nil || attempt == maxAttempts || loaded == 0 || !errors.Is(err, itil.ErrConflict) {
			return out, err
		}
		// With SLA timers, a command also writes the incident's SLA
		// record, which the breach monitor writes too. When the incident
		// itself did not change, the conflict came from such a record (or
		// another one the command read), and running the command again on
		// the fresh state is what a serial order would have done.
		cur, gerr := s.Get(ctx, id)
		if gerr != nil || cur.Version != loaded {
			return nil, err
		}
	}
}

// maxAttempts bounds the retries of a command whose incident did not change.
const maxAttempts = 3

// runOnce is one attempt of run; loaded is the version of the incident it
// loaded (0 if none).
func (s *Service) runOnce(ctx context.Context, id itil.ID, actor itil.Actor, name string, fn command) (*Incident, int64, error) {
	var out *Incident
	var loaded int64
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		inc, err := incidents.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		loaded = inc.Version
		if err := s.authorize(ctx, actor, name, inc); err != nil {
			return err
		}
		now := s.now()
		typ, ch, err := fn(ctx, tx, inc, now)
		if err != nil {
			return err
		}
		if err := s.save(ctx, tx, inc, actor, now, typ, ch); err != nil {
			return err
		}
		out = inc
		return nil
	})
	if err != nil {
		return nil, loaded, err
	}
	return out, loaded, nil
}

// notWhile is the error of a command the incident's state does not allow.
func notWhile(action string, inc *Incident) error {
	return fmt.Errorf("%w: cannot %s incident %s while it is %s",
		itil.ErrInvalidTransition, action, inc.Number, inc.State)
}

func requireOpen(inc *Incident, action string) error {
	if !inc.State.Open() {
		return notWhile(action, inc)
	}
	return nil
}

// AutoClose closes every Resolved incident resolved at least the configured
// auto-close delay ago, as itil.System, each in its own transaction. It is
// idempotent: incidents closed, reopened or changed concurrently are
// skipped. An incident that cannot be closed does not stop the sweep: its
// error is joined into the one returned with the count of incidents closed.
func (s *Service) AutoClose(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.autoClose)
	var due []itil.ID
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		q := storage.Query{Terms: []string{storage.Term("state", string(StateResolved))}}
		for inc, err := range incidents.Query(ctx, tx, q) {
			if err != nil {
				return err
			}
			if !inc.ResolvedAt.After(cutoff) {
				due = append(due, inc.ID)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	closed := 0
	var errs []error
	for _, id := range due {
		if err := ctx.Err(); err != nil {
			return closed, errors.Join(append(errs, err)...)
		}
		_, err := s.run(ctx, id, itil.System, "close", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
			if inc.State != StateResolved || inc.ResolvedAt.After(now.Add(-s.cfg.autoClose)) {
				return "", Change{}, errSkip
			}
			return s.closeBody(ctx, tx, inc, itil.System, now)
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
