package follow_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/internal/follow"
)

func TestBuildsOnceCatchesUpEveryTime(t *testing.T) {
	var x follow.Index[int]
	var builds, catchUps atomic.Int32
	fail := errors.New("store down")
	_, err := x.Get(func() (*int, error) { builds.Add(1); return nil, fail }, func(*int) error { return nil })
	require.ErrorIs(t, err, fail)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := x.Get(func() (*int, error) { builds.Add(1); n := 7; return &n, nil },
				func(*int) error { catchUps.Add(1); return nil })
			assert.NoError(t, err)
			assert.Equal(t, 7, *v)
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(2), builds.Load(), "the failed build, then one")
	assert.Equal(t, int32(8), catchUps.Load(), "every use catches up")
	_, err = x.Get(nil, func(*int) error { return fail })
	require.ErrorIs(t, err, fail, "a catch-up's error is returned")
}
