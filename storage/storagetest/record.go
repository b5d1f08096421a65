package storagetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Written is what one committed transaction wrote, in order: the
// sequences it advanced, the records it put and the events it appended.
// A backend's benchmark replays it with the raw driver, so both sides do
// exactly the same database work.
type Written struct {
	Seqs   []string
	Puts   []storage.Record
	Events []itil.Event
}

// Recording wraps store so that every transaction that commits through it
// adds what it wrote to *log (read-only transactions add an empty Written).
func Recording(store storage.Store, log *[]Written) storage.Store {
	return recording{store, log}
}

type recording struct {
	storage.Store
	log *[]Written
}

func (r recording) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	var w Written
	err := r.Store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		w = Written{}
		return fn(ctx, recordingTx{tx, &w})
	})
	if err == nil {
		*r.log = append(*r.log, w)
	}
	return err
}

type recordingTx struct {
	storage.Tx
	w *Written
}

func (t recordingTx) Put(ctx context.Context, rec storage.Record) (int64, error) {
	rec.Terms = slices.Clone(rec.Terms)
	t.w.Puts = append(t.w.Puts, rec)
	return t.Tx.Put(ctx, rec)
}

func (t recordingTx) Append(ctx context.Context, ev itil.Event) error {
	// The caller may reuse Payload and Refs once Append returns.
	rec := ev
	rec.Payload, rec.Refs = bytes.Clone(ev.Payload), slices.Clone(ev.Refs)
	t.w.Events = append(t.w.Events, rec)
	return t.Tx.Append(ctx, ev)
}

func (t recordingTx) NextSeq(ctx context.Context, name string) (int64, error) {
	t.w.Seqs = append(t.w.Seqs, name)
	return t.Tx.NextSeq(ctx, name)
}

// ReportRatio reports a backend's time beside its raw driver's, both
// totals over b.N operations timed in the same loop: raw-ns/op,
// ours-ns/op, x-raw (ours divided by raw) and x-of-raw-throughput (its
// inverse, the figure speed targets are stated in).
func ReportRatio(b *testing.B, ours, raw time.Duration) {
	b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "ours-ns/op")
	b.ReportMetric(float64(ours)/float64(raw), "x-raw")
	b.ReportMetric(float64(raw)/float64(ours), "x-of-raw-throughput")
}
