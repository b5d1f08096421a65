package change

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// KindTask is the storage kind and journal kind of change tasks.
const KindTask = "change_task"

// TaskNumberPrefix starts every change task's reference number
// (CTASK0001001).
const TaskNumberPrefix = "CTASK"

// TaskType says what a change task is for.
type TaskType string

// The task types a change gets when it enters Implement.
const (
	TaskImplement              TaskType = "implement"
	TaskPostImplementationTest TaskType = "post_implementation_test"
)

// TaskState is where a change task is: Open, In Progress, then Closed or
// Canceled.
type TaskState string

// The task states.
const (
	TaskOpen       TaskState = "open"
	TaskInProgress TaskState = "in_progress"
	TaskClosed     TaskState = "closed"
	TaskCanceled   TaskState = "canceled"
)

// Task events, the names of the transitions in TaskLifecycle.
const (
	taskStart  = "start"
	taskClose  = "close"
	taskCancel = "cancel"
)

var taskLifecycle = machine.New(TaskOpen, []itil.Transition[TaskState]{
	{Event: taskStart, From: []TaskState{TaskOpen}, To: TaskInProgress},
	{Event: taskClose, From: []TaskState{TaskOpen, TaskInProgress}, To: TaskClosed},
	{Event: taskCancel, From: []TaskState{TaskOpen, TaskInProgress}, To: TaskCanceled},
})

// TaskLifecycle returns a copy of the change task lifecycle's table.
func TaskLifecycle() []itil.Transition[TaskState] { return taskLifecycle.Transitions() }

// TaskDiagram returns the Mermaid state diagram of TaskLifecycle.
func TaskDiagram() string { return taskLifecycle.Diagram() }

// Task is a piece of a change's work: implementing it, testing it after,
// or any other the application adds. A change's actual start and end come
// from its tasks once they have started and ended.
type Task struct {
	ID       itil.ID   `json:"id"`
	Version  int64     `json:"version"`
	Number   string    `json:"number"`
	ChangeID itil.ID   `json:"change_id"`
	Type     TaskType  `json:"type"`
	Title    string    `json:"title"`
	State    TaskState `json:"state"`

	AssignmentGroup string `json:"assignment_group,omitempty"`
	Assignee        string `json:"assignee,omitempty"`
	CloseNotes      string `json:"close_notes,omitempty"`

	OpenedAt  time.Time `json:"opened_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (t *Task) clone() *Task { c := *t; return &c }

// Journal event types of change tasks (kind KindTask), and
// EventActualTimes, journaled on the change when its tasks move its
// actual start or end.
const (
	EventActualTimes  = "change.actual_times"
	EventTaskOpened   = "change.task_opened"
	EventTaskStarted  = "change.task_started"
	EventTaskClosed   = "change.task_closed"
	EventTaskCanceled = "change.task_canceled"
)

// Command names of the task commands, as an Authorizer of changes
// receives them (on the task's change).
const (
	CommandStartTask  = "start_task"
	CommandCloseTask  = "close_task"
	CommandCancelTask = "cancel_task"
)

var tasks = storage.NewCollection(storage.Schema[Task]{
	Kind:    KindTask,
	ID:      func(t *Task) itil.ID { return t.ID },
	Version: func(t *Task) *int64 { return &t.Version },
	SortKey: func(t *Task) string { return storage.TimeKey(t.OpenedAt) },
	Terms: func(t *Task, dst []string) []string {
		return append(dst, storage.Term("change", t.ChangeID.String()), storage.Term("number", t.Number),
			storage.Term("state", string(t.State)))
	},
	Clone: func(dst, src *Task) { *dst = *src },
})

var taskSpec = (&pipeline.Spec[Task]{
	Collection: tasks,
	Clone:      (*Task).clone,
	Touch:      func(t *Task, now time.Time) { t.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

func (s *Service) taskRunner() pipeline.Runner[Task] {
	return pipeline.Sibling(s.run, taskSpec, nil, nil)
}

// openTasks writes the tasks a change gets when it enters Implement, in
// the command's transaction, assigned as the change is.
func (s *Service) openTasks(c *cmd, ch *Change) error {
	tc := pipeline.Other(c, s.taskRunner())
	for _, typ := range []struct {
		t     TaskType
		title string
	}{{TaskImplement, "Implement " + ch.Number}, {TaskPostImplementationTest, "Test " + ch.Number + " after implementation"}} {
		num, err := tc.Number(KindTask, TaskNumberPrefix)
		if err != nil {
			return err
		}
		t := &Task{ID: itil.NewID(), Number: num, ChangeID: ch.ID, Type: typ.t,
			Title: typ.title, State: TaskOpen, AssignmentGroup: ch.AssignmentGroup, Assignee: ch.Assignee, OpenedAt: c.Now}
		if err := tc.Save(t, event{Type: EventTaskOpened, Summary: "opened " + t.Number + " (" + string(t.Type) + ")",
			Refs: []itil.ID{ch.ID}}); err != nil {
			return err
		}
	}
	return nil
}

// changeTasks reads the tasks of the change id in the command's
// transaction, in opening order.
func (s *Service) changeTasks(c *cmd, id itil.ID) ([]*Task, error) {
	tc := pipeline.Other(c, s.taskRunner())
	return tc.Query(storage.Query{Terms: []string{storage.Term("change", id.String())}})
}

// cancelOpenTasks cancels the change's tasks that are not closed, in the
// command's transaction: Review, or the change's cancellation, ends the
// work.
func (s *Service) cancelOpenTasks(c *cmd, ch *Change) error {
	why := "canceled: the change went to review"
	if ch.State == StateCanceled {
		why = "canceled with the change"
	}
	ts, err := s.changeTasks(c, ch.ID)
	if err != nil {
		return err
	}
	tc := pipeline.Other(c, s.taskRunner())
	for _, t := range ts {
		if t.State == TaskClosed || t.State == TaskCanceled {
			continue
		}
		if _, err := taskLifecycle.Fire(t.State, taskCancel, nil); err != nil {
			return err
		}
		t.State, t.ClosedAt = TaskCanceled, c.Now
		if err := tc.Save(t, event{Type: EventTaskCanceled, Summary: why,
			Refs: []itil.ID{ch.ID}}); err != nil {
			return err
		}
	}
	return nil
}

// actualTimes sets the change's actual start and end from its tasks: the
// earliest start, and, once every task has ended (closed or canceled) and
// one closed, the latest close. An unauthorized change keeps its own: it
// happened when it was seen (RecordUnplanned), before any task.
func actualTimes(ch *Change, ts []*Task) {
	if ch.Unauthorized {
		return
	}
	var start, end time.Time
	done := len(ts) > 0
	closed := false
	for _, t := range ts {
		if !t.StartedAt.IsZero() && (start.IsZero() || t.StartedAt.Before(start)) {
			start = t.StartedAt
		}
		switch t.State {
		case TaskClosed:
			closed = true
			if t.ClosedAt.After(end) {
				end = t.ClosedAt
			}
		case TaskCanceled:
		default:
			done = false
		}
	}
	if !start.IsZero() {
		ch.ActualStart = start
	}
	if done && closed {
		ch.ActualEnd = end
	}
}

// taskCommand runs a task command: the task is loaded with its change,
// both in one transaction; the change is authorized for command and
// written when its actual times move.
func (s *Service) taskCommand(ctx context.Context, actor itil.Actor, taskID itil.ID, command string,
	fn func(c *cmd, ch *Change, t *Task) (event, error)) (*Task, error) {
	var out *Task
	err := s.run.Do(ctx, actor, func(c *cmd) error {
		tc := pipeline.Other(c, s.taskRunner())
		t, err := tc.Load(taskID)
		if err != nil {
			return fmt.Errorf("task: %w", err)
		}
		ch, err := c.Load(t.ChangeID)
		if err != nil {
			return err
		}
		if ch.State.Final() {
			return itilTransition("change %s is %s; its tasks have ended", ch.Number, ch.State)
		}
		if err := c.Authorize(command, ch); err != nil {
			return err
		}
		if err := tc.Expect(taskID, t); err != nil {
			return err
		}
		ev, err := fn(c, ch, t)
		if err != nil {
			return err
		}
		if err := tc.Save(t, ev); err != nil {
			return err
		}
		ts, err := s.changeTasks(c, ch.ID)
		if err != nil {
			return err
		}
		for i := range ts {
			if ts[i].ID == t.ID {
				ts[i] = t
			}
		}
		start, end := ch.ActualStart, ch.ActualEnd
		actualTimes(ch, ts)
		if !ch.ActualStart.Equal(start) || !ch.ActualEnd.Equal(end) {
			if err := c.Save(ch, event{Type: EventActualTimes, Summary: "actual times from " + t.Number, Refs: []itil.ID{t.ID}}); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// StartTask starts an open task of a change in Implement: the change's
// actual start is its tasks' earliest start.
func (s *Service) StartTask(ctx context.Context, actor itil.Actor, taskID itil.ID) (*Task, error) {
	return s.taskCommand(ctx, actor, taskID, CommandStartTask, func(c *cmd, ch *Change, t *Task) (event, error) {
		if ch.State != StateImplement {
			return event{}, fmt.Errorf("%w: change %s is %s; its tasks start in implement", itil.ErrInvalidTransition, ch.Number, ch.State)
		}
		if err := taskLifecycle.Apply(&t.State, "task "+t.Number, taskStart, nil); err != nil {
			return event{}, err
		}
		t.StartedAt = c.Now
		return event{Type: EventTaskStarted, Summary: "started", Refs: []itil.ID{ch.ID}}, nil
	})
}

// CloseTask closes a task with notes (required): the change's actual end
// is its tasks' latest close once none is left open.
func (s *Service) CloseTask(ctx context.Context, actor itil.Actor, taskID itil.ID, notes string) (*Task, error) {
	return s.taskCommand(ctx, actor, taskID, CommandCloseTask, func(c *cmd, ch *Change, t *Task) (event, error) {
		err := taskLifecycle.Apply(&t.State, "task "+t.Number, taskClose, func() error {
			var v itil.ValidationError
			check.Text(&v, "close_notes", notes, true, check.Long)
			return v.Err()
		})
		if err != nil {
			return event{}, err
		}
		if t.StartedAt.IsZero() {
			t.StartedAt = c.Now
		}
		t.CloseNotes, t.ClosedAt = notes, c.Now
		return event{Type: EventTaskClosed, Summary: "closed", Reason: notes, Refs: []itil.ID{ch.ID}}, nil
	})
}

// CancelTask cancels a task that is not closed, with a reason.
func (s *Service) CancelTask(ctx context.Context, actor itil.Actor, taskID itil.ID, reason string) (*Task, error) {
	return s.taskCommand(ctx, actor, taskID, CommandCancelTask, func(c *cmd, ch *Change, t *Task) (event, error) {
		err := taskLifecycle.Apply(&t.State, "task "+t.Number, taskCancel, func() error { return check.Required("reason", reason) })
		if err != nil {
			return event{}, err
		}
		t.ClosedAt = c.Now
		return event{Type: EventTaskCanceled, Summary: "canceled", Reason: reason, Refs: []itil.ID{ch.ID}}, nil
	})
}

// Tasks returns the tasks of the change id, in opening order.
func (s *Service) Tasks(ctx context.Context, id itil.ID) iter.Seq2[*Task, error] {
	return s.taskRunner().List(ctx, pipeline.Query[Task]{Terms: []string{storage.Term("change", id.String())}})
}
