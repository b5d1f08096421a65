// Package benchkit is the harness of the process packages' command
// benchmarks: a command through its Service on the memory backend, timed
// beside its raw limit on the same data in the same loop. The raw limit of
// a command is JSON-encoding exactly the records it writes (recorded from
// one run of it) and putting them in a map. Only tests and test-support
// packages import it.
//
// A benchmark records what its command writes (Writes), decodes the
// records (Records), and hands Compare a builder of the limit (Limit) and
// one of the command:
//
//	writes := benchkit.Records[incident.Incident](b, txs, incident.Kind)
//	benchkit.Compare(b,
//		func() func() { return benchkit.Limit(writes, idOf, itil.NewID) },
//		func(b *testing.B) func(context.Context) error { ... })
package benchkit

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

// Writes runs a command once on a memory store and returns what each of
// its transactions that wrote anything wrote, in commit order: the work a
// benchmark's raw side replays. setup builds the Service on the store and
// whatever the command works on, and returns the command; what setup
// itself writes is left out.
func Writes(tb testing.TB, setup func(tb testing.TB, store storage.Store) func(context.Context) error) []storagetest.Written {
	tb.Helper()
	var log []storagetest.Written
	op := setup(tb, storagetest.Recording(memory.NewStore(), &log))
	log = log[:0]
	if err := op(context.Background()); err != nil {
		tb.Fatal(err)
	}
	txs := log[:0]
	for _, w := range log {
		if len(w.Puts) > 0 || len(w.Events) > 0 || len(w.Seqs) > 0 {
			txs = append(txs, w)
		}
	}
	return txs
}

// Records decodes the records the transactions put, in order, as values of
// T. Every record must be of kind: a limit that left out a record of
// another kind would be cheaper than the command's real work, so a
// command that writes one fails the benchmark rather than flatter it.
func Records[T any](tb testing.TB, txs []storagetest.Written, kind string) []T {
	tb.Helper()
	var out []T
	for _, w := range txs {
		for _, p := range w.Puts {
			if p.Kind != kind {
				tb.Fatalf("the command writes a %s record too; the limit encodes only %s records", p.Kind, kind)
			}
			var v T
			if err := json.Unmarshal([]byte(p.Data), &v); err != nil {
				tb.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}

// Limit returns the raw limit of a command that wrote records: JSON-encode
// each, as the Service stores it, and put it in a map under its ID (id
// points at a record's ID field). With newID, each run first gives every
// record one new ID, as a command that creates its entity (Open) does;
// with nil, the records keep theirs, as a command on an existing entity
// rewrites it.
func Limit[T any](records []T, id func(*T) *itil.ID, newID func() itil.ID) func() {
	m := make(map[itil.ID][]byte)
	records = append([]T(nil), records...)
	return func() {
		if newID != nil {
			fresh := newID()
			for i := range records {
				*id(&records[i]) = fresh
			}
		}
		for i := range records {
			data, err := json.Marshal(&records[i])
			if err != nil {
				panic(err)
			}
			m[*id(&records[i])] = data
		}
	}
}

// Compare runs the raw limit and the command alternately in one loop,
// timing each, so that both see the same machine state (a noisy
// neighbour, the garbage collector) and the ratio stays stable. Its
// "service" sub-benchmark reports ns/op of each (limit-ns/op,
// service-ns/op) and x-limit, the command's time divided by the limit's;
// its "limit" sub-benchmark runs the limit alone, for its allocations.
//
// limit builds a raw limit afresh (Limit); service builds a Service with
// whatever the command works on, and returns the command, which the loop
// runs b.N times.
func Compare(b *testing.B, limit func() func(), service func(b *testing.B) func(context.Context) error) {
	b.Run("limit", func(b *testing.B) {
		raw := limit()
		b.ReportAllocs()
		for range b.N {
			raw()
		}
	})
	b.Run("service", func(b *testing.B) {
		ctx := context.Background()
		op, raw := service(b), limit()
		var inLimit, inService time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			raw()
			t1 := time.Now()
			if err := op(ctx); err != nil {
				b.Fatal(err)
			}
			inLimit += t1.Sub(t0)
			inService += time.Since(t1)
		}
		b.ReportMetric(float64(inLimit.Nanoseconds())/float64(b.N), "limit-ns/op")
		b.ReportMetric(float64(inService.Nanoseconds())/float64(b.N), "service-ns/op")
		b.ReportMetric(float64(inService)/float64(inLimit), "x-limit")
	})
}
