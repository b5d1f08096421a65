// Package follow holds the in-memory indexes that follow the journal: a
// process builds one from storage on first use and catches it up with the
// journal before each use, so that every Service, in this process or
// another, sees what every other committed (the CMDB's impact index, the
// change schedule).
package follow

import (
	"sync"
	"sync/atomic"
)

// Index is one such index, shared by the copies of a Service (In and
// IfVersion copy the pointer to it). The zero value is ready: empty.
type Index[T any] struct {
	mu sync.Mutex // held while the index is built
	v  atomic.Pointer[T]
}

// Get returns the index: built by build on first use (once, whichever
// caller comes first; a failed build is tried again by the next call),
// then caught up by catchUp, whose error it returns.
func (x *Index[T]) Get(build func() (*T, error), catchUp func(*T) error) (*T, error) {
	v := x.v.Load()
	if v == nil {
		x.mu.Lock()
		if v = x.v.Load(); v == nil {
			var err error
			if v, err = build(); err != nil {
				x.mu.Unlock()
				return nil, err
			}
			x.v.Store(v)
		}
		x.mu.Unlock()
	}
	if err := catchUp(v); err != nil {
		return nil, err
	}
	return v, nil
}
