package slm

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm/calendar"
)

// liveTimers builds n running or paused timers on cal, each with up to 5
// pauses, started within the last 30 days before now.
func liveTimers(n int, cal *calendar.Calendar, now time.Time) []Timer {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]Timer, n)
	for i := range out {
		t := &out[i]
		at := now.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		*t = Timer{ID: itil.NewID(), State: InProgress, StartedAt: at, RunningSince: at,
			Goal: time.Duration(1+rng.IntN(40)) * time.Hour}
		for range rng.IntN(6) {
			at = at.Add(time.Duration(rng.Int64N(int64(now.Sub(at)/4 + 1))))
			t.pause(at, cal)
			at = at.Add(time.Duration(rng.Int64N(int64(now.Sub(at)/4 + 1))))
			t.resume(at)
		}
		if rng.IntN(4) == 0 {
			t.pause(at, cal)
		}
		t.settle(cal, []int{50, 75, 100}, at)
	}
	return out
}

func benchCalendar(b *testing.B) *calendar.Calendar {
	c, err := calendar.New(calendar.Spec{Zone: "America/New_York", Country: "US",
		Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0))})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkRecompute1M recomputes one million live timers (up to 5 pauses
// each): their progress now (business and wall time used, remaining,
// breached), and, as a second figure, their breach instant and next due
// threshold from the pause history. The target is 100 ms per million.
func BenchmarkRecompute1M(b *testing.B) {
	const n = 1_000_000
	cal := benchCalendar(b)
	now := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	timers := liveTimers(n, cal, now)
	thresholds := []int{50, 75, 100}
	b.Run("progress", func(b *testing.B) {
		b.ReportAllocs()
		breached := 0
		for b.Loop() {
			breached = 0
			for i := range timers {
				if timers[i].ProgressAt(cal, now).Breached {
					breached++
				}
			}
		}
		ms := float64(b.Elapsed().Milliseconds()) / float64(b.N)
		b.ReportMetric(ms, "ms/1M")
		b.ReportMetric(ms/100, "x-target")
		b.ReportMetric(float64(breached), "breached")
	})
	b.Run("settle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range timers {
				timers[i].settle(cal, thresholds, now)
			}
		}
		ms := float64(b.Elapsed().Milliseconds()) / float64(b.N)
		b.ReportMetric(ms, "ms/1M")
		b.ReportMetric(ms/100, "x-target")
	})
}
