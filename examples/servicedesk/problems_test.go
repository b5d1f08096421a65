package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestProblemRoutes: a problem manager opens a problem, links an
// incident and walks it into root cause analysis, listed by its state;
// its known error is published on the problem's ETag (428 without, 412
// on a stale one, neither writing); an agent may not touch problems.
func TestProblemRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent, pm := client{t, url, "agent-token"}, client{t, url, "problem-token"}
		resp, body := agent.do("POST", "/incidents", "", `{"title":"Mail stuck","caller":{"id":"c"},"channel":"phone","impact":2,"urgency":2}`)
		if resp.StatusCode != 201 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		incID := strings.TrimPrefix(resp.Header.Get("Location"), "/incidents/")
		if resp, body = agent.do("POST", "/problems", "", `{"title":"Relay queue stalls"}`); resp.StatusCode != 403 {
			t.Fatalf("an agent opens a problem: %d %s", resp.StatusCode, body)
		}
		resp, body = pm.do("POST", "/problems", "", `{"title":"Relay queue stalls","impact":2,"urgency":2}`)
		if resp.StatusCode != 201 {
			t.Fatalf("open: %d %s", resp.StatusCode, body)
		}
		loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		step := func(command, body string) {
			t.Helper()
			resp, got := pm.do("POST", loc+"/"+command, etag, body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", command, resp.StatusCode, got)
			}
			etag = resp.Header.Get("ETag")
		}
		step("link_incident", `{"incident_id":"`+incID+`"}`)
		step("assign", `{"group":"messaging","assignee":"ana"}`)
		step("assess", ``)
		step("confirm", ``)
		resp, body = pm.do("GET", loc+"/incidents", "", "")
		var incs []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &incs); err != nil || len(incs) != 1 || incs[0].ID != incID {
			t.Fatalf("the problem's incidents: %d %s", resp.StatusCode, body)
		}
		if resp, body = pm.do("POST", loc+"/nonsense", etag, ``); resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("an unknown command: %d %s", resp.StatusCode, body)
		}
		// The cause and the workaround found, the known error published
		// and found by a word of its symptom.
		resp, body = pm.do("PATCH", loc, etag, `{"workaround":"flush the spool","cause_notes":"the log rotation fills the spool"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("update: %d %s", resp.StatusCode, body)
		}
		stale := etag
		etag = resp.Header.Get("ETag")
		// Publishing is a command on the problem: on its ETag, refused
		// without one and on a stale one, neither writing a known error.
		ke := `{"symptom":"Mail stays in the outbox","domain":"application"}`
		pm.refusesStale("POST", loc+"/known_error", stale, ke, loc)
		if resp, body = agent.do("GET", "/known_errors?q=outbox", "", ""); resp.StatusCode != 200 || body != "[]\n" {
			t.Fatalf("a refused publication wrote: %d %s", resp.StatusCode, body)
		}
		resp, body = pm.do("POST", loc+"/known_error", etag, ke)
		if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` || !strings.HasPrefix(resp.Header.Get("Location"), "/known_errors/") {
			t.Fatalf("known error: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		keLoc := resp.Header.Get("Location")
		if resp, body = agent.do("GET", keLoc, "", ""); resp.StatusCode != 200 || resp.Header.Get("ETag") != `"1"` {
			t.Fatalf("the known error: %d %s", resp.StatusCode, body)
		}
		if resp, body = agent.do("GET", "/known_errors?q=outbox", "", ""); resp.StatusCode != 200 || !strings.Contains(body, "flush the spool") {
			t.Fatalf("search: %d %s", resp.StatusCode, body)
		}
		resp, body = pm.do("GET", loc, "", "")
		if !strings.Contains(body, `"known_error_id":"`+strings.TrimPrefix(keLoc, "/known_errors/")+`"`) || resp.Header.Get("ETag") == etag {
			t.Fatalf("the problem links its known error: %s %s (was %s)", resp.Header.Get("ETag"), body, etag)
		}
		if resp, body = pm.do("POST", loc+"/known_error", etag, ke); resp.StatusCode != 412 {
			t.Fatalf("a second publication on the ETag before the first: %d %s", resp.StatusCode, body)
		}
		resp, body = pm.do("GET", "/problems?state=root_cause_analysis", "", "")
		if !strings.Contains(body, "Relay queue stalls") {
			t.Fatalf("the list by state: %d %s (etag %s)", resp.StatusCode, body, strconv.Quote(etag))
		}
	})
}
