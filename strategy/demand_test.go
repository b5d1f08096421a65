package strategy_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/strategy"
)

// TestForecastHandWorked: a daily series that is exactly 100 + 2 a day
// plus a weekly pattern is forecast exactly: day t is 100 + 2t + S[t mod
// 7], and so is every day ahead; the holdout's error is nil.
func TestForecastHandWorked(t *testing.T) {
	week := []float64{10, -5, 0, 5, -10, 3, -3}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var xs []float64
	for d := range 35 {
		xs = append(xs, 100+2*float64(d)+week[d%7])
	}
	f, err := strategy.ForecastDemand(strategy.DemandSeries{Start: start, Step: 24 * time.Hour, Values: xs}, 7)
	require.NoError(t, err)
	require.Len(t, f.Points, 7)
	for k, p := range f.Points {
		d := 35 + k
		assert.InDelta(t, 100+2*float64(d)+week[d%7], p.Value, 1e-9, "day %d", d)
		assert.True(t, p.At.Equal(start.AddDate(0, 0, d)))
	}
	assert.InDelta(t, 0, f.HoldoutMAE, 1e-9)
	if assert.NotNil(t, f.HoldoutMAPE) {
		assert.InDelta(t, 0, *f.HoldoutMAPE, 1e-9)
	}
	// Days 35 to 41 are 180, 167, 174, 181, 168, 183, 179: over 180 on
	// days 38 and 40.
	over := f.Over(180)
	if assert.Len(t, over, 2) {
		assert.True(t, over[0].At.Equal(start.AddDate(0, 0, 38)))
		assert.True(t, over[1].At.Equal(start.AddDate(0, 0, 40)))
	}
}

// TestForecastHourlyWeeks: an hourly series with a daily and a weekly
// pattern (busy weekdays, quiet nights) and noise is forecast with a
// small error: the 168-hour season holds both.
func TestForecastHourlyWeeks(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // a Monday
	demand := func(h int) float64 {
		hour, day := h%24, (h/24)%7
		x := 20.0
		if hour >= 8 && hour < 18 {
			x += 60
		}
		if day >= 5 {
			x *= 0.3
		}
		return x + 3*math.Sin(float64(h)*1.7) // noise that averages out
	}
	var xs []float64
	for h := range 4 * 168 {
		xs = append(xs, demand(h))
	}
	f, err := strategy.ForecastDemand(strategy.DemandSeries{Start: start, Step: time.Hour, Values: xs}, 168)
	require.NoError(t, err)
	var worst float64
	for k, p := range f.Points {
		worst = max(worst, math.Abs(p.Value-demand(4*168+k)))
	}
	assert.Less(t, worst, 10.0, "within the noise's reach")
	assert.Less(t, f.HoldoutMAE, 5.0)
	assert.NotEmpty(t, f.Over(60), "weekday working hours exceed 60")
	assert.Empty(t, f.Over(90))
}

func TestForecastRefusesBadInput(t *testing.T) {
	_, err := strategy.ForecastDemand(strategy.DemandSeries{Step: time.Minute, Values: []float64{1}}, 0)
	testkit.RequireFields(t, err, "season", "horizon")
	_, err = strategy.ForecastDemand(strategy.DemandSeries{Step: 24 * time.Hour, Values: make([]float64, 20)}, 7)
	testkit.RequireFields(t, err, "values")
	xs := make([]float64, 21)
	xs[3] = math.NaN()
	_, err = strategy.ForecastDemand(strategy.DemandSeries{Step: 24 * time.Hour, Values: xs}, 7)
	testkit.RequireFields(t, err, "values[3]")
	// Values whose squared errors would not stay finite.
	xs[3] = math.MaxFloat64 / 2
	_, err = strategy.ForecastDemand(strategy.DemandSeries{Step: 24 * time.Hour, Values: xs}, 7)
	testkit.RequireFields(t, err, "values[3]")
	// A step that takes the forecast past what a duration holds.
	long := make([]float64, 400)
	_, err = strategy.ForecastDemand(strategy.DemandSeries{Start: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Step: 366 * 24 * time.Hour,
		Season: 4, Values: long}, 7)
	testkit.RequireFields(t, err, "step")
}

// TestForecastJSON: a forecast whose holdout is all zero has no MAPE, and
// still encodes.
func TestForecastJSON(t *testing.T) {
	f, err := strategy.ForecastDemand(strategy.DemandSeries{Step: 24 * time.Hour, Values: make([]float64, 21)}, 7)
	require.NoError(t, err)
	assert.Nil(t, f.HoldoutMAPE)
	_, err = json.Marshal(f)
	require.NoError(t, err)
}

// TestScoreOfMalformedSurvey: Score never panics.
func TestScoreOfMalformedSurvey(t *testing.T) {
	assert.True(t, (&strategy.Survey{}).Score().IsZero())
	assert.True(t, (&strategy.Survey{Questions: []strategy.Question{{Min: 1, Max: 1}}, Answers: []int{1}}).Score().IsZero())
	assert.True(t, (&strategy.Survey{Questions: []strategy.Question{{Min: 1, Max: 5}}, Answers: []int{1, 2}}).Score().IsZero())
}
