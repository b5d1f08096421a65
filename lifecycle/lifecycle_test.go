package lifecycle

import (
	"testing"

	"github.com/itilkit/itil/internal/machine/machinetest"
)

// TestDiagramInSync fails when lifecycle.md no longer matches the
// stages. Run `go test ./lifecycle -update` to regenerate it.
func TestDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "lifecycle.md", Title: "Service lifecycle",
		Source: "lifecycle.Lifecycle()", Package: "./lifecycle", Mermaid: Diagram(), README: "lifecycle"})
}

// TestInitiativeDiagramInSync: initiative.md follows InitiativeLifecycle.
func TestInitiativeDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "initiative.md", Title: "Improvement initiative",
		Source: "lifecycle.InitiativeLifecycle()", Package: "./lifecycle", Mermaid: InitiativeDiagram()})
}
