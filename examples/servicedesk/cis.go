package main

import (
	"context"
	"net/http"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/storage"
)

// newCI is POST /cis's body.
type newCI struct {
	Class        string            `json:"class"`
	Name         string            `json:"name"`
	Attributes   map[string]string `json:"attributes"`
	State        cmdb.State        `json:"state"`
	Criticality  cmdb.Criticality  `json:"criticality"`
	Owner        string            `json:"owner"`
	SupportGroup string            `json:"support_group"`
	LocationID   itil.ID           `json:"location_id"`
	Source       string            `json:"source"`
}

// newRelationship is POST /relationships's body.
type newRelationship struct {
	Type   string  `json:"type"`
	Parent itil.ID `json:"parent"`
	Child  itil.ID `json:"child"`
}

func (s *server) createCI(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in newCI
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		ci, err := d.cis.In(tx).CreateCI(ctx, actor, cmdb.NewCI(in))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: ci.Version, Location: "/cis/" + ci.ID.String(), Body: ci}, nil
	})
}

func (s *server) relate(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in newRelationship
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		rel, err := d.cis.In(tx).Relate(ctx, actor, in.Type, in.Parent, in.Child)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: rel.Version, Body: rel}, nil
	})
}

func (s *server) getCI(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	ci, err := d.cis.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ci.Version, ci)
}

// listCIs answers a page of the CIs the query's filters keep (class,
// state, name_prefix).
func (s *server) listCIs(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	f := cmdb.Filter{Classes: q["class"], NamePrefix: q.Get("name_prefix")}
	for _, st := range q["state"] {
		f.States = append(f.States, cmdb.State(st))
	}
	limit := queryInt(&v, q, "limit")
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, next, err := d.cis.ListPage(r.Context(), f, limit, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePage(w, r, page, next)
}

func (s *server) ciRelationships(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	rels, err := d.cis.Relationships(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, nonNil(rels))
}

// ciImpact answers what a failure of the CI affects (direction=upstream,
// the default) or what it depends on (downstream), to depth and limit.
func (s *server) ciImpact(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	opts := cmdb.ImpactOptions{MaxDepth: queryInt(&v, q, "depth"), Limit: queryInt(&v, q, "limit"), Types: q["type"]}
	switch q.Get("direction") {
	case "", "upstream":
	case "downstream":
		opts.Direction = cmdb.Downstream
	default:
		v.Add("direction", "must be upstream or downstream")
	}
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := d.cis.Impact(r.Context(), id, opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, res)
}

// ciCommands are the CI's commands, by the name in the path.
var ciCommands = map[string]command[*cmdb.Service]{
	"set_state": cmd(func(ci *cmdb.CI) int64 { return ci.Version },
		func(ctx context.Context, svc *cmdb.Service, a itil.Actor, id itil.ID, in *commandInput) (*cmdb.CI, error) {
			return svc.SetState(ctx, a, id, cmdb.State(in.State))
		}),
}
