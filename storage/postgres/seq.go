package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultSequenceCache is the largest block of sequence values a backend
// reserves at once unless WithSequenceCache says otherwise.
const defaultSequenceCache = 32

// busyWindow: a block used up within this time of being reserved was too
// small, so the next one is twice as large (up to the cache size). A block
// older than this is dropped, values left or not, and followed by a single
// value: numbers taken slowly are reserved one at a time, in the order
// they are taken across instances.
const busyWindow = time.Second

// seqKey names one tenant's sequence.
type seqKey struct{ tenant, name string }

// seqBlock is the part of one sequence this backend has reserved and not
// yet handed out: the left values that end at end.
type seqBlock struct {
	lock     chan struct{} // held while a value is taken, refill included
	end      int64
	left     int64
	size     int64     // size of the last reservation
	reserved time.Time // when it was made
}

// sequences hands out sequence values from blocks reserved in the
// sequences table.
type sequences struct {
	max    int64
	now    func() time.Time // time.Now; tests replace it
	mu     sync.Mutex
	blocks map[seqKey]*seqBlock
	// onReserve, set by tests only, sees each reservation's size and the
	// synchronous_commit setting its commit ran with.
	onReserve func(size int64, syncCommit string)
}

func newSequences(max int) *sequences {
	return &sequences{max: int64(max), now: time.Now, blocks: make(map[seqKey]*seqBlock)}
}

func (s *sequences) block(k seqKey) *seqBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	blk := s.blocks[k]
	if blk == nil {
		blk = &seqBlock{lock: make(chan struct{}, 1)}
		s.blocks[k] = blk
	}
	return blk
}

// next returns the next value of k, reserving a new block on db when the
// current one is used up. The caller passes a connection it already holds,
// so a goroutine holding a block's lock never waits for the pool.
func (s *sequences) next(ctx context.Context, db *pgxpool.Conn, k seqKey) (int64, error) {
	blk := s.block(k)
	select {
	case blk.lock <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-blk.lock }()
	now := s.now()
	fresh := blk.size > 0 && now.Sub(blk.reserved) < busyWindow
	if blk.left > 0 && fresh {
		v := blk.end - blk.left + 1
		blk.left--
		return v, nil
	}
	size := int64(1)
	if fresh {
		size = min(2*blk.size, s.max)
	}
	// A transaction of its own, in one round trip, at READ COMMITTED
	// whatever the database's default (under SERIALIZABLE, concurrent
	// upserts of the row would fail). A single value goes to the
	// transaction that took it, whose durable commit also flushes this
	// one's WAL, so this one need not wait for its flush. A block must be
	// durable before its other values are handed out: a server crash that
	// lost it would let another instance reserve them again.
	durable := size > 1
	var end int64
	var syncCommit string // what the commit runs with, for tests
	var batch pgx.Batch
	batch.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	if !durable {
		batch.Queue(`SET LOCAL synchronous_commit TO OFF`)
	}
	batch.Queue(`INSERT INTO sequences AS s (tenant, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, name) DO UPDATE SET value = s.value + $3
		RETURNING value, current_setting('synchronous_commit')`,
		k.tenant, k.name, size).QueryRow(func(row pgx.Row) error { return row.Scan(&end, &syncCommit) })
	batch.Queue(`COMMIT`)
	if err := db.SendBatch(ctx, &batch).Close(); err != nil {
		rollback(db.Conn())
		return 0, err
	}
	if s.onReserve != nil {
		s.onReserve(size, syncCommit)
	}
	// end - size + 1 cannot overflow: the upsert fails when end would.
	blk.end, blk.left, blk.size, blk.reserved = end, size-1, size, now
	return end - size + 1, nil
}
