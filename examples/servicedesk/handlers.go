package main

import (
	"context"
	"iter"
	"net/http"
	"net/url"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/storage"
)

// The shapes every route takes, so that a route's handler is only what
// it asks of the SDK: create a record, read one, list some. Commands
// have theirs in commands.go.

// create answers a POST that makes a record: the body, decoded as In, is
// made by mk in the POST's one transaction (so an Idempotency-Key is
// remembered with it), and answered 201 with the record's version as its
// ETag and its path (at) as Location ("" for a record with no route of
// its own).
func create[In, T any](s *server, w http.ResponseWriter, r *http.Request, at func(*T) (string, int64),
	mk func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in In) (*T, error)) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in In
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		x, err := mk(ctx, d, tx, actor, in)
		if err != nil {
			return httpapi.Response{}, err
		}
		loc, version := at(x)
		return httpapi.Response{Status: http.StatusCreated, Version: version, Location: loc, Body: x}, nil
	})
}

// read answers a GET of the record of the path's {id}, with its version
// as its ETag.
func read[T any](s *server, w http.ResponseWriter, r *http.Request, at func(*T) (string, int64),
	get func(ctx context.Context, d *desk, id itil.ID) (*T, error)) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	x, err := get(r.Context(), d, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, version := at(x)
	writeJSON(w, http.StatusOK, version, x)
}

// noVersion is read's at for what has no version of its own (an impact
// analysis, a gate judged now): no ETag.
func noVersion[T any](*T) (string, int64) { return "", 0 }

// list answers a list that get reads with the query's parameters (a bad
// one gives a *itil.ValidationError naming it, answered 422), a page at a
// time when get returns the next page's cursor (see writePage).
func list[T any](s *server, w http.ResponseWriter, r *http.Request, get func(ctx context.Context, d *desk, q url.Values) ([]T, string, error)) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	xs, next, err := get(r.Context(), d, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePage(w, r, xs, next)
}

// listOf answers a whole list about the record of the path's {id} (its
// approvals, its tasks), which get reads.
func listOf[T any](s *server, w http.ResponseWriter, r *http.Request, get func(ctx context.Context, d *desk, id itil.ID, q url.Values) ([]T, error)) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	xs, err := get(r.Context(), d, id, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, nonNil(xs))
}

// collect reads a sequence into a list, stopping at its first error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for x, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}
