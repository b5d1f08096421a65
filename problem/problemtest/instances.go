package problemtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/storagetest"
)

// testTwoInstances runs commands on one problem from two Services on two
// handles of one store (two application instances) at once: no update is
// lost, every version has exactly one event, and of two commands that
// race for one transition exactly one wins.
func testTwoInstances(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	c := newClock()
	svcA, err := problem.New(a, problem.WithClock(c))
	require.NoError(t, err)
	svcB, err := problem.New(b, problem.WithClock(c))
	require.NoError(t, err)
	ctx := t.Context()
	p, err := svcA.Open(ctx, analyst, basic("busy problem"))
	require.NoError(t, err)

	const each = 15
	var wg sync.WaitGroup
	for w, svc := range []*problem.Service{svcA, svcB} {
		wg.Go(func() {
			for i := range each {
				for {
					// Every assignment differs from every other, so each
					// one writes the problem; notes are records apart.
					_, err := svc.Assign(ctx, analyst, p.ID, fmt.Sprintf("group-%d-%d", w, i), "")
					if errors.Is(err, itil.ErrConflict) {
						continue // survived the Service's retries: the caller's turn
					}
					if !assert.NoError(t, err) {
						return
					}
					break
				}
				for {
					_, err := svc.WorkNote(ctx, analyst, p.ID, fmt.Sprintf("instance %d note %d", w, i))
					if errors.Is(err, itil.ErrConflict) {
						continue
					}
					if !assert.NoError(t, err) {
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	got, err := svcB.Get(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1+2*each), got.Version, "no assignment lost")
	h, err := svcA.History(ctx, p.ID)
	require.NoError(t, err)
	assert.Len(t, h, 1+4*each)
	var versions []int64
	for _, e := range h {
		if e.Kind == problem.Kind {
			versions = append(versions, e.Version)
		}
	}
	for i, v := range versions {
		assert.Equal(t, int64(i+1), v, "one event per version, in order")
	}

	// Two instances race to end one problem in two ways: one wins, the
	// other finds it final.
	for range 5 {
		q, err := svcA.Open(ctx, analyst, basic("race"))
		require.NoError(t, err)
		_, err = svcA.Assess(ctx, analyst, q.ID)
		require.NoError(t, err)
		errs := make([]error, 2)
		var race sync.WaitGroup
		race.Go(func() { _, errs[0] = svcA.Cancel(ctx, analyst, q.ID, "not a problem") })
		race.Go(func() { _, errs[1] = svcB.MarkDuplicate(ctx, analyst, q.ID, p.ID) })
		race.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if !errors.Is(err, itil.ErrInvalidTransition) && !errors.Is(err, itil.ErrConflict) {
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 1, won, "%v", errs)
		final, err := svcB.Get(ctx, q.ID)
		require.NoError(t, err)
		assert.True(t, final.State.Final())
		h, err := svcB.History(ctx, q.ID)
		require.NoError(t, err)
		own := 0
		for _, e := range h {
			if e.SubjectID == q.ID {
				own++
			}
		}
		assert.Equal(t, 3, own, "opened, assessed, ended")
	}
}
