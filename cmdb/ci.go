package cmdb

import (
	"maps"
	"strings"
	"time"

	"github.com/looplab/fsm"

	"github.com/itilkit/itil"
)

// Status is a CI's lifecycle status (see Lifecycle and lifecycle.md).
type Status string

// CI lifecycle statuses.
const (
	Planned          Status = "planned"
	InBuild          Status = "in_build"
	Operational      Status = "operational"
	UnderMaintenance Status = "under_maintenance"
	Retired          Status = "retired"
)

// lifecycle declares the CI lifecycle once: planned → in build →
// operational ⇄ under maintenance → retired. Retired is final.
var lifecycle = fsm.Events{
	{Name: "build", Src: []string{string(Planned)}, Dst: string(InBuild)},
	{Name: "deploy", Src: []string{string(InBuild)}, Dst: string(Operational)},
	{Name: "maintain", Src: []string{string(Operational)}, Dst: string(UnderMaintenance)},
	{Name: "restore", Src: []string{string(UnderMaintenance)}, Dst: string(Operational)},
	{Name: "retire", Src: []string{string(Planned), string(InBuild), string(Operational), string(UnderMaintenance)}, Dst: string(Retired)},
}

// Lifecycle returns the CI lifecycle as looplab/fsm events (a copy).
func Lifecycle() fsm.Events {
	out := make(fsm.Events, len(lifecycle))
	for i, e := range lifecycle {
		e.Src = append([]string(nil), e.Src...)
		out[i] = e
	}
	return out
}

// canMove reports whether the lifecycle has an event from one status to
// another.
func canMove(from, to Status) bool {
	f := fsm.NewFSM(string(from), lifecycle, nil)
	for _, e := range f.AvailableTransitions() {
		for _, ev := range lifecycle {
			if ev.Name == e && ev.Dst == string(to) {
				return true
			}
		}
	}
	return false
}

// Diagram returns the CI lifecycle as a Mermaid state diagram.
func Diagram() string {
	f := fsm.NewFSM(string(Planned), lifecycle, nil)
	d, err := fsm.VisualizeForMermaidWithGraphType(f, fsm.StateDiagram)
	if err != nil {
		panic(err) // StateDiagram is a known graph type
	}
	var b strings.Builder
	b.WriteString(d)
	b.WriteString("    " + string(Retired) + " --> [*]\n")
	return b.String()
}

// Criticality is a CI's business criticality, 1 (most critical) to 4.
type Criticality int

// Criticalities.
const (
	MissionCritical Criticality = 1
	High            Criticality = 2
	Medium          Criticality = 3
	Low             Criticality = 4
)

// CI is a configuration item.
type CI struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	Class   string  `json:"class"`
	Name    string  `json:"name"`
	// Attributes holds the class's attribute values in canonical form.
	Attributes   map[string]string `json:"attributes,omitempty"`
	Status       Status            `json:"status"`
	Criticality  Criticality       `json:"criticality,omitempty"`
	Owner        string            `json:"owner,omitempty"`
	SupportGroup string            `json:"support_group,omitempty"`
	LocationID   itil.ID           `json:"location_id,omitzero"`
	// Source is the data source that last wrote the CI (such as
	// "discovery" or "manual"), and LastDiscovered when discovery last
	// saw it.
	Source         string    `json:"source,omitempty"`
	LastDiscovered time.Time `json:"last_discovered,omitzero"`
	// AttrSources records which source wrote each attribute, for
	// reconciliation.
	AttrSources map[string]string `json:"attr_sources,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func cloneCI(dst, src *CI) {
	*dst = *src
	dst.Attributes = maps.Clone(src.Attributes)
	dst.AttrSources = maps.Clone(src.AttrSources)
}

// Relationship is a typed, directed link from a parent CI to a child CI.
type Relationship struct {
	ID        itil.ID   `json:"id"`
	Version   int64     `json:"version"`
	Type      string    `json:"type"`
	Parent    itil.ID   `json:"parent"`
	Child     itil.ID   `json:"child"`
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}
