package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/itilkit/itil/change/changetest"
	"github.com/itilkit/itil/cmdb/cmdbtest"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/lifecycle/lifecycletest"
	"github.com/itilkit/itil/problem/problemtest"
	"github.com/itilkit/itil/slm/slmtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed/feedtest"
	"github.com/itilkit/itil/storage/sqlite"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy/strategytest"
)

// open opens a fresh database in a temporary directory of t and closes it
// when t ends.
func open(t testing.TB, opts ...sqlite.Option) *sqlite.Backend {
	t.Helper()
	b, err := sqlite.Open(filepath.Join(t.TempDir(), "itil.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func tenantStore(t testing.TB) storage.Store {
	t.Helper()
	s, err := open(t).Tenant("default")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instances opens one fresh database twice, as two processes would.
func instances(t testing.TB) (storage.Store, storage.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "itil.db")
	var stores [2]storage.Store
	for i := range stores {
		b, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		if stores[i], err = b.Tenant("default"); err != nil {
			t.Fatal(err)
		}
	}
	return stores[0], stores[1]
}

// newBackend opens a fresh database in a temporary directory of t; the
// suites close it.
func newBackend(t *testing.T) storage.Backend {
	b, err := sqlite.Open(filepath.Join(t.TempDir(), "itil.db"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, newBackend)
}

func TestIncident(t *testing.T) {
	incidenttest.Run(t, instances)
}

func TestProblem(t *testing.T) {
	problemtest.Run(t, instances)
}

func TestChange(t *testing.T) {
	changetest.Run(t, instances)
}

func TestLifecycle(t *testing.T) {
	lifecycletest.Run(t, instances)
}

func TestStrategy(t *testing.T) {
	strategytest.Run(t, instances)
}

func TestSLM(t *testing.T) {
	slmtest.Run(t, instances)
}

func TestCMDB(t *testing.T) {
	cmdbtest.Run(t, instances)
}

func TestFeed(t *testing.T) {
	feedtest.Run(t, newBackend)
}

// TestFeedTwoBackends: instances of one consumer on two backends opened on
// the same file, as two parts of a program (or two programs) would.
func TestFeedTwoBackends(t *testing.T) {
	feedtest.RunTwoStores(t, instances)
}
