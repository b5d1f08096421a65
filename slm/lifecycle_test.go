package slm_test

import (
	"testing"

	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/slm"
)

// TestDiagramInSync fails when lifecycle.md no longer matches the timer
// lifecycle. Run `go test ./slm -update` to regenerate it.
func TestDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "lifecycle.md", Title: "SLA timer lifecycle",
		Source: "slm.Lifecycle()", Package: "./slm", Mermaid: slm.Diagram()})
}
