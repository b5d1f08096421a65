package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Authorizer decides whether actor may run the named command on inc (inc is
// nil for "open"). A non-nil error rejects the command; the Service wraps it
// with itil.ErrForbidden.
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
// DefaultResolutionCodes).
func WithResolutionCodes(codes ...string) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if len(codes) == 0 {
			v.Add("resolution_codes", "must list at least one code")
		}
		for _, c := range codes {
			if c == "" {
				v.Add("resolution_codes", "must not contain an empty code")
			} else if slices.Contains(cfg.codeList, c) {
				v.Add("resolution_codes", fmt.Sprintf("lists %q twice", c))
			}
			cfg.codeList = append(cfg.codeList, c)
		}
	}
}

// WithReopenWindow sets how long after resolution an incident may be
// reopened (default 7 days).
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
	store     storage.Store
	cfg       config
	incidents *storage.Collection[Incident]
}

var incidents = storage.NewCollection(storage.Schema[Incident]{
	Kind:    Kind,
	ID:      func(i *Incident) itil.ID { return i.ID },
	Version: func(i *Incident) *int64 { return &i.Version },
	SortKey: func(i *Incident) string { return storage.TimeKey(i.OpenedAt) },
	Terms:   terms,
	Clone:   (*Incident).clone,
})

// Index terms of an incident; List filters map onto them. They are built in
// field order, so the backend finds them sorted, and cut from one string,
// so a save allocates once for all of them.
func terms(i *Incident, dst []string) []string {
	var buf [384]byte
	var ends [9]int
	b, n := buf[:0], 0
	cut := func() { ends[n] = len(b); n++ }
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
	b = strconv.AppendBool(append(b, "major="...), i.Major)
	cut()
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
	dst = slices.Grow(dst, n)
	for _, end := range ends[:n] {
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
		reopenWindow: 7 * 24 * time.Hour,
		autoClose:    3 * 24 * time.Hour,
		maxLevel:     3,
	}
	for _, o := range opts {
		o(&cfg, &v)
	}
	if cfg.codeList == nil {
		cfg.codeList = DefaultResolutionCodes
	}
	cfg.codes = make(map[string]bool, len(cfg.codeList))
	for _, c := range cfg.codeList {
		cfg.codes[c] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Service{store: store, cfg: cfg, incidents: incidents}, nil
}

// Journal event types of incidents.
const (
	EventOpened           = "incident.opened"
	EventUpdated          = "incident.updated"
	EventAssigned         = "incident.assigned"
	EventEscalated        = "incident.escalated"
	EventHeld             = "incident.held"
	EventResumed          = "incident.resumed"
	EventCommented        = "incident.commented"
	EventWorkNoted        = "incident.work_noted"
	EventPriorityOverride = "incident.priority_overridden"
	EventPriorityRestored = "incident.priority_restored"
	EventPromoted         = "incident.promoted_major"
	EventLinked           = "incident.linked"
	EventResolved         = "incident.resolved"
	EventClosed           = "incident.closed"
	EventReopened         = "incident.reopened"
	EventCanceled         = "incident.canceled"
)

// Change is the payload of every incident journal event: what happened in
// words, and the incident's state and priority after it, so that a reader of
// the journal (an SLA engine, a report) can replay an incident's life
// without loading it.
type Change struct {
	Summary  string        `json:"summary"`
	From     State         `json:"from,omitempty"`
	State    State         `json:"state"`
	Priority itil.Priority `json:"priority"`
	Reason   string        `json:"reason,omitempty"`
}

func (s *Service) now() time.Time { return s.cfg.clock.Now().UTC() }

func (s *Service) authorize(ctx context.Context, actor itil.Actor, command string, inc *Incident) error {
	if actor.ID == "" {
		return itil.Invalid("actor.id", "is required")
	}
	if s.cfg.authorize == nil {
		return nil
	}
	if err := s.cfg.authorize(ctx, actor, command, inc); err != nil {
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
	if err := s.incidents.Put(ctx, tx, inc); err != nil {
		return err
	}
	ch.State, ch.Priority = inc.State, inc.Priority
	return tx.Append(ctx, itil.Event{
		Kind: Kind, SubjectID: inc.ID, SubjectVersion: inc.Version,
		Actor: actor, Time: now, Type: typ, Payload: ch.appendJSON(nil),
	})
}

// command is the body of a command on one incident: it changes inc in place
// and describes the change. It may also change other incidents through tx.
type command func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (typ string, ch Change, err error)

// run loads the incident, authorizes, applies fn and saves, all in one
// transaction.
func (s *Service) run(ctx context.Context, id itil.ID, actor itil.Actor, name string, fn command) (*Incident, error) {
	if actor.ID == "" {
		return nil, itil.Invalid("actor.id", "is required")
	}
	var out *Incident
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		inc, err := s.incidents.Get(ctx, tx, id)
		if err != nil {
			return err
		}
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
		return nil, err
	}
	return out, nil
}

func requireOpen(inc *Incident, action string) error {
	if !inc.State.Open() {
		return fmt.Errorf("%w: cannot %s incident %s while it is %s",
			itil.ErrInvalidTransition, action, inc.Number, inc.State)
	}
	return nil
}

// Open records a new incident in state New, numbers it and derives its
// priority.
func (s *Service) Open(ctx context.Context, actor itil.Actor, in NewIncident) (*Incident, error) {
	if err := s.authorize(ctx, actor, "open", nil); err != nil {
		return nil, err
	}
	now := s.now()
	inc := &Incident{
		ID: itil.NewID(), Title: in.Title, Description: in.Description,
		Caller: in.Caller, Category: in.Category, Subcategory: in.Subcategory,
		Channel: in.Channel, ServiceID: in.ServiceID, CIID: in.CIID,
		Impact: in.Impact, Urgency: in.Urgency, State: StateNew,
		OpenedBy: actor, OpenedAt: now,
	}
	var v itil.ValidationError
	inc.validate(s.cfg.matrix, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := inc.derivePriority(s.cfg.matrix); err != nil {
		return nil, err
	}
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		n, err := tx.NextSeq(ctx, Kind)
		if err != nil {
			return err
		}
		inc.Number = itil.FormatNumber(NumberPrefix, n)
		return s.save(ctx, tx, inc, actor, now, EventOpened, Change{
			Summary: "opened " + inc.Number + " " + strconv.Quote(inc.Title) + " via " + string(inc.Channel) + " with priority " + inc.Priority.String(),
		})
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// Update changes descriptive fields and the impact and urgency of an open
// incident; the priority is derived again. Changes that alter nothing are
// rejected.
func (s *Service) Update(ctx context.Context, id itil.ID, actor itil.Actor, c Changes) (*Incident, error) {
	return s.run(ctx, id, actor, "update", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "update"); err != nil {
			return "", Change{}, err
		}
		before := *inc
		var changed []string
		set := func(name string, differs bool, apply func()) {
			if differs {
				apply()
				changed = append(changed, name)
			}
		}
		if c.Title != nil {
			set("title", *c.Title != inc.Title, func() { inc.Title = *c.Title })
		}
		if c.Description != nil {
			set("description", *c.Description != inc.Description, func() { inc.Description = *c.Description })
		}
		if c.Category != nil {
			set("category", *c.Category != inc.Category, func() { inc.Category = *c.Category })
		}
		if c.Subcategory != nil {
			set("subcategory", *c.Subcategory != inc.Subcategory, func() { inc.Subcategory = *c.Subcategory })
		}
		if c.ServiceID != nil {
			set("service", *c.ServiceID != inc.ServiceID, func() { inc.ServiceID = *c.ServiceID })
		}
		if c.CIID != nil {
			set("ci", *c.CIID != inc.CIID, func() { inc.CIID = *c.CIID })
		}
		if c.Impact != nil {
			set("impact", *c.Impact != inc.Impact, func() { inc.Impact = *c.Impact })
		}
		if c.Urgency != nil {
			set("urgency", *c.Urgency != inc.Urgency, func() { inc.Urgency = *c.Urgency })
		}
		var v itil.ValidationError
		inc.validate(s.cfg.matrix, &v)
		if len(changed) == 0 {
			v.Add("changes", "nothing differs from the incident as it is")
		}
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		if err := inc.derivePriority(s.cfg.matrix); err != nil {
			return "", Change{}, err
		}
		summary := fmt.Sprintf("updated %v", changed)
		if inc.Priority != before.Priority {
			summary += fmt.Sprintf("; priority %s -> %s", before.Priority, inc.Priority)
		}
		return EventUpdated, Change{Summary: summary}, nil
	})
}

// Assign gives an open incident to a group and, optionally, an engineer.
// A change of group after the first assignment is a functional escalation
// and raises ReassignmentCount. Assigning an engineer to a New incident
// starts work on it (In Progress).
func (s *Service) Assign(ctx context.Context, id itil.ID, actor itil.Actor, group, assignee string) (*Incident, error) {
	return s.run(ctx, id, actor, "assign", func(ctx context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := requireOpen(inc, "assign"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		checkText(&v, "group", group, true, maxTitle)
		checkText(&v, "assignee", assignee, false, maxTitle)
		if group == inc.AssignmentGroup && assignee == inc.Assignee {
			v.Add("group", "the incident is already assigned so")
		}
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		from := inc.State
		summary := fmt.Sprintf("assigned to %s", group)
		if assignee != "" {
			summary += "/" + assignee
		}
		if inc.AssignmentGroup != "" && group != inc.AssignmentGroup {
			inc.ReassignmentCount++
			summary += fmt.Sprintf(" (reassigned from %s)", inc.AssignmentGroup)
		}
		inc.AssignmentGroup, inc.Assignee = group, assignee
		if assignee != "" && inc.State == StateNew {
			if err := s.transition(ctx, evStart, &guardIn{inc: inc, cfg: &s.cfg, now: now}); err != nil {
				return "", Change{}, err
			}
		}
		return EventAssigned, Change{Summary: summary, From: changedFrom(from, inc.State)}, nil
	})
}

// Escalate sets the hierarchical escalation level (0 to the configured
// maximum) of an open incident, with a reason.
func (s *Service) Escalate(ctx context.Context, id itil.ID, actor itil.Actor, level int, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "escalate", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "escalate"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if level < 0 || level > s.cfg.maxLevel {
			v.Add("level", fmt.Sprintf("must be between 0 and %d", s.cfg.maxLevel))
		} else if level == inc.EscalationLevel {
			v.Add("level", fmt.Sprintf("the incident is already at level %d", level))
		}
		checkText(&v, "reason", reason, true, maxText)
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		summary := fmt.Sprintf("escalated from level %d to %d", inc.EscalationLevel, level)
		inc.EscalationLevel = level
		return EventEscalated, Change{Summary: summary, Reason: reason}, nil
	})
}

// Hold puts an incident On Hold for a reason. Awaiting the caller requires a
// comment telling the caller what is needed; the comment is added to the
// customer-visible comments.
func (s *Service) Hold(ctx context.Context, id itil.ID, actor itil.Actor, reason HoldReason, comment string) (*Incident, error) {
	return s.run(ctx, id, actor, "hold", func(ctx context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		from := inc.State
		if err := s.transition(ctx, evHold, &guardIn{inc: inc, cfg: &s.cfg, now: now, hold: reason, comment: comment}); err != nil {
			return "", Change{}, err
		}
		inc.HoldReason = reason
		if comment != "" {
			inc.addComment(actor, now, comment)
		}
		return EventHeld, Change{Summary: "put on hold: " + string(reason), From: from, Reason: comment}, nil
	})
}

// Resume returns an On Hold incident to In Progress.
func (s *Service) Resume(ctx context.Context, id itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, id, actor, "resume", func(ctx context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := s.transition(ctx, evResume, &guardIn{inc: inc, cfg: &s.cfg, now: now}); err != nil {
			return "", Change{}, err
		}
		return EventResumed, Change{Summary: "resumed", From: StateOnHold}, nil
	})
}

// Comment adds a customer-visible comment to an open or resolved incident.
// A comment from the caller on an incident awaiting the caller returns it to
// In Progress.
func (s *Service) Comment(ctx context.Context, id itil.ID, actor itil.Actor, text string) (*Incident, error) {
	return s.run(ctx, id, actor, "comment", func(ctx context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := s.requireNotes(inc, "comment on", text); err != nil {
			return "", Change{}, err
		}
		inc.addComment(actor, now, text)
		ch := Change{Summary: "commented"}
		if actor.ID == inc.Caller.ID && inc.State == StateOnHold && inc.HoldReason == AwaitingCaller {
			if err := s.transition(ctx, evResume, &guardIn{inc: inc, cfg: &s.cfg, now: now}); err != nil {
				return "", Change{}, err
			}
			ch = Change{Summary: "caller replied; resumed", From: StateOnHold}
		}
		return EventCommented, ch, nil
	})
}

// WorkNote adds an internal work note to an open or resolved incident.
func (s *Service) WorkNote(ctx context.Context, id itil.ID, actor itil.Actor, text string) (*Incident, error) {
	return s.run(ctx, id, actor, "work_note", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := s.requireNotes(inc, "add a work note to", text); err != nil {
			return "", Change{}, err
		}
		inc.WorkNotes = append(inc.WorkNotes, Note{Author: actor, At: now, Text: text})
		return EventWorkNoted, Change{Summary: "added a work note"}, nil
	})
}

func (s *Service) requireNotes(inc *Incident, action, text string) error {
	if !inc.State.Open() && inc.State != StateResolved {
		return fmt.Errorf("%w: cannot %s incident %s while it is %s",
			itil.ErrInvalidTransition, action, inc.Number, inc.State)
	}
	var v itil.ValidationError
	checkText(&v, "text", text, true, maxText)
	return v.Err()
}

func (inc *Incident) addComment(actor itil.Actor, now time.Time, text string) {
	inc.Comments = append(inc.Comments, Note{Author: actor, At: now, Text: text})
	if actor.ID != inc.Caller.ID && inc.FirstRespondedAt.IsZero() {
		inc.FirstRespondedAt = now
	}
}

// OverridePriority sets the priority of an open incident by hand, with a
// reason; the matrix no longer applies until RestorePriority.
func (s *Service) OverridePriority(ctx context.Context, id itil.ID, actor itil.Actor, p itil.Priority, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "override_priority", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := requireOpen(inc, "override the priority of"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if !p.Valid() {
			v.Add("priority", "must be one of P1..P5")
		} else if p == inc.Priority {
			v.Add("priority", fmt.Sprintf("the incident already has priority %s", p))
		}
		checkText(&v, "reason", reason, true, maxText)
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		old := inc.Priority
		inc.Override = &PriorityOverride{Priority: p, Reason: reason, By: actor, At: now}
		inc.Priority = p
		return EventPriorityOverride, Change{Summary: fmt.Sprintf("priority overridden %s -> %s", old, p), Reason: reason}, nil
	})
}

// RestorePriority removes a priority override: the priority is derived from
// the matrix again.
func (s *Service) RestorePriority(ctx context.Context, id itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, id, actor, "restore_priority", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "restore the priority of"); err != nil {
			return "", Change{}, err
		}
		if inc.Override == nil {
			return "", Change{}, itil.Invalid("priority", "is not overridden")
		}
		old := inc.Priority
		inc.Override = nil
		if err := inc.derivePriority(s.cfg.matrix); err != nil {
			return "", Change{}, err
		}
		return EventPriorityRestored, Change{Summary: fmt.Sprintf("priority restored to the matrix: %s -> %s", old, inc.Priority)}, nil
	})
}

// PromoteMajor declares an open incident a major incident, with a reason.
func (s *Service) PromoteMajor(ctx context.Context, id itil.ID, actor itil.Actor, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "promote_major", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "promote"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if inc.Major {
			v.Add("major", "the incident is already a major incident")
		}
		checkText(&v, "reason", reason, true, maxText)
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		inc.Major, inc.MajorReason = true, reason
		return EventPromoted, Change{Summary: "promoted to major incident", Reason: reason}, nil
	})
}

// LinkChild makes childID a child of parentID. Both must be open; links are
// one level deep (a parent has no parent, a child has no children), and a
// child has one parent. Resolving or closing the parent later resolves or
// closes its open children with the parent's resolution.
func (s *Service) LinkChild(ctx context.Context, parentID, childID itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, childID, actor, "link", func(ctx context.Context, tx storage.Tx, child *Incident, _ time.Time) (string, Change, error) {
		if parentID == childID {
			return "", Change{}, itil.Invalid("parent_id", "an incident cannot be its own parent")
		}
		parent, err := s.incidents.Get(ctx, tx, parentID)
		if err != nil {
			return "", Change{}, err
		}
		if err := requireOpen(parent, "link a child to"); err != nil {
			return "", Change{}, err
		}
		if err := requireOpen(child, "link"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if child.ParentID != itil.NilID {
			v.Add("child_id", "the incident already has a parent")
		}
		if parent.ParentID != itil.NilID {
			v.Add("parent_id", "the incident is itself a child; link to its parent instead")
		}
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		for range s.children(ctx, tx, childID) {
			return "", Change{}, itil.Invalid("child_id", "the incident has children of its own")
		}
		child.ParentID = parentID
		return EventLinked, Change{Summary: "linked as a child of " + parent.Number}, nil
	})
}

// children iterates the child incidents of id within tx.
func (s *Service) children(ctx context.Context, tx storage.Tx, id itil.ID) func(func(*Incident, error) bool) {
	return s.incidents.Query(ctx, tx, storage.Query{Terms: []string{storage.Term("parent", id.String())}})
}

// Resolve resolves an incident with a resolution code from the configured
// list and notes. Its open children are resolved with the same resolution in
// the same transaction.
func (s *Service) Resolve(ctx context.Context, id itil.ID, actor itil.Actor, code, notes string) (*Incident, error) {
	return s.run(ctx, id, actor, "resolve", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		from := inc.State
		if err := s.resolve(ctx, inc, now, code, notes); err != nil {
			return "", Change{}, err
		}
		err := s.cascade(ctx, tx, inc, actor, now, func(c *Incident) (bool, error) {
			if !c.State.Open() {
				return false, nil
			}
			return true, s.resolve(ctx, c, now, code, notes)
		}, EventResolved, "resolved with parent "+inc.Number)
		return EventResolved, Change{Summary: "resolved: " + code, From: from, Reason: notes}, err
	})
}

func (s *Service) resolve(ctx context.Context, inc *Incident, now time.Time, code, notes string) error {
	if err := s.transition(ctx, evResolve, &guardIn{inc: inc, cfg: &s.cfg, now: now, code: code, notes: notes}); err != nil {
		return err
	}
	inc.ResolutionCode, inc.ResolutionNotes = code, notes
	inc.ResolvedAt = now
	inc.HoldReason = ""
	return nil
}

// cascade applies fn to every child of parent and saves those it changed.
func (s *Service) cascade(ctx context.Context, tx storage.Tx, parent *Incident, actor itil.Actor, now time.Time,
	fn func(*Incident) (bool, error), typ, summary string) error {
	var kids []*Incident
	for c, err := range s.children(ctx, tx, parent.ID) {
		if err != nil {
			return err
		}
		kids = append(kids, c)
	}
	for _, c := range kids {
		from := c.State
		changed, err := fn(c)
		if err != nil {
			return fmt.Errorf("child %s: %w", c.Number, err)
		}
		if changed {
			if err := s.save(ctx, tx, c, actor, now, typ, Change{Summary: summary, From: from}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes a Resolved incident; it becomes final. Children that are not
// final are closed with it (open ones are resolved with the parent's
// resolution first).
func (s *Service) Close(ctx context.Context, id itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, id, actor, "close", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		return s.closeBody(ctx, tx, inc, actor, now)
	})
}

func (s *Service) closeBody(ctx context.Context, tx storage.Tx, inc *Incident, actor itil.Actor, now time.Time) (string, Change, error) {
	if err := s.close(ctx, inc, now); err != nil {
		return "", Change{}, err
	}
	err := s.cascade(ctx, tx, inc, actor, now, func(c *Incident) (bool, error) {
		if c.State.Final() {
			return false, nil
		}
		if c.State.Open() {
			if err := s.resolve(ctx, c, now, inc.ResolutionCode, inc.ResolutionNotes); err != nil {
				return false, err
			}
		}
		return true, s.close(ctx, c, now)
	}, EventClosed, "closed with parent "+inc.Number)
	return EventClosed, Change{Summary: "closed", From: StateResolved}, err
}

func (s *Service) close(ctx context.Context, inc *Incident, now time.Time) error {
	if err := s.transition(ctx, evClose, &guardIn{inc: inc, cfg: &s.cfg, now: now}); err != nil {
		return err
	}
	inc.ClosedAt = now
	return nil
}

// Reopen returns a Resolved incident to In Progress within the reopen
// window, with a reason, and counts the reopening. A child of a resolved
// parent cannot be reopened on its own.
func (s *Service) Reopen(ctx context.Context, id itil.ID, actor itil.Actor, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "reopen", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		in := &guardIn{inc: inc, cfg: &s.cfg, now: now, reason: reason}
		if inc.ParentID != itil.NilID && inc.State == StateResolved {
			parent, err := s.incidents.Get(ctx, tx, inc.ParentID)
			if err != nil {
				return "", Change{}, err
			}
			in.parentDone = !parent.State.Open()
		}
		if err := s.transition(ctx, evReopen, in); err != nil {
			return "", Change{}, err
		}
		inc.ReopenCount++
		inc.ResolvedAt = time.Time{}
		inc.ResolutionCode, inc.ResolutionNotes = "", ""
		return EventReopened, Change{Summary: fmt.Sprintf("reopened (%d)", inc.ReopenCount), From: StateResolved, Reason: reason}, nil
	})
}

// Cancel cancels an open incident that needs no resolution (raised in
// error, a duplicate report), with a reason; it becomes final. A parent with
// open children cannot be canceled.
func (s *Service) Cancel(ctx context.Context, id itil.ID, actor itil.Actor, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "cancel", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		from := inc.State
		if err := s.transition(ctx, evCancel, &guardIn{inc: inc, cfg: &s.cfg, now: now, reason: reason}); err != nil {
			return "", Change{}, err
		}
		for c, err := range s.children(ctx, tx, inc.ID) {
			if err != nil {
				return "", Change{}, err
			}
			if c.State.Open() {
				return "", Change{}, fmt.Errorf("%w: %s has open child %s; resolve or cancel it first",
					itil.ErrInvalidTransition, inc.Number, c.Number)
			}
		}
		inc.HoldReason = ""
		return EventCanceled, Change{Summary: "canceled", From: from, Reason: reason}, nil
	})
}

// transition fires a lifecycle event on inc and applies the new state and
// the bookkeeping every state change shares.
func (s *Service) transition(ctx context.Context, event string, in *guardIn) error {
	to, err := fire(ctx, event, in)
	if err != nil {
		return err
	}
	inc := in.inc
	if inc.State == StateNew && inc.FirstRespondedAt.IsZero() {
		inc.FirstRespondedAt = in.now
	}
	if to != StateOnHold {
		inc.HoldReason = ""
	}
	inc.State = to
	return nil
}

func changedFrom(from, to State) State {
	if from == to {
		return ""
	}
	return from
}

// AutoClose closes every Resolved incident resolved at least the configured
// auto-close delay ago, as itil.System, each in its own transaction. It is
// idempotent: incidents closed, reopened or changed concurrently are
// skipped. It returns how many incidents it closed.
func (s *Service) AutoClose(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.autoClose)
	var due []itil.ID
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		q := storage.Query{Terms: []string{storage.Term("state", string(StateResolved))}}
		for inc, err := range s.incidents.Query(ctx, tx, q) {
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
	for _, id := range due {
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
			return closed, err
		}
	}
	return closed, nil
}

var errSkip = errors.New("skip")
