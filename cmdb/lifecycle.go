package cmdb

import (
	"fmt"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/machine"
)

// State is a CI's position in its lifecycle (see Lifecycle and
// lifecycle.md).
type State string

// CI lifecycle states.
const (
	Planned          State = "planned"
	InBuild          State = "in_build"
	Operational      State = "operational"
	UnderMaintenance State = "under_maintenance"
	Retired          State = "retired"
)

// states lists every CI state, in lifecycle order.
var states = []State{Planned, InBuild, Operational, UnderMaintenance, Retired}

func (s State) valid() bool { return slices.Contains(states, s) }

// Lifecycle events, the names of the transitions in Lifecycle.
const (
	evBuild    = "build"
	evDeploy   = "deploy"
	evMaintain = "maintain"
	evRestore  = "restore"
	evRetire   = "retire"
)

// lifecycle declares the CI lifecycle once: planned → in build →
// operational ⇄ under maintenance → retired. Retired is final.
var lifecycle = machine.New(Planned, []itil.Transition[State]{
	{Event: evBuild, From: []State{Planned}, To: InBuild},
	{Event: evDeploy, From: []State{InBuild}, To: Operational},
	{Event: evMaintain, From: []State{Operational}, To: UnderMaintenance},
	{Event: evRestore, From: []State{UnderMaintenance}, To: Operational},
	{Event: evRetire, From: []State{Planned, InBuild, Operational, UnderMaintenance}, To: Retired},
})

// Lifecycle returns a copy of the CI lifecycle's transition table, for
// documentation and tools; Diagram draws it.
func Lifecycle() []itil.Transition[State] { return lifecycle.Transitions() }

// Diagram returns the Mermaid state diagram of Lifecycle, as committed in
// lifecycle.md.
func Diagram() string { return lifecycle.Diagram() }

// canMove returns the lifecycle event that moves a CI from one state to
// another, or an error wrapping itil.ErrInvalidTransition when the
// lifecycle has none.
func canMove(c *CI, to State) (string, error) {
	ev, ok := lifecycle.EventTo(c.State, to)
	if !ok {
		return "", fmt.Errorf("%w: CI %s cannot move from %s to %s", itil.ErrInvalidTransition, c.Name, c.State, to)
	}
	return ev, nil
}

// move runs the lifecycle event that takes c to state to.
func move(c *CI, to State) error {
	ev, err := canMove(c, to)
	if err != nil {
		return err
	}
	next, err := lifecycle.Fire(c.State, ev, nil)
	if err != nil {
		return fmt.Errorf("CI %s: %w", c.Name, err)
	}
	c.State = next
	return nil
}
