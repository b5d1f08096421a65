package change

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// GetBoard returns the board with the given ID, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetBoard(ctx context.Context, id itil.ID) (*Board, error) {
	r := s.boardRunner()
	b, err := r.Get(ctx, id)
	return b, notFound("board", id, err)
}

// Boards returns every board, in creation order.
func (s *Service) Boards(ctx context.Context) iter.Seq2[*Board, error] {
	return s.boardRunner().List(ctx, pipeline.Query[Board]{})
}

// GetMeeting returns the meeting with the given ID, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetMeeting(ctx context.Context, id itil.ID) (*Meeting, error) {
	r := s.meetingRunner()
	m, err := r.Get(ctx, id)
	return m, notFound("meeting", id, err)
}

// MeetingFilter selects meetings for Meetings and MeetingsPage. Empty
// fields do not filter; States matches any of its values.
type MeetingFilter struct {
	BoardID itil.ID
	// ChangeID keeps the meetings with the change on their agenda.
	ChangeID itil.ID
	States   []MeetingState
	// From and To bound the start: From <= Start < To.
	From, To time.Time
	// NewestFirst orders by start descending instead of ascending.
	NewestFirst bool
}

func (f MeetingFilter) query() (pipeline.Query[Meeting], error) {
	b := pipeline.NewFilter[Meeting](f.NewestFirst)
	b.ID("board", f.BoardID)
	b.ID("change", f.ChangeID)
	pipeline.States(b, meetingLifecycle.States(), f.States)
	var v itil.ValidationError
	if !f.From.IsZero() {
		check.Time(&v, "from", f.From)
		b.Q.Min = storage.TimeKey(f.From)
	}
	if !f.To.IsZero() {
		check.Time(&v, "to", f.To)
		if f.To.Before(f.From) {
			v.Add("to", "is before from")
		}
		b.Q.Max = storage.TimeKey(f.To)
	}
	q, err := b.Query()
	if in, ok := errors.AsType[*itil.ValidationError](err); ok {
		v.Fields = append(in.Fields, v.Fields...)
	} else if err != nil {
		return q, err
	}
	return q, v.Err()
}

// Meetings returns the meetings matching f, by start. A bad filter is
// yielded as a *itil.ValidationError.
func (s *Service) Meetings(ctx context.Context, f MeetingFilter) iter.Seq2[*Meeting, error] {
	q, err := f.query()
	return s.meetingRunner().ListQuery(ctx, q, err)
}

// MeetingsPage returns up to limit meetings matching f (0 for the default
// of 50, at most 1000), after the page that returned token ("" for the
// first), and the token of the next page ("" on the last).
func (s *Service) MeetingsPage(ctx context.Context, f MeetingFilter, limit int, token string) ([]*Meeting, string, error) {
	q, err := f.query()
	r := s.meetingRunner()
	return r.ListPage(ctx, q, err, limit, token)
}

// MeetingHistory returns the journal of a meeting, oldest first; an
// unknown meeting gives an error wrapping itil.ErrNotFound.
func (s *Service) MeetingHistory(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	h, err := s.meetingRunner().History(ctx, id)
	return h, notFound("meeting", id, err)
}

// BoardHistory returns the journal of a board, oldest first; an unknown
// board gives an error wrapping itil.ErrNotFound.
func (s *Service) BoardHistory(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	h, err := s.boardRunner().History(ctx, id)
	return h, notFound("board", id, err)
}

// CABReview is a change's item on one meeting's agenda: what that
// meeting said and decided about it.
type CABReview struct {
	MeetingID    itil.ID
	BoardID      itil.ID
	Start        time.Time
	MeetingState MeetingState
	AgendaItem
}

// CABReviews returns every agenda item of the change, one per meeting
// that has it on its agenda, by meeting start: the decisions the approval
// engine reads (MeetingState says whether the meeting completed). A
// change on no agenda has none; an unknown change gives an error wrapping
// itil.ErrNotFound.
func (s *Service) CABReviews(ctx context.Context, changeID itil.ID) ([]CABReview, error) {
	var out []CABReview
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		if _, err := changes.Get(ctx, tx, changeID); err != nil {
			return notFound("change", changeID, err)
		}
		q := pipeline.Query[Meeting]{Terms: []string{storage.Term("change", changeID.String())}}
		for m, err := range pipeline.Matching(ctx, tx, meetings, q, nil) {
			if err != nil {
				return err
			}
			if i := m.item(changeID); i >= 0 {
				out = append(out, CABReview{MeetingID: m.ID, BoardID: m.BoardID, Start: m.Start, MeetingState: m.State, AgendaItem: m.Items[i]})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
