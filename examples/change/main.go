// Change tells the stories change enablement exists for, on one store and
// a simulated clock:
//
//   - a normal change to a mission-critical database: its risk assessed
//     from the CMDB, approved by its assignment group in Assess (after a
//     rejection), authorized by the change advisory board at its weekly
//     meeting, scheduled, implemented through its tasks, reviewed and
//     closed, with the journal answering who approved what;
//
//   - a standard change made from a published template, pre-approved;
//
//   - an emergency change authorized by the emergency CAB, whose
//     post-implementation review turns its findings into a problem;
//
//   - a normal change that fixes that problem: closing it completes the
//     problem's fix record, and the problem is resolved.
//
//     go run ./examples/change
//     go run ./examples/change -store sqlite:/tmp/itil.db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/internal/store"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm/calendar"
)

func main() {
	spec := store.Flag()
	flag.Parse()
	if err := run(context.Background(), *spec); err != nil {
		log.Fatal(err)
	}
}

// The people of the stories. Groups are resolved by the Directory below.
var (
	rita  = itil.Actor{ID: "rita", Name: "Rita (shop product owner)"}
	dan   = itil.Actor{ID: "dan", Name: "Dan (DBA)"}
	dora  = itil.Actor{ID: "dora", Name: "Dora (DBA)"}
	carla = itil.Actor{ID: "carla", Name: "Carla (change manager)"}
	mia   = itil.Actor{ID: "mia", Name: "Mia (CAB, security)"}
	nils  = itil.Actor{ID: "nils", Name: "Nils (CAB, operations)"}
	wes   = itil.Actor{ID: "wes", Name: "Wes (web operations)"}
	erin  = itil.Actor{ID: "erin", Name: "Erin (emergency CAB)"}
	ana   = itil.Actor{ID: "ana", Name: "Ana (problem analyst)"}
	admin = itil.Actor{ID: "cmdb-admin"}
)

// world is what every scenario works with: the services on one store,
// the simulated clock and the CIs.
type world struct {
	now       time.Time
	changes   *change.Service
	problems  *problem.Service
	incidents *incident.Service
	cis       *cmdb.Service
	db        *cmdb.CI // db-01, mission critical: the shop's database
	web       *cmdb.CI // web-01, the shop's web server
	gateway   *cmdb.CI // pay-gw-01, the payment gateway
}

// say prints a line stamped with the simulated time.
func (w *world) say(format string, args ...any) {
	fmt.Printf("%s  %s\n", w.now.Format("Mon 02 15:04"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, spec string) (err error) {
	st, closeStore, err := store.Open(ctx, spec, "change")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	// Monday 2 March 2026, 08:00 UTC.
	w := &world{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	clock := itil.ClockFunc(func() time.Time { return w.now })
	if w.cis, err = cmdb.New(st, cmdb.WithClock(clock)); err != nil {
		return err
	}
	if w.incidents, err = incident.New(st, incident.WithClock(clock)); err != nil {
		return err
	}
	if w.problems, err = problem.New(st, problem.WithClock(clock), problem.WithIncidents(w.incidents)); err != nil {
		return err
	}
	// The change Service reads the CIs' criticality and the services
	// they support from the CMDB, resolves approver groups through the
	// Directory, records the problems its changes fix through the
	// problem Service and releases the incidents awaiting a change through
	// the incident Service, all on the same store. The default approval rules
	// ask the assignment group in Assess, the CAB (group "cab") in
	// Authorize when the risk is moderate or higher, and the emergency
	// CAB (group "ecab") for an emergency change.
	directory := change.DirectoryMap{
		"dba":                    {"dan", "dora"},
		"web-ops":                {"wes", "dan"},
		change.GroupCAB:          {"mia", "nils", "omar"},
		change.GroupEmergencyCAB: {"erin", "carla"},
	}
	w.changes, err = change.New(st, change.WithClock(clock), change.WithDirectory(directory),
		change.WithCMDB(w.cis), change.WithProblems(w.problems), change.WithIncidents(w.incidents))
	if err != nil {
		return err
	}
	if err := w.estate(ctx); err != nil {
		return err
	}

	if err := normalChange(ctx, w); err != nil {
		return fmt.Errorf("normal change: %w", err)
	}
	if err := standardChange(ctx, w); err != nil {
		return fmt.Errorf("standard change: %w", err)
	}
	prb, err := emergencyChange(ctx, w)
	if err != nil {
		return fmt.Errorf("emergency change: %w", err)
	}
	if err := fixProblem(ctx, w, prb); err != nil {
		return fmt.Errorf("change that fixes a problem: %w", err)
	}
	if err := history(ctx, w); err != nil {
		return fmt.Errorf("what changed: %w", err)
	}
	if err := schedule(ctx, w); err != nil {
		return fmt.Errorf("the change schedule: %w", err)
	}
	return nil
}

// estate records the CIs the changes touch: the online shop runs on a web
// server and a mission-critical database, and takes payments through a
// gateway.
func (w *world) estate(ctx context.Context) error {
	ci := func(class, name string, crit cmdb.Criticality) (*cmdb.CI, error) {
		return w.cis.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational, Criticality: crit})
	}
	shop, err := ci(cmdb.ClassBusinessService, "Online shop", cmdb.MissionCritical)
	if err != nil {
		return err
	}
	app, err := ci(cmdb.ClassApplication, "Checkout", cmdb.High)
	if err != nil {
		return err
	}
	if w.db, err = ci(cmdb.ClassLinuxServer, "db-01", cmdb.MissionCritical); err != nil {
		return err
	}
	if w.web, err = ci(cmdb.ClassLinuxServer, "web-01", cmdb.Medium); err != nil {
		return err
	}
	if w.gateway, err = ci(cmdb.ClassLinuxServer, "pay-gw-01", cmdb.High); err != nil {
		return err
	}
	for _, r := range []struct {
		typ           string
		parent, child *cmdb.CI
	}{{cmdb.DependsOn, shop, app}, {cmdb.RunsOn, app, w.db}, {cmdb.RunsOn, app, w.web}, {cmdb.RunsOn, app, w.gateway}} {
		if _, err := w.cis.Relate(ctx, admin, r.typ, r.parent.ID, r.child.ID); err != nil {
			return err
		}
	}
	return nil
}

// normalChange is scenario (a): a change whose risk is judged case by
// case, approved by its group, authorized by the CAB, then scheduled,
// implemented, reviewed and closed.
func normalChange(ctx context.Context, w *world) error {
	fmt.Println("== A normal change: assessed, approved, authorized by the CAB")
	cs := w.changes

	// The CAB meets every Tuesday at 10:00. Its agenda takes the normal
	// changes waiting in Authorize with a moderate risk or higher, planned
	// to start within a week of the meeting.
	board, err := cs.CreateBoard(ctx, carla, change.NewBoard{
		Name: "Weekly CAB", Manager: "carla", Members: []string{"mia", "nils", "omar"},
		Recurrence: change.Recurrence{Zone: "UTC", Weekdays: []time.Weekday{time.Tuesday},
			Start: calendar.At(10, 0), Duration: time.Hour},
		Window: 7 * 24 * time.Hour,
		Agenda: change.Condition{All: []change.Condition{
			{Field: "type", Op: change.OpEq, Value: change.ModelNormal},
			{Field: "state", Op: change.OpEq, Value: string(change.StateAuthorize)},
			{Field: "risk", Op: change.OpGte, Value: "moderate"},
		}},
	})
	if err != nil {
		return err
	}
	meetings, err := cs.ScheduleMeetings(ctx, carla, board.ID, w.now, w.now.AddDate(0, 0, 14))
	if err != nil {
		return err
	}
	w.say("%s meets %d times in the next two weeks, first on %s", board.Name, len(meetings),
		meetings[0].Start.Format("Mon 02 15:04"))

	// 1. The request for change: what, why, how, how to back out, and
	// when. Planned times are required from Assess on.
	start := time.Date(2026, 3, 5, 22, 0, 0, 0, time.UTC) // Thursday night's maintenance window
	ch, err := cs.Open(ctx, rita, change.NewChange{
		Title:           "Upgrade PostgreSQL 15 to 16 on db-01",
		Justification:   "PostgreSQL 15 leaves vendor support; 16 fixes the checkout lock waits",
		Implementation:  "pg_upgrade --link on a stopped cluster; reindex; analyze",
		TestPlan:        "place a test order; compare the nightly report",
		AssignmentGroup: "dba", Assignee: "dan", CIID: w.db.ID,
		PlannedStart: start, PlannedEnd: start.Add(4 * time.Hour),
	})
	if err != nil {
		return err
	}
	w.say("%s opened by %s: %q, model %s, state %s", ch.Number, ch.RequestedBy.Name, ch.Title, ch.Model, ch.State)

	// 2. Risk: the default risk model rates a change to a mission-critical
	// CI high, and the CMDB says which business services it puts at risk.
	w.now = w.now.Add(30 * time.Minute)
	if ch, err = cs.AssessRisk(ctx, dan, ch.ID, nil); err != nil {
		return err
	}
	w.say("%s risk %s, affects %d business service(s); how it was reached:", ch.Number, ch.Risk, len(ch.AffectedServices))
	for _, line := range strings.Split(ch.RiskExplanation, "\n") {
		fmt.Println("              " + line)
	}

	// 3. Assess: a peer in the assignment group reviews the plan.
	// Segregation of duties leaves out the requester and the assignee, who
	// implements the change: of the DBAs only Dora is asked.
	if ch, err = cs.Move(ctx, rita, ch.ID, change.MoveAssess); err != nil {
		return err
	}
	if err := printAsked(ctx, w, ch); err != nil {
		return err
	}
	// A rejection sends the change back to New, with the reason.
	w.now = w.now.Add(2 * time.Hour)
	if ch, err = cs.Reject(ctx, dora, ch.ID, "no backout plan: how do we go back to 15?"); err != nil {
		return err
	}
	w.say("%s rejected by %s: back to %s (round %d refused)", ch.Number, dora.Name, ch.State, ch.ApprovalRounds)
	backout := "restore the 15 cluster from the pre-upgrade snapshot (tested: 25 min)"
	if _, err = cs.Update(ctx, dan, ch.ID, change.Patch{Backout: &backout}); err != nil {
		return err
	}
	if _, err = cs.Move(ctx, rita, ch.ID, change.MoveAssess); err != nil {
		return err
	}
	w.now = w.now.Add(time.Hour)
	if ch, err = cs.Approve(ctx, dora, ch.ID, "backout plan tested; fine"); err != nil {
		return err
	}
	w.say("backout plan added; %s approved by %s in round %d: %s", ch.Number, dora.Name, ch.ApprovalRounds, ch.Approval.Verdict)

	// 4. Authorize: a high risk needs half of the CAB. Entering Authorize
	// asks them; the board's next meeting puts the change on its agenda.
	if ch, err = cs.Move(ctx, carla, ch.ID, change.MoveAuthorize); err != nil {
		return err
	}
	if err := printAsked(ctx, w, ch); err != nil {
		return err
	}
	m, err := cs.BuildAgenda(ctx, carla, meetings[0].ID)
	if err != nil {
		return err
	}
	for _, it := range m.Items {
		w.say("agenda of %s: %d. %s", m.Start.Format("Mon 02 15:04"), it.Order, it.Number)
	}

	// Tuesday 10:00: the meeting. Members record their approvals; the
	// board's manager records the meeting's decision and minutes.
	w.now = meetings[0].Start
	if _, err = cs.StartMeeting(ctx, carla, m.ID); err != nil {
		return err
	}
	if _, err = cs.SetAttendees(ctx, carla, m.ID, []string{"carla", "mia", "nils"}); err != nil {
		return err
	}
	for _, member := range []itil.Actor{mia, nils} {
		w.now = w.now.Add(10 * time.Minute)
		if ch, err = cs.Approve(ctx, member, ch.ID, "approved at the CAB"); err != nil {
			return err
		}
		w.say("%s approves: %s", member.Name, ch.Approval.Verdict)
	}
	if m, err = cs.RecordMinutes(ctx, carla, m.ID, ch.ID,
		"Backout rehearsed on staging; DBA on call until 02:00.", change.DecisionApproved); err != nil {
		return err
	}
	if m, err = cs.CompleteMeeting(ctx, carla, m.ID); err != nil {
		return err
	}
	w.say("meeting %s: %s %s by %s", m.State, m.Items[0].Number, m.Items[0].Decision, m.Items[0].DecidedBy.Name)

	// 5. Scheduled, then implemented in its window. Entering Implement
	// opens an implement task for the assignee and a test task; their
	// start and end are the change's actual times.
	if ch, err = cs.Move(ctx, carla, ch.ID, change.MoveSchedule); err != nil {
		return err
	}
	w.say("%s %s for %s to %s", ch.Number, ch.State, ch.PlannedStart.Format("Mon 02 15:04"), ch.PlannedEnd.Format("Mon 02 15:04"))
	w.now = start
	if ch, err = cs.Move(ctx, dan, ch.ID, change.MoveImplement); err != nil {
		return err
	}
	if err := workTasks(ctx, w, ch, 95*time.Minute, "upgraded to 16.4; reindexed", "test order placed and paid"); err != nil {
		return err
	}

	// 6. Review and close: it went to plan.
	if ch, err = cs.Move(ctx, dan, ch.ID, change.MoveReview); err != nil {
		return err
	}
	w.now = w.now.Add(8 * time.Hour)
	if ch, err = cs.Close(ctx, carla, ch.ID, change.Successful, "upgraded in the window; no incident since"); err != nil {
		return err
	}
	w.say("%s %s %s; actual %s to %s", ch.Number, ch.State, ch.CloseCode,
		ch.ActualStart.Format("Mon 02 15:04"), ch.ActualEnd.Format("Mon 02 15:04"))

	// Every outage review asks what changed, who approved it and whether
	// the risk was known: the change and its approval records answer.
	approvals, err := cs.Approvals(ctx, ch.ID)
	if err != nil {
		return err
	}
	w.say("who decided %s (risk %s):", ch.Number, ch.Risk)
	for _, a := range approvals {
		fmt.Printf("              round %d %-10s %-5s %s %s\n", a.Round, a.Step, a.Approver, a.State, a.DecidedAt.Format("Mon 02 15:04"))
	}
	return nil
}

// standardChange is scenario (b): a low-risk, well-known change described
// once as a template, approved once by change management, and then made
// as often as needed without asking again.
func standardChange(ctx context.Context, w *world) error {
	fmt.Println("\n== A standard change from a template")
	cs := w.changes
	w.now = time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC) // Monday
	tp, err := cs.ProposeTemplate(ctx, wes, change.NewTemplate{
		Name: "Renew the TLS certificate of web-01", ShortDescription: "before the current one expires",
		Title: "Renew the TLS certificate of web-01", AssignmentGroup: "web-ops", CIID: w.web.ID,
		Implementation:  "install the renewed certificate; nginx -s reload",
		Backout:         "reinstall the previous certificate; nginx -s reload",
		TestPlan:        "check the certificate chain from outside",
		PlannedDuration: 30 * time.Minute,
	})
	if err != nil {
		return err
	}
	// Change management approves the proposal; the draft is requested
	// and published. From then on its changes are pre-approved.
	if _, err = cs.ApproveTemplate(ctx, carla, tp.ID); err != nil {
		return err
	}
	if _, err = cs.RequestTemplate(ctx, wes, tp.ID); err != nil {
		return err
	}
	if tp, err = cs.PublishTemplate(ctx, carla, tp.ID); err != nil {
		return err
	}
	w.say("template %s v%d %q %s", tp.Number, tp.Revision, tp.Name, tp.State)

	start := time.Date(2026, 3, 9, 12, 30, 0, 0, time.UTC)
	ch, err := cs.OpenFromTemplate(ctx, wes, tp.ID, change.FromTemplate{PlannedStart: start, Assignee: "wes"})
	if err != nil {
		return err
	}
	w.say("%s from %s v%d: model %s, planned %s to %s", ch.Number, tp.Number, ch.TemplateVersion, ch.Model,
		ch.PlannedStart.Format("15:04"), ch.PlannedEnd.Format("15:04"))
	// The fields the template fixes are read-only on the change.
	title := "Renew every certificate"
	if _, err := cs.Update(ctx, wes, ch.ID, change.Patch{Title: &title}); err != nil {
		w.say("editing its title is refused: %v", err)
	} else {
		return errors.New("a templated change's title was edited")
	}
	// No Assess, no Authorize: straight from New to Scheduled.
	if ch, err = cs.Move(ctx, wes, ch.ID, change.MoveSchedule); err != nil {
		return err
	}
	w.say("%s %s with no approval asked", ch.Number, ch.State)
	w.now = start
	if ch, err = cs.Move(ctx, wes, ch.ID, change.MoveImplement); err != nil {
		return err
	}
	if err := workTasks(ctx, w, ch, 12*time.Minute, "certificate installed; nginx reloaded", "chain valid until 2027"); err != nil {
		return err
	}
	if _, err = cs.Move(ctx, wes, ch.ID, change.MoveReview); err != nil {
		return err
	}
	if ch, err = cs.Close(ctx, wes, ch.ID, change.Successful, "renewed"); err != nil {
		return err
	}
	// Each version of the template counts how its changes went.
	if tp, err = cs.GetTemplate(ctx, tp.ID); err != nil {
		return err
	}
	rate, _ := tp.Usage.SuccessRate()
	w.say("%s %s %s; %s v%d: %d opened, %d successful (%.0f%%)", ch.Number, ch.State, ch.CloseCode,
		tp.Number, tp.Revision, tp.Usage.Opened, tp.Usage.Successful, 100*rate)
	return nil
}

// emergencyChange is scenario (c): service is down, and the fix cannot
// wait for the weekly CAB. The emergency CAB authorizes it at once; every
// emergency change is reviewed after, and this review's findings become
// a problem, which it returns.
func emergencyChange(ctx context.Context, w *world) (*problem.Problem, error) {
	fmt.Println("\n== An emergency change, its review, and a problem")
	cs := w.changes
	w.now = time.Date(2026, 3, 10, 14, 20, 0, 0, time.UTC) // Tuesday afternoon
	ch, err := cs.Open(ctx, wes, change.NewChange{Model: change.ModelEmergency,
		Title:           "Replace the expired certificate of pay-gw-01",
		Justification:   "card payments fail since 14:02: the gateway's certificate expired",
		Implementation:  "install a certificate from the internal CA; restart the gateway",
		Backout:         "none needed: payments are down already",
		AssignmentGroup: "web-ops", Assignee: "wes", CIID: w.gateway.ID,
	})
	if err != nil {
		return nil, err
	}
	w.say("%s opened: %q, model %s", ch.Number, ch.Title, ch.Model)
	if ch, err = cs.Move(ctx, wes, ch.ID, change.MoveAuthorize); err != nil {
		return nil, err
	}
	if err := printAsked(ctx, w, ch); err != nil {
		return nil, err
	}
	// One member of the emergency CAB is enough.
	w.now = w.now.Add(5 * time.Minute)
	if ch, err = cs.Approve(ctx, erin, ch.ID, "go: payments are down"); err != nil {
		return nil, err
	}
	w.say("%s approves by phone: %s", erin.Name, ch.Approval.Verdict)

	// Planned times are required to schedule: now, for half an hour.
	start, end := w.now.Add(5*time.Minute), w.now.Add(35*time.Minute)
	if _, err = cs.Update(ctx, wes, ch.ID, change.Patch{PlannedStart: &start, PlannedEnd: &end}); err != nil {
		return nil, err
	}
	if _, err = cs.Move(ctx, wes, ch.ID, change.MoveSchedule); err != nil {
		return nil, err
	}
	w.now = start
	if ch, err = cs.Move(ctx, wes, ch.ID, change.MoveImplement); err != nil {
		return nil, err
	}
	if err := workTasks(ctx, w, ch, 20*time.Minute, "certificate from the internal CA installed", "test payment accepted"); err != nil {
		return nil, err
	}
	if ch, err = cs.Move(ctx, wes, ch.ID, change.MoveReview); err != nil {
		return nil, err
	}

	// An emergency change closes only after its post-implementation
	// review: what happened, what was learned, what is to be done.
	if _, err = cs.Close(ctx, carla, ch.ID, change.Successful, "payments back at 15:00"); err != nil {
		w.say("closing before the review is refused: %v", err)
	} else {
		return nil, errors.New("an emergency change closed without a review")
	}
	w.now = time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC)
	if ch, err = cs.RecordReview(ctx, carla, ch.ID, change.ReviewInput{
		WhatHappened: "the gateway's certificate expired unnoticed; payments failed for 58 minutes",
		Lessons:      "nobody owns certificate expiry; the internal CA is a stopgap",
		FollowUps:    []string{"monitor certificate expiry on every gateway", "replace the internal CA certificate"},
	}); err != nil {
		return nil, err
	}
	if ch, err = cs.Close(ctx, carla, ch.ID, change.SuccessfulWithIssues, "payments back at 15:00; see the review"); err != nil {
		return nil, err
	}
	w.say("%s reviewed by %s and %s %s", ch.Number, ch.Review.ReviewedBy.Name, ch.State, ch.CloseCode)

	// The review's findings become a problem, so the cause is removed,
	// not just this symptom.
	p, err := cs.ReviewToProblem(ctx, carla, ch.ID)
	if err != nil {
		return nil, err
	}
	w.say("%s opened from the review: %q", p.Number, p.Title)
	return p, nil
}

// fixProblem is scenario (d): the problem's analyst finds the root cause,
// and the permanent fix goes through change management. The change is one
// of the problem's fix records; closing it completes the record, in the
// change's own transaction, and the problem is then resolved.
func fixProblem(ctx context.Context, w *world, p *problem.Problem) error {
	fmt.Println("\n== A change that fixes a problem")
	cs, ps := w.changes, w.problems

	// Problem management: assess, confirm, find the root cause.
	w.now = w.now.Add(time.Hour)
	impact, urgency := itil.Impact(2), itil.Urgency(2)
	if _, err := ps.Update(ctx, ana, p.ID, problem.Patch{Impact: &impact, Urgency: &urgency}); err != nil {
		return err
	}
	if _, err := ps.Assign(ctx, ana, p.ID, "problem-mgmt", "ana"); err != nil {
		return err
	}
	if _, err := ps.Assess(ctx, ana, p.ID); err != nil {
		return err
	}
	if _, err := ps.Confirm(ctx, ana, p.ID); err != nil {
		return err
	}
	cause := "certificates are renewed by hand from a calendar reminder, and nothing watches their expiry"
	if _, err := ps.Update(ctx, ana, p.ID, problem.Patch{CauseNotes: &cause}); err != nil {
		return err
	}
	p, err := ps.Fix(ctx, ana, p.ID)
	if err != nil {
		return err
	}
	w.say("%s %s: %s", p.Number, p.State, cause)

	// The fix is a normal change. LinkProblem lists it on the problem as
	// a fix record, in one transaction.
	start := time.Date(2026, 3, 12, 20, 0, 0, 0, time.UTC) // Thursday evening
	ch, err := cs.Open(ctx, ana, change.NewChange{
		Title:           "Monitor certificate expiry on the payment gateways",
		Justification:   "removes the cause of " + p.Number,
		Implementation:  "deploy the expiry probe; alert web-ops 30 days ahead",
		Backout:         "remove the probe",
		AssignmentGroup: "web-ops", Assignee: "wes", CIID: w.gateway.ID,
		PlannedStart: start, PlannedEnd: start.Add(time.Hour),
	})
	if err != nil {
		return err
	}
	if ch, err = cs.LinkProblem(ctx, ana, ch.ID, p.ID); err != nil {
		return err
	}
	if p, err = ps.Get(ctx, p.ID); err != nil {
		return err
	}
	w.say("%s fixes %s; fix record %s, fix ready: %t", ch.Number, p.Number, p.FixRecords[0].State, p.FixReady())

	// A customer's incident waits for the change: linked to it and On
	// Hold awaiting change, its clock stops until the change ends.
	inc, err := w.incidents.Open(ctx, wes, incident.NewIncident{Title: "Card payments refused: gateway certificate warnings",
		Caller: rita, Channel: incident.Email, Impact: 3, Urgency: 2, CIID: w.gateway.ID})
	if err != nil {
		return err
	}
	if _, err = cs.LinkIncident(ctx, wes, ch.ID, inc.ID); err != nil {
		return err
	}
	if inc, err = w.incidents.Hold(ctx, wes, inc.ID, incident.AwaitingChange, "waiting for the expiry probe of "+ch.Number); err != nil {
		return err
	}
	w.say("%s %s %s, awaiting %s", inc.Number, inc.State, inc.HoldReason, ch.Number)

	// A low risk (the gateway is not mission critical) needs no CAB: the
	// group approves in Assess, and Authorize asks no one.
	if ch, err = cs.AssessRisk(ctx, wes, ch.ID, nil); err != nil {
		return err
	}
	if _, err = cs.Move(ctx, ana, ch.ID, change.MoveAssess); err != nil {
		return err
	}
	if _, err = cs.Approve(ctx, dan, ch.ID, "probe reviewed"); err != nil {
		return err
	}
	if ch, err = cs.Move(ctx, ana, ch.ID, change.MoveAuthorize); err != nil {
		return err
	}
	w.say("%s risk %s, approved by %s in Assess", ch.Number, ch.Risk, dan.Name)
	if err := printAsked(ctx, w, ch); err != nil {
		return err
	}
	if _, err = cs.Move(ctx, ana, ch.ID, change.MoveSchedule); err != nil {
		return err
	}
	w.now = start
	if ch, err = cs.Move(ctx, wes, ch.ID, change.MoveImplement); err != nil {
		return err
	}
	if err := workTasks(ctx, w, ch, 40*time.Minute, "probe deployed on both gateways", "alert fired for a test certificate"); err != nil {
		return err
	}
	if _, err = cs.Move(ctx, wes, ch.ID, change.MoveReview); err != nil {
		return err
	}

	// Closing the change completes the problem's fix record in the same
	// transaction: the problem's fix is ready to resolve.
	w.now = w.now.Add(time.Hour)
	if ch, err = cs.Close(ctx, wes, ch.ID, change.Successful, "probe live; alerts reach web-ops"); err != nil {
		return err
	}
	if p, err = ps.Get(ctx, p.ID); err != nil {
		return err
	}
	w.say("%s %s %s: %s's fix record %s, fix ready: %t", ch.Number, ch.State, ch.CloseCode, p.Number,
		p.FixRecords[0].State, p.FixReady())
	if inc, err = w.incidents.Get(ctx, inc.ID); err != nil {
		return err
	}
	w.say("%s resumed by the change's close: %s", inc.Number, inc.State)

	w.now = w.now.Add(12 * time.Hour)
	fix := "certificate expiry probed on every gateway by " + ch.Number
	if _, err = ps.Update(ctx, ana, p.ID, problem.Patch{FixNotes: &fix}); err != nil {
		return err
	}
	if p, err = ps.Resolve(ctx, ana, p.ID); err != nil {
		return err
	}
	w.say("%s %s (%s)", p.Number, p.State, p.ResolutionCode)
	return nil
}

// printAsked prints what the change's current approval round waits for:
// each step of the policy the matching rules made, its wait rule, and the
// people asked (one approval record each).
func printAsked(ctx context.Context, w *world, ch *change.Change) error {
	r := ch.Approval
	if r == nil || r.State != ch.State || len(r.Policy.Steps) == 0 {
		w.say("%s in %s: no approval needed", ch.Number, ch.State)
		return nil
	}
	approvals, err := w.changes.Approvals(ctx, ch.ID)
	if err != nil {
		return err
	}
	for _, step := range r.Policy.Steps {
		var asked []string
		for _, a := range approvals {
			if a.Round == r.Round && a.Step == step.Name && a.State == change.ApprovalRequested {
				asked = append(asked, a.Approver)
			}
		}
		slices.Sort(asked)
		wait := string(step.WaitFor.Rule)
		if step.WaitFor.Rule == change.WaitPercent {
			wait = fmt.Sprintf("%d%%", step.WaitFor.Percent)
		}
		w.say("%s in %s waits for step %s: %s of %s", ch.Number, ch.State, step.Name, wait, strings.Join(asked, ", "))
	}
	return nil
}

// workTasks works the change's tasks in Implement: the implement task
// takes took, the test after it ten minutes.
func workTasks(ctx context.Context, w *world, ch *change.Change, took time.Duration, done, tested string) error {
	var tasks []*change.Task
	for t, err := range w.changes.Tasks(ctx, ch.ID) {
		if err != nil {
			return err
		}
		tasks = append(tasks, t)
	}
	for _, t := range tasks {
		notes, d := done, took
		if t.Type == change.TaskPostImplementationTest {
			notes, d = tested, 10*time.Minute
		}
		w.now = w.now.Add(5 * time.Minute)
		if _, err := w.changes.StartTask(ctx, itil.Actor{ID: ch.Assignee}, t.ID); err != nil {
			return err
		}
		w.now = w.now.Add(d)
		t, err := w.changes.CloseTask(ctx, itil.Actor{ID: ch.Assignee}, t.ID, notes)
		if err != nil {
			return err
		}
		w.say("%s %-24s %s %s: %s", t.Number, t.Type, t.State, t.ClosedAt.Format("15:04"), notes)
	}
	return nil
}

// history asks the outage review's question, "what changed?": an
// incident the normal change caused teaches the success scores of its
// group, model and CI, which the next risk assessment reads; and a change
// discovery saw on a CI, with no change being implemented there, becomes
// an unauthorized emergency change.
func history(ctx context.Context, w *world) error {
	fmt.Println("\n== What changed: caused incidents, success scores, unauthorized changes")
	cs := w.changes
	w.now = w.now.Add(24 * time.Hour)
	upgrade, err := cs.GetByNumber(ctx, "CHG0001001")
	if err != nil {
		return err
	}
	inc, err := w.incidents.Open(ctx, wes, incident.NewIncident{Title: "Shop search is slow since the database upgrade",
		Caller: rita, Channel: incident.Phone, Impact: 2, Urgency: 2, CIID: w.db.ID})
	if err != nil {
		return err
	}
	if _, err = cs.LinkCausedIncident(ctx, dan, upgrade.ID, inc.ID); err != nil {
		return err
	}
	for _, k := range []struct {
		of   change.ScoreOf
		name string
	}{{change.ScoreOfGroup, upgrade.AssignmentGroup}, {change.ScoreOfModel, upgrade.Model}, {change.ScoreOfCI, w.db.ID.String()}} {
		s, err := cs.SuccessScore(ctx, k.of, k.name)
		if err != nil {
			return err
		}
		label := k.name
		if k.of == change.ScoreOfCI {
			label = w.db.Name
		}
		w.say("success score of %s %s: %d (%d successful, %d caused %s), rated %s", k.of, label, s.Score,
			s.Successful, s.Caused[inc.Priority-1], inc.Priority, s.Rating)
	}

	seen := w.now.Add(-2 * time.Hour)
	un, err := cs.RecordUnplanned(ctx, itil.Actor{ID: "discovery", Name: "Discovery"}, change.Unplanned{
		CIID: w.web.ID, At: seen, Description: "nginx 1.24 → 1.26 on web-01", Source: "discovery"})
	if err != nil {
		return err
	}
	w.say("discovery saw nginx upgraded on %s at %s: %s, %s, unauthorized: %t", w.web.Name, seen.Format("15:04"),
		un.Number, un.Model, un.Unauthorized)
	return nil
}

// schedule is the change schedule: a year-end freeze on the shop's
// database and its Sunday maintenance window, a change that conflicts
// with both and with another change, a freeze that blocks until change
// management overrides it with a reason, the next free slots, and the
// calendar, printed and written as an iCalendar file.
func schedule(ctx context.Context, w *world) error {
	fmt.Println("\n== The change schedule: windows, conflicts, the next free slot, the calendar")
	cs := w.changes
	enforce := func(spec change.ScheduleSpec) (*change.Schedule, error) {
		sc, err := cs.CreateSchedule(ctx, carla, spec)
		if err != nil {
			return nil, err
		}
		if _, err := cs.ApproveSchedule(ctx, carla, sc.ID); err != nil {
			return nil, err
		}
		return cs.EnforceSchedule(ctx, carla, sc.ID)
	}
	var sundays calendar.Week
	sundays[time.Sunday] = []calendar.Window{calendar.Hours(1, 0, 5, 0)}
	if _, err := enforce(change.ScheduleSpec{Name: "Database maintenance", Type: change.MaintenanceSchedule,
		Windows: calendar.Spec{Zone: "Europe/Paris", Week: sundays},
		Scope:   change.Scope{CIs: []itil.ID{w.db.ID}}}); err != nil {
		return err
	}
	freeze, err := enforce(change.ScheduleSpec{Name: "Year-end freeze", Type: change.BlackoutSchedule,
		Windows: calendar.Spec{Zone: "Europe/Paris"},
		Ranges:  []change.DateRange{{From: calendar.Date{Year: 2026, Month: 12, Day: 18}, To: calendar.Date{Year: 2027, Month: 1, Day: 3}}},
		Scope:   change.Scope{Classes: []string{cmdb.ClassServer}}})
	if err != nil {
		return err
	}
	w.say("enforced: Sunday 01:00-05:00 maintenance on %s; %q on every server, 18 Dec to 3 Jan", w.db.Name, freeze.Spec.Name)

	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2026, 12, 22, 23, 0, 0, 0, paris) // a Tuesday, inside the freeze
	web, err := cs.Open(ctx, wes, change.NewChange{Model: change.ModelEmergency, Title: "Renew the TLS certificate of web-01",
		AssignmentGroup: "web-ops", Assignee: "wes", CIID: w.web.ID, PlannedStart: at, PlannedEnd: at.Add(time.Hour)})
	if err != nil {
		return err
	}
	ch, err := cs.Open(ctx, dan, change.NewChange{Model: change.ModelEmergency, Title: "Replace the failing disk of db-01",
		AssignmentGroup: "dba", Assignee: "dan", CIID: w.db.ID, PlannedStart: at, PlannedEnd: at.Add(2 * time.Hour)})
	if err != nil {
		return err
	}
	w.say("%s planned %s: %d conflicts", ch.Number, at.Format("Mon 02 Jan 15:04 MST"), len(ch.Conflicts))
	for _, c := range ch.Conflicts {
		what := c.Number
		if c.ScheduleID != itil.NilID {
			what = strconv.Quote(c.ScheduleName)
		}
		w.say("  %-27s %-24s %s to %s", c.Kind, what, c.Start.In(paris).Format("Mon 02 15:04"), c.End.In(paris).Format("15:04"))
	}
	w.say("%s was judged again at the same time: %d conflict(s)", web.Number, len(mustGet(ctx, cs, web.ID).Conflicts))

	if _, err := cs.Move(ctx, dan, ch.ID, change.MoveAuthorize); err != nil {
		return err
	}
	if _, err := cs.Approve(ctx, erin, ch.ID, "the disk is failing"); err != nil {
		return err
	}
	_, err = cs.Move(ctx, dan, ch.ID, change.MoveSchedule)
	var blocked *change.ConflictError
	if !errors.As(err, &blocked) {
		return fmt.Errorf("the freeze should block: %v", err)
	}
	w.say("scheduling is refused: %d blocking conflict (%s)", len(blocked.Conflicts), blocked.Conflicts[0].Kind)
	if _, err := cs.OverrideConflicts(ctx, carla, ch.ID, "a failing disk puts the shop at risk: replace it now"); err != nil {
		return err
	}
	if ch, err = cs.Move(ctx, dan, ch.ID, change.MoveSchedule); err != nil {
		return err
	}
	w.say("%s %s after %s overrode the freeze: %q", ch.Number, ch.State, carla.Name, ch.ConflictOverride.Reason)

	// The routine reindex waits for a free Sunday window after the freeze.
	slots, err := cs.NextSlots(ctx, change.SlotRequest{CIIDs: []itil.ID{w.db.ID}, Duration: 3 * time.Hour,
		NotBefore: time.Date(2026, 12, 1, 0, 0, 0, 0, paris), Count: 3})
	if err != nil {
		return err
	}
	for _, sl := range slots {
		w.say("free for 3 h on %s: %s to %s", w.db.Name, sl.Start.In(paris).Format("Mon 02 Jan 15:04"), sl.End.In(paris).Format("15:04"))
	}

	// The calendar of the week, and the same as an iCalendar file.
	week := change.CalendarFilter{From: time.Date(2026, 12, 21, 0, 0, 0, 0, paris), To: time.Date(2026, 12, 28, 0, 0, 0, 0, paris)}
	for c, err := range cs.Calendar(ctx, week) {
		if err != nil {
			return err
		}
		w.say("calendar: %s %s %s %q", c.PlannedStart.In(paris).Format("Mon 02 15:04"), c.Number, c.State, c.Title)
	}
	var ical strings.Builder
	if err := cs.ICalendar(ctx, week, &ical); err != nil {
		return err
	}
	file := filepath.Join(os.TempDir(), "itil-change-calendar.ics")
	if err := os.WriteFile(file, []byte(ical.String()), 0o644); err != nil {
		return err
	}
	w.say("wrote %d events to %s (subscribe to it from a calendar app)", strings.Count(ical.String(), "BEGIN:VEVENT"), filepath.Base(file))
	return nil
}

func mustGet(ctx context.Context, cs *change.Service, id itil.ID) *change.Change {
	ch, err := cs.Get(ctx, id)
	if err != nil {
		panic(err)
	}
	return ch
}
