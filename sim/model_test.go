package sim_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil/internal/stats"
	"github.com/itilkit/itil/sim"
	"github.com/itilkit/itil/slm/calendar"
)

// TestQueueMatchesModel: a desk always open, k agents, every incident of
// one priority taking exactly h, is a plain queue: each arrival, in
// order, goes to the agent free first and ends h after it starts. The
// simulation's times to resolve, its counts and its backlog are the
// model's, whatever the arrivals.
func TestQueueMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		agents := rapid.IntRange(1, 4).Draw(t, "agents")
		h := time.Duration(rapid.IntRange(1, 240).Draw(t, "minutes")) * time.Minute
		offsets := rapid.SliceOfN(rapid.IntRange(0, 2*24*60-1), 0, 60).Draw(t, "arrivals")
		var series []time.Time
		for _, m := range offsets {
			series = append(series, monday.Add(time.Duration(m)*time.Minute))
		}
		s := sim.Scenario{Name: "queue", Start: monday, Days: 2,
			Services: []sim.Service{{Name: "Mail", Group: "desk", Arrivals: []sim.Arrival{{Impact: 2, Urgency: 2, Series: series}}}},
			Groups:   []sim.Group{{Name: "desk", Agents: agents, Hours: calendar.AlwaysOpen(), Handling: sim.Fixed(h)}},
		}
		r, err := sim.Run(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		// The model.
		sorted := slices.Clone(series)
		slices.SortFunc(sorted, func(a, b time.Time) int { return a.Compare(b) })
		free := make([]time.Time, agents)
		end := monday.AddDate(0, 0, 2)
		var ttr []time.Duration
		ends := map[time.Time]int{}
		for _, at := range sorted {
			i := 0
			for j := range free {
				if free[j].Before(free[i]) {
					i = j
				}
			}
			start := at
			if free[i].After(at) {
				start = free[i]
			}
			free[i] = start.Add(h)
			if free[i].Before(end) {
				ttr = append(ttr, free[i].Sub(at))
				ends[free[i]]++
			}
		}
		if r.Opened != len(series) || r.Resolved != len(ttr) {
			t.Fatalf("%d opened, %d resolved; the model: %d, %d", r.Opened, r.Resolved, len(series), len(ttr))
		}
		var want sim.Durations
		if len(ttr) > 0 {
			p50, p90, p95 := stats.Percentiles(slices.Clone(ttr))
			want = sim.Durations{Count: len(ttr), Mean: stats.Mean(ttr), P50: p50, P90: p90, P95: p95}
		}
		if r.TimeToResolve != want {
			t.Fatalf("time to resolve %+v, the model %+v", r.TimeToResolve, want)
		}
		for _, p := range r.Backlog {
			opened, resolved := 0, 0
			for _, at := range series {
				if at.Before(p.At) {
					opened++
				}
			}
			for at, n := range ends {
				if at.Before(p.At) {
					resolved += n
				}
			}
			if p.Open != opened-resolved {
				t.Fatalf("backlog at %s: %d, the model %d", p.At.Format(time.RFC3339), p.Open, opened-resolved)
			}
		}
	})
}
