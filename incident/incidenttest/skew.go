package incidenttest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
)

// paused is a store whose transactions, when their context carries a
// pause, stop after their work and before their commit until released:
// another command can then run in between.
type paused struct{ storage.Store }

type pause struct {
	ran     chan struct{}
	release chan struct{}
	held    atomic.Bool // only the first attempt is held; retries run on
}

type pauseKey struct{}

func (p paused) RunInTx(ctx context.Context, fn func(context.Context, storage.Tx) error) error {
	return p.Store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if ps, ok := ctx.Value(pauseKey{}).(*pause); ok && ps.held.CompareAndSwap(false, true) {
			close(ps.ran)
			<-ps.release
		}
		return nil
	})
}

// testWriteSkew runs two commands that each check a rule against the
// incident the other one changes, the first held just before its commit
// while the second runs. Whatever the interleaving, the rules must hold
// afterwards: no open child under a resolved or canceled parent, no chain
// of links two deep.
func testWriteSkew(t *testing.T, newStore NewStore) {
	type incs struct{ a, b, c *incident.Incident }
	type step func(f *fixture, ctx context.Context, x incs) error
	resolve := func(f *fixture, ctx context.Context, x incs) error {
		_, err := f.svc.Resolve(ctx, agent, x.a.ID, "duplicate", "fixed at the source")
		return err
	}
	cancel := func(f *fixture, ctx context.Context, x incs) error {
		_, err := f.svc.Cancel(ctx, agent, x.a.ID, "raised twice")
		return err
	}
	linkBA := func(f *fixture, ctx context.Context, x incs) error {
		_, err := f.svc.LinkChild(ctx, agent, x.a.ID, x.b.ID)
		return err
	}
	linkCB := func(f *fixture, ctx context.Context, x incs) error {
		_, err := f.svc.LinkChild(ctx, agent, x.b.ID, x.c.ID)
		return err
	}
	reopenB := func(f *fixture, ctx context.Context, x incs) error {
		_, err := f.svc.Reopen(ctx, caller, x.b.ID, "still broken")
		return err
	}
	// b is a resolved child of a, and a was reopened: b may be reopened
	// and a resolved, but not both.
	settledChild := func(f *fixture, x incs) {
		require.NoError(f.t, linkBA(f, f.ctx, x))
		require.NoError(f.t, resolve(f, f.ctx, x))
		_, err := f.svc.Reopen(f.ctx, agent, x.a.ID, "not fixed after all")
		require.NoError(f.t, err)
	}
	cases := []struct {
		name          string
		setup         func(f *fixture, x incs)
		first, second step
	}{
		{"ResolveParent/LinkChild", nil, resolve, linkBA},
		{"LinkChild/ResolveParent", nil, linkBA, resolve},
		{"CancelParent/LinkChild", nil, cancel, linkBA},
		{"LinkChild/CancelParent", nil, linkBA, cancel},
		{"LinkUnder/LinkAbove", nil, linkCB, linkBA},
		{"LinkAbove/LinkUnder", nil, linkBA, linkCB},
		{"ReopenChild/ResolveParent", settledChild, reopenB, resolve},
		{"ResolveParent/ReopenChild", settledChild, resolve, reopenB},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t, func(t *testing.T) storage.Store { return paused{newStore(t)} })
			x := incs{f.open("a"), f.open("b"), f.open("c")}
			if c.setup != nil {
				c.setup(f, x)
			}
			ps := &pause{ran: make(chan struct{}), release: make(chan struct{})}
			firstDone := make(chan error, 1)
			go func() { firstDone <- c.first(f, context.WithValue(f.ctx, pauseKey{}, ps), x) }()
			var firstErr, secondErr error
			firstEnded, secondEnded := false, false
			select {
			case <-ps.ran:
			case firstErr = <-firstDone: // refused before reaching its commit
				firstEnded = true
			}
			secondDone := make(chan error, 1)
			go func() { secondDone <- c.second(f, f.ctx, x) }()
			// A backend that locks rows may hold the second command until
			// the first commits: let the first go after a moment either way.
			select {
			case secondErr = <-secondDone:
				secondEnded = true
			case <-time.After(100 * time.Millisecond):
			}
			close(ps.release)
			if !firstEnded {
				firstErr = <-firstDone
			}
			if !secondEnded {
				secondErr = <-secondDone
			}
			t.Logf("first: %v; second: %v", firstErr, secondErr)
			f.requireRules(x.a, x.b, x.c)
		})
	}
}

// requireRules checks the parent/child rules over the given incidents.
func (f *fixture) requireRules(incs ...*incident.Incident) {
	f.t.Helper()
	byID := map[any]*incident.Incident{}
	for _, i := range incs {
		byID[i.ID] = f.get(i.ID)
	}
	for _, i := range byID {
		p, ok := byID[i.ParentID]
		if !ok {
			continue
		}
		assert.Zero(f.t, p.ParentID, "%s is a child of %s, itself a child", i.Number, p.Number)
		if i.State.Open() {
			assert.True(f.t, p.State.Open(), "%s is %s under %s parent %s", i.Number, i.State, p.State, p.Number)
		}
	}
}
