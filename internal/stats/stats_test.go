package stats

import (
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestPercentilesMatchSort: selection gives the nearest-rank percentiles
// a sort gives.
func TestPercentilesMatchSort(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(rapid.Int64Range(-5, 40), 1, 300).Draw(t, "xs")
		sorted := slices.Sorted(slices.Values(xs))
		p50, p90, p95 := Percentiles(slices.Clone(xs))
		for _, c := range []struct {
			p   int
			got int64
		}{{50, p50}, {90, p90}, {95, p95}} {
			if want := sorted[Rank(len(xs), c.p)]; c.got != want {
				t.Fatalf("p%d: %d, a sort says %d", c.p, c.got, want)
			}
		}
	})
}

// TestMeanIsExact: the mean of durations is their exact sum over their
// count, truncated toward zero, however far the sum passes int64.
func TestMeanIsExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		big1 := rapid.OneOf(rapid.Int64(), rapid.Int64Range(-1e15, 1e15), rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64 + 1, -1, 0}))
		xs := rapid.SliceOfN(big1, 1, 50).Draw(t, "xs")
		sum := new(big.Int)
		for _, x := range xs {
			sum.Add(sum, big.NewInt(x))
		}
		want := sum.Quo(sum, big.NewInt(int64(len(xs)))) // Quo truncates toward zero
		if got := Mean(xs); !want.IsInt64() || got != want.Int64() {
			t.Fatalf("mean of %v: %d, want %s", xs, got, want)
		}
	})
	// The overflow a year of resolutions met: 100,000 of 36 hours.
	xs := slices.Repeat([]int64{int64(36 * time.Hour)}, 100_000)
	if got := Mean(xs); got != int64(36*time.Hour) {
		t.Fatalf("mean of 100,000 × 36 h: %v", time.Duration(got))
	}
}
