package main

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/storage"
)

// newChange is POST /changes's body.
type newChange struct {
	Model           string      `json:"model"`
	Title           string      `json:"title"`
	Description     string      `json:"description"`
	Justification   string      `json:"justification"`
	Implementation  string      `json:"implementation_plan"`
	Backout         string      `json:"backout_plan"`
	TestPlan        string      `json:"test_plan"`
	RequestedBy     itil.Actor  `json:"requested_by"`
	AssignmentGroup string      `json:"assignment_group"`
	Assignee        string      `json:"assignee"`
	CIID            itil.ID     `json:"ci_id"`
	CIIDs           []itil.ID   `json:"ci_ids"`
	Impact          itil.Impact `json:"impact"`
	PlannedStart    time.Time   `json:"planned_start"`
	PlannedEnd      time.Time   `json:"planned_end"`
}

func (s *server) openChange(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, changeAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newChange) (*change.Change, error) {
		return d.changes.In(tx).Open(ctx, a, change.NewChange(in))
	})
}

func changeAt(x *change.Change) (string, int64) { return "/changes/" + x.ID.String(), x.Version }

func (s *server) getChange(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, changeAt, func(ctx context.Context, d *desk, id itil.ID) (*change.Change, error) { return d.changes.Get(ctx, id) })
}

// listChanges answers a page of the changes the query's filters keep
// (state, model, group, assignee, ci_id).
func (s *server) listChanges(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*change.Change, string, error) {
		var v itil.ValidationError
		f := change.Filter{Models: q["model"], AssignmentGroups: q["group"], Assignees: q["assignee"], CIID: queryID(&v, q, "ci_id")}
		for _, st := range q["state"] {
			f.States = append(f.States, change.State(st))
		}
		limit := queryInt(&v, q, "limit")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		return d.changes.ListPage(ctx, f, limit, q.Get("cursor"))
	})
}

func (s *server) changeApprovals(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]*change.Approval, error) {
		return d.changes.Approvals(ctx, id)
	})
}

func (s *server) changeConflicts(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]change.Conflict, error) {
		return d.changes.Conflicts(ctx, id)
	})
}

// changeCalendar answers the changes whose planned window overlaps
// [from, to) (RFC 3339), filtered by ci_id, service_id, group, model and
// state.
func (s *server) changeCalendar(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*change.Change, string, error) {
		var v itil.ValidationError
		f := change.CalendarFilter{From: queryTime(&v, q, "from"), To: queryTime(&v, q, "to"), CIID: queryID(&v, q, "ci_id"),
			ServiceID: queryID(&v, q, "service_id"), AssignmentGroups: q["group"], Models: q["model"], Related: q.Get("related") == "true"}
		for _, st := range q["state"] {
			f.States = append(f.States, change.State(st))
		}
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		out, err := collect(d.changes.Calendar(ctx, f))
		return out, "", err
	})
}

// changeTasks answers the change's tasks (a change gets them on entering
// implement), in opening order. Each carries its version, the ETag a task
// command's If-Match names: the change package reads no single task, so
// this list is where a client reads them.
func (s *server) changeTasks(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]*change.Task, error) {
		if _, err := d.changes.Get(ctx, id); err != nil {
			return nil, err // an unknown change is not found, not a change without tasks
		}
		return collect(d.changes.Tasks(ctx, id))
	})
}

// changePatch is PATCH /changes/{id}'s body: the fields given change
// (ci_ids, when given, replaces the list; [] clears it). Its names are
// the change's own (implementation_plan, backout_plan).
type changePatch struct {
	Title          *string      `json:"title"`
	Description    *string      `json:"description"`
	Justification  *string      `json:"justification"`
	Implementation *string      `json:"implementation_plan"`
	Backout        *string      `json:"backout_plan"`
	TestPlan       *string      `json:"test_plan"`
	CIID           *itil.ID     `json:"ci_id"`
	CIIDs          *[]itil.ID   `json:"ci_ids"`
	Impact         *itil.Impact `json:"impact"`
	PlannedStart   *time.Time   `json:"planned_start"`
	PlannedEnd     *time.Time   `json:"planned_end"`
}

// updateChange answers PATCH /changes/{id} on the If-Match version.
func (s *server) updateChange(w http.ResponseWriter, r *http.Request) {
	runCommand(s, w, r, changesOf,
		changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
			var p changePatch
			if err := decode(in.Extra, &p); err != nil {
				return nil, err
			}
			return svc.Update(ctx, a, id, change.Patch(p))
		}))
}

// changeMove is a route's command of the change move name (the move's
// guards and the change model decide whether it may be made).
func changeMove(name string) command[*change.Service] {
	return changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, _ *commandInput) (*change.Change, error) {
		return svc.Move(ctx, a, id, name)
	})
}

// changesOf is a desk's change Service, the one every change, task and
// schedule command runs on.
func changesOf(d *desk) *change.Service { return d.changes }

// changeCommands are the change's commands, by the name in the path.
var changeCommands = map[string]command[*change.Service]{
	change.MoveAssess:    changeMove(change.MoveAssess),
	change.MoveAuthorize: changeMove(change.MoveAuthorize),
	change.MoveSchedule:  changeMove(change.MoveSchedule),
	change.MoveImplement: changeMove(change.MoveImplement),
	change.MoveReview:    changeMove(change.MoveReview),
	"assign": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.Assign(ctx, a, id, in.Group, in.Assignee)
	}),
	"approve": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.Approve(ctx, a, id, in.Comment)
	}),
	"reject": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.Reject(ctx, a, id, in.Comment)
	}),
	"close": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.Close(ctx, a, id, change.CloseCode(in.Code), in.Notes)
	}),
	"cancel": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.Cancel(ctx, a, id, in.Reason)
	}),
	"override_conflicts": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.OverrideConflicts(ctx, a, id, in.Reason)
	}),
	"link_incident": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.LinkIncident(ctx, a, id, in.IncidentID)
	}),
	"link_problem": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		return svc.LinkProblem(ctx, a, id, in.ProblemID)
	}),
	"assess_risk": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		var body riskInput
		if err := decode(in.Extra, &body); err != nil {
			return nil, err
		}
		return svc.AssessRisk(ctx, a, id, body.Answers)
	}),
	"record_review": changeCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Change, error) {
		var body reviewInput
		if err := decode(in.Extra, &body); err != nil {
			return nil, err
		}
		return svc.RecordReview(ctx, a, id, change.ReviewInput(body))
	}),
}

// riskInput is assess_risk's body: the risk questionnaire's answers, by
// question name.
type riskInput struct {
	Answers map[string]string `json:"answers"`
}

// reviewInput is record_review's body: the post-implementation review.
type reviewInput struct {
	WhatHappened string   `json:"what_happened"`
	Lessons      string   `json:"lessons"`
	FollowUps    []string `json:"follow_ups"`
}

// changeBodies are the bodies of the change commands that take other
// than commandInput.
var changeBodies = bodies{"assess_risk": riskInput{}, "record_review": reviewInput{}}

// changeCmd makes a route's command of a change command.
func changeCmd(f func(context.Context, *change.Service, itil.Actor, itil.ID, *commandInput) (*change.Change, error)) command[*change.Service] {
	return cmd(func(c *change.Change) int64 { return c.Version }, f)
}

// taskCommands are a change task's commands, by the name in the path.
var taskCommands = map[string]command[*change.Service]{
	"start": taskCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, _ *commandInput) (*change.Task, error) {
		return svc.StartTask(ctx, a, id)
	}),
	"close": taskCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Task, error) {
		return svc.CloseTask(ctx, a, id, in.Notes)
	}),
	"cancel": taskCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Task, error) {
		return svc.CancelTask(ctx, a, id, in.Reason)
	}),
}

// taskCmd makes a route's command of a task command.
// IfVersion names the task's version for them.
func taskCmd(f func(context.Context, *change.Service, itil.Actor, itil.ID, *commandInput) (*change.Task, error)) command[*change.Service] {
	return cmd(func(t *change.Task) int64 { return t.Version }, f)
}
