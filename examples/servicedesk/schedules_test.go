package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
)

// blackout is a schedule's spec: a freeze of the CI ci on the date of at
// (UTC).
func blackout(name, ci string, at time.Time) string {
	day := at.UTC().Format(time.DateOnly)
	return `{"name":"` + name + `","type":"blackout","windows":{"zone":"UTC"},"ranges":[{"from":"` + day + `","to":"` + day + `"}],` +
		`"scope":{"cis":["` + ci + `"]}}`
}

// TestScheduleRoutes: a change manager drafts a blackout and a weekly
// maintenance window, reads and lists them by type and state, replaces
// the blackout's spec and approves, enforces and retires it, each on its
// ETag (428 without one, 412 on a stale one); a bad spec names its fields
// (422); a CAB member may neither draft nor approve a schedule; unknown
// schedules are not found.
func TestScheduleRoutes(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, cab := client{t, url, "change-token"}, client{t, url, "cab-token"}
		day := time.Now().UTC().Add(30 * 24 * time.Hour)
		ci := "01a2513e-43a9-7ad5-bcc3-5520bbb128e2"
		if resp, got := cab.do("POST", "/schedules", "", blackout("Freeze", ci, day)); resp.StatusCode != 403 {
			t.Fatalf("a CAB member drafts a schedule: %d %s", resp.StatusCode, got)
		}
		resp, got := cm.do("POST", "/schedules", "", `{"name":"","type":"sometimes","windows":{"zone":"Mars/Olympus"}}`)
		var p httpapi.Problem
		if err := json.Unmarshal([]byte(got), &p); resp.StatusCode != 422 || err != nil {
			t.Fatalf("a bad spec: %d %s", resp.StatusCode, got)
		}
		fields := map[string]bool{}
		for _, f := range p.Errors {
			fields[f.Field] = true
		}
		if !fields["name"] || !fields["type"] || !fields["windows.zone"] {
			t.Fatalf("a bad spec's fields: %v", p.Errors)
		}
		resp, got = cm.do("POST", "/schedules", "", blackout("Freeze", ci, day))
		if resp.StatusCode != 201 || resp.Header.Get("ETag") != `"1"` || !strings.HasPrefix(resp.Header.Get("Location"), "/schedules/") ||
			!strings.Contains(got, `"state":"draft"`) {
			t.Fatalf("create: %d %v %s", resp.StatusCode, resp.Header, got)
		}
		loc := resp.Header.Get("Location")
		if resp, got = cm.do("GET", loc, "", ""); resp.StatusCode != 200 || resp.Header.Get("ETag") != `"1"` || !strings.Contains(got, `"name":"Freeze"`) {
			t.Fatalf("get: %d %s", resp.StatusCode, got)
		}
		count := func(query string) int {
			t.Helper()
			resp, got := cm.do("GET", "/schedules"+query, "", "")
			var scs []change.Schedule
			if err := json.Unmarshal([]byte(got), &scs); err != nil || resp.StatusCode != 200 {
				t.Fatalf("list %s: %d %s", query, resp.StatusCode, got)
			}
			return len(scs)
		}
		resp, got = cm.do("POST", "/schedules", "", `{"name":"Saturday nights","type":"maintenance","windows":{"zone":"Europe/Paris",`+
			`"week":{"saturday":[{"start":"22:00","end":"04:00","overnight":true}]}},"scope":{"classes":["linux_server"]}}`)
		if resp.StatusCode != 201 || !strings.Contains(got, `"saturday":[{"start":"22:00","end":"04:00","overnight":true}]`) {
			t.Fatalf("a maintenance window: %d %s", resp.StatusCode, got)
		}
		if n, m, o := count("?type=blackout&state=draft"), count("?type=maintenance"), count(""); n != 1 || m != 1 || o != 2 {
			t.Fatalf("listed %d blackouts in draft, %d maintenance schedules, %d in all", n, m, o)
		}
		if resp, got = cm.do("GET", "/schedules?state=sometimes", "", ""); resp.StatusCode != 422 {
			t.Fatalf("an unknown state: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("PUT", loc, "", blackout("Year-end freeze", ci, day)); resp.StatusCode != 428 {
			t.Fatalf("an update without If-Match: %d", resp.StatusCode)
		}
		if resp, got = cm.do("PUT", loc, `"1"`, blackout("Year-end freeze", ci, day)); resp.StatusCode != 200 || resp.Header.Get("ETag") != `"2"` ||
			!strings.Contains(got, `"name":"Year-end freeze"`) {
			t.Fatalf("update: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("PUT", loc, `"2"`, `{"name":"Year-end freeze","type":"blackout","windows":{"zone":"UTC"}}`); resp.StatusCode != 422 {
			t.Fatalf("an update to a spec never in force: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("PUT", loc, `"1"`, blackout("Freeze", ci, day)); resp.StatusCode != 412 {
			t.Fatalf("an update on a stale If-Match: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("POST", loc+"/approve", "", ``); resp.StatusCode != 428 {
			t.Fatalf("a schedule command without If-Match: %d", resp.StatusCode)
		}
		if resp, got = cab.do("POST", loc+"/approve", `"2"`, ``); resp.StatusCode != 403 {
			t.Fatalf("a CAB member approves a schedule: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("POST", loc+"/approve", `"1"`, ``); resp.StatusCode != 412 {
			t.Fatalf("a stale If-Match: %d %s", resp.StatusCode, got)
		}
		if resp, got = cm.do("GET", loc, "", ""); resp.Header.Get("ETag") != `"2"` || !strings.Contains(got, `"state":"draft"`) {
			t.Fatalf("a refused approval wrote: %v %s", resp.Header.Get("ETag"), got)
		}
		for i, step := range []struct{ path, body, state string }{
			{"/approve", ``, "approved"}, {"/enforce", ``, "enforced"}, {"/retire", `{"reason":"the freeze was lifted"}`, "retired"},
		} {
			etag := httpapi.ETag(int64(i + 2))
			if resp, got = cm.do("POST", loc+step.path, etag, step.body); resp.StatusCode != 200 || !strings.Contains(got, `"state":"`+step.state+`"`) ||
				resp.Header.Get("ETag") != httpapi.ETag(int64(i+3)) {
				t.Fatalf("%s: %d %s", step.path, resp.StatusCode, got)
			}
		}
		if resp, got = cm.do("POST", loc+"/approve", `"5"`, ``); resp.StatusCode != 409 {
			t.Fatalf("approving a retired schedule: %d %s", resp.StatusCode, got)
		}
		unknown := "/schedules/01a2513e-43a9-7ad5-bcc3-5520bbb128e2"
		if resp, _ = cm.do("GET", unknown, "", ""); resp.StatusCode != 404 {
			t.Fatalf("unknown: %d", resp.StatusCode)
		}
		if resp, _ = cm.do("POST", unknown+"/approve", `"1"`, ``); resp.StatusCode != 404 {
			t.Fatalf("approving an unknown schedule: %d", resp.StatusCode)
		}
		if resp, _ = cm.do("PUT", unknown, `"1"`, blackout("Freeze", ci, day)); resp.StatusCode != 404 {
			t.Fatalf("updating an unknown schedule: %d", resp.StatusCode)
		}
	})
}

// TestScheduleIdempotent: a schedule's creation retried with its
// Idempotency-Key drafts one schedule and answers the same twice.
func TestScheduleIdempotent(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		post := func(key, body string) (*http.Response, string) {
			t.Helper()
			req, err := http.NewRequest("POST", url+"/schedules", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer change-token")
			req.Header.Set("Idempotency-Key", key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			checkShape(t, req, resp, string(b))
			return resp, string(b)
		}
		spec := blackout("Freeze", "01a2513e-43a9-7ad5-bcc3-5520bbb128e2", time.Now().Add(72*time.Hour))
		first, firstBody := post("freeze-1", spec)
		again, againBody := post("freeze-1", spec)
		if first.StatusCode != 201 || again.StatusCode != 201 || firstBody != againBody || first.Header.Get("Location") != again.Header.Get("Location") ||
			again.Header.Get("ETag") != `"1"` {
			t.Fatalf("first %d %s\nagain %d %s", first.StatusCode, firstBody, again.StatusCode, againBody)
		}
		if other, got := post("freeze-1", blackout("Other", "01a2513e-43a9-7ad5-bcc3-5520bbb128e2", time.Now())); other.StatusCode != 422 {
			t.Fatalf("the key on another schedule: %d %s", other.StatusCode, got)
		}
		resp, got := (client{t, url, "change-token"}).do("GET", "/schedules", "", "")
		var scs []change.Schedule
		if err := json.Unmarshal([]byte(got), &scs); err != nil || resp.StatusCode != 200 || len(scs) != 1 {
			t.Fatalf("%d schedules: %s", len(scs), got)
		}
	})
}

// TestScheduleConflicts: a blackout on a change's CI, approved and
// enforced, makes the change's planned window a conflict, shows in the
// windows in force (clipped to the span asked), and keeps the free
// slots off its date; a draft counts for nothing.
func TestScheduleConflicts(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm := client{t, url, "change-token"}
		resp, got := cm.do("POST", "/cis", "", `{"class":"linux_server","name":"mx1","state":"operational"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("CI: %d %s", resp.StatusCode, got)
		}
		ci := strings.TrimPrefix(resp.Header.Get("Location"), "/cis/")
		start := time.Now().UTC().Add(72 * time.Hour).Truncate(24 * time.Hour).Add(10 * time.Hour)
		resp, got = cm.do("POST", "/changes", "", `{"title":"Patch mx1","implementation_plan":"apt upgrade","backout_plan":"apt rollback","impact":2,`+
			`"assignment_group":"messaging","ci_id":"`+ci+`","planned_start":"`+start.Format(time.RFC3339)+`","planned_end":"`+
			start.Add(2*time.Hour).Format(time.RFC3339)+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("change: %d %s", resp.StatusCode, got)
		}
		chg := resp.Header.Get("Location")
		conflicts := func() []change.Conflict {
			t.Helper()
			resp, got := cm.do("GET", chg+"/conflicts", "", "")
			var cs []change.Conflict
			if err := json.Unmarshal([]byte(got), &cs); err != nil || resp.StatusCode != 200 {
				t.Fatalf("conflicts: %d %s", resp.StatusCode, got)
			}
			return cs
		}
		span := "?from=" + start.Add(-time.Hour).Format(time.RFC3339) + "&to=" + start.Add(time.Hour).Format(time.RFC3339)
		windows := func(query string) []change.WindowInForce {
			t.Helper()
			resp, got := cm.do("GET", "/changes/windows"+query, "", "")
			var ws []change.WindowInForce
			if err := json.Unmarshal([]byte(got), &ws); err != nil || resp.StatusCode != 200 {
				t.Fatalf("windows: %d %s", resp.StatusCode, got)
			}
			return ws
		}
		resp, got = cm.do("POST", "/schedules", "", blackout("Freeze", ci, start))
		if resp.StatusCode != 201 {
			t.Fatalf("schedule: %d %s", resp.StatusCode, got)
		}
		sc := resp.Header.Get("Location")
		if cs, ws := conflicts(), windows(span); len(cs) != 0 || len(ws) != 0 {
			t.Fatalf("a draft counts: %+v %+v", cs, ws)
		}
		for i, step := range []string{"/approve", "/enforce"} {
			if resp, got = cm.do("POST", sc+step, httpapi.ETag(int64(i+1)), ``); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", step, resp.StatusCode, got)
			}
		}
		id := strings.TrimPrefix(sc, "/schedules/")
		cs := conflicts()
		if len(cs) != 1 || cs[0].ScheduleID.String() != id || cs[0].ScheduleName != "Freeze" {
			t.Fatalf("conflicts: %+v", cs)
		}
		ws := windows(span + "&ci_id=" + ci)
		if len(ws) != 1 || ws[0].ScheduleID.String() != id || ws[0].Type != change.BlackoutSchedule || !ws[0].Start.Equal(start.Add(-time.Hour)) {
			t.Fatalf("windows: %+v", ws)
		}
		if ws = windows("?from=" + start.Add(48*time.Hour).Format(time.RFC3339) + "&to=" + start.Add(72*time.Hour).Format(time.RFC3339)); len(ws) != 0 {
			t.Fatalf("windows after the freeze: %+v", ws)
		}
		if resp, got = cm.do("GET", "/changes/windows?from="+start.Format(time.RFC3339), "", ""); resp.StatusCode != 422 || !strings.Contains(got, `"to"`) {
			t.Fatalf("windows without to: %d %s", resp.StatusCode, got)
		}
		resp, got = cm.do("GET", chg+"/slots?duration=2h&count=3&not_before="+start.Add(-24*time.Hour).Format(time.RFC3339)+"&within=96h", "", "")
		var slots []change.FreeSlot
		if err := json.Unmarshal([]byte(got), &slots); err != nil || resp.StatusCode != 200 || len(slots) == 0 {
			t.Fatalf("slots: %d %s", resp.StatusCode, got)
		}
		dayStart, dayEnd := start.Add(-10*time.Hour), start.Add(14*time.Hour)
		for _, s := range slots {
			if s.Start.Before(dayEnd) && s.End.After(dayStart) {
				t.Fatalf("a free slot in the freeze: %+v", slots)
			}
		}
		if resp, got = cm.do("GET", chg+"/slots?duration=soon", "", ""); resp.StatusCode != 422 || !strings.Contains(got, `"duration"`) {
			t.Fatalf("a bad duration: %d %s", resp.StatusCode, got)
		}
		if resp, _ = cm.do("GET", "/changes/01a2513e-43a9-7ad5-bcc3-5520bbb128e2/slots", "", ""); resp.StatusCode != 404 {
			t.Fatalf("an unknown change's slots: %d", resp.StatusCode)
		}
	})
}
