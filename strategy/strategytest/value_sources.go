package strategytest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

var (
	deskAgent = itil.Actor{ID: "desk", Name: "Service desk"}
	caller    = itil.Actor{ID: "casey", Name: "Casey Caller"}
)

// testValueFromProcesses: an offering's value read from what the other
// processes recorded. In June the mail service's CI was down for 50
// minutes (an incident flagged service-down, opened and resolved), and
// one of four decided response cycles of its SLA breached; the offering
// promises 99.9% availability and 95% of its SLA's cycles met. Its
// commitments name a real SLA definition and maintenance window, or are
// refused.
func testValueFromProcesses(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	ctx := t.Context()
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := testkit.ClockAt(june)
	eng, err := slm.NewEngine(store, slm.WithClock(clock))
	require.NoError(t, err)
	resp, err := eng.Define(ctx, planner, slm.StandardDefinition("Mail response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "1h", Duration: time.Hour}))
	require.NoError(t, err)
	incs, err := incident.New(store, incident.WithClock(clock), incident.WithHook(eng))
	require.NoError(t, err)
	chg, err := change.New(store, change.WithClock(clock))
	require.NoError(t, err)
	var week calendar.Week
	week[time.Sunday] = []calendar.Window{calendar.Hours(1, 0, 5, 0)}
	window, err := chg.CreateSchedule(ctx, planner, change.ScheduleSpec{Name: "Mail maintenance", Type: change.MaintenanceSchedule,
		Windows: calendar.Spec{Zone: "Europe/Paris", Week: week}, Scope: change.Scope{CIs: []itil.ID{itil.NewID()}}})
	require.NoError(t, err)
	freeze, err := chg.CreateSchedule(ctx, planner, change.ScheduleSpec{Name: "Year-end freeze", Type: change.BlackoutSchedule,
		Windows: calendar.Spec{Zone: "Europe/Paris"}, Ranges: []change.DateRange{{From: calendar.Date{Year: 2026, Month: 12, Day: 20},
			To: calendar.Date{Year: 2027, Month: 1, Day: 3}}}, Scope: change.Scope{CIs: []itil.ID{itil.NewID()}}})
	require.NoError(t, err)
	svc, err := strategy.New(store, strategy.WithClock(clock), strategy.WithIncidents(incs), strategy.WithSLM(eng), strategy.WithChange(chg))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: ctx, store: store, svc: svc, clock: clock}

	mailCI := itil.NewID()
	e, err := svc.Propose(ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: mailCase(), ServiceCIID: mailCI})
	require.NoError(t, err)
	f.move(e.ID, strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove)
	_, err = svc.ApproveBusinessCase(ctx, board, e.ID)
	require.NoError(t, err)
	f.move(e.ID, strategy.MoveCharter)

	// Commitments name what the processes hold.
	offer := mailbox()
	offer.Commitments.ResponseSLA, offer.Commitments.SLACompliance = itil.NewID(), decimal.NewFromInt(95)
	_, err = svc.AddOffering(ctx, planner, e.ID, offer)
	require.ErrorIs(t, err, itil.ErrNotFound, "no such SLA definition")
	offer.Commitments.ResponseSLA, offer.Commitments.MaintenanceSchedule = resp.ID, itil.NewID()
	_, err = svc.AddOffering(ctx, planner, e.ID, offer)
	require.ErrorIs(t, err, itil.ErrNotFound, "no such schedule")
	offer.Commitments.MaintenanceSchedule = freeze.ID
	_, err = svc.AddOffering(ctx, planner, e.ID, offer)
	testkit.RequireFields(t, err, "commitments.maintenance_schedule")
	offer.Commitments.MaintenanceSchedule = window.ID
	o, err := svc.AddOffering(ctx, planner, e.ID, offer)
	require.NoError(t, err)
	bad := offer.Commitments
	bad.ResolutionSLA = itil.NewID()
	_, err = svc.UpdateOffering(ctx, planner, o.ID, strategy.OfferingPatch{Commitments: &bad})
	require.ErrorIs(t, err, itil.ErrNotFound, "an update is checked too")
	f.move(e.ID, strategy.MoveDesign)
	_, err = svc.PublishOffering(ctx, planner, o.ID)
	require.NoError(t, err)

	// June: four incidents on the service, each a response cycle.
	open := func(title string, in incident.NewIncident) *incident.Incident {
		in.Title, in.Caller, in.Channel, in.Impact, in.Urgency = title, caller, incident.Phone, itil.Impact(2), itil.Urgency(2)
		inc, err := incs.Open(ctx, deskAgent, in)
		require.NoError(t, err)
		return inc
	}
	respond := func(inc *incident.Incident) {
		_, err := incs.Assign(ctx, deskAgent, inc.ID, "messaging", "mia")
		require.NoError(t, err)
	}
	clock.Set(june.AddDate(0, 0, 10).Add(9 * time.Hour))
	down := open("Mail down", incident.NewIncident{CIID: mailCI, ServiceDown: true})
	clock.Advance(30 * time.Minute)
	respond(down)
	clock.Advance(20 * time.Minute)
	_, err = incs.Resolve(ctx, deskAgent, down.ID, "solution_provided", "restarted the transport")
	require.NoError(t, err)
	slow := open("Mail slow", incident.NewIncident{ServiceID: mailCI}) // degraded, not down
	clock.Advance(2 * time.Hour)
	respond(slow) // late: the breach
	for range 2 {
		inc := open("Cannot share calendar", incident.NewIncident{ServiceID: mailCI})
		clock.Advance(10 * time.Minute)
		respond(inc)
	}
	// Reported as down, then found to be a mistake: not an outage.
	mistaken := open("Mail down?", incident.NewIncident{CIID: mailCI})
	yes := true
	mistaken, err = incs.Update(ctx, deskAgent, mistaken.ID, incident.Patch{ServiceDown: &yes})
	require.NoError(t, err)
	assert.True(t, mistaken.ServiceDown)
	_, err = incs.Cancel(ctx, deskAgent, mistaken.ID, "the caller's network")
	require.NoError(t, err)
	clock.Set(june.AddDate(0, 1, 5))

	got, err := svc.AssessValue(ctx, o.ID, strategy.ValueInput{From: june, To: june.AddDate(0, 0, 30)})
	require.NoError(t, err)
	require.Len(t, got.Outages, 1, "the service-down incident only")
	assert.Equal(t, 50*time.Minute, got.Outages[0].End.Sub(got.Outages[0].Start))
	require.Len(t, got.SLAs, 1)
	assert.Equal(t, strategy.SLACompliance{Commitment: "response_sla", Definition: resp.ID, Met: 3, Breached: 1, Percent: got.SLAs[0].Percent}, got.SLAs[0])
	assert.Equal(t, "75", got.SLAs[0].Percent.String())
	assert.False(t, got.FitForUse)
	require.Len(t, got.Shortfalls, 2)
	assert.Equal(t, "availability", got.Shortfalls[0].Commitment)
	assert.Equal(t, 6*time.Minute+48*time.Second, got.Shortfalls[0].Downtime, "99.9% of 30 days allows 43m12s")
	assert.Equal(t, strategy.Shortfall{Commitment: "response_sla", Promised: "95%", Actual: "75%", Breaches: 1}, got.Shortfalls[1],
		"95% of 4 cycles allows no breach")

	// Outages supplied are measured instead of the incidents'.
	got, err = svc.AssessValue(ctx, o.ID, strategy.ValueInput{From: june, To: june.AddDate(0, 0, 30), Outages: []slm.Outage{}})
	require.NoError(t, err)
	assert.Empty(t, got.Outages)
	require.Len(t, got.Shortfalls, 1, "the SLA only")

	// A customer subscribes: the price is then settled.
	_, err = svc.Subscribe(ctx, planner, o.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(10), Start: june})
	require.NoError(t, err)
	cheaper := offer.Pricing
	cheaper.Price = decimal.RequireFromString("3.90")
	_, err = svc.UpdateOffering(ctx, planner, o.ID, strategy.OfferingPatch{Pricing: &cheaper})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	name := "Standard mailbox (50 GB)"
	o, err = svc.UpdateOffering(ctx, planner, o.ID, strategy.OfferingPatch{Name: &name, Pricing: &offer.Pricing})
	require.NoError(t, err, "the same price, another name")
	assert.Equal(t, name, o.Name)
	badName := ""
	_, err = svc.UpdateOffering(ctx, planner, o.ID, strategy.OfferingPatch{Name: &badName})
	testkit.RequireFields(t, err, "name")
	_, err = svc.UpdateOffering(ctx, planner, itil.NewID(), strategy.OfferingPatch{Name: &name})
	require.ErrorIs(t, err, itil.ErrNotFound)
}
