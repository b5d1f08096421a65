package sim_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/sim"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage/memory"
)

var monday = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func officeHours(from, to int) calendar.Spec {
	var w calendar.Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []calendar.Window{calendar.Hours(from, 0, to, 0)}
	}
	return calendar.Spec{Zone: "UTC", Week: w}
}

func desk(seed uint64) sim.Scenario {
	return sim.Scenario{Name: "desk", Seed: seed, Start: monday, Days: 14,
		Services: []sim.Service{
			{Name: "Mail", Group: "messaging", Arrivals: []sim.Arrival{{Impact: 2, Urgency: 2, PerHour: sim.Weekdays(8, 18, 1.5)}}},
			{Name: "Network", Group: "network", Arrivals: []sim.Arrival{{Impact: 1, Urgency: 2, PerHour: sim.Weekdays(7, 19, 0.8)}}},
		},
		Groups: []sim.Group{
			{Name: "messaging", Agents: 2, Hours: officeHours(9, 17), Handling: sim.LogNormal{Median: 90 * time.Minute}},
			{Name: "network", Agents: 1, Hours: officeHours(9, 17), Handling: sim.Exponential{Mean: time.Hour}},
		},
		SLAs: []slm.Definition{slm.StandardDefinition("Resolve in 8 hours", incident.Kind, slm.SLA, slm.Resolution,
			slm.Target{Name: "8h", Duration: 8 * time.Hour})},
	}
}

// TestDeterministic: the same scenario and seed give the same report;
// another seed another.
func TestDeterministic(t *testing.T) {
	a, err := sim.Run(context.Background(), desk(7))
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Run(context.Background(), desk(7))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs of one scenario differ:\n%+v\n%+v", a.SLAs, b.SLAs)
	}
	c, err := sim.Run(context.Background(), desk(8))
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("another seed, the same report")
	}
	resolvedByKPI := 0
	for _, p := range a.KPIs {
		if p.KPI == lifecycle.KPITimeToResolve {
			resolvedByKPI += p.Count
		}
	}
	if resolvedByKPI != a.Resolved {
		t.Errorf("the KPIs count %d resolutions, the report %d", resolvedByKPI, a.Resolved)
	}
	if a.Opened < 200 || a.Resolved == 0 || len(a.Backlog) != 14*24 || a.SLAs[0].Met+a.SLAs[0].Breached == 0 {
		t.Fatalf("an implausible report: %d opened, %d resolved, %d backlog points, %+v", a.Opened, a.Resolved, len(a.Backlog), a.SLAs)
	}
}

// TestHandWorked: three incidents recorded ten minutes apart, one agent
// always on duty, each taking exactly an hour: they are resolved one
// after the other, at 1 h, 2 h and 3 h, so they wait 0, 50 and 100
// minutes; with a 2-hour resolution SLA, the third breaches.
func TestHandWorked(t *testing.T) {
	t0 := monday.Add(9 * time.Hour)
	s := sim.Scenario{Name: "hand", Start: monday, Days: 1,
		Services: []sim.Service{{Name: "Mail", Group: "desk", Arrivals: []sim.Arrival{{Impact: 2, Urgency: 2, ServiceDown: true,
			Series: []time.Time{t0, t0.Add(10 * time.Minute), t0.Add(20 * time.Minute)}}},
			Credits: &sim.Credits{Hours: calendar.AlwaysOpen(), Fee: slm.Money{Amount: decimal.NewFromInt(1000), Currency: "EUR"},
				Policy: slm.CreditPolicy{Tiers: []slm.CreditTier{{Below: decimal.RequireFromString("99.9"), Percent: decimal.NewFromInt(10)},
					{Below: decimal.NewFromInt(99), Percent: decimal.NewFromInt(25)}}}}}},
		Groups: []sim.Group{{Name: "desk", Agents: 1, Hours: calendar.AlwaysOpen(), Handling: sim.Fixed(time.Hour)}},
		SLAs: []slm.Definition{slm.StandardDefinition("Resolve in 2 hours", incident.Kind, slm.SLA, slm.Resolution,
			slm.Target{Name: "2h", Duration: 2 * time.Hour})},
	}
	r, err := sim.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Durations{Count: 3, Mean: 110 * time.Minute, P50: 110 * time.Minute, P90: 160 * time.Minute, P95: 160 * time.Minute}
	if r.Opened != 3 || r.Resolved != 3 || r.TimeToResolve != want {
		t.Fatalf("%d opened, %d resolved, time to resolve %+v, want %+v", r.Opened, r.Resolved, r.TimeToResolve, want)
	}
	// The third arrived at 09:20 and breached at 11:20.
	if got := r.SLAs[0]; got.Met != 2 || got.Breached != 1 || r.BreachesByArrival[9] != 1 || r.BreachesByHour[11] != 1 {
		t.Fatalf("SLA %+v, breaches of 09:00's arrivals %d, at 11:00 %d", got, r.BreachesByArrival[9], r.BreachesByHour[11])
	}
	// The three outages overlap: Mail is down from 09:00 to 12:00, 3 hours
	// of the day's 24, 87.5 %: below 99 %, a credit of 25 % of the fee.
	if len(r.Credits) != 1 || r.Credits[0].Availability.Downtime != 3*time.Hour ||
		!r.Credits[0].Availability.Percent.Equal(decimal.RequireFromString("87.5")) || !r.Credits[0].Credit.Amount.Equal(decimal.NewFromInt(250)) {
		t.Fatalf("credits %+v", r.Credits)
	}
}

// TestInvalid: a scenario with bad fields is refused before anything
// runs, with a *itil.ValidationError naming every one of them.
func TestInvalid(t *testing.T) {
	huge := sim.Weekdays(0, 24, 1e6)
	_, err := sim.Run(context.Background(), sim.Scenario{Days: 400, Zone: "Mars/Base",
		Services: []sim.Service{
			{Name: "", Group: "nobody", Arrivals: []sim.Arrival{{Impact: 0, Urgency: 2}}},
			{Name: "Mail", Group: "x", Arrivals: []sim.Arrival{{Impact: 2, Urgency: 2, PerHour: huge}}},
			{Name: "Mail", Group: "x"},
		},
		Groups: []sim.Group{{Name: "x", Agents: -1}, {Name: "y", Handling: sim.Fixed(-time.Hour)},
			{Name: "z", Handling: (*sim.Exponential)(nil)}, {Name: "w", Handling: sim.LogNormal{Median: time.Hour, Spread: 30}}},
		Changes: []sim.Changes{{Service: "Print", Duration: 0, Failure: 2, Impact: 2, Urgency: 2}},
		Freezes: []sim.Freeze{{From: calendar.Date{Year: 2026, Month: 12, Day: 1}, To: calendar.Date{Year: 2026, Month: 12, Day: 31}}},
	})
	var v *itil.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("an invalid scenario: %v", err)
	}
	for _, f := range []string{"zone", "start", "days", "groups[0].agents", "groups[0].hours.zone", "groups[0].handling", "groups[1].handling", "groups[2].handling",
		"groups[3].handling.spread", "services[0].name", "services[0].group", "services[0].arrivals[0].impact", "services[2].name", "services",
		"changes[0].service", "changes[0].duration", "changes[0].failure", "freezes[0].name"} {
		if !v.Has(f) {
			t.Errorf("the error does not name %s: %v", f, err)
		}
	}
	if p := sim.Weekdays(-3, 99, 1); p[0] != 1 || p[23] != 1 || p[24] != 1 || p[5*24] != 0 {
		t.Errorf("Weekdays out of 0-24: %v", p[:48])
	}
}

// BenchmarkMonth plays a month of a desk taking about 10,000 incidents,
// and beside it the plain cost of the same commands (each incident
// opened, assigned and resolved, timed by the same SLA) run one after the
// other on the same services, with no scheduler and no report:
// x-plain is the simulation's time over theirs.
func BenchmarkMonth(b *testing.B) {
	s := desk(1)
	s.Days = 30
	s.Services[0].Arrivals[0].PerHour = sim.Weekdays(0, 24, 14) // about 7,200 a month
	s.Services[1].Arrivals[0].PerHour = sim.Weekdays(0, 24, 6)  // and 3,100
	s.Groups[0].Agents, s.Groups[1].Agents = 40, 20
	s.Groups[0].Hours, s.Groups[1].Hours = calendar.AlwaysOpen(), calendar.AlwaysOpen()
	var incidents int
	var simTime, plainTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		r, err := sim.Run(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		simTime += time.Since(t0)
		incidents = r.Opened
		t0 = time.Now()
		plain(b, s, incidents)
		plainTime += time.Since(t0)
	}
	b.ReportMetric(float64(incidents), "incidents")
	b.ReportMetric(float64(incidents)*float64(b.N)/simTime.Seconds(), "incidents/s")
	b.ReportMetric(simTime.Seconds()/plainTime.Seconds(), "x-plain")
}

// plain runs n incidents' commands one after the other on the services
// the simulation uses, the clock a minute on for each.
func plain(b *testing.B, s sim.Scenario, n int) {
	ctx, actor := context.Background(), itil.Actor{ID: "sim"}
	clk := testkit.ClockAt(s.Start)
	store := memory.NewStore()
	eng, err := slm.NewEngine(store, slm.WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	incs, err := incident.New(store, incident.WithClock(clk), incident.WithHook(eng))
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range s.SLAs {
		if _, err := eng.Define(ctx, actor, d); err != nil {
			b.Fatal(err)
		}
	}
	for range n {
		clk.Advance(time.Minute)
		inc, err := incs.Open(ctx, actor, incident.NewIncident{Title: "Mail incident", Caller: itil.Actor{ID: "caller"}, Channel: incident.Phone,
			Category: "Mail", Impact: 2, Urgency: 2})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := incs.Assign(ctx, actor, inc.ID, "messaging", "messaging-agent-1"); err != nil {
			b.Fatal(err)
		}
		if _, err := incs.Resolve(ctx, actor, inc.ID, "solution_provided", "worked"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCompare: a variant with more agents on the same arrivals breaches
// less, and the comparison says so, the same each time.
func TestCompare(t *testing.T) {
	base := desk(3)
	more := desk(3)
	more.Name = "more agents"
	more.Groups[1].Agents = 3
	a, err := sim.Run(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Run(context.Background(), more)
	if err != nil {
		t.Fatal(err)
	}
	if a.Opened != b.Opened {
		t.Fatalf("the variant saw other arrivals: %d and %d", a.Opened, b.Opened)
	}
	if b.SLAs[0].Breached >= a.SLAs[0].Breached {
		t.Fatalf("more agents, no fewer breaches: %d and %d", a.SLAs[0].Breached, b.SLAs[0].Breached)
	}
	var out, again strings.Builder
	sim.Compare(a, b).WriteTo(&out)
	sim.Compare(a, b).WriteTo(&again)
	if out.String() != again.String() || !strings.Contains(out.String(), "Resolve in 8 hours: breached") ||
		!strings.Contains(out.String(), "breaches on Monday") {
		t.Fatalf("the comparison:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}

// TestChanges: changes to a service are planned into the first free slot
// and implemented then; each failure opens an incident. A freeze over the
// whole span leaves them all planned after it: none is implemented, and
// none fails.
func TestChanges(t *testing.T) {
	s := desk(5)
	s.Changes = []sim.Changes{{Service: "Mail", PerWeek: 10, Duration: 2 * time.Hour, Failure: 1, Impact: 2, Urgency: 2, AssignmentGroup: "messaging"}}
	r, err := sim.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Changes
	if c.Requested < 10 || c.Done == 0 || c.Failed != c.Done || c.Unplanned != 0 {
		t.Fatalf("changes %+v", c)
	}
	base, err := sim.Run(context.Background(), desk(5))
	if err != nil {
		t.Fatal(err)
	}
	if r.Opened != base.Opened+c.Failed {
		t.Fatalf("%d incidents with the changes' %d failures, %d without", r.Opened, c.Failed, base.Opened)
	}
	s.Freezes = []sim.Freeze{{Name: "all of it", From: calendar.DateOf(s.Start), To: calendar.DateOf(s.Start.AddDate(0, 0, s.Days))}}
	frozen, err := sim.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("unfrozen %+v\nfrozen %+v", c, frozen.Changes)
	if f := frozen.Changes; f.Requested != c.Requested || f.Done != 0 || f.Failed != 0 || f.Delay.Mean <= c.Delay.Mean {
		t.Fatalf("frozen: %+v, unfrozen %+v", f, c)
	}
}
