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
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in newIncident
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		inc, err := d.incidents.In(tx).Open(ctx, actor, incident.NewIncident(in))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: inc.Version, Location: "/incidents/" + inc.ID.String(), Body: inc}, nil
	})
}

func (s *server) getIncident(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	inc, err := d.incidents.Get(r.Context(), id)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	writeJSON(w, http.StatusOK, inc.Version, inc)
}

// listIncidents answers a page of the incidents the query's filters
// keep (state, priority, group, assignee, ci_id, service_id; each may
// repeat), with the next page's link in Link (rel="next").
func (s *server) listIncidents(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	f := incident.Filter{AssignmentGroups: q["group"], Assignees: q["assignee"]}
	for _, st := range q["state"] {
		f.States = append(f.States, incident.State(st))
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
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			v.Add("limit", strconv.Quote(l)+" is not a number")
		}
		limit = n
	}
	if err := v.Err(); err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	page, next, err := d.incidents.ListPage(r.Context(), f, limit, q.Get("cursor"))
	if err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	if next != "" {
		q.Set("cursor", next)
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
	}
	if page == nil {
		page = []*incident.Incident{}
	}
	writeJSON(w, http.StatusOK, 0, page)
}

// incidentCommand runs POST /incidents/{id}/{command} on the version
// If-Match names.
func (s *server) incidentCommand(w http.ResponseWriter, r *http.Request) {
	version, ok := httpapi.IfMatch(r)
	if !ok {
		httpapi.RequirePrecondition(w, r)
		return
	}
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		httpapi.WriteError(w, r, s.log, err, false)
		return
	}
	actor := principalActor(r)
	var in struct {
		Group    string `json:"group"`
		Assignee string `json:"assignee"`
		Comment  string `json:"comment"`
		Reason   string `json:"reason"`
		Code     string `json:"code"`
		Notes    string `json:"notes"`
	}
	httpapi.Post(w, r, d.store, s.log, body, true, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		svc := d.incidents.IfVersion(version).In(tx)
		var inc *incident.Incident
		var err error
		switch cmd := r.PathValue("command"); cmd {
		case "assign":
			inc, err = svc.Assign(ctx, actor, id, in.Group, in.Assignee)
		case "hold":
			inc, err = svc.Hold(ctx, actor, id, incident.HoldReason(in.Reason), in.Comment)
		case "resume":
			inc, err = svc.Resume(ctx, actor, id)
		case "resolve":
			inc, err = svc.Resolve(ctx, actor, id, in.Code, in.Notes)
		case "close":
			inc, err = svc.Close(ctx, actor, id)
		case "reopen":
			inc, err = svc.Reopen(ctx, actor, id, in.Reason)
		case "cancel":
			inc, err = svc.Cancel(ctx, actor, id, in.Reason)
		default:
			return httpapi.Response{}, fmt.Errorf("%w: incidents have no command %q", itil.ErrNotFound, cmd)
		}
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusOK, Version: inc.Version, Body: inc}, nil
	})
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
	httpapi.WriteError(w, r, s.log, err, false)
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
