package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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
