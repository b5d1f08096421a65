package changetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// pair is two Services on two handles of one store (two application
// instances), on one clock, with the suite's directory.
type pair struct {
	f    *fixture // on the first handle
	svcs [2]*change.Service
	// unasked counts the commands given no version that still returned
	// itil.ErrConflict (they survived the Service's retries) and were run
	// again by the test, as a caller would.
	unasked atomic.Int64
}

func newPair(t *testing.T, instances storagetest.Instances, opts ...change.Option) *pair {
	a, b := instances(t)
	clock := testkit.NewClock()
	p := &pair{f: &fixture{t: t, ctx: t.Context(), store: a, clock: clock}}
	for i, s := range []storage.Store{a, b} {
		svc, err := change.New(s, append([]change.Option{change.WithClock(clock), change.WithDirectory(directory)}, opts...)...)
		require.NoError(t, err)
		p.svcs[i] = svc
	}
	p.f.svc = p.svcs[0]
	t.Cleanup(func() {
		if n := p.unasked.Load(); n > 0 {
			t.Logf("%d commands given no version returned itil.ErrConflict and were run again", n)
		}
	})
	return p
}

// again runs do until it returns anything but itil.ErrConflict: a command
// given no version that still conflicts is the caller's to run again.
func (p *pair) again(do func() error) error {
	for {
		err := do()
		if !errors.Is(err, itil.ErrConflict) {
			return err
		}
		p.unasked.Add(1)
	}
}

// race runs the functions at once, one goroutine each, and returns their
// errors.
func race(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts the nil errors and requires the others to be one of
// allowed.
func winners(t *testing.T, errs []error, allowed ...error) int {
	t.Helper()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		if !slices.ContainsFunc(allowed, func(target error) bool { return errors.Is(err, target) }) {
			t.Errorf("unexpected error: %v", err)
		}
	}
	return won
}

// ownEvents returns the events of h about the record id, in order.
func ownEvents(h []itil.HistoryEntry, id itil.ID) []itil.HistoryEntry {
	var out []itil.HistoryEntry
	for _, e := range h {
		if e.SubjectID == id {
			out = append(out, e)
		}
	}
	return out
}

// testTwoInstances runs commands on one change from two Services on two
// handles of one store at once: no update is lost, each approval counts
// once, of two commands racing for one transition exactly one wins, and
// itil.ErrConflict reaches only a caller who passed a version (or one
// whose command conflicted on every attempt, who runs it again).
func testTwoInstances(t *testing.T, instances storagetest.Instances) {
	t.Run("Updates", func(t *testing.T) { testConcurrentUpdates(t, instances) })
	t.Run("Approvals", func(t *testing.T) { testConcurrentApprovals(t, instances) })
	t.Run("Moves", func(t *testing.T) { testConcurrentMoves(t, instances) })
	t.Run("Tasks", func(t *testing.T) { testConcurrentTasks(t, instances) })
	t.Run("IfVersion", func(t *testing.T) { testConcurrentVersions(t, instances) })
	t.Run("Delegations", func(t *testing.T) { testConcurrentDelegations(t, instances) })
	t.Run("Numbers", func(t *testing.T) { testConcurrentNumbers(t, instances) })
}

// testConcurrentUpdates: both instances update one change, each update
// different: every one is written, one version and one event each, in
// order.
func testConcurrentUpdates(t *testing.T, instances storagetest.Instances) {
	p := newPair(t, instances)
	f := p.f
	ch := f.open(change.ModelNormal)
	const each = 12
	var wg sync.WaitGroup
	for w, svc := range p.svcs {
		wg.Go(func() {
			for i := range each {
				desc := fmt.Sprintf("instance %d update %d", w, i)
				plan := fmt.Sprintf("step %d of instance %d", i, w)
				var patch change.Patch
				if i%2 == 0 {
					patch.Description = &desc
				} else {
					patch.Implementation = &plan
				}
				err := p.again(func() error { return errOf(svc.Update(f.ctx, requester, ch.ID, patch)) })
				if !assert.NoError(t, err) {
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := p.svcs[1].Get(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, ch.Version+2*each, got.Version, "no update lost")
	h, err := p.svcs[0].History(f.ctx, ch.ID)
	require.NoError(t, err)
	own := ownEvents(h, ch.ID)
	require.Len(t, own, int(got.Version))
	for i, e := range own {
		assert.Equal(t, int64(i+1), e.Version, "one event per version, in order")
	}
}

// testConcurrentApprovals: the four CAB members approve one change at
// once, two on each instance, under a step that waits for all: each
// record is decided once, and the last decision (whichever it is)
// accepts the round; the change is written once, by it. Under a step
// that waits for the first, two approvers racing (or an approval racing
// a rejection) decide it once: one wins, the other finds nothing to
// decide.
func testConcurrentApprovals(t *testing.T, instances storagetest.Instances) {
	all := change.ApprovalRules{Rules: []change.ApprovalRule{{Name: "cab", State: change.StateAuthorize,
		Policy: change.ApprovalPolicy{Name: "the whole CAB", Steps: []change.ApprovalStep{{Name: "cab",
			Groups: []string{change.GroupCAB}, WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectAtOnce}}}}}}
	p := newPair(t, instances, change.WithApprovalRules(all))
	f := p.f
	for round := range 3 {
		ch := f.open(change.ModelNormal)
		ch = f.move(ch.ID, change.MoveAssess, change.MoveAuthorize)
		require.Equal(t, change.VerdictWaiting, ch.Approval.Verdict)
		members := directory[change.GroupCAB]
		var fns []func() error
		for i, who := range members {
			svc := p.svcs[i%2]
			fns = append(fns, func() error {
				return p.again(func() error { return errOf(svc.Approve(f.ctx, actor(who), ch.ID, "")) })
			})
		}
		errs := race(fns...)
		assert.Equal(t, len(members), winners(t, errs), "round %d: every member's approval counts", round)
		got := f.get(ch.ID)
		assert.Equal(t, change.VerdictAccepted, got.Approval.Verdict, "round %d: the last approval accepts", round)
		assert.Equal(t, ch.Version+1, got.Version, "round %d: the change is written once, when accepted", round)
		recs, err := f.svc.Approvals(f.ctx, ch.ID)
		require.NoError(t, err)
		require.Len(t, recs, len(members))
		h, err := f.svc.History(f.ctx, ch.ID)
		require.NoError(t, err)
		for _, r := range recs {
			assert.Equal(t, change.ApprovalApproved, r.State, r.Approver)
			assert.Equal(t, int64(2), r.Version, "%s: asked, then decided once", r.Approver)
			assert.Len(t, ownEvents(h, r.ID), 2, r.Approver)
		}
		got, err = f.svc.Move(f.ctx, requester, ch.ID, change.MoveSchedule)
		require.NoError(t, err)
		assert.Equal(t, change.StateScheduled, got.State)
	}

	// The default rules: the first of the assignment group decides.
	q := newPair(t, instances)
	g := q.f
	for round := range 4 {
		ch := g.open(change.ModelNormal)
		ch = g.move(ch.ID, change.MoveAssess)
		second := func() error { return errOf(q.svcs[1].Approve(g.ctx, actor("max"), ch.ID, "")) }
		if round%2 == 1 {
			second = func() error { return errOf(q.svcs[1].Reject(g.ctx, actor("max"), ch.ID, "no backout plan")) }
		}
		errs := race(
			func() error {
				return q.again(func() error { return errOf(q.svcs[0].Approve(g.ctx, actor("mia"), ch.ID, "")) })
			},
			func() error { return q.again(second) },
		)
		assert.Equal(t, 1, winners(t, errs, itil.ErrInvalidTransition), "round %d: %v", round, errs)
		got := g.get(ch.ID)
		assert.Equal(t, ch.Version+1, got.Version, "round %d: decided once", round)
		st := states(t, g, ch.ID, 1)
		if got.State == change.StateNew {
			assert.Equal(t, change.VerdictRefused, got.Approval.Verdict)
			assert.Equal(t, map[string]change.ApprovalState{"mia": change.ApprovalCanceled, "max": change.ApprovalRejected}, st)
		} else {
			assert.Equal(t, change.VerdictAccepted, got.Approval.Verdict)
			decided := 0
			for _, s := range st {
				if s == change.ApprovalApproved {
					decided++
				} else {
					assert.Equal(t, change.ApprovalNotRequired, s)
				}
			}
			assert.Equal(t, 1, decided, "round %d: %v", round, st)
		}
	}
}

// testConcurrentMoves: two instances make the same move, or a move and a
// cancel, at once: one wins, the other finds the change moved on; a
// change enters Implement once, with one pair of tasks.
func testConcurrentMoves(t *testing.T, instances storagetest.Instances) {
	p := newPair(t, instances)
	f := p.f
	for round := range 4 {
		ch := f.toState(change.StateAuthorize)
		move := func(i int, m string) func() error {
			return func() error {
				return p.again(func() error { return errOf(p.svcs[i].Move(f.ctx, requester, ch.ID, m)) })
			}
		}
		errs := race(move(0, change.MoveSchedule), move(1, change.MoveSchedule))
		assert.Equal(t, 1, winners(t, errs, itil.ErrInvalidTransition), "round %d: %v", round, errs)
		assert.Equal(t, ch.Version+1, f.get(ch.ID).Version)
		errs = race(move(0, change.MoveImplement), move(1, change.MoveImplement))
		assert.Equal(t, 1, winners(t, errs, itil.ErrInvalidTransition), "round %d: %v", round, errs)
		assert.Len(t, f.tasks(ch.ID), 2, "round %d: one pair of tasks", round)
		cur := f.get(ch.ID)
		errs = race(move(0, change.MoveReview), func() error {
			return p.again(func() error { return errOf(p.svcs[1].Cancel(f.ctx, requester, ch.ID, "the vendor withdrew it")) })
		})
		assert.Equal(t, 1, winners(t, errs, itil.ErrInvalidTransition), "round %d: %v", round, errs)
		got := f.get(ch.ID)
		assert.Equal(t, cur.Version+1, got.Version)
		assert.Contains(t, []change.State{change.StateReview, change.StateCanceled}, got.State)
		for _, tk := range f.tasks(ch.ID) {
			assert.Equal(t, change.TaskCanceled, tk.State, "ended with the change's move")
		}
	}
}

// testConcurrentTasks: the two tasks of a change start and close at once
// on the two instances: the change's actual start is the earliest start
// and, once both are closed, its actual end the latest close.
func testConcurrentTasks(t *testing.T, instances storagetest.Instances) {
	p := newPair(t, instances)
	f := p.f
	for round := range 4 {
		ch := f.toState(change.StateImplement)
		tks := f.tasks(ch.ID)
		f.clock.Advance(time.Minute)
		task := func(i int, do func(svc *change.Service, id itil.ID) error) func() error {
			return func() error { return p.again(func() error { return do(p.svcs[i], tks[i].ID) }) }
		}
		start := func(svc *change.Service, id itil.ID) error { return errOf(svc.StartTask(f.ctx, requester, id)) }
		closeTask := func(svc *change.Service, id itil.ID) error { return errOf(svc.CloseTask(f.ctx, requester, id, "done")) }
		assert.Equal(t, 2, winners(t, race(task(0, start), task(1, start))), "round %d", round)
		started := f.clock.Now()
		f.clock.Advance(time.Minute)
		assert.Equal(t, 2, winners(t, race(task(0, closeTask), task(1, closeTask))), "round %d", round)
		got := f.get(ch.ID)
		assert.Equal(t, started, got.ActualStart, "round %d", round)
		assert.Equal(t, f.clock.Now(), got.ActualEnd, "round %d: both closed, seen by the last", round)
		for _, tk := range f.tasks(ch.ID) {
			assert.Equal(t, change.TaskClosed, tk.State)
		}
	}
}

// testConcurrentVersions: both instances read one version and update with
// it at once: one wins, the other gets itil.ErrConflict and writes
// nothing.
func testConcurrentVersions(t *testing.T, instances storagetest.Instances) {
	p := newPair(t, instances)
	f := p.f
	ch := f.open(change.ModelNormal)
	for round := range 6 {
		cur := f.get(ch.ID)
		n := f.journalLen()
		update := func(i int) func() error {
			text := fmt.Sprintf("round %d by instance %d", round, i)
			return func() error {
				return errOf(p.svcs[i].IfVersion(cur.Version).Update(f.ctx, requester, ch.ID, change.Patch{Description: &text}))
			}
		}
		errs := race(update(0), update(1))
		assert.Equal(t, 1, winners(t, errs, itil.ErrConflict), "round %d: %v", round, errs)
		assert.Equal(t, cur.Version+1, f.get(ch.ID).Version)
		assert.Equal(t, n+1, f.journalLen(), "the loser wrote nothing")
	}
}

// testConcurrentDelegations: an approver names the same delegate for the
// same period on both instances at once: one delegation is recorded, the
// other refused as overlapping it.
func testConcurrentDelegations(t *testing.T, instances storagetest.Instances) {
	p := newPair(t, instances)
	f := p.f
	for round := range 8 {
		to := fmt.Sprintf("nora%d", round)
		d := change.Delegation{From: "mia", To: to, Start: f.clock.Now()}
		delegate := func(i int) func() error {
			return func() error { return p.again(func() error { return p.svcs[i].Delegate(f.ctx, actor("mia"), d) }) }
		}
		errs := race(delegate(0), delegate(1))
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				testkit.RequireFields(t, err, "start")
			}
		}
		assert.Equal(t, 1, won, "round %d: one delegation; %v", round, errs)
		n, err := f.svc.EndDelegation(f.ctx, actor("mia"), to)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "round %d: one delegation to end", round)
	}
}

// testConcurrentNumbers: both instances open changes at once: every one
// gets a number of its own.
func testConcurrentNumbers(t *testing.T, instances storagetest.Instances) {
	p := newPair(t, instances)
	f := p.f
	const each = 10
	var fns []func() error
	for i := range 2 * each {
		svc := p.svcs[i%2]
		fns = append(fns, func() error {
			return p.again(func() error { return errOf(svc.Open(f.ctx, requester, change.NewChange{Title: "at once"})) })
		})
	}
	assert.Equal(t, 2*each, winners(t, race(fns...)))
	seen := map[string]bool{}
	for ch, err := range f.svc.List(f.ctx, change.Filter{}) {
		require.NoError(t, err)
		assert.False(t, seen[ch.Number], "%s twice", ch.Number)
		seen[ch.Number] = true
	}
	assert.Len(t, seen, 2*each)
}
