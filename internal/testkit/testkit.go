// Package testkit holds what the shared suites of the storage backends and
// the process packages (storagetest, feedtest, incidenttest, slmtest,
// cmdbtest) use alike: input no backend may store, and ways to observe
// that nothing was written.
package testkit

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/storage"
)

// BadTimes are instants no backend stores, for the process suites' "times
// out of range" cases: RFC 3339 and encoding/json write the years 0 to
// 9999, storage keeps 1 to 9999, both where a time was written and in UTC.
var BadTimes = []struct {
	Name string
	At   time.Time
}{
	{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"year 0", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"year -1", time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"year 10000 in UTC", time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600))},
	{"year 0 in UTC", time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600))},
}

// JournalLen counts every event of the store's tenant: a suite compares it
// before and after a refused command to show that nothing was written.
func JournalLen(t testing.TB, store storage.Store) int {
	t.Helper()
	n := 0
	require.NoError(t, store.RunInTx(context.Background(), func(ctx context.Context, tx storage.Tx) error {
		for _, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			if err != nil {
				return err
			}
			n++
		}
		return nil
	}))
	return n
}

// RandomText returns n random printable ASCII bytes. Limits are proven
// with it rather than with repeated characters, which a database may
// compress into an index row that the largest real values would not fit.
func RandomText(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('!' + r.IntN('~'-'!'+1))
	}
	return string(b)
}
