package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// ServiceHistory tells a service's story from the journal, oldest first:
// the events of its portfolio entry, its offerings, its lifecycle record
// and its improvement initiatives; of its CI (with the relationships
// that name it); of the incidents on its CI or naming it as their
// service (WithIncidents), and the problems they were linked to; and of
// the changes that transitioned it or that its initiatives link; with
// WithProblems, of those problems' known errors and fix records. Each
// subject's journal is read with the events of other records that name
// it in their Refs, so a problem's resolution of an incident, or a
// relationship to the CI, is told once, in its place. An unknown entry
// gives an error wrapping itil.ErrNotFound.
func (s *Service) ServiceHistory(ctx context.Context, entryID itil.ID) ([]itil.HistoryEntry, error) {
	var out []itil.HistoryEntry
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		e, err := s.cfg.strategy.In(tx).Get(ctx, entryID)
		if err != nil {
			return err
		}
		subjects := []itil.ID{e.ID, RecordID(e.ID)}
		for o, err := range s.cfg.strategy.In(tx).Offerings(ctx, e.ID) {
			if err != nil {
				return err
			}
			subjects = append(subjects, o.ID)
		}
		if r, err := records.Get(ctx, tx, RecordID(e.ID)); err == nil {
			subjects = append(subjects, r.Changes...)
		} else if !isNotFound(err) {
			return err
		}
		for x, err := range initiativeRecords.Query(ctx, tx, storage.Query{Kind: KindInitiative, Terms: []string{storage.Term("entry", e.ID.String())}}) {
			if err != nil {
				return err
			}
			subjects = append(append(append(subjects, x.ID), x.Problems...), x.Changes...)
		}
		if ci := e.ServiceCIID; ci != itil.NilID {
			subjects = append(subjects, ci)
			if s.cfg.incidents != nil {
				for _, f := range []incident.Filter{{CIID: ci}, {ServiceID: ci}} {
					for inc, err := range s.cfg.incidents.In(tx).List(ctx, f) {
						if err != nil {
							return err
						}
						subjects = append(subjects, inc.ID)
						if inc.ProblemID != itil.NilID {
							subjects = append(subjects, inc.ProblemID)
						}
					}
				}
			}
		}
		// The problems' known errors and fix records (WithProblems).
		if s.cfg.problems != nil {
			for _, id := range slices.Clone(subjects) {
				p, err := s.cfg.problems.In(tx).Get(ctx, id)
				if isNotFound(err) {
					continue // not a problem
				} else if err != nil {
					return err
				}
				if p.KnownErrorID != itil.NilID {
					subjects = append(subjects, p.KnownErrorID)
				}
				for _, f := range p.FixRecords {
					subjects = append(subjects, f.ID)
				}
			}
		}
		slices.SortFunc(subjects, func(a, b itil.ID) int { return cmp.Compare(a.String(), b.String()) })
		seen := map[int64]bool{}
		for _, id := range slices.Compact(subjects) {
			h, err := pipeline.History(ctx, tx, id)
			if err != nil {
				return err
			}
			for _, ev := range h {
				if !seen[ev.Seq] {
					seen[ev.Seq] = true
					out = append(out, ev)
				}
			}
		}
		slices.SortFunc(out, func(a, b itil.HistoryEntry) int { return cmp.Compare(a.Seq, b.Seq) })
		return nil
	})
	return out, err
}

func isNotFound(err error) bool { return errors.Is(err, itil.ErrNotFound) }
