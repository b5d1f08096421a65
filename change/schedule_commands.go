package change

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// KindSchedule is the storage kind and journal kind of maintenance and
// blackout schedules.
const KindSchedule = "change_schedule"

// ScheduleState is where a schedule is in its lifecycle: only an enforced
// schedule counts in conflict checks.
type ScheduleState string

// The schedule states.
const (
	ScheduleDraft    ScheduleState = "draft"
	ScheduleApproved ScheduleState = "approved"
	ScheduleEnforced ScheduleState = "enforced"
	ScheduleRetired  ScheduleState = "retired"
)

var scheduleStates = []ScheduleState{ScheduleDraft, ScheduleApproved, ScheduleEnforced, ScheduleRetired}

// Command names of the schedule commands, as the Service's Authorizer
// receives them, with the zero Change: a schedule concerns no one change.
const (
	CommandCreateSchedule  = "create_schedule"
	CommandUpdateSchedule  = "update_schedule"
	CommandApproveSchedule = "approve_schedule"
	CommandEnforceSchedule = "enforce_schedule"
	CommandRetireSchedule  = "retire_schedule"
)

// Journal event types of schedules.
const (
	EventScheduleCreated  = "change.schedule_created"
	EventScheduleUpdated  = "change.schedule_updated"
	EventScheduleApproved = "change.schedule_approved"
	EventScheduleEnforced = "change.schedule_enforced"
	EventScheduleRetired  = "change.schedule_retired"
)

// Schedule lifecycle events.
const (
	scheduleApprove = "approve"
	scheduleEnforce = "enforce"
	scheduleRetire  = "retire"
)

// scheduleLifecycle: draft → approved (by change management) → enforced;
// a schedule is retired from any state but retired. A freeze is drafted,
// agreed and then enforced, and only then does it count; maintenance
// windows follow the same steps, so that nobody narrows when changes may
// be made without agreement.
var scheduleLifecycle = machine.New(ScheduleDraft, []itil.Transition[ScheduleState]{
	{Event: scheduleApprove, From: []ScheduleState{ScheduleDraft}, To: ScheduleApproved},
	{Event: scheduleEnforce, From: []ScheduleState{ScheduleApproved}, To: ScheduleEnforced},
	{Event: scheduleRetire, From: []ScheduleState{ScheduleDraft, ScheduleApproved, ScheduleEnforced}, To: ScheduleRetired},
})

// ScheduleDiagram returns the Mermaid state diagram of the schedule
// lifecycle, as committed in schedule.md.
func ScheduleDiagram() string { return scheduleLifecycle.Diagram() }

// Schedule is a stored maintenance or blackout schedule: its spec and
// where it is in its lifecycle.
type Schedule struct {
	ID      itil.ID       `json:"id"`
	Version int64         `json:"version"`
	Spec    ScheduleSpec  `json:"spec"`
	State   ScheduleState `json:"state"`

	CreatedBy     itil.Actor `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	ApprovedBy    itil.Actor `json:"approved_by,omitzero"`
	ApprovedAt    time.Time  `json:"approved_at,omitzero"`
	EnforcedBy    itil.Actor `json:"enforced_by,omitzero"`
	EnforcedAt    time.Time  `json:"enforced_at,omitzero"`
	RetiredAt     time.Time  `json:"retired_at,omitzero"`
	RetiredReason string     `json:"retired_reason,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// clone deep-copies s through JSON: a spec holds calendars, ranges and a
// condition, whose nesting a hand-written copy would have to follow.
func (s *Schedule) clone() *Schedule {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Schedule always encodes
	}
	var out Schedule
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

var schedules = storage.NewCollection(storage.Schema[Schedule]{
	Kind:    KindSchedule,
	ID:      func(s *Schedule) itil.ID { return s.ID },
	Version: func(s *Schedule) *int64 { return &s.Version },
	SortKey: func(s *Schedule) string { return storage.TimeKey(s.CreatedAt) },
	Terms: func(s *Schedule, dst []string) []string {
		return append(dst, storage.Term("state", string(s.State)), storage.Term("type", string(s.Spec.Type)))
	},
	Clone: func(dst, src *Schedule) { *dst = *src.clone() },
})

var scheduleSpec = (&pipeline.Spec[Schedule]{
	Collection: schedules,
	Clone:      (*Schedule).clone,
	Touch:      func(s *Schedule, now time.Time) { s.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

func (s *Service) scheduleRunner() pipeline.Runner[Schedule] {
	return pipeline.Sibling(s.run, scheduleSpec, zeroChange[Schedule](s.cfg.authorize), nil)
}

func (s *Schedule) label() string { return strconv.Quote(s.Spec.Name) }

// CreateSchedule records a maintenance or blackout schedule as a draft. A
// bad spec gives a *itil.ValidationError naming every bad field.
func (s *Service) CreateSchedule(ctx context.Context, actor itil.Actor, spec ScheduleSpec) (*Schedule, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := spec.Validate(); err != nil {
		nest(&v, "", err)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sc := &Schedule{ID: itil.NewID(), Spec: spec, State: ScheduleDraft, CreatedBy: actor}
	sc = sc.clone() // the caller's slices stay the caller's
	r := s.scheduleRunner()
	return r.Create(ctx, actor, CommandCreateSchedule, sc, func(c *pipeline.Cmd[Schedule], sc *Schedule) (event, error) {
		sc.CreatedAt = c.Now
		return event{Type: EventScheduleCreated, Summary: "drafted " + string(sc.Spec.Type) + " schedule " + sc.label()}, nil
	})
}

// UpdateSchedule replaces the spec of a schedule that is not retired. A
// spec that alters nothing, or a bad one, gives a *itil.ValidationError;
// a retired schedule an error wrapping itil.ErrInvalidTransition. An
// enforced schedule stays enforced: moving its windows is change
// management's call, journaled like any edit.
func (s *Service) UpdateSchedule(ctx context.Context, actor itil.Actor, id itil.ID, spec ScheduleSpec) (*Schedule, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	next := (&Schedule{Spec: spec}).clone().Spec
	r := s.scheduleRunner()
	return r.Run(ctx, actor, id, CommandUpdateSchedule, func(c *pipeline.Cmd[Schedule], sc *Schedule) (event, error) {
		if sc.State == ScheduleRetired {
			return event{}, itilTransition("schedule %s is retired", sc.label())
		}
		before, _ := json.Marshal(sc.Spec)
		after, _ := json.Marshal(next)
		if string(before) == string(after) {
			return event{}, itil.Invalid("spec", "nothing differs from the schedule as it is")
		}
		prev := sc.Spec
		sc.Spec = next
		ev := event{Type: EventScheduleUpdated, Summary: "updated " + sc.label()}
		if sc.State != ScheduleEnforced {
			return ev, nil // it counts for nothing yet: no change to judge
		}
		return ev, s.scheduleChanged(c, sc, ev, &prev)
	})
}

// ApproveSchedule approves a draft schedule, EnforceSchedule puts an
// approved one in force (only then does it count in conflict checks), and
// RetireSchedule retires one, with a reason. A state that does not allow
// the step gives an error wrapping itil.ErrInvalidTransition.
func (s *Service) ApproveSchedule(ctx context.Context, actor itil.Actor, id itil.ID) (*Schedule, error) {
	return s.scheduleStep(ctx, actor, id, CommandApproveSchedule, scheduleApprove, func(c *pipeline.Cmd[Schedule], sc *Schedule) event {
		sc.ApprovedBy, sc.ApprovedAt = c.Actor, c.Now
		return event{Type: EventScheduleApproved, Summary: "approved " + sc.label()}
	})
}

// EnforceSchedule: see ApproveSchedule.
func (s *Service) EnforceSchedule(ctx context.Context, actor itil.Actor, id itil.ID) (*Schedule, error) {
	return s.scheduleStep(ctx, actor, id, CommandEnforceSchedule, scheduleEnforce, func(c *pipeline.Cmd[Schedule], sc *Schedule) event {
		sc.EnforcedBy, sc.EnforcedAt = c.Actor, c.Now
		return event{Type: EventScheduleEnforced, Summary: "enforced " + sc.label()}
	})
}

// RetireSchedule: see ApproveSchedule. The reason is required.
func (s *Service) RetireSchedule(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Schedule, error) {
	if err := check.Required("reason", reason); err != nil {
		return nil, err
	}
	return s.scheduleStep(ctx, actor, id, CommandRetireSchedule, scheduleRetire, func(c *pipeline.Cmd[Schedule], sc *Schedule) event {
		sc.RetiredAt, sc.RetiredReason = c.Now, reason
		return event{Type: EventScheduleRetired, Summary: "retired " + sc.label(), Reason: reason}
	})
}

func (s *Service) scheduleStep(ctx context.Context, actor itil.Actor, id itil.ID, command, move string,
	done func(c *pipeline.Cmd[Schedule], sc *Schedule) event) (*Schedule, error) {
	r := s.scheduleRunner()
	return r.Run(ctx, actor, id, command, func(c *pipeline.Cmd[Schedule], sc *Schedule) (event, error) {
		was := sc.State
		if err := scheduleLifecycle.Apply(&sc.State, "schedule "+sc.label(), move, nil); err != nil {
			return event{}, err
		}
		if was == ScheduleEnforced || sc.State == ScheduleEnforced {
			// In force before or after: the changes it covers are judged
			// again.
			ev := done(c, sc)
			return ev, s.scheduleChanged(c, sc, ev, nil)
		}
		return done(c, sc), nil
	})
}

// GetSchedule returns the schedule id, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetSchedule(ctx context.Context, id itil.ID) (*Schedule, error) {
	return s.scheduleRunner().Get(ctx, id)
}

// ScheduleFilter selects schedules for Schedules: by type and by state
// (any of the values listed; empty lists do not filter).
type ScheduleFilter struct {
	Types  []ScheduleType
	States []ScheduleState
}

// Schedules returns the schedules f selects, in creation order. Unknown
// types or states give a *itil.ValidationError naming them.
func (s *Service) Schedules(ctx context.Context, f ScheduleFilter) iter.Seq2[*Schedule, error] {
	b := pipeline.NewFilter[Schedule](false)
	pipeline.States(b, scheduleStates, f.States)
	var types []string
	var v itil.ValidationError
	for i, t := range f.Types {
		if t != MaintenanceSchedule && t != BlackoutSchedule {
			v.Add("types["+strconv.Itoa(i)+"]", "must be maintenance or blackout")
		}
		types = append(types, string(t))
	}
	b.AnyOf("type", slices.Compact(types))
	q, err := b.Query()
	var fv *itil.ValidationError
	if errors.As(err, &fv) {
		v.Fields = append(fv.Fields, v.Fields...)
	}
	return s.scheduleRunner().ListQuery(ctx, q, v.Err())
}

// ScheduleHistory returns the journal of the schedule id, oldest first.
func (s *Service) ScheduleHistory(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return s.scheduleRunner().History(ctx, id)
}
