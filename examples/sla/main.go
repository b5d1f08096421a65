// SLA opens incidents on a business calendar, runs a simulated clock over
// a week that holds pauses and the night New York falls back from daylight
// saving time, and prints each SLA timer as a timeline, the warnings and
// breaches the monitor recorded, a compliance report, and the service
// credit owed for a month's outages.
//
//	go run ./examples/sla
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/internal/store"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

func main() {
	spec := store.Flag()
	flag.Parse()
	if err := run(context.Background(), *spec); err != nil {
		log.Fatal(err)
	}
}

var ny = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func run(ctx context.Context, spec string) (err error) {
	// Thursday 29 October 2026, 08:00 in New York.
	now := time.Date(2026, 10, 29, 8, 0, 0, 0, ny)
	clock := itil.ClockFunc(func() time.Time { return now })
	st, closeStore, err := store.Open(ctx, spec, "sla")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }() // a failed Close of a database is reported
	eng, err := slm.NewEngine(st, slm.WithClock(clock))
	if err != nil {
		return err
	}
	svc, err := incident.New(st, incident.WithClock(clock), incident.WithHook(eng))
	if err != nil {
		return err
	}
	admin := itil.Actor{ID: "slm", Name: "Service level manager"}
	desk := itil.Actor{ID: "alex", Name: "Alex (service desk)"}
	net := itil.Actor{ID: "sam", Name: "Sam (network)"}
	caller := itil.Actor{ID: "casey", Name: "Casey (finance)"}

	// The desk is staffed on weekdays 08:00–18:00, with an on-call night
	// shift 22:00–06:00 over the weekend, and closed on US holidays.
	hours := calendar.Spec{Name: "Service desk", Zone: "America/New_York", Country: "US",
		Week: calendar.MondayToFriday(calendar.Hours(8, 0, 18, 0))}
	night := calendar.Window{Start: calendar.At(22, 0), End: calendar.At(6, 0), Overnight: true}
	hours.Week[time.Friday] = append(hours.Week[time.Friday], night)
	hours.Week[time.Saturday] = []calendar.Window{night}
	if _, err := calendar.New(hours); err != nil {
		return err // Define would say the same, field by field
	}
	p1 := slm.Condition{Priorities: []itil.Priority{itil.P1}}
	p2 := slm.Condition{Priorities: []itil.Priority{itil.P2}}
	response := slm.StandardDefinition("Response", incident.Kind, slm.SLA, slm.Response,
		slm.Target{Name: "P1 30m", When: p1, Duration: 30 * time.Minute},
		slm.Target{Name: "2h", Duration: 2 * time.Hour})
	response.Calendar = &hours
	resolution := slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "P1 4h", When: p1, Duration: 4 * time.Hour},
		slm.Target{Name: "P2 8h", When: p2, Duration: 8 * time.Hour},
		slm.Target{Name: "20h", Duration: 20 * time.Hour})
	resolution.Calendar = &hours
	var defs []*slm.Definition
	for _, d := range []slm.Definition{response, resolution} {
		out, err := eng.Define(ctx, admin, d)
		if err != nil {
			return err
		}
		defs = append(defs, out)
	}

	// The monitor runs every simulated quarter hour.
	var log []string
	advance := func(d time.Duration) error {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(min(15*time.Minute, end.Sub(now)))
			fired, err := eng.Fire(ctx, now)
			if err != nil {
				return err
			}
			for _, f := range fired {
				what := fmt.Sprintf("%d%% warning", f.Percent)
				if f.Breach {
					what = "BREACH"
				}
				log = append(log, fmt.Sprintf("%s  %-13s %s #%d (%s) reached at %s",
					stamp(now), what, f.Timer.Name, f.Timer.Cycle, f.Timer.Target, stamp(f.ReachedAt)))
			}
		}
		return nil
	}

	step := func(wait time.Duration, do func() (*incident.Incident, error)) error {
		if err := advance(wait); err != nil {
			return err
		}
		_, err := do()
		return err
	}
	// Thursday 08:00: a moderate incident by phone.
	vpn, err := svc.Open(ctx, desk, incident.NewIncident{Title: "VPN drops every few minutes",
		Caller: caller, Channel: incident.Phone, Category: "network", Impact: 2, Urgency: 2})
	if err != nil {
		return err
	}
	var payroll *incident.Incident
	steps := []struct {
		wait time.Duration
		do   func() (*incident.Incident, error)
	}{
		// Thursday 09:30: assigned (the first response), then on hold
		// for the vendor from 11:30 to Monday 09:00.
		{90 * time.Minute, func() (*incident.Incident, error) { return svc.Assign(ctx, desk, vpn.ID, "network", "sam") }},
		{2 * time.Hour, func() (*incident.Incident, error) {
			return svc.Hold(ctx, net, vpn.ID, incident.AwaitingVendor, "Firmware case opened with the vendor")
		}},
		// Saturday 23:00, on the night shift: the payroll gateway fails.
		// Clocks fall back at 02:00 that night, so the 22:00–06:00 shift
		// lasts 9 hours and 01:00 happens twice.
		{59*time.Hour + 30*time.Minute, func() (*incident.Incident, error) {
			var err error
			payroll, err = svc.Open(ctx, desk, incident.NewIncident{Title: "Payroll gateway unreachable",
				Caller: caller, Channel: incident.Monitoring, Category: "network", Impact: 1, Urgency: 1})
			return payroll, err
		}},
		{20 * time.Minute, func() (*incident.Incident, error) { return svc.Assign(ctx, desk, payroll.ID, "network", "sam") }},
		// Sunday 02:30 EST: resolved, 4h30m of open time after it opened.
		{4*time.Hour + 10*time.Minute, func() (*incident.Incident, error) {
			return svc.Resolve(ctx, net, payroll.ID, "solution_provided", "Replaced the gateway certificate")
		}},
		// Monday 09:00: the vendor answered; resolved at 14:00, reopened at
		// 16:00 (a second resolution cycle), resolved again Tuesday 10:00.
		{30*time.Hour + 30*time.Minute, func() (*incident.Incident, error) { return svc.Resume(ctx, net, vpn.ID) }},
		{5 * time.Hour, func() (*incident.Incident, error) {
			return svc.Resolve(ctx, net, vpn.ID, "solution_provided", "Vendor firmware 7.2 applied")
		}},
		{2 * time.Hour, func() (*incident.Incident, error) {
			return svc.Reopen(ctx, caller, vpn.ID, "Dropped again after lunch")
		}},
		{18 * time.Hour, func() (*incident.Incident, error) {
			return svc.Resolve(ctx, net, vpn.ID, "solution_provided", "Rolled back the split tunnel change")
		}},
	}
	for _, s := range steps {
		if err := step(s.wait, s.do); err != nil {
			return err
		}
	}
	if err := advance(time.Hour); err != nil {
		return err
	}

	fmt.Println("== Timers")
	for _, inc := range []*incident.Incident{vpn, payroll} {
		inc, err := svc.Get(ctx, inc.ID)
		if err != nil {
			return err
		}
		fmt.Printf("%s %q, %s, %s\n", inc.Number, inc.Title, inc.Priority, inc.State)
		st, err := eng.Status(ctx, inc.ID, clock.Now())
		if err != nil {
			return err
		}
		for _, s := range st {
			timeline(s)
		}
	}
	fmt.Println("\n== Monitor")
	for _, l := range log {
		fmt.Println(l)
	}

	fmt.Println("\n== Compliance, 26 October – 8 November")
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	// A tabwriter keeps lines that have cells until Flush, which reports
	// a failed write to os.Stdout.
	_, _ = fmt.Fprintln(w, "definition\tmet\tbreached\tin progress\tmet %\tmean\tp95")
	for _, d := range defs {
		c, err := eng.Compliance(ctx, d.ID, time.Date(2026, 10, 26, 0, 0, 0, 0, ny), time.Date(2026, 11, 9, 0, 0, 0, 0, ny), now)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.1f\t%v\t%v\n", c.Name, c.Met, c.Breached, c.InProgress, c.MetPercent, c.MeanElapsed, c.P95Elapsed)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	return credits(hours)
}

// credits measures a month of the VPN service against 99.9% of its agreed
// hours and prices the shortfall.
func credits(hours calendar.Spec) error {
	hours.Week = calendar.EveryDay(calendar.Hours(6, 0, 22, 0)) // the VPN's agreed hours
	agreed, err := calendar.New(hours)
	if err != nil {
		return err
	}
	outages := []slm.Outage{
		{Service: "vpn", Start: time.Date(2026, 10, 29, 9, 0, 0, 0, ny), End: time.Date(2026, 10, 29, 9, 40, 0, 0, ny)},
		{Service: "vpn", Start: time.Date(2026, 10, 29, 9, 30, 0, 0, ny), End: time.Date(2026, 10, 29, 10, 5, 0, 0, ny)},
		{Service: "vpn", Start: time.Date(2026, 10, 31, 23, 0, 0, 0, ny), End: time.Date(2026, 11, 1, 2, 0, 0, 0, ny)}, // outside agreed hours
		{Service: "payroll", Start: time.Date(2026, 10, 30, 18, 30, 0, 0, ny), End: time.Date(2026, 11, 1, 3, 30, 0, 0, ny)},
	}
	a, err := slm.MeasureAvailability(agreed, "vpn", outages, time.Date(2026, 10, 1, 0, 0, 0, 0, ny), time.Date(2026, 11, 1, 0, 0, 0, 0, ny))
	if err != nil {
		return err
	}
	policy := slm.CreditPolicy{Tiers: []slm.CreditTier{
		{Below: decimal.RequireFromString("99.9"), Percent: decimal.NewFromInt(10)},
		{Below: decimal.RequireFromString("99"), Percent: decimal.NewFromInt(25)},
	}}
	fee, err := slm.NewMoney("12500.00", "USD")
	if err != nil {
		return err
	}
	credit, err := policy.Credit(a, fee)
	if err != nil {
		return err
	}
	fmt.Println("\n== VPN availability, October 2026")
	fmt.Printf("agreed %v, down %v: %s%% (target 99.9%%: met=%v)\n", a.Agreed, a.Downtime, a.Percent.StringFixed(4), a.Meets(decimal.RequireFromString("99.9")))
	fmt.Printf("service credit on a %s monthly fee: %s\n", fee, credit)
	return nil
}

// timeline prints one timer as the story of its cycle.
func timeline(s slm.Status) {
	t := s.Timer
	var b strings.Builder
	fmt.Fprintf(&b, "  %-10s #%d %-7s started %s", t.Name, t.Cycle, t.Target, stamp(t.StartedAt))
	for _, p := range t.Pauses {
		end := "…"
		if !p.End.IsZero() {
			end = stamp(p.End)
		}
		fmt.Fprintf(&b, ", paused %s–%s", stamp(p.Start), end)
	}
	switch t.State {
	case slm.Completed:
		fmt.Fprintf(&b, ", completed %s", stamp(t.StoppedAt))
	case slm.Canceled:
		fmt.Fprintf(&b, ", canceled (%s) %s", t.CancelReason, stamp(t.StoppedAt))
	}
	verdict := "met"
	switch {
	case s.Progress.Breached:
		verdict = "BREACHED at " + stamp(t.BreachAt)
	case !t.State.Final():
		verdict = "due " + stamp(t.BreachAt)
	}
	fmt.Fprintf(&b, "\n      used %v of %v business time (%.1f%%), %v wall clock; %s",
		s.Progress.Elapsed, t.Goal, s.Progress.Percent, s.Progress.Wall.Round(time.Minute), verdict)
	fmt.Println(b.String())
}

func stamp(t time.Time) string { return t.In(ny).Format("Mon 15:04 MST") }
