package storage

import (
	"encoding/base64"
	"time"

	"github.com/itilkit/itil"
)

// timeKeyLayout has a fixed width so keys sort bytewise in time order.
const timeKeyLayout = "20060102T150405.000000000Z"

// TimeKey encodes an instant as a sort key that orders bytewise like the
// instants themselves (years 0000-9999, in UTC).
func TimeKey(t time.Time) string { return t.UTC().Format(timeKeyLayout) }

// String encodes the cursor as an opaque, URL-safe page token.
func (c Cursor) String() string {
	b := make([]byte, 0, len(c.SortKey)+16)
	b = append(b, c.ID[:]...)
	b = append(b, c.SortKey...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a page token made by Cursor.String.
func ParseCursor(token string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 16 {
		return Cursor{}, itil.Invalid("cursor", "is not a page token returned by a previous page")
	}
	var c Cursor
	copy(c.ID[:], b[:16])
	c.SortKey = string(b[16:])
	return c, nil
}
