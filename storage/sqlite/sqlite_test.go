package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/itilkit/itil/cmdb/cmdbtest"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/slm/slmtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/sqlite"
	"github.com/itilkit/itil/storage/storagetest"
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

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, err := sqlite.Open(filepath.Join(t.TempDir(), "itil.db"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestIncident(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) storage.Store { return tenantStore(t) })
}

func TestSLM(t *testing.T) {
	slmtest.Run(t, func(t testing.TB) storage.Store { return tenantStore(t) })
}

func TestCMDB(t *testing.T) {
	cmdbtest.Run(t, func(t testing.TB) storage.Store { return tenantStore(t) })
}
