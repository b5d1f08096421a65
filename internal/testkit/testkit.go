// Package testkit holds what the tests of several packages use alike:
// input no backend may store, a way to observe that nothing was written,
// a check of a ValidationError's fields, and PostgreSQL DSN parameters.
package testkit

import (
	"context"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// TB is what test helpers report failures to: a *testing.T, or a
// *rapid.T inside a property, so that rapid can shrink the case.
type TB interface {
	require.TestingT
	Helper()
}

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
// before and after a refused command to show that nothing was written. t
// is a *testing.T or a *rapid.T.
func JournalLen(t require.TestingT, store storage.Store) int {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
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

// RequireFields requires err to be a *itil.ValidationError naming exactly
// fields.
func RequireFields(t require.TestingT, err error, fields ...string) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	var got []string
	for _, f := range v.Fields {
		got = append(got, f.Field)
	}
	require.ElementsMatch(t, fields, got, "%v", v)
}

// RequireInvalid requires err to be a *itil.ValidationError naming each of
// fields (and maybe others).
func RequireInvalid(t require.TestingT, err error, fields ...string) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range fields {
		require.True(t, v.Has(f), "expected field %q in %v", f, v)
	}
}

// WithDSNParam sets a parameter of a PostgreSQL URL or key=value DSN.
func WithDSNParam(dsn, key, value string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

// Clock is a settable clock, safe for concurrent use, that the suites
// inject as an itil.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at Monday 2 March 2026, 09:00 UTC, where the
// suites start.
func NewClock() *Clock { return ClockAt(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) }

// ClockAt returns a clock at t.
func ClockAt(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// AllPages follows a ListPage-style function from the first page (token
// "") to the last and returns every item in order.
func AllPages[T any](t require.TestingT, page func(token string) ([]T, string, error)) []T {
	var all []T
	token := ""
	for {
		items, next, err := page(token)
		require.NoError(t, err)
		all = append(all, items...)
		if next == "" {
			return all
		}
		token = next
	}
}

// WrapTx returns store with every transaction's Tx passed through wrap
// first: a test wraps the Tx to intercept one of its methods (to count
// reads, or to let another command commit at a chosen moment).
func WrapTx(store storage.Store, wrap func(storage.Tx) storage.Tx) storage.Store {
	return wrappedStore{store, wrap}
}

type wrappedStore struct {
	storage.Store
	wrap func(storage.Tx) storage.Tx
}

func (s wrappedStore) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	return s.Store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { return fn(ctx, s.wrap(tx)) })
}
