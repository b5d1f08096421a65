// Package feed gives the journal named consumers with durable cursors: a
// [Consumer] hands every committed event of a tenant's journal to its
// [Handler], in Seq order, and remembers in the tenant's own store how far
// it got.
//
// # Why a durable cursor
//
// The journal (storage.Tx.Journal) is append-only and numbered in commit
// order, so a reader that resumes after the last Seq it saw sees every later
// event exactly once. A reader that keeps that Seq in memory starts over
// (or skips ahead) when its process restarts. A Consumer keeps it in a
// cursor record of kind [CursorKind] in the same store, under an ID derived
// from the consumer's name, so any process that creates a Consumer of that
// name resumes where the last one stopped, on every backend.
//
// # Exactly-once effect, at-least-once delivery
//
// A poll reads up to a batch of events after the cursor and calls the
// handler for each of them inside one transaction, which also advances the
// cursor past the batch. What the handler writes through its tx (a read
// model, a counter, a follow-up record) commits together with the cursor
// or not at all: each event's effect in the store happens exactly once. A
// handler error rolls back the whole batch, effects and cursor, and the
// next poll starts again at the first event of that batch.
//
// What the handler does outside the store (an e-mail, a webhook, a message
// on a channel) cannot be rolled back, so it is delivered at least once. It
// is repeated for an event when the handler ran for it and the batch's
// transaction then did not commit:
//   - the handler failed on that event or on a later event of the same batch
//     (the events before the failing one are handed over again);
//   - the commit failed: a conflict (see below), an error of the store, the
//     context ending, or the process dying between the handler's call and
//     the commit; when the store reports an error for a commit that did in
//     fact happen (a connection lost during COMMIT), nothing is repeated;
//   - a lease expired while the batch ran (see below).
//
// No event is ever skipped (short of the kind and type filters and the
// start position), and an event of a transaction that rolled back is never
// handed over. Give an outside system ev.Seq, unique per tenant, as an
// idempotency key when it can use one.
//
// # Two instances
//
// Several application instances may each run a Consumer of the same name on
// one store (two processes on one SQLite file or PostgreSQL database, or
// two Consumer values in one process). In normal operation exactly one of
// them handles events at a time: it holds a lease kept on the cursor record,
// an owner (a random ID per Consumer value) and an expiry read from the
// injected clock ([WithClock]) plus the lease duration ([WithLease], 30
// seconds by default). A poll that does not hold a fresh lease (more than
// half of it left) first takes or renews it in a short transaction of its
// own; when another instance holds an unexpired lease, or wins the race
// for it, the poll handles nothing. The batch's transaction then re-reads
// the cursor record, checks that it still names this instance, handles
// the batch and writes the cursor, which also extends the lease. A lease
// that is not renewed (its instance stopped or died) expires, and the next
// poll of another instance takes over where the cursor stands.
//
// Correctness does not rest on the clock: a takeover writes the cursor
// record, so a batch of the former owner that is still running fails at
// its commit with a conflict and its effects roll back. That is the one
// case in which two instances both run the handler for an event: a lease
// that expires while its owner is handling a batch (a batch that takes
// longer than the lease, a process paused too long, clocks of the
// instances further apart than half the lease). The in-store effects still
// commit once; outside deliveries happen twice. Choose a lease well above
// the time a batch takes, and poll well within the lease (every half
// lease, say) to keep it; instances that poll less often can take turns,
// which is harmless.
//
// # Use
//
//	c, err := feed.New(store, "mailer", func(ctx context.Context, tx storage.Tx, ev itil.Event) error {
//		return notify(ctx, ev) // or write a read model through tx
//	}, feed.WithTypes(slm.EventBreached))
//	if err != nil {
//		return err
//	}
//	go c.Run(ctx, time.Second) // or call c.Poll / c.Drain from a loop of your own
//
// The handler MUST NOT call the store's RunInTx: it runs inside the
// batch's transaction and writes through the tx it is given. A handler
// that panics rolls the batch back and the panic propagates to the caller
// of Poll, Drain or Run. A handler that cannot handle an event yet returns
// an error and the event is handed over again by the next poll; one that
// never can (a poison event) should record the failure and return nil,
// since an error stops the consumer at that event for good.
package feed
