package problem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
)

// TestTrendBefore1970 checks that a key crosses again after its count
// dipped, and that idle keys are swept, when the incidents are older than
// the Unix epoch (a series never observed must not look checked at it).
func TestTrendBefore1970(t *testing.T) {
	rules := []problem.TrendRule{{Name: "ci", By: problem.TrendByCI, Threshold: 2, Window: time.Hour}}
	base := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	var history []problem.TrendIncident
	for day := range 3 {
		for m := range 2 {
			history = append(history, problem.TrendIncident{
				ID: trendID(len(history) + 1), OpenedAt: base.Add(time.Duration(day)*24*time.Hour + time.Duration(m)*10*time.Minute),
				CIs: []itil.ID{ciA},
			})
		}
	}
	want, err := problem.ReplayTrends(rules, history)
	require.NoError(t, err)
	d, err := problem.NewTrendDetector(rules, 0)
	require.NoError(t, err)
	var got []problem.TrendCrossing
	for _, f := range history {
		cs, err := d.Observe(f)
		require.NoError(t, err)
		got = append(got, cs...)
	}
	require.Equal(t, want, got)
	require.Len(t, got, 3, "one crossing a day")
	m := newTrendModel(rules, 0)
	var model []problem.TrendCrossing
	for _, f := range history {
		model = append(model, m.observe(f)...)
	}
	require.Equal(t, model, got)
}
