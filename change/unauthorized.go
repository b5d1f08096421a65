package change

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// CommandRecordUnplanned is the command name an Authorizer receives for
// RecordUnplanned, with the change it would open.
const CommandRecordUnplanned = "record_unplanned"

// KindUnplannedMark is the storage kind of the record that keeps, per CI,
// its open unauthorized change.
const KindUnplannedMark = "change_unplanned_mark"

// Unplanned is a change to a CI that discovery, an import or a monitor
// saw, which RecordUnplanned checks against the changes being
// implemented.
type Unplanned struct {
	// CIID is the CI that changed (required).
	CIID itil.ID
	// At is when the CI changed, or when it was seen changed (required).
	At time.Time
	// Description says what changed (required), such as "package openssl
	// 3.0.11 → 3.0.13".
	Description string
	// Source says who saw it, such as "discovery" (optional).
	Source string
}

// unplannedMark keeps, per CI, the unauthorized change RecordUnplanned
// opened last, under an ID derived from the CI: two instances recording
// one CI's unplanned change at once meet on it, and one of them retries
// and finds the other's change.
type unplannedMark struct {
	ID       itil.ID `json:"id"`
	Version  int64   `json:"version"`
	CIID     itil.ID `json:"ci_id"`
	ChangeID itil.ID `json:"change_id"`
}

var unplannedSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/change#unplanned"))

var unplannedMarks = storage.NewCollection(storage.Schema[unplannedMark]{
	Kind:    KindUnplannedMark,
	ID:      func(m *unplannedMark) itil.ID { return m.ID },
	Version: func(m *unplannedMark) *int64 { return &m.Version },
	SortKey: func(m *unplannedMark) string { return m.CIID.String() },
	Terms:   func(_ *unplannedMark, dst []string) []string { return dst },
	Clone:   func(dst, src *unplannedMark) { *dst = *src },
})

var unplannedSpec = (&pipeline.Spec[unplannedMark]{
	Collection: unplannedMarks,
	Clone:      func(m *unplannedMark) *unplannedMark { c := *m; return &c },
	Skip:       []string{"version"},
}).Init()

// implementedStates are the states in which a change's actual times may
// cover a moment: it is being, or has been, implemented.
var implementedStates = []State{StateImplement, StateReview, StateClosed}

// RecordUnplanned records a change to a CI that nobody asked for through
// a change, as discovery or an import reports it. A change that was being
// implemented on that CI (its primary CI or one of its CIs) at u.At
// covers it: its actual start is at or before u.At and it had not ended
// its implementation by then (no actual end, or one at or after u.At);
// RecordUnplanned returns that change and writes nothing.
//
// Otherwise the CI changed without authorization, and RecordUnplanned
// opens an emergency change (ModelEmergency) flagged Unauthorized, in
// New, on the CI, with the actual times u.At and the description, so
// that it is assessed, approved by the emergency CAB after the fact and
// reviewed (the emergency model requires a post-implementation review).
// While that change is open, more unplanned changes to the CI return it
// rather than opening another, even from two instances at once.
//
// A missing CI, time or description gives a *itil.ValidationError naming
// ci_id, at or description; a Service without the emergency model gives
// one naming model.
func (s *Service) RecordUnplanned(ctx context.Context, actor itil.Actor, u Unplanned) (*Change, error) {
	var v itil.ValidationError
	if u.CIID == itil.NilID {
		v.Add("ci_id", "is required")
	}
	if u.At.IsZero() {
		v.Add("at", "is required")
	} else {
		check.Time(&v, "at", u.At)
	}
	check.Text(&v, "description", u.Description, true, check.Long)
	check.Text(&v, "source", u.Source, false, check.Short)
	_, ok := s.cfg.models[ModelEmergency]
	if !ok {
		v.Add("model", "the Service has no "+ModelEmergency+" model to record an unauthorized change under")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Change
	err := s.run.Do(ctx, actor, func(c *cmd) error {
		out = nil
		covering, err := s.covering(c, u)
		if err != nil || covering != nil {
			out = covering
			return err
		}
		mc := pipeline.Other(c, pipeline.Sibling(s.run, unplannedSpec, nil, nil))
		markID := uuid.NewSHA1(unplannedSpace, u.CIID[:])
		mark, err := mc.Load(markID)
		switch {
		case errors.Is(err, itil.ErrNotFound):
			mark = &unplannedMark{ID: markID, CIID: u.CIID}
		case err != nil:
			return err
		default:
			open, err := c.Load(mark.ChangeID)
			if err != nil {
				return err
			}
			if !open.State.Final() {
				out = open
				return nil
			}
		}
		ch := &Change{ID: itil.NewID(), Model: ModelEmergency, State: StateNew, Unauthorized: true,
			Title:       check.Cut("Unauthorized change to CI "+u.CIID.String(), check.Short),
			Description: u.Description, RequestedBy: c.Actor, OpenedBy: c.Actor, CIID: u.CIID,
			ActualStart: u.At.UTC(), ActualEnd: u.At.UTC(), OpenedAt: c.Now}
		if u.Source != "" {
			ch.Title = check.Cut("Unauthorized change to CI "+u.CIID.String()+" ("+u.Source+")", check.Short)
		}
		if err := c.Authorize(CommandRecordUnplanned, ch); err != nil {
			return err
		}
		if ch.Number, err = c.Number(Kind, NumberPrefix); err != nil {
			return err
		}
		if err := c.Save(ch, event{Type: EventOpened, Summary: "opened " + ch.Number + " (" + ch.Model +
			"), unauthorized: " + strconv.Quote(u.Description)}); err != nil {
			return err
		}
		mark.ChangeID = ch.ID
		out = ch
		return mc.Save(mark, event{Type: EventOpened, Summary: "CI " + u.CIID.String() + ": unauthorized change " + ch.Number,
			Refs: []itil.ID{ch.ID}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// covering returns the change that was being implemented on u's CI at
// u.At, or nil.
func (s *Service) covering(c *cmd, u Unplanned) (*Change, error) {
	for _, st := range implementedStates {
		// A change opened after u.At started after it too.
		found, err := c.Query(storage.Query{Kind: Kind, Max: storage.TimeKey(u.At.Add(time.Nanosecond)),
			Terms: []string{storage.Term("ci", u.CIID.String()), storage.Term("state", string(st))}})
		if err != nil {
			return nil, fmt.Errorf("changes on CI %s: %w", u.CIID, err)
		}
		for _, ch := range found {
			if !ch.Unauthorized && !ch.ActualStart.IsZero() && !ch.ActualStart.After(u.At) &&
				(ch.ActualEnd.IsZero() || !ch.ActualEnd.Before(u.At)) {
				return ch, nil
			}
		}
	}
	return nil, nil
}
