package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultSequenceCache is the largest block of sequence values a backend
// reserves in one statement unless WithSequenceCache says otherwise.
const defaultSequenceCache = 32

// busyWindow: a block used up within this time of being reserved was too
// small, so the next one is twice as large (up to the cache size); a block
// that lasted longer is followed by a single value.
const busyWindow = time.Second

// seqKey names one tenant's sequence.
type seqKey struct{ tenant, name string }

// seqBlock is the part of one sequence this backend has reserved and not
// yet handed out: the values next..end.
type seqBlock struct {
	lock     chan struct{} // held while a value is taken, refill included
	next     int64
	end      int64
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
	if blk.next != 0 && blk.next <= blk.end {
		v := blk.next
		blk.next++
		return v, nil
	}
	now := s.now()
	size := int64(1)
	if blk.size > 0 && now.Sub(blk.reserved) < busyWindow {
		size = min(2*blk.size, s.max)
	}
	// A transaction of its own, in one round trip: READ COMMITTED whatever
	// the database's default (under SERIALIZABLE, concurrent upserts of the
	// row would fail), and not waiting for its WAL flush (see the package
	// doc).
	var end int64
	var batch pgx.Batch
	batch.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	batch.Queue(`SET LOCAL synchronous_commit TO OFF`)
	batch.Queue(`INSERT INTO sequences AS s (tenant, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, name) DO UPDATE SET value = s.value + $3 RETURNING value`,
		k.tenant, k.name, size).QueryRow(func(row pgx.Row) error { return row.Scan(&end) })
	batch.Queue(`COMMIT`)
	if err := db.SendBatch(ctx, &batch).Close(); err != nil {
		rollback(db.Conn())
		return 0, err
	}
	first := end - size + 1
	blk.next, blk.end, blk.size, blk.reserved = first+1, end, size, now
	return first, nil
}
