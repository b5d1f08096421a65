package main

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
)

// The console: server-rendered pages over the same desks, for people. A
// browser signs in with a token (kept in an HttpOnly cookie) and acts
// through plain forms that post and redirect, without JavaScript.

//go:embed console/*.html
var consoleFS embed.FS

// consolePage is how many records a console list shows at a time (a
// server's pageSize, unless set); the next are a link away (the API's
// cursor).
const consolePage = 50

// navLinks are the console's main navigation, by page.
var navLinks = []struct{ Page, Href, Label string }{
	{"incidents", "/console/incidents", "Incidents"},
	{"problems", "/console/problems", "Problems"},
	{"changes", "/console/changes", "Changes"},
	{"calendar", "/console/calendar", "Change calendar"},
	{"cis", "/console/cis", "CIs"},
	{"diagrams", "/console/lifecycles", "Lifecycles"},
	{"kpis", "/console/kpis", "KPIs"},
}

var consolePages = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"navLinks":   func() any { return navLinks },
		"knownError": func(id itil.ID) bool { return id != itil.NilID },
	}
	m := map[string]*template.Template{"login": template.Must(template.New("login").Parse(loginPage))}
	for _, page := range []string{"incidents", "incident", "problems", "problem", "changes", "change", "calendar", "cis", "ci", "diagrams", "kpis", "error"} {
		m[page] = template.Must(template.New(page).Funcs(funcs).ParseFS(consoleFS, "console/layout.html", "console/"+page+".html"))
	}
	return m
}()

const loginPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Service desk</title></head>
<body><main><h1>Sign in</h1>{{with .}}<p role="alert">{{.}}</p>{{end}}<form method="post" action="/console/login">
<label for="token">Token</label> <input id="token" name="token" type="password" required autofocus>
<button type="submit">Sign in</button></form></main></body></html>`

const consoleCookie = "desk_token"

// consoleRoutes serves the console's pages. Its forms post with the
// session cookie, so every POST passes net/http's cross-origin
// protection first (Sec-Fetch-Site, Origin): SameSite alone would let any
// other site on the same host post them, another port of 127.0.0.1 say.
func (s *server) consoleRoutes(mux *http.ServeMux) {
	csrf := http.NewCrossOriginProtection()
	post := func(pattern string, h http.Handler) { mux.Handle("POST "+pattern, csrf.Handler(h)) }
	mux.Handle("GET /console/{$}", http.RedirectHandler("/console/incidents", http.StatusSeeOther))
	mux.Handle("GET /console", http.RedirectHandler("/console/incidents", http.StatusSeeOther))
	mux.HandleFunc("GET /console/login", func(w http.ResponseWriter, r *http.Request) { s.loginPage(w, http.StatusOK, "") })
	post("/console/login", http.HandlerFunc(s.login))
	post("/console/logout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: consoleCookie, Path: "/console", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil,
			SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	}))
	mux.Handle("GET /console/incidents", s.show("incidents", s.queuePage))
	mux.Handle("GET /console/incidents/{id}", s.show("incident", s.incidentPage))
	post("/console/incidents/{id}/{command}", s.act("incident", "/console/incidents/", s.incidentPage,
		formCommand(incidentCommands, func(d *desk) *incident.Service { return d.incidents })))
	mux.Handle("GET /console/problems", s.show("problems", s.problemsPage))
	mux.Handle("GET /console/problems/{id}", s.show("problem", s.problemPage))
	mux.Handle("GET /console/changes", s.show("changes", s.changesPage))
	mux.Handle("GET /console/changes/{id}", s.show("change", s.changePage))
	post("/console/changes/{id}/{command}", s.act("change", "/console/changes/", s.changePage,
		formCommand(map[string]command[*change.Service]{"approve": changeCommands["approve"], "reject": changeCommands["reject"]}, changesOf)))
	mux.Handle("GET /console/calendar", s.show("calendar", s.calendarPage))
	mux.Handle("GET /console/cis", s.show("cis", s.cisPage))
	mux.Handle("GET /console/cis/{id}", s.show("ci", s.ciPage))
	mux.Handle("GET /console/lifecycles", s.show("diagrams", s.diagramsPage))
	mux.Handle("GET /console/kpis", s.show("kpis", s.kpisPage))
}

// login keeps a token that names a principal in the console's cookie
// (HttpOnly, not readable by the pages' scripts; Secure over TLS), or
// shows the sign-in page again with why not.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	token := r.FormValue("token")
	check := r.Clone(r.Context())
	check.Header.Set("Authorization", "Bearer "+token)
	if _, err := s.auth(check); err != nil {
		s.loginPage(w, http.StatusUnauthorized, "That token is not known here.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: token, Path: "/console", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console/incidents", http.StatusSeeOther)
}

func (s *server) loginPage(w http.ResponseWriter, status int, problem string) {
	pageHeaders(w)
	w.WriteHeader(status)
	_ = consolePages["login"].Execute(w, problem)
}

// pageHeaders are every console page's: HTML, not sniffed as anything
// else, and never framed by another site (clickjacking).
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
}

// signedIn runs h with the principal of the console's cookie, or sends
// the browser to sign in.
func (s *server) signedIn(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(consoleCookie)
		if err == nil {
			r2 := r.Clone(r.Context())
			r2.Header.Set("Authorization", "Bearer "+c.Value)
			if p, err := s.auth(r2); err == nil {
				h(w, r.WithContext(httpapi.WithPrincipal(r.Context(), p)))
				return
			}
		}
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	})
}

// slaBar is one SLA clock as a bar: how much of its target is used, and
// its colour by threshold (paused shown as paused).
type slaBar struct {
	Name, State, Text, Class string
	Width                    int
}

func slaBars(st []slm.Status) []slaBar {
	var out []slaBar
	for _, x := range st {
		p := x.Progress
		b := slaBar{Name: x.Timer.Name, State: string(x.Timer.State), Width: int(math.Min(100, math.Max(0, p.Percent)))}
		switch {
		case p.Breached:
			b.Class, b.Text = "bad", fmt.Sprintf("breached %s ago", (-p.Remaining).Round(time.Minute))
		case x.Timer.State == slm.Paused:
			b.Class, b.Text = "paused", fmt.Sprintf("paused, %s left", p.Remaining.Round(time.Minute))
		case x.Timer.State == slm.Completed:
			b.Class, b.Text = "ok", "met"
		case p.Percent >= 75:
			b.Class, b.Text = "warn", fmt.Sprintf("%s left", p.Remaining.Round(time.Minute))
		default:
			b.Class, b.Text = "ok", fmt.Sprintf("%s left", p.Remaining.Round(time.Minute))
		}
		out = append(out, b)
	}
	return out
}

type queueRow struct {
	ID, Number, Title, State, Group string
	Priority                        int
	SLA                             []slaBar
}

func (s *server) queuePage(r *http.Request, d *desk) (map[string]any, error) {
	page, next, err := d.incidents.ListPage(r.Context(), incident.Filter{States: []incident.State{incident.StateNew, incident.StateInProgress,
		incident.StateOnHold}}, s.pageSize, r.URL.Query().Get("cursor"))
	var rows []queueRow
	for _, inc := range page {
		st, _ := d.sla.Status(r.Context(), inc.ID, time.Now())
		rows = append(rows, queueRow{ID: inc.ID.String(), Number: inc.Number, Title: inc.Title, State: string(inc.State),
			Group: inc.AssignmentGroup, Priority: int(inc.Priority), SLA: slaBars(st)})
	}
	return map[string]any{"Title": "Incidents", "Rows": rows, "Next": next}, err
}

// incidentPage shows an incident: its SLA clocks, its place in the
// incident lifecycle, its history and the forms that act on it.
func (s *server) incidentPage(r *http.Request, d *desk) (map[string]any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	inc, err := d.incidents.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	st, err := d.sla.Status(r.Context(), id, time.Now())
	if err != nil {
		return nil, err
	}
	h, err := d.incidents.History(r.Context(), id)
	return map[string]any{"Title": inc.Number, "Inc": inc, "SLA": slaBars(st), "History": h, "Codes": d.incidents.ResolutionCodes(),
		"Diagram": newDiagram("Incident", "incident", incident.Lifecycle(), inc.State)}, err
}

// formCommand runs a page's form as the API runs the command of the
// same name (cmds), on the version the page showed: the form's fields are
// the command's input.
func formCommand[S versioned[S]](cmds map[string]command[S], svcOf func(*desk) S) func(r *http.Request, d *desk, id itil.ID, version int64) error {
	return func(r *http.Request, d *desk, id itil.ID, version int64) error {
		run, ok := cmds[r.PathValue("command")]
		if !ok {
			return fmt.Errorf("%w: no such command", itil.ErrNotFound)
		}
		in := &commandInput{Group: r.FormValue("group"), Assignee: r.FormValue("assignee"), Reason: r.FormValue("reason"),
			Comment: r.FormValue("comment"), Code: r.FormValue("code"), Notes: r.FormValue("notes")}
		_, _, err := run(r.Context(), svcOf(d).IfVersion(version), principalActor(r), id, in)
		return err
	}
}

// act serves a page's form: it runs do on the record of the path and the
// version the form carries, then shows the record again after a redirect
// (so a reload does not repeat it), or the page with what went wrong and
// the status the API would answer.
func (s *server) act(page, base string, v view, do func(r *http.Request, d *desk, id itil.ID, version int64) error) http.Handler {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.deskOf(r)
		var id itil.ID
		if err == nil {
			id, err = pathID(r)
		}
		if err == nil {
			// The version the page showed, as If-Match carries it in the
			// API: a form without one runs nothing (428), and one that
			// names no version runs as stale (412).
			if version, ok := formVersion(r); !ok {
				err = errVersionRequired
			} else if err = do(r, d, id, version); err == nil {
				http.Redirect(w, r, base+id.String(), http.StatusSeeOther)
				return
			}
		}
		var data map[string]any
		if d != nil {
			data, _ = v(r, d)
		}
		s.renderError(w, r, page, data, err)
	})
}

// formVersion reads the version a form acts on, as httpapi.IfMatch reads
// If-Match: ok is false without one.
func formVersion(r *http.Request) (version int64, ok bool) {
	f := r.FormValue("version")
	if f == "" {
		return 0, false
	}
	return httpapi.ParseVersion(f), true
}

// errVersionRequired is a form that did not say which version it acts on.
var errVersionRequired = errors.New("the form did not say which version it acts on: reload the page")

// renderError shows err on page with data, or on the error page when
// there is no data to show, with the status the API would answer (412
// when the form's version is stale). An internal error shows its
// title only, and is logged.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, page string, data map[string]any, err error) {
	p := httpapi.ProblemOf(err)
	msg := err.Error()
	switch {
	case errors.Is(err, errVersionRequired):
		p.Status = http.StatusPreconditionRequired
	case p.Status == http.StatusInternalServerError:
		msg = p.Title
		if s.log != nil {
			s.log.ErrorContext(r.Context(), "console page failed", "id", httpapi.RequestIDOf(r.Context()), "path", r.URL.Path, "error", err)
		}
	}
	if data == nil {
		page, data = "error", map[string]any{"Title": http.StatusText(p.Status)}
	}
	data["Nav"], data["Error"] = page, msg
	pageHeaders(w)
	w.WriteHeader(p.Status)
	s.render(w, page, data)
}

func (s *server) render(w http.ResponseWriter, page string, data map[string]any) {
	pageHeaders(w)
	if err := consolePages[page].ExecuteTemplate(w, "layout", data); err != nil && s.log != nil {
		s.log.Error("console page", "page", page, "error", err)
	}
}
