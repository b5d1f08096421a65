// Package machinetest checks that the state diagrams committed beside
// each process (lifecycle.md) and in the README match the declared
// lifecycles. Run a package's tests with -update to rewrite them.
package machinetest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite generated state diagrams (lifecycle.md and the README's copies)")

// Diagram is one committed state diagram.
type Diagram struct {
	// File is the generated Markdown file, relative to the package
	// directory (lifecycle.md).
	File string
	// Title heads the file, such as "Incident lifecycle".
	Title string
	// Source names what the diagram is generated from, such as
	// "incident.Lifecycle()", and Package the package path to test, such
	// as "./incident".
	Source, Package string
	// Mermaid is the diagram itself (Machine.Diagram).
	Mermaid string
	// README, when set, names the copy in the repository's README.md:
	// the Mermaid block that follows the line "<!-- diagram: README -->".
	README string
}

// InSync fails when d's file or its README copy is stale; with -update it
// rewrites them first.
func InSync(t *testing.T, d Diagram) {
	t.Helper()
	cmd := "go test " + d.Package + " -update"
	want := "# " + d.Title + "\n\nGenerated from `" + d.Source + "` by `" + cmd + "`; do not edit.\n\n" +
		"```mermaid\n" + d.Mermaid + "```\n"
	if *update {
		require.NoError(t, os.WriteFile(d.File, []byte(want), 0o644))
	}
	got, err := os.ReadFile(d.File)
	require.NoError(t, err)
	require.Equal(t, want, string(got), "%s is stale: run %s", d.File, cmd)
	if d.README == "" {
		return
	}
	path := readmePath(t)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	readme := string(raw)
	marker := "<!-- diagram: " + d.README + " -->\n"
	at := strings.Index(readme, marker)
	require.GreaterOrEqual(t, at, 0, "README.md has no %q marker", strings.TrimSpace(marker))
	start := at + len(marker)
	block := "```mermaid\n" + d.Mermaid + "```\n"
	if *update {
		end := start
		if strings.HasPrefix(readme[start:], "```mermaid\n") {
			close := strings.Index(readme[start+len("```mermaid\n"):], "```\n")
			require.GreaterOrEqual(t, close, 0, "README.md: unterminated diagram after %q", marker)
			end = start + len("```mermaid\n") + close + len("```\n")
		}
		readme = readme[:start] + block + readme[end:]
		require.NoError(t, os.WriteFile(path, []byte(readme), 0o644))
	}
	require.True(t, strings.HasPrefix(readme[start:], block), "README.md's %s diagram is stale: run %s", d.README, cmd)
}

// readmePath finds README.md in the nearest directory above that has
// go.mod.
func readmePath(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "README.md")
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the package")
		dir = parent
	}
}
