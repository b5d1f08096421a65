package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Get returns the incident with the given ID, or an error wrapping
// itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*Incident, error) {
	var out *Incident
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = incidents.Get(ctx, tx, id)
		return err
	})
	return out, err
}

// GetByNumber returns the incident with the given reference number, such as
// INC0001001, or an error wrapping itil.ErrNotFound.
func (s *Service) GetByNumber(ctx context.Context, number string) (*Incident, error) {
	if _, err := itil.ParseNumber(NumberPrefix, number); err != nil {
		return nil, err
	}
	var out *Incident
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		q := storage.Query{Terms: []string{storage.Term("number", number)}, Limit: 1}
		for inc, err := range incidents.Query(ctx, tx, q) {
			out = inc
			return err
		}
		return fmt.Errorf("incident %s: %w", number, itil.ErrNotFound)
	})
	return out, err
}

// Filter selects incidents for List. Zero fields do not filter.
type Filter struct {
	State           State
	Priority        itil.Priority
	AssignmentGroup string
	Assignee        string
	CIID            itil.ID
	ServiceID       itil.ID
	// Major, when set, keeps only major (true) or only other (false)
	// incidents.
	Major *bool
	// OpenedFrom and OpenedTo bound the opening time: From <= OpenedAt < To.
	OpenedFrom, OpenedTo time.Time
	// NewestFirst orders by opening time descending instead of ascending.
	NewestFirst bool
	// Limit is the page size: default 50, at most 1000.
	Limit int
	// PageToken continues from a previous Page's Next.
	PageToken string
}

// Page is one page of List results.
type Page struct {
	Incidents []*Incident
	// Next is the token of the following page, empty on the last page.
	Next string
}

const (
	defaultLimit = 50
	maxLimit     = 1000
)

// List returns incidents matching f ordered by opening time, one page at a
// time (keyset pagination: pages stay consistent while incidents are added).
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	q, size, err := f.query()
	if err != nil {
		return Page{}, err
	}
	// Only major incidents carry an index term; "not major" is filtered
	// here, reading on until the page is full.
	notMajor := f.Major != nil && !*f.Major
	if notMajor {
		q.Limit = 0
	}
	var page Page
	err = s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		page = Page{}
		for inc, err := range incidents.Query(ctx, tx, q) {
			if err != nil {
				return err
			}
			if notMajor && inc.Major {
				continue
			}
			if len(page.Incidents) == size {
				page.Next = incidents.CursorOf(page.Incidents[size-1]).String()
				return nil
			}
			page.Incidents = append(page.Incidents, inc)
		}
		return nil
	})
	return page, err
}

// query turns a filter into a storage query that fetches one record beyond
// the page of the returned size, to learn whether a next page exists.
func (f Filter) query() (storage.Query, int, error) {
	var v itil.ValidationError
	q := storage.Query{Reverse: f.NewestFirst}
	if f.State != "" {
		if !slices.Contains(states, f.State) {
			v.Add("state", fmt.Sprintf("unknown state %q", f.State))
		}
		q.Terms = append(q.Terms, storage.Term("state", string(f.State)))
	}
	if f.Priority != 0 {
		if !f.Priority.Valid() {
			v.Add("priority", "must be one of P1..P5")
		}
		q.Terms = append(q.Terms, storage.Term("priority", strconv.Itoa(int(f.Priority))))
	}
	if f.AssignmentGroup != "" {
		q.Terms = append(q.Terms, storage.Term("group", f.AssignmentGroup))
	}
	if f.Assignee != "" {
		q.Terms = append(q.Terms, storage.Term("assignee", f.Assignee))
	}
	if f.CIID != itil.NilID {
		q.Terms = append(q.Terms, storage.Term("ci", f.CIID.String()))
	}
	if f.ServiceID != itil.NilID {
		q.Terms = append(q.Terms, storage.Term("service", f.ServiceID.String()))
	}
	if f.Major != nil && *f.Major {
		q.Terms = append(q.Terms, storage.Term("major", "true"))
	}
	if !f.OpenedFrom.IsZero() {
		checkYear(&v, "opened_from", f.OpenedFrom)
		q.Min = storage.TimeKey(f.OpenedFrom)
	}
	if !f.OpenedTo.IsZero() {
		checkYear(&v, "opened_to", f.OpenedTo)
		if f.OpenedTo.Before(f.OpenedFrom) {
			v.Add("opened_to", "is before opened_from")
		}
		q.Max = storage.TimeKey(f.OpenedTo)
	}
	size := f.Limit
	switch {
	case f.Limit < 0 || f.Limit > maxLimit:
		v.Add("limit", fmt.Sprintf("must be between 1 and %d (0 for the default %d)", maxLimit, defaultLimit))
	case f.Limit == 0:
		size = defaultLimit
	}
	q.Limit = size + 1
	if f.PageToken != "" {
		c, err := storage.ParseCursor(f.PageToken)
		if err != nil {
			v.Add("page_token", "is not a token returned by a previous page")
		} else {
			q.After = &c
		}
	}
	return q, size, v.Err()
}

// checkYear rejects instants that sort keys cannot order (years 0-9999).
func checkYear(v *itil.ValidationError, field string, t time.Time) {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		v.Add(field, "must lie in the years 0 to 9999")
	}
}

// HistoryEntry is one journal event of an incident: who did what, when.
type HistoryEntry struct {
	// Version is the incident's version after the event.
	Version int64      `json:"version"`
	Time    time.Time  `json:"time"`
	Actor   itil.Actor `json:"actor"`
	// Type is one of the Event* constants.
	Type string `json:"type"`
	Change
}

// History returns the journal of an incident, oldest first, or an error
// wrapping itil.ErrNotFound when the incident does not exist.
func (s *Service) History(ctx context.Context, id itil.ID) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		if _, err := tx.Get(ctx, Kind, id); err != nil {
			return err
		}
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: id}) {
			if err != nil {
				return err
			}
			if ev.Kind != Kind || !strings.HasPrefix(ev.Type, Kind+".") {
				continue // SLA events of the incident are shown by Timers
			}
			e := HistoryEntry{Version: ev.SubjectVersion, Time: ev.Time, Actor: ev.Actor, Type: ev.Type}
			if err := json.Unmarshal(ev.Payload, &e.Change); err != nil {
				return fmt.Errorf("incident %s: journal event %d: %w", id, ev.Seq, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
