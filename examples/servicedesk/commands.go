package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/storage"
)

// Every process's Service runs a command in a caller's transaction (In)
// on the version the caller read (IfVersion): the shape a command route
// needs, whatever the process.
type versioned[S any] interface {
	In(tx storage.Tx) S
	IfVersion(v int64) S
}

// command runs one named command of a resource on svc (already in the
// request's transaction and on its If-Match version), with the request's
// actor, the path's ID and the decoded body in; it returns the record
// and its new version.
type command[S any] func(ctx context.Context, svc S, actor itil.Actor, id itil.ID, in *commandInput) (any, int64, error)

// commandInput is the body of every command: each command reads the
// fields it needs (a resolution's code and notes, an assignment's group
// and assignee) and ignores the rest.
type commandInput struct {
	Group      string          `json:"group"`
	Assignee   string          `json:"assignee"`
	Comment    string          `json:"comment"`
	Reason     string          `json:"reason"`
	Code       string          `json:"code"`
	Notes      string          `json:"notes"`
	IncidentID itil.ID         `json:"incident_id"`
	ProblemID  itil.ID         `json:"problem_id"`
	State      string          `json:"state"`
	Extra      json.RawMessage `json:"-"` // the whole body, for commands with richer input
}

// bodies names the commands of a resource whose body is not
// commandInput (they decode commandInput.Extra themselves), each with a
// zero value of its body's type: what the OpenAPI document gives as
// their request body. A command is a function (the console calls the
// incident's), so its body type is kept beside it, not in it.
type bodies map[string]any

// commandRoutes are the routes of a resource's commands, one per
// command: POST /{resource}/{id}/{name}, its body commandInput unless
// other names another.
func commandRoutes[S versioned[S]](s *server, resource, what string, record any, svcOf func(*desk) S, cmds map[string]command[S], other bodies) []route {
	for name := range other {
		if cmds[name] == nil {
			panic("servicedesk: a body for " + resource + "'s command " + name + ", which it has not") // the tables: a bug
		}
	}
	names := slices.Sorted(maps.Keys(cmds))
	out := make([]route, 0, len(names))
	for _, name := range names {
		body := other[name]
		if body == nil {
			body = commandInput{}
		}
		out = append(out, route{method: "POST", path: "/" + resource + "/{id}/" + name, summary: strings.ReplaceAll(name, "_", " ") + " " + what,
			body: body, answer: record, status: 200, command: true,
			handle: func(w http.ResponseWriter, r *http.Request) { runCommand(s, w, r, svcOf, cmds[name]) }})
	}
	return out
}

// runCommand answers a command's request: If-Match is required (428),
// and the command runs idempotently in one transaction on the version
// If-Match names (412 when stale), answering 200 with the record and its
// new version as ETag.
func runCommand[S versioned[S]](s *server, w http.ResponseWriter, r *http.Request, svcOf func(*desk) S, run command[S]) {
	onVersion(s, w, r, svcOf, func(ctx context.Context, svc S, actor itil.Actor, id itil.ID, body []byte) (httpapi.Response, error) {
		in := &commandInput{Extra: body}
		if err := decode(body, in); err != nil {
			return httpapi.Response{}, err
		}
		rec, v, err := run(ctx, svc, actor, id, in)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusOK, Version: v, Body: rec}, nil
	})
}

// onVersion answers a request that changes the record of the path's
// {id} on the version the caller read: If-Match is required (428); do
// runs in httpapi.Post's one transaction (idempotent with an
// Idempotency-Key) on svc, bound to it and to the If-Match version, with
// the request's actor, the path's ID and the body, and gives the answer.
// A record not at that version answers 412 (itil.ErrStale); another
// conflict, 409.
func onVersion[S versioned[S]](s *server, w http.ResponseWriter, r *http.Request, svcOf func(*desk) S,
	do func(ctx context.Context, svc S, actor itil.Actor, id itil.ID, body []byte) (httpapi.Response, error)) {
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
		s.fail(w, r, err)
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		return do(ctx, svcOf(d).IfVersion(version).In(tx), actor, id, body)
	})
}

// cmd makes a route's command of a process command that returns its
// record T, whose version version reads.
func cmd[S, T any](version func(*T) int64, f func(context.Context, S, itil.Actor, itil.ID, *commandInput) (*T, error)) command[S] {
	return func(ctx context.Context, svc S, a itil.Actor, id itil.ID, in *commandInput) (any, int64, error) {
		rec, err := f(ctx, svc, a, id, in)
		if err != nil {
			return nil, 0, err
		}
		return rec, version(rec), nil
	}
}
