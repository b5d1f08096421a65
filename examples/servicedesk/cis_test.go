package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCIRoutes: a business service that depends on an application that
// runs on a server; the server's impact reaches the service, the
// service's dependencies reach the server; an agent may not register CIs.
func TestCIRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, agent := client{t, url, "change-token"}, client{t, url, "agent-token"}
		create := func(class, name string) string {
			t.Helper()
			resp, got := cm.do("POST", "/cis", "", `{"class":"`+class+`","name":"`+name+`","state":"operational"}`)
			if resp.StatusCode != 201 {
				t.Fatalf("%s: %d %s", name, resp.StatusCode, got)
			}
			return strings.TrimPrefix(resp.Header.Get("Location"), "/cis/")
		}
		if resp, got := agent.do("POST", "/cis", "", `{"class":"linux_server","name":"mx1"}`); resp.StatusCode != 403 {
			t.Fatalf("an agent registers a CI: %d %s", resp.StatusCode, got)
		}
		svc, app, host := create("business_service", "Mail"), create("application", "mail-app"), create("linux_server", "mx1")
		for _, rel := range [][3]string{{"depends_on", svc, app}, {"runs_on", app, host}} {
			if resp, got := cm.do("POST", "/relationships", "", `{"type":"`+rel[0]+`","parent":"`+rel[1]+`","child":"`+rel[2]+`"}`); resp.StatusCode != 201 {
				t.Fatalf("%v: %d %s", rel, resp.StatusCode, got)
			}
		}
		affected := func(path string) []string {
			t.Helper()
			resp, got := agent.do("GET", path, "", "")
			var res struct {
				Affected []struct {
					ID string `json:"ci"`
				} `json:"affected"`
			}
			if err := json.Unmarshal([]byte(got), &res); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, got)
			}
			var ids []string
			for _, a := range res.Affected {
				ids = append(ids, a.ID)
			}
			return ids
		}
		if got := affected("/cis/" + host + "/impact"); len(got) != 2 || got[1] != svc {
			t.Fatalf("the server's impact: %v (service %s)", got, svc)
		}
		if got := affected("/cis/" + svc + "/impact?direction=downstream&depth=1"); len(got) != 1 || got[0] != app {
			t.Fatalf("the service's first dependency: %v", got)
		}
		if resp, got := agent.do("GET", "/cis/"+svc+"/impact?direction=sideways", "", ""); resp.StatusCode != 422 {
			t.Fatalf("a bad direction: %d %s", resp.StatusCode, got)
		}
		resp, got := agent.do("GET", "/cis/"+app+"/relationships", "", "")
		if resp.StatusCode != 200 || strings.Count(got, `"type"`) != 2 {
			t.Fatalf("the application's relationships: %d %s", resp.StatusCode, got)
		}
	})
}

// TestCIUpdate: a CI's fields are changed on its ETag; refused without
// If-Match (428) and on a stale one (412), neither writing; an agent may
// not. A relationship is removed by its ID without If-Match (it never
// changes, and cmdb checks no version on removal): 204, then gone, then
// not found; an agent may not remove one.
func TestCIUpdate(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, agent := client{t, url, "change-token"}, client{t, url, "agent-token"}
		ids := map[string]string{}
		for _, ci := range [][2]string{{"application", "mail-app"}, {"linux_server", "mx1"}} {
			resp, got := cm.do("POST", "/cis", "", `{"class":"`+ci[0]+`","name":"`+ci[1]+`","state":"operational"}`)
			if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` {
				t.Fatalf("%s: %d %s", ci[1], resp.StatusCode, got)
			}
			ids[ci[1]] = resp.Header.Get("Location")
		}
		host := ids["mx1"]
		resp, got := cm.do("PATCH", host, `"1"`, `{"name":"mx1.example.org","owner":"mia","support_group":"messaging"}`)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` || !strings.Contains(got, `"name":"mx1.example.org"`) ||
			!strings.Contains(got, `"support_group":"messaging"`) {
			t.Fatalf("update: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), got)
		}
		cm.refusesStale("PATCH", host, `"1"`, `{"owner":"max"}`, host)
		if resp, got = agent.do("PATCH", host, `"2"`, `{"owner":"ann"}`); resp.StatusCode != 403 {
			t.Fatalf("an agent updates a CI: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("PATCH", "/cis/01a2513e-43a9-7ad5-bcc3-5520bbb128e2", `"1"`, `{"owner":"x"}`); resp.StatusCode != 404 {
			t.Fatalf("an unknown CI: %d", resp.StatusCode)
		}
		if resp, got = cm.do("GET", host, "", ""); resp.Header.Get("ETag") != `"2"` || !strings.Contains(got, `"owner":"mia"`) {
			t.Fatalf("a refused update wrote: %s %s", resp.Header.Get("ETag"), got)
		}

		app, srv := strings.TrimPrefix(ids["mail-app"], "/cis/"), strings.TrimPrefix(host, "/cis/")
		resp, got = cm.do("POST", "/relationships", "", `{"type":"runs_on","parent":"`+app+`","child":"`+srv+`"}`)
		var rel struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(got), &rel); err != nil || resp.StatusCode != 201 {
			t.Fatalf("relate: %d %s", resp.StatusCode, got)
		}
		count := func() int {
			t.Helper()
			resp, got := cm.do("GET", host+"/relationships", "", "")
			if resp.StatusCode != 200 {
				t.Fatalf("relationships: %d %s", resp.StatusCode, got)
			}
			return strings.Count(got, `"type"`)
		}
		if resp, got = agent.do("DELETE", "/relationships/"+rel.ID, "", ""); resp.StatusCode != 403 || count() != 1 {
			t.Fatalf("an agent removes a relationship: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("DELETE", "/relationships/"+rel.ID, "", ""); resp.StatusCode != 204 || got != "" || count() != 0 {
			t.Fatalf("unrelate: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("DELETE", "/relationships/"+rel.ID, "", ""); resp.StatusCode != 404 {
			t.Fatalf("a relationship removed twice: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("DELETE", "/relationships/nope", "", ""); resp.StatusCode != 404 {
			t.Fatalf("no ID: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("GET", host, "", ""); resp.Header.Get("ETag") != `"2"` {
			t.Fatalf("unrelating changed the CI: %s", resp.Header.Get("ETag"))
		}
	})
}
