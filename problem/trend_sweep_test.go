package problem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
)

// TestTrendSweep runs histories in bursts over hundreds of keys, with
// gaps of up to a few windows between them, so that the detector sweeps
// idle keys, reuses their slots and compacts its arrays; its crossings
// must stay the model's and its candidates DetectTrends'. Some histories
// start just before the Unix epoch and cross it.
func TestTrendSweep(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rules := []problem.TrendRule{
			{Name: "ci", By: problem.TrendByCI, Threshold: rapid.IntRange(1, 3).Draw(t, "ci threshold"), Window: 5 * time.Minute},
			{Name: "service-category", By: problem.TrendByService | problem.TrendByCategory, Threshold: rapid.IntRange(1, 4).Draw(t, "sc threshold"), Window: 10 * time.Minute},
			{Name: "service", By: problem.TrendByService, Threshold: rapid.IntRange(1, 4).Draw(t, "service threshold"), Window: 3 * time.Minute},
		}
		g := trendGen{rules: rules, lateness: time.Duration(rapid.SampledFrom([]int{0, 1, 4}).Draw(t, "lateness")) * time.Minute}
		cats := []string{"network", "email", ""}
		// Before the Unix epoch too, where a zero time would be later.
		at := rapid.SampledFrom([]time.Time{trendBase, time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)}).Draw(t, "start")
		n := 0
		for range rapid.IntRange(1, 5).Draw(t, "bursts") {
			at = at.Add(time.Duration(rapid.IntRange(0, 30).Draw(t, "gap")) * time.Minute)
			keys := rapid.IntRange(1, 400).Draw(t, "keys")
			first := rapid.IntRange(0, 400).Draw(t, "first key")
			for range rapid.IntRange(1, 500).Draw(t, "incidents") {
				n++
				k := first + rapid.IntRange(0, keys-1).Draw(t, "key")
				f := problem.TrendIncident{
					ID:        trendID(n),
					OpenedAt:  at.Add(time.Duration(rapid.IntRange(-90, 0).Draw(t, "late")) * time.Second),
					ServiceID: trendID(3000 + k%97),
					Category:  cats[k%len(cats)],
				}
				if k%5 != 0 {
					f.CIs = []itil.ID{trendID(10000 + k)}
				}
				g.history = append(g.history, f)
				at = at.Add(time.Duration(rapid.IntRange(0, 2).Draw(t, "step")) * time.Second)
			}
		}
		d, err := problem.NewTrendDetector(g.rules, g.lateness)
		require.NoError(t, err)
		m := newTrendModel(g.rules, g.lateness)
		for i, f := range g.history {
			got, err := d.Observe(f)
			require.NoError(t, err)
			require.Equal(t, m.observe(f), got, "crossings at arrival %d", i)
			if i == len(g.history)-1 || rapid.IntRange(0, 99).Draw(t, "check") == 0 {
				checkTrends(t, d, g, g.history[:i+1], m.latest)
			}
		}
	})
}
