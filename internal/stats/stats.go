// Package stats holds the statistics of durations the reports share: an
// exact mean and nearest-rank percentiles (SLA compliance in package slm,
// the KPIs in package lifecycle).
package stats

import (
	"math/bits"
	"slices"
)

// Mean is the mean of xs (not empty), truncated toward zero as integer
// division truncates. The sum is kept in 128 bits: a year of resolutions
// taking a day and a half each passes int64's 292 years after 71,000.
func Mean[T ~int64](xs []T) T {
	var hi int64
	var lo uint64
	for _, x := range xs {
		var carry uint64
		lo, carry = bits.Add64(lo, uint64(x), 0)
		hi += int64(x>>63) + int64(carry)
	}
	neg := hi < 0
	if neg {
		lo, hi = -lo, ^hi
		if lo == 0 {
			hi++
		}
	}
	// |sum| / n is at most the largest |x|, below 2^63: hi < n.
	q, _ := bits.Div64(uint64(hi), lo, uint64(len(xs)))
	if neg {
		return -T(q)
	}
	return T(q)
}

// Rank is the index of the p-th percentile of n sorted values by the
// nearest-rank method: the smallest value at least p percent of the
// values are at or below.
func Rank(n, p int) int { return max((p*n+99)/100, 1) - 1 }

// Percentiles returns the 50th, 90th and 95th percentiles of xs (not
// empty) by the nearest-rank method, reordering xs. Each is selected in
// linear time (selectNth) rather than by sorting: the KPIs of package
// lifecycle (BenchmarkKPIs) spent most of their time sorting durations.
func Percentiles[T ~int64](xs []T) (p50, p90, p95 T) {
	n := len(xs)
	i50, i90, i95 := Rank(n, 50), Rank(n, 90), Rank(n, 95)
	selectNth(xs, i50)
	selectNth(xs[i50:], i90-i50) // xs[i50:] holds the values at or above the median
	selectNth(xs[i90:], i95-i90)
	return xs[i50], xs[i90], xs[i95]
}

// selectNth reorders xs so that xs[n] is the value a sort would put
// there, none before it larger and none after it smaller (quickselect,
// median-of-three pivots; insertion sort for short ranges).
func selectNth[T ~int64](xs []T, n int) {
	lo, hi := 0, len(xs)-1
	for hi-lo > 16 {
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i, j = i+1, j-1
			}
		}
		switch {
		case n <= j:
			hi = j
		case n >= i:
			lo = i
		default:
			return // xs[j+1:i] all equal the pivot
		}
	}
	slices.Sort(xs[lo : hi+1])
}
