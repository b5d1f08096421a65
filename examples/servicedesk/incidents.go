package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
)

// newIncident is POST /incidents's body.
type newIncident struct {
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Caller      itil.Actor       `json:"caller"`
	Category    string           `json:"category"`
	Subcategory string           `json:"subcategory"`
	Channel     incident.Channel `json:"channel"`
	ServiceID   itil.ID          `json:"service_id"`
	CIID        itil.ID          `json:"ci_id"`
	ServiceDown bool             `json:"service_down"`
	Impact      itil.Impact      `json:"impact"`
	Urgency     itil.Urgency     `json:"urgency"`
}

func (s *server) openIncident(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, incidentAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newIncident) (*incident.Incident, error) {
		return d.incidents.In(tx).Open(ctx, a, incident.NewIncident(in))
	})
}

func incidentAt(x *incident.Incident) (string, int64) {
	return "/incidents/" + x.ID.String(), x.Version
}

func (s *server) getIncident(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, incidentAt, func(ctx context.Context, d *desk, id itil.ID) (*incident.Incident, error) {
		return d.incidents.Get(ctx, id)
	})
}

// listIncidents answers a page of the incidents the query's filters
// keep (state, priority, group, assignee, ci_id, service_id; each may
// repeat), with the next page's link in Link (rel="next").
func (s *server) listIncidents(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*incident.Incident, string, error) {
		var v itil.ValidationError
		f := incident.Filter{AssignmentGroups: q["group"], Assignees: q["assignee"], Priorities: queryPriorities(&v, q),
			CIID: queryID(&v, q, "ci_id"), ServiceID: queryID(&v, q, "service_id")}
		for _, st := range q["state"] {
			f.States = append(f.States, incident.State(st))
		}
		limit := queryInt(&v, q, "limit")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		return d.incidents.ListPage(ctx, f, limit, q.Get("cursor"))
	})
}

// incidentCommands are the incident's commands, by the name in the path.
var incidentCommands = map[string]command[*incident.Service]{
	"assign": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, in *commandInput) (*incident.Incident, error) {
		return svc.Assign(ctx, a, id, in.Group, in.Assignee)
	}),
	"hold": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, in *commandInput) (*incident.Incident, error) {
		return svc.Hold(ctx, a, id, incident.HoldReason(in.Reason), in.Comment)
	}),
	"resume": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, _ *commandInput) (*incident.Incident, error) {
		return svc.Resume(ctx, a, id)
	}),
	"resolve": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, in *commandInput) (*incident.Incident, error) {
		return svc.Resolve(ctx, a, id, in.Code, in.Notes)
	}),
	"close": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, _ *commandInput) (*incident.Incident, error) {
		return svc.Close(ctx, a, id)
	}),
	"reopen": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, in *commandInput) (*incident.Incident, error) {
		return svc.Reopen(ctx, a, id, in.Reason)
	}),
	"cancel": incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, in *commandInput) (*incident.Incident, error) {
		return svc.Cancel(ctx, a, id, in.Reason)
	}),
}

// incidentCmd makes a route's command of an incident command.
func incidentCmd(f func(context.Context, *incident.Service, itil.Actor, itil.ID, *commandInput) (*incident.Incident, error)) command[*incident.Service] {
	return cmd(func(inc *incident.Incident) int64 { return inc.Version }, f)
}

// incidentPatch is PATCH /incidents/{id}'s body: the fields given
// change (the priority is derived again).
type incidentPatch struct {
	Title       *string       `json:"title"`
	Description *string       `json:"description"`
	Category    *string       `json:"category"`
	Subcategory *string       `json:"subcategory"`
	ServiceID   *itil.ID      `json:"service_id"`
	CIID        *itil.ID      `json:"ci_id"`
	ServiceDown *bool         `json:"service_down"`
	Impact      *itil.Impact  `json:"impact"`
	Urgency     *itil.Urgency `json:"urgency"`
}

// updateIncident answers PATCH /incidents/{id} on the If-Match version.
func (s *server) updateIncident(w http.ResponseWriter, r *http.Request) {
	runCommand(s, w, r, func(d *desk) *incident.Service { return d.incidents },
		incidentCmd(func(ctx context.Context, svc *incident.Service, a itil.Actor, id itil.ID, in *commandInput) (*incident.Incident, error) {
			var p incidentPatch
			if err := decode(in.Extra, &p); err != nil {
				return nil, err
			}
			return svc.Update(ctx, a, id, incident.Patch(p))
		}))
}

// begin finds the request's desk and reads its body, answering the error
// itself when it cannot.
func (s *server) begin(w http.ResponseWriter, r *http.Request) (*desk, []byte, bool) {
	d, err := s.deskOf(r)
	if err == nil {
		var body []byte
		if body, err = readBody(w, r); err == nil {
			return d, body, true
		}
	}
	s.fail(w, r, err)
	return nil, nil, false
}

func principalActor(r *http.Request) itil.Actor {
	p, _ := httpapi.PrincipalOf(r.Context())
	return p.Actor
}

// pathID reads the {id} of the path; a bad one is not found.
func pathID(r *http.Request) (itil.ID, error) {
	id, err := itil.ParseID(r.PathValue("id"))
	if err != nil {
		return itil.NilID, fmt.Errorf("%w: %q is no ID", itil.ErrNotFound, r.PathValue("id"))
	}
	return id, nil
}

// queryPriorities reads the query's priorities (priority=1&priority=2).
func queryPriorities(v *itil.ValidationError, q url.Values) []itil.Priority {
	var out []itil.Priority
	for _, p := range q["priority"] {
		n, err := strconv.Atoi(p)
		if err != nil {
			v.Add("priority", strconv.Quote(p)+" is not a number")
		}
		out = append(out, itil.Priority(n))
	}
	return out
}

func queryID(v *itil.ValidationError, q url.Values, name string) itil.ID {
	s := q.Get(name)
	if s == "" {
		return itil.NilID
	}
	id, err := itil.ParseID(s)
	if err != nil {
		v.Add(name, strconv.Quote(s)+" is not an ID")
	}
	return id
}
