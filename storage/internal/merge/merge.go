// Package merge is the query loop the memory and PostgreSQL backends
// share: a transaction's view of a query is the committed matches, read
// page by page, merged in the query's order with the transaction's own
// matching writes. Matches and After decide, for both, which records
// belong to a query.
package merge

import (
	"bytes"
	"cmp"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/internal/termlist"
)

// Page returns the committed matches strictly after pos in the query's
// direction (pos nil: from the start), without the records the
// transaction wrote, and the position to read the next page from, nil
// when there is none.
type Page[H any] func(pos *storage.Cursor) (hits []H, next *storage.Cursor, err error)

// Query hands emit, in the query's order, the hits of the pages read from
// after on merged with local (the transaction's own matches, in the
// query's order), each record once: pages are separate reads, so a record
// a concurrent commit moves past the cursor could come round again, and
// past the first page what was handed out is remembered. It stops when
// emit returns false, and returns the first error of a page.
func Query[H any](reverse bool, after *storage.Cursor, local []H, key func(H) storage.Cursor,
	page Page[H], emit func(H) bool) error {
	before := func(a, b H) bool { // a comes first in the query's order
		c := Compare(key(a), key(b))
		if reverse {
			return c > 0
		}
		return c < 0
	}
	var seen map[itil.ID]bool
	for pos := after; ; {
		hits, next, err := page(pos)
		if err != nil {
			return err
		}
		if next != nil && seen == nil {
			seen = make(map[itil.ID]bool, 2*len(hits))
		}
		for _, h := range hits {
			if seen != nil {
				id := key(h).ID
				if seen[id] {
					continue
				}
				seen[id] = true
			}
			for len(local) > 0 && before(local[0], h) {
				if !emit(local[0]) {
					return nil
				}
				local = local[1:]
			}
			if !emit(h) {
				return nil
			}
		}
		if next == nil {
			break
		}
		pos = next
	}
	for _, h := range local {
		if !emit(h) {
			return nil
		}
	}
	return nil
}

// Compare orders positions as queries do: by sort key, then by ID, both
// bytewise.
func Compare(a, b storage.Cursor) int {
	if c := cmp.Compare(a.SortKey, b.SortKey); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// After reports whether p comes strictly after pos in the query's
// direction.
func After(reverse bool, p, pos storage.Cursor) bool {
	c := Compare(p, pos)
	if reverse {
		return c < 0
	}
	return c > 0
}

// Matches reports whether a record at p holding the sorted terms has is
// one of q's results: it has every term of q, its sort key lies in
// [q.Min, q.Max), and it comes after q.After.
func Matches(q *storage.Query, p storage.Cursor, has []string) bool {
	if p.SortKey < q.Min || (q.Max != "" && p.SortKey >= q.Max) {
		return false
	}
	return (q.After == nil || After(q.Reverse, p, *q.After)) && termlist.All(has, q.Terms)
}
