package follow_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/internal/follow"
	"github.com/itilkit/itil/storage"
)

// fakeTx is a transaction that takes a connection from pool with its
// first read, as the PostgreSQL backend's does, and says on waiting when
// it has to wait for one.
type fakeTx struct {
	storage.Tx // nil: only LastSeq is called
	pool       chan struct{}
	held       bool
	waiting    chan struct{}
	head       int64
}

func (x *fakeTx) LastSeq(ctx context.Context) (int64, error) {
	if !x.held {
		if x.waiting != nil {
			close(x.waiting)
		}
		select {
		case x.pool <- struct{}{}:
			x.held = true
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return x.head, nil
}

func (x *fakeTx) end() { <-x.pool; x.held = false }

func TestBuildsOnceCatchesUpEveryTime(t *testing.T) {
	ctx := t.Context()
	var x follow.Index[int]
	var builds, catchUps atomic.Int32
	fail := errors.New("store down")
	tx := func() *fakeTx { return &fakeTx{pool: make(chan struct{}, 100), head: 7} }
	_, err := x.Get(ctx, tx(), func(int64) (*int, error) { builds.Add(1); return nil, fail }, func(*int, int64) error { return nil })
	require.ErrorIs(t, err, fail)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := x.Get(ctx, tx(), func(head int64) (*int, error) { builds.Add(1); n := int(head); return &n, nil },
				func(_ *int, head int64) error { assert.Equal(t, int64(7), head); catchUps.Add(1); return nil })
			assert.NoError(t, err)
			assert.Equal(t, 7, *v)
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(2), builds.Load(), "the failed build, then one")
	assert.Equal(t, int32(8), catchUps.Load(), "every use catches up")
	_, err = x.Get(ctx, tx(), nil, func(*int, int64) error { return fail })
	require.ErrorIs(t, err, fail, "a catch-up's error is returned")
	bad := &fakeTx{pool: make(chan struct{})} // never gives a connection
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = x.Get(cctx, bad, nil, nil)
	require.ErrorIs(t, err, context.Canceled, "the head's error is returned")
}

// A caller that waits for a connection must not hold the build's lock
// while it waits: the caller holding the last connection would wait for
// the lock, and neither would go on (the deadlock this guards against
// happened with more Service callers than pool connections).
func TestNoWaitForAConnectionUnderTheLock(t *testing.T) {
	ctx := t.Context()
	var x follow.Index[int]
	pool := make(chan struct{}, 1)
	a := &fakeTx{pool: pool, head: 3}
	_, err := a.LastSeq(ctx) // a has read already: it holds the one connection
	require.NoError(t, err)
	b := &fakeTx{pool: pool, head: 3, waiting: make(chan struct{})}
	build := func(head int64) (*int, error) { n := int(head); return &n, nil }
	done := make(chan error)
	go func() {
		_, err := x.Get(ctx, b, build, func(*int, int64) error { return nil })
		done <- err
	}()
	<-b.waiting // b waits for a's connection
	v, err := x.Get(ctx, a, build, func(*int, int64) error { return nil })
	require.NoError(t, err, "a builds while b waits")
	assert.Equal(t, 3, *v)
	a.end()
	require.NoError(t, <-done)
}
