package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/sqlite"
)

// crashEnv carries the database path to the child process of
// TestCrashSafety.
const crashEnv = "ITIL_SQLITE_CRASH_DB"

// TestCrashSafety runs TestCrashChild in a child process (this test binary
// again), which opens incidents in a loop and prints each one after its
// commit returned; it kills the child with SIGKILL in the middle of the
// stream, reopens the file and requires every acknowledged incident to be
// there and the database to pass PRAGMA integrity_check.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	const acksBeforeKill = 60
	type ack struct {
		id     itil.ID
		number string
	}
	var acks []ack
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue // go test's own output
		}
		idText, number, _ := strings.Cut(rest, " ")
		id, err := itil.ParseID(idText)
		require.NoError(t, err, "child printed %q", line)
		acks = append(acks, ack{id, number})
		if len(acks) == acksBeforeKill {
			require.NoError(t, cmd.Process.Kill()) // SIGKILL, while the other writers are mid-commit
			killed = true
		}
	}
	cmd.Wait()
	require.True(t, killed, "the child stopped after %d acknowledgements before it was killed", len(acks))
	require.GreaterOrEqual(t, len(acks), acksBeforeKill)

	b, err := sqlite.Open(path)
	require.NoError(t, err, "reopen after the crash")
	defer b.Close()
	s, err := b.Tenant("crash")
	require.NoError(t, err)
	svc, err := incident.New(s)
	require.NoError(t, err)
	for _, a := range acks {
		inc, err := svc.Get(t.Context(), a.id)
		require.NoError(t, err, "acknowledged incident %s %s", a.number, a.id)
		require.Equal(t, a.number, inc.Number)
	}

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	require.Equal(t, "ok", check)
	// Numbers are never handed out twice, even across the crash.
	var dup int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM (SELECT data ->> '$.number' AS n FROM records GROUP BY n HAVING COUNT(*) > 1)`).Scan(&dup))
	require.Zero(t, dup, "duplicate incident numbers")
	t.Logf("%d acknowledged incidents survived the kill", len(acks))
}

// TestCrashChild is the child process of TestCrashSafety: four writers open
// incidents with the default durability and print "ack ID NUMBER" after each
// commit returned, until they are killed (or after a bound, if nobody kills
// them).
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs as the child of TestCrashSafety")
	}
	b, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Tenant("crash")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := incident.New(s)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				inc, err := svc.Open(context.Background(), itil.Actor{ID: "crash"}, incident.NewIncident{
					Title: fmt.Sprintf("crash test %d/%d", w, i), Caller: itil.Actor{ID: "caller"},
					Category: "test", Channel: incident.Phone, Impact: 3, Urgency: 3,
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %s\n", inc.ID, inc.Number)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
