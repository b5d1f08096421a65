package feed

import (
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
