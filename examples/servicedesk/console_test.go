package main

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/sqlite"
)

// TestConsole: a browser signs in, sees the queue with the incident and
// its SLA clock, puts the incident on hold from its page (the clock shows
// paused), resumes and resolves it (the clock shows met).
func TestConsole(t *testing.T) {
	each(t, func(t *testing.T, base string) {
		admin, agent := client{t, base, "admin-token"}, client{t, base, "agent-token"}
		def, _ := json.Marshal(slm.StandardDefinition("Resolve in 8 hours", incident.Kind, slm.SLA, slm.Resolution,
			slm.Target{Name: "8h", Duration: 8 * time.Hour}))
		admin.do("POST", "/sla/definitions", "", string(def))
		resp, _ := agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
		id := strings.TrimPrefix(resp.Header.Get("Location"), "/incidents/")
		browser, get := signIn(t, base, "agent-token")
		queue := get("/console/incidents")
		if !strings.Contains(queue, "INC0001001") || !strings.Contains(queue, `data-sla-state="in_progress"`) {
			t.Fatalf("the queue: %s", queue)
		}
		act := func(command string, form url.Values) string {
			t.Helper()
			page := get("/console/incidents/" + id)
			i := strings.Index(page, `name="version" value="`) + len(`name="version" value="`)
			form.Set("version", page[i:strings.Index(page[i:], `"`)+i])
			resp, err := browser.PostForm(base+"/console/incidents/"+id+"/"+command, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if strings.Contains(string(b), `role="alert"`) {
				t.Fatalf("%s: %s", command, b)
			}
			return string(b)
		}
		act("assign", url.Values{"group": {"messaging"}, "assignee": {"mia"}})
		if page := act("hold", url.Values{"reason": {"awaiting_caller"}, "comment": {"Which client do you use?"}}); !strings.Contains(page, `data-sla-state="paused"`) ||
			!strings.Contains(page, ">on_hold<") {
			t.Fatalf("on hold: %s", page)
		}
		act("resume", url.Values{})
		if page := act("resolve", url.Values{"code": {"solution_provided"}, "notes": {"restarted the relay"}}); !strings.Contains(page, `data-sla-state="completed"`) ||
			!strings.Contains(page, ": met") {
			t.Fatalf("resolved: %s", page)
		}
	})
}

// signIn signs in to the console at base with token, as a browser does:
// the page asks first, the form's answer sets the cookie. get reads a
// page and fails the test unless it answers 200.
func signIn(t *testing.T, base, token string) (*http.Client, func(path string) string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		status, page := fetch(t, browser, base+path)
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, page)
		}
		return page
	}
	if page := get("/console/incidents"); !strings.Contains(page, `<input id="token"`) {
		t.Fatalf("not signed in, not sent to sign in: %s", page)
	}
	if _, err := browser.PostForm(base+"/console/login", url.Values{"token": {token}}); err != nil {
		t.Fatal(err)
	}
	return browser, get
}

func fetch(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestConsolePages reads every console page on the demo records, on
// memory and SQLite: the problem with its incidents and known error, the
// change with its approvals, conflicts and place in its lifecycle, the
// calendar, a CI's impact graph, the lifecycles and the KPIs; a CAB
// group's engineer approves from the change page, an agent may not (403); bad parameters and unknown records answer 422 and 404.
func TestConsolePages(t *testing.T) {
	eachBackend(t, func(t *testing.T, b storage.Backend) {
		srv := newServer(b, nil, httpapi.StaticTokens(demoTokens), roles)
		srv.pageSize = 4
		if err := srv.seedDemo(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := srv.seedDemo(t.Context()); err != nil { // seeded once
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.routes())
		defer ts.Close()
		browser, get := signIn(t, ts.URL, "agent-token")
		link := func(page, prefix string) string {
			t.Helper()
			i := strings.Index(page, `href="`+prefix)
			if i < 0 {
				t.Fatalf("no link to %s in %s", prefix, page)
			}
			i += len(`href="`)
			return page[i : i+strings.Index(page[i:], `"`)]
		}
		has := func(page string, want ...string) {
			t.Helper()
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Fatalf("the page lacks %q: %s", w, page)
				}
			}
		}
		if page := get("/console/"); !strings.Contains(page, "Incident queue") {
			t.Fatalf("/console/ does not lead to the queue: %s", page)
		}
		resp, err := http.PostForm(ts.URL+"/console/login", url.Values{"token": {"no-such-token"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), "not known") || len(resp.Cookies()) > 0 {
			t.Fatalf("a bad token signs in: %d %s", resp.StatusCode, body)
		}
		if q := get("/console/incidents"); strings.Count(q, `href="/console/incidents/`) != 4 {
			t.Fatalf("the queue does not list the 4 incidents: %s", q)
		}
		has(get("/console/problems"), "PRB0001001", "Relay queue stalls under load")
		has(get(link(get("/console/problems"), "/console/problems/")), "Mail stuck in the outbox", "Mail arrives hours late",
			"Mail stays in the outbox", "Log rotation fills the spool")
		changes := get("/console/changes")
		has(changes, "CHG0001001", "CHG0001002", "CHG0001003")
		chg := link(changes, "/console/changes/")
		page := get(chg)
		has(page, `data-state="assess"`, `<g class="node mark">`, ">max<", "requested", "ci_scheduled", "CHG0001002", "service_affected: with CHG0001002 on Webmail")
		has(get("/console/calendar"), "Rotate the relay", "Patch mx1 and mx2")
		has(get("/console/calendar?from=2020-01-06&days=7"), "No change is planned")
		// Long lists a page at a time: the six CIs, four at a time.
		first := get("/console/cis")
		if strings.Count(first, `href="/console/cis/`) != 4 || !strings.Contains(first, `rel="next"`) {
			t.Fatalf("the first page of CIs: %s", first)
		}
		rest := get("/console/cis" + strings.ReplaceAll(link(first, "?cursor="), "&amp;", "&"))
		if strings.Count(rest, `href="/console/cis/`) != 2 || strings.Contains(rest, `rel="next"`) {
			t.Fatalf("the second page of CIs: %s", rest)
		}
		cis := first + rest
		has(get(link(cis[strings.Index(cis, ">mx1<")-80:], "/console/cis/")), `<svg`, "mail-relay", "Webmail", "Runs")
		has(get("/console/lifecycles"), "Incident lifecycle", "Change (emergency) lifecycle", "Improvement initiative lifecycle", "reanalyze")
		has(get("/console/kpis"), "time_to_resolve", "sla_compliance", "backlog")
		for path, want := range map[string]int{
			"/console/kpis?weeks=0":                       422,
			"/console/calendar?from=soon":                 422,
			"/console/incidents/" + itil.NewID().String(): 404,
			"/console/changes/not-an-id":                  404,
		} {
			if status, page := fetch(t, browser, ts.URL+path); status != want || !strings.Contains(page, `role="alert"`) || strings.Contains(page, "<h1>: ") {
				t.Errorf("%s: %d, want %d with the error shown: %s", path, status, want, page)
			}
		}
		// The agent may not approve; the CAB member may.
		version := func(page string) string {
			i := strings.Index(page, `name="version" value="`) + len(`name="version" value="`)
			return page[i : i+strings.Index(page[i:], `"`)]
		}
		resp, err = browser.PostForm(ts.URL+chg+"/approve", url.Values{"version": {version(page)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("an agent approves: %d", resp.StatusCode)
		}
		engineer, getAsEngineer := signIn(t, ts.URL, "max-token")
		// A form without its version runs nothing (428); one naming a
		// version gone by is stale (412); a post from another site is
		// refused (403) before it runs.
		for _, c := range []struct {
			form   url.Values
			header http.Header
			want   int
		}{
			{url.Values{"comment": {"no version"}}, nil, 428},
			{url.Values{"version": {"1"}}, nil, 412},
			{url.Values{"version": {"x"}}, nil, 412},
			{url.Values{"version": {version(page)}}, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, 403},
		} {
			req, _ := http.NewRequest("POST", ts.URL+chg+"/approve", strings.NewReader(c.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			maps.Copy(req.Header, c.header)
			resp, err := engineer.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("approve with %v %v: %d, want %d", c.form, c.header, resp.StatusCode, c.want)
			}
		}
		if page := get(chg); !strings.Contains(page, ">requested<") || strings.Contains(page, ">approved<") {
			t.Fatalf("a refused form changed the change: %s", page)
		}
		resp, err = engineer.PostForm(ts.URL+chg+"/approve", url.Values{"version": {version(page)}, "comment": {"fine by messaging"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		page = getAsEngineer(chg) // after the redirect
		has(page, "fine by messaging", ">approved<")
		if resp.StatusCode != 200 || strings.Contains(page, `role="alert"`) {
			t.Fatalf("the engineer approves: %d %s", resp.StatusCode, page)
		}
		// Signing out ends the session: the pages ask to sign in again.
		if _, err := engineer.PostForm(ts.URL+"/console/logout", nil); err != nil {
			t.Fatal(err)
		}
		if status, page := fetch(t, engineer, ts.URL+"/console/incidents"); status != 200 || !strings.Contains(page, `<input id="token"`) {
			t.Fatalf("after signing out: %d %s", status, page)
		}
		// An internal error shows no internals (the store closed here).
		b.Close()
		if status, page := fetch(t, browser, ts.URL+"/console/incidents"); status != 500 || strings.Contains(page, "closed") {
			t.Errorf("an internal error: %d %s", status, page)
		}
	})
}

// TestSeedOnce: two instances starting together on one store (two
// backends on one SQLite file) seed the demo tenant once between them,
// and again never.
func TestSeedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "desk.db")
	var servers []*server
	for range 2 {
		b, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		servers = append(servers, newServer(b, nil, httpapi.StaticTokens(demoTokens), roles))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers {
		wg.Go(func() { errs[i] = s.seedDemo(t.Context()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := servers[0].seedDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := demoTokens["admin-token"]
	d, err := servers[1].desk(admin.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	all, err := collect(d.incidents.List(httpapi.WithPrincipal(t.Context(), &admin), incident.Filter{}))
	if err != nil || len(all) != 4 {
		t.Fatalf("%d incidents after two instances seeded: %v", len(all), err)
	}
}
