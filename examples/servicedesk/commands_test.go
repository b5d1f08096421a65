package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/strategy"
)

// The scenarios here take each resource through its lifecycle by its
// command routes, so that every command of the API succeeds in some test
// (TestMain holds the suite to it): each command runs on the ETag the
// answer before it gave, and its answer is checked for what the command
// changed. A change task's commands succeed in TestChangeTasks, a
// schedule's in TestScheduleRoutes.

// walk is one record taken through its commands: its path, and the ETag
// of the last answer, which the next command names in If-Match.
type walk struct {
	t    *testing.T
	path string
	etag string
}

// walkOpen creates a record with POST path body as c, which must answer
// 201; it returns the record's walk (at the Location and ETag answered)
// and the record.
func walkOpen[T any](t *testing.T, c client, path, body string) (*walk, *T) {
	t.Helper()
	resp, got := c.do("POST", path, "", body)
	if resp.StatusCode != 201 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, got)
	}
	w := &walk{t: t, path: resp.Header.Get("Location"), etag: resp.Header.Get("ETag")}
	if w.path == "" || w.etag == "" {
		t.Fatalf("POST %s: no Location or ETag: %v", path, resp.Header)
	}
	return w, decodeRecord[T](t, "POST "+path, got)
}

// walkRun runs the command name of w's record as c with body, on w's
// ETag: see walkSend.
func walkRun[T any](w *walk, c client, name, body string) *T {
	w.t.Helper()
	return walkSend[T](w, c, "POST", w.path+"/"+name, body)
}

// walkPatch changes w's record's fields with PATCH as c, on w's ETag:
// see walkSend.
func walkPatch[T any](w *walk, c client, body string) *T {
	w.t.Helper()
	return walkSend[T](w, c, "PATCH", w.path, body)
}

// walkSend sends method path body as c on w's ETag: the answer must be
// 200 and the record at a new version, its ETag, which w keeps for the
// next command.
func walkSend[T any](w *walk, c client, method, path, body string) *T {
	w.t.Helper()
	resp, got := c.do(method, path, w.etag, body)
	if resp.StatusCode != 200 {
		w.t.Fatalf("%s %s on %s: %d %s", method, path, w.etag, resp.StatusCode, got)
	}
	var v struct {
		Version int64 `json:"version"`
	}
	etag := resp.Header.Get("ETag")
	if err := json.Unmarshal([]byte(got), &v); err != nil || etag != httpapi.ETag(v.Version) || etag == w.etag {
		w.t.Fatalf("%s %s: ETag %s (was %s), answered version %d: %s", method, path, etag, w.etag, v.Version, got)
	}
	w.etag = etag
	return decodeRecord[T](w.t, method+" "+path, got)
}

// refused runs the command name of w's record as c with body, on w's
// ETag, which must answer status; it returns the answer's body. w's
// ETag stays.
func (w *walk) refused(c client, name, body string, status int) string {
	w.t.Helper()
	resp, got := c.do("POST", w.path+"/"+name, w.etag, body)
	if resp.StatusCode != status {
		w.t.Fatalf("%s/%s on %s: %d, want %d: %s", w.path, name, w.etag, resp.StatusCode, status, got)
	}
	return got
}

// reread reads w's record again as c, for the ETag a command on another
// record gave it (a command that writes both).
func (w *walk) reread(c client) {
	w.t.Helper()
	resp, got := c.do("GET", w.path, "", "")
	if resp.StatusCode != 200 {
		w.t.Fatalf("GET %s: %d %s", w.path, resp.StatusCode, got)
	}
	w.etag = resp.Header.Get("ETag")
}

// decodeRecord decodes the record answered to what.
func decodeRecord[T any](t *testing.T, what, body string) *T {
	t.Helper()
	x := new(T)
	if err := json.Unmarshal([]byte(body), x); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	return x
}

// openIncident opens an incident as an agent and returns it.
func openIncident(t *testing.T, url, title string) *incident.Incident {
	t.Helper()
	_, inc := walkOpen[incident.Incident](t, client{t, url, "agent-token"}, "/incidents",
		`{"title":"`+title+`","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
	return inc
}

// TestIncidentCommands: an incident assigned to an engineer (in
// progress), put on hold awaiting a vendor and resumed, resolved,
// reopened within the reopen window, resolved again and closed; another
// canceled.
func TestIncidentCommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		agent := client{t, url, "agent-token"}
		w, inc := walkOpen[incident.Incident](t, agent, "/incidents", `{"title":"Mail down","caller":{"id":"casey"},"channel":"phone","impact":2,"urgency":2}`)
		if inc.State != incident.StateNew {
			t.Fatalf("open: %s", inc.State)
		}
		inc = walkRun[incident.Incident](w, agent, "assign", `{"group":"messaging","assignee":"mia"}`)
		if inc.State != incident.StateInProgress || inc.AssignmentGroup != "messaging" || inc.Assignee != "mia" {
			t.Fatalf("assign: %s %s/%s", inc.State, inc.AssignmentGroup, inc.Assignee)
		}
		inc = walkRun[incident.Incident](w, agent, "hold", `{"reason":"awaiting_vendor","comment":"the relay's vendor is on it"}`)
		if inc.State != incident.StateOnHold || inc.HoldReason != incident.AwaitingVendor {
			t.Fatalf("hold: %s %q", inc.State, inc.HoldReason)
		}
		inc = walkRun[incident.Incident](w, agent, "resume", ``)
		if inc.State != incident.StateInProgress || inc.HoldReason != "" {
			t.Fatalf("resume: %s %q", inc.State, inc.HoldReason)
		}
		inc = walkRun[incident.Incident](w, agent, "resolve", `{"code":"solution_provided","notes":"restarted the relay"}`)
		if inc.State != incident.StateResolved || inc.ResolutionCode != "solution_provided" || inc.ResolutionNotes != "restarted the relay" ||
			inc.ResolvedAt.IsZero() {
			t.Fatalf("resolve: %s %q %q %v", inc.State, inc.ResolutionCode, inc.ResolutionNotes, inc.ResolvedAt)
		}
		inc = walkRun[incident.Incident](w, agent, "reopen", `{"reason":"mail is stuck again"}`)
		if inc.State != incident.StateInProgress || inc.ReopenCount != 1 || inc.ResolutionCode != "" || !inc.ResolvedAt.IsZero() {
			t.Fatalf("reopen: %s reopened %d times, resolution %q", inc.State, inc.ReopenCount, inc.ResolutionCode)
		}
		walkRun[incident.Incident](w, agent, "resolve", `{"code":"solution_provided","notes":"flushed the spool"}`)
		inc = walkRun[incident.Incident](w, agent, "close", ``)
		if inc.State != incident.StateClosed || inc.ClosedAt.IsZero() {
			t.Fatalf("close: %s %v", inc.State, inc.ClosedAt)
		}

		w, _ = walkOpen[incident.Incident](t, agent, "/incidents", `{"title":"Mail down","caller":{"id":"cody"},"channel":"email","impact":2,"urgency":2}`)
		if inc = walkRun[incident.Incident](w, agent, "cancel", `{"reason":"a duplicate report"}`); inc.State != incident.StateCanceled {
			t.Fatalf("cancel: %s", inc.State)
		}
	})
}

// TestProblemCommands: a problem linked to an incident and unlinked
// again; assigned, assessed and confirmed; its fix started once its cause
// is recorded, sent back to root cause analysis and started again;
// resolved once its fix is recorded, and completed. Another is closed by
// accepting its risk, a third canceled.
func TestProblemCommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		pm := client{t, url, "problem-token"}
		inc := openIncident(t, url, "Mail stuck in the outbox")
		w, p := walkOpen[problem.Problem](t, pm, "/problems", `{"title":"Relay queue stalls","impact":2,"urgency":2}`)
		if p.State != problem.StateNew {
			t.Fatalf("open: %s", p.State)
		}
		link := `{"incident_id":"` + inc.ID.String() + `"}`
		if p = walkRun[problem.Problem](w, pm, "link_incident", link); p.IncidentCount != 1 {
			t.Fatalf("link_incident: %d incidents", p.IncidentCount)
		}
		if p = walkRun[problem.Problem](w, pm, "unlink_incident", link); p.IncidentCount != 0 {
			t.Fatalf("unlink_incident: %d incidents", p.IncidentCount)
		}
		if resp, got := pm.do("GET", w.path+"/incidents", "", ""); resp.StatusCode != 200 || got != "[]\n" {
			t.Fatalf("the problem's incidents once unlinked: %d %s", resp.StatusCode, got)
		}
		p = walkRun[problem.Problem](w, pm, "assign", `{"group":"messaging","assignee":"pete"}`)
		if p.AssignmentGroup != "messaging" || p.Assignee != "pete" {
			t.Fatalf("assign: %s/%s", p.AssignmentGroup, p.Assignee)
		}
		if p = walkRun[problem.Problem](w, pm, "assess", ``); p.State != problem.StateAssess {
			t.Fatalf("assess: %s", p.State)
		}
		p = walkRun[problem.Problem](w, pm, "confirm", ``)
		if p.State != problem.StateRootCauseAnalysis || p.ConfirmedBy.ID != "pete" || p.ConfirmedAt.IsZero() {
			t.Fatalf("confirm: %s by %q", p.State, p.ConfirmedBy.ID)
		}
		walkPatch[problem.Problem](w, pm, `{"cause_notes":"the log rotation fills the spool's disk"}`)
		if p = walkRun[problem.Problem](w, pm, "fix", ``); p.State != problem.StateFixInProgress || p.FixStartedBy.ID != "pete" {
			t.Fatalf("fix: %s by %q", p.State, p.FixStartedBy.ID)
		}
		if p = walkRun[problem.Problem](w, pm, "reanalyze", `{"reason":"the spool fills without the rotation too"}`); p.State != problem.StateRootCauseAnalysis {
			t.Fatalf("reanalyze: %s", p.State)
		}
		walkRun[problem.Problem](w, pm, "fix", ``)
		walkPatch[problem.Problem](w, pm, `{"fix_notes":"the spool moved to its own volume"}`)
		p = walkRun[problem.Problem](w, pm, "resolve", ``)
		if p.State != problem.StateResolved || p.ResolutionCode != problem.FixApplied || p.ResolvedAt.IsZero() {
			t.Fatalf("resolve: %s %q", p.State, p.ResolutionCode)
		}
		if p = walkRun[problem.Problem](w, pm, "complete", ``); p.State != problem.StateClosed || p.ClosedAt.IsZero() {
			t.Fatalf("complete: %s %v", p.State, p.ClosedAt)
		}

		w, _ = walkOpen[problem.Problem](t, pm, "/problems", `{"title":"Webmail slow at nine","impact":3,"urgency":3}`)
		walkRun[problem.Problem](w, pm, "assign", `{"group":"messaging"}`)
		walkRun[problem.Problem](w, pm, "assess", ``)
		walkRun[problem.Problem](w, pm, "confirm", ``)
		p = walkRun[problem.Problem](w, pm, "accept_risk", `{"reason":"the load passes in minutes; a fix costs more"}`)
		if p.State != problem.StateClosed || p.ResolutionCode != problem.RiskAccepted || p.RiskAcceptedReason != "the load passes in minutes; a fix costs more" {
			t.Fatalf("accept_risk: %s %q %q", p.State, p.ResolutionCode, p.RiskAcceptedReason)
		}

		w, _ = walkOpen[problem.Problem](t, pm, "/problems", `{"title":"Printers offline"}`)
		if p = walkRun[problem.Problem](w, pm, "cancel", `{"reason":"raised on the wrong desk"}`); p.State != problem.StateCanceled || p.ResolutionCode != problem.Canceled {
			t.Fatalf("cancel: %s %q", p.State, p.ResolutionCode)
		}
	})
}

// TestChangeCommands: an emergency change on a CI is assigned, linked to
// the incident it should restore and the problem it fixes; sent for
// authorization and rejected by the emergency CAB (back to new), sent
// again and approved; an enforced blackout on its CI blocks it from
// being scheduled until its conflicts are overridden with a reason; it is
// then scheduled, implemented and reviewed; its close is refused until
// its post-implementation review is recorded, then it closes. A normal
// change's risk is assessed. Another change is canceled.
func TestChangeCommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm, cab, agent := client{t, url, "change-token"}, client{t, url, "cab-token"}, client{t, url, "agent-token"}
		_, ci := walkOpen[cmdb.CI](t, cm, "/cis", `{"class":"linux_server","name":"mx1","state":"operational"}`)
		inc := openIncident(t, url, "Mail bounces from mx1")
		_, prb := walkOpen[problem.Problem](t, client{t, url, "problem-token"}, "/problems", `{"title":"mx1's disk fails","impact":2,"urgency":2}`)
		start := time.Now().UTC().Add(72 * time.Hour).Truncate(24 * time.Hour).Add(10 * time.Hour)
		w, ch := walkOpen[change.Change](t, cm, "/changes", `{"model":"emergency","title":"Replace mx1's disk","implementation_plan":"swap the disk",`+
			`"backout_plan":"swap it back","impact":2,"assignment_group":"network","ci_id":"`+ci.ID.String()+`",`+
			`"planned_start":"`+start.Format(time.RFC3339)+`","planned_end":"`+start.Add(2*time.Hour).Format(time.RFC3339)+`"}`)
		if ch.State != change.StateNew || ch.Model != change.ModelEmergency {
			t.Fatalf("open: %s %s", ch.Model, ch.State)
		}
		if ch = walkRun[change.Change](w, cm, "assign", `{"group":"messaging","assignee":"mia"}`); ch.AssignmentGroup != "messaging" || ch.Assignee != "mia" {
			t.Fatalf("assign: %s/%s", ch.AssignmentGroup, ch.Assignee)
		}
		// Linking writes the incident (it awaits the change) and the
		// problem (a fix record): the change manager's role has those
		// two commands of the incident and problem processes, an agent's
		// neither.
		w.refused(agent, "link_incident", `{"incident_id":"`+inc.ID.String()+`"}`, 403)
		if ch = walkRun[change.Change](w, cm, "link_incident", `{"incident_id":"`+inc.ID.String()+`"}`); ch.IncidentCount != 1 {
			t.Fatalf("link_incident: %d incidents", ch.IncidentCount)
		}
		if resp, got := agent.do("GET", "/incidents/"+inc.ID.String(), "", ""); !strings.Contains(got, `"change_id":"`+ch.ID.String()+`"`) {
			t.Fatalf("the incident awaiting the change: %d %s", resp.StatusCode, got)
		}
		if ch = walkRun[change.Change](w, cm, "link_problem", `{"problem_id":"`+prb.ID.String()+`"}`); len(ch.Fixes) != 1 || ch.Fixes[0] != prb.ID {
			t.Fatalf("link_problem: fixes %v", ch.Fixes)
		}
		// The emergency CAB (carl) is asked; segregation of duties keeps
		// chloe (the requester) and mia (the assignee) out of it.
		ch = walkRun[change.Change](w, cm, "authorize", ``)
		if ch.State != change.StateAuthorize || ch.Approval == nil || ch.Approval.Verdict != change.VerdictWaiting {
			t.Fatalf("authorize: %s %+v", ch.State, ch.Approval)
		}
		ch = walkRun[change.Change](w, cab, "reject", `{"comment":"the backout is untested"}`)
		if ch.State != change.StateNew || ch.Approval.Verdict != change.VerdictRefused {
			t.Fatalf("reject: %s %s", ch.State, ch.Approval.Verdict)
		}
		walkRun[change.Change](w, cm, "authorize", ``)
		ch = walkRun[change.Change](w, cab, "approve", `{"comment":"backout tested: go"}`)
		if ch.State != change.StateAuthorize || ch.Approval.Verdict != change.VerdictAccepted || ch.ApprovalRounds != 2 {
			t.Fatalf("approve: %s %s, %d rounds", ch.State, ch.Approval.Verdict, ch.ApprovalRounds)
		}
		// A blackout of the CI on the planned day, enforced, blocks the
		// move into scheduled.
		sw, _ := walkOpen[change.Schedule](t, cm, "/schedules", blackout("Freeze", ci.ID.String(), start))
		walkRun[change.Schedule](sw, cm, "approve", ``)
		if sc := walkRun[change.Schedule](sw, cm, "enforce", ``); sc.State != change.ScheduleEnforced {
			t.Fatalf("enforce: %s", sc.State)
		}
		w.reread(cm) // enforcing the blackout judged the change's conflicts again: a new version
		if got := w.refused(cm, "schedule", ``, 409); !strings.Contains(got, "blocking conflict") {
			t.Fatalf("schedule in a blackout: %s", got)
		}
		ch = walkRun[change.Change](w, cm, "override_conflicts", `{"reason":"the disk fails now: the freeze yields"}`)
		if o := ch.ConflictOverride; o == nil || o.Reason != "the disk fails now: the freeze yields" || len(o.Conflicts) != 1 ||
			o.Conflicts[0].Kind != change.ConflictBlackout {
			t.Fatalf("override_conflicts: %+v", ch.ConflictOverride)
		}
		if ch = walkRun[change.Change](w, cm, "schedule", ``); ch.State != change.StateScheduled {
			t.Fatalf("schedule: %s", ch.State)
		}
		if ch = walkRun[change.Change](w, cm, "implement", ``); ch.State != change.StateImplement || ch.ActualStart.IsZero() {
			t.Fatalf("implement: %s %v", ch.State, ch.ActualStart)
		}
		if ch = walkRun[change.Change](w, cm, "review", ``); ch.State != change.StateReview || ch.ActualEnd.IsZero() {
			t.Fatalf("review: %s %v", ch.State, ch.ActualEnd)
		}
		if got := w.refused(cm, "close", `{"code":"successful","notes":"disk swapped"}`, 422); !strings.Contains(got, `"review"`) {
			t.Fatalf("close without a review: %s", got)
		}
		ch = walkRun[change.Change](w, cm, "record_review", `{"what_happened":"the disk was swapped in 40 minutes",`+
			`"lessons":"keep a spare disk on site","follow_ups":["order two spare disks"]}`)
		if ch.Review == nil || ch.Review.WhatHappened != "the disk was swapped in 40 minutes" {
			t.Fatalf("record_review: %+v", ch.Review)
		}
		if ch = walkRun[change.Change](w, cm, "close", `{"code":"successful","notes":"disk swapped"}`); ch.State != change.StateClosed ||
			ch.CloseCode != "successful" {
			t.Fatalf("close: %s %s", ch.State, ch.CloseCode)
		}

		w, _ = walkOpen[change.Change](t, cm, "/changes", `{"title":"Tune the relay","implementation_plan":"raise the limits","backout_plan":"lower them","impact":3}`)
		if ch = walkRun[change.Change](w, cm, "assess_risk", `{"answers":{}}`); ch.Risk == 0 || ch.RiskExplanation == "" {
			t.Fatalf("assess_risk: %d %q", ch.Risk, ch.RiskExplanation)
		}
		if ch = walkRun[change.Change](w, cm, "cancel", `{"reason":"the relay is replaced instead"}`); ch.State != change.StateCanceled || ch.ClosedAt.IsZero() {
			t.Fatalf("cancel: %s %v", ch.State, ch.ClosedAt)
		}
	})
}

// TestCICommands: a CI registered as planned is built, deployed, taken
// into maintenance and restored, then retired, one state at a time.
func TestCICommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		cm := client{t, url, "change-token"}
		w, ci := walkOpen[cmdb.CI](t, cm, "/cis", `{"class":"linux_server","name":"mx3","state":"planned"}`)
		if ci.State != cmdb.Planned {
			t.Fatalf("register: %s", ci.State)
		}
		for _, to := range []cmdb.State{cmdb.InBuild, cmdb.Operational, cmdb.UnderMaintenance, cmdb.Operational, cmdb.Retired} {
			if ci = walkRun[cmdb.CI](w, cm, "set_state", `{"state":"`+string(to)+`"}`); ci.State != to {
				t.Fatalf("set_state %s: %s", to, ci.State)
			}
		}
	})
}

// proposal is a portfolio entry's body with a business case that may be
// approved.
const proposal = `{"name":"Corporate mail","type":"business","owner":"olga","business_case":{"expected_outcomes":["staff reach customers by mail"],` +
	`"expected_value":{"amount":"900000","currency":"EUR"},"expected_cost":{"amount":"300000","currency":"EUR"}}}`

// TestPortfolioCommands: a service proposed is defined, analysed and
// approved, its business case approved, chartered, and designed into the
// catalogue with an offering, which is published and subscribed to; the
// service is developed, built and operated; retired with an override
// reason while a customer still subscribes (refused without one), its
// offering retired, closed and declared obsolete. Another proposal is
// withdrawn.
func TestPortfolioCommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		owner := client{t, url, "owner-token"}
		w, e := walkOpen[strategy.Entry](t, owner, "/portfolio", proposal)
		if e.Status != strategy.StatusRequirements {
			t.Fatalf("propose: %s", e.Status)
		}
		move := func(name string, to strategy.Status) *strategy.Entry {
			t.Helper()
			e := walkRun[strategy.Entry](w, owner, name, ``)
			if e.Status != to {
				t.Fatalf("%s: %s, want %s", name, e.Status, to)
			}
			return e
		}
		move("define", strategy.StatusDefinition)
		move("analyse", strategy.StatusAnalysis)
		move("approve", strategy.StatusApproved)
		if e = walkRun[strategy.Entry](w, owner, "approve_business_case", ``); !e.BusinessCase.Approved() || e.BusinessCase.ApprovedBy.ID != "olga" {
			t.Fatalf("approve_business_case: %+v", e.BusinessCase)
		}
		move("charter", strategy.StatusChartered)
		ow, o := walkOpen[strategy.Offering](t, owner, w.path+"/offerings", `{"name":"Standard mailbox","utility":["send and receive mail"],`+
			`"pricing":{"model":"per_unit","unit":"mailbox","currency":"EUR","price":"4.50"}}`)
		if o.State != strategy.OfferingDraft {
			t.Fatalf("the offering: %s", o.State)
		}
		move("design", strategy.StatusDesign)
		if o = walkRun[strategy.Offering](ow, owner, "publish", ``); o.State != strategy.OfferingPublished {
			t.Fatalf("publish: %s", o.State)
		}
		w.reread(owner) // the entry counts its published offerings
		if resp, got := owner.do("POST", ow.path+"/subscriptions", "", `{"customer":"acme","quantity":"120"}`); resp.StatusCode != 201 {
			t.Fatalf("subscribe: %d %s", resp.StatusCode, got)
		}
		// The subscription counts on the offering, a new version of it.
		// No route reads one offering (its Location, /offerings/{id},
		// answers 404): its service's list of them does.
		resp, got := owner.do("GET", w.path+"/offerings", "", "")
		var offerings []strategy.Offering
		if err := json.Unmarshal([]byte(got), &offerings); err != nil || resp.StatusCode != 200 || len(offerings) != 1 || offerings[0].Subscriptions != 1 {
			t.Fatalf("the offerings: %d %s", resp.StatusCode, got)
		}
		ow.etag = httpapi.ETag(offerings[0].Version)
		move("develop", strategy.StatusDevelopment)
		move("build", strategy.StatusBuildTestRelease)
		move("operate", strategy.StatusOperational)
		if got := w.refused(owner, "retire", ``, 422); !strings.Contains(got, `"subscriptions"`) {
			t.Fatalf("retire with a subscription running: %s", got)
		}
		e = walkRun[strategy.Entry](w, owner, "retire", `{"reason":"acme moves to the new suite at the end of its term"}`)
		if e.Status != strategy.StatusRetiring || e.RetireOverride != "acme moves to the new suite at the end of its term" {
			t.Fatalf("retire: %s %q", e.Status, e.RetireOverride)
		}
		if o = walkRun[strategy.Offering](ow, owner, "retire", ``); o.State != strategy.OfferingRetired {
			t.Fatalf("retire the offering: %s", o.State)
		}
		w.reread(owner)
		move("close", strategy.StatusRetired)
		move("obsolete", strategy.StatusObsolete)

		w, _ = walkOpen[strategy.Entry](t, owner, "/portfolio", `{"name":"Fax gateway","type":"business","owner":"olga"}`)
		move("withdraw", strategy.StatusRetired)
	})
}

// charteredEntry proposes the service in proposal and walks it to its
// charter as c; it returns the entry's ID.
func charteredEntry(t *testing.T, c client) string {
	t.Helper()
	w, e := walkOpen[strategy.Entry](t, c, "/portfolio", proposal)
	for _, name := range []string{"define", "analyse", "approve", "approve_business_case", "charter"} {
		e = walkRun[strategy.Entry](w, c, name, ``)
	}
	if e.Status != strategy.StatusChartered {
		t.Fatalf("the entry: %s", e.Status)
	}
	return e.ID.String()
}

// TestLifecycleCommands: a chartered service's lifecycle record moves
// into design, its gate passing, and a design package section is
// completed; it moves into transition and operation by overriding their
// gates with a reason (both check service acceptance criteria, which no
// route sets: the SDK's SetAcceptance does), and retires, its gate
// passing (no subscription, no service CI).
func TestLifecycleCommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		owner := client{t, url, "owner-token"}
		w, r := walkOpen[lifecycle.Record](t, owner, "/lifecycles", `{"entry_id":"`+charteredEntry(t, owner)+`"}`)
		if r.Stage != lifecycle.StageStrategy {
			t.Fatalf("open: %s", r.Stage)
		}
		if r = walkRun[lifecycle.Record](w, owner, "design", ``); r.Stage != lifecycle.StageDesign || len(r.Overrides) != 0 {
			t.Fatalf("design: %s, overrides %+v", r.Stage, r.Overrides)
		}
		r = walkRun[lifecycle.Record](w, owner, "update_section", `{"section":"`+lifecycle.SectionRequirements+`","owner":"olga",`+
			`"state":"complete","evidence":["https://wiki.example/mail/requirements"]}`)
		if i := slices.IndexFunc(r.Design, func(s lifecycle.Section) bool { return s.Name == lifecycle.SectionRequirements }); i < 0 ||
			r.Design[i].State != lifecycle.SectionComplete || r.Design[i].Owner != "olga" || len(r.Design[i].Evidence) != 1 {
			t.Fatalf("update_section: %+v", r.Design)
		}
		// The transition and operate gates fail without acceptance
		// criteria, which only the SDK sets: each is overridden.
		w.refused(owner, "transition", ``, 409)
		r = walkRun[lifecycle.Record](w, owner, "transition", `{"reason":"acceptance agreed on paper with the business"}`)
		if r.Stage != lifecycle.StageTransition || len(r.Overrides) != 1 || r.Overrides[0].Move != lifecycle.MoveTransition || r.EarlyLife.Since.IsZero() {
			t.Fatalf("transition: %s, overrides %+v", r.Stage, r.Overrides)
		}
		r = walkRun[lifecycle.Record](w, owner, "operate", `{"reason":"early life support waived by the business"}`)
		if r.Stage != lifecycle.StageOperation || len(r.Overrides) != 2 || r.Overrides[1].Move != lifecycle.MoveOperate {
			t.Fatalf("operate: %s, overrides %+v", r.Stage, r.Overrides)
		}
		if r = walkRun[lifecycle.Record](w, owner, "retire", ``); r.Stage != lifecycle.StageRetired || len(r.Overrides) != 2 {
			t.Fatalf("retire: %s, overrides %+v", r.Stage, r.Overrides)
		}
	})
}

// TestInitiativeCommands: an improvement initiative is accepted,
// assessed, approved and started, put on hold and resumed, taken to
// monitor/review, reviewed (its review date has come: its KPI, the
// backlog, measured) and closed; another is canceled.
func TestInitiativeCommands(t *testing.T) {
	each(t, func(t *testing.T, url string) {
		owner := client{t, url, "owner-token"}
		raise := `{"title":"Keep the backlog down","priority":3,"effort":"S","type":"process","kpi":"` + lifecycle.KPIBacklog + `",` +
			`"base":"12","target":"5","review_date":"` + time.Now().UTC().Add(-time.Hour).Format(time.RFC3339) + `"}`
		w, x := walkOpen[lifecycle.Initiative](t, owner, "/initiatives", raise)
		if x.State != lifecycle.InitiativeNew {
			t.Fatalf("raise: %s", x.State)
		}
		for _, m := range []struct {
			move string
			to   lifecycle.InitiativeState
		}{
			{"accept", lifecycle.InitiativeAccepted}, {"assess", lifecycle.InitiativeAssess}, {"approve", lifecycle.InitiativeApproved},
			{"start", lifecycle.InitiativeInProgress}, {"hold", lifecycle.InitiativeOnHold}, {"resume", lifecycle.InitiativeInProgress},
			{"monitor", lifecycle.InitiativeReview},
		} {
			if x = walkRun[lifecycle.Initiative](w, owner, m.move, ``); x.State != m.to {
				t.Fatalf("%s: %s, want %s", m.move, x.State, m.to)
			}
		}
		if x = walkRun[lifecycle.Initiative](w, owner, "review", ``); x.Measured == nil || x.MeasuredAt.IsZero() || x.State != lifecycle.InitiativeReview {
			t.Fatalf("review: %s, measured %v", x.State, x.Measured)
		}
		if x = walkRun[lifecycle.Initiative](w, owner, "close", ``); x.State != lifecycle.InitiativeClosed {
			t.Fatalf("close: %s", x.State)
		}

		w, _ = walkOpen[lifecycle.Initiative](t, owner, "/initiatives", raise)
		if x = walkRun[lifecycle.Initiative](w, owner, "cancel", ``); x.State != lifecycle.InitiativeCanceled {
			t.Fatalf("cancel: %s", x.State)
		}
	})
}
