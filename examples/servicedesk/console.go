package main

import (
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
)

// The console: server-rendered pages over the same desks, for people. A
// browser signs in with a token (kept in an HttpOnly cookie) and acts
// through plain forms that post and redirect, without JavaScript.

//go:embed console/*.html
var consoleFS embed.FS

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
<body><main><h1>Sign in</h1><form method="post" action="/console/login">
<label for="token">Token</label> <input id="token" name="token" type="password" required autofocus>
<button type="submit">Sign in</button></form></main></body></html>`

const consoleCookie = "desk_token"

// consoleRoutes serves the console's pages.
func (s *server) consoleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/login", func(w http.ResponseWriter, r *http.Request) {
		_ = consolePages["login"].Execute(w, nil)
	})
	mux.HandleFunc("POST /console/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: r.FormValue("token"), Path: "/console", HttpOnly: true,
			SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/console/incidents", http.StatusSeeOther)
	})
	mux.Handle("GET /console/incidents", s.show("incidents", s.queuePage))
	mux.Handle("GET /console/incidents/{id}", s.show("incident", s.incidentPage))
	mux.Handle("POST /console/incidents/{id}/{command}", s.act("incident", "/console/incidents/", s.incidentPage, s.incidentCommand))
	mux.Handle("GET /console/problems", s.show("problems", s.problemsPage))
	mux.Handle("GET /console/problems/{id}", s.show("problem", s.problemPage))
	mux.Handle("GET /console/changes", s.show("changes", s.changesPage))
	mux.Handle("GET /console/changes/{id}", s.show("change", s.changePage))
	mux.Handle("POST /console/changes/{id}/{command}", s.act("change", "/console/changes/", s.changePage, s.changeDecision))
	mux.Handle("GET /console/calendar", s.show("calendar", s.calendarPage))
	mux.Handle("GET /console/cis", s.show("cis", s.cisPage))
	mux.Handle("GET /console/cis/{id}", s.show("ci", s.ciPage))
	mux.Handle("GET /console/lifecycles", s.show("diagrams", s.diagramsPage))
	mux.Handle("GET /console/kpis", s.show("kpis", s.kpisPage))
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
	page, _, err := d.incidents.ListPage(r.Context(), incident.Filter{States: []incident.State{incident.StateNew, incident.StateInProgress,
		incident.StateOnHold}}, 200, "")
	var rows []queueRow
	for _, inc := range page {
		st, _ := d.sla.Status(r.Context(), inc.ID, time.Now())
		rows = append(rows, queueRow{ID: inc.ID.String(), Number: inc.Number, Title: inc.Title, State: string(inc.State),
			Group: inc.AssignmentGroup, Priority: int(inc.Priority), SLA: slaBars(st)})
	}
	return map[string]any{"Title": "Incidents", "Rows": rows}, err
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
	return map[string]any{"Title": inc.Number, "Inc": inc, "SLA": slaBars(st), "History": h,
		"Diagram": newDiagram("Incident", "incident", incident.Lifecycle(), inc.State)}, err
}

// incidentCommand runs an incident page's form on the version the page
// showed.
func (s *server) incidentCommand(r *http.Request, d *desk, id itil.ID, version int64) error {
	in := &commandInput{Group: r.FormValue("group"), Assignee: r.FormValue("assignee"), Reason: r.FormValue("reason"),
		Comment: r.FormValue("comment"), Code: "solution_provided", Notes: r.FormValue("notes")}
	run, ok := incidentCommands[r.PathValue("command")]
	if !ok {
		return itil.ErrNotFound
	}
	_, _, err := run(r.Context(), d.incidents.IfVersion(version), principalActor(r), id, in)
	return err
}

// changeDecision runs a change page's approve or reject form on the
// version the page showed.
func (s *server) changeDecision(r *http.Request, d *desk, id itil.ID, version int64) error {
	svc, actor, comment := d.changes.IfVersion(version), principalActor(r), r.FormValue("comment")
	var err error
	switch r.PathValue("command") {
	case "approve":
		_, err = svc.Approve(r.Context(), actor, id, comment)
	case "reject":
		_, err = svc.Reject(r.Context(), actor, id, comment)
	default:
		err = itil.ErrNotFound
	}
	return err
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
			version, _ := strconv.ParseInt(r.FormValue("version"), 10, 64)
			if err = do(r, d, id, version); err == nil {
				http.Redirect(w, r, base+id.String(), http.StatusSeeOther)
				return
			}
		}
		var data map[string]any
		if d != nil {
			data, _ = v(r, d)
		}
		s.renderError(w, page, data, err)
	})
}

// renderError shows err on page with data, or on the error page when
// there is no data to show, with the status the API would answer.
func (s *server) renderError(w http.ResponseWriter, page string, data map[string]any, err error) {
	if data == nil {
		page, data = "error", map[string]any{"Title": http.StatusText(httpapi.ProblemOf(err, false).Status)}
	}
	data["Nav"], data["Error"] = page, err.Error()
	w.WriteHeader(httpapi.ProblemOf(err, false).Status)
	s.render(w, page, data)
}

func (s *server) render(w http.ResponseWriter, page string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := consolePages[page].ExecuteTemplate(w, "layout", data); err != nil && s.log != nil {
		s.log.Error("console page", "page", page, "error", err)
	}
}
