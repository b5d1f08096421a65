package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Query selects entities of one kind: every term of Terms (AND), at least
// one term of each group in AnyOf (an OR per multi-value filter), a sort
// key range, and Keep for conditions no index term expresses.
type Query[T any] struct {
	Terms []string
	// AnyOf holds one group of alternative terms per multi-value filter
	// ("state=new" or "state=in_progress"). The first group is served by
	// the index, one storage query per term merged in order; the others
	// are checked against the terms of each entity.
	AnyOf    [][]string
	Min, Max string
	Reverse  bool
	// Keep, when set, must accept an entity for it to be returned.
	Keep func(*T) bool
}

// Page sizes.
const (
	DefaultPage = 50
	MaxPage     = 1000
	// scanPage is how many entities List reads per transaction: one less
	// than the backends' batch (256), so that a page and the entity Page
	// reads past it to know whether more follow take one batch, not two
	// queries.
	scanPage = 255
)

// PageSize checks a requested page size (0 for the default) and adds a
// problem to v.
func PageSize(v *itil.ValidationError, n int) int {
	switch {
	case n < 0 || n > MaxPage:
		v.Add("limit", fmt.Sprintf("must be between 1 and %d (0 for the default %d)", MaxPage, DefaultPage))
		return DefaultPage
	case n == 0:
		return DefaultPage
	}
	return n
}

// ParseToken decodes a page token, adding a problem to v.
func ParseToken(v *itil.ValidationError, token string) *storage.Cursor {
	if token == "" {
		return nil
	}
	c, err := storage.ParseCursor(token)
	if err != nil {
		v.Add("page_token", "is not a token returned by a previous page")
		return nil
	}
	return &c
}

// List returns every entity matching q, in order. Outside a bound
// transaction it reads a page per transaction, so the caller may run
// commands while iterating; entities changed meanwhile are seen as they
// are when their page is read.
func (r Runner[T]) List(ctx context.Context, q Query[T]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var after *storage.Cursor
		for {
			items, next, err := r.Page(ctx, q, scanPage, after)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, v := range items {
				if !yield(v, nil) {
					return
				}
			}
			if next == nil {
				return
			}
			after = next
		}
	}
}

// ListQuery is List for a query built from a caller's filter: qerr, the
// filter's error if any (a *itil.ValidationError), is yielded instead.
func (r Runner[T]) ListQuery(ctx context.Context, q Query[T], qerr error) iter.Seq2[*T, error] {
	if qerr != nil {
		return func(yield func(*T, error) bool) { yield(nil, qerr) }
	}
	return r.List(ctx, q)
}

// ListPage is the page-token form every process's ListPage has: up to
// limit entities (0 for DefaultPage, at most MaxPage) matching q, after the
// page that returned token ("" for the first), and the next page's token
// ("" on the last). qerr is the filter's own *itil.ValidationError, if
// any: it is reported together with a bad limit or token.
func (r *Runner[T]) ListPage(ctx context.Context, q Query[T], qerr error, limit int, token string) ([]*T, string, error) {
	var v itil.ValidationError
	if ve, ok := errors.AsType[*itil.ValidationError](qerr); ok {
		v.Fields = append(v.Fields, ve.Fields...)
	} else if qerr != nil {
		return nil, "", qerr
	}
	size := PageSize(&v, limit)
	after := ParseToken(&v, token)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	items, next, err := r.Page(ctx, q, size, after)
	if err != nil || next == nil {
		return items, "", err
	}
	return items, next.String(), nil
}

// Page returns up to size entities matching q after the cursor, and the
// cursor of the next page (nil on the last).
func (r Runner[T]) Page(ctx context.Context, q Query[T], size int, after *storage.Cursor) ([]*T, *storage.Cursor, error) {
	var items []*T
	var next *storage.Cursor
	err := r.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		items, next = nil, nil
		for v, err := range Matching(ctx, tx, r.spec.Collection, q, after) {
			if err != nil {
				return err
			}
			if len(items) == size {
				c := r.spec.Collection.CursorOf(items[size-1])
				next = &c
				return nil
			}
			items = append(items, v)
		}
		return nil
	})
	return items, next, err
}

// Matching iterates the entities of col matching q after the cursor,
// within tx.
func Matching[T any](ctx context.Context, tx storage.Tx, col *storage.Collection[T], q Query[T], after *storage.Cursor) iter.Seq2[*T, error] {
	base := storage.Query{Terms: q.Terms, Min: q.Min, Max: q.Max, After: after, Reverse: q.Reverse}
	var src iter.Seq2[*T, error]
	var rest [][]string
	switch {
	case len(q.AnyOf) == 0:
		src = col.Query(ctx, tx, base)
	default:
		rest = q.AnyOf[1:]
		// A value repeated in a filter is one query; an entity two
		// queries return is merged into one.
		first := slices.Compact(slices.Sorted(slices.Values(q.AnyOf[0])))
		seqs := make([]iter.Seq2[*T, error], len(first))
		for i, term := range first {
			sq := base
			sq.Terms = append(append([]string(nil), base.Terms...), term)
			seqs[i] = col.Query(ctx, tx, sq)
		}
		src = merge(col, q.Reverse, seqs)
	}
	return func(yield func(*T, error) bool) {
		for v, err := range src {
			if err != nil {
				yield(nil, err)
				return
			}
			if !matchesAll(col, v, rest) || (q.Keep != nil && !q.Keep(v)) {
				continue
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// merge interleaves ordered query results into one order. An entity that
// holds several terms of the group (a known error that names a CI and a
// CI of the same class) comes from several of them, at the same cursor:
// it is yielded once.
func merge[T any](col *storage.Collection[T], reverse bool, seqs []iter.Seq2[*T, error]) iter.Seq2[*T, error] {
	if len(seqs) == 1 {
		return seqs[0]
	}
	return func(yield func(*T, error) bool) {
		type head struct {
			next func() (*T, error, bool)
			stop func()
			v    *T
			key  storage.Cursor
		}
		heads := make([]*head, 0, len(seqs))
		defer func() {
			for _, h := range heads {
				h.stop()
			}
		}()
		advance := func(h *head) (bool, error) {
			v, err, ok := h.next()
			if !ok {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			h.v, h.key = v, col.CursorOf(v)
			return true, nil
		}
		for _, s := range seqs {
			next, stop := iter.Pull2(s)
			h := &head{next: next, stop: stop}
			heads = append(heads, h)
			ok, err := advance(h)
			if err != nil {
				yield(nil, err)
				return
			}
			if !ok {
				h.v = nil
			}
		}
		for {
			var best *head
			for _, h := range heads {
				if h.v == nil {
					continue
				}
				if best == nil || less(h.key, best.key) != reverse {
					best = h
				}
			}
			if best == nil {
				return
			}
			if !yield(best.v, nil) {
				return
			}
			key := best.key
			for _, h := range heads {
				if h.v == nil || h.key != key {
					continue
				}
				ok, err := advance(h)
				if err != nil {
					yield(nil, err)
					return
				}
				if !ok {
					h.v = nil
				}
			}
		}
	}
}

func less(a, b storage.Cursor) bool {
	if a.SortKey != b.SortKey {
		return a.SortKey < b.SortKey
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}

// matchesAll reports whether v has at least one term of every group.
func matchesAll[T any](col *storage.Collection[T], v *T, groups [][]string) bool {
	if len(groups) == 0 {
		return true
	}
	terms := col.TermsOf(v, nil)
	for _, g := range groups {
		if !slices.ContainsFunc(g, func(t string) bool { return slices.Contains(terms, t) }) {
			return false
		}
	}
	return true
}
