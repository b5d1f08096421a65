package lifecycle

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
)

// Commands and events of the improvement register; MoveInitiative asks
// the Authorizer for the move's own name.
const (
	CommandRaiseInitiative = "raise_initiative"
	CommandStep            = "improvement_step"
	CommandLink            = "link_improvement"

	EventInitiativeRaised = "lifecycle.initiative_raised"
	EventInitiativeMoved  = "lifecycle.initiative_moved"
	EventStepUpdated      = "lifecycle.improvement_step"
	EventLinked           = "lifecycle.improvement_linked"
)

// WithProblems sets the problem management whose problems initiatives
// link to (LinkInitiative checks they exist).
func WithProblems(p *problem.Service) Option {
	return Option{check.Option("problems", p != nil, func(cfg *config) { cfg.problems = p })}
}

var initiativeRecords = storage.NewCollection(storage.Schema[Initiative]{
	Kind:    KindInitiative,
	ID:      func(in *Initiative) itil.ID { return in.ID },
	Version: func(in *Initiative) *int64 { return &in.Version },
	SortKey: func(in *Initiative) string { return storage.TimeKey(in.RaisedAt) },
	Terms: func(in *Initiative, dst []string) []string {
		start := len(dst)
		dst = append(dst, storage.Term("state", string(in.State)), storage.Term("kpi", in.KPI))
		if in.EntryID != itil.NilID {
			dst = append(dst, storage.Term("entry", in.EntryID.String()))
		}
		slices.Sort(dst[start:])
		return dst
	},
	Clone: func(dst, src *Initiative) { *dst = *src.clone() },
})

var initiativeSpec = (&pipeline.Spec[Initiative]{
	Collection: initiativeRecords,
	Clone:      (*Initiative).clone,
	Touch:      func(in *Initiative, now time.Time) { in.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

// initiativeRunner runs the register's commands beside the records',
// asking the Authorizer with the lifecycle record of the initiative's
// service (its ID and EntryID, not read from the store: the service may
// have none), or the zero Record for an initiative on no service.
func (s *Service) initiativeRunner() pipeline.Runner[Initiative] {
	var auth itil.Authorizer[Initiative]
	if a := s.cfg.authorize; a != nil {
		auth = func(ctx context.Context, actor itil.Actor, command string, x *Initiative) error {
			r := &Record{}
			if x != nil && x.EntryID != itil.NilID {
				r.ID, r.EntryID = RecordID(x.EntryID), x.EntryID
			}
			return a(ctx, actor, command, r)
		}
	}
	return pipeline.Sibling(s.run, initiativeSpec, auth, nil)
}

// NewInitiative is an initiative to raise.
type NewInitiative struct {
	Title         string
	EntryID       itil.ID
	Process       string
	Coordinator   string
	Priority      itil.Priority
	Effort        Effort
	Type          ImprovementType
	Benefits      string
	Justification string
	KPI           string
	Base, Target  decimal.Decimal
	ReviewDate    time.Time
}

// RaiseInitiative adds an initiative to the register, new, with the
// improvement model's steps to walk. A bad field gives a
// *itil.ValidationError naming it; an unknown service (EntryID) an error
// wrapping itil.ErrNotFound.
func (s *Service) RaiseInitiative(ctx context.Context, actor itil.Actor, in NewInitiative) (*Initiative, error) {
	x := &Initiative{ID: itil.NewID(), Title: in.Title, State: InitiativeNew, EntryID: in.EntryID, Process: in.Process,
		Coordinator: in.Coordinator, Priority: in.Priority, Effort: in.Effort, Type: in.Type, Benefits: in.Benefits,
		Justification: in.Justification, KPI: in.KPI, Base: in.Base, Target: in.Target, ReviewDate: in.ReviewDate.UTC(), RaisedBy: actor}
	for _, name := range ImprovementSteps() {
		x.Steps = append(x.Steps, Step{Name: name})
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	x.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.initiativeRunner()
	return r.Create(ctx, actor, CommandRaiseInitiative, x, func(c *pipeline.Cmd[Initiative], x *Initiative) (event, error) {
		var refs []itil.ID
		if x.EntryID != itil.NilID {
			if _, err := s.cfg.strategy.In(c.Tx).Get(c.Ctx, x.EntryID); err != nil {
				return event{}, fmt.Errorf("entry_id: %w", err)
			}
			refs = append(refs, x.EntryID)
		}
		num, err := c.Number(KindInitiative, InitiativePrefix)
		if err != nil {
			return event{}, err
		}
		x.Number, x.RaisedAt = num, c.Now
		return event{Type: EventInitiativeRaised, Summary: "raised " + num + " " + strconv.Quote(x.Title) + " on " + x.KPI, Refs: refs}, nil
	})
}

// GetInitiative returns the initiative id, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetInitiative(ctx context.Context, id itil.ID) (*Initiative, error) {
	return s.initiativeRunner().Get(ctx, id)
}

// Initiatives returns the register's initiatives on the service entryID
// (nil: all), oldest first.
func (s *Service) Initiatives(ctx context.Context, entryID itil.ID) iter.Seq2[*Initiative, error] {
	q := pipeline.Query[Initiative]{}
	if entryID != itil.NilID {
		q.Terms = []string{storage.Term("entry", entryID.String())}
	}
	return s.initiativeRunner().List(ctx, q)
}

// MoveInitiative takes the initiative id along InitiativeLifecycle by
// the move's name. Closing needs the review's measurement (the
// did_we_get_there step done); a move its state does not allow gives an
// error wrapping itil.ErrInvalidTransition.
func (s *Service) MoveInitiative(ctx context.Context, actor itil.Actor, id itil.ID, move string) (*Initiative, error) {
	r := s.initiativeRunner()
	return r.Run(ctx, actor, id, move, func(c *pipeline.Cmd[Initiative], x *Initiative) (event, error) {
		from := x.State
		guard := func() error {
			if move == MoveClose && x.Measured == nil {
				return fmt.Errorf("%w: initiative %s has not been measured at a review", itil.ErrInvalidTransition, x.Number)
			}
			return nil
		}
		if err := initiatives.Apply(&x.State, "initiative "+x.Number, move, guard); err != nil {
			return event{}, err
		}
		return event{Type: EventInitiativeMoved, Summary: move + ": " + string(from) + " → " + string(x.State)}, nil
	})
}

// StepPatch records progress on one step of the improvement model.
type StepPatch struct {
	Done     *bool
	Note     *string
	Evidence *[]string
}

// UpdateStep records progress on the step name of the initiative id. The
// did_we_get_there step is done by a review's measurement only. An
// unknown step or a bad value gives a *itil.ValidationError; a closed or
// canceled initiative itil.ErrInvalidTransition.
func (s *Service) UpdateStep(ctx context.Context, actor itil.Actor, id itil.ID, name string, p StepPatch) (*Initiative, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	switch {
	case !slices.Contains(ImprovementSteps(), name):
		v.Add("step", strconv.Quote(name)+" is not a step of the improvement model")
	case name == StepMeasured && p.Done != nil:
		v.Add("step", "did_we_get_there is done by a review's measurement, not by hand")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.initiativeRunner()
	return r.Run(ctx, actor, id, CommandStep, func(c *pipeline.Cmd[Initiative], x *Initiative) (event, error) {
		if initiatives.Final(x.State) {
			return event{}, fmt.Errorf("%w: initiative %s is %s", itil.ErrInvalidTransition, x.Number, x.State)
		}
		st := x.step(name)
		if p.Done != nil {
			st.Done = *p.Done
		}
		if p.Note != nil {
			st.Note = *p.Note
		}
		if p.Evidence != nil {
			st.Evidence = slices.Clone(*p.Evidence)
		}
		var v itil.ValidationError
		if x.validate(&v); v.Err() != nil {
			return event{}, v.Err()
		}
		return event{Type: EventStepUpdated, Summary: name + map[bool]string{true: " done", false: " updated"}[st.Done]}, nil
	})
}

// LinkInitiative links problems and changes to the initiative id: how it
// gets there. Each must exist in the processes the Service has
// (WithProblems, WithChange: an error wrapping itil.ErrNotFound
// otherwise); a problem or change the Service cannot read is refused
// with a *itil.ValidationError.
func (s *Service) LinkInitiative(ctx context.Context, actor itil.Actor, id itil.ID, problems, changes []itil.ID) (*Initiative, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if len(problems) > 0 && s.cfg.problems == nil {
		v.Add("problems", "the Service has no problem management (WithProblems)")
	}
	if len(changes) > 0 && s.cfg.change == nil {
		v.Add("changes", "the Service has no change management (WithChange)")
	}
	if len(problems)+len(changes) > MaxChanges { // more than the initiative can hold: refused before reading them
		v.Add("changes", "link more than "+strconv.Itoa(MaxChanges)+" problems and changes")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.initiativeRunner()
	return r.Run(ctx, actor, id, CommandLink, func(c *pipeline.Cmd[Initiative], x *Initiative) (event, error) {
		var refs []itil.ID
		for i, p := range problems {
			if _, err := s.cfg.problems.In(c.Tx).Get(c.Ctx, p); err != nil {
				return event{}, fmt.Errorf("problems[%d]: %w", i, err)
			}
			if !slices.Contains(x.Problems, p) {
				x.Problems, refs = append(x.Problems, p), append(refs, p)
			}
		}
		for i, ch := range changes {
			if _, err := s.cfg.change.In(c.Tx).Get(c.Ctx, ch); err != nil {
				return event{}, fmt.Errorf("changes[%d]: %w", i, err)
			}
			if !slices.Contains(x.Changes, ch) {
				x.Changes, refs = append(x.Changes, ch), append(refs, ch)
			}
		}
		var v itil.ValidationError
		if x.validate(&v); v.Err() != nil {
			return event{}, v.Err()
		}
		return event{Type: EventLinked, Summary: fmt.Sprintf("linked %d problems and %d changes", len(x.Problems), len(x.Changes)), Refs: refs}, nil
	})
}

// MeasureWindow is the span an initiative's review measures its KPI
// over: the 30 days before the review date.
const MeasureWindow = 30 * 24 * time.Hour

// CommandReview is the Authorizer's name for ReviewInitiative.
const CommandReview = "review_initiative"

// EventReviewed is journaled when a review measures an initiative.
const EventReviewed = "lifecycle.initiative_reviewed"

// KPINames lists the KPIs, which an initiative can move, and how a review reads
// each: the time KPIs as their mean in hours, the ratios in percent,
// the backlog as the number open at the review date.
func KPINames() []string {
	return []string{KPITimeToResolve, KPITimeToFirstResponse, KPIFirstAssignmentResolved, KPIReopenRate, KPIResolvedByProblem,
		KPIBacklog, KPIChangeSuccess, KPIEmergencyChanges, KPITimeToCloseProblem, KPICustomerSatisfaction, KPISLACompliance}
}

// incidentKPI reports whether kpi is read from incidents, which a
// service's CI scopes.
func incidentKPI(kpi string) bool {
	switch kpi {
	case KPITimeToResolve, KPITimeToFirstResponse, KPIFirstAssignmentResolved, KPIReopenRate, KPIResolvedByProblem, KPIBacklog,
		KPISLACompliance:
		return true
	}
	return false
}

// ReviewInitiative measures the initiative id's KPI from the journal over
// the MeasureWindow before its review date (the incident KPIs on its
// service's CI when it names a service), records the measurement and
// ticks did_we_get_there with what it found. It is run in monitor/review,
// once the review date has come: otherwise it gives an error wrapping
// itil.ErrInvalidTransition. A KPI with nothing counted in the window
// gives a *itil.ValidationError naming "kpi".
func (s *Service) ReviewInitiative(ctx context.Context, actor itil.Actor, id itil.ID) (*Initiative, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := s.initiativeRunner()
	return r.Run(ctx, actor, id, CommandReview, func(c *pipeline.Cmd[Initiative], x *Initiative) (event, error) {
		switch {
		case x.State != InitiativeReview:
			return event{}, fmt.Errorf("%w: initiative %s is %s: it is measured in monitor/review", itil.ErrInvalidTransition, x.Number, x.State)
		case c.Now.Before(x.ReviewDate):
			return event{}, fmt.Errorf("%w: initiative %s is reviewed from %s", itil.ErrInvalidTransition, x.Number, x.ReviewDate.Format(time.DateOnly))
		}
		q := KPIQuery{Every: Daily}
		key := ""
		if x.EntryID != itil.NilID && (x.KPI == KPICustomerSatisfaction || incidentKPI(x.KPI)) {
			e, err := s.cfg.strategy.In(c.Tx).Get(c.Ctx, x.EntryID)
			if err != nil {
				return event{}, err
			}
			// The KPIs know a service by its CI; surveys on an entry that
			// names none count under the entry.
			switch {
			case e.ServiceCIID != itil.NilID:
				q.By, key = ByService, e.ServiceCIID.String()
			case x.KPI == KPICustomerSatisfaction:
				q.By, key = ByService, x.EntryID.String()
			default:
				return event{}, itil.Invalid("entry_id", "the service names no CI: its incident KPIs cannot be told from the others")
			}
		}
		k, err := s.facts(c.Ctx, c.Tx)
		if err != nil {
			return event{}, err
		}
		k.mu.RLock()
		points := k.compute(&q, []time.Time{x.ReviewDate.Add(-MeasureWindow), x.ReviewDate})
		k.mu.RUnlock()
		m, ok := measured(points, x.KPI, key)
		if !ok {
			return event{}, itil.Invalid("kpi", fmt.Sprintf("nothing was counted for %s in the %d days before %s",
				x.KPI, int(MeasureWindow/(24*time.Hour)), x.ReviewDate.Format(time.DateOnly)))
		}
		x.Measured, x.MeasuredAt = &m, c.Now
		st := x.step(StepMeasured)
		st.Done = true
		st.Note = fmt.Sprintf("%s measured %s against a target of %s (base %s): %s", x.KPI, m, x.Target, x.Base,
			map[bool]string{true: "reached", false: "not reached"}[x.Reached()])
		return event{Type: EventReviewed, Summary: st.Note}, nil
	})
}

// measured is the value of kpi for key among points, as valueOf reads
// it; false when nothing was counted, but for the backlog, which is then
// zero (an empty backlog is a value).
func measured(points []KPIPoint, kpi, key string) (decimal.Decimal, bool) {
	i := slices.IndexFunc(points, func(p KPIPoint) bool { return p.KPI == kpi && p.Key == key })
	switch {
	case i >= 0:
		return valueOf(&points[i]), true
	case kpi == KPIBacklog:
		return decimal.Zero, true
	}
	return decimal.Decimal{}, false
}

// valueOf is how a review reads a KPI point: a time KPI's mean in hours,
// a ratio's percent, the backlog's count; two places.
func valueOf(p *KPIPoint) decimal.Decimal {
	switch p.KPI {
	case KPITimeToResolve, KPITimeToFirstResponse, KPITimeToCloseProblem:
		return decimal.NewFromInt(int64(p.Mean)).DivRound(decimal.NewFromInt(int64(time.Hour)), 2)
	case KPIBacklog:
		return decimal.NewFromInt(int64(p.Count))
	}
	return p.Percent
}
