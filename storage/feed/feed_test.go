package feed_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
	"github.com/itilkit/itil/storage/feed/feedtest"
	"github.com/itilkit/itil/storage/memory"
)

func TestFeedOnMemory(t *testing.T) {
	feedtest.Run(t, func(*testing.T) storage.Backend { return memory.New() })
}

// TestFeedTwoStoresOnMemory: two stores of one tenant of one backend, as
// two parts of a program that each look the tenant up.
func TestFeedTwoStoresOnMemory(t *testing.T) {
	feedtest.RunTwoStores(t, func(t testing.TB) (storage.Store, storage.Store) {
		b := memory.New()
		t.Cleanup(func() { b.Close() })
		a, err := b.Tenant("acme")
		require.NoError(t, err)
		c, err := b.Tenant("acme")
		require.NoError(t, err)
		return a, c
	})
}

func nop(context.Context, storage.Tx, itil.Event) error { return nil }

// TestNewRejects: bad input to New is reported field by field, all
// together, in a *itil.ValidationError.
func TestNewRejects(t *testing.T) {
	store := memory.NewStore()
	for _, tc := range []struct {
		name    string
		store   storage.Store
		cname   string
		handler feed.Handler
		opts    []feed.Option
		fields  []string
	}{
		{"NilStore", nil, "c", nop, nil, []string{"store"}},
		{"EmptyName", store, "", nop, nil, []string{"name"}},
		{"NameWithNUL", store, "mail\x00er", nop, nil, []string{"name"}},
		{"NameNotUTF8", store, "mail\xffer", nop, nil, []string{"name"}},
		{"NilHandler", store, "c", nil, nil, []string{"handler"}},
		{"NilOption", store, "c", nop, []feed.Option{feed.FromNow(), {}}, []string{"options[1]"}},
		{"NilClock", store, "c", nop, []feed.Option{feed.WithClock(nil)}, []string{"clock"}},
		{"ZeroBatch", store, "c", nop, []feed.Option{feed.WithBatchSize(0)}, []string{"batch_size"}},
		{"NegativeBatch", store, "c", nop, []feed.Option{feed.WithBatchSize(-1)}, []string{"batch_size"}},
		{"HugeBatch", store, "c", nop, []feed.Option{feed.WithBatchSize(10_001)}, []string{"batch_size"}},
		{"ZeroLease", store, "c", nop, []feed.Option{feed.WithLease(0)}, []string{"lease"}},
		{"NegativeLease", store, "c", nop, []feed.Option{feed.WithLease(-time.Second)}, []string{"lease"}},
		{"NoKinds", store, "c", nop, []feed.Option{feed.WithKinds()}, []string{"kinds"}},
		{"EmptyKind", store, "c", nop, []feed.Option{feed.WithKinds("incident", "")}, []string{"kinds[1]"}},
		{"KindWithNUL", store, "c", nop, []feed.Option{feed.WithKinds("in\x00cident")}, []string{"kinds[0]"}},
		{"NoTypes", store, "c", nop, []feed.Option{feed.WithTypes()}, []string{"types"}},
		{"TypeNotUTF8", store, "c", nop, []feed.Option{feed.WithTypes("\xff")}, []string{"types[0]"}},
		{"All", nil, "", nil, []feed.Option{feed.WithBatchSize(0), feed.WithLease(0), {}},
			[]string{"store", "name", "handler", "batch_size", "lease", "options[2]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := feed.New(tc.store, tc.cname, tc.handler, tc.opts...)
			require.Nil(t, c)
			var ve *itil.ValidationError
			require.ErrorAs(t, err, &ve)
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			require.ElementsMatch(t, tc.fields, fields, "%v", err)
		})
	}
}

// TestNewAccepts: the limits of the options are inclusive.
func TestNewAccepts(t *testing.T) {
	store := memory.NewStore()
	for _, opts := range [][]feed.Option{
		nil,
		{feed.WithBatchSize(1)},
		{feed.WithBatchSize(10_000), feed.WithLease(time.Nanosecond)},
		{feed.WithKinds("incident", "problem"), feed.WithTypes("slm.breached"), feed.FromNow()},
		{feed.WithClock(itil.SystemClock())},
	} {
		c, err := feed.New(store, "mailer", nop, opts...)
		require.NoError(t, err)
		require.Equal(t, "mailer", c.Name())
	}
}

// BenchmarkDrain: a consumer drains 100,000 events from memory beside a
// raw read of the journal (see feedtest.BenchDrain):
//
//	go test ./storage/feed -run '^$' -bench Drain -benchtime 20x
func BenchmarkDrain(b *testing.B) {
	feedtest.BenchDrain(b, memory.NewStore())
}
