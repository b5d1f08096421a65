package problem_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/problem"
)

// TestKnownErrorDiagramInSync fails when knownerror.md no longer matches
// the known error lifecycle. Run `go test ./problem -update` to
// regenerate it.
func TestKnownErrorDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "knownerror.md", Title: "Known error lifecycle",
		Source: "problem.KnownErrorLifecycle()", Package: "./problem", Mermaid: problem.KnownErrorDiagram(), README: "known-error"})
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Überlastung":      "uberlastung",
		"ÜBERLASTUNG":      "uberlastung",
		"Straße":           "strasse",
		"café RÉSEAU":      "cafe reseau",
		"ﬁle Ｅｒｒｏｒ":        "file error",
		"Łódź Ørsted Æble": "lodz orsted aeble",
		"0x80070005":       "0x80070005",
		"":                 "",
	} {
		assert.Equal(t, want, problem.Fold(in), in)
	}
	assert.Equal(t, []string{"0x80070005", "access", "denied", "erreur", "reseau"},
		problem.Words("Access DENIED (0x80070005): erreur réseau; access denied!"))
	assert.Empty(t, problem.Words(" -- ,;"))
}
