package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestPortfolioRoutes: a service proposed, taken through the pipeline to
// its charter (the charter refused before the business case is
// approved), listed by phase, its lifecycle through the design gate and
// refused at the transition gate; an improvement initiative raised on it and
// accepted; the KPIs of the incidents opened and resolved read.
func TestPortfolioRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		admin, agent := client{t, url, "admin-token"}, client{t, url, "agent-token"}
		resp, got := admin.do("POST", "/portfolio", "", `{"name":"Corporate mail","type":"business","owner":"olga","business_case":`+
			`{"expected_outcomes":["staff reach customers by mail"],"expected_value":{"amount":"900000","currency":"EUR"},"expected_cost":{"amount":"300000","currency":"EUR"}}}`)
		if resp.StatusCode != 201 {
			t.Fatalf("propose: %d %s", resp.StatusCode, got)
		}
		loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		step := func(command string, want int) {
			t.Helper()
			resp, got := admin.do("POST", loc+"/"+command, etag, `{"reason":"board decision"}`)
			if resp.StatusCode != want {
				t.Fatalf("%s: %d %s", command, resp.StatusCode, got)
			}
			if want == 200 {
				etag = resp.Header.Get("ETag")
			}
		}
		step("define", 200)
		step("analyse", 200)
		step("approve", 200)
		step("charter", 422)
		step("approve_business_case", 200)
		step("charter", 200)
		// An offering, published once the service is in the catalogue; a
		// customer subscribes, and is entitled to it.
		resp, got = admin.do("POST", loc+"/offerings", "", `{"name":"Standard mailbox","utility":["send and receive mail"],`+
			`"pricing":{"model":"per_unit","unit":"mailbox","currency":"EUR","price":"4.50"}}`)
		if resp.StatusCode != 201 {
			t.Fatalf("add an offering: %d %s", resp.StatusCode, got)
		}
		offering, oetag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		if resp, got = agent.do("GET", loc+"/offerings", "", ""); resp.StatusCode != 200 || !strings.Contains(got, "Standard mailbox") {
			t.Fatalf("the offerings: %d %s", resp.StatusCode, got)
		}
		resp, got = agent.do("GET", "/portfolio?phase=pipeline&status=chartered", "", "")
		if resp.StatusCode != 200 || !strings.Contains(got, "Corporate mail") {
			t.Fatalf("the pipeline: %d %s", resp.StatusCode, got)
		}
		entryID := strings.TrimPrefix(loc, "/portfolio/")
		step("design", 200) // into the catalogue: the offering may be published
		if resp, got = admin.do("POST", offering+"/publish", `"9"`, ``); resp.StatusCode != 412 {
			t.Fatalf("publish on a stale If-Match: %d %s", resp.StatusCode, got)
		}
		if resp, got = admin.do("POST", offering+"/publish", oetag, ``); resp.StatusCode != 200 {
			t.Fatalf("publish: %d %s", resp.StatusCode, got)
		}
		if resp, got = admin.do("POST", offering+"/subscriptions", "", `{"customer":"acme","quantity":"120"}`); resp.StatusCode != 201 {
			t.Fatalf("subscribe: %d %s", resp.StatusCode, got)
		}
		if resp, got = agent.do("GET", "/customers/acme/entitlements", "", ""); resp.StatusCode != 200 || !strings.Contains(got, "Standard mailbox") {
			t.Fatalf("entitlements: %d %s", resp.StatusCode, got)
		}
		// Its lifecycle: the design gate passes (chartered), the
		// transition gate lists what is missing.
		resp, got = admin.do("POST", "/lifecycles", "", `{"entry_id":"`+entryID+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("open the lifecycle: %d %s", resp.StatusCode, got)
		}
		lc := resp.Header.Get("Location")
		if resp, got = agent.do("GET", lc+"/gates/design", "", ""); resp.StatusCode != 200 || strings.Contains(got, `"passed":false`) {
			t.Fatalf("the design gate: %d %s", resp.StatusCode, got)
		}
		if resp, got = admin.do("POST", lc+"/design", `"1"`, ``); resp.StatusCode != 200 || !strings.Contains(got, `"stage":"design"`) {
			t.Fatalf("design: %d %s", resp.StatusCode, got)
		}
		if resp, got = agent.do("GET", lc+"/gates/transition", "", ""); resp.StatusCode != 200 || !strings.Contains(got, `"design_package"`) {
			t.Fatalf("the transition gate: %d %s", resp.StatusCode, got)
		}
		if resp, got = admin.do("POST", lc+"/transition", `"2"`, ``); resp.StatusCode != 409 {
			t.Fatalf("a failed gate without override: %d %s", resp.StatusCode, got)
		}
		review := time.Now().UTC().AddDate(0, 2, 0).Format(time.RFC3339)
		resp, got = admin.do("POST", "/initiatives", "", `{"title":"Resolve mail incidents faster","entry_id":"`+entryID+`","priority":2,"effort":"M",`+
			`"type":"process","kpi":"time_to_resolve","base":"8","target":"4","review_date":"`+review+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("raise: %d %s", resp.StatusCode, got)
		}
		xloc := resp.Header.Get("Location")
		xetag := resp.Header.Get("ETag")
		if resp, got = admin.do("POST", xloc+"/accept", `"9"`, ``); resp.StatusCode != 412 {
			t.Fatalf("accept on a stale If-Match: %d %s", resp.StatusCode, got)
		}
		if resp, got = admin.do("POST", xloc+"/accept", xetag, ``); resp.StatusCode != 200 || !strings.Contains(got, `"state":"accepted"`) {
			t.Fatalf("accept: %d %s", resp.StatusCode, got)
		}
		if resp, got = agent.do("GET", "/initiatives?entry_id="+entryID, "", ""); resp.StatusCode != 200 || !strings.Contains(got, "CSI0001001") {
			t.Fatalf("the register: %d %s", resp.StatusCode, got)
		}
		resp, _ = agent.do("POST", "/incidents", "", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
		inc, ietag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		resp, _ = agent.do("POST", inc+"/assign", ietag, `{"group":"messaging","assignee":"mia"}`)
		agent.do("POST", inc+"/resolve", resp.Header.Get("ETag"), `{"code":"solution_provided","notes":"restarted"}`)
		now := time.Now().UTC()
		resp, got = agent.do("GET", "/kpis?every=day&from="+now.Add(-time.Hour).Format(time.RFC3339)+"&to="+now.Add(time.Hour).Format(time.RFC3339), "", "")
		var points []struct {
			KPI   string `json:"kpi"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal([]byte(got), &points); err != nil || resp.StatusCode != 200 {
			t.Fatalf("KPIs: %d %s", resp.StatusCode, got)
		}
		resolved := 0
		for _, p := range points {
			if p.KPI == "time_to_resolve" {
				resolved += p.Count
			}
		}
		if resolved != 1 {
			t.Fatalf("KPIs: %s", got)
		}
	})
}
