package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestChangeRoutes: a change manager opens a normal change and moves it
// to assessment; the change calendar holds it in its planned window, its
// approvals and conflicts read; a CAB member may not open changes, nor an
// agent move them.
func TestChangeRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, cab, agent := client{t, url, "change-token"}, client{t, url, "cab-token"}, client{t, url, "agent-token"}
		start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour)
		body := `{"title":"Patch the mail relay","implementation":"apt upgrade","backout":"apt rollback","impact":2,"assignment_group":"messaging",` +
			`"planned_start":"` + start.Format(time.RFC3339) + `","planned_end":"` + start.Add(2*time.Hour).Format(time.RFC3339) + `"}`
		if resp, got := cab.do("POST", "/changes", "", body); resp.StatusCode != 403 {
			t.Fatalf("a CAB member opens a change: %d %s", resp.StatusCode, got)
		}
		resp, got := cm.do("POST", "/changes", "", body)
		if resp.StatusCode != 201 {
			t.Fatalf("open: %d %s", resp.StatusCode, got)
		}
		loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		if resp, got = agent.do("POST", loc+"/assess", etag, ``); resp.StatusCode != 403 {
			t.Fatalf("an agent moves a change: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("POST", loc+"/assess", etag, ``); resp.StatusCode != 200 || !strings.Contains(got, `"state":"assess"`) {
			t.Fatalf("assess: %d %s", resp.StatusCode, got)
		}
		for _, sub := range []string{"/approvals", "/conflicts"} {
			if resp, got = cm.do("GET", loc+sub, "", ""); resp.StatusCode != 200 || !strings.HasPrefix(got, "[") {
				t.Fatalf("%s: %d %s", sub, resp.StatusCode, got)
			}
		}
		resp, got = cm.do("GET", "/changes/calendar?from="+start.Add(-time.Hour).Format(time.RFC3339)+"&to="+start.Add(time.Hour).Format(time.RFC3339), "", "")
		var cal []struct {
			Title string `json:"title"`
		}
		if err := json.Unmarshal([]byte(got), &cal); err != nil || resp.StatusCode != 200 || len(cal) != 1 || cal[0].Title != "Patch the mail relay" {
			t.Fatalf("calendar: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("GET", "/changes/calendar?from=yesterday", "", ""); resp.StatusCode != 422 {
			t.Fatalf("a bad time: %d %s", resp.StatusCode, got)
		}
	})
}
