package main

import (
	"context"
	"net/http"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// newOffering is POST /portfolio/{id}/offerings's body.
type newOffering struct {
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Utility     []string             `json:"utility"`
	Warranty    strategy.Warranty    `json:"warranty"`
	Commitments strategy.Commitments `json:"commitments"`
	Pricing     strategy.Pricing     `json:"pricing"`
	Capacity    decimal.Decimal      `json:"capacity"`
}

// newSubscription is POST /offerings/{id}/subscriptions's body.
type newSubscription struct {
	Customer string          `json:"customer"`
	Quantity decimal.Decimal `json:"quantity"`
	Start    time.Time       `json:"start"`
	End      time.Time       `json:"end"`
}

func (s *server) addOffering(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	entry, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in newOffering
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		o, err := d.portfolio.In(tx).AddOffering(ctx, actor, entry, strategy.NewOffering(in))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: o.Version, Location: "/offerings/" + o.ID.String(), Body: o}, nil
	})
}

func (s *server) entryOfferings(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	var out []*strategy.Offering
	for o, err := range d.portfolio.Offerings(r.Context(), id) {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, 0, nonNil(out))
}

func (s *server) subscribe(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	offering, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in newSubscription
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		sub, err := d.portfolio.In(tx).Subscribe(ctx, actor, offering, strategy.NewSubscription(in))
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: sub.Version, Body: sub}, nil
	})
}

// entitlements answers what a customer gets now (or ?at=): each offering
// subscribed, under which SLAs, at what price.
func (s *server) entitlements(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var v itil.ValidationError
	at := queryTime(&v, r.URL.Query(), "at")
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	es, err := d.portfolio.Entitlements(r.Context(), r.PathValue("customer"), at)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, nonNil(es))
}

// offeringCommands are an offering's commands.
var offeringCommands = map[string]command[*strategy.Service]{
	"publish": cmd(func(o *strategy.Offering) int64 { return o.Version },
		func(ctx context.Context, svc *strategy.Service, a itil.Actor, id itil.ID, _ *commandInput) (*strategy.Offering, error) {
			return svc.PublishOffering(ctx, a, id)
		}),
	"retire": cmd(func(o *strategy.Offering) int64 { return o.Version },
		func(ctx context.Context, svc *strategy.Service, a itil.Actor, id itil.ID, _ *commandInput) (*strategy.Offering, error) {
			return svc.RetireOffering(ctx, a, id)
		}),
}

// publishKnownError answers POST /problems/{id}/known_error: the
// problem's known error, from its workaround and cause.
func (s *server) publishKnownError(w http.ResponseWriter, r *http.Request) {
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
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in struct {
			Symptom   string         `json:"symptom"`
			ErrorCode string         `json:"error_code"`
			Domain    problem.Domain `json:"domain"`
			Draft     bool           `json:"draft"`
		}
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		ke, err := d.problems.In(tx).PublishKnownError(ctx, actor, id, problem.FromProblem{Symptom: in.Symptom, ErrorCode: in.ErrorCode,
			Domain: in.Domain, Draft: in.Draft})
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: ke.Version, Location: "/known_errors/" + ke.ID.String(), Body: ke}, nil
	})
}

func (s *server) getKnownError(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	ke, err := d.problems.KnownErrors().Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ke.Version, ke)
}

// searchKnownErrors answers a page of the known errors ?q= (every word)
// and ?error_code= find.
func (s *server) searchKnownErrors(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	limit := queryInt(&v, q, "limit")
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, next, err := d.problems.KnownErrors().SearchPage(r.Context(), problem.KnownErrorQuery{Words: q.Get("q"), ErrorCode: q.Get("error_code")},
		limit, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePage(w, r, page, next)
}
