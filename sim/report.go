package sim

import (
	"fmt"
	"time"

	"github.com/itilkit/itil/internal/stats"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

// Report is what came of a Scenario.
type Report struct {
	Scenario string
	From, To time.Time
	// Opened counts the incidents that arrived, Resolved those resolved
	// by the end; the rest were open at the end.
	Opened, Resolved int
	// SLAs is how each definition did over the span (running cycles
	// judged at its end).
	SLAs []SLAResult
	// BreachesByArrival counts the incidents that breached an SLA by the
	// hour of the week they arrived in, and BreachesByHour the breaches by
	// the hour of the week they happened in (Monday 00:00 first, in the
	// scenario's zone): where the breaches come from, and when they land.
	BreachesByArrival, BreachesByHour [HoursPerWeek]int
	// Backlog is the incidents open at the start of each hour: opened
	// before it and not resolved before it.
	Backlog []BacklogPoint
	// TimeToResolve is over the incidents resolved: from arrival to
	// resolution, wall-clock time.
	TimeToResolve Durations
	// Credits is, for each service with Credits, its availability over its
	// service hours and the credit owed.
	Credits []CreditResult
	// Groups is each group's staffing over the span: the agent-time on
	// duty (agents × the open time of its calendar) and the incidents its
	// agents took.
	Groups []GroupResult
	// Changes is what came of the scenario's changes.
	Changes ChangeResult
	// KPIs are the lifecycle package's KPIs of the span, week by week
	// (weeks from Monday, in the scenario's zone), counted from the
	// journal the run wrote.
	KPIs []lifecycle.KPIPoint
}

// GroupResult is a group's staffing over the span.
type GroupResult struct {
	Name    string
	Agents  int
	OnDuty  time.Duration
	Handled int
}

// ChangeResult counts the changes: requested and planned, implemented
// and closed (Done) by the end, failed (each opening an incident), and
// those no slot was found for; Delay is from request to planned start
// (a freeze, or the changes before, push it).
type ChangeResult struct {
	Requested, Done, Failed, Unplanned int
	Delay                              Durations
}

// CreditResult is a service's availability over the span and the service
// credit its policy owes for it.
type CreditResult struct {
	Service      string
	Availability slm.Availability
	Credit       slm.Money
}

// SLAResult is one SLA's compliance over the span.
type SLAResult struct {
	Name               string
	Met, Breached      int
	InProgress         int
	MetPercent         float64
	MeanElapsed, P90   time.Duration
	BreachesOfArrivals int // incidents of the span that breached it
}

// BacklogPoint is the count of incidents open at an instant.
type BacklogPoint struct {
	At   time.Time
	Open int
}

// Durations summarises durations: their count, mean and percentiles.
type Durations struct {
	Count         int
	Mean          time.Duration
	P50, P90, P95 time.Duration
}

func durations(xs []time.Duration) Durations {
	if len(xs) == 0 {
		return Durations{}
	}
	p50, p90, p95 := stats.Percentiles(xs)
	return Durations{Count: len(xs), Mean: stats.Mean(xs), P50: p50, P90: p90, P95: p95}
}

func (r *run) report(defs []*slm.Definition) (*Report, error) {
	ctx := r.ctx
	rep := &Report{Scenario: r.s.Name, From: r.s.Start, To: r.end, Opened: len(r.opened), Resolved: len(r.resolved), Backlog: r.backlog}
	byName := map[string]int{}
	for _, d := range defs {
		c, err := r.eng.Compliance(ctx, d.ID, r.s.Start, r.end, r.end)
		if err != nil {
			return nil, err
		}
		byName[d.Name] = len(rep.SLAs)
		rep.SLAs = append(rep.SLAs, SLAResult{Name: d.Name, Met: c.Met, Breached: c.Breached, InProgress: c.InProgress,
			MetPercent: c.MetPercent, MeanElapsed: c.MeanElapsed, P90: c.P90Elapsed})
	}
	var ttr []time.Duration
	for _, id := range r.order {
		opened := r.opened[id]
		if at, ok := r.resolved[id]; ok {
			ttr = append(ttr, at.Sub(opened))
		}
		st, err := r.eng.Status(ctx, id, r.end)
		if err != nil {
			return nil, err
		}
		breached := false
		for _, x := range st {
			if x.Progress.Breached {
				breached = true
				rep.BreachesByHour[hourOfWeek(x.Timer.BreachAt.In(r.zone))]++
				if i, ok := byName[x.Timer.Name]; ok {
					rep.SLAs[i].BreachesOfArrivals++
				}
			}
		}
		if breached {
			rep.BreachesByArrival[hourOfWeek(opened.In(r.zone))]++
		}
	}
	rep.TimeToResolve = durations(ttr)
	var outages []slm.Outage
	for _, id := range r.order {
		if svc, ok := r.down[id]; ok {
			end, ok := r.resolved[id]
			if !ok {
				end = r.end
			}
			outages = append(outages, slm.Outage{Service: svc, Start: r.opened[id], End: end})
		}
	}
	for _, svc := range r.s.Services {
		if svc.Credits == nil {
			continue
		}
		a, err := slm.MeasureAvailability(calendar.MustNew(svc.Credits.Hours), svc.Name, outages, r.s.Start, r.end)
		if err != nil {
			return nil, err
		}
		credit, err := svc.Credits.Policy.Credit(a, svc.Credits.Fee)
		if err != nil {
			return nil, fmt.Errorf("sim: %s's credit: %w", svc.Name, err)
		}
		rep.Credits = append(rep.Credits, CreditResult{Service: svc.Name, Availability: a, Credit: credit})
	}
	for _, g := range r.groups {
		rep.Groups = append(rep.Groups, GroupResult{Name: g.Name, Agents: g.Agents, OnDuty: time.Duration(g.Agents) * g.cal.Between(r.s.Start, r.end),
			Handled: g.handled})
	}
	rep.Changes = ChangeResult{Requested: r.requested, Done: r.done, Failed: r.failed, Unplanned: r.unplanned, Delay: durations(r.delays)}
	kpis, err := r.kpis.KPIs(ctx, lifecycle.KPIQuery{From: r.s.Start, To: r.end, Every: lifecycle.Weekly, Zone: r.zone.String()})
	if err != nil {
		return nil, err
	}
	rep.KPIs = kpis
	return rep, nil
}
