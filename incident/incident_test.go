package incident_test

import (
	"github.com/stretchr/testify/require"

	"testing"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

func TestIncidentOnMemory(t *testing.T) {
	incidenttest.Run(t, storagetest.SameStore(func(testing.TB) storage.Store { return memory.NewStore() }))
}

// TestDiagramInSync fails when lifecycle.md or the README's copy of the
// diagram no longer matches the lifecycle. Run `go test ./incident -update`
// to regenerate both.
func TestDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "lifecycle.md", Title: "Incident lifecycle",
		Source: "incident.Lifecycle()", Package: "./incident", Mermaid: incident.Diagram(), README: "incident"})
}

// Lifecycle hands out a copy: changing it changes nothing the Service uses.
func TestLifecycleIsACopy(t *testing.T) {
	l := incident.Lifecycle()
	require.NotEmpty(t, l)
	l[0].To = "nowhere"
	l[0].From[0] = "nowhere"
	again := incident.Lifecycle()
	require.NotEqual(t, incident.State("nowhere"), again[0].To)
	require.NotEqual(t, incident.State("nowhere"), again[0].From[0])
	require.Equal(t, incident.Diagram(), incident.Diagram())
}
