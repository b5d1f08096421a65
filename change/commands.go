package change

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
)

type (
	cmd   = pipeline.Cmd[Change]
	event = pipeline.Event
)

// Journal event types of changes.
const (
	EventOpened   = "change.opened"
	EventMoved    = "change.moved"
	EventClosed   = "change.closed"
	EventCanceled = "change.canceled"
)

// NewChange is what Open needs to record a change.
type NewChange struct {
	// Model names the change model; empty means ModelNormal.
	Model          string
	Title          string
	Description    string
	Justification  string
	Implementation string
	Backout        string
	TestPlan       string
	// RequestedBy is who asks for the change; the actor opening it when
	// zero.
	RequestedBy     itil.Actor
	AssignmentGroup string
	Assignee        string
	CIID            itil.ID
	CIIDs           []itil.ID
	Impact          itil.Impact
	PlannedStart    time.Time
	PlannedEnd      time.Time
}

// Open records a new change in state New and numbers it (CHG0001001). An
// unknown model, or bad fields, give a *itil.ValidationError naming them.
func (s *Service) Open(ctx context.Context, actor itil.Actor, in NewChange) (*Change, error) {
	if in.Model == "" {
		in.Model = ModelNormal
	}
	if in.RequestedBy == (itil.Actor{}) {
		in.RequestedBy = actor
	}
	tmpl := &Change{
		Model: in.Model, State: StateNew, Title: in.Title, Description: in.Description,
		Justification: in.Justification, Implementation: in.Implementation, Backout: in.Backout,
		TestPlan: in.TestPlan, RequestedBy: in.RequestedBy, AssignmentGroup: in.AssignmentGroup,
		Assignee: in.Assignee, CIID: in.CIID, CIIDs: slices.Clone(in.CIIDs), Impact: in.Impact,
		PlannedStart: in.PlannedStart, PlannedEnd: in.PlannedEnd, OpenedBy: actor,
	}
	if len(tmpl.CIIDs) == 0 {
		tmpl.CIIDs = nil
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	in.RequestedBy.Validate("requested_by", &v)
	if m, ok := s.cfg.models[in.Model]; !ok {
		v.Add("model", fmt.Sprintf("%q is not one of the Service's models (%v)", in.Model, s.Models()))
	} else if m.TemplateOnly {
		v.Add("model", in.Model+" changes are pre-approved: make them from a published template (OpenFromTemplate)")
	}
	tmpl.validate(&v)
	if in.Impact != 0 {
		itil.DefaultPriorityMatrix().CheckImpact("impact", in.Impact, &v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	tmpl.ID = itil.NewID()
	return s.run.Create(ctx, actor, CommandOpen, tmpl, func(c *cmd, ch *Change) (event, error) {
		ch.OpenedAt = c.Now
		num, err := c.Number(Kind, NumberPrefix)
		if err != nil {
			return event{}, err
		}
		ch.Number = num
		if err := s.setAffectedServices(c, ch); err != nil { // cmdb.go
			return event{}, err
		}
		if plannedOf(ch) != nil {
			if err := s.rebook(c, ch, nil, slot{}); err != nil { // schedule_check.go
				return event{}, err
			}
		}
		return event{Type: EventOpened, Summary: "opened " + ch.Number + " (" + ch.Model + ") " + strconv.Quote(ch.Title)}, nil
	})
}

// requireActive refuses a command on a change that has ended.
func requireActive(ch *Change, action string) error {
	if ch.State.Final() {
		return itilTransition("cannot %s change %s while it is %s", action, ch.Number, ch.State)
	}
	return nil
}

// itilForbidden is an error wrapping itil.ErrForbidden.
func itilForbidden(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{itil.ErrForbidden}, args...)...)
}

// itilTransition is an error wrapping itil.ErrInvalidTransition.
func itilTransition(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{itil.ErrInvalidTransition}, args...)...)
}

// model returns the compiled model of ch.
func (s *Service) model(ch *Change) (*compiled, error) {
	m, ok := s.cfg.models[ch.Model]
	if !ok {
		// A change stored under a model the Service was not given.
		return nil, fmt.Errorf("%w: change %s follows model %q, which this Service does not have", itil.ErrInvalidTransition, ch.Number, ch.Model)
	}
	return m, nil
}

// fire runs move on ch under its model and enters the state it leads to
// (enter).
func (s *Service) fire(ch *Change, move string, guard func() error) error {
	m, err := s.model(ch)
	if err != nil {
		return err
	}
	to := ch.State
	if err := m.machine.Apply(&to, "change "+ch.Number+" ("+ch.Model+")", move, guard); err != nil {
		return err
	}
	return enter(ch, m, to)
}

// enter sets ch, which the machine of its model m has taken to the state
// to, in that state, under the rules every move obeys: a state of
// RiskStates is entered only once the risk is assessed, one of
// PlannedStates only with planned times. A command that has fired the
// machine already (Move, Withdraw) enters the state it got instead of
// firing it again.
func enter(ch *Change, m *compiled, to State) error {
	if slices.Contains(m.RiskStates, to) && ch.Risk == 0 {
		return itil.Invalid("risk", "is not assessed: assess the change's risk (AssessRisk) before it enters "+string(to))
	}
	if slices.Contains(m.PlannedStates, to) && (ch.PlannedStart.IsZero() || ch.PlannedEnd.IsZero()) {
		var v itil.ValidationError
		if ch.PlannedStart.IsZero() {
			v.Add("planned_start", "is required to enter "+string(to))
		}
		if ch.PlannedEnd.IsZero() {
			v.Add("planned_end", "is required to enter "+string(to))
		}
		return v.Err()
	}
	ch.State = to
	return nil
}

// Move takes the change id through one move of its model (a transition's
// event, such as MoveAssess or MoveSchedule): the Authorizer is asked for
// the move's name. Closing and canceling have commands of their own
// (Close, Cancel), which record why. A move the change's state does not
// allow gives an error wrapping itil.ErrInvalidTransition; entering a
// state of the model's PlannedStates without planned times gives a
// *itil.ValidationError naming planned_start and planned_end.
func (s *Service) Move(ctx context.Context, actor itil.Actor, id itil.ID, move string) (*Change, error) {
	if move == MoveClose || move == MoveCancel || move == MoveRevert {
		return nil, itil.Invalid("move", move+" has its own command (Close, Cancel, Withdraw), which records why")
	}
	return s.run.Run(ctx, actor, id, move, func(c *cmd, ch *Change) (event, error) {
		from := ch.State
		m, err := s.model(ch)
		if err != nil {
			return event{}, err
		}
		// Whether the model has the move at all comes before the rules of
		// leaving the state; the transaction undoes what they write when
		// the move then fails.
		to, err := m.machine.Fire(from, move, nil)
		if err != nil {
			return event{}, fmt.Errorf("change %s (%s): %w", ch.Number, ch.Model, err)
		}
		if to.Final() { // a model's own move into Closed or Canceled
			return event{}, itil.Invalid("move", move+" ends the change: use Close or Cancel, which record why")
		}
		if err := s.leaveApprovalState(c, ch, move, m); err != nil {
			return event{}, err
		}
		if err := enter(ch, m, to); err != nil {
			return event{}, err
		}
		if err := s.checkEntering(c, ch, to); err != nil { // schedule_enforce.go
			return event{}, err
		}
		if err := s.entered(c, ch, from); err != nil {
			return event{}, err
		}
		return event{Type: EventMoved, Summary: move + ": " + string(from) + " → " + string(ch.State)}, nil
	})
}

// entered applies the rules of the state ch has just entered from from:
// entering Implement starts the actual times and opens the change's tasks
// (the first time); leaving Implement ends them; entering Review cancels
// the tasks still open. The tasks' own times replace these once they have
// them (see StartTask, CloseTask).
func (s *Service) entered(c *cmd, ch *Change, from State) error {
	if ch.State == StateImplement {
		if ch.ActualStart.IsZero() {
			ch.ActualStart = c.Now
		}
		ts, err := s.changeTasks(c, ch.ID)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			if err := s.openTasks(c, ch); err != nil {
				return err
			}
		}
	}
	if from == StateImplement && ch.ActualEnd.IsZero() {
		ch.ActualEnd = c.Now
	}
	if ch.State == StateReview {
		return s.cancelOpenTasks(c, ch)
	}
	if m, err := s.model(ch); err == nil && slices.Contains(m.ApprovalStates, ch.State) {
		return s.requestApprovals(c, ch) // approving.go
	}
	return nil
}

// CommandWithdraw is the command name an Authorizer receives for
// Withdraw, and EventWithdrawn its journal event type.
const (
	CommandWithdraw = "withdraw"
	EventWithdrawn  = "change.withdrawn"
)

// Withdraw takes a change waiting in an approval state back to New, with
// a reason (required), as a rejection does: the requests still open are
// canceled, and the change asks again when it comes back. The model must
// have the move MoveRevert from the state (an error wrapping
// itil.ErrInvalidTransition otherwise).
func (s *Service) Withdraw(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Change, error) {
	return s.run.Run(ctx, actor, id, CommandWithdraw, func(c *cmd, ch *Change) (event, error) {
		if err := check.Required("reason", reason); err != nil {
			return event{}, err
		}
		m, err := s.model(ch)
		if err != nil {
			return event{}, err
		}
		from := ch.State
		to, err := m.machine.Fire(from, MoveRevert, nil)
		if err != nil {
			return event{}, fmt.Errorf("change %s (%s): %w", ch.Number, ch.Model, err)
		}
		if err := s.leaveApprovalState(c, ch, MoveRevert, m); err != nil {
			return event{}, err
		}
		if err := enter(ch, m, to); err != nil {
			return event{}, err
		}
		return event{Type: EventWithdrawn, Summary: "withdrawn from " + string(from) + " to new", Reason: reason}, nil
	})
}

// Close closes a change in Review with a close code (Successful,
// SuccessfulWithIssues, Unsuccessful) and close notes, which are required
// (a *itil.ValidationError names close_code or close_notes).
func (s *Service) Close(ctx context.Context, actor itil.Actor, id itil.ID, code CloseCode, notes string) (*Change, error) {
	return s.runBooking(ctx, actor, id, CommandClose, func(c *cmd, ch *Change) (event, error) {
		err := s.fire(ch, MoveClose, func() error {
			var v itil.ValidationError
			if !code.Valid() {
				v.Add("close_code", "must be successful, successful_with_issues or unsuccessful")
			} else if s.reviewRequired(ch, code) && ch.Review == nil { // review.go
				v.Add("review", "a post-implementation review is required to close this change "+string(code)+": record it first")
			}
			check.Text(&v, "close_notes", notes, true, check.Long)
			return v.Err()
		})
		if err != nil {
			return event{}, err
		}
		ch.CloseCode, ch.CloseNotes, ch.ClosedAt = code, notes, c.Now
		if err := s.ended(c, ch); err != nil {
			return event{}, err
		}
		return event{Type: EventClosed, Summary: "closed: " + string(code), Reason: notes}, nil
	})
}

// ended is what the end of ch (closed or canceled) does elsewhere, in
// the command's transaction: the problems it fixes end its fix records,
// its template version counts how it ended, the incidents awaiting it are
// released, and a closed change counts on its success scores.
func (s *Service) ended(c *cmd, ch *Change) error {
	if err := s.endFixes(c, ch); err != nil { // fixes.go
		return err
	}
	if err := s.templateClosed(c, ch); err != nil { // template_change.go
		return err
	}
	if err := s.releaseIncidents(c, ch); err != nil { // incidents.go
		return err
	}
	if ch.State == StateClosed {
		return s.countClosed(c, ch) // success.go
	}
	return nil
}

// Cancel cancels a change its model lets end early (in the default
// models, any state before Review), with a reason.
func (s *Service) Cancel(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Change, error) {
	return s.runBooking(ctx, actor, id, CommandCancel, func(c *cmd, ch *Change) (event, error) {
		if m, err := s.model(ch); err == nil && !ch.State.Final() {
			if err := s.leaveApprovalState(c, ch, MoveCancel, m); err != nil {
				return event{}, err
			}
		}
		err := s.fire(ch, MoveCancel, func() error { return check.Required("reason", reason) })
		if err != nil {
			return event{}, err
		}
		ch.ClosedAt = c.Now
		if err := s.cancelOpenTasks(c, ch); err != nil { // task.go
			return event{}, err
		}
		if !ch.ActualStart.IsZero() && ch.ActualEnd.IsZero() {
			ch.ActualEnd = c.Now
		}
		if err := s.ended(c, ch); err != nil {
			return event{}, err
		}
		return event{Type: EventCanceled, Summary: "canceled", Reason: reason}, nil
	})
}
