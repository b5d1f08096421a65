package storage_test

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil/storage"
)

// TimeKey must read like the layout and order like the instants.
func TestTimeKeyOrdersLikeTime(t *testing.T) {
	instant := rapid.Custom(func(t *rapid.T) time.Time {
		sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec") // years 1..9999
		return time.Unix(sec, rapid.Int64Range(0, 999999999).Draw(t, "nsec")).
			In(time.FixedZone("z", rapid.IntRange(-50400, 50400).Draw(t, "offset")))
	})
	rapid.Check(t, func(rt *rapid.T) {
		a, b := instant.Draw(rt, "a"), instant.Draw(rt, "b")
		ka, kb := storage.TimeKey(a), storage.TimeKey(b)
		if want := a.UTC().Format("20060102T150405.000000000Z"); ka != want {
			rt.Fatalf("TimeKey(%v) = %s, want %s", a, ka, want)
		}
		if a.Before(b) != (ka < kb) || a.Equal(b) != (ka == kb) {
			rt.Fatalf("%v vs %v ordered as %s vs %s", a, b, ka, kb)
		}
	})
}
