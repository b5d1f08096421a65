package main

import (
	"context"
	"net/http"
	"net/url"
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
	create(s, w, r, offeringAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newOffering) (*strategy.Offering, error) {
		entry, err := pathID(r)
		if err != nil {
			return nil, err
		}
		return d.portfolio.In(tx).AddOffering(ctx, a, entry, strategy.NewOffering(in))
	})
}

func offeringAt(x *strategy.Offering) (string, int64) {
	return "/offerings/" + x.ID.String(), x.Version
}

func (s *server) getOffering(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, offeringAt, func(ctx context.Context, d *desk, id itil.ID) (*strategy.Offering, error) {
		return d.portfolio.GetOffering(ctx, id)
	})
}

func (s *server) entryOfferings(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]*strategy.Offering, error) {
		return collect(d.portfolio.Offerings(ctx, id))
	})
}

func (s *server) subscribe(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, func(x *strategy.Subscription) (string, int64) { return "", x.Version }, // read through entitlements
		func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newSubscription) (*strategy.Subscription, error) {
			offering, err := pathID(r)
			if err != nil {
				return nil, err
			}
			return d.portfolio.In(tx).Subscribe(ctx, a, offering, strategy.NewSubscription(in))
		})
}

// entitlements answers what a customer gets now (or ?at=): each offering
// subscribed, under which SLAs, at what price.
func (s *server) entitlements(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]strategy.Entitlement, string, error) {
		var v itil.ValidationError
		at := queryTime(&v, q, "at")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		es, err := d.portfolio.Entitlements(ctx, r.PathValue("customer"), at)
		return es, "", err
	})
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

// newKnownError is POST /problems/{id}/known_error's body.
type newKnownError struct {
	Symptom   string         `json:"symptom"`
	ErrorCode string         `json:"error_code"`
	Domain    problem.Domain `json:"domain"`
	Draft     bool           `json:"draft"`
}

// publishKnownError answers POST /problems/{id}/known_error: the
// problem's known error, from its workaround and cause, on the problem's
// version If-Match names (428 without, 412 when stale). It is a command
// on the problem, which links the known error (and may replace a retired
// one): PublishKnownError runs on the problem's pipeline, so the
// problem Service's IfVersion checks the problem's version. The answer
// is the known error, created: 201, its own version as ETag, its path
// as Location.
func (s *server) publishKnownError(w http.ResponseWriter, r *http.Request) {
	onVersion(s, w, r, func(d *desk) *problem.Service { return d.problems },
		func(ctx context.Context, svc *problem.Service, a itil.Actor, id itil.ID, body []byte) (httpapi.Response, error) {
			var in newKnownError
			if err := decode(body, &in); err != nil {
				return httpapi.Response{}, err
			}
			ke, err := svc.PublishKnownError(ctx, a, id, problem.FromProblem{Symptom: in.Symptom, ErrorCode: in.ErrorCode,
				Domain: in.Domain, Draft: in.Draft})
			if err != nil {
				return httpapi.Response{}, err
			}
			loc, version := knownErrorAt(ke)
			return httpapi.Response{Status: http.StatusCreated, Version: version, Location: loc, Body: ke}, nil
		})
}

func knownErrorAt(x *problem.KnownError) (string, int64) {
	return "/known_errors/" + x.ID.String(), x.Version
}

func (s *server) getKnownError(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, knownErrorAt, func(ctx context.Context, d *desk, id itil.ID) (*problem.KnownError, error) {
		return d.problems.KnownErrors().Get(ctx, id)
	})
}

// searchKnownErrors answers a page of the known errors ?q= (every word)
// and ?error_code= find.
func (s *server) searchKnownErrors(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*problem.KnownError, string, error) {
		var v itil.ValidationError
		limit := queryInt(&v, q, "limit")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		return d.problems.KnownErrors().SearchPage(ctx, problem.KnownErrorQuery{Words: q.Get("q"), ErrorCode: q.Get("error_code")},
			limit, q.Get("cursor"))
	})
}
