package feedtest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
)

// BenchEvents is how many events BenchDrain drains.
const BenchEvents = 100_000

// BenchDrain measures a consumer draining BenchEvents events from s beside
// the raw read of the same events: one transaction reading the journal
// through with tx.Journal. Each iteration times both in turn on the same
// data; the consumer is a new one (a fresh cursor) each time, with a
// handler that only counts. It reports raw-ns/op, ours-ns/op and
// x-of-raw-read, the raw read's time divided by the consumer's (the target
// is >= 0.5), for the default batch of 256 events and for the largest,
// 10,000. s must be empty; BenchDrain fills it.
func BenchDrain(b *testing.B, s storage.Store) {
	ctx := context.Background()
	const perTx = 1000
	for i := 0; i < BenchEvents; i += perTx {
		evs := make([]ev, perTx)
		for j := range evs {
			evs[j] = ev{"incident", "updated", "b" + strconv.Itoa(i+j)}
		}
		if err := write(ctx, s, true, evs...); err != nil {
			b.Fatal(err)
		}
	}
	raw := func() {
		n := 0
		err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			for _, err := range tx.Journal(ctx, storage.JournalQuery{}) {
				if err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil || n != BenchEvents {
			b.Fatalf("raw read: %d events, %v", n, err)
		}
	}
	consumers := 0
	for _, batch := range []int{256, 10_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var inRaw, inOurs time.Duration
			count := func(context.Context, storage.Tx, itil.Event) error { return nil }
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				consumers++
				c, err := feed.New(s, "bench-"+strconv.Itoa(consumers), count, feed.WithBatchSize(batch))
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				raw()
				t1 := time.Now()
				n, err := c.Drain(ctx)
				inRaw += t1.Sub(t0)
				inOurs += time.Since(t1)
				if err != nil || n != BenchEvents {
					b.Fatalf("drain: %d events, %v", n, err)
				}
			}
			b.ReportMetric(float64(inRaw.Nanoseconds())/float64(b.N), "raw-ns/op")
			b.ReportMetric(float64(inOurs.Nanoseconds())/float64(b.N), "ours-ns/op")
			b.ReportMetric(float64(inRaw)/float64(inOurs), "x-of-raw-read")
		})
	}
}
