package change

import (
	"context"
	"iter"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
)

// Get returns the change with the given ID, or an error wrapping
// itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*Change, error) {
	return s.run.Get(ctx, id)
}

// GetByNumber returns the change with the given reference number, such as
// CHG0001001, or an error wrapping itil.ErrNotFound.
func (s *Service) GetByNumber(ctx context.Context, number string) (*Change, error) {
	return s.run.GetByNumber(ctx, NumberPrefix, "change", number)
}

// Filter selects changes for List and ListPage. Empty fields do not
// filter; a list matches any of its values, and the fields together must
// all match.
type Filter struct {
	States           []State
	Models           []string
	AssignmentGroups []string
	Assignees        []string
	// CIID keeps the changes that name the configuration item (primary
	// or not).
	CIID itil.ID
	// Fixes keeps the changes that fix the problem.
	Fixes itil.ID
	// OpenedFrom and OpenedTo bound the opening time: From <= OpenedAt < To.
	OpenedFrom, OpenedTo time.Time
	// NewestFirst orders by opening time descending instead of ascending.
	NewestFirst bool
}

// List returns every change matching f, ordered by opening time. A bad
// filter is yielded as a *itil.ValidationError.
func (s *Service) List(ctx context.Context, f Filter) iter.Seq2[*Change, error] {
	q, err := f.query()
	return s.run.ListQuery(ctx, q, err)
}

// ListPage returns up to limit changes matching f (0 for the default of
// 50, at most 1000), after the page that returned token ("" for the
// first), and the token of the next page ("" on the last).
func (s *Service) ListPage(ctx context.Context, f Filter, limit int, token string) ([]*Change, string, error) {
	q, err := f.query()
	return s.run.ListPage(ctx, q, err, limit, token)
}

func (f Filter) query() (pipeline.Query[Change], error) {
	b := pipeline.NewFilter[Change](f.NewestFirst)
	// States are checked as identifiers: a model may name its own.
	st := make([]string, len(f.States))
	for i, x := range f.States {
		st[i] = string(x)
	}
	b.Texts("states", "state", st)
	b.Texts("models", "model", f.Models)
	b.Texts("assignment_groups", "group", f.AssignmentGroups)
	b.Texts("assignees", "assignee", f.Assignees)
	b.ID("ci", f.CIID)
	b.ID("fixes", f.Fixes)
	b.Opened(f.OpenedFrom, f.OpenedTo)
	return b.Query()
}

// History returns the journal of a change, oldest first, with the old and
// new value of every field each event changed. An unknown change gives an
// error wrapping itil.ErrNotFound.
func (s *Service) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return s.run.History(ctx, id)
}
