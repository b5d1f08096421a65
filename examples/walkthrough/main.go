// Walkthrough is a narrated tour of ITIL's service lifecycle for students.
// One service, a university's Learning platform, goes through the five
// stages on a simulated clock: its strategy, its design, its transition
// into production, a month of operation, and continual improvement. Each
// step prints what the SDK did, with its numbers, and a short "why": the
// ITIL idea at work.
//
//	go run ./examples/walkthrough         # the whole story
//	go run ./examples/walkthrough -step   # wait for Enter between stages
//
// Everything printed comes from what the SDK returned; only the "why"
// lines are written by hand. The output is checked by a golden file
// (go test ./examples/walkthrough; -update rewrites it).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // the story runs in Europe/London on any machine, with or without a zone database

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/strategy"
)

func main() {
	pause := flag.Bool("step", false, "wait for Enter between the stages")
	flag.Parse()
	step := func(string) {}
	if *pause {
		in := bufio.NewReader(os.Stdin)
		step = func(next string) {
			fmt.Printf("\n[Enter: %s] ", next)
			_, _ = in.ReadString('\n') // at the end of stdin, go on
		}
	}
	if err := run(os.Stdout, step); err != nil {
		log.Fatal(err)
	}
}

// clock is the simulated time every service reads (an itil.Clock): the
// story moves it forward, so every run prints the same times.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// narrator prints the story: stage headings, what happened (stamped with
// the simulated time) and why it matters.
type narrator struct {
	w     io.Writer
	clock *clock
	step  func(stage string)
}

func (n *narrator) stage(num int, title string) {
	heading := fmt.Sprintf("%d. %s", num, title)
	if num > 1 {
		n.step(heading) // -step pauses here, between two stages
		fmt.Fprintln(n.w)
	}
	fmt.Fprintf(n.w, "== %s ==\n", heading)
}

func (n *narrator) say(format string, args ...any) {
	fmt.Fprintf(n.w, "%s  %s\n", stamp(n.clock.now), fmt.Sprintf(format, args...))
}

// item prints a detail line under the last one said.
func (n *narrator) item(format string, args ...any) {
	fmt.Fprintf(n.w, "%18s%s\n", "", fmt.Sprintf(format, args...))
}

func (n *narrator) why(lines ...string) {
	for i, l := range lines {
		label := "    why: "
		if i > 0 {
			label = "         "
		}
		fmt.Fprintln(n.w, label+l)
	}
}

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func stamp(t time.Time) string { return t.In(london).Format("Mon 02 Jan 15:04") }

// dur prints a duration the way people say it: 4h, 30m, 4h30m.
func dur(d time.Duration) string {
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0m"
	}
	return s
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// failure carries an SDK error from check up to run, so that each step of
// the story reads as one line instead of three.
type failure struct{ err error }

func check[T any](v T, err error) T {
	if err != nil {
		panic(failure{err})
	}
	return v
}

// The people of the story. Groups are resolved by the change Service's
// Directory in run.
var (
	owen  = itil.Actor{ID: "owen", Name: "Owen (service owner)"}
	board = itil.Actor{ID: "board", Name: "the university's IT board"}
	lee   = itil.Actor{ID: "lee", Name: "Lee (platform engineer)"}
	lin   = itil.Actor{ID: "lin", Name: "Lin (platform engineer)"}
	carla = itil.Actor{ID: "carla", Name: "Carla (change manager)"}
	mia   = itil.Actor{ID: "mia", Name: "Mia (CAB, security)"}
	nils  = itil.Actor{ID: "nils", Name: "Nils (CAB, operations)"}
	desk  = itil.Actor{ID: "desk", Name: "the service desk"}
	ana   = itil.Actor{ID: "ana", Name: "Ana (problem analyst)"}
	zoe   = itil.Actor{ID: "zoe", Name: "Zoe (student)"}
)

func run(w io.Writer, step func(stage string)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			err = f.err
		}
	}()
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, london)} // Monday 2 March 2026, 09:00
	n := &narrator{w: w, clock: c, step: step}

	// Every process on one in-memory store, reading the simulated clock.
	// The SLA engine is the incident Service's hook: timers follow each
	// incident command in its own transaction.
	st := memory.NewStore()
	cis := check(cmdb.New(st, cmdb.WithClock(c)))
	sla := check(slm.NewEngine(st, slm.WithClock(c)))
	incidents := check(incident.New(st, incident.WithClock(c), incident.WithHook(sla)))
	problems := check(problem.New(st, problem.WithClock(c), problem.WithIncidents(incidents)))
	directory := change.DirectoryMap{"lms-team": {"lee", "lin"}, change.GroupCAB: {"mia", "nils", "omar"}}
	changes := check(change.New(st, change.WithClock(c), change.WithDirectory(directory), change.WithCMDB(cis),
		change.WithProblems(problems)))
	portfolio := check(strategy.New(st, strategy.WithClock(c), strategy.WithCMDB(cis), strategy.WithSLM(sla),
		strategy.WithIncidents(incidents)))
	life := check(lifecycle.New(st, portfolio, lifecycle.WithClock(c), lifecycle.WithCMDB(cis), lifecycle.WithChange(changes),
		lifecycle.WithIncidents(incidents), lifecycle.WithSLM(sla), lifecycle.WithProblems(problems)))
	gbp := func(s string) slm.Money { return slm.Money{Amount: dec(s), Currency: "GBP"} }

	// ---------------------------------------------------------------
	n.stage(1, "Service strategy")
	service := check(cis.CreateCI(ctx, owen, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Learning platform",
		Criticality: cmdb.High}))
	e := check(portfolio.Propose(ctx, owen, strategy.NewEntry{Name: "Learning platform", Type: strategy.BusinessService,
		Owner: owen.ID, ServiceCIID: service.ID, BusinessCase: strategy.BusinessCase{
			ExpectedOutcomes: []string{"students hand in coursework online", "lecturers publish course material"},
			ExpectedValue:    gbp("1200000"), ExpectedCost: gbp("450000"), Horizon: "3 years"}}))
	n.say("%s %q proposed by %s: status %s, in the %s", e.Number, e.Name, owen.Name, e.Status, e.Phase())
	n.item("business case: worth %s for %s over %s, for these outcomes:", e.BusinessCase.ExpectedValue,
		e.BusinessCase.ExpectedCost, e.BusinessCase.Horizon)
	for _, o := range e.BusinessCase.ExpectedOutcomes {
		n.item("  - %s", o)
	}
	n.why("A service exists to deliver value: outcomes its customers want, at a cost they accept.",
		"Value has two halves. Utility is what the service does (fit for purpose): the outcomes",
		"above. Warranty is how well it does it (fit for use): available, big enough, continuous",
		"and secure. Without both there is no value; the warranty is designed in stage 2.")

	cust := check(portfolio.AddCustomer(ctx, owen, "ENG", "School of Engineering", []strategy.Stakeholder{
		{Name: "Prof. Ada Byron, the dean", Role: strategy.RoleSponsor},
		{Name: "Sam Okafor, faculty manager", Role: strategy.RoleCustomer},
		{Name: "Zoe Park, student representative", Role: strategy.RoleUser}}))
	n.say("customer %s %q registered with %d stakeholders:", cust.Code, cust.Name, len(cust.Stakeholders))
	for _, s := range cust.Stakeholders {
		n.item("%-8s %s", s.Role, s.Name)
	}
	n.why("The sponsor pays for the service and champions it; the customer agrees what it must do",
		"and how well; users (here, students) use it every day. Strategy listens to all three.")

	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		e = check(portfolio.Move(ctx, owen, e.ID, m, ""))
	}
	n.say("%s defined, analysed and approved: status %s", e.Number, e.Status)
	if _, err := portfolio.Move(ctx, owen, e.ID, strategy.MoveCharter, ""); err == nil {
		return fmt.Errorf("%s was chartered without an approved business case", e.Number)
	} else {
		n.item("charter refused: %v", err)
	}
	check(portfolio.ApproveBusinessCase(ctx, board, e.ID))
	e = check(portfolio.Move(ctx, owen, e.ID, strategy.MoveCharter, ""))
	n.say("business case approved by %s; %s is %s", board.Name, e.Number, e.Status)
	n.why("The service portfolio holds every service: proposed ones in the pipeline, live ones in",
		"the catalogue, old ones retired. Nothing is built before someone accountable approves",
		"the business case: that approval is the charter.")

	rec := check(life.Open(ctx, owen, e.ID))
	// gate judges a move of the service's lifecycle record, prints each
	// check, and makes the move when every check passed.
	gate := func(move string) {
		g := check(life.Gate(ctx, rec.ID, move))
		n.say("%s: the gate from %s to %s", rec.Number, g.From, g.To)
		for _, ch := range g.Checks {
			mark := "✗"
			if ch.Passed {
				mark = "✓"
			}
			n.item("%s %-20s %s", mark, ch.Name, ch.Detail)
		}
		if g.Passed() {
			rec = check(life.Move(ctx, owen, rec.ID, move, ""))
			n.item("passed: the service is now in %s", rec.Stage)
		}
	}
	gate(lifecycle.MoveDesign)
	n.why("The lifecycle record follows the service through the stages. Each hand-over is a gate:",
		"checks on what the other processes hold, never a box ticked by hand.")

	// ---------------------------------------------------------------
	n.stage(2, "Service design")
	c.now = time.Date(2026, 3, 3, 9, 0, 0, 0, london)
	gate(lifecycle.MoveTransition)
	n.why("Design turns the strategy into a blueprint. The gate to transition says what is missing.")

	hours := calendar.Spec{Name: "Term-time support", Zone: "Europe/London", Country: "GB",
		Week: calendar.MondayToFriday(calendar.Hours(8, 0, 20, 0))}
	cal := check(calendar.New(hours))
	easter := time.Date(2026, 4, 2, 18, 0, 0, 0, london)
	n.say("calendar %q: weekdays 08:00-20:00, closed on %s bank holidays", hours.Name, hours.Country)
	n.item("8 business hours from %s run out at %s", stamp(easter), stamp(cal.Add(easter, 8*time.Hour)))
	n.why("SLA clocks run on business time: only while support is staffed. Over a weekend with",
		"bank holidays (Good Friday, Easter Monday) a few business hours take days.")

	p1 := slm.Condition{Priorities: []itil.Priority{itil.P1}}
	p2 := slm.Condition{Priorities: []itil.Priority{itil.P2}}
	response := slm.StandardDefinition("Learning platform response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "P1", When: p1, Duration: 30 * time.Minute}, slm.Target{Name: "others", Duration: 2 * time.Hour})
	resolution := slm.StandardDefinition("Learning platform resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "P1", When: p1, Duration: 4 * time.Hour}, slm.Target{Name: "P2", When: p2, Duration: 8 * time.Hour},
		slm.Target{Name: "others", Duration: 24 * time.Hour})
	var slas []*slm.Definition
	for _, d := range []slm.Definition{response, resolution} {
		d.Calendar = &hours
		d := check(sla.Define(ctx, owen, d))
		var targets []string
		for _, t := range d.Targets {
			targets = append(targets, t.Name+" "+dur(t.Duration))
		}
		n.say("SLA %q defined (revision %d): %s", d.Name, d.Revision, strings.Join(targets, ", "))
		slas = append(slas, d)
	}
	n.why("A service level agreement is the provider's promise to the customer, written as targets",
		"a clock can measure: how soon someone answers, how soon service is restored.")

	o := check(portfolio.AddOffering(ctx, owen, e.ID, strategy.NewOffering{Name: "Course site",
		Utility: e.BusinessCase.ExpectedOutcomes,
		Warranty: strategy.Warranty{Availability: "99.5% in term-time support hours", Capacity: "20000 students",
			Continuity: "back within 8 h, at most 1 h of work lost", Security: "single sign-on, data encrypted"},
		Commitments: strategy.Commitments{Availability: dec("99.5"), ServiceHours: &hours, ResponseSLA: slas[0].ID,
			ResolutionSLA: slas[1].ID, SLACompliance: dec("90"), RTO: 8 * time.Hour, RPO: time.Hour},
		Pricing:  strategy.Pricing{Model: strategy.PricePerUnit, Unit: "student", Currency: "GBP", Price: dec("0.75")},
		Capacity: decimal.NewFromInt(20000)}))
	e = check(portfolio.Move(ctx, owen, e.ID, strategy.MoveDesign, ""))
	o = check(portfolio.PublishOffering(ctx, owen, o.ID))
	n.say("offering %q %s: %s %s per %s a month, for up to %s", o.Name, o.State, o.Pricing.Price, o.Pricing.Currency,
		o.Pricing.Unit, o.Warranty.Capacity)
	n.item("utility:  %s", strings.Join(o.Utility, "; "))
	n.item("warranty: availability %s; capacity %s;", o.Warranty.Availability, o.Warranty.Capacity)
	n.item("          continuity %s; security %s", o.Warranty.Continuity, o.Warranty.Security)
	n.item("%s is now in status %s, in the %s", e.Number, e.Status, e.Phase())
	n.why("The offering is what the customer buys: its utility and its warranty made concrete, with",
		"commitments (99.5% availability, the two SLAs) the customer can hold the provider to.")

	app := check(cis.CreateCI(ctx, lee, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "moodle", Criticality: cmdb.High}))
	db := check(cis.CreateCI(ctx, lee, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "lms-db-01",
		Criticality: cmdb.MissionCritical}))
	check(cis.Relate(ctx, lee, cmdb.DependsOn, service.ID, app.ID))
	check(cis.Relate(ctx, lee, cmdb.RunsOn, app.ID, db.ID))
	impact := check(cis.Impact(ctx, db.ID, cmdb.ImpactOptions{Direction: cmdb.Upstream, MaxDepth: 5, Limit: 100}))
	n.say("CMDB: %s depends on %s, which runs on %s (all %s); if %s fails:", service.Name, app.Name, db.Name,
		db.State, db.Name)
	for _, a := range impact.Affected {
		n.item("  %s (%s) is affected, %d step(s) away", a.Name, a.Class, a.Depth)
	}
	n.why("The configuration management database records the configuration items (CIs) and how",
		"they depend on each other, so a failure or a change shows at once what it touches.")

	complete := lifecycle.SectionComplete
	for _, name := range lifecycle.DesignSections() {
		check(life.UpdateSection(ctx, owen, rec.ID, name, lifecycle.SectionPatch{Owner: &owen.ID, State: &complete,
			Evidence: &[]string{"https://wiki.example.ac.uk/lms/design#" + name}}))
	}
	criteria := []lifecycle.Criterion{{Text: "a 50 MB assignment uploads in under a minute"},
		{Text: "2000 students can sit a quiz at once"}}
	rec = check(life.SetAcceptance(ctx, owen, rec.ID, criteria))
	var sections []string
	for _, s := range rec.Design {
		sections = append(sections, s.Name)
	}
	n.say("design package: %d sections %s, %d acceptance criteria", len(rec.Design), rec.Design[0].State, len(rec.Acceptance))
	n.item("%s,", strings.Join(sections[:6], ", "))
	n.item("%s", strings.Join(sections[6:], ", "))
	n.why("The service design package is everything transition needs to build, test and run the",
		"service; the acceptance criteria say when it is good enough to go live.")
	gate(lifecycle.MoveTransition)

	// ---------------------------------------------------------------
	n.stage(3, "Service transition")
	c.now = time.Date(2026, 3, 4, 9, 0, 0, 0, london)
	var saturdays calendar.Week
	saturdays[time.Saturday] = []calendar.Window{calendar.Hours(6, 0, 10, 0)}
	window := check(changes.CreateSchedule(ctx, carla, change.ScheduleSpec{Name: "LMS maintenance",
		Type: change.MaintenanceSchedule, Windows: calendar.Spec{Zone: "Europe/London", Week: saturdays},
		Scope: change.Scope{CIs: []itil.ID{app.ID, db.ID}}}))
	check(changes.ApproveSchedule(ctx, carla, window.ID))
	window = check(changes.EnforceSchedule(ctx, carla, window.ID))
	n.say("maintenance window %q %s: Saturdays 06:00-10:00 for %s and %s", window.Spec.Name, window.State, app.Name, db.Name)

	start := time.Date(2026, 3, 5, 14, 0, 0, 0, london)
	ch := check(changes.Open(ctx, lee, change.NewChange{Title: "Deploy the learning platform to production",
		Justification: "charter of " + e.Number, Implementation: "ansible-playbook lms.yml",
		Backout: "restore the VM snapshots", TestPlan: "upload a 50 MB file; a 2000-student quiz load test",
		AssignmentGroup: "lms-team", Assignee: "lee", CIID: db.ID, CIIDs: []itil.ID{app.ID},
		PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour)}))
	n.say("%s %q opened by %s, a %s change, planned %s", ch.Number, ch.Title, lee.Name, ch.Model, stamp(ch.PlannedStart))
	// One line per kind of conflict: each CI, and each CI related to
	// it, is outside the window.
	for i, cf := range ch.Conflicts {
		if i == 0 || cf.Kind != ch.Conflicts[i-1].Kind || cf.ScheduleName != ch.Conflicts[i-1].ScheduleName {
			n.item("conflict: %s %q, %s-%s", cf.Kind, cf.ScheduleName, stamp(cf.Start), cf.End.In(london).Format("15:04"))
		}
	}
	slot := check(changes.NextSlots(ctx, change.SlotRequest{ChangeID: ch.ID, Count: 1}))[0]
	end := slot.Start.Add(2 * time.Hour)
	ch = check(changes.Update(ctx, lee, ch.ID, change.Patch{PlannedStart: &slot.Start, PlannedEnd: &end}))
	n.say("next free slot %s; replanned to it: %d conflicts", stamp(slot.Start), len(ch.Conflicts))
	n.why("The change schedule says when changes may happen: inside agreed maintenance windows and",
		"away from other changes to the same CIs, so that nobody is surprised.")

	ch = check(changes.AssessRisk(ctx, lee, ch.ID, nil))
	n.say("%s risk assessed: %s; business services at risk: %d. How it was reached:", ch.Number, ch.Risk,
		len(ch.AffectedServices))
	for _, l := range strings.Split(ch.RiskExplanation, "\n") {
		n.item("  %s", l)
	}
	n.why("Risk is how likely a change is to go wrong and how much harm it would do. A change",
		"to a mission-critical database is high risk, so more people must look at it.")

	// asked prints whom the change's current approval round waits for.
	asked := func() {
		var who []string
		for _, a := range check(changes.Approvals(ctx, ch.ID)) {
			if a.Round == ch.Approval.Round && a.State == change.ApprovalRequested {
				who = append(who, a.Approver)
			}
		}
		for _, s := range ch.Approval.Policy.Steps {
			wait := string(s.WaitFor.Rule)
			if s.WaitFor.Rule == change.WaitPercent {
				wait = fmt.Sprintf("%d%%", s.WaitFor.Percent)
			}
			n.say("%s in %s waits for %s of: %s", ch.Number, ch.State, wait, strings.Join(who, ", "))
		}
	}
	ch = check(changes.Move(ctx, lee, ch.ID, change.MoveAssess))
	asked()
	ch = check(changes.Approve(ctx, lin, ch.ID, "plan and backout reviewed"))
	n.item("%s approves for lms-team: %s", lin.Name, ch.Approval.Verdict)
	ch = check(changes.Move(ctx, carla, ch.ID, change.MoveAuthorize))
	asked()
	for _, member := range []itil.Actor{mia, nils} {
		ch = check(changes.Approve(ctx, member, ch.ID, "authorized at the CAB"))
		n.item("%s approves: %s", member.Name, ch.Approval.Verdict)
	}
	n.why("Segregation of duties: Lee does the change, so a peer approves it. The change advisory",
		"board (CAB) knows the services and their users; half of it must authorize a high risk.")

	ch = check(changes.Move(ctx, carla, ch.ID, change.MoveSchedule))
	n.say("%s %s for %s-%s", ch.Number, ch.State, stamp(ch.PlannedStart), ch.PlannedEnd.In(london).Format("15:04"))
	c.now = ch.PlannedStart
	ch = check(changes.Move(ctx, lee, ch.ID, change.MoveImplement))
	built := []*cmdb.CI{service, app, db}
	for _, ci := range built {
		check(cis.SetState(ctx, lee, ci.ID, cmdb.InBuild))
	}
	var tasks []*change.Task
	for t, err := range changes.Tasks(ctx, ch.ID) {
		tasks = append(tasks, check(t, err))
	}
	for _, t := range tasks {
		c.now = c.now.Add(5 * time.Minute)
		check(changes.StartTask(ctx, lee, t.ID))
		c.now = c.now.Add(40 * time.Minute)
		t = check(changes.CloseTask(ctx, lee, t.ID, "done as planned"))
		n.item("%s %s %s at %s", t.Number, t.Type, t.State, t.ClosedAt.In(london).Format("15:04"))
	}
	ch = check(changes.Move(ctx, lee, ch.ID, change.MoveReview))
	c.now = c.now.Add(time.Hour)
	ch = check(changes.Close(ctx, carla, ch.ID, change.Successful, "deployed in the window; every test passed"))
	for i, ci := range built {
		built[i] = check(cis.SetState(ctx, lee, ci.ID, cmdb.Operational))
	}
	n.say("%s %s %s, done %s-%s; the CMDB has its CIs %s", ch.Number, ch.State, ch.CloseCode, stamp(ch.ActualStart),
		ch.ActualEnd.In(london).Format("15:04"), built[0].State)

	rec = check(life.SetChanges(ctx, owen, rec.ID, []itil.ID{ch.ID}))
	for i := range criteria {
		criteria[i].Met, criteria[i].Evidence = true, "https://tests.example.ac.uk/lms/acceptance"
	}
	rec = check(life.SetAcceptance(ctx, owen, rec.ID, criteria))
	for _, m := range []string{strategy.MoveDevelop, strategy.MoveBuild} {
		e = check(portfolio.Move(ctx, owen, e.ID, m, ""))
	}
	n.say("acceptance tests passed; %s is %s", e.Number, e.Status)
	gate(lifecycle.MoveOperate)
	n.why("Early life support: just after go-live the project team stays close. The service joins",
		"normal operation once it has been quiet long enough: no P1 or P2 incident for 14 days.")
	c.now = time.Date(2026, 3, 23, 9, 0, 0, 0, london)
	gate(lifecycle.MoveOperate)
	e = check(portfolio.Move(ctx, owen, e.ID, strategy.MoveOperate, ""))
	n.item("%s is %s", e.Number, e.Status)

	// ---------------------------------------------------------------
	n.stage(4, "Service operation")
	april, may, june := time.Date(2026, 4, 1, 0, 0, 0, 0, london), time.Date(2026, 5, 1, 0, 0, 0, 0, london),
		time.Date(2026, 6, 1, 0, 0, 0, 0, london)
	c.now = april.Add(9 * time.Hour)
	check(portfolio.Subscribe(ctx, owen, o.ID, strategy.NewSubscription{Customer: cust.Code,
		Quantity: decimal.NewFromInt(4000), Start: april}))
	ent := check(portfolio.Entitlements(ctx, cust.Code, c.now))[0]
	n.say("%s subscribes %s %ss to %q: %s a month", cust.Code, ent.Subscription.Quantity, ent.Offering.Pricing.Unit,
		ent.Offering.Name, ent.Monthly.Round())

	// advance moves the clock to t, running the SLA monitor every
	// simulated quarter hour as a scheduler would, and tells each breach.
	advance := func(t time.Time) {
		for c.now.Before(t) {
			c.now = c.now.Add(15 * time.Minute)
			if c.now.After(t) {
				c.now = t
			}
			for _, f := range check(sla.Fire(ctx, c.now)) {
				if f.Breach {
					inc := check(incidents.Get(ctx, f.Timer.SubjectID))
					n.say("SLA BREACH: %s %q, %s target %s used up at %s", inc.Number, inc.Title, f.Timer.Name,
						f.Timer.Target, stamp(f.ReachedAt))
				}
			}
		}
	}
	// call is one incident: opened at at, assigned a quarter hour later,
	// and resolved after took with notes (left open when took is zero).
	call := func(at time.Time, title string, ci *cmdb.CI, impact itil.Impact, urgency itil.Urgency, took time.Duration,
		notes string) *incident.Incident {
		advance(at)
		inc := check(incidents.Open(ctx, desk, incident.NewIncident{Title: title, Caller: zoe, Channel: incident.Portal,
			ServiceID: service.ID, CIID: ci.ID, ServiceDown: impact == 1, Impact: impact, Urgency: urgency}))
		advance(at.Add(15 * time.Minute))
		inc = check(incidents.Assign(ctx, desk, inc.ID, "lms-team", "lee"))
		if took == 0 {
			n.say("%s %q (%s) on %s, assigned to %s", inc.Number, inc.Title, inc.Priority, ci.Name, inc.AssignmentGroup)
			return inc
		}
		advance(at.Add(took))
		inc = check(incidents.Resolve(ctx, lee, inc.ID, "solution_provided", notes))
		n.say("%s %q (%s) on %s, resolved in %s", inc.Number, inc.Title, inc.Priority, ci.Name,
			dur(inc.ResolvedAt.Sub(inc.OpenedAt)))
		return inc
	}
	split := "the student split the file in two"
	call(time.Date(2026, 4, 10, 10, 0, 0, 0, london), "Coursework upload times out", app, 3, 2, 3*time.Hour, split)
	call(time.Date(2026, 4, 13, 9, 30, 0, 0, london), "Thesis upload fails after ten minutes", app, 3, 2, 6*time.Hour, split)
	open := call(time.Date(2026, 4, 14, 11, 0, 0, 0, london), "Cannot submit my lab report", app, 3, 2, 0, "")
	n.why("Incident management restores service as fast as it can: a workaround, and the next call.")

	advance(time.Date(2026, 4, 15, 9, 0, 0, 0, london))
	watch := check(problem.NewTrendWatch(problems, []problem.TrendRule{
		{Name: "3 on one CI in 7 days", By: problem.TrendByCI, Threshold: 3, Window: 7 * 24 * time.Hour}}, time.Hour))
	trend := check(watch.Trends(ctx, c.now))[0]
	n.say("trend %q: %d incidents on %s since %s", trend.Rule, trend.Count, app.Name, stamp(trend.From))
	p, _ := check2(watch.Open(ctx, ana, trend))
	title := "Large uploads to moodle time out"
	check(problems.Update(ctx, ana, p.ID, problem.Patch{Title: &title}))
	check(problems.Assign(ctx, ana, p.ID, "lms-team", "ana"))
	check(problems.Assess(ctx, ana, p.ID))
	pImpact, pUrgency := itil.Impact(2), itil.Urgency(2)
	check(problems.Update(ctx, ana, p.ID, problem.Patch{Impact: &pImpact, Urgency: &pUrgency}))
	p = check(problems.Confirm(ctx, ana, p.ID))
	n.item("%s %q opened for it, %d incidents linked; confirmed: %s, %s", p.Number, p.Title, p.IncidentCount, p.State, p.Priority)
	n.why("Each call alone looks small; three alike on one CI in a week are a trend, the sign of",
		"a problem: the unknown cause of incidents. Problem management looks for that cause.")

	advance(c.now.Add(3 * time.Hour))
	workaround := "upload files over 20 MB on the \"large files\" page"
	cause := "the web server cuts uploads over 20 MB off after a timeout instead of refusing them"
	check(problems.Update(ctx, ana, p.ID, problem.Patch{Workaround: &workaround, CauseNotes: &cause}))
	ke := check(problems.PublishKnownError(ctx, ana, p.ID, problem.FromProblem{
		Symptom: "an upload spins, then times out", Domain: problem.DomainApplication}))
	n.say("root cause found: %s", cause)
	n.item("known error %s published, workaround: %s", ke.Number, ke.Workaround)
	inc := check(problems.ResolveWithKnownError(ctx, desk, open.ID, ke.ID, "used the workaround of "+ke.Number))
	n.item("%s %s with %s (%s)", inc.Number, inc.State, ke.Number, inc.ResolutionCode)
	n.why("A known error is a problem whose cause or workaround is written down: the service desk",
		"can use it at once, while the permanent fix waits its turn.")

	down := call(time.Date(2026, 4, 16, 18, 30, 0, 0, london), "Nobody can log in to the learning platform", db, 1, 1, 0, "")
	advance(time.Date(2026, 4, 17, 11, 0, 0, 0, london))
	down = check(incidents.Resolve(ctx, lee, down.ID, "solution_provided", "freed the full database disk"))
	for _, s := range check(sla.Status(ctx, down.ID, c.now)) {
		verdict := "met"
		if s.Progress.Breached {
			verdict = "BREACHED"
		}
		n.item("%s %s: %s of business time against %s (%s on the clock): %s", s.Timer.Name, s.Timer.Target,
			dur(s.Progress.Elapsed), dur(s.Timer.Goal), dur(s.Progress.Wall), verdict)
	}
	n.why("An SLA breach: the promise to restore a P1 within 4 business hours was broken. The",
		"clock stopped at 20:00 and went on at 08:00, so the night did not count; it was too late.")

	advance(time.Date(2026, 4, 20, 10, 0, 0, 0, london))
	again := check(incidents.Open(ctx, desk, incident.NewIncident{Title: "Upload of my video times out", Caller: zoe,
		Channel: incident.Phone, ServiceID: service.ID, CIID: app.ID, Impact: 3, Urgency: 2}))
	for k, err := range problems.KnownErrors().Search(ctx, problem.KnownErrorQuery{Words: "upload times out"}) {
		k = check(k, err)
		advance(c.now.Add(10 * time.Minute))
		again = check(problems.ResolveWithKnownError(ctx, desk, again.ID, k.ID, "used the workaround of "+k.Number))
		n.say("%s %q: the desk searches \"upload times out\", finds %s", again.Number, again.Title, k.Number)
		n.item("and resolves it in %s", dur(again.ResolvedAt.Sub(again.OpenedAt)))
	}

	advance(may.Add(9 * time.Hour))
	va := check(portfolio.AssessValue(ctx, o.ID, strategy.ValueInput{From: april, To: may,
		Outcomes: []strategy.OutcomeRecord{{Outcome: o.Utility[0], Achieved: true}, {Outcome: o.Utility[1], Achieved: true}}}))
	n.say("April's value: available %s%% (%s down of %s agreed hours)", va.Availability.Percent, dur(va.Availability.Downtime),
		dur(va.Availability.Agreed))
	n.item("fit for purpose (utility): %t; fit for use (warranty): %t", va.FitForPurpose, va.FitForUse)
	for _, s := range va.SLAs {
		n.item("%s: %d met, %d breached (%s%%)", s.Commitment, s.Met, s.Breached, s.Percent)
	}
	for _, s := range va.Shortfalls {
		n.item("short of the %s commitment: promised %s, delivered %s", s.Commitment, s.Promised, s.Actual)
	}
	credits := slm.CreditPolicy{Tiers: []slm.CreditTier{{Below: dec("99.5"), Percent: dec("5")}, {Below: dec("99"), Percent: dec("10")}}}
	credit := check(credits.Credit(va.Availability, ent.Monthly))
	n.say("service credit owed to %s: %s of its %s monthly fee", cust.Code, credit, ent.Monthly.Round())
	n.why("Students could hand in work (utility), but not reliably enough (warranty). A service",
		"credit is the money back the SLA promises when a target is missed: below 99.5% 5% of the",
		"fee, below 99% 10%. It makes the warranty more than words.")

	// ---------------------------------------------------------------
	n.stage(5, "Continual improvement")
	advance(time.Date(2026, 5, 5, 9, 0, 0, 0, london))
	n.say("April's KPIs, counted from the journal:")
	var base decimal.Decimal
	for _, k := range check(life.KPIs(ctx, lifecycle.KPIQuery{From: april, To: may, Every: lifecycle.Monthly,
		Zone: "Europe/London"})) {
		n.item("%-28s %s", k.KPI, kpi(k))
		if k.KPI == lifecycle.KPITimeToResolve {
			base = decimal.NewFromFloat(k.Mean.Hours()).Round(2)
		}
	}
	n.why("A key performance indicator (KPI) tells whether a service and its processes do what",
		"they should. Counted from what happened, not from memory or opinion.")

	x := check(life.RaiseInitiative(ctx, owen, lifecycle.NewInitiative{Title: "Resolve platform incidents within 4 hours",
		EntryID: e.ID, Process: "incident", Coordinator: owen.ID, Priority: itil.P2, Effort: lifecycle.EffortM,
		Type: lifecycle.ImproveProcess, KPI: lifecycle.KPITimeToResolve, Base: base, Target: decimal.NewFromInt(4),
		ReviewDate: june}))
	for _, m := range []string{lifecycle.MoveAccept, lifecycle.MoveAssess, lifecycle.MoveApprove, lifecycle.MoveStart} {
		x = check(life.MoveInitiative(ctx, owen, x.ID, m))
	}
	n.say("%s %q %s: %s from %s h to %s h by %s", x.Number, x.Title, x.State, x.KPI, x.Base, x.Target,
		stamp(x.ReviewDate))
	n.why("The improvement model's questions: what is the vision? where are we now (the baseline,",
		"measured)? where do we want to be (the target)? how do we get there? Here: remove the",
		"problem behind the most calls for good.")

	// The permanent fix is a standard change: a template approved once,
	// then used without asking the CAB again.
	tp := check(changes.ProposeTemplate(ctx, lee, change.NewTemplate{Name: "Set the upload limit of moodle",
		Title: "Raise the upload limit of moodle to 500 MB", Implementation: "set client_max_body_size; reload nginx",
		Backout: "restore the previous nginx.conf", TestPlan: "upload a 100 MB file", AssignmentGroup: "lms-team",
		CIID: app.ID, PlannedDuration: 30 * time.Minute}))
	check(changes.ApproveTemplate(ctx, carla, tp.ID))
	check(changes.RequestTemplate(ctx, lee, tp.ID))
	tp = check(changes.PublishTemplate(ctx, carla, tp.ID))
	p = check(problems.Fix(ctx, ana, p.ID))
	fix := check(changes.OpenFromTemplate(ctx, lee, tp.ID, change.FromTemplate{
		PlannedStart: time.Date(2026, 5, 9, 6, 0, 0, 0, london), Assignee: "lee"}))
	fix = check(changes.LinkProblem(ctx, ana, fix.ID, p.ID))
	x = check(life.LinkInitiative(ctx, owen, x.ID, []itil.ID{p.ID}, []itil.ID{fix.ID}))
	n.say("%s %q opened from template %s (%s): a %s change, pre-approved", fix.Number, fix.Title, tp.Number,
		tp.State, fix.Model)
	n.item("it carries the fix of %s; %s links %d problem and %d change", p.Number, x.Number, len(x.Problems), len(x.Changes))
	fix = check(changes.Move(ctx, lee, fix.ID, change.MoveSchedule))
	advance(fix.PlannedStart)
	for _, m := range []string{change.MoveImplement, change.MoveReview} {
		fix = check(changes.Move(ctx, lee, fix.ID, m))
		advance(c.now.Add(20 * time.Minute))
	}
	fix = check(changes.Close(ctx, lee, fix.ID, change.Successful, "a 100 MB upload went through"))
	fixNotes := "upload limit raised to 500 MB by " + fix.Number
	check(problems.Update(ctx, ana, p.ID, problem.Patch{FixNotes: &fixNotes}))
	p = check(problems.Resolve(ctx, ana, p.ID))
	n.say("%s %s %s; %s %s (%s)", fix.Number, fix.State, fix.CloseCode, p.Number, p.State, p.ResolutionCode)
	n.why("A standard change is low risk and done often, so it is approved once, as a template.",
		"Closing it completed the problem's fix record: the problem is resolved.")

	call(time.Date(2026, 5, 12, 10, 0, 0, 0, london), "Quiz closes an hour early", app, 3, 2, 90*time.Minute,
		"corrected the quiz's time zone")
	call(time.Date(2026, 5, 20, 14, 0, 0, 0, london), "Gradebook export is empty", app, 3, 2, 2*time.Hour,
		"ran the export job again")
	call(time.Date(2026, 5, 28, 9, 0, 0, 0, london), "Lecture video does not play", app, 3, 3, 45*time.Minute,
		"encoded the video again")
	advance(june.Add(9 * time.Hour))
	x = check(life.MoveInitiative(ctx, owen, x.ID, lifecycle.MoveMonitor))
	x = check(life.ReviewInitiative(ctx, owen, x.ID))
	pct, _ := x.Improvement()
	n.say("%s reviewed: %s measured %s h against a target of %s h (base %s h)", x.Number, x.KPI, x.Measured.Round(2),
		x.Target, x.Base)
	for _, s := range x.Steps {
		if s.Name == lifecycle.StepMeasured {
			n.item("%s: %s", s.Name, s.Note)
		}
	}
	n.item("reached: %t, %s%% of the way", x.Reached(), pct)
	n.say("April and May side by side:")
	for _, k := range check(life.KPIs(ctx, lifecycle.KPIQuery{From: april, To: june, Every: lifecycle.Monthly,
		Zone: "Europe/London"})) {
		if k.KPI == lifecycle.KPITimeToResolve || k.KPI == lifecycle.KPISLACompliance || k.KPI == lifecycle.KPIResolvedByProblem {
			n.item("%s %-20s %s", k.Period.Format("Jan"), k.KPI, kpi(k))
		}
	}
	x = check(life.MoveInitiative(ctx, owen, x.ID, lifecycle.MoveClose))
	story := check(life.ServiceHistory(ctx, e.ID))
	n.say("%s %s; the journal holds %d events of %s's story", x.Number, x.State, len(story), e.Name)
	n.why("Did we get there? The review measured the KPI from the journal: nobody typed it in.",
		"Keep the momentum: May's figure is the next baseline. Improvement never ends, which is",
		"why ITIL draws it around the other four stages.")
	return nil
}

// kpi prints a KPI's value: a time's count, mean and 90th percentile, a
// backlog's count, or a ratio's percentage.
func kpi(k lifecycle.KPIPoint) string {
	switch {
	case k.Mean > 0:
		return fmt.Sprintf("%d, mean %s, P90 %s", k.Count, dur(k.Mean), dur(k.P90))
	case k.KPI == lifecycle.KPIBacklog:
		return fmt.Sprintf("%d open at the end", k.Count)
	default:
		return fmt.Sprintf("%s%% of %d", k.Percent, k.Count)
	}
}

func check2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(failure{err})
	}
	return a, b
}
