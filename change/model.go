package change

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
)

// State is where a change is in its model's lifecycle. The states below
// are ServiceNow's, which the default models use; a model of the
// application's own may name others.
type State string

// The states of the default models.
const (
	StateNew       State = "new"
	StateAssess    State = "assess"
	StateAuthorize State = "authorize"
	StateScheduled State = "scheduled"
	StateImplement State = "implement"
	StateReview    State = "review"
	StateClosed    State = "closed"
	StateCanceled  State = "canceled"
)

// The names of the default models.
const (
	ModelNormal    = "normal"
	ModelStandard  = "standard"
	ModelEmergency = "emergency"
)

// The moves of the default models: the events of their transitions (the
// journal's event types are the Event constants). A model of the
// application's own may use these or name its own.
const (
	MoveAssess    = "assess"
	MoveAuthorize = "authorize"
	MoveSchedule  = "schedule"
	MoveImplement = "implement"
	MoveReview    = "review"
	MoveClose     = "close"
	MoveCancel    = "cancel"
	// MoveRevert returns a change to New: a rejection does it from a
	// state that waits for approvals.
	MoveRevert = "revert"
)

// Model is a change model as data: its lifecycle and the rules that hang
// on its states. Every model starts in New and ends in Closed or
// Canceled; a rejection returns a change from a state that waits for
// approvals to New, so the model declares that move too.
type Model struct {
	// Name identifies the model (lower-case letters, digits and
	// underscores), such as "normal".
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Transitions is the lifecycle: each event moves a change from any
	// of its From states to To.
	Transitions []itil.Transition[State] `json:"transitions"`
	// ApprovalStates are the states in which a change waits for the
	// approvals its policy asks for: it moves on only once they are
	// approved.
	ApprovalStates []State `json:"approval_states,omitempty"`
	// PlannedStates are the states a change enters only with a planned
	// start and end.
	PlannedStates []State `json:"planned_states,omitempty"`
	// CIChangeStates are the states in which the change's CIs may change
	// (the others make a CI change unplanned).
	CIChangeStates []State `json:"ci_change_states,omitempty"`
	// RiskStates are the states a change enters only once its risk is
	// assessed (AssessRisk): approvals that depend on the risk must not
	// run on a change whose risk nobody judged.
	RiskStates []State `json:"risk_states,omitempty"`
	// ReviewRequired: every change of the model closes only after a
	// post-implementation review (RecordReview), whatever its close code
	// (an unsuccessful change, or one with issues, always needs one).
	ReviewRequired bool `json:"review_required,omitempty"`
	// TemplateOnly models are pre-approved: their changes are made from a
	// published template only (OpenFromTemplate), never opened directly
	// nor switched to (Open and SetModel refuse it), so that skipping
	// approvals is always a decision change management made once.
	TemplateOnly bool `json:"template_only,omitempty"`
}

// beforeReview lists the default states before Review, in lifecycle
// order: a normal change may be canceled in each of them.
var beforeReview = []State{StateNew, StateAssess, StateAuthorize, StateScheduled, StateImplement}

// DefaultModels returns ServiceNow's three change models:
//
//   - normal: New → Assess → Authorize → Scheduled → Implement → Review →
//     Closed, with approvals in Assess (the assignment group) and
//     Authorize (the CAB), and planned times from Assess on;
//   - standard (pre-approved, made from a template): New → Scheduled →
//     Implement → Review → Closed, planned times from Scheduled on;
//   - emergency: New → Authorize → Scheduled → Implement → Review →
//     Closed, with approvals (the emergency CAB) in Authorize and planned
//     times from Scheduled on.
//
// Each may be canceled in any state before Review; CIs may change in
// Implement.
func DefaultModels() []Model {
	cancel := func(from ...State) itil.Transition[State] {
		return itil.Transition[State]{Event: MoveCancel, From: from, To: StateCanceled}
	}
	tail := []itil.Transition[State]{
		{Event: MoveImplement, From: []State{StateScheduled}, To: StateImplement},
		{Event: MoveReview, From: []State{StateImplement}, To: StateReview},
		{Event: MoveClose, From: []State{StateReview}, To: StateClosed},
	}
	return []Model{
		{
			Name:        ModelNormal,
			Description: "Assessed and authorized before it is scheduled: a change whose risk is judged case by case.",
			Transitions: append([]itil.Transition[State]{
				{Event: MoveAssess, From: []State{StateNew}, To: StateAssess},
				{Event: MoveAuthorize, From: []State{StateAssess}, To: StateAuthorize},
				{Event: MoveSchedule, From: []State{StateAuthorize}, To: StateScheduled},
				{Event: MoveRevert, From: []State{StateAssess, StateAuthorize}, To: StateNew},
			}, append(slices.Clone(tail), cancel(beforeReview...))...),
			ApprovalStates: []State{StateAssess, StateAuthorize},
			PlannedStates:  []State{StateAssess, StateAuthorize, StateScheduled, StateImplement},
			RiskStates:     []State{StateAuthorize, StateScheduled, StateImplement},
			CIChangeStates: []State{StateImplement},
		},
		{
			Name:        ModelStandard,
			Description: "Pre-approved: a low-risk, well-known change made from a published template.",
			Transitions: append([]itil.Transition[State]{
				{Event: MoveSchedule, From: []State{StateNew}, To: StateScheduled},
			}, append(slices.Clone(tail), cancel(StateNew, StateScheduled, StateImplement))...),
			PlannedStates:  []State{StateScheduled, StateImplement},
			CIChangeStates: []State{StateImplement},
			TemplateOnly:   true,
		},
		{
			Name:        ModelEmergency,
			Description: "Authorized at once by the emergency CAB: a change that restores service or closes an urgent risk.",
			Transitions: append([]itil.Transition[State]{
				{Event: MoveAuthorize, From: []State{StateNew}, To: StateAuthorize},
				{Event: MoveSchedule, From: []State{StateAuthorize}, To: StateScheduled},
				{Event: MoveRevert, From: []State{StateAuthorize}, To: StateNew},
			}, append(slices.Clone(tail), cancel(StateNew, StateAuthorize, StateScheduled, StateImplement))...),
			ApprovalStates: []State{StateAuthorize},
			PlannedStates:  []State{StateScheduled, StateImplement},
			CIChangeStates: []State{StateImplement},
			ReviewRequired: true,
		},
	}
}

// Validate checks m as data, returning a *itil.ValidationError that names
// each problem ("name", "transitions[2].event", "approval_states[0]"):
//
//   - the name, events and states are identifiers (lower-case letters,
//     digits and underscores, at most 64 bytes);
//   - no event has two targets, and no two transitions repeat a move;
//   - the lifecycle starts in New, every state is reachable from New,
//     Closed is reachable, and Closed and Canceled are final and the
//     only final states;
//   - the listed states are states of the lifecycle, and every state that
//     waits for approvals can return to New (a rejection's move).
func (m Model) Validate() error {
	var v itil.ValidationError
	m.validate(&v, "")
	return v.Err()
}

// MaxIdentifier is the longest model name, state or event name, in bytes.
const MaxIdentifier = 64

func identifier(v *itil.ValidationError, field, s string) {
	switch {
	case s == "":
		v.Add(field, "is required")
	case len(s) > MaxIdentifier:
		v.Add(field, "must be at most "+strconv.Itoa(MaxIdentifier)+" bytes")
	default:
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				v.Add(field, fmt.Sprintf("%q must hold only lower-case letters, digits and underscores", s))
				return
			}
		}
	}
}

func (m *Model) validate(v *itil.ValidationError, prefix string) {
	identifier(v, prefix+"name", m.Name)
	check.Text(v, prefix+"description", m.Description, false, check.Long)
	if len(m.Transitions) == 0 {
		v.Add(prefix+"transitions", "must declare the lifecycle")
		return
	}
	states := []State{StateNew}
	targets := map[string]State{}
	type move struct {
		from, to State
	}
	moves := map[move]string{}
	next := map[State][]State{}
	for i, t := range m.Transitions {
		at := prefix + "transitions[" + strconv.Itoa(i) + "]."
		identifier(v, at+"event", t.Event)
		identifier(v, at+"to", string(t.To))
		if to, ok := targets[t.Event]; ok && to != t.To {
			v.Add(at+"to", fmt.Sprintf("event %q leads to %s elsewhere; an event has one target", t.Event, to))
		}
		targets[t.Event] = t.To
		// Close and Cancel fire these events by name.
		if t.To == StateClosed && t.Event != MoveClose {
			v.Add(at+"event", "a move to closed is named "+MoveClose+": Close fires it")
		}
		if t.To == StateCanceled && t.Event != MoveCancel {
			v.Add(at+"event", "a move to canceled is named "+MoveCancel+": Cancel fires it")
		}
		if len(t.From) == 0 {
			v.Add(at+"from", "must name at least one state")
		}
		for j, f := range t.From {
			identifier(v, at+"from["+strconv.Itoa(j)+"]", string(f))
			if e, ok := moves[move{f, t.To}]; ok {
				v.Add(at+"from["+strconv.Itoa(j)+"]", fmt.Sprintf("the move %s → %s is declared by %q already", f, t.To, e))
			}
			moves[move{f, t.To}] = t.Event
			next[f] = append(next[f], t.To)
			if !slices.Contains(states, f) {
				states = append(states, f)
			}
		}
		if !slices.Contains(states, t.To) {
			states = append(states, t.To)
		}
	}
	if v.Err() != nil {
		return
	}
	// Every state is reachable from New.
	seen := map[State]bool{StateNew: true}
	queue := []State{StateNew}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range next[s] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, s := range states {
		if !seen[s] {
			v.Add(prefix+"transitions", fmt.Sprintf("state %s cannot be reached from new", s))
		}
	}
	for _, s := range states {
		end := s == StateClosed || s == StateCanceled
		switch {
		case end && len(next[s]) > 0:
			v.Add(prefix+"transitions", fmt.Sprintf("state %s must be final: no transition may leave it", s))
		case !end && len(next[s]) == 0:
			v.Add(prefix+"transitions", fmt.Sprintf("state %s has no way out: only closed and canceled are final", s))
		}
	}
	if !seen[StateClosed] {
		v.Add(prefix+"transitions", "state closed must be reachable")
	}
	listed := func(field string, ss []State) {
		for i, s := range ss {
			if !slices.Contains(states, s) {
				v.Add(prefix+field+"["+strconv.Itoa(i)+"]", fmt.Sprintf("%s is not a state of the model", s))
			}
		}
	}
	listed("approval_states", m.ApprovalStates)
	listed("planned_states", m.PlannedStates)
	listed("ci_change_states", m.CIChangeStates)
	listed("risk_states", m.RiskStates)
	for i, s := range m.ApprovalStates {
		if s != StateNew && slices.Contains(states, s) && moves[move{s, StateNew}] != MoveRevert {
			v.Add(prefix+"approval_states["+strconv.Itoa(i)+"]", fmt.Sprintf("%s waits for approvals, so a rejection must be able to return it to new by the move %s", s, MoveRevert))
		}
	}
}

// compiled is a validated model and its state machine.
type compiled struct {
	Model
	machine *machine.Machine[State]
}

// compile validates m and builds its machine; the machine's table is a
// copy, so that the caller's slices do not change it.
func compile(m Model) (*compiled, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := &compiled{Model: m}
	c.Transitions = itil.CloneTransitions(m.Transitions)
	c.ApprovalStates = slices.Clone(m.ApprovalStates)
	c.PlannedStates = slices.Clone(m.PlannedStates)
	c.CIChangeStates = slices.Clone(m.CIChangeStates)
	c.RiskStates = slices.Clone(m.RiskStates)
	c.machine = machine.New(StateNew, c.Transitions)
	return c, nil
}

// Diagram returns the model's lifecycle as a Mermaid state diagram, or
// the model's *itil.ValidationError.
func (m Model) Diagram() (string, error) {
	c, err := compile(m)
	if err != nil {
		return "", err
	}
	return c.machine.Diagram(), nil
}

// States returns the model's states: New, then the others in the order
// its transitions first name them, or nil for an invalid model.
func (m Model) States() []State {
	c, err := compile(m)
	if err != nil {
		return nil
	}
	return c.machine.States()
}
