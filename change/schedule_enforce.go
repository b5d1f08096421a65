package change

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// ConflictRule makes conflicts block a move: a change of Model (empty:
// every model) entering State is refused while it has a conflict of one
// of Kinds (empty: every kind) that was not overridden. Conflicts no rule
// names only advise: they are stored on the change and journaled.
type ConflictRule struct {
	Model string         `json:"model,omitempty"`
	State State          `json:"state"`
	Kinds []ConflictKind `json:"kinds,omitempty"`
}

// DefaultConflictRules returns the rules a Service enforces unless
// WithConflictRules replaces them: an enforced blackout blocks a change
// of any model from entering Scheduled. Every other conflict advises:
// ServiceNow only advises, and a team turns more of them into blocks
// (the CI in another change, for example) by rule.
func DefaultConflictRules() []ConflictRule {
	return []ConflictRule{{State: StateScheduled, Kinds: []ConflictKind{ConflictBlackout}}}
}

var conflictKinds = []ConflictKind{ConflictCIScheduled, ConflictRelatedCIScheduled, ConflictServiceAffected, ConflictAssigneeBooked,
	ConflictOutsideMaintenanceWindow, ConflictBlackout}

// WithConflictRules replaces DefaultConflictRules (an empty list: every
// conflict advises). A rule naming a model the Service does not have, a
// state none of its models has, or an unknown kind is named under
// "conflict_rules[i].".
func WithConflictRules(rules []ConflictRule) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		cfg.conflictRules = slices.Clone(rules)
		cfg.checkRules = true
	}}
}

// checkConflictRules validates the rules against the Service's models,
// once they are all known.
func (cfg *config) checkConflictRules(v *itil.ValidationError) {
	for i, r := range cfg.conflictRules {
		at := "conflict_rules[" + strconv.Itoa(i) + "]."
		var states []State
		if r.Model != "" {
			m, ok := cfg.models[r.Model]
			if !ok {
				v.Add(at+"model", fmt.Sprintf("%q is not one of the Service's models", r.Model))
				continue
			}
			states = m.machine.States()
		} else {
			for _, m := range cfg.models {
				states = append(states, m.machine.States()...)
			}
		}
		switch {
		case !slices.Contains(states, r.State):
			v.Add(at+"state", fmt.Sprintf("%q is not a state of the model", r.State))
		case r.State == StateNew || r.State.Final():
			v.Add(at+"state", fmt.Sprintf("%s is not entered by a move (Move checks the state it enters)", r.State))
		}
		for j, k := range r.Kinds {
			if !slices.Contains(conflictKinds, k) {
				v.Add(at+"kinds["+strconv.Itoa(j)+"]", fmt.Sprintf("%q is not a kind of conflict", k))
			}
		}
	}
}

// ConflictError refuses a move that conflicts block: the change, the
// state it was to enter, and the blocking conflicts. It wraps
// itil.ErrInvalidTransition.
type ConflictError struct {
	Number    string
	State     State
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "change %s cannot enter %s: %d blocking conflict", e.Number, e.State, len(e.Conflicts))
	if len(e.Conflicts) != 1 {
		b.WriteByte('s')
	}
	for i, c := range e.Conflicts {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		b.WriteString(sep + c.Explain())
	}
	b.WriteString(" (override with a reason: OverrideConflicts)")
	return b.String()
}

func (e *ConflictError) Unwrap() error { return itil.ErrInvalidTransition }

// ConflictOverride records that someone accepted a change's conflicts,
// with a reason: a blocking rule lets the change through while every
// blocking conflict is one of those accepted (the same kind, change, CIs,
// service, assignee or schedule, wherever the windows have moved since).
type ConflictOverride struct {
	Reason    string     `json:"reason"`
	By        itil.Actor `json:"by"`
	At        time.Time  `json:"at"`
	Conflicts []Conflict `json:"conflicts"`
}

// CommandOverrideConflicts is the command name an Authorizer receives for
// OverrideConflicts, and EventConflictsOverridden its journal event.
const (
	CommandOverrideConflicts = "override_conflicts"
	EventConflictsOverridden = "change.conflicts_overridden"
)

// OverrideConflicts accepts the change's current conflicts with a reason
// (required): moves the rules block for them then go through, and the
// override stays on the change (Change.ConflictOverride) and in its journal. A
// change that has ended, or has no conflict now, gives an error wrapping
// itil.ErrInvalidTransition.
func (s *Service) OverrideConflicts(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Change, error) {
	if err := check.Required("reason", reason); err != nil {
		return nil, err
	}
	return s.run.Run(ctx, actor, id, CommandOverrideConflicts, func(c *cmd, ch *Change) (event, error) {
		if err := requireActive(ch, "override the conflicts of"); err != nil {
			return event{}, err
		}
		cs, err := s.conflictsWith(c.Ctx, c.Tx, ch, checkWith{claims: true})
		if err != nil {
			return event{}, err
		}
		if len(cs) == 0 {
			return event{}, itilTransition("change %s has no conflict to override", ch.Number)
		}
		ch.Conflicts = cs
		ch.ConflictOverride = &ConflictOverride{Reason: reason, By: c.Actor, At: c.Now, Conflicts: cs}
		return event{Type: EventConflictsOverridden, Summary: strconv.Itoa(len(cs)) + " conflicts accepted", Reason: reason}, nil
	})
}

// sameConflict reports whether a and b are the same conflict, wherever
// the windows are.
func sameConflict(a, b Conflict) bool {
	return a.Kind == b.Kind && a.ChangeID == b.ChangeID && a.CIID == b.CIID && a.RelatedCIID == b.RelatedCIID &&
		a.ServiceID == b.ServiceID && a.Assignee == b.Assignee && a.ScheduleID == b.ScheduleID
}

// blocking returns the conflicts the rules let block ch from entering to,
// less those its override accepted.
func (s *Service) blocking(ch *Change, to State, cs []Conflict) []Conflict {
	var out []Conflict
	for _, c := range cs {
		blocks := false
		for _, r := range s.cfg.conflictRules {
			if r.State == to && (r.Model == "" || r.Model == ch.Model) && (len(r.Kinds) == 0 || slices.Contains(r.Kinds, c.Kind)) {
				blocks = true
				break
			}
		}
		if !blocks {
			continue
		}
		if ch.ConflictOverride != nil && slices.ContainsFunc(ch.ConflictOverride.Conflicts, func(o Conflict) bool { return sameConflict(o, c) }) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// checkEntering computes ch's conflicts for the state to it is entering
// and refuses the move with a *ConflictError when rules block it; else
// keeps them on the change.
func (s *Service) checkEntering(c *cmd, ch *Change, to State) error {
	if plannedOf(ch) == nil {
		return nil
	}
	cs, err := s.conflictsWith(c.Ctx, c.Tx, ch, checkWith{claims: true})
	if err != nil {
		return err
	}
	if b := s.blocking(ch, to, cs); len(b) > 0 {
		return &ConflictError{Number: ch.Number, State: to, Conflicts: b}
	}
	ch.Conflicts = cs
	return nil
}
