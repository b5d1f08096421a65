package main

import (
	"context"
	"net/http"
	"net/url"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
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
	create(s, w, r, problemAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newProblem) (*problem.Problem, error) {
		return d.problems.In(tx).Open(ctx, a, problem.NewProblem(in))
	})
}

func problemAt(x *problem.Problem) (string, int64) { return "/problems/" + x.ID.String(), x.Version }

func (s *server) getProblem(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, problemAt, func(ctx context.Context, d *desk, id itil.ID) (*problem.Problem, error) {
		return d.problems.Get(ctx, id)
	})
}

// problemIncidents answers the incidents linked to a problem.
func (s *server) problemIncidents(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]*incident.Incident, error) {
		return d.problems.Incidents(ctx, id)
	})
}

// listProblems answers a page of the problems the query's filters keep
// (state, priority, group, assignee, category, ci_id, service_id).
func (s *server) listProblems(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*problem.Problem, string, error) {
		var v itil.ValidationError
		f := problem.Filter{AssignmentGroups: q["group"], Assignees: q["assignee"], Categories: q["category"],
			Priorities: queryPriorities(&v, q), CIID: queryID(&v, q, "ci_id"), ServiceID: queryID(&v, q, "service_id")}
		for _, st := range q["state"] {
			f.States = append(f.States, problem.State(st))
		}
		limit := queryInt(&v, q, "limit")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		return d.problems.ListPage(ctx, f, limit, q.Get("cursor"))
	})
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
