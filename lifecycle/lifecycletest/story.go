package lifecycletest

import (
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// testStory tells one service's story end to end: chartered, designed
// (the design package, an SLA, its CIs), transitioned by a change and
// operated; a trend of incidents on its application becomes a problem,
// with a workaround, a known error and a fix carried by a change, and
// resolving the problem resolves its incidents; the KPIs measure it;
// an improvement initiative with a baseline and a target is raised, and
// re-measured at its review.
func testStory(t *testing.T, newStore func(*testing.T) storage.Store) {
	clock := testkit.ClockAt(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	f := setup(t, newStore(t), clock)
	problems, err := problem.New(f.store, problem.WithClock(clock), problem.WithIncidents(f.incidents))
	require.NoError(t, err)
	svc, err := lifecycle.New(f.store, f.portfolio, lifecycle.WithClock(clock), lifecycle.WithCMDB(f.cis), lifecycle.WithChange(f.changes),
		lifecycle.WithIncidents(f.incidents), lifecycle.WithSLM(f.sla), lifecycle.WithProblems(problems))
	require.NoError(t, err)
	e, r, mailCI := f.proposed()
	move := func(m string) {
		t.Helper()
		var err error
		r, err = svc.Move(f.ctx, planner, r.ID, m, "")
		require.NoError(t, err, m)
	}

	// Strategy: chartered.
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		_, err := f.portfolio.Move(f.ctx, planner, e.ID, m, "")
		require.NoError(t, err)
	}
	_, err = f.portfolio.ApproveBusinessCase(f.ctx, planner, e.ID)
	require.NoError(t, err)
	_, err = f.portfolio.Move(f.ctx, planner, e.ID, strategy.MoveCharter, "")
	require.NoError(t, err)
	move(lifecycle.MoveDesign)

	// Design: the package, the criteria, an SLA, the CIs.
	complete := lifecycle.SectionComplete
	for _, name := range lifecycle.DesignSections() {
		_, err := svc.UpdateSection(f.ctx, planner, r.ID, name, lifecycle.SectionPatch{State: &complete, Evidence: &[]string{"https://wiki/" + name}})
		require.NoError(t, err)
	}
	_, err = svc.SetAcceptance(f.ctx, planner, r.ID, []lifecycle.Criterion{{Text: "mail flows", Met: true, Evidence: "https://tests/1"}})
	require.NoError(t, err)
	resp, err := f.sla.Define(f.ctx, planner, slm.StandardDefinition("Mail response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "1h", Duration: time.Hour}))
	require.NoError(t, err)
	_, err = f.portfolio.AddOffering(f.ctx, planner, e.ID, strategy.NewOffering{Name: "Standard mailbox",
		Commitments: strategy.Commitments{ResponseSLA: resp.ID},
		Pricing:     strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")}})
	require.NoError(t, err)
	relay, err := f.cis.CreateCI(f.ctx, planner, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "mail-relay", State: cmdb.Operational})
	require.NoError(t, err)
	_, err = f.cis.Relate(f.ctx, planner, cmdb.DependsOn, mailCI, relay.ID)
	require.NoError(t, err)
	move(lifecycle.MoveTransition)

	// Transition: a standard change, then a quiet early life.
	install := f.standardChange()
	_, err = svc.SetChanges(f.ctx, planner, r.ID, []itil.ID{install.ID})
	require.NoError(t, err)
	f.closeChange(install.ID, change.Successful)
	clock.Advance(15 * 24 * time.Hour)
	move(lifecycle.MoveOperate)

	// Operation: six incidents on the relay in a day, a trend.
	start := clock.Now()
	var calls []itil.ID
	for i := range 6 {
		clock.Set(start.Add(time.Duration(i) * time.Hour))
		inc, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "Mail stuck in the outbox", Caller: caller,
			Channel: incident.Phone, CIID: relay.ID, ServiceID: mailCI, Impact: 3, Urgency: 2})
		require.NoError(t, err)
		_, err = f.incidents.Assign(f.ctx, desk, inc.ID, "messaging", "mia")
		require.NoError(t, err)
		calls = append(calls, inc.ID)
	}
	watch, err := problem.NewTrendWatch(problems, []problem.TrendRule{{Name: "ci-24h", By: problem.TrendByCI, Threshold: 5, Window: 24 * time.Hour}}, time.Hour)
	require.NoError(t, err)
	trends, err := watch.Trends(f.ctx, clock.Now())
	require.NoError(t, err)
	require.Len(t, trends, 1)
	p, _, err := watch.Open(f.ctx, planner, trends[0])
	require.NoError(t, err)
	assert.Equal(t, 6, p.IncidentCount)
	for _, id := range calls { // the desk parks them: they wait for the problem
		_, err := f.incidents.Hold(f.ctx, desk, id, incident.AwaitingProblem, "")
		require.NoError(t, err)
	}

	// The problem: analysed, a known error, a fix by change, resolved.
	_, err = problems.Assign(f.ctx, planner, p.ID, "messaging", "ana")
	require.NoError(t, err)
	_, err = problems.Assess(f.ctx, planner, p.ID)
	require.NoError(t, err)
	impact, urgency := itil.Impact(2), itil.Urgency(2)
	_, err = problems.Update(f.ctx, planner, p.ID, problem.Patch{Impact: &impact, Urgency: &urgency})
	require.NoError(t, err)
	_, err = problems.Confirm(f.ctx, planner, p.ID)
	require.NoError(t, err)
	workaround, cause := "flush the spool", "the log rotation fills the spool"
	_, err = problems.Update(f.ctx, planner, p.ID, problem.Patch{Workaround: &workaround, CauseNotes: &cause})
	require.NoError(t, err)
	ke, err := problems.PublishKnownError(f.ctx, planner, p.ID, problem.FromProblem{Symptom: "Mail stays in the outbox",
		Domain: problem.DomainApplication})
	require.NoError(t, err)
	assert.NotEmpty(t, ke.Number)
	_, err = problems.Fix(f.ctx, planner, p.ID)
	require.NoError(t, err)
	fix := f.standardChange()
	_, err = problems.AddFixRecord(f.ctx, planner, p.ID, "change", fix.ID)
	require.NoError(t, err)
	f.closeChange(fix.ID, change.Successful)
	_, err = problems.CompleteFixRecord(f.ctx, planner, p.ID, "change", fix.ID)
	require.NoError(t, err)
	notes := "the spool has its own volume"
	_, err = problems.Update(f.ctx, planner, p.ID, problem.Patch{FixNotes: &notes})
	require.NoError(t, err)
	clock.Advance(2 * time.Hour)
	_, err = problems.Resolve(f.ctx, planner, p.ID)
	require.NoError(t, err)
	for _, id := range calls {
		inc, err := f.incidents.Get(f.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, incident.StateResolved, inc.State, "resolved with the problem")
	}
	clock.Advance(24 * time.Hour)
	_, err = problems.Complete(f.ctx, planner, p.ID)
	require.NoError(t, err)

	// Measured: the month's KPIs from the journal.
	month := time.Date(clock.Now().Year(), clock.Now().Month(), 1, 0, 0, 0, 0, time.UTC)
	kpis, err := svc.KPIs(f.ctx, lifecycle.KPIQuery{From: month, To: month.AddDate(0, 1, 0), Every: lifecycle.Monthly, By: lifecycle.ByService})
	require.NoError(t, err)
	got := map[string]lifecycle.KPIPoint{}
	for _, pt := range kpis {
		if pt.Key == mailCI.String() {
			got[pt.KPI] = pt
		}
	}
	assert.Equal(t, 6, got[lifecycle.KPITimeToResolve].Count)
	assert.Equal(t, "100", got[lifecycle.KPIResolvedByProblem].Percent.String(), "every call resolved through the problem")
	// The problem, opened on the relay's trend (naming no service, it
	// counts under its CI), closed 26 hours after it was opened.
	closed := slices.IndexFunc(kpis, func(pt lifecycle.KPIPoint) bool {
		return pt.KPI == lifecycle.KPITimeToCloseProblem && pt.Key == relay.ID.String()
	})
	require.GreaterOrEqual(t, closed, 0, "the problem under the relay")
	assert.Equal(t, 1, kpis[closed].Count)
	assert.Equal(t, 26*time.Hour, kpis[closed].Mean)
	byPriority, err := svc.KPIs(f.ctx, lifecycle.KPIQuery{From: month, To: month.AddDate(0, 1, 0), Every: lifecycle.Monthly, By: lifecycle.ByPriority})
	require.NoError(t, err)
	keys := map[string]string{}
	for _, pt := range byPriority {
		keys[pt.KPI] += pt.Key + " "
	}
	assert.Equal(t, "P3 ", keys[lifecycle.KPITimeToCloseProblem], "impact 2, urgency 2")
	assert.Equal(t, " ", keys[lifecycle.KPIChangeSuccess], "a change has no priority: no key")
	assert.Equal(t, "P4 ", keys[lifecycle.KPITimeToResolve])

	// Improved: an initiative from the measured baseline to a target,
	// then re-measured at its review.
	base := decimal.NewFromInt(int64(got[lifecycle.KPITimeToResolve].Mean / time.Hour))
	review := clock.Now().AddDate(0, 1, 0)
	x, err := svc.RaiseInitiative(f.ctx, planner, lifecycle.NewInitiative{Title: "Resolve relay calls faster", EntryID: e.ID,
		Priority: itil.P2, Effort: lifecycle.EffortS, Type: lifecycle.ImproveTechnology, KPI: lifecycle.KPITimeToResolve,
		Base: base, Target: decimal.NewFromInt(2), ReviewDate: review})
	require.NoError(t, err)
	_, err = svc.LinkInitiative(f.ctx, planner, x.ID, []itil.ID{p.ID}, []itil.ID{fix.ID})
	require.NoError(t, err)
	for _, m := range []string{lifecycle.MoveAccept, lifecycle.MoveAssess, lifecycle.MoveApprove, lifecycle.MoveStart} {
		_, err = svc.MoveInitiative(f.ctx, planner, x.ID, m)
		require.NoError(t, err)
	}
	clock.Set(review.Add(-5 * 24 * time.Hour))
	quick, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "Slow", Caller: caller, Channel: incident.Phone,
		ServiceID: mailCI, Impact: 3, Urgency: 2})
	require.NoError(t, err)
	_, err = f.incidents.Assign(f.ctx, desk, quick.ID, "messaging", "mia")
	require.NoError(t, err)
	clock.Advance(time.Hour)
	_, err = f.incidents.Resolve(f.ctx, desk, quick.ID, "solution_provided", "the known error's workaround")
	require.NoError(t, err)
	_, err = svc.MoveInitiative(f.ctx, planner, x.ID, lifecycle.MoveMonitor)
	require.NoError(t, err)
	clock.Set(review)
	x, err = svc.ReviewInitiative(f.ctx, planner, x.ID)
	require.NoError(t, err)
	assert.Equal(t, "1", x.Measured.String(), "one call in the window, resolved in an hour")
	assert.True(t, x.Reached())
	_, err = svc.MoveInitiative(f.ctx, planner, x.ID, lifecycle.MoveClose)
	require.NoError(t, err)

	// The service's history tells the whole story, in order.
	h, err := svc.ServiceHistory(f.ctx, e.ID)
	require.NoError(t, err)
	first := func(typ string) int {
		t.Helper()
		for i, ev := range h {
			if ev.Type == typ {
				return i
			}
		}
		t.Fatalf("the history has no %s", typ)
		return -1
	}
	story := []string{strategy.EventProposed, lifecycle.EventOpened, strategy.EventBusinessCaseApproved, lifecycle.EventMoved,
		lifecycle.EventSectionUpdated, strategy.EventOfferingAdded, cmdb.EventRelated, change.EventClosed, incident.EventOpened,
		problem.EventOpened, problem.EventKnownErrorCreated, problem.EventResolved, lifecycle.EventInitiativeRaised,
		lifecycle.EventLinked, lifecycle.EventReviewed}
	at := -1
	for _, typ := range story {
		i := first(typ)
		assert.Greater(t, i, at, "%s comes after what came before it", typ)
		at = i
	}
	for i := 1; i < len(h); i++ {
		require.Less(t, h[i-1].Seq, h[i].Seq, "oldest first, each event once")
	}
}
