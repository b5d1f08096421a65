package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
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
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		get := func(path string) string {
			t.Helper()
			resp, err := browser.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
			}
			return string(b)
		}
		if page := get("/console/incidents"); !strings.Contains(page, `<input id="token"`) {
			t.Fatalf("not signed in, not sent to sign in: %s", page)
		}
		if _, err := browser.PostForm(base+"/console/login", url.Values{"token": {"agent-token"}}); err != nil {
			t.Fatal(err)
		}
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
		if page := act("resolve", url.Values{"notes": {"restarted the relay"}}); !strings.Contains(page, `data-sla-state="completed"`) ||
			!strings.Contains(page, ": met") {
			t.Fatalf("resolved: %s", page)
		}
	})
}
