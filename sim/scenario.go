package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

// HoursPerWeek is the length of an arrival profile: one rate per hour of
// the week, Monday 00:00 first.
const HoursPerWeek = 7 * 24

// Scenario is what Run plays: a span of time, the services whose
// incidents arrive, the groups that handle them, the SLAs that time them,
// and the seed of every random draw.
type Scenario struct {
	Name string
	// Seed makes the draws (arrivals, handling times) repeatable: the same
	// Scenario and Seed give the same Report.
	Seed uint64
	// Start is the first instant simulated, Days how many days follow.
	// Arrival profiles are read in Zone (an IANA name; UTC when empty).
	Start time.Time
	Days  int
	Zone  string
	// Services and Groups: each service's incidents go to its group.
	Services []Service
	Groups   []Group
	// SLAs time the incidents, as slm.Engine.Define takes them (subject
	// kind "incident").
	SLAs []slm.Definition
	// Changes are the streams of changes to the services, and Freezes the
	// days none may be implemented.
	Changes []Changes
	Freezes []Freeze
}

// Service is a service whose incidents arrive at the desk.
type Service struct {
	Name string
	// Group handles its incidents.
	Group    string
	Arrivals []Arrival
	// Credits, when set, is the service's availability commitment: the
	// report measures its availability over its service hours, the
	// outages being its incidents that take it down (Arrival.ServiceDown)
	// from arrival to resolution, and the credit owed.
	Credits *Credits
}

// Credits is a service's availability commitment as its SLA words it: the
// service hours, the fee of the span and the tiers of credit owed below
// the availability agreed.
type Credits struct {
	Hours  calendar.Spec
	Fee    slm.Money
	Policy slm.CreditPolicy
}

// Arrival is a stream of incidents of one priority on a service: either a
// rate per hour of the week (the mean count in each hour, Monday 00:00
// first, in the Scenario's zone; counts are drawn from a Poisson law), or
// a recorded series of opening times.
type Arrival struct {
	Impact  itil.Impact
	Urgency itil.Urgency
	PerHour [HoursPerWeek]float64
	Series  []time.Time
	// ServiceDown: each of these incidents is an outage of the service
	// until it is resolved.
	ServiceDown bool
}

// Group is a support group: Agents people who each work one incident at a
// time during Hours, each incident taking Handling of their working time.
type Group struct {
	Name     string
	Agents   int
	Hours    calendar.Spec
	Handling Distribution
}

// Distribution is a law of handling times: Fixed, Exponential or
// LogNormal.
type Distribution interface {
	draw(r *rand.Rand) time.Duration
}

// Fixed is a handling time that is always the same.
type Fixed time.Duration

func (f Fixed) draw(*rand.Rand) time.Duration { return time.Duration(f) }

// Exponential handling times have mean Mean: most are short, a few long.
type Exponential struct{ Mean time.Duration }

func (e Exponential) draw(r *rand.Rand) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(e.Mean))
}

// LogNormal handling times have median Median; Spread (σ of the log, 0.5
// by default) says how far they scatter: the long tail of real desks.
type LogNormal struct {
	Median time.Duration
	Spread float64
}

func (l LogNormal) draw(r *rand.Rand) time.Duration {
	s := l.Spread
	if s == 0 {
		s = 0.5
	}
	return time.Duration(float64(l.Median) * math.Exp(s*r.NormFloat64()))
}

// Weekdays is an arrival profile: rate incidents an hour from the hour
// from to the hour to on Monday to Friday, none otherwise; from and to are
// kept to 0–24.
func Weekdays(from, to int, rate float64) [HoursPerWeek]float64 {
	from, to = max(0, min(from, 24)), max(0, min(to, 24))
	var p [HoursPerWeek]float64
	for d := range 5 {
		for h := from; h < to; h++ {
			p[d*24+h] = rate
		}
	}
	return p
}
