package problem_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/problem/problemtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

func TestProblemOnMemory(t *testing.T) {
	problemtest.Run(t, storagetest.SameStore(func(testing.TB) storage.Store { return memory.NewStore() }))
}

// TestDiagramInSync fails when lifecycle.md or the README's copy no
// longer matches the lifecycle. Run `go test ./problem -update` to
// regenerate them.
func TestDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "lifecycle.md", Title: "Problem lifecycle",
		Source: "problem.Lifecycle()", Package: "./problem", Mermaid: problem.Diagram(), README: "problem"})
}

// Lifecycle hands out a copy: changing it changes nothing the Service uses.
func TestLifecycleIsACopy(t *testing.T) {
	l := problem.Lifecycle()
	require.NotEmpty(t, l)
	l[0].To = "nowhere"
	l[0].From[0] = "nowhere"
	again := problem.Lifecycle()
	require.NotEqual(t, problem.State("nowhere"), again[0].To)
	require.NotEqual(t, problem.State("nowhere"), again[0].From[0])
}

// Every state of the lifecycle is declared, and only Canceled has no way
// out in the table: Closed leaves only by the authorized reanalysis.
func TestStatesDeclared(t *testing.T) {
	seen := map[problem.State]bool{}
	for _, tr := range problem.Lifecycle() {
		seen[tr.To] = true
		for _, f := range tr.From {
			seen[f] = true
		}
	}
	for _, s := range problem.States() {
		require.True(t, seen[s], "%s is not in the lifecycle", s)
	}
	require.Len(t, seen, len(problem.States()))
}
