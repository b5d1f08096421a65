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

var consolePages = map[string]*template.Template{
	"incidents": template.Must(template.ParseFS(consoleFS, "console/layout.html", "console/incidents.html")),
	"incident":  template.Must(template.ParseFS(consoleFS, "console/layout.html", "console/incident.html")),
	"login":     template.Must(template.New("login").Parse(loginPage)),
}

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
	mux.Handle("GET /console/incidents", s.signedIn(s.consoleQueue))
	mux.Handle("GET /console/incidents/{id}", s.signedIn(s.consoleIncident))
	mux.Handle("POST /console/incidents/{id}/{command}", s.signedIn(s.consoleCommand))
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

func (s *server) consoleQueue(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.render(w, "incidents", map[string]any{"Title": "Incidents", "Error": err.Error()})
		return
	}
	page, _, err := d.incidents.ListPage(r.Context(), incident.Filter{States: []incident.State{incident.StateNew, incident.StateInProgress,
		incident.StateOnHold}}, 200, "")
	data := map[string]any{"Title": "Incidents"}
	if err != nil {
		data["Error"] = err.Error()
	}
	var rows []queueRow
	for _, inc := range page {
		st, _ := d.sla.Status(r.Context(), inc.ID, time.Now())
		rows = append(rows, queueRow{ID: inc.ID.String(), Number: inc.Number, Title: inc.Title, State: string(inc.State),
			Group: inc.AssignmentGroup, Priority: int(inc.Priority), SLA: slaBars(st)})
	}
	data["Rows"] = rows
	s.render(w, "incidents", data)
}

func (s *server) consoleIncident(w http.ResponseWriter, r *http.Request) {
	s.showIncident(w, r, "")
}

func (s *server) showIncident(w http.ResponseWriter, r *http.Request, problem string) {
	d, err := s.deskOf(r)
	if err == nil {
		var id itil.ID
		if id, err = pathID(r); err == nil {
			var inc *incident.Incident
			if inc, err = d.incidents.Get(r.Context(), id); err == nil {
				st, _ := d.sla.Status(r.Context(), id, time.Now())
				h, _ := d.incidents.History(r.Context(), id)
				s.render(w, "incident", map[string]any{"Title": inc.Number, "Inc": inc, "SLA": slaBars(st), "History": h, "Error": problem})
				return
			}
		}
	}
	w.WriteHeader(httpapi.ProblemOf(err, false).Status)
	s.render(w, "incidents", map[string]any{"Title": "Incidents", "Error": err.Error()})
}

// consoleCommand runs a form's command on the version the page showed,
// then shows the incident again (after a redirect, so a reload does not
// repeat it), or the page with what went wrong.
func (s *server) consoleCommand(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.showIncident(w, r, err.Error())
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.showIncident(w, r, err.Error())
		return
	}
	version, _ := strconv.ParseInt(r.FormValue("version"), 10, 64)
	in := &commandInput{Group: r.FormValue("group"), Assignee: r.FormValue("assignee"), Reason: r.FormValue("reason"),
		Comment: r.FormValue("comment"), Code: "solution_provided", Notes: r.FormValue("notes")}
	run, ok := incidentCommands[r.PathValue("command")]
	if !ok {
		s.showIncident(w, r, "no such command")
		return
	}
	if _, _, err := run(r.Context(), d.incidents.IfVersion(version), principalActor(r), id, in); err != nil {
		s.showIncident(w, r, err.Error())
		return
	}
	http.Redirect(w, r, "/console/incidents/"+id.String(), http.StatusSeeOther)
}

func (s *server) render(w http.ResponseWriter, page string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := consolePages[page].ExecuteTemplate(w, "layout", data); err != nil && s.log != nil {
		s.log.Error("console page", "page", page, "error", err)
	}
}
