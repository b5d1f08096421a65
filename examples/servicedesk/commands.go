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

// commandRoutes are the routes of a resource's commands, one per
// command: POST /{resource}/{id}/{name}.
func commandRoutes[S versioned[S]](s *server, resource, what string, record any, svcOf func(*desk) S, cmds map[string]command[S]) []route {
	names := slices.Sorted(maps.Keys(cmds))
	out := make([]route, 0, len(names))
	for _, name := range names {
		out = append(out, route{method: "POST", path: "/" + resource + "/{id}/" + name, summary: strings.ReplaceAll(name, "_", " ") + " " + what,
			body: commandInput{}, answer: record, status: 200, command: true,
			handle: func(w http.ResponseWriter, r *http.Request) { runCommand(s, w, r, svcOf, cmds[name]) }})
	}
	return out
}

// runCommand answers a command's POST: If-Match is required (428), and
// the command runs idempotently in one transaction on the version
// If-Match names (412 when stale).
func runCommand[S versioned[S]](s *server, w http.ResponseWriter, r *http.Request, svcOf func(*desk) S, run command[S]) {
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
	httpapi.Post(w, r, d.store, s.log, body, true, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		in := &commandInput{Extra: body}
		if err := decode(body, in); err != nil {
			return httpapi.Response{}, err
		}
		rec, v, err := run(ctx, svcOf(d).IfVersion(version).In(tx), actor, id, in)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusOK, Version: v, Body: rec}, nil
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
