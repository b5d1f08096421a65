package slm_test

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/slm"
)

var update = flag.Bool("update", false, "rewrite generated files (stages.md)")

// TestDiagramInSync fails when stages.md no longer matches the timer
// lifecycle. Run `go test ./slm -update` to regenerate it.
func TestDiagramInSync(t *testing.T) {
	want := "# SLA timer stages\n\nGenerated from `slm.Stages()` by `go test ./slm -update`; do not edit.\n\n" +
		"```mermaid\n" + slm.Diagram() + "```\n"
	if *update {
		require.NoError(t, os.WriteFile("stages.md", []byte(want), 0o644))
	}
	got, err := os.ReadFile("stages.md")
	require.NoError(t, err)
	require.Equal(t, want, string(got), "stages.md is stale: run go test ./slm -update")
}
