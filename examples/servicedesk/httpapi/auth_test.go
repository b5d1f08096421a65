package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/itilkit/itil"
)

func TestAuthenticate(t *testing.T) {
	tokens := StaticTokens(map[string]Principal{"agent-token": {Actor: itil.Actor{ID: "ann"}, Roles: []string{"agent"}, Tenant: "acme"}})
	var seen *Principal
	h := Authenticate(tokens, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = PrincipalOf(r.Context())
	}))
	for _, c := range []struct {
		header string
		code   int
	}{{"", 401}, {"Bearer nope", 401}, {"Basic agent-token", 401}, {"Bearer agent-token", 200}, {"bearer agent-token", 200}} {
		seen = nil
		r := httptest.NewRequest(http.MethodGet, "/incidents", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.code {
			t.Errorf("%q: %d, want %d", c.header, rec.Code, c.code)
		}
		if c.code == 401 && (rec.Header().Get("WWW-Authenticate") == "" || seen != nil) {
			t.Errorf("%q: no challenge, or the handler ran", c.header)
		}
		if c.code == 200 && (seen == nil || seen.Actor.ID != "ann" || seen.Tenant != "acme") {
			t.Errorf("%q: principal %+v", c.header, seen)
		}
	}
}

func TestAuthorizer(t *testing.T) {
	m := Matrix{"agent": {"incident.open", "incident.assign", "incident.resolve", "problem.*"}, "admin": {"*"}}
	auth := Authorizer[struct{}](m, "incident")
	with := func(roles ...string) context.Context {
		return context.WithValue(context.Background(), principalKey{}, &Principal{Actor: itil.Actor{ID: "x"}, Roles: roles})
	}
	if err := auth(with("agent"), itil.Actor{ID: "x"}, "resolve", nil); err != nil {
		t.Fatal(err)
	}
	if err := auth(with("agent"), itil.Actor{ID: "x"}, "close", nil); !errors.Is(err, itil.ErrForbidden) {
		t.Fatalf("an agent closes: %v", err)
	}
	if err := auth(with("agent", "admin"), itil.Actor{ID: "x"}, "close", nil); err != nil {
		t.Fatalf("an admin may do anything: %v", err)
	}
	if err := Authorizer[struct{}](m, "problem")(with("agent"), itil.Actor{ID: "x"}, "close", nil); err != nil {
		t.Fatalf("problem.* lets an agent close a problem: %v", err)
	}
	if err := Authorizer[struct{}](m, "change")(with("agent"), itil.Actor{ID: "x"}, "close", nil); !errors.Is(err, itil.ErrForbidden) {
		t.Fatalf("an agent closes a change: %v", err)
	}
	if err := auth(context.Background(), itil.System, "auto_close", nil); !errors.Is(err, itil.ErrForbidden) {
		t.Fatalf("a command without a principal: %v", err)
	}
}
