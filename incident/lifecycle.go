package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
)

// Lifecycle events, the names of the transitions in Lifecycle.
const (
	evStart   = "start"
	evHold    = "hold"
	evResume  = "resume"
	evResolve = "resolve"
	evClose   = "close"
	evReopen  = "reopen"
	evCancel  = "cancel"
)

// lifecycle is the incident state machine, declared once. Guards are
// passed per firing: they read the incident, the command's input and the
// time, and refuse the move with a typed error. Hold from On Hold changes
// the reason.
var lifecycle = machine.New(StateNew, []itil.Transition[State]{
	{Event: evStart, From: []State{StateNew}, To: StateInProgress},
	{Event: evHold, From: []State{StateNew, StateInProgress, StateOnHold}, To: StateOnHold},
	{Event: evResume, From: []State{StateOnHold}, To: StateInProgress},
	{Event: evResolve, From: []State{StateNew, StateInProgress, StateOnHold}, To: StateResolved},
	{Event: evClose, From: []State{StateResolved}, To: StateClosed},
	{Event: evReopen, From: []State{StateResolved}, To: StateInProgress},
	{Event: evCancel, From: []State{StateNew, StateInProgress, StateOnHold}, To: StateCanceled},
})

// Lifecycle returns a copy of the incident lifecycle's transition table,
// for documentation and tools; Diagram draws it.
func Lifecycle() []itil.Transition[State] { return lifecycle.Transitions() }

// Diagram returns the Mermaid state diagram of Lifecycle, as committed in
// lifecycle.md and the README.
func Diagram() string { return lifecycle.Diagram() }

// fire runs a lifecycle event on inc with a guard and applies the new
// state; leaving On Hold clears the hold reason. An event the state does
// not allow gives an error wrapping itil.ErrInvalidTransition that names
// the incident.
func fire(inc *Incident, event string, guard func() error) error {
	if err := lifecycle.Apply(&inc.State, "incident "+inc.Number, event, guard); err != nil {
		return err
	}
	if inc.State != StateOnHold {
		inc.HoldReason = ""
	}
	return nil
}

// guardHold checks a hold: a known reason, a problem or change to await
// when awaiting one, a change of reason when already On Hold, and a
// comment telling the caller what is needed when awaiting the caller.
func guardHold(inc *Incident, reason HoldReason, comment string) error {
	var v itil.ValidationError
	if !reason.valid() {
		v.Add("reason", "must be one of awaiting_caller, awaiting_change, awaiting_problem, awaiting_vendor")
	}
	if reason == AwaitingProblem && inc.ProblemID == itil.NilID {
		v.Add("reason", "awaiting_problem names the problem: link the incident to one first (problem.Service.LinkIncident)")
	}
	if reason == AwaitingChange && inc.ChangeID == itil.NilID {
		v.Add("reason", "awaiting_change names the change: link the incident to one first (change.Service.LinkIncident)")
	}
	if inc.State == StateOnHold && reason == inc.HoldReason {
		v.Add("reason", "the incident is already on hold for this reason")
	}
	if reason == AwaitingCaller && comment == "" {
		v.Add("comment", "is required when awaiting the caller: tell the caller what is needed")
	} else {
		check.Text(&v, "comment", comment, false, check.Long)
	}
	return v.Err()
}

// guardResolve checks a resolution code from the configured list and notes.
func (c *config) guardResolve(code, notes string) error {
	var v itil.ValidationError
	if !c.codes[code] {
		v.Add("resolution_code", fmt.Sprintf("must be one of %s", strings.Join(c.codeList, ", ")))
	}
	check.Text(&v, "resolution_notes", notes, true, check.Long)
	return v.Err()
}

// guardReopen checks the reopen window, a reason, and that a child is not
// settled by its parent's resolution.
func (c *config) guardReopen(inc *Incident, now time.Time, reason string, parentResolved bool) error {
	if parentResolved {
		return fmt.Errorf("%w: %s belongs to a resolved parent incident; reopen the parent instead",
			itil.ErrInvalidTransition, inc.Number)
	}
	if now.Sub(inc.ResolvedAt) > c.reopenWindow {
		return fmt.Errorf("%w: %s was resolved at %s, more than %s ago; open a new incident",
			itil.ErrInvalidTransition, inc.Number, inc.ResolvedAt.Format(time.RFC3339), c.reopenWindow)
	}
	return check.Required("reason", reason)
}
