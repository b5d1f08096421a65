package lifecycle

import (
	"errors"
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
)

// TestPeriodsFollowTheCalendar: each period starts at midnight of its
// calendar day (or month), even where a zone skips a midnight: the day
// Santiago moves its clocks forward at 00:00 starts at 01:00, and the
// next starts at midnight again.
func TestPeriodsFollowTheCalendar(t *testing.T) {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no tz data:", err)
	}
	from := time.Date(2026, 8, 20, 0, 0, 0, 0, loc)
	q := KPIQuery{From: from, To: from.AddDate(0, 1, 0), Every: Daily, Zone: "America/Santiago"}
	bounds, err := q.periods()
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bounds {
		l := b.In(loc)
		if want := time.Date(2026, 8, 20+i, 12, 0, 0, 0, loc); l.YearDay() != want.YearDay() {
			t.Fatalf("period %d starts %s, on another day than %s", i, l, want)
		}
		if h := l.Hour(); h != 0 && h != 1 {
			t.Fatalf("period %d starts at %s", i, l)
		}
	}
	q = KPIQuery{From: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Every: Monthly,
		Zone: "America/New_York"}
	if bounds, err = q.periods(); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	for i, b := range bounds {
		if l := b.In(ny); l.Day() != 1 || l.Hour() != 0 || int(l.Month()) != (i%12)+1 {
			t.Fatalf("month %d starts %s", i, l)
		}
	}
	for _, bad := range []KPIQuery{{From: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Every: Daily},
		{From: from, To: from.AddDate(1, 0, 0), Every: Daily, Zone: "Local"}} {
		if _, err := bad.periods(); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}

// TestKPIQuerySize: a breakdown whose periods times keys would take too
// much memory is refused, naming "by".
func TestKPIQuerySize(t *testing.T) {
	k := newKPIFacts(nil)
	for range 3000 {
		k.dimsOf(itil.NewID(), "", 0)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := KPIQuery{From: from, To: from.AddDate(0, 0, 1000), Every: Daily, By: ByService}
	bounds, err := q.periods()
	if err != nil {
		t.Fatal(err)
	}
	var v *itil.ValidationError
	if err := k.checkSize(&q, bounds); !errors.As(err, &v) || v.Fields[0].Field != "by" {
		t.Fatalf("3000 services × 1000 days: %v", err)
	}
	q.By = ByGroup
	if err := k.checkSize(&q, bounds); err != nil {
		t.Fatalf("no groups × 1000 days: %v", err)
	}
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
		if got := mean(xs); !want.IsInt64() || got != want.Int64() {
			t.Fatalf("mean of %v: %d, want %s", xs, got, want)
		}
	})
	// The overflow a year of resolutions met: 100,000 of 36 hours.
	xs := slices.Repeat([]int64{int64(36 * time.Hour)}, 100_000)
	if got := mean(xs); got != int64(36*time.Hour) {
		t.Fatalf("mean of 100,000 × 36 h: %v", time.Duration(got))
	}
}
