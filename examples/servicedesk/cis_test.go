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
