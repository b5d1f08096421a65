package cmdb_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
)

// TestConcurrentImportsCreateOnce: the same payload imported by several
// callers at once creates each CI once; the others find it.
func TestConcurrentImportsCreateOnce(t *testing.T) {
	for round := range 20 {
		f := newImportFixture(t)
		payload := []cmdb.ImportRecord{
			server(cmdb.ClassLinuxServer, "web-1", map[string]string{"serial_number": "SN-1"}),
			server(cmdb.ClassLinuxServer, "web-2", map[string]string{"host_name": "web-2", "domain": "example.com"}),
			onHost(cmdb.ClassDatabaseInstance, "orders-db", bySerial("SN-1"), nil),
		}
		const callers = 6
		results := make([][]cmdb.ImportResult, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				results[i], errs[i] = f.svc.Import(f.ctx, admin, "discovery", payload)
			})
		}
		close(start)
		wg.Wait()
		created := make([]int, len(payload))
		for i := range callers {
			require.NoError(t, errs[i], "round %d caller %d", round, i)
			for j, r := range results[i] {
				switch r.Outcome {
				case cmdb.Created:
					created[j]++
				case cmdb.Updated, cmdb.Unchanged:
				default:
					t.Fatalf("round %d caller %d record %d: %+v", round, i, j, r)
				}
			}
		}
		require.Equal(t, []int{1, 1, 1}, created, "round %d", round)
		require.Len(t, f.allCIs(), len(payload), "round %d", round)
	}
}

// TestConcurrentCreateUniqueAttribute: of several CIs created at once with
// the same value of a unique attribute, exactly one is stored.
func TestConcurrentCreateUniqueAttribute(t *testing.T) {
	for round := range 20 {
		f := newImportFixture(t)
		const callers = 6
		errs := make([]error, callers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				_, errs[i] = f.svc.CreateCI(f.ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer,
					Name: "srv", Attributes: map[string]string{"serial_number": "SN-9"}})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			var ve *itil.ValidationError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ve):
				require.Equal(t, "attributes.serial_number", ve.Fields[0].Field)
			case errors.Is(err, itil.ErrConflict):
				// lost three times in a row to the others: nothing written
			default:
				t.Fatal(err)
			}
		}
		require.Equal(t, 1, ok, "round %d: %v", round, errs)
		require.Len(t, f.allCIs(), 1, "round %d", round)
	}
}
