package change

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
)

// CommandLinkProblem is the command name an Authorizer receives for
// LinkProblem. The problem commands it runs (AddFixRecord, and
// CompleteFixRecord or CancelFixRecord when the change ends) are
// authorized by the problem Service's own Authorizer too.
const CommandLinkProblem = "link_problem"

// EventProblemLinked is journaled on a change that will fix a problem.
const EventProblemLinked = "change.problem_linked"

// ErrNoProblems is returned by LinkProblem on a Service made without
// WithProblems.
var ErrNoProblems = errors.New("change: no problem service; make the Service with WithProblems")

// WithProblems gives the Service the problem Service on the same store: a
// change that fixes problems (LinkProblem) is one of their fix records,
// and ending the change ends the record, inside the change's transaction
// (problem.Service.In), so that the two never disagree.
func WithProblems(p *problem.Service) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if p == nil {
			v.Add("problems", "must not be nil")
		}
		cfg.problems = p
	}}
}

// LinkProblem records that the change id fixes the problem problemID: the
// change lists it (Fixes) and the problem lists the change as a fix record
// of kind Kind, both in one transaction. The change must not have ended
// and the problem must be open (problem.Service.AddFixRecord's rules; its
// errors name the problem). A problem listed already gives a
// *itil.ValidationError naming problem_id.
func (s *Service) LinkProblem(ctx context.Context, actor itil.Actor, id, problemID itil.ID) (*Change, error) {
	return s.run.Run(ctx, actor, id, CommandLinkProblem, func(c *cmd, ch *Change) (event, error) {
		if s.cfg.problems == nil {
			return event{}, ErrNoProblems
		}
		if err := requireActive(ch, "link a problem to"); err != nil {
			return event{}, err
		}
		if problemID == itil.NilID {
			return event{}, itil.Invalid("problem_id", "is required")
		}
		if slices.Contains(ch.Fixes, problemID) {
			return event{}, itil.Invalid("problem_id", "the change fixes that problem already")
		}
		if len(ch.Fixes) >= MaxLinks {
			return event{}, itil.Invalid("fixes", "the change fixes the most problems it may")
		}
		p, err := s.cfg.problems.In(c.Tx).AddFixRecord(c.Ctx, c.Actor, problemID, Kind, ch.ID)
		if err != nil {
			return event{}, fmt.Errorf("problem_id: %w", err)
		}
		ch.Fixes = append(ch.Fixes, problemID)
		return event{Type: EventProblemLinked, Summary: "fixes " + p.Number, Refs: []itil.ID{problemID}}, nil
	})
}

// endFixes ends the change's fix record on every problem it fixes, in the
// command's transaction: complete when the change closed with a code
// other than Unsuccessful, canceled otherwise (and when the change was
// canceled). A problem that has ended meanwhile, or whose record was ended
// by hand, is left as it is.
func (s *Service) endFixes(c *cmd, ch *Change) error {
	if len(ch.Fixes) == 0 {
		return nil
	}
	if s.cfg.problems == nil {
		return ErrNoProblems
	}
	ps := s.cfg.problems.In(c.Tx)
	for _, pid := range ch.Fixes {
		p, err := ps.Get(c.Ctx, pid)
		if err != nil {
			return fmt.Errorf("problem %s: %w", pid, err)
		}
		if p.State.Final() || !slices.ContainsFunc(p.FixRecords, func(r problem.FixRecord) bool {
			return r.Kind == Kind && r.ID == ch.ID && r.State == problem.FixOpen
		}) {
			continue
		}
		if ch.State == StateClosed && ch.CloseCode != Unsuccessful {
			_, err = ps.CompleteFixRecord(c.Ctx, c.Actor, pid, Kind, ch.ID)
		} else {
			_, err = ps.CancelFixRecord(c.Ctx, c.Actor, pid, Kind, ch.ID)
		}
		if err != nil {
			return fmt.Errorf("problem %s: %w", p.Number, err)
		}
	}
	return nil
}
