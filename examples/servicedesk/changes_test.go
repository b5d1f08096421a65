package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/itilkit/itil/change"
)

// TestChangeRoutes: a change manager opens a normal change and moves it
// to assessment; the change calendar holds it in its planned window, its
// approvals and conflicts read; a CAB member may not open changes, nor an
// agent move them.
func TestChangeRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, cab, agent := client{t, url, "change-token"}, client{t, url, "cab-token"}, client{t, url, "agent-token"}
		start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour)
		body := `{"title":"Patch the mail relay","implementation_plan":"apt upgrade","backout_plan":"apt rollback","impact":2,"assignment_group":"messaging",` +
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

// TestChangeTasks: an emergency change authorized by the emergency CAB,
// scheduled and implemented gets its tasks; a task is started and closed
// on its own ETag (its version, not the change's), refused without one
// (428) and on a stale one (412, and nothing written); an agent may not
// work on it; an unknown task or change is not found.
func TestChangeTasks(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, cab, agent := client{t, url, "change-token"}, client{t, url, "cab-token"}, client{t, url, "agent-token"}
		start := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
		resp, got := cm.do("POST", "/changes", "", `{"model":"emergency","title":"Restore the mail relay","implementation_plan":"swap the disk",`+
			`"backout_plan":"swap it back","impact":1,"assignment_group":"messaging","planned_start":"`+start.Format(time.RFC3339)+
			`","planned_end":"`+start.Add(time.Hour).Format(time.RFC3339)+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("open: %d %s", resp.StatusCode, got)
		}
		loc, etag := resp.Header.Get("Location"), resp.Header.Get("ETag")
		for _, step := range []struct {
			who  client
			path string
		}{{cm, "/authorize"}, {cab, "/approve"}, {cm, "/schedule"}, {cm, "/implement"}} {
			if resp, got = step.who.do("POST", loc+step.path, etag, `{"comment":"go"}`); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", step.path, resp.StatusCode, got)
			}
			etag = resp.Header.Get("ETag")
		}
		if !strings.Contains(got, `"state":"implement"`) {
			t.Fatalf("implement: %s", got)
		}
		tasks := func() []change.Task {
			t.Helper()
			resp, got := agent.do("GET", loc+"/tasks", "", "")
			var ts []change.Task
			if err := json.Unmarshal([]byte(got), &ts); err != nil || resp.StatusCode != 200 {
				t.Fatalf("tasks: %d %s %v", resp.StatusCode, got, err)
			}
			return ts
		}
		ts := tasks()
		if len(ts) != 2 || ts[0].Type != change.TaskImplement || ts[0].State != change.TaskOpen || ts[0].Version != 1 {
			t.Fatalf("tasks: %+v", ts)
		}
		task := "/tasks/" + ts[0].ID.String()
		if resp, _ = cm.do("POST", task+"/start", "", ``); resp.StatusCode != 428 {
			t.Fatalf("a task command without If-Match: %d", resp.StatusCode)
		}
		if resp, got = agent.do("POST", task+"/start", `"1"`, ``); resp.StatusCode != 403 {
			t.Fatalf("an agent starts a change task: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("POST", task+"/start", etag, ``); resp.StatusCode != 412 {
			t.Fatalf("a task started on the change's ETag %s: %d %s", etag, resp.StatusCode, got)
		}
		if resp, got = cm.do("POST", task+"/start", `"1"`, ``); resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` ||
			!strings.Contains(got, `"state":"in_progress"`) {
			t.Fatalf("start: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), got)
		}
		if resp, got = cm.do("POST", task+"/close", `"1"`, `{"notes":"disk swapped"}`); resp.StatusCode != 412 {
			t.Fatalf("a stale If-Match: %d %s", resp.StatusCode, got)
		}
		if ts = tasks(); ts[0].State != change.TaskInProgress || ts[0].Version != 2 {
			t.Fatalf("a refused close wrote: %+v", ts[0])
		}
		if resp, got = cm.do("POST", task+"/close", `"2"`, `{}`); resp.StatusCode != 422 || !strings.Contains(got, `"close_notes"`) {
			t.Fatalf("a close without notes: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("POST", task+"/close", `"2"`, `{"notes":"disk swapped"}`); resp.StatusCode != 200 || resp.Header.Get("ETag") != `"3"` ||
			!strings.Contains(got, `"state":"closed"`) {
			t.Fatalf("close: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("POST", "/tasks/"+ts[1].ID.String()+"/cancel", `"1"`, `{"reason":"tested with the swap"}`); resp.StatusCode != 200 ||
			!strings.Contains(got, `"state":"canceled"`) {
			t.Fatalf("cancel: %d %s", resp.StatusCode, got)
		}
		var ch change.Change
		if resp, got = cm.do("GET", loc, "", ""); json.Unmarshal([]byte(got), &ch) != nil || ch.ActualStart.IsZero() || ch.ActualEnd.IsZero() {
			t.Fatalf("the change's actual times from its tasks: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("POST", "/tasks/01a2513e-43a9-7ad5-bcc3-5520bbb128e2/start", `"1"`, ``); resp.StatusCode != 404 {
			t.Fatalf("an unknown task: %d", resp.StatusCode)
		}
		if resp, _ = cm.do("GET", "/changes/01a2513e-43a9-7ad5-bcc3-5520bbb128e2/tasks", "", ""); resp.StatusCode != 404 {
			t.Fatalf("an unknown change's tasks: %d", resp.StatusCode)
		}
	})
}

// TestChangeUpdate: a change's plans and planned times are changed on
// its ETag, by the change's own field names; refused without If-Match
// (428) and on a stale one (412), neither writing; an agent may not, and
// an unknown change is not found.
func TestChangeUpdate(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, agent := client{t, url, "change-token"}, client{t, url, "agent-token"}
		start := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Hour)
		resp, got := cm.do("POST", "/changes", "", `{"title":"Patch the mail relay","implementation_plan":"apt upgrade","backout_plan":"apt rollback","impact":2,`+
			`"assignment_group":"messaging","planned_start":"`+start.Format(time.RFC3339)+`","planned_end":"`+start.Add(2*time.Hour).Format(time.RFC3339)+`"}`)
		if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` {
			t.Fatalf("open: %d %s", resp.StatusCode, got)
		}
		loc := resp.Header.Get("Location")
		end := start.Add(3 * time.Hour)
		resp, got = cm.do("PATCH", loc, `"1"`, `{"implementation_plan":"apt full-upgrade","test_plan":"send a mail","planned_end":"`+end.Format(time.RFC3339)+`"}`)
		var ch change.Change
		if err := json.Unmarshal([]byte(got), &ch); err != nil || resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` ||
			ch.Implementation != "apt full-upgrade" || ch.TestPlan != "send a mail" || !ch.PlannedEnd.Equal(end) || ch.Backout != "apt rollback" {
			t.Fatalf("update: %d %s %s", resp.StatusCode, resp.Header.Get("ETag"), got)
		}
		cm.refusesStale("PATCH", loc, `"1"`, `{"backout_plan":"reinstall"}`, loc)
		if resp, got = agent.do("PATCH", loc, `"2"`, `{"title":"x"}`); resp.StatusCode != 403 {
			t.Fatalf("an agent updates a change: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("PATCH", loc, `"2"`, `{"planned_end":"tomorrow"}`); resp.StatusCode != 422 {
			t.Fatalf("a bad time: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("PATCH", "/changes/01a2513e-43a9-7ad5-bcc3-5520bbb128e2", `"1"`, `{"title":"x"}`); resp.StatusCode != 404 {
			t.Fatalf("an unknown change: %d", resp.StatusCode)
		}
		if resp, got = cm.do("GET", loc, "", ""); resp.Header.Get("ETag") != `"2"` || !strings.Contains(got, `"backout_plan":"apt rollback"`) {
			t.Fatalf("a refused update wrote: %s %s", resp.Header.Get("ETag"), got)
		}
	})
}
