package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/looplab/fsm"

	"github.com/itilkit/itil"
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

// lifecycle is the incident state machine, declared once. Guards on it are
// pure: they read the incident, the command's input and the time, and cancel
// the transition with a typed error. Hold from On Hold changes the reason.
var lifecycle = fsm.Events{
	{Name: evStart, Src: []string{string(StateNew)}, Dst: string(StateInProgress)},
	{Name: evHold, Src: []string{string(StateNew), string(StateInProgress), string(StateOnHold)}, Dst: string(StateOnHold)},
	{Name: evResume, Src: []string{string(StateOnHold)}, Dst: string(StateInProgress)},
	{Name: evResolve, Src: []string{string(StateNew), string(StateInProgress), string(StateOnHold)}, Dst: string(StateResolved)},
	{Name: evClose, Src: []string{string(StateResolved)}, Dst: string(StateClosed)},
	{Name: evReopen, Src: []string{string(StateResolved)}, Dst: string(StateInProgress)},
	{Name: evCancel, Src: []string{string(StateNew), string(StateInProgress), string(StateOnHold)}, Dst: string(StateCanceled)},
}

// Lifecycle returns a copy of the incident state machine's transition
// table, for documentation and tools; Diagram draws it.
func Lifecycle() fsm.Events {
	out := slices.Clone(lifecycle)
	for i := range out {
		out[i].Src = slices.Clone(out[i].Src)
	}
	return out
}

// guardIn is what a guard may look at.
type guardIn struct {
	inc     *Incident
	cfg     *config
	now     time.Time
	code    string
	notes   string
	hold    HoldReason
	comment string
	reason  string
	// parentResolved is set for reopen when the parent is Resolved or
	// Closed: the child is settled by the parent's resolution.
	parentResolved bool
}

func guard(check func(in *guardIn) error) fsm.Callback {
	return func(_ context.Context, e *fsm.Event) {
		if err := check(e.Args[0].(*guardIn)); err != nil {
			e.Cancel(err)
		}
	}
}

var guards = fsm.Callbacks{
	"before_" + evHold: guard(func(in *guardIn) error {
		var v itil.ValidationError
		if !in.hold.valid() {
			v.Add("reason", "must be one of awaiting_caller, awaiting_change, awaiting_problem, awaiting_vendor")
		}
		if in.inc.State == StateOnHold && in.hold == in.inc.HoldReason {
			v.Add("reason", "the incident is already on hold for this reason")
		}
		if in.hold == AwaitingCaller && in.comment == "" {
			v.Add("comment", "is required when awaiting the caller: tell the caller what is needed")
		} else {
			checkText(&v, "comment", in.comment, false, maxText)
		}
		return v.Err()
	}),
	"before_" + evResolve: guard(func(in *guardIn) error {
		var v itil.ValidationError
		if !in.cfg.codes[in.code] {
			v.Add("resolution_code", fmt.Sprintf("must be one of %s", strings.Join(in.cfg.codeList, ", ")))
		}
		checkText(&v, "resolution_notes", in.notes, true, maxText)
		return v.Err()
	}),
	"before_" + evReopen: guard(func(in *guardIn) error {
		if in.parentResolved {
			return fmt.Errorf("%w: %s belongs to a resolved parent incident; reopen the parent instead",
				itil.ErrInvalidTransition, in.inc.Number)
		}
		if in.now.Sub(in.inc.ResolvedAt) > in.cfg.reopenWindow {
			return fmt.Errorf("%w: %s was resolved at %s, more than %s ago; open a new incident",
				itil.ErrInvalidTransition, in.inc.Number, in.inc.ResolvedAt.Format(time.RFC3339), in.cfg.reopenWindow)
		}
		return requireReason(in.reason)
	}),
	"before_" + evCancel: guard(func(in *guardIn) error { return requireReason(in.reason) }),
}

func requireReason(reason string) error {
	var v itil.ValidationError
	checkText(&v, "reason", reason, true, maxText)
	return v.Err()
}

// machines pools state machines: building one costs more than firing it,
// and a machine shared between incidents would race.
var machines = sync.Pool{New: func() any {
	return fsm.NewFSM(string(StateNew), lifecycle, guards)
}}

// fire runs one lifecycle event from the incident's state and returns the
// state it leads to. A guard's error is returned as is; an event the state
// does not allow gives an error wrapping itil.ErrInvalidTransition.
//
// The guards are pure and fast, so the event runs without a caller's
// context: looplab/fsm leaves a machine mid-transition when the context
// ends during an event, and a pooled machine must never be left so.
func fire(event string, in *guardIn) (State, error) {
	f := machines.Get().(*fsm.FSM)
	f.SetState(string(in.inc.State))
	err := f.Event(context.Background(), event, in)
	var canceled fsm.CanceledError
	var noChange fsm.NoTransitionError
	switch {
	case err == nil:
		machines.Put(f)
		return State(f.Current()), nil
	case errors.As(err, &noChange) && noChange.Err == nil:
		machines.Put(f)
		return in.inc.State, nil
	case errors.As(err, &canceled) && canceled.Err != nil:
		machines.Put(f)
		return "", canceled.Err
	case errors.As(err, new(fsm.InvalidEventError)):
		machines.Put(f)
		return "", notWhile(event, in.inc)
	default:
		return "", err // unexpected: the machine is dropped, not pooled
	}
}

// Diagram returns the Mermaid state diagram of Lifecycle, as committed in
// lifecycle.md.
func Diagram() string {
	f := fsm.NewFSM(string(StateNew), lifecycle, nil)
	d, err := fsm.VisualizeForMermaidWithGraphType(f, fsm.StateDiagram)
	if err != nil {
		panic(err) // StateDiagram is a known graph type
	}
	var b strings.Builder
	b.WriteString(d)
	b.WriteString("    " + string(StateClosed) + " --> [*]\n")
	b.WriteString("    " + string(StateCanceled) + " --> [*]\n")
	return b.String()
}
