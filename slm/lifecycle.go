package slm

import (
	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/machine"
)

// lifecycle declares the timer lifecycle once: the diagram is generated
// from it and a test checks every move the engine makes against it. A
// timer is created In Progress, or in the state its first snapshot puts it
// in.
var lifecycle = machine.New(InProgress, []itil.Transition[State]{
	{Event: "pause", From: []State{InProgress}, To: Paused},
	{Event: "resume", From: []State{Paused}, To: InProgress},
	{Event: "stop", From: []State{InProgress, Paused}, To: Completed},
	{Event: "cancel", From: []State{InProgress, Paused}, To: Canceled},
	{Event: "reset", From: []State{InProgress, Paused}, To: Canceled},
})

// Lifecycle returns a copy of the timer lifecycle's transition table.
func Lifecycle() []itil.Transition[State] { return lifecycle.Transitions() }

// Diagram returns the timer lifecycle as a Mermaid state diagram, as
// committed in lifecycle.md.
func Diagram() string { return lifecycle.Diagram() }
