package storage_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// Ticket is an entity a process package might store.
type Ticket struct {
	ID      itil.ID   `json:"id"`
	Version int64     `json:"version"`
	Queue   string    `json:"queue"`
	Opened  time.Time `json:"opened"`
}

// tickets declares, once, how tickets are stored and indexed.
var tickets = storage.NewCollection(storage.Schema[Ticket]{
	Kind:    "ticket",
	ID:      func(t *Ticket) itil.ID { return t.ID },
	Version: func(t *Ticket) *int64 { return &t.Version },
	Terms: func(t *Ticket, dst []string) []string {
		return append(dst, storage.Term("queue", t.Queue))
	},
	SortKey: func(t *Ticket) string { return storage.TimeKey(t.Opened) },
})

func ExampleCollection() {
	ctx := context.Background()
	store := memory.NewStore()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// Writes happen in a transaction; Put checks the version it was given.
	err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for i, q := range []string{"network", "desk", "network"} {
			t := &Ticket{ID: itil.NewID(), Queue: q, Opened: start.Add(time.Duration(i) * time.Hour)}
			if err := tickets.Put(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
	fmt.Println("stored:", err)

	// Queries select by terms and sort-key range, in sort-key order.
	store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		q := storage.Query{Terms: []string{storage.Term("queue", "network")}}
		for t, err := range tickets.Query(ctx, tx, q) {
			if err != nil {
				return err
			}
			fmt.Println(t.Queue, t.Opened.Format("15:04"), "version", t.Version)
		}
		return nil
	})
	// Output:
	// stored: <nil>
	// network 09:00 version 1
	// network 11:00 version 1
}

func ExampleStore_RunInTx() {
	ctx := context.Background()
	store := memory.NewStore()
	id := itil.NewID()
	store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		return tickets.Put(ctx, tx, &Ticket{ID: id, Queue: "desk"})
	})

	// Two writers read version 1; the first to commit wins.
	var a, b *Ticket
	store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { a, _ = tickets.Get(ctx, tx, id); return nil })
	store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { b, _ = tickets.Get(ctx, tx, id); return nil })
	a.Queue, b.Queue = "network", "storage"
	errA := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { return tickets.Put(ctx, tx, a) })
	errB := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error { return tickets.Put(ctx, tx, b) })
	fmt.Println(errA, errors.Is(errB, itil.ErrConflict))
	// Output:
	// <nil> true
}
