// Package lifecycletest is the service lifecycle suite, run against any
// storage backend: the in-memory backend runs it in package lifecycle's
// tests, and every other backend beside storagetest.Run.
package lifecycletest

import (
	"context"
	"errors"
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
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy"
)

// Run runs the whole lifecycle suite on stores made by instances.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Gates", func(t *testing.T) { testGates(t, newStore) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, newStore) })
	t.Run("Register", func(t *testing.T) { testRegister(t, newStore) }) // register.go
	t.Run("Story", func(t *testing.T) { testStory(t, newStore) })       // story.go
	t.Run("BacklogWhereItStood", func(t *testing.T) { testBacklogWhereItStood(t, newStore) })
	t.Run("UnreadableEvent", func(t *testing.T) { testUnreadableEvent(t, newStore) }) // kpis.go
	t.Run("TwoInstances/Open", func(t *testing.T) { testTwoInstancesOpen(t, instances) })
	t.Run("TwoInstances/KPIs", func(t *testing.T) { testKPIs(t, instances) })                 // kpis.go
	t.Run("TwoInstances/KPIModel", func(t *testing.T) { testKPIModel(t, instances) })         // kpimodel.go
	t.Run("TwoInstances/Concurrent", func(t *testing.T) { testKPIsConcurrent(t, instances) }) // kpis.go
}

var (
	planner = itil.Actor{ID: "pia", Name: "Pia (service owner)"}
	desk    = itil.Actor{ID: "desk", Name: "Service desk"}
	caller  = itil.Actor{ID: "casey", Name: "Casey"}
)

// fixture is every process on one store, wired as an application would.
type fixture struct {
	t         *testing.T
	ctx       context.Context
	store     storage.Store
	clock     *testkit.Clock
	cis       *cmdb.Service
	sla       *slm.Engine
	incidents *incident.Service
	changes   *change.Service
	portfolio *strategy.Service
	svc       *lifecycle.Service
	template  itil.ID // the standard change template, once published
}

func setup(t *testing.T, store storage.Store, clock *testkit.Clock) *fixture {
	f := &fixture{t: t, ctx: t.Context(), store: store, clock: clock}
	var err error
	f.cis, err = cmdb.New(store, cmdb.WithClock(clock))
	require.NoError(t, err)
	f.sla, err = slm.NewEngine(store, slm.WithClock(clock))
	require.NoError(t, err)
	f.incidents, err = incident.New(store, incident.WithClock(clock), incident.WithHook(f.sla))
	require.NoError(t, err)
	f.changes, err = change.New(store, change.WithClock(clock))
	require.NoError(t, err)
	f.portfolio, err = strategy.New(store, strategy.WithClock(clock), strategy.WithCMDB(f.cis), strategy.WithSLM(f.sla))
	require.NoError(t, err)
	f.svc, err = lifecycle.New(store, f.portfolio, lifecycle.WithClock(clock), lifecycle.WithCMDB(f.cis),
		lifecycle.WithChange(f.changes), lifecycle.WithIncidents(f.incidents), lifecycle.WithSLM(f.sla))
	require.NoError(t, err)
	return f
}

func eur(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }

// proposed proposes a mail service standing for a new business-service
// CI, and opens its lifecycle.
func (f *fixture) proposed() (*strategy.Entry, *lifecycle.Record, itil.ID) {
	f.t.Helper()
	ci, err := f.cis.CreateCI(f.ctx, planner, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Mail", State: cmdb.Operational})
	require.NoError(f.t, err)
	e, err := f.portfolio.Propose(f.ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: "olga",
		ServiceCIID: ci.ID, BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail"},
			ExpectedValue: eur("900000"), ExpectedCost: eur("300000")}})
	require.NoError(f.t, err)
	r, err := f.svc.Open(f.ctx, planner, e.ID)
	require.NoError(f.t, err)
	return e, r, ci.ID
}

// standardChange opens a standard change from a published template
// (pre-approved), planned an hour from now.
func (f *fixture) standardChange() *change.Change {
	f.t.Helper()
	if f.template == itil.NilID {
		tp, err := f.changes.ProposeTemplate(f.ctx, planner, change.NewTemplate{Name: "Install a mail service", Title: "Install the mail service",
			Implementation: "ansible-playbook mail.yml", Backout: "ansible-playbook mail-remove.yml", AssignmentGroup: "messaging",
			PlannedDuration: 2 * time.Hour})
		require.NoError(f.t, err)
		manager := itil.Actor{ID: "tom", Name: "Tom (template manager)"}
		_, err = f.changes.ApproveTemplate(f.ctx, manager, tp.ID)
		require.NoError(f.t, err)
		_, err = f.changes.RequestTemplate(f.ctx, planner, tp.ID)
		require.NoError(f.t, err)
		_, err = f.changes.PublishTemplate(f.ctx, manager, tp.ID)
		require.NoError(f.t, err)
		f.template = tp.ID
	}
	ch, err := f.changes.OpenFromTemplate(f.ctx, planner, f.template, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)})
	require.NoError(f.t, err)
	return ch
}

// closeChange takes a standard change through to Closed with code.
func (f *fixture) closeChange(id itil.ID, code change.CloseCode) {
	f.t.Helper()
	for _, m := range []string{change.MoveSchedule, change.MoveImplement, change.MoveReview} {
		_, err := f.changes.Move(f.ctx, planner, id, m)
		require.NoError(f.t, err, m)
	}
	if code == change.Unsuccessful {
		_, err := f.changes.RecordReview(f.ctx, planner, id, change.ReviewInput{WhatHappened: "the install failed"})
		require.NoError(f.t, err)
	}
	_, err := f.changes.Close(f.ctx, planner, id, code, "done")
	require.NoError(f.t, err)
}

// failed returns the names of the gate's failed checks.
func failed(g *lifecycle.Gate) []string {
	var out []string
	for _, c := range g.Failed() {
		out = append(out, c.Name)
	}
	return out
}

// moveRefused asserts the move fails its gate, naming those checks.
func (f *fixture) moveRefused(id itil.ID, move string, checks ...string) {
	f.t.Helper()
	_, err := f.svc.Move(f.ctx, planner, id, move, "")
	require.ErrorIs(f.t, err, itil.ErrInvalidTransition)
	var ge *lifecycle.GateError
	require.ErrorAs(f.t, err, &ge)
	assert.ElementsMatch(f.t, checks, failed(ge.Gate), err.Error())
}

// testGates walks a service through every gate: each refuses the move
// while something is missing and names it, and passes once it is there.
func testGates(t *testing.T, newStore func(*testing.T) storage.Store) {
	clock := testkit.ClockAt(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	f := setup(t, newStore(t), clock)
	e, r, mailCI := f.proposed()
	assert.Equal(t, lifecycle.StageStrategy, r.Stage)
	assert.Equal(t, "SLC0001001", r.Number)
	require.Len(t, r.Design, len(lifecycle.DesignSections()))

	// strategy → design: the entry must be chartered.
	f.moveRefused(r.ID, lifecycle.MoveDesign, lifecycle.CheckChartered)
	for _, m := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove} {
		_, err := f.portfolio.Move(f.ctx, planner, e.ID, m, "")
		require.NoError(t, err)
	}
	_, err := f.portfolio.ApproveBusinessCase(f.ctx, planner, e.ID)
	require.NoError(t, err)
	_, err = f.portfolio.Move(f.ctx, planner, e.ID, strategy.MoveCharter, "")
	require.NoError(t, err)
	r, err = f.svc.Move(f.ctx, planner, r.ID, lifecycle.MoveDesign, "")
	require.NoError(t, err)
	assert.Equal(t, lifecycle.StageDesign, r.Stage)

	// design → transition: the package, the criteria, SLAs and CIs.
	g, err := f.svc.Gate(f.ctx, r.ID, lifecycle.MoveTransition)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{lifecycle.CheckDesignPackage, lifecycle.CheckAcceptance, lifecycle.CheckOfferingSLAs, lifecycle.CheckCIs}, failed(g))
	complete := lifecycle.SectionComplete
	for _, name := range lifecycle.DesignSections()[1:] {
		_, err := f.svc.UpdateSection(f.ctx, planner, r.ID, name, lifecycle.SectionPatch{State: &complete,
			Evidence: &[]string{"https://wiki.example.com/mail/" + name}})
		require.NoError(t, err)
	}
	_, err = f.svc.SetAcceptance(f.ctx, planner, r.ID, []lifecycle.Criterion{{Text: "a mail reaches an outside mailbox within a minute"}})
	require.NoError(t, err)
	resp, err := f.sla.Define(f.ctx, planner, slm.StandardDefinition("Mail response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "1h", Duration: time.Hour}))
	require.NoError(t, err)
	_, err = f.portfolio.AddOffering(f.ctx, planner, e.ID, strategy.NewOffering{Name: "Standard mailbox",
		Commitments: strategy.Commitments{ResponseSLA: resp.ID},
		Pricing:     strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")}})
	require.NoError(t, err)
	server, err := f.cis.CreateCI(f.ctx, planner, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "mx1", State: cmdb.Operational})
	require.NoError(t, err)
	_, err = f.cis.Relate(f.ctx, planner, cmdb.DependsOn, mailCI, server.ID)
	require.Error(t, err, "a business service does not depend on a server directly")
	// A service that relies on mail is no CI that mail runs on.
	portal, err := f.cis.CreateCI(f.ctx, planner, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Portal", State: cmdb.Operational})
	require.NoError(t, err)
	_, err = f.cis.Relate(f.ctx, planner, cmdb.DependsOn, portal.ID, mailCI)
	require.NoError(t, err)
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveTransition)
	require.NoError(t, err)
	require.Contains(t, failed(g), lifecycle.CheckCIs)
	app, err := f.cis.CreateCI(f.ctx, planner, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "mail-app", State: cmdb.Operational})
	require.NoError(t, err)
	_, err = f.cis.Relate(f.ctx, planner, cmdb.DependsOn, mailCI, app.ID)
	require.NoError(t, err)
	f.moveRefused(r.ID, lifecycle.MoveTransition, lifecycle.CheckDesignPackage) // the first section is still open
	_, err = f.svc.UpdateSection(f.ctx, planner, r.ID, lifecycle.SectionRequirements, lifecycle.SectionPatch{State: &complete})
	require.NoError(t, err)
	r, err = f.svc.Move(f.ctx, planner, r.ID, lifecycle.MoveTransition, "")
	require.NoError(t, err)
	assert.Equal(t, lifecycle.StageTransition, r.Stage)
	assert.True(t, r.EarlyLife.Since.Equal(clock.Now()), "early life support begins")
	_, err = f.svc.UpdateSection(f.ctx, planner, r.ID, lifecycle.SectionUsage, lifecycle.SectionPatch{State: &complete})
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "the design package is handed over")

	// transition → operation: changes, criteria met, early life support.
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveOperate)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{lifecycle.CheckChanges, lifecycle.CheckAcceptanceMet, lifecycle.CheckQuiet}, failed(g))
	ch := f.standardChange()
	_, err = f.svc.SetChanges(f.ctx, planner, r.ID, []itil.ID{ch.ID})
	require.NoError(t, err)
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveOperate)
	require.NoError(t, err)
	assert.Contains(t, g.Checks[0].Detail, ch.Number+" new")
	f.closeChange(ch.ID, change.Successful)
	_, err = f.svc.SetAcceptance(f.ctx, planner, r.ID, []lifecycle.Criterion{{Text: "a mail reaches an outside mailbox within a minute",
		Met: true, Evidence: "https://tests.example.com/mail/42"}})
	require.NoError(t, err)
	// A P2 incident in early life support holds it back.
	clock.Advance(3 * 24 * time.Hour)
	inc, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "Mail slow", Caller: caller, Channel: incident.Phone,
		CIID: mailCI, Impact: 1, Urgency: 2})
	require.NoError(t, err)
	clock.Advance(12 * 24 * time.Hour)
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveOperate)
	require.NoError(t, err)
	assert.Equal(t, []string{lifecycle.CheckQuiet}, failed(g))
	assert.Contains(t, g.Failed()[0].Detail, inc.Number)
	clock.Advance(3 * 24 * time.Hour) // 15 days since the incident, still open: still in the way
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveOperate)
	require.NoError(t, err)
	assert.Equal(t, []string{lifecycle.CheckQuiet}, failed(g))
	assert.Contains(t, g.Failed()[0].Detail, inc.Number)
	_, err = f.incidents.Assign(f.ctx, desk, inc.ID, "messaging", "mia")
	require.NoError(t, err)
	_, err = f.incidents.Resolve(f.ctx, desk, inc.ID, "solution_provided", "fixed")
	require.NoError(t, err)
	// Resolved, it is in the way until the quiet days pass without it.
	clock.Advance(13 * 24 * time.Hour)
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveOperate)
	require.NoError(t, err)
	assert.Equal(t, []string{lifecycle.CheckQuiet}, failed(g))
	assert.Contains(t, g.Failed()[0].Detail, inc.Number, "open 13 days ago")
	clock.Advance(24*time.Hour + time.Minute)
	// With an SLA target for early life: the incident was answered 15
	// days late, so its response cycle breached.
	el := lifecycle.DefaultEarlyLife()
	el.SLACompliance = decimal.NewFromInt(90)
	_, err = f.svc.SetEarlyLife(f.ctx, planner, r.ID, el)
	require.NoError(t, err)
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveOperate)
	require.NoError(t, err)
	assert.Equal(t, []string{lifecycle.CheckEarlyLifeSLA}, failed(g))
	assert.Contains(t, g.Failed()[0].Detail, "0% of 1 SLA cycle met")
	_, err = f.svc.SetEarlyLife(f.ctx, planner, r.ID, lifecycle.DefaultEarlyLife())
	require.NoError(t, err)
	r, err = f.svc.Move(f.ctx, planner, r.ID, lifecycle.MoveOperate, "")
	require.NoError(t, err)
	assert.Equal(t, lifecycle.StageOperation, r.Stage)

	// retirement: subscriptions end, the CI retires; or an override.
	g, err = f.svc.Gate(f.ctx, r.ID, lifecycle.MoveRetire)
	require.NoError(t, err)
	assert.Equal(t, []string{lifecycle.CheckCIsRetired}, failed(g))
	r, err = f.svc.Move(f.ctx, planner, r.ID, lifecycle.MoveRetire, "replaced by the group's mail service")
	require.NoError(t, err)
	assert.Equal(t, lifecycle.StageRetired, r.Stage)
	require.Len(t, r.Overrides, 1)
	assert.Equal(t, lifecycle.MoveRetire, r.Overrides[0].Move)
	assert.Equal(t, lifecycle.CheckCIsRetired, r.Overrides[0].Failed[0].Name)
	h, err := f.svc.History(f.ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, lifecycle.EventGateOverridden, h[len(h)-1].Type)
	assert.Contains(t, h[len(h)-1].Summary, "replaced by the group's mail service")
}

// testBadInput: typed errors naming the field, and nothing written.
func testBadInput(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore(t), testkit.NewClock())
	_, r, _ := f.proposed()
	before := testkit.JournalLen(t, f.store)
	_, err := f.svc.Open(f.ctx, planner, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.Open(f.ctx, planner, r.EntryID)
	require.ErrorIs(t, err, itil.ErrConflict, "one lifecycle per service")
	_, err = f.svc.UpdateSection(f.ctx, planner, r.ID, "marketing", lifecycle.SectionPatch{})
	testkit.RequireFields(t, err, "section")
	bad := lifecycle.SectionState("done")
	_, err = f.svc.UpdateSection(f.ctx, planner, r.ID, lifecycle.SectionUsage, lifecycle.SectionPatch{State: &bad, Evidence: &[]string{""}})
	testkit.RequireFields(t, err, "design[1].state", "design[1].evidence[0]")
	_, err = f.svc.SetAcceptance(f.ctx, planner, r.ID, []lifecycle.Criterion{{Text: " "}})
	testkit.RequireFields(t, err, "acceptance[0].text")
	_, err = f.svc.SetEarlyLife(f.ctx, planner, r.ID, lifecycle.EarlyLife{QuietDays: -1, Priorities: []itil.Priority{9},
		SLACompliance: decimal.NewFromInt(101)})
	testkit.RequireFields(t, err, "early_life.quiet_days", "early_life.priorities[0]", "early_life.sla_compliance")
	_, err = f.svc.SetEarlyLife(f.ctx, planner, r.ID, lifecycle.EarlyLife{QuietDays: 3, SLACompliance: decimal.RequireFromString("99.999")})
	testkit.RequireFields(t, err, "early_life.priorities", "early_life.sla_compliance")
	_, err = f.svc.SetEarlyLife(f.ctx, planner, r.ID, lifecycle.EarlyLife{QuietDays: 3, Priorities: []itil.Priority{itil.P1, itil.P1}})
	testkit.RequireFields(t, err, "early_life.priorities[1]")
	_, err = f.svc.SetChanges(f.ctx, planner, r.ID, []itil.ID{itil.NilID})
	testkit.RequireFields(t, err, "changes[0]")
	_, err = f.svc.Move(f.ctx, planner, r.ID, lifecycle.MoveOperate, "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "a stage skipped")
	_, err = f.svc.Move(f.ctx, planner, r.ID, "leap", "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Equal(t, before, testkit.JournalLen(t, f.store), "nothing written")
	_, err = lifecycle.New(nil, nil, lifecycle.WithClock(nil))
	testkit.RequireFields(t, err, "store", "strategy", "clock")

	// Who may move may not override: the Authorizer is asked apart.
	guarded, err := lifecycle.New(f.store, f.portfolio, lifecycle.WithClock(f.clock),
		lifecycle.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, _ *lifecycle.Record) error {
			if command == lifecycle.CommandOverrideGate {
				return errors.New("only the board overrides a gate")
			}
			return nil
		}))
	require.NoError(t, err)
	_, err = guarded.Move(f.ctx, planner, r.ID, lifecycle.MoveDesign, "the board said so")
	require.ErrorIs(t, err, itil.ErrForbidden, "any refusal is forbidden")
	require.ErrorContains(t, err, "only the board overrides a gate")
	got, err := f.svc.Get(f.ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, lifecycle.StageStrategy, got.Stage, "nothing moved")
}

// testTwoInstancesOpen: two instances opening one service's lifecycle
// meet on one record; a gate judged on one sees the other's writes.
func testTwoInstancesOpen(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	clock := testkit.NewClock()
	a, b := setup(t, s1, clock), setup(t, s2, clock)
	_, r, _ := a.proposed()
	_, err := b.svc.Open(b.ctx, planner, r.EntryID)
	require.ErrorIs(t, err, itil.ErrConflict)
	complete := lifecycle.SectionComplete
	_, err = b.svc.UpdateSection(b.ctx, planner, r.ID, lifecycle.SectionUsage, lifecycle.SectionPatch{State: &complete})
	require.NoError(t, err)
	_, err = a.svc.IfVersion(r.Version).SetAcceptance(a.ctx, planner, r.ID, []lifecycle.Criterion{{Text: "works"}})
	require.ErrorIs(t, err, itil.ErrConflict, "a stale version")
	got, err := a.svc.Get(a.ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, lifecycle.SectionComplete, got.Design[1].State)
}
