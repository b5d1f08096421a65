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
// diagram no longer matches Lifecycle. Run `go test ./incident -update` to
// regenerate lifecycle.md.
func TestDiagramInSync(t *testing.T) {
	want := "# Incident lifecycle\n\nGenerated from `incident.Lifecycle` by `go test ./incident -update`; do not edit.\n\n" +
		"```mermaid\n" + incident.Diagram() + "```\n"
	if *update {
		require.NoError(t, os.WriteFile("lifecycle.md", []byte(want), 0o644))
	}
	got, err := os.ReadFile("lifecycle.md")
	require.NoError(t, err)
	require.Equal(t, want, string(got), "lifecycle.md is stale: run go test ./incident -update")

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	require.True(t, strings.Contains(string(readme), "```mermaid\n"+incident.Diagram()+"```"),
		"README.md's incident diagram is stale: copy it from incident/lifecycle.md")
}
