package itil_test

import (
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the README's quoted Go files")

// goMarker precedes every Go block of the README: the block is that file
// of the repository, verbatim, so that the build compiles what the README
// shows and CI runs it (go run ./examples/readme/...).
var goMarker = regexp.MustCompile("(?m)^<!-- go: (\\S+) -->\n```go\n")

// TestReadmeGoBlocksAreCompiledFiles fails when a Go block of the README
// is not a quoted file or differs from it. Run `go test . -update` to copy
// the files into the README.
func TestReadmeGoBlocksAreCompiledFiles(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	require.Equal(t, strings.Count(readme, "```go\n"), len(goMarker.FindAllStringIndex(readme, -1)),
		"every ```go block of README.md must follow a <!-- go: path --> marker naming the file it quotes")
	var out strings.Builder
	pos := 0
	for _, m := range goMarker.FindAllStringSubmatchIndex(readme, -1) {
		path := readme[m[2]:m[3]]
		body := m[1]
		end := strings.Index(readme[body:], "```\n")
		require.GreaterOrEqual(t, end, 0, "unterminated Go block for %s", path)
		file, err := os.ReadFile(path)
		require.NoError(t, err, "the README quotes %s", path)
		out.WriteString(readme[pos:body])
		out.Write(file)
		pos = body + end
		if !*update {
			require.Equal(t, string(file), readme[body:body+end], "README.md's copy of %s is stale: run go test . -update", path)
		}
	}
	out.WriteString(readme[pos:])
	if *update {
		require.NoError(t, os.WriteFile("README.md", []byte(out.String()), 0o644))
	}
}

// TestQuickstartLinksNoDatabaseDriver keeps the README's first command
// quick on a fresh machine: `go run ./examples/quickstart` must not need
// the SQLite or PostgreSQL driver modules (about 245 MB to download).
func TestQuickstartLinksNoDatabaseDriver(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./examples/quickstart").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, mod := range strings.Fields(string(out)) {
		for _, driver := range []string{"modernc.org/", "github.com/jackc/"} {
			require.False(t, strings.HasPrefix(mod, driver),
				"examples/quickstart depends on module %s: it must run in memory without a database driver", mod)
		}
	}
}
