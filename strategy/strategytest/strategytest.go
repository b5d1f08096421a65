// Package strategytest is the service strategy suite, run against any
// storage backend: the in-memory backend runs it in package strategy's
// tests, and every other backend runs it beside storagetest.Run.
//
//	func TestStrategy(t *testing.T) {
//		strategytest.Run(t, instances)
//	}
package strategytest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy"
)

// Run runs the whole strategy suite on stores made by instances.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Portfolio", func(t *testing.T) { testPortfolio(t, newStore) })
	t.Run("Views", func(t *testing.T) { testViews(t, newStore) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, newStore) })
	t.Run("BadValues", func(t *testing.T) { testBadValues(t, newStore) }) // bad_values.go
	t.Run("Catalogue", func(t *testing.T) { testCatalogue(t, newStore) })
	t.Run("OfferingBadInput", func(t *testing.T) { testOfferingBadInput(t, newStore) })
	t.Run("Value", func(t *testing.T) { testValue(t, newStore) })
	t.Run("ValueFromProcesses", func(t *testing.T) { testValueFromProcesses(t, newStore) }) // value_sources.go
	t.Run("Statement", func(t *testing.T) { testStatement(t, newStore) })
	t.Run("Relationships", func(t *testing.T) { testRelationships(t, newStore) })
	t.Run("DemandRecords", func(t *testing.T) { testDemandRecords(t, newStore) })
	t.Run("Costs", func(t *testing.T) { testCosts(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { testAuthorizer(t, newStore) })
	t.Run("Mends", func(t *testing.T) { testMends(t, newStore) })
	t.Run("TwoInstances/AllocateCosts", func(t *testing.T) { testAllocateCosts(t, instances) }) // allocation.go
	t.Run("TwoInstances/Versions", func(t *testing.T) { testTwoInstances(t, instances) })
	t.Run("TwoInstances/RetireRace", func(t *testing.T) { testRetireRace(t, instances) })
	t.Run("TwoInstances/RetireHeldOpen", func(t *testing.T) { testRetireHeldOpen(t, instances) })
	t.Run("TwoInstances/Model", func(t *testing.T) { testModel(t, instances) }) // model.go
}

var (
	planner = itil.Actor{ID: "paula", Name: "Paula Planner"}
	board   = itil.Actor{ID: "bert", Name: "Bert Board"}
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store storage.Store
	svc   *strategy.Service
	clock *testkit.Clock
}

func setup(t *testing.T, newStore func(*testing.T) storage.Store, opts ...strategy.Option) *fixture {
	f := &fixture{t: t, ctx: t.Context(), store: newStore(t), clock: testkit.NewClock()}
	svc, err := strategy.New(f.store, append([]strategy.Option{strategy.WithClock(f.clock)}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

func eur(s string) slm.Money { return slm.Money{Amount: decimal.RequireFromString(s), Currency: "EUR"} }

func mailCase() strategy.BusinessCase {
	return strategy.BusinessCase{ExpectedOutcomes: []string{"staff reach customers by mail within a minute"},
		ExpectedValue: eur("900000"), ExpectedCost: eur("300000"), Horizon: "3 years"}
}

func (f *fixture) propose(name string) *strategy.Entry {
	f.t.Helper()
	e, err := f.svc.Propose(f.ctx, planner, strategy.NewEntry{Name: name, Type: strategy.BusinessService, Owner: "olga",
		BusinessCase: mailCase()})
	require.NoError(f.t, err)
	return e
}

func (f *fixture) move(id itil.ID, moves ...string) *strategy.Entry {
	f.t.Helper()
	var e *strategy.Entry
	var err error
	for _, m := range moves {
		e, err = f.svc.Move(f.ctx, board, id, m, "")
		require.NoError(f.t, err, m)
	}
	return e
}

// testPortfolio: a service goes through the pipeline by the lifecycle's
// moves; charter waits for an approved business case; entering the
// catalogue needs an owner and an offering; a pipeline service can be
// withdrawn and a retired one declared obsolete; every step journaled.
func testPortfolio(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	e := f.propose("Mail")
	assert.Equal(t, strategy.StatusRequirements, e.Status)
	assert.Equal(t, strategy.PhasePipeline, e.Phase())
	assert.Equal(t, "SVC0001001", e.Number)
	assert.False(t, e.BusinessCase.Approved())

	e = f.move(e.ID, strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove)
	_, err := f.svc.Move(f.ctx, board, e.ID, strategy.MoveCharter, "")
	testkit.RequireFields(t, err, "business_case")
	_, err = f.svc.Move(f.ctx, board, e.ID, strategy.MoveOperate, "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "not from approved")

	e, err = f.svc.ApproveBusinessCase(f.ctx, board, e.ID)
	require.NoError(t, err)
	assert.True(t, e.BusinessCase.Approved())
	assert.Equal(t, board, e.BusinessCase.ApprovedBy)
	// Changing the business case withdraws its approval.
	bc := mailCase()
	bc.ExpectedCost = eur("350000")
	e, err = f.svc.Update(f.ctx, planner, e.ID, strategy.EntryPatch{BusinessCase: &bc})
	require.NoError(t, err)
	assert.False(t, e.BusinessCase.Approved())
	_, err = f.svc.ApproveBusinessCase(f.ctx, board, e.ID)
	require.NoError(t, err)
	e = f.move(e.ID, strategy.MoveCharter)
	assert.Equal(t, strategy.StatusChartered, e.Status)
	_, err = f.svc.ApproveBusinessCase(f.ctx, board, e.ID)
	require.NoError(t, err, "approving it again changes nothing")
	_, err = f.svc.Update(f.ctx, planner, e.ID, strategy.EntryPatch{BusinessCase: &bc})
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "chartered: the business case is settled")

	// The catalogue needs an owner and an offering.
	none := ""
	_, err = f.svc.Update(f.ctx, planner, e.ID, strategy.EntryPatch{Owner: &none})
	require.NoError(t, err)
	_, err = f.svc.Move(f.ctx, board, e.ID, strategy.MoveDesign, "")
	testkit.RequireFields(t, err, "owner", "offerings")
	assert.Equal(t, strategy.StatusChartered, f.get(e.ID).Status, "nothing written")

	// Withdrawn from the pipeline, then obsolete; a retired entry is not
	// edited.
	other := f.propose("Fax")
	other = f.move(other.ID, strategy.MoveWithdraw, strategy.MoveObsolete)
	assert.Equal(t, strategy.PhaseRetired, other.Phase())
	name := "Telex"
	_, err = f.svc.Update(f.ctx, planner, other.ID, strategy.EntryPatch{Name: &name})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.ApproveBusinessCase(f.ctx, board, other.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	hist, err := f.svc.History(f.ctx, e.ID)
	require.NoError(t, err)
	var types []string
	for _, h := range hist {
		types = append(types, h.Type)
	}
	assert.Equal(t, []string{strategy.EventProposed, strategy.EventMoved, strategy.EventMoved, strategy.EventMoved,
		strategy.EventBusinessCaseApproved, strategy.EventUpdated, strategy.EventBusinessCaseApproved, strategy.EventMoved,
		strategy.EventUpdated}, types)
	_, err = f.svc.Get(f.ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
}

func (f *fixture) get(id itil.ID) *strategy.Entry {
	f.t.Helper()
	e, err := f.svc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return e
}

func names(t *testing.T, seq func(func(*strategy.Entry, error) bool)) []string {
	t.Helper()
	var out []string
	for e, err := range seq {
		require.NoError(t, err)
		out = append(out, e.Name)
	}
	return out
}

// testViews: the pipeline and retired lists with their filters; a status
// of another phase is refused.
func testViews(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	mail := f.propose("Mail")
	f.propose("Chat")
	fax := f.propose("Fax")
	f.move(mail.ID, strategy.MoveDefine)
	f.move(fax.ID, strategy.MoveWithdraw)
	storage := "Storage"
	tech, err := f.svc.Propose(f.ctx, planner, strategy.NewEntry{Name: storage, Type: strategy.TechnicalService, Owner: "ivan"})
	require.NoError(t, err)

	assert.Equal(t, []string{"Mail", "Chat", "Storage"}, names(t, f.svc.Pipeline(f.ctx, strategy.EntryFilter{})))
	assert.Equal(t, []string{"Mail"}, names(t, f.svc.Pipeline(f.ctx, strategy.EntryFilter{Statuses: []strategy.Status{strategy.StatusDefinition}})))
	assert.Equal(t, []string{"Storage"}, names(t, f.svc.Pipeline(f.ctx, strategy.EntryFilter{Types: []strategy.ServiceType{strategy.TechnicalService}})))
	assert.Equal(t, []string{"Storage"}, names(t, f.svc.Pipeline(f.ctx, strategy.EntryFilter{Owner: tech.Owner})))
	assert.Equal(t, []string{"Fax"}, names(t, f.svc.Retired(f.ctx, strategy.EntryFilter{})))
	assert.Empty(t, names(t, f.svc.Catalogue(f.ctx, strategy.EntryFilter{})))
	for _, err := range f.svc.Catalogue(f.ctx, strategy.EntryFilter{Statuses: []strategy.Status{strategy.StatusDefinition}}) {
		testkit.RequireFields(t, err, "statuses[0]")
	}
}

// testBadInput: a bad entry is refused naming every field, and nothing is
// written.
func testBadInput(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	before := testkit.JournalLen(t, f.store)
	_, err := f.svc.Propose(f.ctx, planner, strategy.NewEntry{Type: "both",
		BusinessCase: strategy.BusinessCase{ExpectedOutcomes: []string{""}, ExpectedValue: slm.Money{Amount: decimal.NewFromInt(1), Currency: "euro"}}})
	testkit.RequireFields(t, err, "name", "type", "business_case.expected_outcomes[0]", "business_case.expected_value")
	_, err = f.svc.Propose(f.ctx, itil.Actor{}, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService})
	testkit.RequireFields(t, err, "actor.id")
	e, err := f.svc.Propose(f.ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService})
	require.NoError(t, err)
	_, err = f.svc.ApproveBusinessCase(f.ctx, board, e.ID)
	testkit.RequireFields(t, err, "business_case.expected_outcomes", "business_case.expected_value", "business_case.expected_cost")
	_, err = f.svc.Move(f.ctx, board, e.ID, "leap", "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Equal(t, before+1, testkit.JournalLen(t, f.store), "only the valid proposal was written")
	_, err = strategy.New(nil, strategy.WithClock(nil))
	testkit.RequireFields(t, err, "store", "clock")
}

// testTwoInstances: two Services on one store: an edit made on a stale
// version fails with itil.ErrConflict, and each sees the other's moves.
func testTwoInstances(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	a := setup(t, func(*testing.T) storage.Store { return s1 })
	b := setup(t, func(*testing.T) storage.Store { return s2 }, strategy.WithClock(a.clock))
	e := a.propose("Mail")
	b.move(e.ID, strategy.MoveDefine)
	name := "E-mail"
	_, err := a.svc.IfVersion(e.Version).Update(a.ctx, planner, e.ID, strategy.EntryPatch{Name: &name})
	require.ErrorIs(t, err, itil.ErrConflict)
	assert.Equal(t, strategy.StatusDefinition, a.get(e.ID).Status)
	assert.Equal(t, []string{"Mail"}, names(t, a.svc.Pipeline(a.ctx, strategy.EntryFilter{Statuses: []strategy.Status{strategy.StatusDefinition}})))

	// IfVersion names the version of the record the command runs on: an
	// offering edited on the other instance refuses the stale edit.
	o, err := a.svc.AddOffering(a.ctx, planner, e.ID, mailbox())
	require.NoError(t, err)
	_, err = b.svc.UpdateOffering(b.ctx, planner, o.ID, strategy.OfferingPatch{Name: &name})
	require.NoError(t, err)
	desc := "for everyone"
	_, err = a.svc.IfVersion(o.Version).UpdateOffering(a.ctx, planner, o.ID, strategy.OfferingPatch{Description: &desc})
	require.ErrorIs(t, err, itil.ErrConflict)
	got, err := a.svc.IfVersion(o.Version+1).UpdateOffering(a.ctx, planner, o.ID, strategy.OfferingPatch{Description: &desc})
	require.NoError(t, err)
	assert.Equal(t, name, got.Name, "the other instance's edit kept")
}

func mailbox() strategy.NewOffering {
	return strategy.NewOffering{Name: "Standard mailbox", Utility: []string{"send and receive mail", "shared calendars"},
		Warranty: strategy.Warranty{Availability: "99.9% in business hours", Security: "encrypted at rest"},
		Commitments: strategy.Commitments{Availability: decimal.RequireFromString("99.9"), RTO: 4 * time.Hour, RPO: time.Hour,
			DeliveryTime: 24 * time.Hour},
		Pricing:  strategy.Pricing{Model: strategy.PricePerUnit, Unit: "mailbox", Currency: "EUR", Price: decimal.RequireFromString("4.50")},
		Capacity: decimal.NewFromInt(5000)}
}

// testCatalogue: a service enters the catalogue with an offering, which
// is published there; customers subscribe to it, and the catalogue says
// in one call what a customer gets at what price; retiring waits for the
// subscriptions to end, or an override with a reason.
func testCatalogue(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	e := f.chartered("Mail")
	std, err := f.svc.AddOffering(f.ctx, planner, e.ID, mailbox())
	require.NoError(t, err)
	assert.Equal(t, strategy.OfferingDraft, std.State)
	_, err = f.svc.PublishOffering(f.ctx, planner, std.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "not before the service is in the catalogue")
	archive := mailbox()
	archive.Name = "Archive"
	archive.Pricing = strategy.Pricing{Model: strategy.PriceTiered, Unit: "GB", Currency: "EUR", Tiers: []strategy.Tier{
		{UpTo: decimal.NewFromInt(100), UnitPrice: decimal.RequireFromString("0.10")},
		{UpTo: decimal.NewFromInt(1000), UnitPrice: decimal.RequireFromString("0.05")},
		{UnitPrice: decimal.RequireFromString("0.02")}}}
	arch, err := f.svc.AddOffering(f.ctx, planner, e.ID, archive)
	require.NoError(t, err)

	e = f.move(e.ID, strategy.MoveDesign)
	assert.Equal(t, strategy.PhaseCatalogue, e.Phase())
	_, err = f.svc.Subscribe(f.ctx, planner, std.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(120)})
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "a draft offering")
	for _, id := range []itil.ID{std.ID, arch.ID} {
		_, err = f.svc.PublishOffering(f.ctx, planner, id)
		require.NoError(t, err)
	}
	f.move(e.ID, strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate)
	sub, err := f.svc.Subscribe(f.ctx, planner, std.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(120)})
	require.NoError(t, err)
	_, err = f.svc.Subscribe(f.ctx, planner, arch.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1500)})
	require.NoError(t, err)

	got, err := f.svc.Entitlements(f.ctx, "acme", time.Time{})
	require.NoError(t, err)
	if assert.Len(t, got, 2) {
		assert.Equal(t, "Mail", got[0].Entry.Name)
		assert.Equal(t, "540.00 EUR", got[0].Monthly.String(), "120 mailboxes at 4.50")
		assert.True(t, got[0].Offering.Commitments.Availability.Equal(decimal.RequireFromString("99.9")))
		// 100 GB at 0.10, 900 at 0.05, 500 at 0.02.
		assert.Equal(t, "65.00 EUR", got[1].Monthly.String())
	}
	none, err := f.svc.Entitlements(f.ctx, "globex", time.Time{})
	require.NoError(t, err)
	assert.Empty(t, none)

	// Retiring waits for the subscriptions, or an override with a reason.
	_, err = f.svc.Move(f.ctx, board, e.ID, strategy.MoveRetire, "")
	testkit.RequireFields(t, err, "subscriptions")
	e, err = f.svc.Move(f.ctx, board, e.ID, strategy.MoveRetire, "Mail moves to the new collaboration suite")
	require.NoError(t, err)
	assert.Equal(t, "Mail moves to the new collaboration suite", e.RetireOverride)
	_, err = f.svc.Subscribe(f.ctx, planner, std.ID, strategy.NewSubscription{Customer: "globex", Quantity: decimal.NewFromInt(1)})
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "a retiring service takes no new customer")
	f.clock.Advance(time.Hour)
	sub, err = f.svc.EndSubscription(f.ctx, planner, sub.ID, time.Time{})
	require.NoError(t, err)
	assert.False(t, sub.ActiveAt(f.clock.Now()))
	_, err = f.svc.EndSubscription(f.ctx, planner, sub.ID, time.Time{})
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "ended already")
	f.move(e.ID, strategy.MoveClose)
	_, err = f.svc.AddOffering(f.ctx, planner, e.ID, mailbox())
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "retired")
}

// testOfferingBadInput: bad offerings and subscriptions are refused naming
// the fields, and nothing is written.
func testOfferingBadInput(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	e := f.propose("Mail")
	before := testkit.JournalLen(t, f.store)
	bad := mailbox()
	bad.Name = ""
	bad.Commitments.Availability = decimal.NewFromInt(101)
	bad.Commitments.RTO = -time.Hour
	bad.Pricing = strategy.Pricing{Model: strategy.PriceTiered, Currency: "eur", Tiers: []strategy.Tier{
		{UpTo: decimal.NewFromInt(100), UnitPrice: decimal.NewFromInt(1)}, {UpTo: decimal.NewFromInt(50), UnitPrice: decimal.NewFromInt(-1)},
		{UpTo: decimal.NewFromInt(500)}}}
	bad.Capacity = decimal.NewFromInt(-1)
	_, err := f.svc.AddOffering(f.ctx, planner, e.ID, bad)
	testkit.RequireFields(t, err, "name", "commitments.availability", "commitments.rto", "pricing.currency",
		"pricing.tiers[1].up_to", "pricing.tiers[1].unit_price", "pricing.tiers[2].up_to", "capacity")
	_, err = f.svc.AddOffering(f.ctx, planner, itil.NewID(), mailbox())
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.Subscribe(f.ctx, planner, itil.NewID(), strategy.NewSubscription{Quantity: decimal.Zero,
		Start: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	testkit.RequireFields(t, err, "customer", "quantity", "end")
	_, err = f.svc.Subscribe(f.ctx, planner, itil.NewID(), strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1)})
	require.ErrorIs(t, err, itil.ErrNotFound)
	assert.Equal(t, before, testkit.JournalLen(t, f.store), "nothing written")
}

// testValue: an offering's value over a hand-worked month. 99.9% of a
// 30-day month (43,200 minutes, 24×7) allows 43 min 12 s of downtime: 50
// minutes of outage is not fit for use, short by 6 min 48 s; 40 minutes
// is. Outcomes the customer did not record as achieved make it unfit for
// purpose; outputs are reported apart.
func testValue(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	e := f.chartered("Mail")
	o, err := f.svc.AddOffering(f.ctx, planner, e.ID, mailbox())
	require.NoError(t, err)
	f.move(e.ID, strategy.MoveDesign)
	_, err = f.svc.PublishOffering(f.ctx, planner, o.ID)
	require.NoError(t, err)
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err = f.svc.Subscribe(f.ctx, planner, o.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(6000), Start: june})
	require.NoError(t, err)
	outage := func(min int) []slm.Outage {
		at := june.AddDate(0, 0, 10)
		return []slm.Outage{{Start: at, End: at.Add(time.Duration(min) * time.Minute)}}
	}
	in := strategy.ValueInput{From: june, To: june.AddDate(0, 0, 30), Outages: outage(50),
		Outcomes: []strategy.OutcomeRecord{{Outcome: "send and receive mail", Achieved: true}, {Outcome: "shared calendars"}},
		Outputs:  map[string]int64{"tickets resolved": 42}}
	got, err := f.svc.AssessValue(f.ctx, o.ID, in)
	require.NoError(t, err)
	assert.False(t, got.FitForUse)
	require.Len(t, got.Shortfalls, 2)
	assert.Equal(t, "availability", got.Shortfalls[0].Commitment)
	assert.Equal(t, 6*time.Minute+48*time.Second, got.Shortfalls[0].Downtime)
	assert.Equal(t, "capacity", got.Shortfalls[1].Commitment)
	assert.True(t, got.Shortfalls[1].Units.Equal(decimal.NewFromInt(1000)), "6000 mailboxes on a capacity of 5000")
	assert.False(t, got.FitForPurpose)
	assert.Equal(t, []string{"shared calendars"}, got.Missed)
	assert.Equal(t, map[string]int64{"tickets resolved": 42}, got.Outputs)

	in.Outages = outage(40)
	in.Outcomes[1].Achieved = true
	got, err = f.svc.AssessValue(f.ctx, o.ID, in)
	require.NoError(t, err)
	assert.Len(t, got.Shortfalls, 1, "capacity only")
	assert.True(t, got.FitForPurpose)

	_, err = f.svc.AssessValue(f.ctx, o.ID, strategy.ValueInput{From: june, To: june})
	testkit.RequireFields(t, err, "to")
	_, err = f.svc.AssessValue(f.ctx, itil.NewID(), in)
	require.ErrorIs(t, err, itil.ErrNotFound)
}

// testRetireRace: a service retired on one instance while a customer
// subscribes on the other: never both, whichever commits first.
func testRetireRace(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	a := setup(t, func(*testing.T) storage.Store { return s1 })
	b := setup(t, func(*testing.T) storage.Store { return s2 }, strategy.WithClock(a.clock))
	retired, subscribed := 0, 0
	for round := range 8 {
		e := a.chartered("Mail")
		o, err := a.svc.AddOffering(a.ctx, planner, e.ID, mailbox())
		require.NoError(t, err)
		a.move(e.ID, strategy.MoveDesign, strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate)
		_, err = a.svc.PublishOffering(a.ctx, planner, o.ID)
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		// Each goes first now and then: both orders, and overlaps.
		delay := func(mine int) {
			if round%2 == mine {
				time.Sleep(time.Duration(round%4) * time.Millisecond)
			}
		}
		go func() {
			defer wg.Done()
			delay(1)
			_, errs[0] = a.svc.Move(t.Context(), board, e.ID, strategy.MoveRetire, "")
		}()
		go func() {
			defer wg.Done()
			delay(0)
			offer := o.ID
			if round%4 >= 2 {
				// A new offering, published and subscribed to while the
				// retirement runs.
				fresh, err := b.svc.AddOffering(t.Context(), planner, e.ID, mailbox())
				if err != nil {
					errs[1] = err
					return
				}
				if _, errs[1] = b.svc.PublishOffering(t.Context(), planner, fresh.ID); errs[1] != nil {
					return
				}
				offer = fresh.ID
			}
			_, errs[1] = b.svc.Subscribe(t.Context(), planner, offer, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1)})
		}()
		wg.Wait()
		require.False(t, errs[0] == nil && errs[1] == nil, "round %d: retired and subscribed both", round)
		if errs[0] == nil {
			retired++
			require.ErrorIs(t, errs[1], itil.ErrInvalidTransition, "round %d", round)
		} else {
			subscribed++
			testkit.RequireFields(t, errs[0], "subscriptions")
			require.NoError(t, errs[1], "round %d", round)
		}
	}
	t.Logf("%d retired first, %d subscribed first", retired, subscribed)
}

// catalogueWith puts a service in the catalogue with the offerings given,
// published, and returns them.
// chartered proposes a service and takes it through the pipeline to
// chartered, its business case approved by the board.
func (f *fixture) chartered(name string) *strategy.Entry {
	f.t.Helper()
	e := f.propose(name)
	f.move(e.ID, strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove)
	_, err := f.svc.ApproveBusinessCase(f.ctx, board, e.ID)
	require.NoError(f.t, err)
	return f.move(e.ID, strategy.MoveCharter)
}

func (f *fixture) catalogueWith(name string, offers ...strategy.NewOffering) []*strategy.Offering {
	f.t.Helper()
	e := f.chartered(name)
	var out []*strategy.Offering
	for _, in := range offers {
		o, err := f.svc.AddOffering(f.ctx, planner, e.ID, in)
		require.NoError(f.t, err)
		out = append(out, o)
	}
	f.move(e.ID, strategy.MoveDesign)
	for i, o := range out {
		o, err := f.svc.PublishOffering(f.ctx, planner, o.ID)
		require.NoError(f.t, err)
		out[i] = o
	}
	return out
}

// testStatement: a month's showback, prorated by day, on hand-worked
// numbers. June 2026 has 30 days: 120 mailboxes at 4.50 all month are
// 540.00; 1,500 GB of archive (65.00 a month) from 11 June 12:00 run 20
// days, 43.33; 10 mailboxes (45.00) ended on 21 June run 20 days, 30.00;
// a subscription from July is not billed in June.
func testStatement(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	archive := mailbox()
	archive.Name = "Archive"
	archive.Pricing = strategy.Pricing{Model: strategy.PriceTiered, Unit: "GB", Currency: "EUR", Tiers: []strategy.Tier{
		{UpTo: decimal.NewFromInt(100), UnitPrice: decimal.RequireFromString("0.10")},
		{UpTo: decimal.NewFromInt(1000), UnitPrice: decimal.RequireFromString("0.05")},
		{UnitPrice: decimal.RequireFromString("0.02")}}}
	os := f.catalogueWith("Mail", mailbox(), archive)
	std, arch := os[0], os[1]
	day := func(d, h int) time.Time { return time.Date(2026, 6, d, h, 0, 0, 0, time.UTC) }
	sub := func(o *strategy.Offering, qty int64, start, end time.Time) {
		_, err := f.svc.Subscribe(f.ctx, planner, o.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(qty), Start: start, End: end})
		require.NoError(t, err)
	}
	sub(std, 120, day(1, 0).AddDate(0, -1, 0), time.Time{})
	sub(arch, 1500, day(11, 12), time.Time{})
	sub(std, 10, day(1, 0).AddDate(0, 0, -17), day(21, 0))
	sub(std, 5, day(1, 0).AddDate(0, 1, 0), time.Time{})

	st, err := f.svc.Statement(f.ctx, strategy.Showback, "acme", day(15, 9))
	require.NoError(t, err)
	assert.True(t, st.Month.Equal(day(1, 0)))
	var got []string
	for _, l := range st.Lines {
		got = append(got, fmt.Sprintf("%s %d/%d %s", l.Offering, l.Days, l.DaysInMonth, l.Amount))
	}
	assert.ElementsMatch(t, []string{"Standard mailbox 30/30 540.00 EUR", "Archive 20/30 43.33 EUR",
		"Standard mailbox 20/30 30.00 EUR"}, got)
	if assert.Len(t, st.Totals, 1) {
		assert.Equal(t, "613.33 EUR", st.Totals[0].String())
	}
	_, err = f.svc.Statement(f.ctx, "invoice", "", time.Time{})
	testkit.RequireFields(t, err, "kind", "customer")

	// A subscription replaced at noon on the 15th is billed 14 days, its
	// successor 16: the month once. Two hours across midnight bill the
	// first day only.
	sub2 := func(qty int64, start, end time.Time) {
		_, err := f.svc.Subscribe(f.ctx, planner, std.ID, strategy.NewSubscription{Customer: "globex", Quantity: decimal.NewFromInt(qty), Start: start, End: end})
		require.NoError(t, err)
	}
	sub2(1, day(1, 0), day(15, 12))
	sub2(1, day(15, 12), time.Time{})
	sub2(2, day(30, 23), day(30, 23).Add(2*time.Hour))
	st, err = f.svc.Statement(f.ctx, strategy.Chargeback, "globex", day(1, 0))
	require.NoError(t, err)
	got = nil
	for _, l := range st.Lines {
		got = append(got, fmt.Sprintf("%d %s", l.Days, l.Amount))
	}
	assert.ElementsMatch(t, []string{"14 2.10 EUR", "16 2.40 EUR", "1 0.30 EUR"}, got, "4.50 a month: 14/30, 16/30; 9.00 for 1/30")
	july, err := f.svc.Statement(f.ctx, strategy.Chargeback, "globex", day(1, 0).AddDate(0, 1, 0))
	require.NoError(t, err)
	for _, l := range july.Lines {
		assert.NotEqual(t, 0, l.Days)
		assert.Equal(t, 31, l.DaysInMonth)
	}
	assert.Len(t, july.Lines, 1, "the two hours bill no July day")
}

// testRelationships: customers with their stakeholders, satisfaction
// from normalised survey answers (hand-worked: answers 5 and 3 on 1–5
// score 75, 4 and 2 score 50, the month 62.5), service reviews with
// actions, complaints and compliments.
func testRelationships(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	e := f.propose("Mail")
	acme, err := f.svc.AddCustomer(f.ctx, planner, "acme", "Acme Corp", []strategy.Stakeholder{
		{Name: "Ann", Role: strategy.RoleCustomer}, {Name: "Uma", Role: strategy.RoleUser}, {Name: "Sid", Role: strategy.RoleSponsor}})
	require.NoError(t, err)
	assert.Len(t, acme.Stakeholders, 3)
	got, err := f.svc.GetCustomer(f.ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "Acme Corp", got.Name)
	_, err = f.svc.AddCustomer(f.ctx, planner, "acme", "Acme again", nil)
	require.ErrorIs(t, err, itil.ErrConflict, "the code is taken")
	_, err = f.svc.AddCustomer(f.ctx, planner, "", "", []strategy.Stakeholder{{Name: "Bob", Role: "boss"}})
	testkit.RequireFields(t, err, "code", "name", "stakeholders[0].role")

	qs := []strategy.Question{{Text: "How reliable is mail?", Min: 1, Max: 5}, {Text: "How fast is support?", Min: 1, Max: 5}}
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err = f.svc.RecordSurvey(f.ctx, planner, e.ID, "acme", june.AddDate(0, 0, 3), qs, []int{5, 3})
	require.NoError(t, err)
	_, err = f.svc.RecordSurvey(f.ctx, planner, e.ID, "acme", june.AddDate(0, 0, 20), qs, []int{4, 2})
	require.NoError(t, err)
	_, err = f.svc.RecordSurvey(f.ctx, planner, e.ID, "acme", june.AddDate(0, 1, 2), qs, []int{1, 1})
	require.NoError(t, err)
	sat, err := f.svc.Satisfaction(f.ctx, e.ID, june, june.AddDate(0, 1, 0))
	require.NoError(t, err)
	assert.Equal(t, 2, sat.Surveys)
	assert.Equal(t, "62.5", sat.Score.String())
	_, err = f.svc.RecordSurvey(f.ctx, planner, e.ID, "globex", june, qs, []int{5, 5})
	testkit.RequireFields(t, err, "customer")
	_, err = f.svc.RecordSurvey(f.ctx, planner, e.ID, "acme", june, qs, []int{6, 0})
	testkit.RequireFields(t, err, "answers[0]", "answers[1]")

	_, err = f.svc.RecordReview(f.ctx, planner, e.ID, "acme", june.AddDate(0, 0, 28), "Quarterly review",
		[]strategy.ReviewAction{{What: "Raise the mailbox quota", Owner: "olga", Due: june.AddDate(0, 2, 0)}})
	require.NoError(t, err)
	_, err = f.svc.RecordFeedback(f.ctx, planner, e.ID, "acme", strategy.Complaint, "Mail was down on the 11th", june.AddDate(0, 0, 11))
	require.NoError(t, err)
	_, err = f.svc.RecordFeedback(f.ctx, planner, e.ID, "acme", strategy.Compliment, "Quick restore", june.AddDate(0, 0, 12))
	require.NoError(t, err)
	var kinds []strategy.FeedbackType
	for fb, err := range f.svc.Feedback(f.ctx, e.ID) {
		require.NoError(t, err)
		kinds = append(kinds, fb.Type)
	}
	assert.Equal(t, []strategy.FeedbackType{strategy.Complaint, strategy.Compliment}, kinds)
	n := 0
	for rv, err := range f.svc.Reviews(f.ctx, e.ID) {
		require.NoError(t, err)
		assert.Equal(t, "olga", rv.Actions[0].Owner)
		n++
	}
	assert.Equal(t, 1, n)
}

// testDemandRecords: patterns of business activity of a service, and user
// profiles (roles) mapped to them.
func testDemandRecords(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	e := f.propose("Payroll")
	close, err := f.svc.DefinePattern(f.ctx, planner, strategy.PatternOfBusinessActivity{EntryID: e.ID, Name: "Month-end close",
		Classification: "cyclical", Frequency: "last two working days of each month", Volume: 4000, Location: "HQ",
		Duration: 48 * time.Hour, Requirements: "payroll runs finish by 18:00"})
	require.NoError(t, err)
	_, err = f.svc.DefinePattern(f.ctx, planner, strategy.PatternOfBusinessActivity{EntryID: e.ID, Name: "Daily entry",
		Classification: "steady", Frequency: "weekdays", Volume: 300})
	require.NoError(t, err)
	var got []string
	for p, err := range f.svc.Patterns(f.ctx, e.ID) {
		require.NoError(t, err)
		got = append(got, p.Name)
	}
	assert.Equal(t, []string{"Daily entry", "Month-end close"}, got)
	prof, err := f.svc.DefineProfile(f.ctx, planner, "Payroll clerk", []string{"clerk"}, []itil.ID{close.ID})
	require.NoError(t, err)
	var of []itil.ID
	for p, err := range f.svc.ProfilesOf(f.ctx, close.ID) {
		require.NoError(t, err)
		of = append(of, p.ID)
	}
	assert.Equal(t, []itil.ID{prof.ID}, of)

	_, err = f.svc.DefinePattern(f.ctx, planner, strategy.PatternOfBusinessActivity{EntryID: e.ID, Volume: -1})
	testkit.RequireFields(t, err, "name", "classification", "frequency", "volume")
	_, err = f.svc.DefinePattern(f.ctx, planner, strategy.PatternOfBusinessActivity{EntryID: itil.NewID(), Name: "x", Classification: "x", Frequency: "x"})
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.DefineProfile(f.ctx, planner, "Ghost", []string{"ghost"}, []itil.ID{itil.NewID()})
	testkit.RequireFields(t, err, "patterns[0]")
	_, err = f.svc.DefineProfile(f.ctx, planner, "", nil, nil)
	testkit.RequireFields(t, err, "name", "roles")
}

// testCosts: costs entered by rate card or amount against a CI, a service
// or a cost centre; a budget per service and month, set again on update;
// the variance against the month's costs and an allocation.
func testCosts(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	mailCI, serverCI := itil.NewID(), itil.NewID()
	e, err := f.svc.Propose(f.ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, ServiceCIID: mailCI})
	require.NoError(t, err)
	june := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	card, err := f.svc.DefineRateCard(f.ctx, planner, "Linux server", "server month", eur("250.00"))
	require.NoError(t, err)
	c, err := f.svc.RecordCost(f.ctx, planner, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectCI, ID: serverCI.String()},
		Description: "4 mail servers", RateCardID: card.ID, Units: decimal.NewFromInt(4), Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect})
	require.NoError(t, err)
	assert.Equal(t, "1000.00 EUR", c.Amount.String())
	assert.True(t, c.Month.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)))
	_, err = f.svc.RecordCost(f.ctx, planner, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectService, ID: e.ID.String()},
		Description: "Licences", Amount: eur("100.00"), Type: strategy.CostOpex, Behaviour: strategy.CostVariable, Attribution: strategy.CostDirect})
	require.NoError(t, err)
	_, err = f.svc.RecordCost(f.ctx, planner, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectCostCentre, ID: "IT-OPS"},
		Description: "Operations staff", Amount: eur("5000"), Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect})
	require.NoError(t, err)
	n := 0
	for c, err := range f.svc.Costs(f.ctx, strategy.CostObject{Kind: strategy.ObjectCI, ID: serverCI.String()}, june) {
		require.NoError(t, err)
		assert.Equal(t, "4 mail servers", c.Description)
		n++
	}
	assert.Equal(t, 1, n)

	_, err = f.svc.SetBudget(f.ctx, planner, e.ID, june, eur("1500"))
	require.NoError(t, err)
	b, err := f.svc.SetBudget(f.ctx, planner, e.ID, june.AddDate(0, 0, 3), eur("1200"))
	require.NoError(t, err)
	assert.Equal(t, "1200.00 EUR", b.Amount.String(), "set again: updated")
	alloc := &strategy.Allocation{Allocated: []strategy.Allocated{{ID: mailCI, Amount: eur("900.00")}}}
	v, err := f.svc.Variance(f.ctx, e.ID, june, alloc)
	require.NoError(t, err)
	assert.Equal(t, "1000.00 EUR", v.Actual.String())
	assert.Equal(t, "200.00 EUR", v.Variance.String())
	_, err = f.svc.Variance(f.ctx, e.ID, june, &strategy.Allocation{Allocated: []strategy.Allocated{{ID: mailCI,
		Amount: slm.Money{Amount: decimal.NewFromInt(1), Currency: "USD"}}}})
	testkit.RequireFields(t, err, "allocation")
	_, err = f.svc.Variance(f.ctx, e.ID, june.AddDate(0, 1, 0), nil)
	require.ErrorIs(t, err, itil.ErrNotFound, "no budget for July")

	_, err = f.svc.RecordCost(f.ctx, planner, strategy.NewCost{Object: strategy.CostObject{Kind: "vendor"}, RateCardID: card.ID,
		Amount: eur("1"), Type: "both"})
	testkit.RequireFields(t, err, "object.kind", "description", "amount", "type", "behaviour", "attribution")
	_, err = f.svc.RecordCost(f.ctx, planner, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectService, ID: itil.NewID().String()},
		Description: "x", Amount: eur("1"), Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostDirect})
	require.ErrorIs(t, err, itil.ErrNotFound)
}

// testRetireHeldOpen: a retirement whose transaction stays open while
// the other instance adds, publishes and subscribes to a new offering
// (which its guard's query could not see): it must not commit as if the
// service had no customer. Where the store lets the other instance write
// meanwhile (memory, PostgreSQL), publishing the offering writes the
// entry the retirement read, so the retirement runs again and is refused
// or takes the override path; where it does not (SQLite's single
// writer), the other instance waits and finds the service retiring.
func testRetireHeldOpen(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	inTx, release := make(chan struct{}, 1), make(chan struct{})
	var armed sync.Once
	hold := storage.HookFunc(func(_ context.Context, _ storage.Tx, _ itil.Actor, snap itil.Snapshot) error {
		if snap.Kind == strategy.Kind && snap.State == string(strategy.StatusRetiring) {
			armed.Do(func() {
				inTx <- struct{}{}
				select {
				case <-release:
				case <-time.After(2 * time.Second): // a single-writer store: the other side waits on us
				}
			})
		}
		return nil
	})
	a := setup(t, func(*testing.T) storage.Store { return s1 }, strategy.WithHook(hold))
	b := setup(t, func(*testing.T) storage.Store { return s2 }, strategy.WithClock(a.clock))
	os := a.catalogueWith("Mail", mailbox())
	e, err := a.svc.Get(a.ctx, os[0].EntryID)
	require.NoError(t, err)
	a.move(e.ID, strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate)
	done := make(chan error, 1)
	go func() {
		_, err := a.svc.Move(t.Context(), board, e.ID, strategy.MoveRetire, "")
		done <- err
	}()
	<-inTx
	subscribed := make(chan error, 1)
	go func() {
		fresh, err := b.svc.AddOffering(t.Context(), planner, e.ID, mailbox())
		if err == nil {
			_, err = b.svc.PublishOffering(t.Context(), planner, fresh.ID)
		}
		if err == nil {
			_, err = b.svc.Subscribe(t.Context(), planner, fresh.ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1)})
		}
		subscribed <- err
	}()
	var subErr error
	select {
	case subErr = <-subscribed: // the store let it through
		close(release)
		retireErr := <-done
		require.NoError(t, subErr)
		testkit.RequireFields(t, retireErr, "subscriptions")
	case retireErr := <-done: // it waited for the retirement
		require.NoError(t, retireErr)
		subErr = <-subscribed
		require.ErrorIs(t, subErr, itil.ErrInvalidTransition)
	}
}

// testAuthorizer: the Authorizer is asked for the commands on every kind
// of record.
func testAuthorizer(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	os := f.catalogueWith("Mail", mailbox())
	deny := func(ctx context.Context, actor itil.Actor, command string, _ *strategy.Entry) error {
		if actor.ID == "mallory" {
			return itil.ErrForbidden
		}
		return nil
	}
	guarded, err := strategy.New(f.store, strategy.WithClock(f.clock), strategy.WithAuthorizer(deny))
	require.NoError(t, err)
	mallory := itil.Actor{ID: "mallory"}
	june := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for name, do := range map[string]func() error{
		"subscribe": func() error {
			_, err := guarded.Subscribe(f.ctx, mallory, os[0].ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1)})
			return err
		},
		"retire offering": func() error { _, err := guarded.RetireOffering(f.ctx, mallory, os[0].ID); return err },
		"set budget":      func() error { _, err := guarded.SetBudget(f.ctx, mallory, os[0].EntryID, june, eur("1")); return err },
		"add customer":    func() error { _, err := guarded.AddCustomer(f.ctx, mallory, "evil", "Evil Corp", nil); return err },
		"record cost": func() error {
			_, err := guarded.RecordCost(f.ctx, mallory, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectCostCentre, ID: "X"},
				Description: "x", Amount: eur("1"), Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostDirect})
			return err
		},
	} {
		require.ErrorIs(t, do(), itil.ErrForbidden, name)
	}
}

// testMends: the cases a review found: a cost entered with the service's
// ID spelled otherwise still counts in its variance; ending a
// subscription does not extend it; a blank override reason is none.
func testMends(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	os := f.catalogueWith("Mail", mailbox())
	entry := os[0].EntryID
	june := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
	_, err := f.svc.SetBudget(f.ctx, planner, entry, june, eur("500"))
	require.NoError(t, err)
	_, err = f.svc.RecordCost(f.ctx, planner, strategy.NewCost{Month: june, Object: strategy.CostObject{Kind: strategy.ObjectService,
		ID: "{" + strings.ToUpper(entry.String()) + "}"}, Description: "Licences", Amount: eur("200"), Type: strategy.CostOpex,
		Behaviour: strategy.CostFixed, Attribution: strategy.CostDirect})
	require.NoError(t, err)
	v, err := f.svc.Variance(f.ctx, entry, june, nil)
	require.NoError(t, err)
	assert.Equal(t, "200.00 EUR", v.Actual.String())

	f.move(entry, strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate)
	sub, err := f.svc.Subscribe(f.ctx, planner, os[0].ID, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1),
		End: f.clock.Now().AddDate(0, 1, 0)})
	require.NoError(t, err)
	_, err = f.svc.EndSubscription(f.ctx, planner, sub.ID, f.clock.Now().AddDate(1, 0, 0))
	testkit.RequireFields(t, err, "end")
	_, err = f.svc.Move(f.ctx, board, entry, strategy.MoveRetire, "   ")
	testkit.RequireFields(t, err, "subscriptions")
}
