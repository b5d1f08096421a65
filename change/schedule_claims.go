package change

import (
	"context"
	"errors"
	"slices"

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
