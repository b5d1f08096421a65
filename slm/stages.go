package slm

import (
	"strings"

	"github.com/looplab/fsm"
)

// stages declares the timer lifecycle once: the diagram is generated from
// it and a test checks every transition the engine makes against it. A
// timer is created In Progress, or in the stage its first snapshot puts it
// in.
var stages = fsm.Events{
	{Name: "pause", Src: []string{string(InProgress)}, Dst: string(Paused)},
	{Name: "resume", Src: []string{string(Paused)}, Dst: string(InProgress)},
	{Name: "stop", Src: []string{string(InProgress), string(Paused)}, Dst: string(Completed)},
	{Name: "cancel", Src: []string{string(InProgress), string(Paused)}, Dst: string(Cancelled)},
	{Name: "reset", Src: []string{string(InProgress), string(Paused)}, Dst: string(Cancelled)},
}

// Stages returns the timer lifecycle as looplab/fsm events (a copy).
func Stages() fsm.Events {
	out := make(fsm.Events, len(stages))
	for i, e := range stages {
		e.Src = append([]string(nil), e.Src...)
		out[i] = e
	}
	return out
}

// Diagram returns the timer lifecycle as a Mermaid state diagram.
func Diagram() string {
	f := fsm.NewFSM(string(InProgress), stages, nil)
	d, err := fsm.VisualizeForMermaidWithGraphType(f, fsm.StateDiagram)
	if err != nil {
		panic(err) // StateDiagram is a known graph type
	}
	var b strings.Builder
	b.WriteString(d)
	b.WriteString("    " + string(Completed) + " --> [*]\n")
	b.WriteString("    " + string(Cancelled) + " --> [*]\n")
	return b.String()
}
