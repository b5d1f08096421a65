// Package follow holds the in-memory indexes that follow the journal: a
// process builds one from storage on first use and catches it up with the
// journal before each use, so that every Service, in this process or
// another, sees what every other committed (the CMDB's impact index, the
// change schedule).
package follow

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/itilkit/itil/storage"
)

// Index is one such index, shared by the copies of a Service (In and
// IfVersion copy the pointer to it). The zero value is ready: empty.
type Index[T any] struct {
	mu sync.Mutex // held while the index is built
	v  atomic.Pointer[T]
}

// Get returns the index as tx sees the journal. It reads the journal's
// head (tx.LastSeq) first, then builds the index on first use (once,
// whichever caller comes first; a failed build is tried again by the next
// call) and catches it up; it returns their errors.
//
// The head is read before the build's lock is taken because the callers
// that wait for a build hold their transactions open, and a transaction
// can hold something the builder's would need: on PostgreSQL, a
// connection from a pool that several waiters can empty. A transaction
// takes its connection with its first read, so the builder's has it
// before the others can wait on it.
func (x *Index[T]) Get(ctx context.Context, tx storage.Tx, build func(head int64) (*T, error), catchUp func(v *T, head int64) error) (*T, error) {
	head, err := tx.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	v := x.v.Load()
	if v == nil {
		x.mu.Lock()
		if v = x.v.Load(); v == nil {
			if v, err = build(head); err != nil {
				x.mu.Unlock()
				return nil, err
			}
			x.v.Store(v)
		}
		x.mu.Unlock()
	}
	if err := catchUp(v, head); err != nil {
		return nil, err
	}
	return v, nil
}
