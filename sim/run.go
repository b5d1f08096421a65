package sim

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/strategy"
)

// Limits of a Scenario: its span, the incidents and changes it may
// expect (rates over the span, plus recorded series), and the longest
// handling time a law's draw gives (a longer one is cut to it).
const (
	MaxDays      = 366
	MaxIncidents = 1_000_000
	MaxChanges   = 100_000
	MaxHandling  = 90 * 24 * time.Hour
)

// desk is the simulated actor every command runs as.
var desk = itil.Actor{ID: "sim", Name: "Simulated desk"}

// clock is the simulation's clock: the time of the event being played.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// event is one thing that happens at a time: an incident arrives, an
// agent finishes one, a group's shift starts, the backlog is sampled.
type event struct {
	at   time.Time
	seq  int // ties in time go in the order scheduled
	kind eventKind
	// arrive: the service and its arrival; done and shift: the group;
	// done: the incident; the change events: the stream and the change.
	service, arrival, group, stream, agent int
	incident, change                       itil.ID
}

type eventKind uint8

const (
	arrive eventKind = iota
	done
	shift
	sample
	changeRequest
	changeStart
	changeEnd
)

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if c := q[i].at.Compare(q[j].at); c != 0 {
		return c < 0
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// waiting is an incident in a group's queue: taken by priority, then in
// order of arrival.
type waiting struct {
	id       itil.ID
	priority itil.Priority
	at       time.Time
	seq      int
}

// wait puts w in the group's queue in the order agents take it: by
// priority, then arrival (kept in order as it comes, not sorted at each
// dispatch).
func (g *group) wait(w waiting) {
	i, _ := slices.BinarySearchFunc(g.waiting, w, func(a, b waiting) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), a.at.Compare(b.at), cmp.Compare(a.seq, b.seq))
	})
	g.waiting = slices.Insert(g.waiting, i, w)
}

// group is a Group as the run keeps it.
type group struct {
	Group
	cal       *calendar.Calendar
	idle      []int // the agents free, by index
	handled   int
	waiting   []waiting
	shiftDue  bool // a shift event is scheduled
	handlings *rand.Rand
}

// run is one play of a Scenario.
type run struct {
	s      Scenario
	ctx    context.Context
	clk    *clock
	zone   *time.Location
	end    time.Time
	events queue
	seq    int
	groups []*group
	byName map[string]int
	incs   *incident.Service
	eng    *slm.Engine
	kpis   *lifecycle.Service
	// the changes, when the scenario has some
	changes                            *change.Service
	ci                                 map[string]itil.ID // of each service that changes
	serviceIndex                       map[string]int
	failures                           *rand.Rand
	requested, done, failed, unplanned int
	delays                             []time.Duration
	// what happened, for the Report
	opened   map[itil.ID]time.Time
	resolved map[itil.ID]time.Time
	order    []itil.ID          // in order of opening
	down     map[itil.ID]string // the incidents that are outages, and of which service
	backlog  []BacklogPoint
}

func (r *run) schedule(e event) {
	e.seq = r.seq
	r.seq++
	heap.Push(&r.events, e)
}

// Run plays s through the SDK's incident and SLA services, on the memory
// backend and a clock it drives, and reports what came of it. An invalid
// Scenario gives a *itil.ValidationError naming every bad field; the
// services' own refusals (an SLA definition they reject) are returned as
// they come.
func Run(ctx context.Context, s Scenario) (*Report, error) {
	zone, err := s.validate()
	if err != nil {
		return nil, err
	}
	r := &run{s: s, ctx: ctx, clk: &clock{now: s.Start}, zone: zone, end: s.Start.AddDate(0, 0, s.Days), byName: map[string]int{},
		opened: map[itil.ID]time.Time{}, resolved: map[itil.ID]time.Time{}, down: map[itil.ID]string{}, serviceIndex: map[string]int{},
		failures: stream(s.Seed, "failures")}
	for i, svc := range s.Services {
		r.serviceIndex[svc.Name] = i
	}
	store := memory.NewStore()
	if r.eng, err = slm.NewEngine(store, slm.WithClock(r.clk)); err != nil {
		return nil, err
	}
	if r.incs, err = incident.New(store, incident.WithClock(r.clk), incident.WithHook(r.eng)); err != nil {
		return nil, err
	}
	// The KPIs are the lifecycle package's, counted from the journal the
	// run writes, as they would be from a real desk's.
	portfolio, err := strategy.New(store, strategy.WithClock(r.clk))
	if err != nil {
		return nil, err
	}
	if r.kpis, err = lifecycle.New(store, portfolio, lifecycle.WithClock(r.clk), lifecycle.WithIncidents(r.incs), lifecycle.WithSLM(r.eng)); err != nil {
		return nil, err
	}
	if err := r.setupChanges(store); err != nil {
		return nil, err
	}
	var defs []*slm.Definition
	for _, d := range s.SLAs {
		def, err := r.eng.Define(ctx, desk, d)
		if err != nil {
			return nil, fmt.Errorf("sim: SLA %q: %w", d.Name, err)
		}
		defs = append(defs, def)
	}
	// A stream of draws per purpose, so that a change to one group's
	// handling leaves the arrivals as they were: comparing two scenarios
	// compares them on the same incidents.
	for i, g := range s.Groups {
		r.byName[g.Name] = i
		idle := make([]int, g.Agents)
		for a := range idle {
			idle[a] = g.Agents - 1 - a // the first agent on top
		}
		r.groups = append(r.groups, &group{Group: g, cal: calendar.MustNew(g.Hours), idle: idle,
			handlings: rand.New(rand.NewPCG(s.Seed, uint64(2+i)))})
	}
	// The samples first: at an instant, what happens then comes after
	// them (the backlog is what was open strictly before).
	for t := r.s.Start; t.Before(r.end); t = t.Add(time.Hour) {
		r.schedule(event{at: t, kind: sample})
	}
	r.plan()
	r.planChanges()
	for r.events.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := heap.Pop(&r.events).(event)
		if !e.at.Before(r.end) {
			break
		}
		r.clk.now = e.at
		if err := r.play(e); err != nil {
			return nil, err
		}
	}
	r.clk.now = r.end
	return r.report(defs)
}

// plan schedules every arrival of the span: for each hour, a Poisson
// count of incidents at uniform instants within it, or the recorded
// series.
func (r *run) plan() {
	for si, svc := range r.s.Services {
		for ai, a := range svc.Arrivals {
			rng := stream(r.s.Seed, "arrivals", svc.Name, strconv.Itoa(ai))
			if a.Series != nil {
				for _, t := range a.Series {
					if !t.Before(r.s.Start) && t.Before(r.end) {
						r.schedule(event{at: t, kind: arrive, service: si, arrival: ai})
					}
				}
				continue
			}
			for h := r.firstHour(); h.Before(r.end); h = h.Add(time.Hour) {
				for range poisson(rng, a.PerHour[hourOfWeek(h.In(r.zone))]) {
					t := h.Add(time.Duration(rng.Int64N(int64(time.Hour))))
					if !t.Before(r.s.Start) && t.Before(r.end) {
						r.schedule(event{at: t, kind: arrive, service: si, arrival: ai})
					}
				}
			}
		}
	}
}

// planChanges schedules the change requests of the span: for each hour,
// a Poisson count at the stream's weekly rate, at uniform instants.
func (r *run) planChanges() {
	for ci, c := range r.s.Changes {
		rng := stream(r.s.Seed, "changes", c.Service, strconv.Itoa(ci))
		for h := r.firstHour(); h.Before(r.end); h = h.Add(time.Hour) {
			for range poisson(rng, c.PerWeek/HoursPerWeek) {
				t := h.Add(time.Duration(rng.Int64N(int64(time.Hour))))
				if !t.Before(r.s.Start) && t.Before(r.end) {
					r.schedule(event{at: t, kind: changeRequest, stream: ci})
				}
			}
		}
	}
}

// stream is the random stream of one purpose (a service's arrivals, a
// group's handling times), named: a variant that adds a group or a
// service, or changes one, leaves the others' draws as they were.
func stream(seed uint64, name ...string) *rand.Rand {
	h := fnv.New64a()
	for _, n := range name {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// firstHour is the start of the span's first hour in the scenario's zone
// (a half-hour zone's hours start at :30 UTC).
func (r *run) firstHour() time.Time {
	t := r.s.Start.In(r.zone)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, r.zone)
}

// hourOfWeek is t's hour of the week, Monday 00:00 first.
func hourOfWeek(t time.Time) int { return dayOfWeek(t.Weekday())*24 + t.Hour() }

// dayOfWeek is d's place in the week, Monday 0.
func dayOfWeek(d time.Weekday) int { return (int(d) + 6) % 7 }

// poisson draws a count of mean lambda: Knuth's method, in pieces of at
// most 500 (a sum of Poisson counts is one; e^-λ underflows past ~745).
func poisson(rng *rand.Rand, lambda float64) int {
	k := 0
	for lambda > 0 {
		part := min(lambda, 500)
		lambda -= part
		l, p := math.Exp(-part), 1.0
		for {
			p *= rng.Float64()
			if p <= l {
				break
			}
			k++
		}
	}
	return k
}

func (r *run) play(e event) error {
	now := r.clk.now
	switch e.kind {
	case arrive:
		a := r.s.Services[e.service].Arrivals[e.arrival]
		return r.openIncident(e.service, a.Impact, a.Urgency, a.ServiceDown)
	case done:
		if _, err := r.incs.Resolve(r.ctx, desk, e.incident, "solution_provided", "worked by the simulated desk"); err != nil {
			return fmt.Errorf("sim: resolve: %w", err)
		}
		r.resolved[e.incident] = now
		g := r.groups[e.group]
		g.idle = append(g.idle, e.agent)
		return r.dispatch(e.group)
	case shift:
		r.groups[e.group].shiftDue = false
		return r.dispatch(e.group)
	case sample:
		r.backlog = append(r.backlog, BacklogPoint{At: now, Open: len(r.opened) - len(r.resolved)})
	case changeRequest:
		return r.requestChange(e.stream)
	case changeStart:
		return r.startChange(e)
	case changeEnd:
		return r.endChange(e)
	}
	return nil
}

// openIncident opens an incident on the service si now and queues it for
// the service's group.
func (r *run) openIncident(si int, impact itil.Impact, urgency itil.Urgency, down bool) error {
	svc, now := r.s.Services[si], r.clk.now
	inc, err := r.incs.Open(r.ctx, desk, incident.NewIncident{Title: svc.Name + " incident", Caller: itil.Actor{ID: "caller"},
		Channel: incident.Phone, Category: svc.Name, Impact: impact, Urgency: urgency, ServiceDown: down})
	if err != nil {
		return fmt.Errorf("sim: open an incident of %s: %w", svc.Name, err)
	}
	r.opened[inc.ID], r.order = now, append(r.order, inc.ID)
	if down {
		r.down[inc.ID] = svc.Name
	}
	g := r.byName[svc.Group]
	r.groups[g].wait(waiting{id: inc.ID, priority: inc.Priority, at: now, seq: r.seq})
	r.seq++
	return r.dispatch(g)
}

// dispatch gives the group's free agents the incidents waiting, highest
// priority first, while its hours are open; when they are closed, the
// group's next shift is scheduled to take them up.
func (r *run) dispatch(gi int) error {
	g := r.groups[gi]
	now := r.clk.now
	if len(g.idle) == 0 || len(g.waiting) == 0 {
		return nil
	}
	if !g.cal.IsOpen(now) {
		if !g.shiftDue {
			g.shiftDue = true
			r.schedule(event{at: g.cal.NextOpen(now), kind: shift, group: gi})
		}
		return nil
	}
	for len(g.idle) > 0 && len(g.waiting) > 0 {
		w := g.waiting[0]
		g.waiting = g.waiting[1:]
		agent := g.idle[len(g.idle)-1]
		g.idle = g.idle[:len(g.idle)-1]
		if _, err := r.incs.Assign(r.ctx, desk, w.id, g.Name, g.Name+"-agent-"+strconv.Itoa(agent+1)); err != nil {
			return fmt.Errorf("sim: assign: %w", err)
		}
		g.handled++
		d := min(g.Handling.draw(g.handlings), MaxHandling)
		r.schedule(event{at: g.cal.Add(now, d), kind: done, group: gi, agent: agent, incident: w.id})
	}
	return nil
}

// nest adds err's fields to v under prefix (a calendar's zone is
// groups[0].hours.zone), or err itself as prefix's problem.
func nest(v *itil.ValidationError, prefix string, err error) {
	var ve *itil.ValidationError
	if !errors.As(err, &ve) {
		v.Add(prefix, err.Error())
		return
	}
	for _, f := range ve.Fields {
		v.Add(prefix+"."+f.Field, f.Reason)
	}
}

// checkName adds to v what is wrong with the name of a group or service:
// none, or another's (seen holds the names before it).
func checkName(v *itil.ValidationError, field, name, what string, seen map[string]bool) {
	switch {
	case name == "":
		v.Add(field, "is required")
	case seen[name]:
		v.Add(field, strconv.Quote(name)+" is another "+what+"'s too")
	}
	seen[name] = true
}

// checkPriority adds to v what is wrong with an incident's impact and
// urgency (1 to 3, the default priority matrix's).
func checkPriority(v *itil.ValidationError, at string, impact itil.Impact, urgency itil.Urgency) {
	if impact < 1 || impact > 3 {
		v.Add(at+".impact", "must be 1 to 3")
	}
	if urgency < 1 || urgency > 3 {
		v.Add(at+".urgency", "must be 1 to 3")
	}
}

// checkHandling adds to v what is wrong with the handling law h: it must
// be one of the package's, with sensible parameters.
func checkHandling(v *itil.ValidationError, field string, h Distribution) {
	switch h := h.(type) {
	case Fixed:
		if h < 0 {
			v.Add(field, "a fixed handling time must not be negative")
		}
	case Exponential:
		if h.Mean <= 0 {
			v.Add(field+".mean", "must be positive")
		}
	case LogNormal:
		if h.Median <= 0 {
			v.Add(field+".median", "must be positive")
		}
		if !(h.Spread >= 0 && h.Spread <= 5) {
			v.Add(field+".spread", "must be from 0 to 5")
		}
	default:
		v.Add(field, "must be sim.Fixed, sim.Exponential or sim.LogNormal")
	}
}

// validate checks s, returning its zone.
func (s Scenario) validate() (*time.Location, error) {
	var v itil.ValidationError
	zone := check.Zone(&v, "zone", s.Zone, false)
	if s.Start.IsZero() {
		v.Add("start", "is required")
	}
	if s.Days < 1 || s.Days > MaxDays {
		v.Add("days", fmt.Sprintf("must be 1 to %d", MaxDays))
	}
	groups := map[string]bool{}
	for i, g := range s.Groups {
		at := fmt.Sprintf("groups[%d]", i)
		checkName(&v, at+".name", g.Name, "group", groups)
		if g.Agents < 0 {
			v.Add(at+".agents", "must not be negative")
		}
		checkHandling(&v, at+".handling", g.Handling)
		if _, err := calendar.New(g.Hours); err != nil {
			nest(&v, at+".hours", err)
		}
	}
	names := map[string]bool{}
	expected := 0.0 // incidents
	for i, svc := range s.Services {
		at := fmt.Sprintf("services[%d]", i)
		checkName(&v, at+".name", svc.Name, "service", names)
		if !groups[svc.Group] {
			v.Add(at+".group", strconv.Quote(svc.Group)+" is no group of the scenario")
		}
		if c := svc.Credits; c != nil {
			if _, err := calendar.New(c.Hours); err != nil {
				nest(&v, at+".credits.hours", err)
			}
			if err := c.Policy.Validate(); err != nil {
				nest(&v, at+".credits.policy", err)
			}
		}
		for j, a := range svc.Arrivals {
			aat := fmt.Sprintf("%s.arrivals[%d]", at, j)
			checkPriority(&v, aat, a.Impact, a.Urgency)
			if a.Series != nil && a.PerHour != ([HoursPerWeek]float64{}) {
				v.Add(aat+".series", "is a recorded series: the stream has rates per hour too")
			}
			expected += float64(len(a.Series))
			for h, rate := range a.PerHour {
				if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
					v.Add(fmt.Sprintf("%s.per_hour[%d]", aat, h), "must be a rate of 0 or more")
					break
				}
				expected += rate * float64(s.Days) / 7
			}
		}
	}
	if expected > MaxIncidents {
		v.Add("services", fmt.Sprintf("expect %.0f incidents over the span, more than %d", expected, MaxIncidents))
	}
	services := map[string]bool{}
	for _, svc := range s.Services {
		services[svc.Name] = true
	}
	for i, c := range s.Changes {
		at := fmt.Sprintf("changes[%d]", i)
		if !services[c.Service] {
			v.Add(at+".service", strconv.Quote(c.Service)+" is no service of the scenario")
		}
		switch {
		case c.PerWeek < 0 || math.IsNaN(c.PerWeek) || math.IsInf(c.PerWeek, 0):
			v.Add(at+".per_week", "must be a rate of 0 or more")
		case c.PerWeek*float64(s.Days)/7 > MaxChanges:
			v.Add(at+".per_week", fmt.Sprintf("expects more than %d changes over the span", MaxChanges))
		}
		checkPriority(&v, at, c.Impact, c.Urgency)
		if c.Duration <= 0 {
			v.Add(at+".duration", "must be positive")
		}
		if c.Failure < 0 || c.Failure > 1 || math.IsNaN(c.Failure) {
			v.Add(at+".failure", "must be a chance from 0 to 1")
		}
	}
	for i, f := range s.Freezes {
		if f.Name == "" {
			v.Add(fmt.Sprintf("freezes[%d].name", i), "is required")
		}
	}
	return zone, v.Err()
}
