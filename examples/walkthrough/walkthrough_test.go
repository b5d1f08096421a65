package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/walkthrough.golden")

// TestWalkthrough tells the story twice and holds it to the golden file:
// the two runs must print the same (the story is deterministic: a
// simulated clock, reference numbers and no IDs), and the same as
// testdata/walkthrough.golden, so any change to what it says shows in a
// review. `go test ./examples/walkthrough -update` rewrites the file.
func TestWalkthrough(t *testing.T) {
	var runs [2]string
	for i := range runs {
		var out strings.Builder
		var stages []string
		require.NoError(t, run(&out, func(stage string) { stages = append(stages, stage) }))
		require.Equal(t, []string{"2. Service design", "3. Service transition", "4. Service operation",
			"5. Continual improvement"}, stages, "-step pauses before every stage but the first")
		runs[i] = out.String()
	}
	require.Equal(t, runs[0], runs[1], "two runs of the walkthrough printed different stories")
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	require.Empty(t, uuid.FindAllString(runs[0], -1), "the walkthrough prints IDs, which differ on every run")

	golden := filepath.Join("testdata", "walkthrough.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(runs[0]), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), runs[0], "the walkthrough differs from %s: if the change is meant, run go test ./examples/walkthrough -update", golden)
}

// TestReadmeExcerpt keeps the README's excerpt of the walkthrough true:
// each of its lines is a line of the golden output.
func TestReadmeExcerpt(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## For educators: a narrated walkthrough")
	require.True(t, ok, "the README has no section on the walkthrough")
	_, excerpt, ok := strings.Cut(section, "```text\n")
	require.True(t, ok, "the README's walkthrough section has no ```text excerpt")
	excerpt, _, _ = strings.Cut(excerpt, "```")
	golden, err := os.ReadFile(filepath.Join("testdata", "walkthrough.golden"))
	require.NoError(t, err)
	lines := strings.Split(string(golden), "\n")
	for _, l := range strings.Split(strings.TrimSpace(excerpt), "\n") {
		if l != "" {
			require.Contains(t, lines, l, "the README quotes a line the walkthrough does not print")
		}
	}
}
