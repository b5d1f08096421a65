package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
)

// newProblem is POST /problems's body.
type newProblem struct {
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Category    string       `json:"category"`
	ServiceID   itil.ID      `json:"service_id"`
	CIIDs       []itil.ID    `json:"ci_ids"`
	Impact      itil.Impact  `json:"impact"`
	Urgency     itil.Urgency `json:"urgency"`
	Workaround  string       `json:"workaround"`
}

func (s *server) openProblem(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in newProblem
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		p, err := d.problems.In(tx).Open(ctx, actor, problem.NewProblem(in))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: p.Version, Location: "/problems/" + p.ID.String(), Body: p}, nil
	})
}

func (s *server) getProblem(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	p, err := d.problems.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p.Version, p)
}

// problemIncidents answers the incidents linked to a problem.
func (s *server) problemIncidents(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	incs, err := d.problems.Incidents(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, nonNil(incs))
}

// listProblems answers a page of the problems the query's filters keep
// (state, priority, group, assignee, category, ci_id, service_id).
func (s *server) listProblems(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	f := problem.Filter{AssignmentGroups: q["group"], Assignees: q["assignee"], Categories: q["category"]}
	for _, st := range q["state"] {
		f.States = append(f.States, problem.State(st))
	}
	for _, p := range q["priority"] {
		n, err := strconv.Atoi(p)
		if err != nil {
			v.Add("priority", strconv.Quote(p)+" is not a number")
		}
		f.Priorities = append(f.Priorities, itil.Priority(n))
	}
	f.CIID = queryID(&v, q, "ci_id")
	f.ServiceID = queryID(&v, q, "service_id")
	limit := queryInt(&v, q, "limit")
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, next, err := d.problems.ListPage(r.Context(), f, limit, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePage(w, r, page, next)
}

// problemCommands are the problem's commands, by the name in the path.
var problemCommands = map[string]command[*problem.Service]{
	"assign": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
		return svc.Assign(ctx, a, id, in.Group, in.Assignee)
	}),
	"assess": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, _ *commandInput) (*problem.Problem, error) {
		return svc.Assess(ctx, a, id)
	}),
	"confirm": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, _ *commandInput) (*problem.Problem, error) {
		return svc.Confirm(ctx, a, id)
	}),
	"fix": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, _ *commandInput) (*problem.Problem, error) {
		return svc.Fix(ctx, a, id)
	}),
	"resolve": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, _ *commandInput) (*problem.Problem, error) {
		return svc.Resolve(ctx, a, id)
	}),
	"complete": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, _ *commandInput) (*problem.Problem, error) {
		return svc.Complete(ctx, a, id)
	}),
	"cancel": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
		return svc.Cancel(ctx, a, id, in.Reason)
	}),
	"accept_risk": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
		return svc.AcceptRisk(ctx, a, id, in.Reason)
	}),
	"reanalyze": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
		return svc.Reanalyze(ctx, a, id, in.Reason)
	}),
	"link_incident": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
		return svc.LinkIncident(ctx, a, id, in.IncidentID)
	}),
	"unlink_incident": problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
		return svc.UnlinkIncident(ctx, a, id, in.IncidentID)
	}),
}

// problemCmd makes a route's command of a problem command.
func problemCmd(f func(context.Context, *problem.Service, itil.Actor, itil.ID, *commandInput) (*problem.Problem, error)) command[*problem.Service] {
	return cmd(func(p *problem.Problem) int64 { return p.Version }, f)
}

// problemPatch is PATCH /problems/{id}'s body: the fields given change.
type problemPatch struct {
	Title       *string       `json:"title"`
	Description *string       `json:"description"`
	Category    *string       `json:"category"`
	ServiceID   *itil.ID      `json:"service_id"`
	CIIDs       *[]itil.ID    `json:"ci_ids"`
	Impact      *itil.Impact  `json:"impact"`
	Urgency     *itil.Urgency `json:"urgency"`
	Workaround  *string       `json:"workaround"`
	CauseNotes  *string       `json:"cause_notes"`
	FixNotes    *string       `json:"fix_notes"`
}

// updateProblem answers PATCH /problems/{id} on the If-Match version.
func (s *server) updateProblem(w http.ResponseWriter, r *http.Request) {
	runCommand(s, w, r, func(d *desk) *problem.Service { return d.problems },
		problemCmd(func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, in *commandInput) (*problem.Problem, error) {
			var p problemPatch
			if err := decode(in.Extra, &p); err != nil {
				return nil, err
			}
			return svc.Update(ctx, a, id, problem.Patch(p))
		}))
}
