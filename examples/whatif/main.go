// Whatif answers a manager's question with the simulator: does 24×7
// coverage of the network group remove the Monday morning breaches?
//
// The network group works weekdays 08:00–18:00, and its SLA counts the
// same office hours: resolved within 4 of them. Network incidents arrive
// around the clock, a few at night and more over the weekend; those wait
// for Monday morning, all their clocks start at 08:00 together, and the
// queue they make meets Monday's own arrivals. The same month is played
// twice on the same arrivals: as it is, and with the group's three agents
// on duty 24×7 (three on every shift: 3.4 times the agent-hours, which the
// comparison shows beside the breaches it buys). Both reports are
// printed, then the two side by side.
//
//	go run ./examples/whatif
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/sim"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run plays the month both ways and writes both reports and the
// comparison to w.
func run(w io.Writer) error {
	ctx := context.Background()
	a, err := sim.Run(ctx, scenario("office hours", officeHours()))
	if err != nil {
		return err
	}
	b, err := sim.Run(ctx, scenario("24x7", calendar.AlwaysOpen()))
	if err != nil {
		return err
	}
	for _, r := range []*sim.Report{a, b} {
		if _, err := r.WriteTo(w); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	if _, err := sim.Compare(a, b).WriteTo(w); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\nThe answer: %d breaches landed on Monday mornings (until 13:00) with office hours, %d with 24x7 coverage.\n",
		mondayMorning(a), mondayMorning(b))
	return err
}

// mondayMorning counts the breaches that happened on a Monday before 13:00.
func mondayMorning(r *sim.Report) int {
	n := 0
	for h := range 13 { // Monday's hours come first
		n += r.BreachesByHour[h]
	}
	return n
}

// scenario is March 2026 at the desk, the network group on hours.
func scenario(name string, hours calendar.Spec) sim.Scenario {
	network := sim.Weekdays(8, 18, 0.6) // the day's arrivals
	for h := range sim.HoursPerWeek {
		switch {
		case h >= 5*24:
			network[h] = 0.3 // the weekend's
		case network[h] == 0:
			network[h] = 0.05 // at night
		}
	}
	return sim.Scenario{Name: name, Seed: 2026, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Days: 28,
		Services: []sim.Service{
			{Name: "Network", Group: "network", Arrivals: []sim.Arrival{
				{Impact: 2, Urgency: 2, PerHour: network},
				{Impact: 1, Urgency: 1, PerHour: sim.Weekdays(0, 24, 0.02), ServiceDown: true},
			}, Credits: &sim.Credits{Hours: calendar.AlwaysOpen(), Fee: slm.Money{Amount: decimal.NewFromInt(20000), Currency: "EUR"},
				Policy: slm.CreditPolicy{Tiers: []slm.CreditTier{{Below: decimal.RequireFromString("99.9"), Percent: decimal.NewFromInt(5)},
					{Below: decimal.RequireFromString("99.5"), Percent: decimal.NewFromInt(10)}}}}},
		},
		Groups: []sim.Group{{Name: "network", Agents: 3, Hours: hours, Handling: sim.LogNormal{Median: 2 * time.Hour}}},
		SLAs:   []slm.Definition{resolveIn4()},
	}
}

// resolveIn4 is the network SLA: resolved within 4 hours of the desk's
// office hours, Monday to Friday 08:00–18:00: an incident of the weekend
// starts its clock at 08:00 on Monday, and breaches at noon.
func resolveIn4() slm.Definition {
	d := slm.StandardDefinition("Resolve in 4 office hours", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "4h", Duration: 4 * time.Hour})
	hours := officeHours()
	d.Calendar = &hours
	return d
}

// officeHours is Monday to Friday, 08:00–18:00 UTC.
func officeHours() calendar.Spec {
	var w calendar.Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []calendar.Window{calendar.Hours(8, 0, 18, 0)}
	}
	return calendar.Spec{Zone: "UTC", Week: w}
}
