package postgres

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// skippedNotice is the line the package prints when ITIL_POSTGRES_DSN is
// not set, so that `go test ./...` does not pass the PostgreSQL suite off
// as run.
const skippedNotice = "storage/postgres: the PostgreSQL suite did not run: ITIL_POSTGRES_DSN is not set. " +
	"Run it with ITIL_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test ./storage/postgres " +
	"(see CONTRIBUTING.md; .ci/run starts a throwaway cluster itself)"

func TestMain(m *testing.M) {
	if os.Getenv(dsnEnv) == "" {
		notice(skippedNotice)
	}
	os.Exit(m.Run())
}

// TestSuiteDidNotRun keeps go test from caching the package's result
// while the suite does not run, so that every run prints the notice
// instead of a silent "(cached)": go test does not cache a result that
// read a file of the module changed in the last two seconds (a test reads
// it; go test records only what tests read). The file is one, rewritten
// each time, and ignored by git.
func TestSuiteDidNotRun(t *testing.T) {
	if os.Getenv(dsnEnv) != "" {
		t.Skip("the suite runs")
	}
	name := filepath.Join("testdata", "suite-skipped")
	// A clean clone has no testdata directory here: the file is ignored.
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Skipf("cannot make %s (a read-only module): go test may cache this result", filepath.Dir(name))
	}
	if err := os.WriteFile(name, []byte(skippedNotice+"\n"), 0o644); err != nil {
		t.Skipf("cannot write %s (a read-only module): go test may cache this result", name)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close() // opened only so that go test records the read
}

// notice prints line where the person running go test sees it. go test
// shows nothing but the "ok" line of a package that passes unless -v is
// given, and it captures the test binary's stdout and stderr; so, on
// Linux, the line goes to the go command's own standard error when this
// binary is its child. Anywhere else it goes to standard output, which
// go test shows with -v, when run in the package's directory, or when the
// package fails.
func notice(line string) {
	if w := parentStderr(); w != nil {
		defer w.Close()
		fmt.Fprintln(w, line)
		return
	}
	fmt.Println(line)
}

// parentStderr opens the standard error of the go command that started
// this test binary, or returns nil.
func parentStderr() io.WriteCloser {
	ppid := os.Getppid()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(ppid) + "/exe")
	if err != nil || filepath.Base(exe) != "go" {
		return nil
	}
	f, err := os.OpenFile("/proc/"+strconv.Itoa(ppid)+"/fd/2", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil
	}
	return f
}

// TestSkippedSuiteSaysSo runs this package's tests the way a newcomer's
// `go test ./...` does, without a DSN and without -v, and checks that the
// output says the suite did not run and how to run it.
func TestSkippedSuiteSaysSo(t *testing.T) {
	if os.Getenv("ITIL_INNER_GO_TEST") != "" {
		t.Skip("inside the run this test started")
	}
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		t.Skip("the notice reaches go test's output only where /proc exists")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	// Twice, as a newcomer runs it again: a cached result would print
	// nothing but "ok (cached)".
	for run := range 2 {
		cmd := exec.Command(goCmd, "test", "-run", "^(TestUnreachable|TestSuiteDidNotRun)$", ".")
		cmd.Env = append(withoutEnv(os.Environ(), dsnEnv), "ITIL_INNER_GO_TEST=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go test without a DSN: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), skippedNotice) {
			t.Fatalf("go test without a DSN (run %d) does not say that the suite did not run; it printed:\n%s", run+1, out)
		}
		if !strings.Contains(string(out), "ok  \tgithub.com/itilkit/itil/storage/postgres") {
			t.Fatalf("go test without a DSN did not pass:\n%s", out)
		}
	}
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
