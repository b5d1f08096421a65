package slm

import (
	"fmt"
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/shopspring/decimal"
)

// Outage is a period [Start, End) during which a service was unavailable.
type Outage struct {
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// Availability is the measured availability of one service over one period
// [From, To), against the service's agreed service hours.
type Availability struct {
	Service string    `json:"service"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	// Agreed is the agreed service time in [From, To): the open time of the
	// service-hours calendar. In JSON, nanoseconds.
	Agreed time.Duration `json:"agreed"`
	// Downtime is the agreed service time lost to outages: outage time
	// outside agreed hours does not count, and time covered by several
	// overlapping outages counts once. 0 <= Downtime <= Agreed. In JSON,
	// nanoseconds.
	Downtime time.Duration `json:"downtime"`
	// Percent is 100 × (Agreed − Downtime) / Agreed, rounded half away from
	// zero to 6 decimal places, and 100 when Agreed is 0. It is for
	// display: Meets and CreditPolicy.Credit never use it, they compare
	// exactly.
	Percent decimal.Decimal `json:"percent"`
}

var hundred = decimal.NewFromInt(100)

// MeasureAvailability measures the availability of service over [from, to)
// given its agreed service hours (a business calendar; use
// calendar.MustNew(calendar.AlwaysOpen()) for 24×7) and a list of outages.
//
//   - Outages of other services are ignored, so one list can serve every
//     service.
//   - Each outage is clipped to [from, to).
//   - Overlapping (and touching) outages are merged first, so no moment is
//     counted twice.
//   - Only downtime inside agreed hours counts: an outage on a Saturday
//     costs a Monday-to-Friday service nothing. The calendar is asked for
//     the open time of each merged outage (calendar.Calendar.Between), so
//     the result is exact to the nanosecond, across DST changes too.
//
// When the period holds no agreed hours at all (Agreed == 0, say a weekend
// of a Monday-to-Friday service), nothing was promised and nothing could be
// lost: Percent is 100 and Meets reports true for every target.
//
// Bad input is reported as a *itil.ValidationError naming every bad field:
// "hours" (nil calendar), "service" (empty), "to" (not after from),
// "outages[i].end" (an outage, of any service, that ends before it starts;
// an empty outage with End == Start is allowed and costs nothing), and
// "from", "to", "outages[i].start" or "outages[i].end" for a time outside
// the years 1 to 9999. The
// outages slice is not modified.
func MeasureAvailability(hours *calendar.Calendar, service string, outages []Outage, from, to time.Time) (Availability, error) {
	v := &itil.ValidationError{}
	if hours == nil {
		v.Add("hours", "a calendar of agreed service hours is required (calendar.MustNew(calendar.AlwaysOpen()) for 24×7)")
	}
	if service == "" {
		v.Add("service", "is required")
	}
	check.Time(v, "from", from)
	check.Time(v, "to", to)
	if !to.After(from) {
		v.Add("to", fmt.Sprintf("must be after from (%s), got %s", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano)))
	}
	for i, o := range outages {
		check.Time(v, fmt.Sprintf("outages[%d].start", i), o.Start)
		check.Time(v, fmt.Sprintf("outages[%d].end", i), o.End)
		if o.End.Before(o.Start) {
			v.Add(fmt.Sprintf("outages[%d].end", i), fmt.Sprintf("%s is before the outage's start %s",
				o.End.Format(time.RFC3339Nano), o.Start.Format(time.RFC3339Nano)))
		}
	}
	if err := v.Err(); err != nil {
		return Availability{}, err
	}

	// Clip this service's outages to [from, to), sort, and merge.
	spans := make([]calendar.Interval, 0, len(outages))
	for _, o := range outages {
		if o.Service != service {
			continue
		}
		s, e := o.Start, o.End
		if s.Before(from) {
			s = from
		}
		if e.After(to) {
			e = to
		}
		if s.Before(e) {
			spans = append(spans, calendar.Interval{Start: s, End: e})
		}
	}
	slices.SortFunc(spans, func(a, b calendar.Interval) int { return a.Start.Compare(b.Start) })
	var down time.Duration
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && !spans[i].Start.After(cur.End); i++ {
			if spans[i].End.After(cur.End) {
				cur.End = spans[i].End
			}
		}
		down += hours.Between(cur.Start, cur.End)
	}

	a := Availability{
		Service:  service,
		From:     from,
		To:       to,
		Agreed:   hours.Between(from, to),
		Downtime: down,
		Percent:  hundred,
	}
	if a.Agreed > 0 {
		a.Percent = decimal.NewFromInt(int64(a.Agreed-a.Downtime)).Mul(hundred).
			DivRound(decimal.NewFromInt(int64(a.Agreed)), 6)
	}
	return a, nil
}

// Meets reports whether the availability is at least target percent,
// exactly: (Agreed − Downtime) × 100 ≥ target × Agreed, computed in decimal
// from the nanosecond counts, with no rounding. So 99.951% meets 99.95,
// exactly 99.95% meets 99.95, and 99.94999999% does not, even though its
// Percent displays as 99.95.
//
// When Agreed is 0 (no agreed hours in the period) Meets is true for every
// target. Meets is monotone in target: if it holds for a target it holds
// for every lower one.
func (a Availability) Meets(target decimal.Decimal) bool {
	if a.Agreed <= 0 {
		return true
	}
	up := decimal.NewFromInt(int64(a.Agreed - a.Downtime)).Mul(hundred)
	return up.GreaterThanOrEqual(target.Mul(decimal.NewFromInt(int64(a.Agreed))))
}
