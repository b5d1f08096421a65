package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Filter builds a Query from a process's list filter by the conventions
// every process's Filter follows: a list matches any of its values (one
// AnyOf group), a set ID must match, the opening time is a half-open
// range, and every bad value is reported in one *itil.ValidationError
// naming the filter's field ("states[1]", "opened_to"). Each method adds
// nothing for an empty value.
type Filter[T any] struct {
	Q Query[T]
	v itil.ValidationError
}

// NewFilter starts a filter ordered by sort key, descending when
// newestFirst.
func NewFilter[T any](newestFirst bool) *Filter[T] {
	return &Filter[T]{Q: Query[T]{Reverse: newestFirst}}
}

// AnyOf keeps the entities with any of the index terms field=value.
func (f *Filter[T]) AnyOf(field string, values []string) {
	if len(values) == 0 {
		return
	}
	g := make([]string, len(values))
	for i, x := range values {
		g[i] = storage.Term(field, x)
	}
	f.Q.AnyOf = append(f.Q.AnyOf, g)
}

// Texts keeps the entities whose field is any of values, each checked as
// a short text named name[i]: a value longer than the field can hold
// matches nothing, so it is refused before it reaches the index (whose
// terms have a length limit).
func (f *Filter[T]) Texts(name, field string, values []string) {
	for i, x := range values {
		check.Text(&f.v, name+"["+strconv.Itoa(i)+"]", x, false, check.Short)
	}
	f.AnyOf(field, values)
}

// States keeps the entities in any of the states values, each one of
// known (the field "states[i]" names an unknown one).
func States[T any, S ~string](f *Filter[T], known, values []S) {
	terms := make([]string, len(values))
	for i, x := range values {
		if !slices.Contains(known, x) {
			f.v.Add("states["+strconv.Itoa(i)+"]", fmt.Sprintf("unknown state %q", x))
		}
		terms[i] = string(x)
	}
	f.AnyOf("state", terms)
}

// Priorities keeps the entities of any of the priorities values (index
// field "priority").
func (f *Filter[T]) Priorities(values []itil.Priority) {
	terms := make([]string, len(values))
	for i, p := range values {
		if !p.Valid() {
			f.v.Add("priorities["+strconv.Itoa(i)+"]", "must be one of P1..P5")
		}
		terms[i] = strconv.Itoa(int(p))
	}
	f.AnyOf("priority", terms)
}

// ID keeps the entities with the index term field=id, when id is set.
func (f *Filter[T]) ID(field string, id itil.ID) {
	if id != itil.NilID {
		f.Q.Terms = append(f.Q.Terms, storage.Term(field, id.String()))
	}
}

// Opened bounds the sort key, an opening time (storage.TimeKey), to
// from <= t < to; a zero bound is open. Each set bound must be a storable
// time, and to must not be before from.
func (f *Filter[T]) Opened(from, to time.Time) {
	if !from.IsZero() {
		check.Time(&f.v, "opened_from", from)
		f.Q.Min = storage.TimeKey(from)
	}
	if !to.IsZero() {
		check.Time(&f.v, "opened_to", to)
		if to.Before(from) {
			f.v.Add("opened_to", "is before opened_from")
		}
		f.Q.Max = storage.TimeKey(to)
	}
}

// Query returns the query built, or the filter's *itil.ValidationError.
func (f *Filter[T]) Query() (Query[T], error) {
	// One multi-value filter is served by the index, the others are
	// checked on each entity: the one with the fewest values, as the
	// likeliest to be selective.
	slices.SortStableFunc(f.Q.AnyOf, func(a, b []string) int { return len(a) - len(b) })
	return f.Q, f.v.Err()
}
