// Walkthrough is a narrated tour of ITIL's service lifecycle for students.
// One service, a university's Learning platform, goes through the five
// stages on a simulated clock: strategy, design, transition into
// production, two months of operation, and continual improvement. Each
// step prints what the SDK did, with its numbers, and a short "why": the
// ITIL idea at work. Only the "why" lines are written by hand.
//
//	go run ./examples/walkthrough         # the whole story
//	go run ./examples/walkthrough -step   # wait for Enter between stages
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // Europe/London on any machine, with or without a zone database

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

// london is the story's zone; a date in it is at(month, day, hour, minute).
var london, _ = time.LoadLocation("Europe/London") // embedded by time/tzdata: it cannot fail

func at(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, london) }

func stamp(t time.Time) string { return t.In(london).Format("Mon 02 Jan 15:04") }

// dur prints a duration the way people say it: 4h, 30m, 4h30m.
func dur(d time.Duration) string {
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// narrator prints the story: stage headings, what happened (stamped with
// the simulated time, or indented under it) and why it matters.
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

// failure carries an SDK error from check up to run, so that each step of
// the story reads as one line instead of three.
type failure struct{ err error }

func check[T any](v T, err error) T {
	if err != nil {
		panic(failure{err})
	}
	return v
}

// The people of the story; the change Service's Directory in run puts
// them in groups.
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

// run tells the story to w; step is called between two stages.
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
	c := &clock{now: at(time.March, 2, 9, 0)} // Monday 2 March 2026
	n := &narrator{w: w, clock: c, step: step}

	// Every process on one in-memory store, reading the simulated clock.
	// The SLA engine is the incident Service's hook: timers follow each
	// incident command, in its own transaction.
	st := memory.NewStore()
	cis := check(cmdb.New(st, cmdb.WithClock(c)))
	sla := check(slm.NewEngine(st, slm.WithClock(c)))
	incidents := check(incident.New(st, incident.WithClock(c), incident.WithHook(sla)))
	problems := check(problem.New(st, problem.WithClock(c), problem.WithIncidents(incidents)))
	groups := change.DirectoryMap{"lms-team": {"lee", "lin"}, change.GroupCAB: {"mia", "nils", "omar"}}
	changes := check(change.New(st, change.WithClock(c), change.WithDirectory(groups), change.WithCMDB(cis),
		change.WithProblems(problems)))
	portfolio := check(strategy.New(st, strategy.WithClock(c), strategy.WithCMDB(cis), strategy.WithSLM(sla),
		strategy.WithIncidents(incidents)))
	life := check(lifecycle.New(st, portfolio, lifecycle.WithClock(c), lifecycle.WithCMDB(cis),
		lifecycle.WithChange(changes), lifecycle.WithIncidents(incidents), lifecycle.WithSLM(sla),
		lifecycle.WithProblems(problems)))

	// ---------------------------------------------------------------
	n.stage(1, "Service strategy")
	service := check(cis.CreateCI(ctx, owen, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Learning platform"}))
	gbp := func(s string) slm.Money { return slm.Money{Amount: dec(s), Currency: "GBP"} }
	e := check(portfolio.Propose(ctx, owen, strategy.NewEntry{Name: service.Name, Type: strategy.BusinessService,
		Owner: owen.ID, ServiceCIID: service.ID, BusinessCase: strategy.BusinessCase{
			ExpectedOutcomes: []string{"students hand in coursework online", "lecturers publish course material"},
			ExpectedValue:    gbp("1200000"), ExpectedCost: gbp("450000"), Horizon: "3 years"}}))
	n.say("%s %q proposed by %s: status %s, in the %s", e.Number, e.Name, owen.Name, e.Status, e.Phase())
	n.item("business case: worth %s for a cost of %s over %s", e.BusinessCase.ExpectedValue,
		e.BusinessCase.ExpectedCost, e.BusinessCase.Horizon)
	n.item("outcomes: %s", strings.Join(e.BusinessCase.ExpectedOutcomes, "; "))
	n.why("A service exists to deliver value: outcomes its customers want, at a cost they accept.",
		"Value has two halves. Utility is what the service does (fit for purpose): the outcomes.",
		"Warranty is how well it does it (fit for use): available, big enough, continuous and",
		"secure. Without both there is no value. The warranty is designed in stage 2.")

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
		return errors.New("chartered without an approved business case")
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
	// check, and makes the move when all of them passed.
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
	n.why("A lifecycle record follows the service through the stages. Each hand-over is a gate:",
		"checks on what the other processes hold, never a box ticked by hand.")

	// ---------------------------------------------------------------
	n.stage(2, "Service design")
	c.now = at(time.March, 3, 9, 0)
	gate(lifecycle.MoveTransition)
	n.why("Design turns the strategy into a blueprint. The gate to transition says what is missing.")

	hours := calendar.Spec{Name: "Term-time support", Zone: "Europe/London", Country: "GB",
		Week: calendar.MondayToFriday(calendar.Hours(8, 0, 20, 0))}
	easter := at(time.April, 2, 18, 0)
	n.say("calendar %q: weekdays 08:00-20:00, closed on %s bank holidays", hours.Name, hours.Country)
	n.item("8 business hours from %s run out at %s", stamp(easter),
		stamp(check(calendar.New(hours)).Add(easter, 8*time.Hour)))
	n.why("SLA clocks run on business time: only while support is staffed. Over a weekend with",
		"bank holidays (Good Friday, Easter Monday) a few business hours take days.")

	p1, p2 := slm.Condition{Priorities: []itil.Priority{itil.P1}}, slm.Condition{Priorities: []itil.Priority{itil.P2}}
	var slas []*slm.Definition
	for _, d := range []slm.Definition{
		slm.StandardDefinition("Response", incident.Kind, slm.SLA, slm.Response,
			slm.Target{Name: "P1", When: p1, Duration: 30 * time.Minute}, slm.Target{Name: "others", Duration: 2 * time.Hour}),
		slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
			slm.Target{Name: "P1", When: p1, Duration: 4 * time.Hour}, slm.Target{Name: "P2", When: p2, Duration: 8 * time.Hour},
			slm.Target{Name: "others", Duration: 24 * time.Hour}),
	} {
		d.Calendar = &hours
		d := check(sla.Define(ctx, owen, d))
		var targets []string
		for _, t := range d.Targets {
			targets = append(targets, t.Name+" "+dur(t.Duration))
		}
		n.say("SLA %q defined (revision %d), on business time: %s", d.Name, d.Revision, strings.Join(targets, ", "))
		slas = append(slas, d)
	}
	n.why("A service level agreement (SLA) is the provider's promise to the customer, as targets a",
		"clock can measure: how soon someone answers, how soon service is restored.")

	o := check(portfolio.AddOffering(ctx, owen, e.ID, strategy.NewOffering{Name: "Course site",
		Utility: e.BusinessCase.ExpectedOutcomes,
		Warranty: strategy.Warranty{Availability: "99.5% in support hours", Capacity: "20000 students",
			Continuity: "back within 8 h, 1 h of work lost at most", Security: "single sign-on"},
		Commitments: strategy.Commitments{Availability: dec("99.5"), ServiceHours: &hours, ResponseSLA: slas[0].ID,
			ResolutionSLA: slas[1].ID, SLACompliance: dec("90"), RTO: 8 * time.Hour, RPO: time.Hour},
		Pricing:  strategy.Pricing{Model: strategy.PricePerUnit, Unit: "student", Currency: "GBP", Price: dec("0.75")},
		Capacity: decimal.NewFromInt(20000)}))
	e = check(portfolio.Move(ctx, owen, e.ID, strategy.MoveDesign, ""))
	o = check(portfolio.PublishOffering(ctx, owen, o.ID))
	n.say("offering %q %s: %s %s per %s a month", o.Name, o.State, o.Pricing.Price, o.Pricing.Currency, o.Pricing.Unit)
	n.item("utility:  %s", strings.Join(o.Utility, "; "))
	n.item("warranty: availability %s; capacity %s;", o.Warranty.Availability, o.Warranty.Capacity)
	n.item("          continuity %s; security %s", o.Warranty.Continuity, o.Warranty.Security)
	n.item("%s is now in status %s, in the %s", e.Number, e.Status, e.Phase())
	n.why("The offering is what the customer buys: utility and warranty made concrete, with",
		"commitments (99.5% availability, the two SLAs) the customer can hold the provider to.")

	app := check(cis.CreateCI(ctx, lee, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "moodle"}))
	db := check(cis.CreateCI(ctx, lee, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "lms-db-01",
		Criticality: cmdb.MissionCritical}))
	check(cis.Relate(ctx, lee, cmdb.DependsOn, service.ID, app.ID))
	check(cis.Relate(ctx, lee, cmdb.RunsOn, app.ID, db.ID))
	n.say("CMDB: %s depends on %s, which runs on %s (all %s); if %s fails:", service.Name, app.Name, db.Name,
		db.State, db.Name)
	for _, a := range check(cis.Impact(ctx, db.ID, cmdb.ImpactOptions{Direction: cmdb.Upstream, MaxDepth: 5, Limit: 10})).Affected {
		n.item("  %s (%s) is affected, %d step(s) away", a.Name, a.Class, a.Depth)
	}
	n.why("The configuration management database (CMDB) records the configuration items (CIs) and",
		"how they depend on each other, so a failure or a change shows at once what it touches.")

	complete := lifecycle.SectionComplete
	for _, name := range lifecycle.DesignSections() {
		check(life.UpdateSection(ctx, owen, rec.ID, name, lifecycle.SectionPatch{Owner: &owen.ID, State: &complete,
			Evidence: &[]string{"https://wiki.example.ac.uk/lms/design#" + name}}))
	}
	criteria := []lifecycle.Criterion{{Text: "a 50 MB assignment uploads in under a minute"},
		{Text: "2000 students can sit a quiz at once"}}
	rec = check(life.SetAcceptance(ctx, owen, rec.ID, criteria))
	n.say("design package: %d sections %s (from %s to %s), %d acceptance criteria", len(rec.Design),
		rec.Design[0].State, rec.Design[0].Name, rec.Design[len(rec.Design)-1].Name, len(rec.Acceptance))
	n.why("The service design package is everything transition needs to build, test and run the",
		"service; its acceptance criteria say when the service is good enough to go live.")
	gate(lifecycle.MoveTransition)

	// ---------------------------------------------------------------
	n.stage(3, "Service transition")
	c.now = at(time.March, 4, 9, 0)
	var saturdays calendar.Week
	saturdays[time.Saturday] = []calendar.Window{calendar.Hours(6, 0, 10, 0)}
	window := check(changes.CreateSchedule(ctx, carla, change.ScheduleSpec{Name: "LMS maintenance",
		Type: change.MaintenanceSchedule, Windows: calendar.Spec{Zone: "Europe/London", Week: saturdays},
		Scope: change.Scope{CIs: []itil.ID{app.ID, db.ID}}}))
	check(changes.ApproveSchedule(ctx, carla, window.ID))
	window = check(changes.EnforceSchedule(ctx, carla, window.ID))
	n.say("maintenance window %q %s: Saturdays 06:00-10:00", window.Spec.Name, window.State)

	start := at(time.March, 5, 14, 0)
	ch := check(changes.Open(ctx, lee, change.NewChange{Title: "Deploy the learning platform",
		Implementation: "ansible-playbook lms.yml", Backout: "restore the VM snapshots",
		TestPlan: "upload a 50 MB file; a 2000-student quiz load test", AssignmentGroup: "lms-team", Assignee: "lee",
		CIID: db.ID, CIIDs: []itil.ID{app.ID}, Impact: 2, PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour)}))
	n.say("%s %q opened by %s, a %s change", ch.Number, ch.Title, lee.Name, ch.Model)
	if len(ch.Conflicts) > 0 {
		cf := ch.Conflicts[0]
		n.item("planned %s: %d conflicts, such as %s %q", stamp(ch.PlannedStart), len(ch.Conflicts), cf.Kind, cf.ScheduleName)
	}
	slot := check(changes.NextSlots(ctx, change.SlotRequest{ChangeID: ch.ID, Count: 1}))[0]
	end := slot.Start.Add(2 * time.Hour)
	ch = check(changes.Update(ctx, lee, ch.ID, change.Patch{PlannedStart: &slot.Start, PlannedEnd: &end}))
	n.item("next free slot %s; replanned to it: %d conflicts", stamp(slot.Start), len(ch.Conflicts))
	n.why("The change schedule says when changes may happen: inside agreed maintenance windows, away",
		"from other changes to the same CIs, so that nobody is surprised.")

	ch = check(changes.AssessRisk(ctx, lee, ch.ID, nil))
	n.say("%s risk %s; business services at risk: %d. How it was reached:", ch.Number, ch.Risk, len(ch.AffectedServices))
	for _, l := range strings.Split(ch.RiskExplanation, "\n") {
		n.item("  %s", l)
	}
	n.why("Risk is how likely a change is to go wrong and how much harm it would do. Here a rule on",
		"the CIs and a table of impact against past success each give one; the higher counts. A",
		"change to a mission-critical database is high risk, so more people must look at it.")

	// asked prints whom the change's approval round waits for.
	asked := func() {
		var who []string
		for _, a := range check(changes.Approvals(ctx, ch.ID)) {
			if a.Round == ch.Approval.Round && a.State == change.ApprovalRequested {
				who = append(who, a.Approver)
			}
		}
		wait := ch.Approval.Policy.Steps[0].WaitFor
		share := string(wait.Rule)
		if wait.Rule == change.WaitPercent {
			share = fmt.Sprintf("%d%%", wait.Percent)
		}
		// The requester and the assignee are excluded; here both are Lee.
		excluded := slices.Compact(slices.Sorted(slices.Values(ch.Approval.Facts.Excluded)))
		n.say("%s in %s waits for %s of: %s (excluded: %s)", ch.Number, ch.State, share, strings.Join(who, ", "),
			strings.Join(excluded, ", "))
	}
	ch = check(changes.Move(ctx, lee, ch.ID, change.MoveAssess))
	asked()
	ch = check(changes.Approve(ctx, lin, ch.ID, "plan and backout reviewed"))
	n.item("%s approves for lms-team; verdict: %s", lin.Name, ch.Approval.Verdict)
	ch = check(changes.Move(ctx, carla, ch.ID, change.MoveAuthorize))
	asked()
	for _, member := range []itil.Actor{mia, nils} {
		ch = check(changes.Approve(ctx, member, ch.ID, "authorized at the CAB"))
		n.item("%s approves; verdict: %s", member.Name, ch.Approval.Verdict)
	}
	n.why("Segregation of duties: Lee makes the change, so a peer approves it. The change advisory",
		"board (CAB) knows the services and their users; half of it must authorize a high risk.")

	ch = check(changes.Move(ctx, carla, ch.ID, change.MoveSchedule))
	n.say("%s %s for %s", ch.Number, ch.State, stamp(ch.PlannedStart))
	c.now = ch.PlannedStart
	ch = check(changes.Move(ctx, lee, ch.ID, change.MoveImplement))
	built := []*cmdb.CI{service, app, db}
	for _, ci := range built { // the CMDB follows the change: its CIs are being built
		check(cis.SetState(ctx, lee, ci.ID, cmdb.InBuild))
	}
	c.now = c.now.Add(90 * time.Minute)
	ch = check(changes.Move(ctx, lee, ch.ID, change.MoveReview))
	c.now = c.now.Add(time.Hour)
	ch = check(changes.Close(ctx, carla, ch.ID, change.Successful, "deployed in the window; every test passed"))
	for i, ci := range built {
		built[i] = check(cis.SetState(ctx, lee, ci.ID, cmdb.Operational))
	}
	n.say("%s %s %s; the CMDB has its CIs %s", ch.Number, ch.State, ch.CloseCode, built[0].State)

	rec = check(life.SetChanges(ctx, owen, rec.ID, []itil.ID{ch.ID}))
	for i := range criteria {
		criteria[i].Met, criteria[i].Evidence = true, "https://tests.example.ac.uk/lms/acceptance"
	}
	rec = check(life.SetAcceptance(ctx, owen, rec.ID, criteria))
	for _, m := range []string{strategy.MoveDevelop, strategy.MoveBuild} {
		e = check(portfolio.Move(ctx, owen, e.ID, m, ""))
	}
	n.say("acceptance tests passed; %s is in status %s", e.Number, e.Status)
	gate(lifecycle.MoveOperate)
	n.why("Early life support: just after go-live the project team stays close. The service joins",
		"normal operation only once it has been quiet long enough, without serious incidents.")
	c.now = at(time.March, 23, 9, 0)
	gate(lifecycle.MoveOperate)
	e = check(portfolio.Move(ctx, owen, e.ID, strategy.MoveOperate, ""))
	n.item("%s is in status %s", e.Number, e.Status)

	// ---------------------------------------------------------------
	n.stage(4, "Service operation")
	april, may, june := at(time.April, 1, 0, 0), at(time.May, 1, 0, 0), at(time.June, 1, 0, 0)
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
			if c.now = c.now.Add(15 * time.Minute); c.now.After(t) {
				c.now = t
			}
			for _, f := range check(sla.Fire(ctx, c.now)) {
				if f.Breach {
					inc := check(incidents.Get(ctx, f.Timer.SubjectID))
					n.say("SLA BREACH: %s, %s target %s used up at %s", inc.Number, f.Timer.Name, f.Timer.Target,
						stamp(f.ReachedAt))
				}
			}
		}
	}
	// call is one incident on the service, a P1 when the service is down
	// and a P4 otherwise: opened at t, assigned a quarter hour later, and
	// resolved after took (left open when took is zero).
	call := func(t time.Time, title string, ci *cmdb.CI, down bool, took time.Duration, notes string) *incident.Incident {
		advance(t)
		impact, urgency := itil.Impact(3), itil.Urgency(2)
		if down {
			impact, urgency = 1, 1
		}
		inc := check(incidents.Open(ctx, desk, incident.NewIncident{Title: title, Caller: zoe, Channel: incident.Portal,
			ServiceID: service.ID, CIID: ci.ID, ServiceDown: down, Impact: impact, Urgency: urgency}))
		advance(t.Add(15 * time.Minute))
		inc = check(incidents.Assign(ctx, desk, inc.ID, "lms-team", "lee"))
		if took == 0 {
			n.say("%s %q (%s) on %s, opened at %s, assigned to %s", inc.Number, inc.Title, inc.Priority, ci.Name,
				inc.OpenedAt.In(n.clock.now.Location()).Format("15:04"), inc.AssignmentGroup)
			return inc
		}
		advance(t.Add(took))
		inc = check(incidents.Resolve(ctx, lee, inc.ID, "solution_provided", notes))
		n.say("%s %q (%s) on %s, resolved in %s", inc.Number, inc.Title, inc.Priority, ci.Name,
			dur(inc.ResolvedAt.Sub(inc.OpenedAt)))
		return inc
	}
	call(at(time.April, 10, 10, 0), "Coursework upload times out", app, false, 3*time.Hour, "file split in two")
	call(at(time.April, 13, 9, 30), "Thesis upload fails", app, false, 6*time.Hour, "file split in two")
	open := call(at(time.April, 14, 11, 0), "Cannot submit my lab report", app, false, 0, "")
	n.why("Incident management restores service as fast as it can: a workaround, then the next call.")

	advance(at(time.April, 15, 9, 0))
	watch := check(problem.NewTrendWatch(problems, []problem.TrendRule{
		{Name: "3 on one CI in 7 days", By: problem.TrendByCI, Threshold: 3, Window: 7 * 24 * time.Hour}}, time.Hour))
	trend := check(watch.Trends(ctx, c.now))[0]
	n.say("trend %q: %d incidents on %s since %s", trend.Rule, trend.Count, app.Name, stamp(trend.From))
	p, _, err := watch.Open(ctx, ana, trend)
	if err != nil {
		return err
	}
	title, impact, urgency := "Large uploads to moodle time out", itil.Impact(2), itil.Urgency(2)
	check(problems.Update(ctx, ana, p.ID, problem.Patch{Title: &title, Impact: &impact, Urgency: &urgency}))
	check(problems.Assign(ctx, ana, p.ID, "lms-team", "ana"))
	check(problems.Assess(ctx, ana, p.ID))
	p = check(problems.Confirm(ctx, ana, p.ID))
	n.item("%s %q opened for it: %d incidents linked", p.Number, p.Title, p.IncidentCount)
	n.item("confirmed by %s: %s, %s", ana.Name, p.State, p.Priority)
	n.why("Each call alone looks small; three alike on one CI in a week are a trend, the sign of a",
		"problem: the unknown cause of incidents. Problem management looks for that cause.")

	advance(c.now.Add(3 * time.Hour))
	workaround := "upload files over 20 MB on the \"large files\" page"
	cause := "the web server cuts uploads over 20 MB off instead of refusing them"
	check(problems.Update(ctx, ana, p.ID, problem.Patch{Workaround: &workaround, CauseNotes: &cause}))
	ke := check(problems.PublishKnownError(ctx, ana, p.ID, problem.FromProblem{
		Symptom: "an upload spins, then times out", Domain: problem.DomainApplication}))
	n.say("root cause found: %s", cause)
	n.item("known error %s published; workaround: %s", ke.Number, ke.Workaround)
	inc := check(problems.ResolveWithKnownError(ctx, desk, open.ID, ke.ID, "used the workaround of "+ke.Number))
	n.item("%s %s with it (%s)", inc.Number, inc.State, inc.ResolutionCode)
	n.why("A known error is a problem whose cause and workaround are written down: the service desk",
		"can use the workaround at once, while the permanent fix waits its turn.")

	down := call(at(time.April, 16, 18, 30), "Nobody can log in", db, true, 0, "")
	advance(at(time.April, 17, 11, 0))
	down = check(incidents.Resolve(ctx, lee, down.ID, "solution_provided", "freed the full database disk"))
	n.say("%s resolved; its SLA timers:", down.Number)
	for _, s := range check(sla.Status(ctx, down.ID, c.now)) {
		n.item("%-10s %s: %s of business time for a target of %s (%s on the clock), breached: %t", s.Timer.Name,
			s.Timer.Target, dur(s.Progress.Elapsed), dur(s.Timer.Goal), dur(s.Progress.Wall), s.Progress.Breached)
	}
	n.why("An SLA breach: the promise to restore a P1 within 4 business hours was broken. The clock",
		"stopped at 20:00 and went on at 08:00, so the night did not count; it was still too late.")

	advance(at(time.April, 20, 10, 0))
	again := check(incidents.Open(ctx, desk, incident.NewIncident{Title: "Video upload times out", Caller: zoe,
		Channel: incident.Phone, ServiceID: service.ID, CIID: app.ID, Impact: 3, Urgency: 2}))
	for k, err := range problems.KnownErrors().Search(ctx, problem.KnownErrorQuery{Words: "upload times out"}) {
		k = check(k, err)
		advance(c.now.Add(10 * time.Minute))
		again = check(problems.ResolveWithKnownError(ctx, desk, again.ID, k.ID, "used the workaround of "+k.Number))
		n.say("%s %q: the desk searches \"upload times out\" and finds %s;", again.Number, again.Title, k.Number)
		n.item("resolved with its workaround in %s", dur(again.ResolvedAt.Sub(again.OpenedAt)))
		break // the best match is enough
	}

	advance(may.Add(9 * time.Hour))
	va := check(portfolio.AssessValue(ctx, o.ID, strategy.ValueInput{From: april, To: may, Outcomes: []strategy.OutcomeRecord{
		{Outcome: o.Utility[0], Achieved: true}, {Outcome: o.Utility[1], Achieved: true}}}))
	n.say("April's value: available %s%%, %s down of %s agreed", va.Availability.Percent, dur(va.Availability.Downtime),
		dur(va.Availability.Agreed))
	n.item("fit for purpose (utility): %t; fit for use (warranty): %t", va.FitForPurpose, va.FitForUse)
	for _, s := range va.SLAs {
		n.item("%s: %d met, %d breached (%s%%)", s.Commitment, s.Met, s.Breached, s.Percent)
	}
	for _, s := range va.Shortfalls {
		n.item("short of the %s commitment: promised %s, delivered %s", s.Commitment, s.Promised, s.Actual)
	}
	credits := slm.CreditPolicy{Tiers: []slm.CreditTier{{Below: dec("99.5"), Percent: dec("5")},
		{Below: dec("99"), Percent: dec("10")}}}
	credit := check(credits.Credit(va.Availability, ent.Monthly))
	n.say("service credit owed to %s: %s of its %s monthly fee", cust.Code, credit, ent.Monthly.Round())
	n.why("Students could hand in work (utility), but not reliably enough (warranty). A service",
		"credit is the money back the SLA promises when a target is missed (here 5% of the fee",
		"below 99.5%, 10% below 99%): it makes the warranty more than words.")

	// ---------------------------------------------------------------
	n.stage(5, "Continual improvement")
	advance(at(time.May, 5, 9, 0))
	n.say("April's key performance indicators (KPIs), counted from the journal:")
	var base decimal.Decimal
	for _, k := range check(life.KPIs(ctx, lifecycle.KPIQuery{From: april, To: may, Every: lifecycle.Monthly,
		Zone: "Europe/London"})) {
		n.item("%-28s %s", k.KPI, kpi(k))
		if k.KPI == lifecycle.KPITimeToResolve {
			base = decimal.NewFromFloat(k.Mean.Hours()).Round(2)
		}
	}
	n.why("KPIs say whether a service and its processes do what they should, counted from what",
		"happened: not from memory or opinion.")

	x := check(life.RaiseInitiative(ctx, owen, lifecycle.NewInitiative{Title: "Resolve incidents within 4 hours",
		EntryID: e.ID, Process: "incident", Coordinator: owen.ID, Priority: itil.P2, Effort: lifecycle.EffortM,
		Type: lifecycle.ImproveProcess, KPI: lifecycle.KPITimeToResolve, Base: base, Target: dec("4"), ReviewDate: june}))
	for _, m := range []string{lifecycle.MoveAccept, lifecycle.MoveAssess, lifecycle.MoveApprove, lifecycle.MoveStart} {
		x = check(life.MoveInitiative(ctx, owen, x.ID, m))
	}
	n.say("%s %q %s:", x.Number, x.Title, x.State)
	n.item("%s from %s h to %s h by %s", x.KPI, x.Base, x.Target, stamp(x.ReviewDate))
	n.why("The improvement model asks: what is the vision? where are we now (the baseline, measured)?",
		"where do we want to be (the target)? how do we get there? Here: remove for good the problem",
		"behind most calls.")

	// The permanent fix is a standard change: its template is approved
	// once, and each change made from it needs no CAB.
	tp := check(changes.ProposeTemplate(ctx, lee, change.NewTemplate{Name: "Set the upload limit of moodle",
		Title: "Raise the upload limit to 500 MB", Implementation: "set client_max_body_size; reload nginx",
		Backout: "restore the previous nginx.conf", AssignmentGroup: "lms-team", CIID: app.ID,
		PlannedDuration: 30 * time.Minute}))
	check(changes.ApproveTemplate(ctx, carla, tp.ID))
	check(changes.RequestTemplate(ctx, lee, tp.ID))
	tp = check(changes.PublishTemplate(ctx, carla, tp.ID))
	check(problems.Fix(ctx, ana, p.ID))
	fix := check(changes.OpenFromTemplate(ctx, lee, tp.ID, change.FromTemplate{PlannedStart: at(time.May, 9, 6, 0)}))
	fix = check(changes.LinkProblem(ctx, ana, fix.ID, p.ID))
	x = check(life.LinkInitiative(ctx, owen, x.ID, []itil.ID{p.ID}, []itil.ID{fix.ID}))
	n.say("%s %q from template %s: a %s change", fix.Number, fix.Title, tp.Number, fix.Model)
	n.item("it fixes %s; %s now links %d problem and %d change", p.Number, x.Number, len(x.Problems), len(x.Changes))
	fix = check(changes.Move(ctx, lee, fix.ID, change.MoveSchedule))
	advance(fix.PlannedStart)
	for _, m := range []string{change.MoveImplement, change.MoveReview} {
		fix = check(changes.Move(ctx, lee, fix.ID, m))
		advance(c.now.Add(20 * time.Minute))
	}
	fix = check(changes.Close(ctx, lee, fix.ID, change.Successful, "a 100 MB upload went through"))
	fixed := "upload limit raised to 500 MB by " + fix.Number
	check(problems.Update(ctx, ana, p.ID, problem.Patch{FixNotes: &fixed}))
	p = check(problems.Resolve(ctx, ana, p.ID))
	n.say("%s %s %s; %s %s (%s)", fix.Number, fix.State, fix.CloseCode, p.Number, p.State, p.ResolutionCode)
	n.why("A standard change is low risk and done often, so it is approved once, as a template.",
		"Closing it completed the problem's fix record: the problem could be resolved.")

	call(at(time.May, 12, 10, 0), "Quiz closes an hour early", app, false, 90*time.Minute, "quiz time zone corrected")
	call(at(time.May, 20, 14, 0), "Gradebook export is empty", app, false, 2*time.Hour, "export job run again")
	call(at(time.May, 28, 9, 0), "Lecture video does not play", app, false, 45*time.Minute, "video encoded again")
	advance(june.Add(9 * time.Hour))
	x = check(life.MoveInitiative(ctx, owen, x.ID, lifecycle.MoveMonitor))
	x = check(life.ReviewInitiative(ctx, owen, x.ID))
	pct, _ := x.Improvement()
	n.say("%s reviewed: %s measured over the %d days before %s: %s h", x.Number, x.KPI,
		int(lifecycle.MeasureWindow.Hours()/24), stamp(x.ReviewDate), x.Measured.Round(2))
	for _, s := range x.Steps {
		if s.Name == lifecycle.StepMeasured {
			n.item("%s: %s", s.Name, s.Note)
		}
	}
	n.item("target reached: %t, %s%% of the way", x.Reached(), pct)
	for _, k := range check(life.KPIs(ctx, lifecycle.KPIQuery{From: april, To: june, Every: lifecycle.Monthly,
		Zone: "Europe/London"})) {
		if k.KPI == lifecycle.KPITimeToResolve || k.KPI == lifecycle.KPISLACompliance {
			n.item("%s %-16s %s", k.Period.Format("Jan"), k.KPI, kpi(k))
		}
	}
	x = check(life.MoveInitiative(ctx, owen, x.ID, lifecycle.MoveClose))
	story := check(life.ServiceHistory(ctx, e.ID))
	n.say("%s %s; the journal holds %d events of the %s's story", x.Number, x.State, len(story), e.Name)
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
	}
	return fmt.Sprintf("%s%% of %d", k.Percent, k.Count)
}
