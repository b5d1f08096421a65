package cmdb

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Get returns a CI, or an error wrapping itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*CI, error) {
	return s.ci.Get(ctx, id)
}

// Relationships returns every relationship of a CI (as parent or child).
func (s *Service) Relationships(ctx context.Context, id itil.ID) ([]*Relationship, error) {
	var out []*Relationship
	err := s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = s.relationsIn(ctx, tx, []itil.ID{id})
		return err
	})
	return out, err
}

// Filter selects CIs for List and ListPage. Empty fields do not filter; a
// list matches any of its values, and the fields together must all match.
type Filter struct {
	// Classes keeps CIs of these classes or of any class below them
	// (ClassServer matches linux and windows servers).
	Classes []string
	// NamePrefix keeps CIs whose name starts with it (byte-wise, case
	// sensitive).
	NamePrefix string
	// States keeps CIs in one of these lifecycle states.
	States []State
	// Attributes keeps CIs holding every one of these attribute values,
	// each compared with the value as stored, in canonical form (an int
	// in base 10, a time in RFC 3339 UTC, a reference as the CI's ID).
	Attributes map[string]string
}

// List returns every CI matching f, ordered by name (then ID). A bad
// filter is yielded as a *itil.ValidationError. Outside In, pages are read
// in transactions of their own, so commands may run while iterating.
func (s *Service) List(ctx context.Context, f Filter) iter.Seq2[*CI, error] {
	q, err := s.query(f)
	return s.ci.ListQuery(ctx, q, err)
}

// ListPage returns up to limit CIs matching f (0 for the default of 50, at
// most 1000) after the page that returned token ("" for the first), and
// the token of the next page ("" on the last). Pages stay consistent while
// CIs are added (keyset pagination on name and ID).
func (s *Service) ListPage(ctx context.Context, f Filter, limit int, token string) ([]*CI, string, error) {
	q, err := s.query(f)
	return s.ci.ListPage(ctx, q, err, limit, token)
}

// query turns a filter into a pipeline query: classes and states as
// groups of alternative terms, attribute values as terms every CI must
// have, the name prefix as a range of the sort key (the name).
func (s *Service) query(f Filter) (pipeline.Query[CI], error) {
	var v itil.ValidationError
	var q pipeline.Query[CI]
	if len(f.Classes) > 0 {
		var g []string
		for i, c := range f.Classes {
			if _, ok := s.cfg.classes.byName[c]; !ok {
				v.Add("classes["+strconv.Itoa(i)+"]", fmt.Sprintf("class %q does not exist", c))
				continue
			}
			for _, sub := range s.cfg.classes.order {
				if t := storage.Term("class", sub); s.cfg.classes.IsA(sub, c) && !slices.Contains(g, t) {
					g = append(g, t)
				}
			}
		}
		q.AnyOf = append(q.AnyOf, g)
	}
	if len(f.States) > 0 {
		var g []string
		for i, st := range f.States {
			if !st.valid() {
				v.Add("states["+strconv.Itoa(i)+"]", fmt.Sprintf("%q is not a CI state", st))
				continue
			}
			if t := storage.Term("state", string(st)); !slices.Contains(g, t) {
				g = append(g, t)
			}
		}
		q.AnyOf = append(q.AnyOf, g)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Attributes)) {
		if !validName(k) {
			v.Add("attributes."+k, "is not an attribute name")
			continue
		}
		if f.Attributes[k] == "" {
			v.Add("attributes."+k, "must not be empty")
			continue
		}
		if len(f.Attributes[k]) > MaxAttributeValue {
			v.Add("attributes."+k, tooLong+": no attribute value is longer")
			continue
		}
		q.Terms = append(q.Terms, attrTerm(k, f.Attributes[k]))
	}
	if f.NamePrefix != "" {
		check.Text(&v, "name_prefix", f.NamePrefix, false, check.Name)
		q.Min, q.Max = f.NamePrefix, prefixEnd(f.NamePrefix)
	}
	// The most selective group is served by the index: the one with the
	// fewest values (the others are checked on each CI it returns).
	slices.SortStableFunc(q.AnyOf, func(a, b []string) int { return len(a) - len(b) })
	return q, v.Err()
}

// prefixEnd returns the least string greater than every string that
// starts with p, or "" (no bound) when there is none.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// History returns the journal of a CI, oldest first: its own events (its
// creation with every field, then the old and new value of each field a
// command changed, and its deletion) and the events of the relationships
// that linked it to other CIs (which name the CI in Refs). A deleted CI
// keeps its history; an ID the journal never saw as a CI gives an error
// wrapping itil.ErrNotFound.
func (s *Service) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	var out []itil.HistoryEntry
	err := s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = pipeline.History(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(out, func(e itil.HistoryEntry) bool { return e.Kind == KindCI && e.SubjectID == id }) {
		return nil, fmt.Errorf("%w: no history of CI %s", itil.ErrNotFound, id)
	}
	return out, nil
}

// AsOf returns the CI as it was at t: its history up to t replayed (its
// creation, then every field change), with the version and update time of
// its last write then. It returns an error wrapping itil.ErrNotFound when
// the CI did not exist then (not yet created, or already deleted), and a
// *itil.ValidationError naming "as_of" when t lies outside the years 1 to
// 9999.
func (s *Service) AsOf(ctx context.Context, id itil.ID, t time.Time) (*CI, error) {
	var v itil.ValidationError
	if check.Time(&v, "as_of", t); v.Err() != nil {
		return nil, &v
	}
	hist, err := s.History(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := replayCI(id, hist, t)
	if err != nil {
		return nil, fmt.Errorf("CI %s at %s: %w", id, t.Format(time.RFC3339), err)
	}
	return c, nil
}

// replayCI rebuilds CI id from its history entries up to t. The journal
// does not track the version and the update time field by field (they
// change on every write): they are those of the last write replayed.
func replayCI(id itil.ID, hist []itil.HistoryEntry, t time.Time) (*CI, error) {
	var upTo []itil.HistoryEntry
	var last *itil.HistoryEntry
	for i := range hist {
		e := &hist[i]
		if e.Time.After(t) || e.Kind != KindCI || e.SubjectID != id {
			continue
		}
		upTo = append(upTo, *e)
		last = e
	}
	c, err := pipeline.Replay[CI](KindCI, id, upTo, 0)
	if err != nil {
		return nil, err
	}
	c.Version, c.UpdatedAt = last.Version, last.Time.UTC()
	return c, nil
}
