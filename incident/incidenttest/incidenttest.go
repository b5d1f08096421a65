// Package incidenttest is the incident management suite, run against any
// storage backend: the in-memory backend runs it in package incident's
// tests, and every other backend runs it beside storagetest.Run so that
// incident management is proven on each of them.
//
//	func TestIncident(t *testing.T) {
//		incidenttest.Run(t, func(t *testing.T) storage.Store { return openMyStore(t) })
//	}
package incidenttest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// NewStore returns a fresh, empty store for one test.
type NewStore func(t *testing.T) storage.Store

// Run runs the whole incident suite on stores made by instances: most tests
// on the first handle, the two-instance tests on both.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Open", func(t *testing.T) { testOpen(t, newStore) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, newStore) })
	t.Run("Guards", func(t *testing.T) { testGuards(t, newStore) })
	t.Run("Priority", func(t *testing.T) { testPriority(t, newStore) })
	t.Run("Assignment", func(t *testing.T) { testAssignment(t, newStore) })
	t.Run("AwaitingCaller", func(t *testing.T) { testAwaitingCaller(t, newStore) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newStore) })
	t.Run("ParentChild", func(t *testing.T) { testParentChild(t, newStore) })
	t.Run("AutoClose", func(t *testing.T) { testAutoClose(t, newStore) })
	t.Run("List", func(t *testing.T) { testList(t, newStore) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, newStore) })
	t.Run("History", func(t *testing.T) { testHistory(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { testAuthorizer(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newStore) })
	t.Run("WriteSkew", func(t *testing.T) { testWriteSkew(t, newStore) })
	t.Run("FirstResponse", func(t *testing.T) { testFirstResponse(t, newStore) })
	t.Run("HoldReasonChange", func(t *testing.T) { testHoldReasonChange(t, newStore) })
	t.Run("PinPriority", func(t *testing.T) { testPinPriority(t, newStore) })
	t.Run("CanceledParent", func(t *testing.T) { testCanceledParent(t, newStore) })
	t.Run("BadActors", func(t *testing.T) { testBadActors(t, newStore) })
	t.Run("EndedContext", func(t *testing.T) { testEndedContext(t, newStore) })
	t.Run("AutoCloseKeepsGoing", func(t *testing.T) { testAutoCloseKeepsGoing(t, newStore) })
	t.Run("Options", func(t *testing.T) { testOptions(t, newStore) })
	t.Run("LinkAuthorizesParent", func(t *testing.T) { testLinkAuthorizesParent(t, newStore) })
	t.Run("SLA", func(t *testing.T) { testSLA(t, newStore) })
	t.Run("TimesOutOfRange", func(t *testing.T) { testTimesOutOfRange(t, newStore) })
	t.Run("Model", func(t *testing.T) { testModel(t, newStore, nil) })
	t.Run("TwoInstances/Model", func(t *testing.T) { testModel(t, newStore, instances) })
	t.Run("TwoInstances/SLA", func(t *testing.T) { testTwoInstancesSLA(t, instances) })
	t.Run("TwoInstances/ClockSkew", func(t *testing.T) { testClockSkewSLA(t, instances) })
}

// clock is the suites' settable clock.
type clock = testkit.Clock

func newClock() *clock { return testkit.NewClock() }

var (
	agent  = itil.Actor{ID: "agent", Name: "Alex Agent"}
	caller = itil.Actor{ID: "caller", Name: "Casey Caller"}
)

// tb is what fixture helpers report failures to.
type tb = testkit.TB

type fixture struct {
	t     tb
	ctx   context.Context
	store storage.Store
	svc   *incident.Service
	clock *clock
}

func setup(t *testing.T, newStore NewStore, opts ...incident.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), store: newStore(t), clock: newClock()}
	svc, err := incident.New(f.store, append([]incident.Option{incident.WithClock(f.clock)}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

func basic(title string) incident.NewIncident {
	return incident.NewIncident{Title: title, Caller: caller, Channel: incident.Phone,
		Impact: 2, Urgency: 2, Category: "network"}
}

func (f *fixture) open(title string) *incident.Incident {
	f.t.Helper()
	inc, err := f.svc.Open(f.ctx, agent, basic(title))
	require.NoError(f.t, err)
	return inc
}

// journalLen counts every event of the tenant.
func (f *fixture) journalLen() int { return testkit.JournalLen(f.t, f.store) }

func (f *fixture) get(id itil.ID) *incident.Incident {
	f.t.Helper()
	inc, err := f.svc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return inc
}

// notes lists an incident's notes of the given visibilities (all when
// none).
func (f *fixture) notes(id itil.ID, vis ...itil.Visibility) []*itil.Note {
	f.t.Helper()
	var out []*itil.Note
	for n, err := range f.svc.Notes(f.ctx, id, vis...) {
		require.NoError(f.t, err)
		out = append(out, n)
	}
	return out
}
