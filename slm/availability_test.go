package slm_test

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

var (
	avail24x7 = calendar.MustNew(calendar.AlwaysOpen())
	// availNY is Monday to Friday, 09:00–17:00 in New York, no holidays.
	availNY = calendar.MustNew(calendar.Spec{
		Zone: "America/New_York",
		Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0)),
	})
	availNYZone = availNY.Location()
)

// availNYAt is a wall-clock instant in New York.
func availNYAt(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2025, month, day, hour, minute, 0, 0, availNYZone)
}

func availDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestMeasureAvailability(t *testing.T) {
	// June 2025 in UTC is 30 days: 720 h of 24×7 service. 0.1% of it is
	// 43.2 minutes.
	juneFrom := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	juneTo := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return juneFrom.Add(d) }
	// June 2025 in New York: 21 weekdays of 8 h, no holidays in the calendar.
	nyFrom, nyTo := availNYAt(6, 1, 0, 0), availNYAt(7, 1, 0, 0)
	// 1,000,000 s of 24×7 service: 1 s is 0.0001%.
	milFrom := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	milTo := milFrom.Add(1_000_000 * time.Second)
	down := func(d time.Duration) []slm.Outage {
		return []slm.Outage{{Service: "web", Start: milFrom.Add(time.Hour), End: milFrom.Add(time.Hour + d)}}
	}

	tests := []struct {
		name     string
		hours    *calendar.Calendar
		outages  []slm.Outage
		from, to time.Time
		agreed   time.Duration
		downtime time.Duration
		percent  string
		meets    []string // targets met
		misses   []string // targets not met
	}{
		{
			name: "24x7 month without outages", hours: avail24x7, from: juneFrom, to: juneTo,
			agreed: 720 * time.Hour, percent: "100", meets: []string{"100", "99.9"},
		},
		{
			name: "24x7 month, 43.2 minutes down is exactly 99.9%", hours: avail24x7, from: juneFrom, to: juneTo,
			outages: []slm.Outage{{Service: "web", Start: at(48 * time.Hour), End: at(48*time.Hour + 43*time.Minute + 12*time.Second)}},
			agreed:  720 * time.Hour, downtime: 43*time.Minute + 12*time.Second, percent: "99.9",
			meets: []string{"99.9", "99.8999999999", "0"}, misses: []string{"99.9000000001", "99.91", "100"},
		},
		{
			name: "24x7 month, 43.2 minutes and 1 second down is below 99.9%", hours: avail24x7, from: juneFrom, to: juneTo,
			outages: []slm.Outage{{Service: "web", Start: at(48 * time.Hour), End: at(48*time.Hour + 43*time.Minute + 13*time.Second)}},
			agreed:  720 * time.Hour, downtime: 43*time.Minute + 13*time.Second, percent: "99.899961",
			meets: []string{"99.8", "99.899961"}, misses: []string{"99.9", "99.89997"},
		},
		{
			name: "99.951% meets 99.95", hours: avail24x7, from: milFrom, to: milTo,
			outages: down(490 * time.Second), agreed: 1_000_000 * time.Second, downtime: 490 * time.Second,
			percent: "99.951", meets: []string{"99.95", "99.951"}, misses: []string{"99.9511", "99.96"},
		},
		{
			name: "exactly 99.95% meets 99.95", hours: avail24x7, from: milFrom, to: milTo,
			outages: down(500 * time.Second), agreed: 1_000_000 * time.Second, downtime: 500 * time.Second,
			percent: "99.95", meets: []string{"99.95"}, misses: []string{"99.950001"},
		},
		{
			name: "99.949999% does not meet 99.95", hours: avail24x7, from: milFrom, to: milTo,
			outages: down(500*time.Second + 10*time.Millisecond), agreed: 1_000_000 * time.Second,
			downtime: 500*time.Second + 10*time.Millisecond,
			percent:  "99.949999", meets: []string{"99.949999", "99.9"}, misses: []string{"99.95"},
		},
		{
			name: "99.94999999% displays as 99.95 but does not meet it", hours: avail24x7, from: milFrom, to: milTo,
			outages: down(500*time.Second + 100*time.Microsecond), agreed: 1_000_000 * time.Second,
			downtime: 500*time.Second + 100*time.Microsecond,
			percent:  "99.95", meets: []string{"99.94999999"}, misses: []string{"99.95"},
		},
		{
			name: "business hours: a Saturday outage costs nothing", hours: availNY, from: nyFrom, to: nyTo,
			outages: []slm.Outage{{Service: "web", Start: availNYAt(6, 7, 10, 0), End: availNYAt(6, 7, 14, 0)}},
			agreed:  168 * time.Hour, percent: "100", meets: []string{"100"},
		},
		{
			name: "business hours: 16:00-18:00 on a Monday costs 1 h", hours: availNY, from: nyFrom, to: nyTo,
			outages: []slm.Outage{{Service: "web", Start: availNYAt(6, 9, 16, 0), End: availNYAt(6, 9, 18, 0)}},
			agreed:  168 * time.Hour, downtime: time.Hour, percent: "99.404762", // 167/168
			meets: []string{"99.4", "99.40476190476"}, misses: []string{"99.404762", "99.5"},
		},
		{
			name: "business hours: Monday 16:00 to Tuesday 10:00 costs 2 h", hours: availNY, from: nyFrom, to: nyTo,
			outages: []slm.Outage{{Service: "web", Start: availNYAt(6, 9, 16, 0), End: availNYAt(6, 10, 10, 0)}},
			agreed:  168 * time.Hour, downtime: 2 * time.Hour, percent: "98.809524",
		},
		{
			name: "business hours: the outage is in UTC, the calendar in New York", hours: availNY, from: nyFrom, to: nyTo,
			// 20:00–22:00 UTC is 16:00–18:00 EDT.
			outages: []slm.Outage{{Service: "web", Start: time.Date(2025, 6, 9, 20, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 9, 22, 0, 0, 0, time.UTC)}},
			agreed:  168 * time.Hour, downtime: time.Hour, percent: "99.404762",
		},
		{
			name: "overlapping outages are merged", hours: availNY, from: nyFrom, to: nyTo,
			outages: []slm.Outage{
				{Service: "web", Start: availNYAt(6, 10, 11, 0), End: availNYAt(6, 10, 13, 0)},
				{Service: "web", Start: availNYAt(6, 10, 10, 0), End: availNYAt(6, 10, 12, 0)},
				{Service: "web", Start: availNYAt(6, 10, 10, 30), End: availNYAt(6, 10, 11, 30)}, // inside both
				{Service: "web", Start: availNYAt(6, 10, 13, 0), End: availNYAt(6, 10, 13, 30)},  // touching
			},
			agreed: 168 * time.Hour, downtime: 3*time.Hour + 30*time.Minute, percent: "97.916667",
		},
		{
			name: "outages of another service are ignored", hours: availNY, from: nyFrom, to: nyTo,
			outages: []slm.Outage{
				{Service: "db", Start: availNYAt(6, 10, 9, 0), End: availNYAt(6, 10, 17, 0)},
				{Service: "web", Start: availNYAt(6, 11, 9, 0), End: availNYAt(6, 11, 9, 30)},
				{Service: "Web", Start: availNYAt(6, 12, 9, 0), End: availNYAt(6, 12, 17, 0)},
			},
			agreed: 168 * time.Hour, downtime: 30 * time.Minute, percent: "99.702381",
		},
		{
			name: "outages are clipped to the period", hours: avail24x7, from: juneFrom, to: juneTo,
			outages: []slm.Outage{
				{Service: "web", Start: juneFrom.Add(-5 * time.Hour), End: juneFrom.Add(time.Hour)},
				{Service: "web", Start: juneTo.Add(-30 * time.Minute), End: juneTo.Add(5 * time.Hour)},
				{Service: "web", Start: juneTo, End: juneTo.Add(time.Hour)},                    // after
				{Service: "web", Start: juneFrom.Add(-time.Hour), End: juneFrom},               // before
				{Service: "web", Start: juneFrom.Add(time.Hour), End: juneFrom.Add(time.Hour)}, // empty
			},
			agreed: 720 * time.Hour, downtime: 90 * time.Minute, percent: "99.791667",
		},
		{
			name: "no agreed hours in the period: 100% and every target met", hours: availNY,
			from: availNYAt(6, 7, 0, 0), to: availNYAt(6, 9, 0, 0), // a weekend
			outages: []slm.Outage{{Service: "web", Start: availNYAt(6, 7, 0, 0), End: availNYAt(6, 9, 0, 0)}},
			percent: "100", meets: []string{"100", "100.5", "1000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := slm.MeasureAvailability(tt.hours, "web", tt.outages, tt.from, tt.to)
			require.NoError(t, err)
			assert.Equal(t, "web", a.Service)
			assert.True(t, a.From.Equal(tt.from))
			assert.True(t, a.To.Equal(tt.to))
			assert.Equal(t, tt.agreed, a.Agreed, "agreed")
			assert.Equal(t, tt.downtime, a.Downtime, "downtime")
			assert.True(t, a.Percent.Equal(availDec(tt.percent)), "percent %s, want %s", a.Percent, tt.percent)
			for _, target := range tt.meets {
				assert.True(t, a.Meets(availDec(target)), "should meet %s", target)
			}
			for _, target := range tt.misses {
				assert.False(t, a.Meets(availDec(target)), "should not meet %s", target)
			}
		})
	}
}

func TestMeasureAvailabilityDoesNotModifyOutages(t *testing.T) {
	outages := []slm.Outage{
		{Service: "web", Start: availNYAt(6, 10, 11, 0), End: availNYAt(6, 10, 13, 0)},
		{Service: "db", Start: availNYAt(6, 10, 9, 0), End: availNYAt(6, 10, 10, 0)},
		{Service: "web", Start: availNYAt(6, 2, 10, 0), End: availNYAt(6, 2, 12, 0)},
	}
	before := slices.Clone(outages)
	_, err := slm.MeasureAvailability(availNY, "web", outages, availNYAt(6, 1, 0, 0), availNYAt(7, 1, 0, 0))
	require.NoError(t, err)
	assert.Equal(t, before, outages)
}

func TestMeasureAvailabilityValidation(t *testing.T) {
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	ok := slm.Outage{Service: "web", Start: from.Add(time.Hour), End: from.Add(2 * time.Hour)}
	backwards := slm.Outage{Service: "db", Start: from.Add(2 * time.Hour), End: from.Add(time.Hour)}
	tests := []struct {
		name    string
		hours   *calendar.Calendar
		service string
		outages []slm.Outage
		from    time.Time
		to      time.Time
		fields  []string
	}{
		{"nil calendar", nil, "web", nil, from, to, []string{"hours"}},
		{"empty service", avail24x7, "", nil, from, to, []string{"service"}},
		{"to equals from", avail24x7, "web", nil, from, from, []string{"to"}},
		{"to before from", avail24x7, "web", nil, to, from, []string{"to"}},
		{"outage ends before it starts, of any service", avail24x7, "web", []slm.Outage{ok, backwards}, from, to, []string{"outages[1].end"}},
		{"every bad field at once", nil, "", []slm.Outage{backwards, ok, backwards}, to, from,
			[]string{"hours", "service", "to", "outages[0].end", "outages[2].end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := slm.MeasureAvailability(tt.hours, tt.service, tt.outages, tt.from, tt.to)
			var ve *itil.ValidationError
			require.True(t, errors.As(err, &ve), "want *itil.ValidationError, got %v", err)
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
				assert.NotEmpty(t, f.Reason)
			}
			assert.Equal(t, tt.fields, got)
			assert.Equal(t, slm.Availability{}, a)
		})
	}
}

// availCase is a random measurement: a calendar, a period and outages of
// two services, on a one-second grid around the period.
type availCase struct {
	hours    *calendar.Calendar
	from, to time.Time
	outages  []slm.Outage
}

func availOutage(t *rapid.T, label string, from, to time.Time) slm.Outage {
	span := int64(to.Sub(from) / time.Second)
	start := from.Add(time.Duration(rapid.Int64Range(-2*86400, span+2*86400).Draw(t, label+".start")) * time.Second)
	length := time.Duration(rapid.Int64Range(0, 3*86400).Draw(t, label+".length")) * time.Second
	return slm.Outage{
		Service: rapid.SampledFrom([]string{"web", "db"}).Draw(t, label+".service"),
		Start:   start,
		End:     start.Add(length),
	}
}

func availDraw(t *rapid.T) availCase {
	var c availCase
	c.hours = rapid.SampledFrom([]*calendar.Calendar{avail24x7, availNY}).Draw(t, "hours")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c.from = base.Add(time.Duration(rapid.Int64Range(0, 365*86400).Draw(t, "from")) * time.Second)
	c.to = c.from.Add(time.Duration(rapid.Int64Range(1, 45*86400).Draw(t, "length")) * time.Second)
	n := rapid.IntRange(0, 8).Draw(t, "outages")
	for i := range n {
		c.outages = append(c.outages, availOutage(t, fmt.Sprintf("outage%d", i), c.from, c.to))
	}
	return c
}

func availMeasure(t *rapid.T, c availCase, outages []slm.Outage) slm.Availability {
	a, err := slm.MeasureAvailability(c.hours, "web", outages, c.from, c.to)
	if err != nil {
		t.Fatalf("MeasureAvailability: %v", err)
	}
	return a
}

// availOracle computes the downtime independently: it cuts the period at
// every outage boundary and counts each elementary piece once if any web
// outage covers it.
func availOracle(c availCase) time.Duration {
	cuts := []time.Time{c.from, c.to}
	for _, o := range c.outages {
		for _, x := range []time.Time{o.Start, o.End} {
			if x.After(c.from) && x.Before(c.to) {
				cuts = append(cuts, x)
			}
		}
	}
	slices.SortFunc(cuts, time.Time.Compare)
	var down time.Duration
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if !a.Before(b) {
			continue
		}
		for _, o := range c.outages {
			if o.Service == "web" && !o.Start.After(a) && !o.End.Before(b) {
				down += c.hours.Between(a, b)
				break
			}
		}
	}
	return down
}

func availTarget(t *rapid.T, label string) decimal.Decimal {
	// 90 to 100.5 in steps of 0.000001.
	return decimal.New(rapid.Int64Range(90_000_000, 100_500_000).Draw(t, label), -6)
}

func TestAvailabilityProperties(t *testing.T) {
	t.Run("downtime is within agreed time and matches an independent count", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			c := availDraw(t)
			a := availMeasure(t, c, c.outages)
			if a.Agreed != c.hours.Between(c.from, c.to) {
				t.Fatalf("agreed %v, calendar says %v", a.Agreed, c.hours.Between(c.from, c.to))
			}
			if a.Downtime < 0 || a.Downtime > a.Agreed {
				t.Fatalf("downtime %v outside [0, %v]", a.Downtime, a.Agreed)
			}
			if want := availOracle(c); a.Downtime != want {
				t.Fatalf("downtime %v, independent count %v", a.Downtime, want)
			}
			if a.Percent.IsNegative() || a.Percent.GreaterThan(decimal.NewFromInt(100)) {
				t.Fatalf("percent %s outside [0, 100]", a.Percent)
			}
		})
	})
	t.Run("adding an outage never raises availability", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			c := availDraw(t)
			before := availMeasure(t, c, c.outages)
			more := append(slices.Clone(c.outages), availOutage(t, "extra", c.from, c.to))
			after := availMeasure(t, c, more)
			if after.Agreed != before.Agreed || after.Downtime < before.Downtime || after.Percent.GreaterThan(before.Percent) {
				t.Fatalf("before %+v, after %+v", before, after)
			}
			target := availTarget(t, "target")
			if after.Meets(target) && !before.Meets(target) {
				t.Fatalf("meets %s only after adding an outage", target)
			}
		})
	})
	t.Run("duplicated and reordered outages give the same result", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			c := availDraw(t)
			once := availMeasure(t, c, c.outages)
			twice := append(slices.Clone(c.outages), c.outages...)
			twice = rapid.Permutation(twice).Draw(t, "order")
			again := availMeasure(t, c, twice)
			if again.Agreed != once.Agreed || again.Downtime != once.Downtime || !again.Percent.Equal(once.Percent) {
				t.Fatalf("once %+v, duplicated %+v", once, again)
			}
		})
	})
	t.Run("Meets is exact and monotone in the target", func(t *testing.T) {
		rapid.Check(t, func(t *rapid.T) {
			c := availDraw(t)
			a := availMeasure(t, c, c.outages)
			lo, hi := availTarget(t, "t1"), availTarget(t, "t2")
			if hi.LessThan(lo) {
				lo, hi = hi, lo
			}
			if a.Meets(hi) && !a.Meets(lo) {
				t.Fatalf("meets %s but not %s", hi, lo)
			}
			// Against exact rational arithmetic.
			if a.Agreed > 0 {
				ratio := new(big.Rat).SetFrac64(int64(a.Agreed-a.Downtime)*100, int64(a.Agreed))
				want := ratio.Cmp(hi.Rat()) >= 0
				if a.Meets(hi) != want {
					t.Fatalf("Meets(%s) = %v, exact %s", hi, !want, ratio.FloatString(12))
				}
			} else if !a.Meets(hi) {
				t.Fatalf("no agreed hours, yet %s not met", hi)
			}
		})
	})
}

// Times out of the years 1 to 9999 are input errors naming them.
func TestAvailabilityTimesOutOfRange(t *testing.T) {
	hours := calendar.MustNew(calendar.AlwaysOpen())
	good := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to time.Time
		outages  []slm.Outage
		field    string
	}{
		{before, good, nil, "from"},
		{good, far, nil, "to"},
		{good, good.Add(time.Hour), []slm.Outage{{Service: "mail", Start: before, End: good}}, "outages[0].start"},
		{good, good.Add(time.Hour), []slm.Outage{{Service: "other", Start: good, End: far}}, "outages[0].end"},
	} {
		_, err := slm.MeasureAvailability(hours, "mail", c.outages, c.from, c.to)
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v, c.field)
		assert.True(t, v.Has(c.field), "%s: %v", c.field, v)
	}
	p := slm.CreditPolicy{Tiers: []slm.CreditTier{{Below: decimal.NewFromInt(99), Percent: decimal.NewFromInt(10)}}}
	fee, err := slm.NewMoney("100", "EUR")
	require.NoError(t, err)
	_, err = p.Credit(slm.Availability{Service: "mail", From: before, To: good}, fee)
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("availability.from"), "%v", v)
}
