package lifecycletest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy"
)

// testKPIs: June's incident KPIs worked by hand, from the events of a
// second instance.
//   - A opened 1 June 09:00, taken at 09:30, resolved 11:00 (2 h);
//   - B opened 2 June 09:00, taken by network, reassigned to messaging,
//     resolved 13:00 (4 h);
//   - C opened 3 June 09:00, resolved 10:00 (1 h), reopened at 12:00,
//     resolved again 14:00 (5 h from its opening, after a reopen);
//   - F opened 20 June 09:00, never taken: its resolution SLA breaches
//     at 12:00, still open;
//   - D opened 30 June 22:00, still open at the month's end;
//   - E opened 1 July: not June's.
func testKPIs(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := testkit.ClockAt(june)
	a, b := setup(t, s1, clock), setup(t, s2, clock)
	// The first instance reads its KPIs before any incident: its facts
	// are built, then caught up.
	_, err := a.svc.KPIs(a.ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly})
	require.NoError(t, err)

	at := func(day, hour, min int) { clock.Set(time.Date(2026, 6, day, hour, min, 0, 0, time.UTC)) }
	open := func(title string) *incident.Incident {
		inc, err := b.incidents.Open(b.ctx, desk, incident.NewIncident{Title: title, Caller: caller, Channel: incident.Phone, Impact: 2, Urgency: 2})
		require.NoError(t, err)
		return inc
	}
	assign := func(inc *incident.Incident, group string) {
		_, err := b.incidents.Assign(b.ctx, desk, inc.ID, group, "sam")
		require.NoError(t, err)
	}
	resolve := func(inc *incident.Incident) {
		_, err := b.incidents.Resolve(b.ctx, desk, inc.ID, "solution_provided", "fixed")
		require.NoError(t, err)
	}
	// A resolution SLA of 3 hours: B's 4 hours breach it.
	_, err = b.sla.Define(b.ctx, planner, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "3h", Duration: 3 * time.Hour}))
	require.NoError(t, err)
	at(1, 9, 0)
	incA := open("A")
	at(1, 9, 30)
	assign(incA, "messaging")
	at(1, 11, 0)
	resolve(incA)
	at(2, 9, 0)
	incB := open("B")
	at(2, 9, 10)
	assign(incB, "network")
	at(2, 10, 0)
	assign(incB, "messaging")
	at(2, 13, 0)
	resolve(incB)
	at(3, 9, 0)
	incC := open("C")
	at(3, 9, 20)
	assign(incC, "messaging")
	at(3, 10, 0)
	resolve(incC)
	at(3, 12, 0)
	_, err = b.incidents.Reopen(b.ctx, caller, incC.ID, "still broken")
	require.NoError(t, err)
	at(3, 14, 0)
	resolve(incC)
	// Two standard changes closed in June, one unsuccessful.
	at(10, 8, 0)
	b.closeChange(b.standardChange().ID, change.Successful)
	b.closeChange(b.standardChange().ID, change.Unsuccessful)
	// Two satisfaction surveys on the mail service: 4 and 5 on a 1-5 scale
	// score 75 and 100.
	e, _, mailCI := b.proposed()
	_, err = b.portfolio.AddCustomer(b.ctx, planner, "acme", "Acme", nil)
	require.NoError(t, err)
	for _, answer := range []int{4, 5} {
		_, err = b.portfolio.RecordSurvey(b.ctx, planner, e.ID, "acme", time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC),
			[]strategy.Question{{Text: "How satisfied are you?", Min: 1, Max: 5}}, []int{answer})
		require.NoError(t, err)
	}
	at(20, 9, 0)
	open("F")
	at(20, 13, 0)
	fired, err := b.sla.Fire(b.ctx, clock.Now())
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(fired, func(f slm.Fired) bool {
		return f.Breach && f.ReachedAt.Equal(time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC))
	}), "F's breach fired, with the thresholds due before")
	at(30, 22, 0)
	open("D")
	clock.Set(june.AddDate(0, 1, 0).Add(time.Hour))
	incE := open("E")

	got, err := a.svc.KPIs(a.ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly})
	require.NoError(t, err)
	byKPI := map[string]lifecycle.KPIPoint{}
	for _, p := range got {
		assert.True(t, p.Period.Equal(june), "one period: June")
		byKPI[p.KPI] = p
	}
	ttr := byKPI[lifecycle.KPITimeToResolve]
	assert.Equal(t, 4, ttr.Count, "four resolutions")
	assert.Equal(t, 3*time.Hour, ttr.Mean, "(2 + 4 + 1 + 5) / 4 hours")
	assert.Equal(t, 2*time.Hour, ttr.P50)
	assert.Equal(t, 5*time.Hour, ttr.P90)
	far := byKPI[lifecycle.KPIFirstAssignmentResolved]
	assert.Equal(t, "75", far.Percent.String(), "B was reassigned")
	assert.Equal(t, "25", byKPI[lifecycle.KPIReopenRate].Percent.String(), "C's second resolution")
	assert.Equal(t, "0", byKPI[lifecycle.KPIResolvedByProblem].Percent.String())
	assert.Equal(t, 2, byKPI[lifecycle.KPIBacklog].Count, "D and F")
	assert.Equal(t, "50", byKPI[lifecycle.KPIChangeSuccess].Percent.String(), "one of two changes failed")
	assert.Equal(t, 2, byKPI[lifecycle.KPIChangeSuccess].Count)
	assert.Equal(t, "0", byKPI[lifecycle.KPIEmergencyChanges].Percent.String(), "standard changes")
	sla := byKPI[lifecycle.KPISLACompliance]
	// A, B and C's resolution cycles, C's second (its reopening kept the
	// first cycle and started another, 12:00 to 14:00, met), and F's,
	// breached while still open. D's breaches in July.
	assert.Equal(t, 5, sla.Count, "five resolution cycles decided")
	assert.Equal(t, 3, sla.Hits, "B and F breached")
	assert.Equal(t, "60", sla.Percent.String())
	csat := byKPI[lifecycle.KPICustomerSatisfaction]
	assert.Equal(t, 2, csat.Count)
	assert.Equal(t, "87.5", csat.Percent.String(), "(75 + 100) / 2")
	// By service, the surveys count under the entry's business service
	// CI, the key its incidents have.
	byService, err := a.svc.KPIs(a.ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly, By: lifecycle.ByService})
	require.NoError(t, err)
	var csatKeys []string
	for _, p := range byService {
		if p.KPI == lifecycle.KPICustomerSatisfaction {
			csatKeys = append(csatKeys, p.Key)
		}
	}
	assert.Equal(t, []string{mailCI.String()}, csatKeys)
	ttfr := byKPI[lifecycle.KPITimeToFirstResponse]
	assert.Equal(t, 3, ttfr.Count)
	assert.Equal(t, 20*time.Minute, ttfr.Mean, "(30 + 10 + 20) / 3 minutes")

	// Daily in New York: A resolved at 07:00 there, on 1 June; the
	// breakdown by group puts every resolution in messaging.
	daily, err := a.svc.KPIs(a.ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 0, 4), Every: lifecycle.Daily,
		Zone: "America/New_York", By: lifecycle.ByGroup})
	require.NoError(t, err)
	var days []string
	for _, p := range daily {
		if p.KPI == lifecycle.KPITimeToResolve {
			assert.Equal(t, "messaging", p.Key)
			days = append(days, p.Period.Format("Jan 2")+" "+p.Period.Location().String())
		}
	}
	assert.Equal(t, []string{"Jun 1 America/New_York", "Jun 2 America/New_York", "Jun 3 America/New_York"}, days)

	_, err = a.svc.KPIs(a.ctx, lifecycle.KPIQuery{From: june, To: june, Every: "year", Zone: "Mars/Olympus", By: "moon"})
	testkit.RequireFields(t, err, "to", "every", "zone", "by")

	// A baseline frozen on June's time to resolve (3 hours), with a
	// target of 2; July's one resolution, in an hour, is past it.
	july := june.AddDate(0, 1, 0)
	base, err := a.svc.FreezeBaseline(a.ctx, planner, lifecycle.NewBaseline{Name: "June", KPI: lifecycle.KPITimeToResolve,
		From: june, To: july, Target: decimal.NewFromInt(2)})
	require.NoError(t, err)
	assert.Equal(t, "3", base.Value.String())
	assign(incE, "messaging")
	clock.Set(july.Add(2 * time.Hour))
	resolve(incE)
	trend, err := b.svc.Trend(b.ctx, base.ID, lifecycle.KPIQuery{From: june, To: july.AddDate(0, 1, 0), Every: lifecycle.Monthly})
	require.NoError(t, err)
	require.Len(t, trend, 2)
	assert.Equal(t, "0", trend[0].Delta.String())
	assert.False(t, trend[0].Reached)
	assert.Equal(t, "1", trend[1].Value.String())
	assert.Equal(t, "-2", trend[1].Delta.String())
	assert.Equal(t, "200", trend[1].Progress.String(), "twice the way to the target")
	assert.True(t, trend[1].Reached)
	_, err = a.svc.FreezeBaseline(a.ctx, planner, lifecycle.NewBaseline{Name: "", KPI: "speed", From: july, To: june, Key: "messaging"})
	testkit.RequireFields(t, err, "name", "kpi", "to", "key")
	_, err = a.svc.FreezeBaseline(a.ctx, planner, lifecycle.NewBaseline{Name: "Empty", KPI: lifecycle.KPIChangeSuccess,
		From: july, To: july.AddDate(0, 0, 1)})
	testkit.RequireFields(t, err, "kpi")
}

// testBacklogWhereItStood: the backlog of a past month keeps an incident
// where it stood then; a reassignment later does not move it, and the
// priority key reads "P3".
func testBacklogWhereItStood(t *testing.T, newStore func(*testing.T) storage.Store) {
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := testkit.ClockAt(june.AddDate(0, 0, 20))
	f := setup(t, newStore(t), clock)
	inc, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "x", Caller: caller, Channel: incident.Phone, Impact: 2, Urgency: 2})
	require.NoError(t, err)
	_, err = f.incidents.Assign(f.ctx, desk, inc.ID, "network", "nia")
	require.NoError(t, err)
	clock.Set(june.AddDate(0, 1, 4))
	_, err = f.incidents.Assign(f.ctx, desk, inc.ID, "messaging", "mia")
	require.NoError(t, err)
	got, err := f.svc.KPIs(f.ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 2, 0), Every: lifecycle.Monthly, By: lifecycle.ByGroup})
	require.NoError(t, err)
	var backlog []string
	for _, p := range got {
		if p.KPI == lifecycle.KPIBacklog {
			backlog = append(backlog, p.Period.Format("Jan")+" "+p.Key)
		}
	}
	assert.Equal(t, []string{"Jun network", "Jul messaging"}, backlog)
	got, err = f.svc.KPIs(f.ctx, lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly, By: lifecycle.ByPriority})
	require.NoError(t, err)
	for _, p := range got {
		assert.Equal(t, "P3", p.Key, "impact 2 and urgency 2")
	}
}

// testUnreadableEvent: an incident event no incident Service writes is
// passed over; the first KPI query after returns the points of every
// other event with an error naming it, the next no error, and incidents
// after it are counted.
func testUnreadableEvent(t *testing.T, newStore func(*testing.T) storage.Store) {
	june := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := testkit.ClockAt(june)
	f := setup(t, newStore(t), clock)
	open := func() {
		_, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "x", Caller: caller, Channel: incident.Phone, Impact: 2, Urgency: 2})
		require.NoError(t, err)
	}
	q := lifecycle.KPIQuery{From: june, To: june.AddDate(0, 1, 0), Every: lifecycle.Monthly}
	backlog := func(points []lifecycle.KPIPoint) int {
		for _, p := range points {
			if p.KPI == lifecycle.KPIBacklog {
				return p.Count
			}
		}
		return 0
	}
	open()
	require.NoError(t, f.store.RunInTx(storage.Writing(f.ctx), func(ctx context.Context, tx storage.Tx) error {
		return tx.Append(ctx, itil.Event{Kind: incident.Kind, SubjectID: itil.NewID(), Type: incident.EventOpened, Time: clock.Now(),
			Actor: desk, Payload: []byte(`{"summary":"opened by hand","created":{"state":"new","opened_at":"yesterday"}}`)})
	}))
	var bad int64
	require.NoError(t, f.store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		bad, err = tx.LastSeq(ctx)
		return err
	}))
	open()
	points, err := f.svc.KPIs(f.ctx, q)
	require.ErrorContains(t, err, fmt.Sprintf("passed over 1 journal events they cannot read: journal event %d", bad))
	assert.Equal(t, 2, backlog(points), "the other two incidents")
	open()
	points, err = f.svc.KPIs(f.ctx, q)
	require.NoError(t, err, "reported once")
	assert.Equal(t, 3, backlog(points), "counted after it too")
}

// testKPIsConcurrent: two instances take incidents through their
// lifecycle while both query the KPIs, all at once; afterwards each
// instance's KPIs, caught up as they went, equal those a fresh Service
// computes from the journal.
func testKPIsConcurrent(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	june := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := testkit.ClockAt(june)
	a, b := setup(t, s1, clock), setup(t, s2, clock)
	q := lifecycle.KPIQuery{From: june.AddDate(0, 0, -1), To: june.AddDate(0, 0, 2), Every: lifecycle.Daily, By: lifecycle.ByGroup}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i, f := range []*fixture{a, b} {
		wg.Add(2)
		go func() { // commands
			defer wg.Done()
			for range 8 {
				inc, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "x", Caller: caller, Channel: incident.Phone, Impact: 2, Urgency: 2})
				if err == nil {
					_, err = f.incidents.Assign(f.ctx, desk, inc.ID, []string{"network", "messaging"}[i], "sam")
				}
				if err == nil {
					_, err = f.incidents.Resolve(f.ctx, desk, inc.ID, "solution_provided", "fixed")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() { // queries
			defer wg.Done()
			for range 8 {
				if _, err := f.svc.KPIs(f.ctx, q); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	fresh := setup(t, s2, clock)
	want, err := fresh.svc.KPIs(fresh.ctx, q)
	require.NoError(t, err)
	for _, f := range []*fixture{a, b} {
		got, err := f.svc.KPIs(f.ctx, q)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	resolved := 0
	for _, p := range want {
		if p.KPI == lifecycle.KPITimeToResolve {
			resolved += p.Count
		}
	}
	assert.Equal(t, 16, resolved)
}
