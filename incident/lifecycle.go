package incident

import (
	"context"
	"errors"
	"fmt"
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

// Lifecycle is the incident state machine, declared once. Guards on it are
// pure: they read the incident, the command's input and the time, and cancel
// the transition with a typed error.
var Lifecycle = fsm.Events{
	{Name: evStart, Src: []string{string(StateNew)}, Dst: string(StateInProgress)},
	{Name: evHold, Src: []string{string(StateNew), string(StateInProgress)}, Dst: string(StateOnHold)},
	{Name: evResume, Src: []string{string(StateOnHold)}, Dst: string(StateInProgress)},
	{Name: evResolve, Src: []string{string(StateNew), string(StateInProgress), string(StateOnHold)}, Dst: string(StateResolved)},
	{Name: evClose, Src: []string{string(StateResolved)}, Dst: string(StateClosed)},
	{Name: evReopen, Src: []string{string(StateResolved)}, Dst: string(StateInProgress)},
	{Name: evCancel, Src: []string{string(StateNew), string(StateInProgress), string(StateOnHold)}, Dst: string(StateCanceled)},
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
	// parentDone is set for reopen when the parent is resolved or closed.
	parentDone bool
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
		if in.parentDone {
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
	return fsm.NewFSM(string(StateNew), Lifecycle, guards)
}}

// fire runs one lifecycle event from the given state and returns the state
// it leads to. A guard's error is returned as is; an event the state does
// not allow gives an error wrapping itil.ErrInvalidTransition.
func fire(ctx context.Context, event string, in *guardIn) (State, error) {
	f := machines.Get().(*fsm.FSM)
	defer machines.Put(f)
	f.SetState(string(in.inc.State))
	err := f.Event(ctx, event, in)
	if err == nil {
		return State(f.Current()), nil
	}
	var canceled fsm.CanceledError
	if errors.As(err, &canceled) && canceled.Err != nil {
		return "", canceled.Err
	}
	if errors.As(err, new(fsm.InvalidEventError)) {
		return "", fmt.Errorf("%w: cannot %s incident %s while it is %s",
			itil.ErrInvalidTransition, event, in.inc.Number, in.inc.State)
	}
	return "", err
}

// Diagram returns the Mermaid state diagram of Lifecycle, as committed in
// lifecycle.md.
func Diagram() string {
	f := fsm.NewFSM(string(StateNew), Lifecycle, nil)
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
