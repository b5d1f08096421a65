package incident

import (
	"context"
	"iter"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Get returns the incident with the given ID, or an error wrapping
// itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*Incident, error) {
	return s.run.Get(ctx, id)
}

// GetByNumber returns the incident with the given reference number, such as
// INC0001001, or an error wrapping itil.ErrNotFound.
func (s *Service) GetByNumber(ctx context.Context, number string) (*Incident, error) {
	return s.run.GetByNumber(ctx, NumberPrefix, "incident", number)
}

// Filter selects incidents for List and ListPage. Empty fields do not
// filter; a list matches any of its values (States: all open ones in one
// call), and the fields together must all match.
type Filter struct {
	States           []State
	Priorities       []itil.Priority
	AssignmentGroups []string
	Assignees        []string
	CIID             itil.ID
	ServiceID        itil.ID
	// ProblemID keeps the incidents that belong to the problem.
	ProblemID itil.ID
	// ChangeID keeps the incidents that await the change.
	ChangeID itil.ID
	// CausedBy keeps the incidents the change caused.
	CausedBy itil.ID
	// ParentID keeps the children of the incident.
	ParentID itil.ID
	// Major, when set, keeps only major (true) or only other (false)
	// incidents.
	Major *bool
	// ServiceDown, when set, keeps only the incidents that record their
	// service as down (true) or only the others (false).
	ServiceDown *bool
	// OpenedFrom and OpenedTo bound the opening time: From <= OpenedAt < To.
	// Each, when set, must lie within the years 1 to 9999.
	OpenedFrom, OpenedTo time.Time
	// NewestFirst orders by opening time descending instead of ascending.
	NewestFirst bool
}

// List returns every incident matching f, ordered by opening time. A bad
// filter is yielded as a *itil.ValidationError. Outside In, pages are read
// in transactions of their own, so commands may run while iterating.
func (s *Service) List(ctx context.Context, f Filter) iter.Seq2[*Incident, error] {
	q, err := f.query()
	return s.run.ListQuery(ctx, q, err)
}

// ListPage returns up to limit incidents matching f (0 for the default of
// 50, at most 1000), after the page that returned token ("" for the first),
// and the token of the next page ("" on the last). Pages stay consistent
// while incidents are added (keyset pagination).
func (s *Service) ListPage(ctx context.Context, f Filter, limit int, token string) ([]*Incident, string, error) {
	q, err := f.query()
	return s.run.ListPage(ctx, q, err, limit, token)
}

// query turns a filter into a pipeline query.
func (f Filter) query() (pipeline.Query[Incident], error) {
	b := pipeline.NewFilter[Incident](f.NewestFirst)
	pipeline.States(b, states, f.States)
	b.Priorities(f.Priorities)
	b.Texts("assignment_groups", "group", f.AssignmentGroups)
	b.Texts("assignees", "assignee", f.Assignees)
	b.ID("ci", f.CIID)
	b.ID("service", f.ServiceID)
	b.ID("problem", f.ProblemID)
	b.ID("change", f.ChangeID)
	b.ID("caused_by", f.CausedBy)
	b.ID("parent", f.ParentID)
	if f.Major != nil {
		if *f.Major {
			b.Q.Terms = append(b.Q.Terms, storage.Term("major", "true"))
		} else {
			// Only major incidents carry an index term.
			b.Q.Keep = func(i *Incident) bool { return !i.Major }
		}
	}
	if down := f.ServiceDown; down != nil {
		// No index term: the service-down incidents are read by CI or
		// service, a few.
		keep := b.Q.Keep
		b.Q.Keep = func(i *Incident) bool { return i.ServiceDown == *down && (keep == nil || keep(i)) }
	}
	b.Opened(f.OpenedFrom, f.OpenedTo)
	return b.Query()
}

// History returns the journal of an incident, oldest first: its own
// events, with the old and new value of every field each changed, and the
// events of records that concern it (its notes, its SLA timers, a child
// linked to it). An unknown incident gives an error wrapping
// itil.ErrNotFound.
func (s *Service) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return s.run.History(ctx, id)
}

// Notes returns the notes (comments and work notes; only those of the
// given visibilities when any are given) of an incident, oldest first. An
// unknown incident has none.
func (s *Service) Notes(ctx context.Context, id itil.ID, vis ...itil.Visibility) iter.Seq2[*itil.Note, error] {
	return s.run.Notes(ctx, id, vis...)
}

// NotesPage returns up to limit notes of an incident (0 for the default of
// 50, at most 1000), oldest first, after the page that returned token (""
// for the first), and the token of the next page ("" on the last).
func (s *Service) NotesPage(ctx context.Context, id itil.ID, limit int, token string) ([]*itil.Note, string, error) {
	return s.run.NotesPage(ctx, id, limit, token)
}
