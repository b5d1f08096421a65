package feed

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// CursorKind is the record kind of consumer cursors in a tenant's store.
const CursorKind = "feed.cursor"

// cursor is a consumer's durable position and lease.
type cursor struct {
	ID   itil.ID `json:"id"`
	Name string  `json:"name"`
	// Position is the Seq of the last event passed (0: none yet).
	Position int64 `json:"position"`
	// Owner is the instance holding the lease, LeaseUntil when it ends.
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	Version    int64     `json:"-"`
}

var cursors = storage.NewCollection(storage.Schema[cursor]{
	Kind:    CursorKind,
	ID:      func(c *cursor) itil.ID { return c.ID },
	Version: func(c *cursor) *int64 { return &c.Version },
	Terms:   func(_ *cursor, dst []string) []string { return dst },
	SortKey: func(c *cursor) string { return c.Name },
	Clone:   func(dst, src *cursor) { *dst = *src },
})

// cursorNamespace is the namespace of cursor IDs: a consumer's cursor is
// found by its name alone, from any process.
var cursorNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/storage/feed#cursor"))

func cursorID(name string) itil.ID { return uuid.NewSHA1(cursorNamespace, []byte(name)) }

// lastSeq returns the Seq of the last event committed in tx's journal, 0
// when it is empty. The journal can only be read forwards, so instead of
// reading it through it probes with one-event reads: doubling steps until
// a position with nothing after it, then a binary search between the last
// Seq found and that position. Seq values may have gaps. Events committed
// meanwhile may or may not count: the result is always the Seq of a
// committed event (or 0), at least the last one when the search began.
func lastSeq(ctx context.Context, tx storage.Tx) (int64, error) {
	next := func(after int64) (int64, error) {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: after, Limit: 1}) {
			return ev.Seq, err
		}
		return 0, nil
	}
	lo, err := next(0)
	if err != nil || lo == 0 {
		return 0, err
	}
	// lo is a committed Seq; hi is a position with nothing after it.
	var hi int64
	for step := int64(1); ; step *= 2 {
		probe := lo + step
		if probe < lo { // overflow: nothing can lie after the largest int64
			hi = 1<<63 - 1
			break
		}
		s, err := next(probe)
		if err != nil {
			return 0, err
		}
		if s == 0 {
			hi = probe
			break
		}
		lo = s
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, err := next(mid)
		if err != nil {
			return 0, err
		}
		if s == 0 {
			hi = mid
		} else {
			lo = s
		}
	}
	return lo, nil
}
