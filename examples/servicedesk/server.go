package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// desk is one tenant's service desk: every process over the tenant's
// store. Services keep in-memory indexes of their tenant's journal, so a
// tenant's desk is made once and shared by its requests.
type desk struct {
	store     storage.Store
	incidents *incident.Service
	problems  *problem.Service
	changes   *change.Service
	cis       *cmdb.Service
	sla       *slm.Engine
	portfolio *strategy.Service
	lifecycle *lifecycle.Service
}

// approvers are the example's approver groups (a vendor's would come
// from its directory): each assignment group's members approve its
// changes' first step, the CAB the second.
var approvers = change.DirectoryMap{
	"messaging":              {"mia", "max"},
	"network":                {"nia", "ned"},
	change.GroupCAB:          {"carl", "cara"},
	change.GroupEmergencyCAB: {"carl"},
}

// server serves every tenant of one backend.
type server struct {
	backend storage.Backend
	log     *slog.Logger
	auth    httpapi.Authenticator
	matrix  httpapi.Matrix

	mu    sync.Mutex // guards desks, not the wiring of one
	desks map[string]*tenantDesk

	// done closes when the server shuts down: event streams end then, as
	// http.Server.Shutdown waits for every connection to go idle and a
	// stream never does.
	done     chan struct{}
	stopOnce sync.Once

	pageSize int // of the console's lists
}

func newServer(backend storage.Backend, log *slog.Logger, auth httpapi.Authenticator, matrix httpapi.Matrix) *server {
	return &server{backend: backend, log: log, auth: auth, matrix: matrix, desks: map[string]*tenantDesk{}, done: make(chan struct{}),
		pageSize: consolePage}
}

// httpServer is the HTTP server of s on addr: on Shutdown, s's event
// streams end, so that it returns once the other requests are done.
func (s *server) httpServer(addr string) *http.Server {
	srv := &http.Server{Addr: addr, Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() { s.stopOnce.Do(func() { close(s.done) }) })
	return srv
}

// deskOf returns the desk of the request's principal's tenant.
func (s *server) deskOf(r *http.Request) (*desk, error) {
	p, ok := httpapi.PrincipalOf(r.Context())
	if !ok {
		return nil, errors.New("servicedesk: a request without a principal")
	}
	return s.desk(p.Tenant)
}

// tenantDesk is one tenant's desk, wired on first use.
type tenantDesk struct {
	mu sync.Mutex
	d  *desk
}

// desk returns tenant's desk, wiring its services on first use (reading
// their indexes from the journal may take a while: other tenants' requests
// do not wait for it). Wiring that fails is tried again on the next
// request.
func (s *server) desk(tenant string) (*desk, error) {
	s.mu.Lock()
	t := s.desks[tenant]
	if t == nil {
		t = &tenantDesk{}
		s.desks[tenant] = t
	}
	s.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.d == nil {
		d, err := s.wire(tenant)
		if err != nil {
			return nil, err
		}
		t.d = d
	}
	return t.d, nil
}

// wire makes tenant's desk: its store and every process's service on it,
// each asking the role matrix.
func (s *server) wire(tenant string) (*desk, error) {
	st, err := s.backend.Tenant(tenant)
	if err != nil {
		return nil, err
	}
	cis, err := cmdb.New(st, cmdb.WithAuthorizer(httpapi.Authorizer[cmdb.CI](s.matrix, "cmdb")))
	if err != nil {
		return nil, err
	}
	eng, err := slm.NewEngine(st, slm.WithAuthorizer(httpapi.Authorizer[slm.Definition](s.matrix, "sla")))
	if err != nil {
		return nil, err
	}
	inc, err := incident.New(st, incident.WithHook(eng), incident.WithAuthorizer(httpapi.Authorizer[incident.Incident](s.matrix, "incident")))
	if err != nil {
		return nil, err
	}
	prb, err := problem.New(st, problem.WithIncidents(inc), problem.WithAuthorizer(httpapi.Authorizer[problem.Problem](s.matrix, "problem")))
	if err != nil {
		return nil, err
	}
	chg, err := change.New(st, change.WithDirectory(approvers), change.WithCMDB(cis), change.WithIncidents(inc), change.WithProblems(prb), change.WithAuthorizer(httpapi.Authorizer[change.Change](s.matrix, "change")))
	if err != nil {
		return nil, err
	}
	pf, err := strategy.New(st, strategy.WithCMDB(cis), strategy.WithSLM(eng), strategy.WithChange(chg), strategy.WithIncidents(inc),
		strategy.WithAuthorizer(httpapi.Authorizer[strategy.Entry](s.matrix, "strategy")))
	if err != nil {
		return nil, err
	}
	lc, err := lifecycle.New(st, pf, lifecycle.WithCMDB(cis), lifecycle.WithChange(chg), lifecycle.WithIncidents(inc), lifecycle.WithSLM(eng),
		lifecycle.WithProblems(prb), lifecycle.WithAuthorizer(httpapi.Authorizer[lifecycle.Record](s.matrix, "lifecycle")))
	if err != nil {
		return nil, err
	}
	return &desk{store: st, incidents: inc, problems: prb, changes: chg, cis: cis, sla: eng, portfolio: pf, lifecycle: lc}, nil
}

// in is d with every service bound to the caller's transaction tx.
func (d *desk) in(tx storage.Tx) *desk {
	return &desk{store: d.store, incidents: d.incidents.In(tx), problems: d.problems.In(tx), changes: d.changes.In(tx), cis: d.cis.In(tx),
		sla: d.sla.In(tx), portfolio: d.portfolio.In(tx), lifecycle: d.lifecycle.In(tx)}
}

// api is the API's route table: resources as paths, commands as POSTs
// on them. The mux serves it and /openapi.json documents it.
func (s *server) api() []route {
	rs := []route{
		{method: "POST", path: "/incidents", summary: "Open an incident", body: newIncident{}, answer: incident.Incident{}, status: 201, handle: s.openIncident},
		{method: "GET", path: "/incidents", summary: "List incidents, a page at a time", answer: []incident.Incident{}, status: 200, handle: s.listIncidents},
		{method: "GET", path: "/incidents/{id}", summary: "Read an incident", answer: incident.Incident{}, status: 200, handle: s.getIncident},
		{method: "PATCH", path: "/incidents/{id}", summary: "Change an incident's fields", body: incidentPatch{}, answer: incident.Incident{}, status: 200, command: true, handle: s.updateIncident},
		{method: "POST", path: "/problems", summary: "Open a problem", body: newProblem{}, answer: problem.Problem{}, status: 201, handle: s.openProblem},
		{method: "GET", path: "/problems", summary: "List problems, a page at a time", answer: []problem.Problem{}, status: 200, handle: s.listProblems},
		{method: "GET", path: "/problems/{id}", summary: "Read a problem", answer: problem.Problem{}, status: 200, handle: s.getProblem},
		{method: "PATCH", path: "/problems/{id}", summary: "Change a problem's fields", body: problemPatch{}, answer: problem.Problem{}, status: 200, command: true, handle: s.updateProblem},
		{method: "GET", path: "/problems/{id}/incidents", summary: "The incidents linked to a problem", answer: []incident.Incident{}, status: 200, handle: s.problemIncidents},
		{method: "POST", path: "/changes", summary: "Open a change", body: newChange{}, answer: change.Change{}, status: 201, handle: s.openChange},
		{method: "GET", path: "/changes", summary: "List changes, a page at a time", answer: []change.Change{}, status: 200, handle: s.listChanges},
		{method: "GET", path: "/changes/calendar", summary: "The change calendar: changes planned in a span", answer: []change.Change{}, status: 200, handle: s.changeCalendar},
		{method: "GET", path: "/changes/{id}", summary: "Read a change", answer: change.Change{}, status: 200, handle: s.getChange},
		{method: "PATCH", path: "/changes/{id}", summary: "Change a change's fields, plans, CIs, impact and planned times", body: changePatch{}, answer: change.Change{}, status: 200, command: true, handle: s.updateChange},
		{method: "GET", path: "/changes/{id}/approvals", summary: "A change's approvals", answer: []change.Approval{}, status: 200, handle: s.changeApprovals},
		{method: "GET", path: "/changes/{id}/conflicts", summary: "A change's schedule conflicts", answer: []change.Conflict{}, status: 200, handle: s.changeConflicts},
		{method: "GET", path: "/changes/windows", summary: "The windows in force: when enforced maintenance and blackout schedules apply in a span", answer: []change.WindowInForce{}, status: 200, handle: s.changeWindows},
		{method: "GET", path: "/changes/{id}/tasks", summary: "A change's tasks, each with its version (a task command's If-Match)", answer: []change.Task{}, status: 200, handle: s.changeTasks},
		{method: "GET", path: "/changes/{id}/slots", summary: "The next free slots for a change's planned window", answer: []change.FreeSlot{}, status: 200, handle: s.changeSlots},
		{method: "POST", path: "/schedules", summary: "Draft a maintenance or blackout schedule", body: change.ScheduleSpec{}, answer: change.Schedule{}, status: 201, handle: s.createSchedule},
		{method: "GET", path: "/schedules", summary: "List maintenance and blackout schedules", answer: []change.Schedule{}, status: 200, handle: s.listSchedules},
		{method: "GET", path: "/schedules/{id}", summary: "Read a schedule", answer: change.Schedule{}, status: 200, handle: s.getSchedule},
		{method: "PUT", path: "/schedules/{id}", summary: "Replace a schedule's spec", body: change.ScheduleSpec{}, answer: change.Schedule{}, status: 200, command: true, handle: s.updateSchedule},
		{method: "POST", path: "/cis", summary: "Register a configuration item", body: newCI{}, answer: cmdb.CI{}, status: 201, handle: s.createCI},
		{method: "GET", path: "/cis", summary: "List configuration items, a page at a time", answer: []cmdb.CI{}, status: 200, handle: s.listCIs},
		{method: "GET", path: "/cis/{id}", summary: "Read a configuration item", answer: cmdb.CI{}, status: 200, handle: s.getCI},
		{method: "PATCH", path: "/cis/{id}", summary: "Change a configuration item's fields (an attribute set to \"\" is removed)", body: ciPatch{}, answer: cmdb.CI{}, status: 200, command: true, handle: s.updateCI},
		{method: "GET", path: "/cis/{id}/relationships", summary: "A CI's relationships, as parent or child", answer: []cmdb.Relationship{}, status: 200, handle: s.ciRelationships},
		{method: "GET", path: "/cis/{id}/impact", summary: "What a CI's failure affects (upstream) or what it depends on (downstream)", answer: cmdb.ImpactResult{}, status: 200, handle: s.ciImpact},
		{method: "POST", path: "/relationships", summary: "Relate two CIs", body: newRelationship{}, answer: cmdb.Relationship{}, status: 201, handle: s.relate},
		{method: "DELETE", path: "/relationships/{id}", summary: "Remove a relationship (no If-Match: a relationship never changes, so its removal checks no version)", status: 204, handle: s.unrelate},
		{method: "POST", path: "/sla/definitions", summary: "Define an SLA, OLA or contract (revise one with PUT)", body: slm.Definition{}, answer: slm.Definition{}, status: 201, handle: s.defineSLA},
		{method: "GET", path: "/sla/definitions", summary: "List SLA definitions, a page at a time", answer: []slm.Definition{}, status: 200, handle: s.listSLAs},
		{method: "GET", path: "/sla/definitions/{id}", summary: "Read an SLA definition", answer: slm.Definition{}, status: 200, handle: s.getSLA},
		{method: "PUT", path: "/sla/definitions/{id}", summary: "Revise an SLA definition: its next revision", body: slm.Definition{}, answer: slm.Definition{}, status: 200, command: true, handle: s.reviseSLA},
		{method: "GET", path: "/sla/definitions/{id}/compliance", summary: "How a definition did over a span", answer: slm.Compliance{}, status: 200, handle: s.slaCompliance},
		{method: "GET", path: "/incidents/{id}/sla", summary: "An incident's SLA timers and where they stand now", answer: []timerStatus{}, status: 200, handle: s.recordTimers},
		{method: "POST", path: "/portfolio", summary: "Propose a service to the portfolio", body: newEntry{}, answer: strategy.Entry{}, status: 201, handle: s.proposeEntry},
		{method: "GET", path: "/portfolio", summary: "The portfolio's pipeline, catalogue or retired services", answer: []strategy.Entry{}, status: 200, handle: s.listPortfolio},
		{method: "GET", path: "/portfolio/{id}", summary: "Read a portfolio entry", answer: strategy.Entry{}, status: 200, handle: s.getEntry},
		{method: "POST", path: "/portfolio/{id}/offerings", summary: "Draft an offering of a service", body: newOffering{}, answer: strategy.Offering{}, status: 201, handle: s.addOffering},
		{method: "GET", path: "/portfolio/{id}/offerings", summary: "A service's offerings", answer: []strategy.Offering{}, status: 200, handle: s.entryOfferings},
		{method: "GET", path: "/offerings/{id}", summary: "Read an offering", answer: strategy.Offering{}, status: 200, handle: s.getOffering},
		{method: "POST", path: "/offerings/{id}/subscriptions", summary: "Subscribe a customer to an offering", body: newSubscription{}, answer: strategy.Subscription{}, status: 201, handle: s.subscribe},
		{method: "GET", path: "/customers/{customer}/entitlements", summary: "What a customer gets: offerings, SLAs, prices", answer: []strategy.Entitlement{}, status: 200, handle: s.entitlements},
		{method: "POST", path: "/problems/{id}/known_error", summary: "Publish a problem's known error (If-Match: the problem's version)", body: newKnownError{}, answer: problem.KnownError{}, status: 201, command: true, handle: s.publishKnownError},
		{method: "GET", path: "/known_errors", summary: "Search the known error database", answer: []problem.KnownError{}, status: 200, handle: s.searchKnownErrors},
		{method: "GET", path: "/known_errors/{id}", summary: "Read a known error", answer: problem.KnownError{}, status: 200, handle: s.getKnownError},
		{method: "POST", path: "/initiatives", summary: "Raise an improvement initiative", body: newInitiative{}, answer: lifecycle.Initiative{}, status: 201, handle: s.raiseInitiative},
		{method: "GET", path: "/initiatives", summary: "The continual improvement register", answer: []lifecycle.Initiative{}, status: 200, handle: s.listInitiatives},
		{method: "GET", path: "/initiatives/{id}", summary: "Read an improvement initiative", answer: lifecycle.Initiative{}, status: 200, handle: s.getInitiative},
		{method: "POST", path: "/lifecycles", summary: "Open a service's lifecycle record", body: newLifecycle{}, answer: lifecycle.Record{}, status: 201, handle: s.openLifecycle},
		{method: "GET", path: "/lifecycles/{id}", summary: "Read a service's lifecycle record", answer: lifecycle.Record{}, status: 200, handle: s.getLifecycle},
		{method: "GET", path: "/lifecycles/{id}/gates/{move}", summary: "A stage move's gate, judged now", answer: lifecycle.Gate{}, status: 200, handle: s.lifecycleGate},
		{method: "GET", path: "/kpis", summary: "KPIs from the journal, per period and breakdown", answer: []lifecycle.KPIPoint{}, status: 200, handle: s.kpis},
		{method: "GET", path: "/events", summary: "The journal as Server-Sent Events, resuming after Last-Event-ID", answer: itil.Event{}, status: 200, handle: s.streamEvents},
	}
	rs = append(rs, commandRoutes(s, "incidents", "an incident", incident.Incident{}, func(d *desk) *incident.Service { return d.incidents }, incidentCommands, nil)...)
	rs = append(rs, commandRoutes(s, "changes", "a change", change.Change{}, changesOf, changeCommands, changeBodies)...)
	rs = append(rs, commandRoutes(s, "tasks", "a change task", change.Task{}, changesOf, taskCommands, nil)...)
	rs = append(rs, commandRoutes(s, "schedules", "a schedule", change.Schedule{}, changesOf, scheduleCommands, nil)...)
	rs = append(rs, commandRoutes(s, "cis", "a CI", cmdb.CI{}, func(d *desk) *cmdb.Service { return d.cis }, ciCommands, nil)...)
	rs = append(rs, commandRoutes(s, "portfolio", "a portfolio entry", strategy.Entry{}, func(d *desk) *strategy.Service { return d.portfolio }, entryCommands, nil)...)
	rs = append(rs, commandRoutes(s, "lifecycles", "a service's lifecycle", lifecycle.Record{}, func(d *desk) *lifecycle.Service { return d.lifecycle }, lifecycleCommands, lifecycleBodies)...)
	rs = append(rs, commandRoutes(s, "offerings", "an offering", strategy.Offering{}, func(d *desk) *strategy.Service { return d.portfolio }, offeringCommands, nil)...)
	rs = append(rs, commandRoutes(s, "initiatives", "an initiative", lifecycle.Initiative{}, func(d *desk) *lifecycle.Service { return d.lifecycle }, initiativeCommands, nil)...)
	rs = append(rs, commandRoutes(s, "problems", "a problem", problem.Problem{}, func(d *desk) *problem.Service { return d.problems }, problemCommands, nil)...)
	return rs
}

// routes serves the API to authenticated callers, and its OpenAPI
// document to anyone; each request gets an ID and a log line.
func (s *server) routes() http.Handler {
	api := http.NewServeMux()
	table := s.api()
	for _, rt := range table {
		api.HandleFunc(rt.method+" "+rt.path, rt.handle)
	}
	doc, err := json.Marshal(openAPI(table))
	if err != nil {
		panic(err) // the table's own types: a bug
	}
	top := http.NewServeMux()
	top.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	api.HandleFunc("/", httpapi.NotFound)
	s.consoleRoutes(top)
	top.Handle("GET /{$}", http.RedirectHandler("/console/incidents", http.StatusSeeOther))
	top.Handle("/", httpapi.Authenticate(s.auth, api))
	return httpapi.RequestLog(s.log, top)
}

// maxBody bounds a request's body.
const maxBody = 1 << 20

// readBody reads the request's body, at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var v itil.ValidationError
		v.Add("body", fmt.Sprintf("cannot be read (at most %d bytes): %v", maxBody, err))
		return nil, v.Err()
	}
	return b, nil
}

// decode reads JSON into v, a bad body giving a *itil.ValidationError.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var ve itil.ValidationError
		ve.Add("body", "is not the JSON expected: "+err.Error())
		return ve.Err()
	}
	return nil
}

// writeJSON writes v as JSON with status, and its version as ETag.
func writeJSON(w http.ResponseWriter, status int, version int64, v any) {
	if version > 0 {
		httpapi.SetETag(w, version)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// target finds the request's desk and the path's {id}, answering the
// error itself when it cannot.
func (s *server) target(w http.ResponseWriter, r *http.Request) (*desk, itil.ID, bool) {
	d, err := s.deskOf(r)
	if err == nil {
		var id itil.ID
		if id, err = pathID(r); err == nil {
			return d, id, true
		}
	}
	s.fail(w, r, err)
	return nil, itil.NilID, false
}

// fail writes err as problem details (see httpapi.ProblemOf), logging an
// internal error.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, s.log, err)
}

// writePage writes a page of records, with the next page's link in Link
// (rel="next") when there is one: the request's own query, the cursor
// set to next.
func writePage[T any](w http.ResponseWriter, r *http.Request, page []T, next string) {
	if next != "" {
		q := r.URL.Query()
		q.Set("cursor", next)
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, q.Encode()))
	}
	writeJSON(w, http.StatusOK, 0, nonNil(page))
}

// nonNil makes an empty list encode as [], not null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// queryInt reads the query's integer name (0 when absent).
func queryInt(v *itil.ValidationError, q url.Values, name string) int {
	s := q.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		v.Add(name, strconv.Quote(s)+" is not a number")
	}
	return n
}

// queryTime reads the query's RFC 3339 time name (zero when absent).
func queryTime(v *itil.ValidationError, q url.Values, name string) time.Time {
	s := q.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.Add(name, strconv.Quote(s)+" is not an RFC 3339 time")
	}
	return t
}
