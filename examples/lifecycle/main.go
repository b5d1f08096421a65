// Lifecycle takes one service, Corporate mail, through the five stages
// of the service lifecycle on a simulated clock: it is chartered in
// strategy, designed (the design package, acceptance criteria, an SLA
// on its offering, its CIs), transitioned by a standard change,
// supported in early life until it has been quiet long enough, and
// operated; each gate prints its checks as they fail and pass. Then the
// month's KPIs are computed from the journal, an improvement initiative
// is raised on one of them, and a review measures it.
//
//	go run ./examples/lifecycle
//	go run ./examples/lifecycle -store sqlite:/tmp/itil.db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/internal/store"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/strategy"
)

func main() {
	spec := store.Flag()
	flag.Parse()
	if err := run(context.Background(), *spec); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, spec string) (err error) {
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC) // a Monday
	clock := itil.ClockFunc(func() time.Time { return now })
	st, closeStore, err := store.Open(ctx, spec, "lifecycle")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	cis, err := cmdb.New(st, cmdb.WithClock(clock))
	if err != nil {
		return err
	}
	sla, err := slm.NewEngine(st, slm.WithClock(clock))
	if err != nil {
		return err
	}
	incidents, err := incident.New(st, incident.WithClock(clock), incident.WithHook(sla))
	if err != nil {
		return err
	}
	changes, err := change.New(st, change.WithClock(clock))
	if err != nil {
		return err
	}
	portfolio, err := strategy.New(st, strategy.WithClock(clock), strategy.WithCMDB(cis), strategy.WithSLM(sla))
	if err != nil {
		return err
	}
	// The lifecycle reads every other process, on the same store.
	svc, err := lifecycle.New(st, portfolio, lifecycle.WithClock(clock), lifecycle.WithCMDB(cis), lifecycle.WithChange(changes),
		lifecycle.WithIncidents(incidents), lifecycle.WithSLM(sla))
	if err != nil {
		return err
	}
	owner := itil.Actor{ID: "olga", Name: "Olga (service owner)"}
	desk := itil.Actor{ID: "desk", Name: "Service desk"}
	caller := itil.Actor{ID: "casey", Name: "Casey"}

	mail, err := cis.CreateCI(ctx, owner, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Corporate mail", State: cmdb.Operational})
	if err != nil {
		return err
	}
	eur := func(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }
	e, err := portfolio.Propose(ctx, owner, strategy.NewEntry{Name: "Corporate mail", Type: strategy.BusinessService, Owner: "olga",
		ServiceCIID: mail.ID, BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000")}})
	if err != nil {
		return err
	}
	r, err := svc.Open(ctx, owner, e.ID)
	if err != nil {
		return err
	}
	// move tries a move, printing the gate's checks, and says whether it
	// passed.
	move := func(m string) (bool, error) {
		g, err := svc.Gate(ctx, r.ID, m)
		if err != nil {
			return false, err
		}
		fmt.Printf("%s  gate %s → %s:\n", now.Format("Jan 2"), g.From, g.To)
		for _, c := range g.Checks {
			mark := "✗"
			if c.Passed {
				mark = "✓"
			}
			fmt.Printf("    %s %-22s %s\n", mark, c.Name, c.Detail)
		}
		if !g.Passed() {
			return false, nil
		}
		r, err = svc.Move(ctx, owner, r.ID, m, "")
		return err == nil, err
	}

	fmt.Println("== Strategy")
	if _, err := move(lifecycle.MoveDesign); err != nil {
		return err
	}
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		if _, err := portfolio.Move(ctx, owner, e.ID, m, ""); err != nil {
			return err
		}
	}
	if _, err := portfolio.ApproveBusinessCase(ctx, owner, e.ID); err != nil {
		return err
	}
	if _, err := portfolio.Move(ctx, owner, e.ID, strategy.MoveCharter, ""); err != nil {
		return err
	}
	if _, err := move(lifecycle.MoveDesign); err != nil {
		return err
	}

	fmt.Println("\n== Design")
	if _, err := move(lifecycle.MoveTransition); err != nil {
		return err
	}
	complete := lifecycle.SectionComplete
	for _, name := range lifecycle.DesignSections() {
		if _, err := svc.UpdateSection(ctx, owner, r.ID, name, lifecycle.SectionPatch{State: &complete,
			Evidence: &[]string{"https://wiki.example.com/mail/design#" + name}}); err != nil {
			return err
		}
	}
	if _, err := svc.SetAcceptance(ctx, owner, r.ID, []lifecycle.Criterion{{Text: "a mail reaches an outside mailbox within a minute"}}); err != nil {
		return err
	}
	resp, err := sla.Define(ctx, owner, slm.StandardDefinition("Mail response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "1h", Duration: time.Hour}))
	if err != nil {
		return err
	}
	if _, err := portfolio.AddOffering(ctx, owner, e.ID, strategy.NewOffering{Name: "Standard mailbox",
		Commitments: strategy.Commitments{ResponseSLA: resp.ID},
		Pricing:     strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")}}); err != nil {
		return err
	}
	app, err := cis.CreateCI(ctx, owner, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "mail-app", State: cmdb.Operational})
	if err != nil {
		return err
	}
	if _, err := cis.Relate(ctx, owner, cmdb.DependsOn, mail.ID, app.ID); err != nil {
		return err
	}
	if _, err := move(lifecycle.MoveTransition); err != nil {
		return err
	}

	fmt.Println("\n== Transition")
	tp, err := changes.ProposeTemplate(ctx, owner, change.NewTemplate{Name: "Install a mail service", Title: "Install the mail service",
		Implementation: "ansible-playbook mail.yml", Backout: "ansible-playbook mail-remove.yml", AssignmentGroup: "messaging",
		PlannedDuration: 2 * time.Hour})
	if err != nil {
		return err
	}
	manager := itil.Actor{ID: "tom", Name: "Tom (change manager)"}
	if _, err := changes.ApproveTemplate(ctx, manager, tp.ID); err != nil {
		return err
	}
	if _, err := changes.RequestTemplate(ctx, owner, tp.ID); err != nil {
		return err
	}
	if _, err := changes.PublishTemplate(ctx, manager, tp.ID); err != nil {
		return err
	}
	ch, err := changes.OpenFromTemplate(ctx, owner, tp.ID, change.FromTemplate{PlannedStart: now.Add(time.Hour)})
	if err != nil {
		return err
	}
	if _, err := svc.SetChanges(ctx, owner, r.ID, []itil.ID{ch.ID}); err != nil {
		return err
	}
	for _, m := range []string{change.MoveSchedule, change.MoveImplement, change.MoveReview} {
		if _, err := changes.Move(ctx, owner, ch.ID, m); err != nil {
			return err
		}
	}
	if _, err := changes.Close(ctx, owner, ch.ID, change.Successful, "installed"); err != nil {
		return err
	}
	if _, err := svc.SetAcceptance(ctx, owner, r.ID, []lifecycle.Criterion{{Text: "a mail reaches an outside mailbox within a minute",
		Met: true, Evidence: "https://tests.example.com/mail/42"}}); err != nil {
		return err
	}
	// Early life: incidents in its first weeks, one a P2.
	incidentAt := func(day int, title string, impact itil.Impact, took time.Duration) error {
		now = time.Date(2026, 5, day, 10, 0, 0, 0, time.UTC)
		inc, err := incidents.Open(ctx, desk, incident.NewIncident{Title: title, Caller: caller, Channel: incident.Phone,
			ServiceID: mail.ID, Impact: impact, Urgency: 2})
		if err != nil {
			return err
		}
		now = now.Add(15 * time.Minute)
		if _, err := incidents.Assign(ctx, desk, inc.ID, "messaging", "mia"); err != nil {
			return err
		}
		now = now.Add(took)
		_, err = incidents.Resolve(ctx, desk, inc.ID, "solution_provided", "fixed")
		return err
	}
	if err := incidentAt(10, "Mail slow for the whole floor", 1, 5*time.Hour); err != nil { // a P2
		return err
	}
	if err := incidentAt(12, "Cannot open a shared mailbox", 3, 9*time.Hour); err != nil {
		return err
	}
	for _, day := range []int{15, 21, 25} {
		now = time.Date(2026, 5, day, 9, 0, 0, 0, time.UTC)
		if ok, err := move(lifecycle.MoveOperate); err != nil || ok {
			if err != nil {
				return err
			}
			break
		}
	}

	fmt.Println("\n== Operation: May's KPIs, from the journal")
	if err := incidentAt(26, "Out-of-office replies missing", 3, 7*time.Hour); err != nil {
		return err
	}
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	kpis, err := svc.KPIs(ctx, lifecycle.KPIQuery{From: may, To: may.AddDate(0, 1, 0), Every: lifecycle.Monthly})
	if err != nil {
		return err
	}
	for _, p := range kpis {
		switch {
		case p.Mean > 0:
			fmt.Printf("    %-28s %d, mean %s, P90 %s\n", p.KPI, p.Count, p.Mean, p.P90)
		case p.KPI == lifecycle.KPIBacklog:
			fmt.Printf("    %-28s %d open at the month's end\n", p.KPI, p.Count)
		default:
			fmt.Printf("    %-28s %s%% of %d\n", p.KPI, p.Percent, p.Count)
		}
	}

	fmt.Println("\n== Continual improvement")
	review := time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC)
	x, err := svc.RaiseInitiative(ctx, owner, lifecycle.NewInitiative{Title: "Resolve mail incidents within 4 hours", EntryID: e.ID,
		Process: "incident", Coordinator: "olga", Priority: itil.P2, Effort: lifecycle.EffortM, Type: lifecycle.ImproveProcess,
		KPI: lifecycle.KPITimeToResolve, Base: decimal.NewFromInt(7), Target: decimal.NewFromInt(4), ReviewDate: review})
	if err != nil {
		return err
	}
	for _, m := range []string{lifecycle.MoveAccept, lifecycle.MoveAssess, lifecycle.MoveApprove, lifecycle.MoveStart} {
		if x, err = svc.MoveInitiative(ctx, owner, x.ID, m); err != nil {
			return err
		}
	}
	fmt.Printf("%s %q: %s from %s h to %s h by %s\n", x.Number, x.Title, x.KPI, x.Base, x.Target, review.Format("Jan 2"))
	// July's incidents, after a runbook for the desk.
	for day, took := range map[int]time.Duration{7: 3 * time.Hour, 15: 4 * time.Hour, 22: 5 * time.Hour / 2} {
		now = time.Date(2026, 7, day, 10, 0, 0, 0, time.UTC)
		inc, err := incidents.Open(ctx, desk, incident.NewIncident{Title: "Mail", Caller: caller, Channel: incident.Phone,
			ServiceID: mail.ID, Impact: 3, Urgency: 2})
		if err != nil {
			return err
		}
		if _, err := incidents.Assign(ctx, desk, inc.ID, "messaging", "mia"); err != nil {
			return err
		}
		now = now.Add(took)
		if _, err := incidents.Resolve(ctx, desk, inc.ID, "solution_provided", "runbook step 3"); err != nil {
			return err
		}
	}
	if x, err = svc.MoveInitiative(ctx, owner, x.ID, lifecycle.MoveMonitor); err != nil {
		return err
	}
	now = review.Add(time.Hour)
	if x, err = svc.ReviewInitiative(ctx, owner, x.ID); err != nil {
		return err
	}
	pct, _ := x.Improvement()
	fmt.Printf("review: %s (%s%% of the way)\n", x.Steps[5].Note, pct)
	return nil
}
