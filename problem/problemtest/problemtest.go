// Package problemtest is the problem management suite, run against any
// storage backend: the in-memory backend runs it in package problem's
// tests, and every other backend runs it beside storagetest.Run so that
// problem management is proven on each of them.
//
//	func TestProblem(t *testing.T) {
//		problemtest.Run(t, instances)
//	}
package problemtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// NewStore returns a fresh, empty store for one test.
type NewStore func(t *testing.T) storage.Store

// Run runs the whole problem suite on stores made by instances: most
// tests on the first handle, the two-instance tests on both.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Open", func(t *testing.T) { testOpen(t, newStore) })
	t.Run("Flows", func(t *testing.T) { testFlows(t, newStore) })
	t.Run("Guards", func(t *testing.T) { testGuards(t, newStore) })
	t.Run("Final", func(t *testing.T) { testFinal(t, newStore) })
	t.Run("Duplicate", func(t *testing.T) { testDuplicate(t, newStore) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, newStore) })
	t.Run("UnknownIDs", func(t *testing.T) { testUnknownIDs(t, newStore) })
	t.Run("TimesOutOfRange", func(t *testing.T) { testTimesOutOfRange(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { testAuthorizer(t, newStore) })
	t.Run("ReanalyzeClosed", func(t *testing.T) { testReanalyzeClosed(t, newStore) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, newStore) })
	t.Run("LongTexts", func(t *testing.T) { testLongTexts(t, newStore) }) // limits.go
	t.Run("VersionAndTx", func(t *testing.T) { testVersionAndTx(t, newStore) })
	t.Run("List", func(t *testing.T) { testList(t, newStore) })
	t.Run("Notes", func(t *testing.T) { testNotes(t, newStore) })
	t.Run("Options", func(t *testing.T) { testOptions(t, newStore) })
	t.Run("Links", func(t *testing.T) { runLinks(t, newStore, instances) }) // links.go
	t.Run("Model", func(t *testing.T) { testModel(t, newStore, nil) })
	t.Run("LinksModel", func(t *testing.T) { testLinksModel(t, newStore, nil) }) // linksmodel.go
	t.Run("KnownErrors", func(t *testing.T) { runKnownErrors(t, instances, newStore) })
	runFixAndTrends(t, newStore, instances)
	t.Run("TwoInstances/Concurrency", func(t *testing.T) { testTwoInstances(t, instances) })
	t.Run("TwoInstances/Model", func(t *testing.T) { testModel(t, newStore, instances) })
	t.Run("TwoInstances/LinksModel", func(t *testing.T) { testLinksModel(t, newStore, instances) })
}

// clock is the suites' settable clock.
type clock = testkit.Clock

func newClock() *clock { return testkit.NewClock() }

var (
	analyst = itil.Actor{ID: "analyst", Name: "Ana Analyst"}
	manager = itil.Actor{ID: "manager", Name: "Max Manager"}
)

// tb is what fixture helpers report failures to.
type tb = testkit.TB

type fixture struct {
	t     tb
	ctx   context.Context
	store storage.Store
	svc   *problem.Service
	clock *clock
}

func setup(t *testing.T, newStore NewStore, opts ...problem.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), store: newStore(t), clock: newClock()}
	svc, err := problem.New(f.store, append([]problem.Option{problem.WithClock(f.clock)}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

func basic(title string) problem.NewProblem {
	return problem.NewProblem{Title: title, Category: "network", Impact: 2, Urgency: 2}
}

func (f *fixture) open(title string) *problem.Problem {
	f.t.Helper()
	p, err := f.svc.Open(f.ctx, analyst, basic(title))
	require.NoError(f.t, err)
	return p
}

func (f *fixture) get(id itil.ID) *problem.Problem {
	f.t.Helper()
	p, err := f.svc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return p
}

func (f *fixture) journalLen() int {
	f.t.Helper()
	return testkit.JournalLen(f.t, f.store)
}

// toRCA opens a problem and takes it to Root Cause Analysis.
func (f *fixture) toRCA(title string) *problem.Problem {
	f.t.Helper()
	p := f.open(title)
	_, err := f.svc.Assign(f.ctx, analyst, p.ID, "problem-mgmt", "ana")
	require.NoError(f.t, err)
	_, err = f.svc.Assess(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	p, err = f.svc.Confirm(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	return p
}

// toFix takes a new problem to Fix in Progress.
func (f *fixture) toFix(title string) *problem.Problem {
	f.t.Helper()
	p := f.toRCA(title)
	cause := "expired certificate on the load balancer"
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{CauseNotes: &cause})
	require.NoError(f.t, err)
	p, err = f.svc.Fix(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	return p
}

// toClosed takes a new problem to Closed with the fix applied.
func (f *fixture) toClosed(title string) *problem.Problem {
	f.t.Helper()
	p := f.toFix(title)
	fix := "renewed the certificate; added expiry monitoring"
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{FixNotes: &fix})
	require.NoError(f.t, err)
	_, err = f.svc.Resolve(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	p, err = f.svc.Complete(f.ctx, analyst, p.ID)
	require.NoError(f.t, err)
	return p
}
