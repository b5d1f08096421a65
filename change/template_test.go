package change_test

import (
	"testing"

	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/machine/machinetest"
)

// TestTemplateDiagramInSync fails when template.md no longer matches the
// template lifecycle. Run `go test ./change -update` to regenerate it.
func TestTemplateDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "template.md", Title: "Standard change template lifecycle",
		Source: "change.TemplateLifecycle()", Package: "./change", Mermaid: change.TemplateDiagram()})
}
