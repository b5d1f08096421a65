package strategy

import (
	"math"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Demand management: ITIL's patterns of business activity say when and
// how much the business uses a service; a forecast from what it used says
// how much it will, and whether the offering's capacity will hold.
//
// ForecastDemand uses additive Holt-Winters (triple exponential
// smoothing): a level, a trend and one seasonal index per position in the
// season, each updated by its own smoothing factor as the series goes.
// An hourly series has a season of 168 hours, which holds both the daily
// and the weekly pattern (Monday 09:00 apart from Sunday 09:00); a daily
// series a season of 7 days. The smoothing factors are chosen on a grid
// by the smallest squared error of one-step forecasts over the series
// less its holdout; the holdout (the last season) then measures the
// error of forecasting it, and the model is fitted again on the whole
// series to forecast the horizon. Volumes are counts, not money: float64.

// DemandSeries is a history of demand at a regular step: request or
// incident volumes, or usage the caller measures.
type DemandSeries struct {
	Start time.Time
	// Step is the time between two values: an hour or a day.
	Step   time.Duration
	Values []float64
	// Season is the number of steps in a season; zero: 168 for an
	// hourly series, 7 for a daily one.
	Season int
}

// DemandPoint is one forecast value.
type DemandPoint struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// DemandForecast is a forecast of demand and how good it was on the
// holdout.
type DemandForecast struct {
	Points []DemandPoint `json:"points"`
	// Alpha, Beta and Gamma are the smoothing factors chosen (level,
	// trend, season).
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	Gamma float64 `json:"gamma"`
	// HoldoutMAE is the mean absolute error of forecasting the holdout
	// (the last season of the history) from what came before it;
	// HoldoutMAPE the mean absolute percentage error over its non-zero
	// values (nil when all are zero).
	HoldoutMAE  float64  `json:"holdout_mae"`
	HoldoutMAPE *float64 `json:"holdout_mape,omitempty"`
}

// Over returns the forecast points above capacity: the periods in which
// demand will exceed what the offering can serve.
func (f *DemandForecast) Over(capacity float64) []DemandPoint {
	var out []DemandPoint
	for _, p := range f.Points {
		if p.Value > capacity {
			out = append(out, p)
		}
	}
	return out
}

// Limits of a demand forecast.
const (
	// MaxDemandValues bounds a history: two years of hours.
	MaxDemandValues = 2 * 366 * 24
	// MaxHorizon bounds a forecast: a season of hours times four.
	MaxHorizon = 4 * 168
	// MaxDemandValue bounds a value: squared errors of larger ones would
	// not stay finite.
	MaxDemandValue = 1e12
)

// ForecastDemand forecasts the horizon steps after the series. The series
// needs at least three seasons (two to fit, one held out). Bad input (no
// step, a step other than an hour or a day without a season, too short
// or too long a series, a value that is negative or not finite, a
// horizon out of 1..MaxHorizon) gives a *itil.ValidationError.
func ForecastDemand(s DemandSeries, horizon int) (*DemandForecast, error) {
	var v itil.ValidationError
	season := s.Season
	switch {
	case s.Step <= 0 || s.Step > 366*24*time.Hour:
		v.Add("step", "must be positive, at most a year")
	case season == 0 && s.Step == time.Hour:
		season = 168
	case season == 0 && s.Step == 24*time.Hour:
		season = 7
	case season == 0:
		v.Add("season", "is required unless the step is an hour or a day")
	case season < 2 || season > 168*4:
		v.Add("season", "must be from 2 to 672 steps")
	}
	if len(s.Values) > MaxDemandValues {
		v.Add("values", "hold more than "+strconv.Itoa(MaxDemandValues)+" values")
	} else if season >= 2 && len(s.Values) < 3*season {
		v.Add("values", "need at least three seasons ("+strconv.Itoa(3*season)+" values)")
	}
	for i, x := range s.Values {
		if math.IsNaN(x) || x < 0 || x > MaxDemandValue {
			v.Add("values["+strconv.Itoa(i)+"]", "must be a number from 0 to 10^12")
			break
		}
	}
	if horizon < 1 || horizon > MaxHorizon {
		v.Add("horizon", "must be from 1 to "+strconv.Itoa(MaxHorizon))
	} else if s.Step > 0 && s.Step <= 366*24*time.Hour {
		// The forecast's last point must be a time: within the years 1
		// to 9999, and no further from Start than a Duration holds.
		steps := int64(len(s.Values) + horizon)
		if int64(s.Step) > math.MaxInt64/steps || !check.TimeOK(s.Start.Add(time.Duration(steps)*s.Step)) {
			v.Add("step", "takes the forecast past the year 9999 or the range of a duration")
		}
	}
	check.Time(&v, "start", s.Start)
	if err := v.Err(); err != nil {
		return nil, err
	}
	train := s.Values[:len(s.Values)-season]
	hold := s.Values[len(s.Values)-season:]
	grid := []float64{0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9}
	best := math.Inf(1)
	a, b, g := grid[0], 0.0, grid[0] // on the grid, whatever the errors
	for _, alpha := range grid {
		for _, beta := range []float64{0, 0.01, 0.05, 0.1, 0.3} {
			for _, gamma := range grid {
				if sse := holtWinters(train, season, alpha, beta, gamma, 0, nil); sse < best {
					best, a, b, g = sse, alpha, beta, gamma
				}
			}
		}
	}
	out := &DemandForecast{Alpha: a, Beta: b, Gamma: g}
	pred := make([]float64, season)
	holtWinters(train, season, a, b, g, season, pred)
	var abs, pct float64
	nonZero := 0
	for i, x := range hold {
		e := math.Abs(pred[i] - x)
		abs += e
		if x != 0 {
			pct += e / x
			nonZero++
		}
	}
	out.HoldoutMAE = abs / float64(season)
	if nonZero > 0 {
		mape := 100 * pct / float64(nonZero)
		out.HoldoutMAPE = &mape
	}
	ahead := make([]float64, horizon)
	holtWinters(s.Values, season, a, b, g, horizon, ahead)
	end := s.Start.Add(time.Duration(len(s.Values)) * s.Step)
	for i, x := range ahead {
		out.Points = append(out.Points, DemandPoint{At: end.Add(time.Duration(i) * s.Step), Value: max(x, 0)})
	}
	return out, nil
}

// holtWinters fits additive Holt-Winters to xs (season m, factors a, b,
// g) and returns the sum of squared one-step errors after the first
// season; with h > 0 it writes the next h forecasts to ahead. The level
// starts at the first season's mean, the trend at the mean change
// between the first two seasons per step, the seasonal indices at the
// first season's deviations from its mean.
func holtWinters(xs []float64, m int, a, b, g float64, h int, ahead []float64) float64 {
	var m1, m2 float64
	for i := range m {
		m1 += xs[i]
		m2 += xs[m+i]
	}
	m1, m2 = m1/float64(m), m2/float64(m)
	trend := (m2 - m1) / float64(m)
	// The first season's mean is the level at its middle, (m−1)/2: the
	// indices are the deviations from the trend line through it, and the
	// level is carried to the season's last step.
	mid := float64(m-1) / 2
	seas := make([]float64, m)
	for i := range m {
		seas[i] = xs[i] - (m1 + trend*(float64(i)-mid))
	}
	level := m1 + trend*mid
	var sse float64
	for t := m; t < len(xs); t++ {
		s := seas[t%m]
		f := level + trend + s
		e := xs[t] - f
		sse += e * e
		prev := level
		level = a*(xs[t]-s) + (1-a)*(level+trend)
		trend = b*(level-prev) + (1-b)*trend
		seas[t%m] = g*(xs[t]-level) + (1-g)*s
	}
	for k := range h {
		ahead[k] = level + float64(k+1)*trend + seas[(len(xs)+k)%m]
	}
	return sse
}

// PatternOfBusinessActivity is how the business uses a service, in
// ITIL's terms: what kind of activity it is, how often, how much, where,
// for how long, and what it needs.
type PatternOfBusinessActivity struct {
	ID             itil.ID `json:"id"`
	Version        int64   `json:"version"`
	EntryID        itil.ID `json:"entry_id"`
	Name           string  `json:"name"`
	Classification string  `json:"classification"` // "month-end close", "seasonal"
	// Frequency is how often it recurs ("monthly", "weekdays 09:00–11:00").
	Frequency string `json:"frequency"`
	// Volume is how much demand it brings, in the offering's units.
	Volume       float64       `json:"volume"`
	Location     string        `json:"location,omitempty"`
	Duration     time.Duration `json:"duration,omitempty"`
	Requirements string        `json:"requirements,omitempty"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// UserProfile is a kind of user (by role) and the patterns of activity
// they take part in.
type UserProfile struct {
	ID        itil.ID   `json:"id"`
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	Patterns  []itil.ID `json:"patterns"`
	UpdatedAt time.Time `json:"updated_at"`
}
