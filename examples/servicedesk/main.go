// Servicedesk is a service desk over HTTP/JSON on every process of the
// SDK, the layer a vendor building an ITSM product writes first: routes,
// errors as problem details, ETags and If-Match, idempotent POSTs,
// cursor pages, tenancy and roles from the authenticated caller, the
// journal as Server-Sent Events, an OpenAPI document, and a console for
// people at /console/.
//
//	go run ./examples/servicedesk                        # in memory, on 127.0.0.1:8080
//	go run ./examples/servicedesk -store sqlite:desk.db
//	go run ./examples/servicedesk -store postgres://…
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/internal/store"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
)

// roles is the example's role matrix (see httpapi.Matrix).
var roles = httpapi.Matrix{
	"agent":           {"incident.*"},
	"problem_manager": {"incident.*", "problem.*"},
	// A change writes what it links: the incidents it restores (their
	// change, and their release from waiting for it), the problems it
	// fixes (their fix records).
	"change_manager": {"change.*", "cmdb.*", "incident.set_change", "incident.release", "problem.add_fix_record", "problem.complete_fix_record",
		"problem.cancel_fix_record"},
	"service_owner": {"sla.*", "strategy.*", "lifecycle.*"},
	"cab_member":    {"change.approve", "change.reject"},
	"admin":         {"*"},
}

// demoTokens are the example's callers: one per role in the tenant
// "demo", and an admin of the tenant "acme".
var demoTokens = map[string]httpapi.Principal{
	"agent-token":   {Actor: itil.Actor{ID: "ann", Name: "Ann (agent)"}, Roles: []string{"agent"}, Tenant: "demo"},
	"problem-token": {Actor: itil.Actor{ID: "pete", Name: "Pete (problem manager)"}, Roles: []string{"problem_manager"}, Tenant: "demo"},
	"change-token":  {Actor: itil.Actor{ID: "chloe", Name: "Chloe (change manager)"}, Roles: []string{"change_manager"}, Tenant: "demo"},
	"cab-token":     {Actor: itil.Actor{ID: "carl", Name: "Carl (CAB member)"}, Roles: []string{"cab_member"}, Tenant: "demo"},
	// Max is a messaging engineer: an agent who approves his group's
	// changes (the approvers map asks him).
	"max-token":   {Actor: itil.Actor{ID: "max", Name: "Max (messaging)"}, Roles: []string{"agent", "cab_member"}, Tenant: "demo"},
	"owner-token": {Actor: itil.Actor{ID: "olga", Name: "Olga (service owner)"}, Roles: []string{"service_owner"}, Tenant: "demo"},
	"admin-token": {Actor: itil.Actor{ID: "ada", Name: "Ada (admin)"}, Roles: []string{"admin"}, Tenant: "demo"},
	// Another tenant's admin: Acme's desk shares the store and nothing
	// else.
	"acme-token": {Actor: itil.Actor{ID: "alex", Name: "Alex (Acme's admin)"}, Roles: []string{"admin"}, Tenant: "acme"},
}

func main() {
	spec := store.Flag()
	addr := flag.String("addr", "127.0.0.1:8080", "where to listen")
	demo := flag.Bool("demo", true, "give the demo tenant sample records, once")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*spec, *addr, *demo, log); err != nil {
		log.Error("servicedesk stopped", "error", err)
		os.Exit(1)
	}
}

func run(spec, addr string, demo bool, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	backend, err := store.OpenBackend(ctx, spec)
	if err != nil {
		return err
	}
	defer backend.Close()
	desk := newServer(backend, log, httpapi.StaticTokens(demoTokens), roles)
	if demo {
		if err := desk.seedDemo(ctx); err != nil {
			return err
		}
	}
	srv := desk.httpServer(addr)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("servicedesk listening", "addr", addr, "store", redacted(spec))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful: requests under way finish, for up to ten seconds.
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// redacted is the store spec as logs may show it: a DSN's password,
// in its user part or as its password parameter, replaced by xxxxx.
func redacted(spec string) string {
	u, err := url.Parse(spec)
	if err != nil || u.Scheme == "" || u.Opaque != "" { // memory, sqlite:PATH
		return spec
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
