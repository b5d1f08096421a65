package incident_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

func TestIncidentOnMemory(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) storage.Store { return memory.NewStore() })
}

var update = flag.Bool("update", false, "rewrite generated files (lifecycle.md)")

// TestDiagramInSync fails when lifecycle.md or the README's copy of the
// diagram no longer matches the lifecycle. Run `go test ./incident -update`
// to regenerate both.
func TestDiagramInSync(t *testing.T) {
	want := "# Incident lifecycle\n\nGenerated from `incident.Lifecycle()` by `go test ./incident -update`; do not edit.\n\n" +
		"```mermaid\n" + incident.Diagram() + "```\n"
	if *update {
		require.NoError(t, os.WriteFile("lifecycle.md", []byte(want), 0o644))
	}
	got, err := os.ReadFile("lifecycle.md")
	require.NoError(t, err)
	require.Equal(t, want, string(got), "lifecycle.md is stale: run go test ./incident -update")

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	block := "```mermaid\n" + incident.Diagram() + "```"
	if *update {
		// The README holds one state diagram: the incident's.
		start := strings.Index(string(readme), "```mermaid\nstateDiagram-v2\n")
		require.GreaterOrEqual(t, start, 0, "README.md has no state diagram to update")
		end := start + len("```mermaid\n") + strings.Index(string(readme[start+len("```mermaid\n"):]), "```") + len("```")
		readme = []byte(string(readme[:start]) + block + string(readme[end:]))
		require.NoError(t, os.WriteFile("../README.md", readme, 0o644))
	}
	require.True(t, strings.Contains(string(readme), block),
		"README.md's incident diagram is stale: run go test ./incident -update")
}
