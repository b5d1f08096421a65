// Package machine is the one state-machine helper every process uses: a
// lifecycle declared as itil.Transition data runs on looplab/fsm (the
// engine the design card names), pooled, with a guard per firing, and is
// drawn as a Mermaid state diagram. No looplab type leaves this package.
package machine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/looplab/fsm"

	"github.com/itilkit/itil"
)

// Machine is a declared lifecycle. It is immutable and safe for
// concurrent use.
type Machine[S ~string] struct {
	initial S
	table   []itil.Transition[S]
	events  fsm.Events
	finals  []S
	pool    sync.Pool
}

// guardKey is the looplab callback every firing runs before the move.
const guardKey = "before_event"

// New declares a lifecycle starting at initial. It panics on a malformed
// table (an empty event name, a transition without sources, two
// declarations of one event with different targets): that is a programming
// error, found at start-up.
func New[S ~string](initial S, table []itil.Transition[S]) *Machine[S] {
	m := &Machine[S]{initial: initial, table: itil.CloneTransitions(table)}
	to := map[string]S{}
	for _, t := range table {
		if t.Event == "" || len(t.From) == 0 || t.To == "" {
			panic("machine: transition needs an event, sources and a target")
		}
		if prev, ok := to[t.Event]; ok && prev != t.To {
			panic("machine: event " + t.Event + " declared with two targets")
		}
		to[t.Event] = t.To
		src := make([]string, len(t.From))
		for i, f := range t.From {
			src[i] = string(f)
		}
		m.events = append(m.events, fsm.EventDesc{Name: t.Event, Src: src, Dst: string(t.To)})
	}
	for _, s := range m.States() {
		if !slices.ContainsFunc(table, func(t itil.Transition[S]) bool { return slices.Contains(t.From, s) }) {
			m.finals = append(m.finals, s)
		}
	}
	m.pool.New = func() any {
		return fsm.NewFSM(string(initial), m.events, fsm.Callbacks{
			guardKey: func(_ context.Context, e *fsm.Event) {
				if g, _ := e.Args[0].(func() error); g != nil {
					if err := g(); err != nil {
						e.Cancel(err)
					}
				}
			},
		})
	}
	return m
}

// Transitions returns a copy of the declared table.
func (m *Machine[S]) Transitions() []itil.Transition[S] { return itil.CloneTransitions(m.table) }

// States returns every state of the lifecycle: the initial one, then the
// others in the order the table first names them.
func (m *Machine[S]) States() []S {
	out := []S{m.initial}
	add := func(s S) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, t := range m.table {
		for _, f := range t.From {
			add(f)
		}
		add(t.To)
	}
	return out
}

// Final reports whether no transition leaves s.
func (m *Machine[S]) Final(s S) bool { return slices.Contains(m.finals, s) }

// EventTo returns an event that moves from one state to another, if the
// lifecycle has one.
func (m *Machine[S]) EventTo(from, to S) (string, bool) {
	for _, t := range m.table {
		if t.To == to && slices.Contains(t.From, from) {
			return t.Event, true
		}
	}
	return "", false
}

// ErrNotAllowed is wrapped (with itil.ErrInvalidTransition) by Fire when
// the lifecycle has no such event from the current state.
var ErrNotAllowed = errors.New("not allowed by the lifecycle")

// Fire runs event from state from and returns the state it leads to. The
// guard, when not nil, is called before the move; its error is returned as
// is and the move does not happen. An event the state
// does not allow gives an error wrapping itil.ErrInvalidTransition.
//
// The guard must be fast and pure: the event runs without the caller's
// context, because looplab/fsm leaves a machine mid-transition when a
// context ends during an event, and a pooled machine must never be left so.
func (m *Machine[S]) Fire(from S, event string, guard func() error) (S, error) {
	f := m.pool.Get().(*fsm.FSM)
	f.SetState(string(from))
	err := f.Event(context.Background(), event, guard)
	var canceled fsm.CanceledError
	var noChange fsm.NoTransitionError
	switch {
	case err == nil:
		to := S(f.Current())
		m.pool.Put(f)
		return to, nil
	case errors.As(err, &noChange) && noChange.Err == nil:
		m.pool.Put(f)
		return from, nil
	case errors.As(err, &canceled) && canceled.Err != nil:
		m.pool.Put(f)
		return from, canceled.Err
	case errors.As(err, new(fsm.InvalidEventError)), errors.As(err, new(fsm.UnknownEventError)):
		m.pool.Put(f)
		return from, fmt.Errorf("%w: cannot %s while %s (%w)", itil.ErrInvalidTransition, event, from, ErrNotAllowed)
	default:
		return from, err // unexpected: the machine is dropped, not pooled
	}
}

// Apply fires event from *state and sets *state to where it leads. An
// event the state does not allow gives an error wrapping
// itil.ErrInvalidTransition that names subject (such as "problem
// PRB0001001"); the guard's error is returned as is. On an error *state
// is unchanged.
func (m *Machine[S]) Apply(state *S, subject, event string, guard func() error) error {
	to, err := m.Fire(*state, event, guard)
	if errors.Is(err, ErrNotAllowed) {
		return fmt.Errorf("%s: %w", subject, err)
	}
	if err != nil {
		return err
	}
	*state = to
	return nil
}

// Diagram returns the lifecycle as a Mermaid state diagram, final states
// marked, as committed in each process's lifecycle.md.
func (m *Machine[S]) Diagram() string {
	f := fsm.NewFSM(string(m.initial), m.events, nil)
	d, err := fsm.VisualizeForMermaidWithGraphType(f, fsm.StateDiagram)
	if err != nil {
		panic(err) // StateDiagram is a known graph type
	}
	var b strings.Builder
	b.WriteString(d)
	for _, s := range m.finals {
		b.WriteString("    " + string(s) + " --> [*]\n")
	}
	return b.String()
}
