package sim

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Comparison is two reports side by side: a scenario and a variant of it
// on the same arrivals (same seed), and what the variant changed.
type Comparison struct {
	A, B *Report
}

// Compare puts a and b side by side.
func Compare(a, b *Report) Comparison { return Comparison{A: a, B: b} }

// WriteTo writes the comparison as a table: each figure of A, of B, and
// the difference B − A.
func (c Comparison) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\t%s\t%s\tdifference\n", c.A.Scenario, c.B.Scenario)
	row := func(name string, a, b float64, unit string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, num(a, unit), num(b, unit), signed(b-a, unit))
	}
	row("incidents", float64(c.A.Opened), float64(c.B.Opened), "")
	for i := range min(len(c.A.Groups), len(c.B.Groups)) {
		a, b := c.A.Groups[i], c.B.Groups[i]
		row(a.Name+": agent-hours on duty", a.OnDuty.Hours(), b.OnDuty.Hours(), "")
	}
	row("resolved", float64(c.A.Resolved), float64(c.B.Resolved), "")
	for _, a := range c.A.SLAs {
		i := slices.IndexFunc(c.B.SLAs, func(b SLAResult) bool { return b.Name == a.Name })
		if i < 0 {
			continue
		}
		b := c.B.SLAs[i]
		row(a.Name+": met", a.MetPercent, b.MetPercent, "%")
		row(a.Name+": breached", float64(a.Breached), float64(b.Breached), "")
	}
	row("time to resolve: mean", hours(c.A.TimeToResolve.Mean), hours(c.B.TimeToResolve.Mean), "h")
	row("time to resolve: P90", hours(c.A.TimeToResolve.P90), hours(c.B.TimeToResolve.P90), "h")
	row("backlog: peak", float64(peak(c.A.Backlog)), float64(peak(c.B.Backlog)), "")
	if c.A.Changes.Requested > 0 || c.B.Changes.Requested > 0 {
		row("changes implemented", float64(c.A.Changes.Done), float64(c.B.Changes.Done), "")
		row("changes failed", float64(c.A.Changes.Failed), float64(c.B.Changes.Failed), "")
		row("changes: mean wait for a slot", hours(c.A.Changes.Delay.Mean), hours(c.B.Changes.Delay.Mean), "h")
	}
	for _, d := range weekdays {
		a, b := c.A.breachesOn(d), c.B.breachesOn(d)
		if a != 0 || b != 0 {
			row("breaches on "+d.String(), float64(a), float64(b), "")
		}
	}
	_ = tw.Flush() // into a buffer: no error
	return buf.WriteTo(w)
}

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// breachesOn counts the breaches that happened on d.
func (r *Report) breachesOn(d time.Weekday) int {
	n := 0
	day := dayOfWeek(d)
	for h := range 24 {
		n += r.BreachesByHour[day*24+h]
	}
	return n
}

func peak(b []BacklogPoint) int {
	m := 0
	for _, p := range b {
		m = max(m, p.Open)
	}
	return m
}

func hours(d time.Duration) float64 { return d.Hours() }

func num(x float64, unit string) string {
	switch unit {
	case "":
		return fmt.Sprintf("%.0f", x)
	case "%":
		return fmt.Sprintf("%.1f %%", x)
	}
	return fmt.Sprintf("%.1f %s", x, unit)
}

func signed(x float64, unit string) string {
	s := num(x, unit)
	if x > 0 {
		s = "+" + s
	}
	return strings.Replace(s, "-0.0", "0.0", 1)
}

// WriteTo writes the report as text: the incidents, each SLA's
// compliance, time to resolve, the backlog's peak, the changes, the
// breaches by the weekday they happened on, and the credits.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: %s to %s\n", r.Scenario, r.From.Format("Mon 2 Jan 2006 15:04"), r.To.Format("Mon 2 Jan 2006 15:04"))
	fmt.Fprintf(tw, "incidents\t%d arrived, %d resolved, %d open at the end\n", r.Opened, r.Resolved, r.Opened-r.Resolved)
	for _, g := range r.Groups {
		fmt.Fprintf(tw, "%s\t%d agents, %.0f agent-hours on duty, %d incidents taken\n", g.Name, g.Agents, g.OnDuty.Hours(), g.Handled)
	}
	for _, s := range r.SLAs {
		fmt.Fprintf(tw, "%s\t%d met, %d breached (%.1f %% met), %d running\n", s.Name, s.Met, s.Breached, s.MetPercent, s.InProgress)
	}
	fmt.Fprintf(tw, "time to resolve\tmean %.1f h, P50 %.1f h, P90 %.1f h\n", r.TimeToResolve.Mean.Hours(), r.TimeToResolve.P50.Hours(),
		r.TimeToResolve.P90.Hours())
	fmt.Fprintf(tw, "backlog\tpeak %d open\n", peak(r.Backlog))
	if c := r.Changes; c.Requested > 0 {
		fmt.Fprintf(tw, "changes\t%d requested, %d implemented, %d failed, %d with no slot; mean wait for a slot %.1f h\n",
			c.Requested, c.Done, c.Failed, c.Unplanned, c.Delay.Mean.Hours())
	}
	for _, d := range weekdays {
		if n := r.breachesOn(d); n > 0 {
			fmt.Fprintf(tw, "breaches on %s\t%d\n", d, n)
		}
	}
	for _, c := range r.Credits {
		fmt.Fprintf(tw, "%s\t%s %% available, credit %s %s\n", c.Service, c.Availability.Percent.StringFixed(3), c.Credit.Amount.StringFixed(2),
			c.Credit.Currency)
	}
	_ = tw.Flush() // into a buffer: no error
	return buf.WriteTo(w)
}
