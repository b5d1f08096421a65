package lifecycle

import (
	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/machine"
)

// Stage is where a service stands in the service lifecycle: the seed
// texts' strategy, design, transition and operation, then retirement.
// Continual improvement is not a stage: it runs beside all of them (the
// improvement register).
type Stage string

// The stages, in the order a service goes through them.
const (
	StageStrategy   Stage = "strategy"
	StageDesign     Stage = "design"
	StageTransition Stage = "transition"
	StageOperation  Stage = "operation"
	StageRetired    Stage = "retired"
)

// The moves between stages, the events of Lifecycle. Each passes a gate
// (Gate).
const (
	MoveDesign     = "design"     // strategy → design
	MoveTransition = "transition" // design → transition
	MoveOperate    = "operate"    // transition → operation
	MoveRetire     = "retire"     // any stage → retired
)

// stages is the lifecycle's state machine: forward one stage at a time,
// and retirement from any stage (a service abandoned in design retires
// too). No move goes back: a service redesigned is a new design package
// under improvement, not a step back.
var stages = machine.New(StageStrategy, []itil.Transition[Stage]{
	{Event: MoveDesign, From: []Stage{StageStrategy}, To: StageDesign},
	{Event: MoveTransition, From: []Stage{StageDesign}, To: StageTransition},
	{Event: MoveOperate, From: []Stage{StageTransition}, To: StageOperation},
	{Event: MoveRetire, From: []Stage{StageStrategy, StageDesign, StageTransition, StageOperation}, To: StageRetired},
})

// Lifecycle returns a copy of the stages' transition table; Diagram
// draws it, as committed in lifecycle.md.
func Lifecycle() []itil.Transition[Stage] { return stages.Transitions() }

// Diagram returns the Mermaid state diagram of Lifecycle.
func Diagram() string { return stages.Diagram() }
