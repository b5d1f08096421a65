package storage

import (
	"encoding/base64"
	"time"

	"github.com/itilkit/itil"
)

// timeKeyLayout has a fixed width so keys sort bytewise in time order.
const timeKeyLayout = "20060102T150405.000000000Z"

// TimeKey encodes an instant as a sort key that orders bytewise like the
// instants themselves (years 0000-9999, in UTC), in the layout
// 20060102T150405.000000000Z.
func TimeKey(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(timeKeyLayout) // out of range: readable, not ordered
	}
	hour, minute, second := t.Clock()
	var b [len(timeKeyLayout)]byte
	put := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, year)
	put(4, 2, int(month))
	put(6, 2, day)
	b[8] = 'T'
	put(9, 2, hour)
	put(11, 2, minute)
	put(13, 2, second)
	b[15] = '.'
	put(16, 9, t.Nanosecond())
	b[25] = 'Z'
	return string(b[:])
}

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
