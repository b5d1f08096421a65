package change

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// kindBookingClaim is the storage kind of the records that make two
// instances' conflict checks meet: one per key a change books (a CI, a
// service, an assignee) and one for the schedules in force.
const kindBookingClaim = "change_booking_claim"

// bookingClaim is written by every command that changes what is booked
// on its key, and read by every conflict check that reads the key: a
// check and a booking that run at once on two instances then conflict on
// it (the storage contract's read-set rule), and one of them runs again
// and sees the other. A query alone would not do: a change that arrives on
// a CI is a phantom to a query that ran before it committed.
type bookingClaim struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	Key     string  `json:"key"`
	Writes  int64   `json:"writes"`
}

var bookingClaims = storage.NewCollection(storage.Schema[bookingClaim]{
	Kind:    kindBookingClaim,
	ID:      func(b *bookingClaim) itil.ID { return b.ID },
	Version: func(b *bookingClaim) *int64 { return &b.Version },
	SortKey: func(b *bookingClaim) string { return b.Key },
	Terms:   func(_ *bookingClaim, dst []string) []string { return dst },
	Clone:   func(dst, src *bookingClaim) { *dst = *src },
})

var claimSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/change#booking_claim"))

// schedulesKey is the claim of the schedules in force.
const schedulesKey = "schedules"

func bookingClaimID(key string) itil.ID { return uuid.NewSHA1(claimSpace, []byte(key)) }

// bookingKeys returns the keys ch books: the index terms of its CIs,
// services and assignee (none when it is not scheduled).
func bookingKeys(ch *Change) []string {
	p := plannedOf(ch)
	if p == nil {
		return nil
	}
	var keys []string
	forEachCI(p.CIs, func(id itil.ID) { keys = append(keys, storage.Term("ci", id.String())) })
	forEachCI(p.Services, func(id itil.ID) { keys = append(keys, storage.Term("service", id.String())) })
	if p.Assignee != "" {
		keys = append(keys, storage.Term("assignee", p.Assignee))
	}
	return keys
}

// readClaims reads the claims of keys in the command's transaction, so
// that a booking committed on any of them meanwhile makes it conflict.
func readClaims(ctx context.Context, tx storage.Tx, keys []string) error {
	for _, k := range keys {
		if _, err := bookingClaims.Get(ctx, tx, bookingClaimID(k)); err != nil && !errors.Is(err, itil.ErrNotFound) {
			return err
		}
	}
	return nil
}

// touchClaims writes the claims of keys in the command's transaction.
func touchClaims(ctx context.Context, tx storage.Tx, keys []string) error {
	for _, k := range slices.Compact(slices.Sorted(slices.Values(keys))) {
		id := bookingClaimID(k)
		b, err := bookingClaims.Get(ctx, tx, id)
		if errors.Is(err, itil.ErrNotFound) {
			b, err = &bookingClaim{ID: id, Key: k}, nil
		}
		if err != nil {
			return err
		}
		b.Writes++
		if err := bookingClaims.Put(ctx, tx, b); err != nil {
			return err
		}
	}
	return nil
}

// A booking also writes a claim per UTC week its old and new windows
// touch, and the horizon (the latest planned end ever booked); a schedule
// command reads the week claims over the range it judges again. A booking
// committed while the schedule command's range query ran is a phantom to
// that query, but not to these reads: one of the two commands conflicts
// and runs again.
const (
	horizonKey = "horizon"
	week       = int64(7 * 24 * 3600)
	// mondayEpoch is a Monday 00:00 UTC (5 January 1970).
	mondayEpoch = int64(4 * 24 * 3600)
)

func weekOf(unixNano int64) int64 {
	s := unixNano/1e9 - mondayEpoch
	if s < 0 {
		return (s - week + 1) / week
	}
	return s / week
}

func weekKey(n int64) string { return "week=" + strconv.FormatInt(n, 10) }

// weekKeys returns the claims of the weeks s touches.
func weekKeys(s slot) []string {
	if s == (slot{}) {
		return nil
	}
	var out []string
	for w := weekOf(s.start); w <= weekOf(s.end-1); w++ {
		out = append(out, weekKey(w))
	}
	return out
}

// raiseHorizon writes the horizon claim when end lies past it.
func raiseHorizon(ctx context.Context, tx storage.Tx, end int64) error {
	id := bookingClaimID(horizonKey)
	b, err := bookingClaims.Get(ctx, tx, id)
	if errors.Is(err, itil.ErrNotFound) {
		b, err = &bookingClaim{ID: id, Key: horizonKey}, nil
	}
	if err != nil {
		return err
	}
	if b.Writes >= end {
		return nil
	}
	b.Writes = end
	return bookingClaims.Put(ctx, tx, b)
}

// readWeeks reads the week claims from the week of from to the week of
// to (to: zero for the horizon), so that a booking in that range
// committed meanwhile makes the caller conflict.
func readWeeks(ctx context.Context, tx storage.Tx, from, to int64) error {
	if to == 0 {
		h, err := bookingClaims.Get(ctx, tx, bookingClaimID(horizonKey))
		if errors.Is(err, itil.ErrNotFound) {
			return nil // nothing was ever booked
		}
		if err != nil {
			return err
		}
		to = h.Writes
	}
	var keys []string
	for w := weekOf(from); w <= weekOf(to); w++ {
		keys = append(keys, weekKey(w))
	}
	return readClaims(ctx, tx, keys)
}
