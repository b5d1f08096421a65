package problem

import (
	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
)

// Lifecycle events, the names of the transitions in Lifecycle.
const (
	evAssess          = "assess"
	evConfirm         = "confirm"
	evDuplicate       = "mark_duplicate"
	evCancel          = "cancel"
	evFix             = "fix"
	evAcceptRisk      = "accept_risk"
	evReanalyze       = "reanalyze"
	evReanalyzeClosed = "reanalyze_closed"
	evResolve         = "resolve"
	evComplete        = "complete"
)

// lifecycle is the problem state machine, declared once, as ServiceNow's
// problem states. Reanalyzing a Closed problem is an event of its own, so
// that the table (and the diagram) show it apart: only a problem manager,
// as the Authorizer decides, may take it.
var lifecycle = machine.New(StateNew, []itil.Transition[State]{
	{Event: evAssess, From: []State{StateNew}, To: StateAssess},
	{Event: evConfirm, From: []State{StateAssess}, To: StateRootCauseAnalysis},
	{Event: evDuplicate, From: []State{StateNew, StateAssess, StateRootCauseAnalysis}, To: StateClosed},
	{Event: evCancel, From: []State{StateNew, StateAssess, StateRootCauseAnalysis, StateFixInProgress}, To: StateCanceled},
	{Event: evFix, From: []State{StateRootCauseAnalysis}, To: StateFixInProgress},
	{Event: evAcceptRisk, From: []State{StateRootCauseAnalysis}, To: StateClosed},
	{Event: evReanalyze, From: []State{StateFixInProgress, StateResolved}, To: StateRootCauseAnalysis},
	{Event: evResolve, From: []State{StateFixInProgress}, To: StateResolved},
	{Event: evComplete, From: []State{StateResolved}, To: StateClosed},
	{Event: evReanalyzeClosed, From: []State{StateClosed}, To: StateRootCauseAnalysis},
})

// Lifecycle returns a copy of the problem lifecycle's transition table,
// for documentation and tools; Diagram draws it.
func Lifecycle() []itil.Transition[State] { return lifecycle.Transitions() }

// Diagram returns the Mermaid state diagram of Lifecycle, as committed in
// lifecycle.md.
func Diagram() string { return lifecycle.Diagram() }

// fire runs a lifecycle event on p with a guard and applies the new state.
// An event the state does not allow gives an error wrapping
// itil.ErrInvalidTransition that names the problem.
func fire(p *Problem, event string, guard func() error) error {
	return lifecycle.Apply(&p.State, "problem "+p.Number, event, guard)
}

// guardConfirm: a problem is confirmed for analysis once someone owns it
// and its priority is known.
func guardConfirm(p *Problem) error {
	var v itil.ValidationError
	if p.AssignmentGroup == "" {
		v.Add("assignment_group", "is required to confirm the problem: assign it first")
	}
	if p.Priority == 0 {
		v.Add("priority", "is required to confirm the problem: set its impact and urgency first")
	}
	return v.Err()
}

// guardFix: a fix starts from a known root cause.
func guardFix(p *Problem) error {
	if check.Blank(p.CauseNotes) {
		return itil.Invalid("cause_notes", "is required to start a fix: record the root cause first (Update)")
	}
	return nil
}

// guardResolve: a resolution says what was fixed.
func guardResolve(p *Problem) error {
	if check.Blank(p.FixNotes) {
		return itil.Invalid("fix_notes", "is required to resolve the problem: record the fix first (Update)")
	}
	return nil
}
