package main

import (
	"context"
	"net/http"
	"net/url"

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
	create(s, w, r, ciAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newCI) (*cmdb.CI, error) {
		return d.cis.In(tx).CreateCI(ctx, a, cmdb.NewCI(in))
	})
}

func ciAt(x *cmdb.CI) (string, int64) { return "/cis/" + x.ID.String(), x.Version }

func (s *server) relate(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, func(x *cmdb.Relationship) (string, int64) { return "", x.Version }, // read with its CIs
		func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newRelationship) (*cmdb.Relationship, error) {
			return d.cis.In(tx).Relate(ctx, a, in.Type, in.Parent, in.Child)
		})
}

// unrelate answers DELETE /relationships/{id}: the relationship
// removed, 204. It takes no If-Match: a relationship is only created and
// removed, never changed, and cmdb's Unrelate checks no version (nor
// does its IfVersion, which covers the commands on a CI).
func (s *server) unrelate(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, nil, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		if err := d.cis.In(tx).Unrelate(ctx, actor, id); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusNoContent}, nil
	})
}

// ciPatch is PATCH /cis/{id}'s body: the fields given change; in
// attributes, a value sets the attribute and "" removes it.
type ciPatch struct {
	Name         *string           `json:"name"`
	Attributes   map[string]string `json:"attributes"`
	Criticality  *cmdb.Criticality `json:"criticality"`
	Owner        *string           `json:"owner"`
	SupportGroup *string           `json:"support_group"`
	LocationID   *itil.ID          `json:"location_id"`
}

// updateCI answers PATCH /cis/{id} on the If-Match version.
func (s *server) updateCI(w http.ResponseWriter, r *http.Request) {
	runCommand(s, w, r, func(d *desk) *cmdb.Service { return d.cis },
		cmd(func(ci *cmdb.CI) int64 { return ci.Version },
			func(ctx context.Context, svc *cmdb.Service, a itil.Actor, id itil.ID, in *commandInput) (*cmdb.CI, error) {
				var p ciPatch
				if err := decode(in.Extra, &p); err != nil {
					return nil, err
				}
				return svc.UpdateCI(ctx, a, id, cmdb.Patch(p))
			}))
}

func (s *server) getCI(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, ciAt, func(ctx context.Context, d *desk, id itil.ID) (*cmdb.CI, error) { return d.cis.Get(ctx, id) })
}

// listCIs answers a page of the CIs the query's filters keep (class,
// state, name_prefix).
func (s *server) listCIs(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*cmdb.CI, string, error) {
		var v itil.ValidationError
		f := cmdb.Filter{Classes: q["class"], NamePrefix: q.Get("name_prefix")}
		for _, st := range q["state"] {
			f.States = append(f.States, cmdb.State(st))
		}
		limit := queryInt(&v, q, "limit")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		return d.cis.ListPage(ctx, f, limit, q.Get("cursor"))
	})
}

func (s *server) ciRelationships(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]*cmdb.Relationship, error) {
		return d.cis.Relationships(ctx, id)
	})
}

// ciImpact answers what a failure of the CI affects (direction=upstream,
// the default) or what it depends on (downstream), to depth and limit.
func (s *server) ciImpact(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, noVersion[cmdb.ImpactResult],
		func(ctx context.Context, d *desk, id itil.ID) (*cmdb.ImpactResult, error) {
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
				return nil, err
			}
			return d.cis.Impact(ctx, id, opts)
		})
}

// ciCommands are the CI's commands, by the name in the path.
var ciCommands = map[string]command[*cmdb.Service]{
	"set_state": cmd(func(ci *cmdb.CI) int64 { return ci.Version },
		func(ctx context.Context, svc *cmdb.Service, a itil.Actor, id itil.ID, in *commandInput) (*cmdb.CI, error) {
			return svc.SetState(ctx, a, id, cmdb.State(in.State))
		}),
}
