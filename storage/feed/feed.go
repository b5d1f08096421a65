package feed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Handler handles one event inside the transaction that advances the
// consumer's cursor past it. What it writes through tx commits with the
// cursor or not at all. It MUST NOT call RunInTx; an error it returns rolls
// back the whole batch and is returned by Poll, Drain and Run.
type Handler func(ctx context.Context, tx storage.Tx, ev itil.Event) error

// Defaults and limits of the options.
const (
	defaultBatch = 256
	maxBatch     = 10_000
	defaultLease = 30 * time.Second
)

type config struct {
	clock   itil.Clock
	batch   int
	lease   time.Duration
	kinds   []string
	types   []string
	fromNow bool
}

// Option configures a Consumer; New reports every bad option together.
type Option struct {
	apply func(*config, *itil.ValidationError)
}

// WithClock sets where the Consumer reads the time for its lease (default:
// the system clock). Instances of one consumer name should read clocks
// that agree to well within half the lease.
func WithClock(c itil.Clock) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		cfg.clock = c
	}}
}

// WithBatchSize sets how many journal events one poll reads and handles in
// one transaction: 1 to 10,000 (default 256). Events the filters skip
// count towards it. Poll reads one batch of this size; Drain and Run start
// with it and, while batches come back full (a backlog), double it for
// each next batch up to 10,000, so that catching up costs a few commits.
func WithBatchSize(n int) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if n < 1 || n > maxBatch {
			v.Add("batch_size", "must be between 1 and "+strconv.Itoa(maxBatch))
		}
		cfg.batch = n
	}}
}

// WithLease sets how long a poll's hold on the consumer lasts before
// another instance may take over (default 30 seconds). It must be positive
// and should be well above the time one batch takes.
func WithLease(d time.Duration) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if d <= 0 {
			v.Add("lease", "must be positive")
		}
		cfg.lease = d
	}}
}

// WithKinds hands the handler only the events whose Kind (the kind of
// record they concern, such as "incident") is one of kinds. The others are
// read and passed over: the cursor moves past them.
func WithKinds(kinds ...string) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		cfg.kinds = checkList(v, "kinds", kinds)
	}}
}

// WithTypes hands the handler only the events whose Type (such as
// "slm.breached") is one of types. The others are read and passed over: the
// cursor moves past them. With WithKinds as well, an event must match both.
func WithTypes(types ...string) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		cfg.types = checkList(v, "types", types)
	}}
}

func checkList(v *itil.ValidationError, field string, names []string) []string {
	if len(names) == 0 {
		v.Add(field, "must list at least one name")
	}
	for i, n := range names {
		addErr(v, storage.CheckName(field+"["+strconv.Itoa(i)+"]", n))
	}
	return slices.Clone(names)
}

// addErr adds the fields of a *itil.ValidationError err to v.
func addErr(v *itil.ValidationError, err error) {
	if ve, ok := errors.AsType[*itil.ValidationError](err); ok {
		v.Fields = append(v.Fields, ve.Fields...)
	}
}

// FromNow makes a consumer that has no cursor yet start after the last
// event committed when its cursor is created (by the first poll of any of
// its instances), instead of at the beginning of the journal. A consumer
// whose cursor exists resumes from it either way.
func FromNow() Option {
	return Option{func(cfg *config, _ *itil.ValidationError) { cfg.fromNow = true }}
}

// Consumer is one instance of a named consumer of a store's journal. It is
// safe for concurrent use; its polls run one at a time.
type Consumer struct {
	store   storage.Store
	name    string
	id      itil.ID
	owner   string
	handler Handler
	cfg     config

	mu   sync.Mutex   // serialises polls
	held time.Time    // expiry of the lease this instance last wrote; guarded by mu
	buf  []itil.Event // the batch being handled; guarded by mu
}

// New returns a Consumer named name that hands the events of store's
// journal to h. The name is what instances share: every Consumer of that
// name on the tenant's store (in this process or another) continues from
// the same cursor, and at most one of them handles events at a time. New
// reads and writes nothing; the cursor is created by the first poll. A nil
// store or handler, a name that fails storage.CheckName, and invalid
// options are reported together in a *itil.ValidationError.
func New(store storage.Store, name string, h Handler, opts ...Option) (*Consumer, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	addErr(&v, storage.CheckName("name", name))
	if h == nil {
		v.Add("handler", "must not be nil")
	}
	cfg := config{clock: itil.SystemClock(), batch: defaultBatch, lease: defaultLease}
	check.Options(&v, opts, func(o Option) bool {
		if o.apply == nil {
			return false
		}
		o.apply(&cfg, &v)
		return true
	})
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Consumer{store: store, name: name, id: cursorID(name), owner: itil.NewID().String(),
		handler: h, cfg: cfg}, nil
}

// Name returns the consumer's name.
func (c *Consumer) Name() string { return c.name }

// Poll handles at most one batch of events after the cursor, in one
// transaction that also moves the cursor past the batch, and returns how
// many events the handler was called for (events the filters pass over
// are not counted). Unless this instance holds a lease with more than half
// of it left, Poll first takes or renews the lease in a transaction of its
// own (see the package doc).
//
// It returns 0 and a nil error, without moving the cursor, when another
// instance holds the lease or won it, and when the batch's transaction
// failed with itil.ErrConflict: another instance took the consumer over,
// or what the handler wrote conflicted with another transaction (also
// when the handler returned that conflict as its error). The next poll
// tries the batch again.
//
// A handler error rolls the batch back (its effects and the cursor) and is
// returned wrapped with the event's Seq, kind and type, with 0. An error of
// the store or the context is returned wrapped, with 0.
func (c *Consumer) Poll(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, _, err := c.poll(ctx, c.cfg.batch)
	return n, err
}

// Drain polls until a batch comes back less than full (the consumer has
// caught up with the journal as it then stood), and returns how many
// events the handler was called for in the batches that committed. It
// stops early, returning the count so far and a nil error,
// when a poll handles nothing because another instance holds the lease or
// a batch conflicted (see Poll), and with the count so far and the error
// when a poll fails.
func (c *Consumer) Drain(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for size := c.cfg.batch; ; size = min(2*size, maxBatch) {
		// A full batch means a backlog: read more at once next time.
		n, more, err := c.poll(ctx, size)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// Run drains the journal, waits every (measured on the machine's clock,
// not the injected one) and drains again, until ctx ends; then it returns
// ctx.Err(). It returns earlier with the first error of a poll: a
// handler's, or the store's. A non-positive every gives a
// *itil.ValidationError.
//
// An instance that does not hold the lease tries for it on every round,
// so it takes over within about the lease plus every after the holder
// stopped. Keep every well below the lease (half of it, say), or the
// holder's lease can lapse between rounds and instances take turns.
func (c *Consumer) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return itil.Invalid("every", "must be positive")
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		if _, err := c.Drain(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		timer.Reset(every)
	}
}

// Position returns the Seq of the last event the consumer has passed (0
// before the first). For a consumer without a cursor it returns where the
// first poll would start if it ran now: 0, or with FromNow the Seq of the
// last committed event. It reads only. Errors of the store or the context
// are returned wrapped.
func (c *Consumer) Position(ctx context.Context) (int64, error) {
	var pos int64
	err := c.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		cur, err := c.load(ctx, tx)
		if err != nil {
			return err
		}
		pos = cur.Position
		return nil
	})
	if err != nil {
		return 0, c.wrap(err)
	}
	return pos, nil
}

func (c *Consumer) wrap(err error) error { return fmt.Errorf("feed %s: %w", c.name, err) }

// now reads the clock. A reading outside the years 1 to 9999, or a lease
// that would end outside them, gives a *itil.ValidationError naming
// "clock": the cursor could not store it.
func (c *Consumer) now() (time.Time, error) {
	now := c.cfg.clock.Now()
	var v itil.ValidationError
	check.Time(&v, "clock", now)
	if v.Err() == nil {
		check.Time(&v, "clock", now.Add(c.cfg.lease))
	}
	return now.UTC(), v.Err()
}

// load reads the cursor record, or returns a new one (Version 0) at the
// start position when there is none.
func (c *Consumer) load(ctx context.Context, tx storage.Tx) (*cursor, error) {
	cur, err := cursors.Get(ctx, tx, c.id)
	switch {
	case errors.Is(err, itil.ErrNotFound):
		cur = &cursor{ID: c.id, Name: c.name}
		if c.cfg.fromNow {
			if cur.Position, err = tx.LastSeq(ctx); err != nil {
				return nil, err
			}
		}
		return cur, nil
	case err != nil:
		return nil, err
	case cur.Name != c.name:
		return nil, fmt.Errorf("cursor record %s belongs to consumer %q", c.id, cur.Name)
	}
	return cur, nil
}

// poll is one batch; more reports that the batch was full, so more events
// may follow right away. c.mu is held.
func (c *Consumer) poll(ctx context.Context, size int) (handled int, more bool, err error) {
	now, err := c.now()
	if err != nil {
		return 0, false, err
	}
	if !now.Before(c.held.Add(-c.cfg.lease / 2)) {
		won, err := c.acquire(ctx, now)
		if err != nil || !won {
			return 0, false, err
		}
	}
	lease := now.Add(c.cfg.lease)
	lost, wrote := false, false
	err = c.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		handled, more, lost, wrote = 0, false, false, false
		cur, err := c.load(ctx, tx)
		if err != nil {
			return err
		}
		if cur.Version == 0 || cur.Owner != c.owner {
			lost = true // taken over since the lease was written
			return nil
		}
		batch := c.buf[:0]
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: cur.Position, Limit: size}) {
			if err != nil {
				return err
			}
			batch = append(batch, ev)
		}
		c.buf = batch
		if len(batch) == 0 {
			return nil
		}
		for i := range batch {
			ev := &batch[i]
			if !c.match(ev) {
				continue
			}
			if err := c.handler(ctx, tx, *ev); err != nil {
				return fmt.Errorf("event %d (%s %s): %w", ev.Seq, ev.Kind, ev.Type, err)
			}
			handled++
		}
		more = len(batch) == size
		cur.Position = batch[len(batch)-1].Seq
		cur.LeaseUntil = lease
		if err := cursors.Put(ctx, tx, cur); err != nil {
			return err
		}
		wrote = true
		return nil
	})
	clear(c.buf[:cap(c.buf)]) // let go of the events until the next batch
	switch {
	case errors.Is(err, itil.ErrConflict):
		c.held = time.Time{}
		return 0, false, nil
	case err != nil:
		return 0, false, c.wrap(err)
	case lost:
		c.held = time.Time{}
		return 0, false, nil
	}
	if wrote {
		c.held = lease
	}
	return handled, more, nil
}

// acquire takes or renews the lease in a transaction of its own. It
// reports false when another instance holds an unexpired lease or won the
// race for it. c.mu is held.
func (c *Consumer) acquire(ctx context.Context, now time.Time) (bool, error) {
	won := false
	err := c.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		won = false
		cur, err := c.load(ctx, tx)
		if err != nil {
			return err
		}
		if cur.Owner != c.owner && cur.LeaseUntil.After(now) {
			return nil
		}
		cur.Owner, cur.LeaseUntil = c.owner, now.Add(c.cfg.lease)
		if err := cursors.Put(ctx, tx, cur); err != nil {
			return err
		}
		won = true
		return nil
	})
	switch {
	case errors.Is(err, itil.ErrConflict):
		won = false
	case err != nil:
		return false, c.wrap(err)
	}
	if won {
		c.held = now.Add(c.cfg.lease)
	} else {
		c.held = time.Time{}
	}
	return won, nil
}

func (c *Consumer) match(ev *itil.Event) bool {
	return (c.cfg.kinds == nil || slices.Contains(c.cfg.kinds, ev.Kind)) &&
		(c.cfg.types == nil || slices.Contains(c.cfg.types, ev.Type))
}
