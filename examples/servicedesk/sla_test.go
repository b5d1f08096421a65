package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
)

// TestSLARoutes: an admin defines a resolution SLA; an incident opened
// after it has a running timer, paused while the incident waits for its
// caller; the definition's compliance reads.
func TestSLARoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		admin, agent := client{t, url, "admin-token"}, client{t, url, "agent-token"}
		def, _ := json.Marshal(slm.StandardDefinition("Resolve P3 in 8 hours", incident.Kind, slm.SLA, slm.Resolution,
			slm.Target{Name: "8h", Duration: 8 * time.Hour}))
		if resp, got := agent.do("POST", "/sla/definitions", "", string(def)); resp.StatusCode != 403 {
			t.Fatalf("an agent defines an SLA: %d %s", resp.StatusCode, got)
		}
		resp, got := admin.do("POST", "/sla/definitions", "", string(def))
		if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` {
			t.Fatalf("define: %d %s", resp.StatusCode, got)
		}
		defLoc := resp.Header.Get("Location")
		resp, _ = agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
		loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		state := func() string {
			t.Helper()
			resp, got := agent.do("GET", loc+"/sla", "", "")
			var ts []struct {
				Timer struct {
					State string `json:"state"`
				} `json:"timer"`
			}
			if err := json.Unmarshal([]byte(got), &ts); err != nil || resp.StatusCode != 200 || len(ts) != 1 {
				t.Fatalf("timers: %d %s", resp.StatusCode, got)
			}
			return ts[0].Timer.State
		}
		if s := state(); s != string(slm.InProgress) {
			t.Fatalf("a new incident's timer is %s", s)
		}
		resp, got = agent.do("POST", loc+"/assign", etag, `{"group":"messaging","assignee":"mia"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("assign: %d %s", resp.StatusCode, got)
		}
		if resp, got = agent.do("POST", loc+"/hold", resp.Header.Get("ETag"), `{"reason":"awaiting_caller","comment":"which client?"}`); resp.StatusCode != 200 {
			t.Fatalf("hold: %d %s", resp.StatusCode, got)
		}
		if s := state(); s != string(slm.Paused) {
			t.Fatalf("on hold, the timer is %s", s)
		}
		now := time.Now().UTC()
		resp, got = admin.do("GET", defLoc+"/compliance?from="+now.Add(-time.Hour).Format(time.RFC3339)+"&to="+now.Add(time.Hour).Format(time.RFC3339), "", "")
		if resp.StatusCode != 200 || !strings.Contains(got, `"InProgress":1`) {
			t.Fatalf("compliance: %d %s", resp.StatusCode, got)
		}
	})
}

// TestSLARevise: a definition is revised by a PUT on its ETag (its
// version, the one Define checks): the next revision, 200; refused
// without If-Match (428) and on a stale one (412), neither writing. A
// POST carrying an id is refused (422 naming id); a PUT naming another
// id in its body, or an unknown definition, too.
func TestSLARevise(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		admin, agent := client{t, url, "admin-token"}, client{t, url, "agent-token"}
		def := slm.StandardDefinition("Resolve P3 in 8 hours", incident.Kind, slm.SLA, slm.Resolution, slm.Target{Name: "8h", Duration: 8 * time.Hour})
		b, _ := json.Marshal(def)
		resp, got := admin.do("POST", "/sla/definitions", "", string(b))
		var d slm.Definition
		if err := json.Unmarshal([]byte(got), &d); err != nil || resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` || d.Version != 1 {
			t.Fatalf("define: %d %s", resp.StatusCode, got)
		}
		loc := resp.Header.Get("Location")
		d.Name = "Resolve P3 in 6 hours"
		d.Targets[0] = slm.Target{Name: "6h", Duration: 6 * time.Hour}
		b, _ = json.Marshal(d)
		if resp, got = admin.do("POST", "/sla/definitions", "", string(b)); resp.StatusCode != 422 || !strings.Contains(got, `"id"`) ||
			!strings.Contains(got, "PUT") {
			t.Fatalf("a revision POSTed: %d %s", resp.StatusCode, got)
		}
		if resp, got = agent.do("PUT", loc, `"1"`, string(b)); resp.StatusCode != 403 {
			t.Fatalf("an agent revises an SLA: %d %s", resp.StatusCode, got)
		}
		resp, got = admin.do("PUT", loc, `"1"`, string(b))
		var rev slm.Definition
		if err := json.Unmarshal([]byte(got), &rev); err != nil || resp.StatusCode != 200 || rev.ID != d.ID || rev.Revision != 2 ||
			resp.Header.Get("ETag") != `"`+strconv.FormatInt(rev.Version, 10)+`"` || rev.Version != 2 || rev.Name != "Resolve P3 in 6 hours" {
			t.Fatalf("revise: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), got)
		}
		d.Name = "Resolve P3 in 4 hours"
		b, _ = json.Marshal(d) // still version 1: If-Match names the version, not the body
		admin.refusesStale("PUT", loc, `"1"`, string(b), loc)
		if resp, got = admin.do("PUT", loc, `"2"`, `{"id":"01a2513e-43a9-7ad5-bcc3-5520bbb128e2","name":"x"}`); resp.StatusCode != 422 || !strings.Contains(got, `"id"`) {
			t.Fatalf("a body naming another definition: %d %s", resp.StatusCode, got)
		}
		anon := d
		anon.ID = itil.NilID // the path names it
		nb, _ := json.Marshal(anon)
		if resp, got = admin.do("PUT", "/sla/definitions/01a2513e-43a9-7ad5-bcc3-5520bbb128e2", `"1"`, string(nb)); resp.StatusCode != 404 {
			t.Fatalf("an unknown definition: %d %s", resp.StatusCode, got)
		}
		if resp, got = admin.do("GET", loc, "", ""); resp.Header.Get("ETag") != `"2"` || !strings.Contains(got, `"name":"Resolve P3 in 6 hours"`) {
			t.Fatalf("a refused revision wrote: %s %s", resp.Header.Get("ETag"), got)
		}
		if resp, got = admin.do("PUT", loc, `"2"`, string(nb)); resp.StatusCode != 200 || resp.Header.Get("ETag") != `"3"` ||
			!strings.Contains(got, `"revision":3`) {
			t.Fatalf("revise on the ETag read: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), got)
		}
	})
}

// TestRecordTimersUnknown: an unknown incident's SLA timers are not
// found, not an empty list; a known incident without timers has [].
func TestRecordTimersUnknown(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent := client{t, url, "agent-token"}
		for _, path := range []string{"/incidents/01a2513e-43a9-7ad5-bcc3-5520bbb128e2/sla", "/incidents/nope/sla"} {
			if resp, got := agent.do("GET", path, "", ""); resp.StatusCode != 404 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, got)
			}
		}
		resp, _ := agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
		if resp, got := agent.do("GET", resp.Header.Get("Location")+"/sla", "", ""); resp.StatusCode != 200 || got != "[]\n" {
			t.Fatalf("an incident without timers: %d %q", resp.StatusCode, got)
		}
	})
}
