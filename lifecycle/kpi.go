package lifecycle

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// KPIs are computed from the journal's events, never from the records as
// they stand: an incident's time to resolve is the time from its opening
// event to its resolution event, and editing the incident later does not
// change the month it was resolved in. "MTTR" is ambiguous (repair,
// recovery, respond, resolve), so every KPI is named for what it
// measures.

// The KPIs, by name.
const (
	KPITimeToResolve           = "time_to_resolve"
	KPITimeToFirstResponse     = "time_to_first_response"
	KPIFirstAssignmentResolved = "first_assignment_resolution"
	KPIReopenRate              = "reopen_rate"
	KPIResolvedByProblem       = "resolved_by_problem"
	KPIBacklog                 = "backlog"
	KPIChangeSuccess           = "change_success_rate"
	KPIEmergencyChanges        = "emergency_change_share"
	KPITimeToCloseProblem      = "time_to_close_problem"
	KPICustomerSatisfaction    = "customer_satisfaction"
)

// Granularity is the length of a KPI period.
type Granularity string

const (
	Daily   Granularity = "day"
	Weekly  Granularity = "week" // Monday to Sunday
	Monthly Granularity = "month"
)

// Dimension is what KPIs are broken down by, besides the period.
type Dimension string

const (
	ByNone     Dimension = ""
	ByService  Dimension = "service"
	ByGroup    Dimension = "group"
	ByPriority Dimension = "priority"
)

// KPIQuery asks for KPIs over [From, To) in periods of Every, read in
// the zone Zone (default UTC), broken down By a dimension.
type KPIQuery struct {
	From, To time.Time
	Every    Granularity
	Zone     string
	By       Dimension
}

// MaxKPIPeriods bounds the periods of one query.
const MaxKPIPeriods = 1000

// KPIPoint is one KPI over one period (and dimension value, Key: the
// service's ID, the group, or the priority as "P1"; "" without a
// breakdown).
type KPIPoint struct {
	KPI    string    `json:"kpi"`
	Period time.Time `json:"period"` // its start, in the query's zone
	Key    string    `json:"key,omitempty"`
	// Count is how many things the KPI counted: resolutions, first
	// responses, or incidents open at the period's end (backlog).
	Count int `json:"count"`
	// Mean and the percentiles, for the time KPIs.
	Mean time.Duration `json:"mean,omitempty"`
	P50  time.Duration `json:"p50,omitempty"`
	P90  time.Duration `json:"p90,omitempty"`
	P95  time.Duration `json:"p95,omitempty"`
	// Percent, for the ratios: of Count, how many qualified (Hits), in
	// percent to two places; for customer satisfaction, the surveys'
	// mean score (0 to 100).
	Hits    int             `json:"hits,omitempty"`
	Percent decimal.Decimal `json:"percent,omitzero"`
}

// incidentView is what the KPIs read of an incident, as its events leave
// it (a projection: pipeline.Apply folds the events into it).
type incidentView struct {
	State             incident.State `json:"state"`
	Priority          itil.Priority  `json:"priority"`
	AssignmentGroup   string         `json:"assignment_group"`
	ServiceID         itil.ID        `json:"service_id"`
	ReassignmentCount int            `json:"reassignment_count"`
	ReopenCount       int            `json:"reopen_count"`
	ProblemID         itil.ID        `json:"problem_id"`
	ResolutionCode    string         `json:"resolution_code"`
	OpenedAt          time.Time      `json:"opened_at"`
	FirstRespondedAt  time.Time      `json:"first_responded_at"`
}

func (v *incidentView) open() bool {
	return v.State == incident.StateNew || v.State == incident.StateInProgress || v.State == incident.StateOnHold
}

// dims is where a fact counts.
type dims struct {
	service  itil.ID
	group    string
	priority itil.Priority
}

func (v *incidentView) dims() dims {
	return dims{service: v.ServiceID, group: v.AssignmentGroup, priority: v.Priority}
}

// A fact is one thing that happened, as the KPIs count it.
type (
	resolutionFact struct {
		at, took    time.Time
		d           dims
		firstAssign bool // resolved with no reassignment
		reopened    bool // resolved before, and reopened
		byProblem   bool // resolved through its problem
	}
	responseFact struct {
		at, took time.Time
		d        dims
	}
	// changeFact is a change closed (or canceled, which counts for
	// neither KPI) at at.
	changeFact struct {
		at        time.Time
		d         dims
		emergency bool
		failed    bool
	}
	// problemFact is a problem closed at at, opened at opened.
	problemFact struct {
		at, opened time.Time
		d          dims
	}
	// surveyFact is a satisfaction survey taken at at, on the service
	// (a portfolio entry) d.service, with its score (0 to 100).
	surveyFact struct {
		at    time.Time
		d     dims
		score decimal.Decimal
	}
	// openFact is an incident open over [from, to) (to zero: still).
	openFact struct {
		from, to time.Time
		d        dims
	}
)

// kpiFacts is the KPI read model: the facts the journal's events make,
// in the order they came. It is folded event by event, so keeping it
// current and building it again from the whole journal give the same
// facts.
type kpiFacts struct {
	mu          sync.RWMutex // held to apply events, read to compute
	pos         int64        // the last event applied
	incidents   map[itil.ID]*incidentView
	openAt      map[itil.ID]int // index in open of the incident's open interval
	resolutions []resolutionFact
	responses   []responseFact
	open        []openFact
	changes     map[itil.ID]*changeView
	closed      []changeFact
	problems    map[itil.ID]*problemView
	solved      []problemFact
	surveys     []surveyFact
}

// changeView and problemView are what the KPIs read of changes and
// problems, as their events leave them.
type (
	changeView struct {
		State           change.State     `json:"state"`
		Model           string           `json:"model"`
		CloseCode       change.CloseCode `json:"close_code"`
		AssignmentGroup string           `json:"assignment_group"`
	}
	problemView struct {
		State           problem.State `json:"state"`
		AssignmentGroup string        `json:"assignment_group"`
		OpenedAt        time.Time     `json:"opened_at"`
		ClosedAt        time.Time     `json:"closed_at"`
	}
)

func newKPIFacts() *kpiFacts {
	return &kpiFacts{incidents: map[itil.ID]*incidentView{}, openAt: map[itil.ID]int{}, changes: map[itil.ID]*changeView{},
		problems: map[itil.ID]*problemView{}}
}

// apply folds one journal event into the facts. Events of other kinds
// are skipped.
func (k *kpiFacts) apply(ev *itil.Event) error {
	if ev.Seq > k.pos {
		k.pos = ev.Seq
	}
	if len(ev.Payload) == 0 {
		return nil
	}
	switch ev.Kind {
	case change.Kind:
		return k.applyChange(ev)
	case problem.Kind:
		return k.applyProblem(ev)
	case strategy.KindSurvey:
		return k.applySurvey(ev)
	case incident.Kind:
	default:
		return nil
	}
	pl, err := pipeline.DecodePayload(ev)
	if err != nil {
		return err
	}
	before := k.incidents[ev.SubjectID]
	after, changed, err := pipeline.Apply(before, pl)
	if err != nil || !changed {
		return err
	}
	k.incidents[ev.SubjectID] = after
	if after == nil {
		return nil
	}
	at := ev.Time.UTC()
	wasOpen := before != nil && before.open()
	if !after.FirstRespondedAt.IsZero() && (before == nil || before.FirstRespondedAt.IsZero()) {
		k.responses = append(k.responses, responseFact{at: after.FirstRespondedAt, took: after.OpenedAt, d: after.dims()})
	}
	if after.State == incident.StateResolved && (before == nil || before.State != incident.StateResolved) {
		k.resolutions = append(k.resolutions, resolutionFact{at: at, took: after.OpenedAt, d: after.dims(),
			firstAssign: after.ReassignmentCount == 0, reopened: after.ReopenCount > 0,
			byProblem: after.ResolutionCode == problem.ResolvedByProblem || after.ResolutionCode == incident.KnownErrorCode})
	}
	switch {
	case !wasOpen && after.open():
		from := at
		if before == nil {
			from = after.OpenedAt
		}
		k.openAt[ev.SubjectID] = len(k.open)
		k.open = append(k.open, openFact{from: from, d: after.dims()})
	case wasOpen && !after.open():
		k.open[k.openAt[ev.SubjectID]].to = at
		delete(k.openAt, ev.SubjectID)
	case wasOpen:
		k.open[k.openAt[ev.SubjectID]].d = after.dims() // the backlog counts an incident where it stands
	}
	return nil
}

// applyChange counts a change when it reaches Closed.
func (k *kpiFacts) applyChange(ev *itil.Event) error {
	pl, err := pipeline.DecodePayload(ev)
	if err != nil {
		return err
	}
	before := k.changes[ev.SubjectID]
	after, changed, err := pipeline.Apply(before, pl)
	if err != nil || !changed {
		return err
	}
	k.changes[ev.SubjectID] = after
	if after != nil && after.State == change.StateClosed && (before == nil || before.State != change.StateClosed) {
		k.closed = append(k.closed, changeFact{at: ev.Time.UTC(), d: dims{group: after.AssignmentGroup},
			emergency: after.Model == change.ModelEmergency, failed: after.CloseCode == change.Unsuccessful})
	}
	return nil
}

// applyProblem counts a problem when it reaches Closed.
func (k *kpiFacts) applyProblem(ev *itil.Event) error {
	pl, err := pipeline.DecodePayload(ev)
	if err != nil {
		return err
	}
	before := k.problems[ev.SubjectID]
	after, changed, err := pipeline.Apply(before, pl)
	if err != nil || !changed {
		return err
	}
	k.problems[ev.SubjectID] = after
	if after != nil && after.State == problem.StateClosed && (before == nil || before.State != problem.StateClosed) {
		k.solved = append(k.solved, problemFact{at: ev.Time.UTC(), opened: after.OpenedAt, d: dims{group: after.AssignmentGroup}})
	}
	return nil
}

// applySurvey counts a survey when it is recorded (surveys are not
// changed afterwards).
func (k *kpiFacts) applySurvey(ev *itil.Event) error {
	pl, err := pipeline.DecodePayload(ev)
	if err != nil {
		return err
	}
	sv, changed, err := pipeline.Apply[strategy.Survey](nil, pl)
	if err != nil || !changed || sv == nil {
		return err
	}
	k.surveys = append(k.surveys, surveyFact{at: sv.At.UTC(), d: dims{service: sv.EntryID}, score: sv.Score()})
	return nil
}

// periods returns the starts of q's periods and the end of the last.
func (q *KPIQuery) periods() ([]time.Time, error) {
	var v itil.ValidationError
	check.Time(&v, "from", q.From)
	check.Time(&v, "to", q.To)
	if !q.To.After(q.From) {
		v.Add("to", "must be after from")
	}
	loc := time.UTC
	if q.Zone != "" {
		l, err := time.LoadLocation(q.Zone)
		if err != nil {
			v.Add("zone", fmt.Sprintf("%q is not an IANA time zone", q.Zone))
		}
		loc = l
	}
	switch q.Every {
	case Daily, Weekly, Monthly:
	default:
		v.Add("every", "must be day, week or month")
	}
	switch q.By {
	case ByNone, ByService, ByGroup, ByPriority:
	default:
		v.Add("by", "must be empty, service, group or priority")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t := q.From.In(loc)
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	switch q.Every {
	case Weekly:
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
	case Monthly:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	}
	var out []time.Time
	for p := start; p.Before(q.To); {
		out = append(out, p)
		if len(out) > MaxKPIPeriods {
			return nil, itil.Invalid("to", fmt.Sprintf("makes more than %d periods", MaxKPIPeriods))
		}
		switch q.Every {
		case Daily:
			p = p.AddDate(0, 0, 1)
		case Weekly:
			p = p.AddDate(0, 0, 7)
		default:
			p = p.AddDate(0, 1, 0)
		}
	}
	return append(out, out[len(out)-1].AddDate(0, 0, map[Granularity]int{Daily: 1, Weekly: 7}[q.Every])), nil
}

// compute returns the KPIs of q from the facts, by period and key, in
// KPI, period and key order.
func (k *kpiFacts) compute(q *KPIQuery, bounds []time.Time) []KPIPoint {
	if q.Every == Monthly {
		bounds[len(bounds)-1] = bounds[len(bounds)-2].AddDate(0, 1, 0)
	}
	period := func(t time.Time) int { // -1 outside
		i, found := slices.BinarySearchFunc(bounds, t, func(b, t time.Time) int { return b.Compare(t) })
		if !found {
			i--
		}
		if i < 0 || i >= len(bounds)-1 {
			return -1
		}
		return i
	}
	key := func(d dims) string {
		switch q.By {
		case ByService:
			if d.service == itil.NilID {
				return ""
			}
			return d.service.String()
		case ByGroup:
			return d.group
		case ByPriority:
			return d.priority.String()
		}
		return ""
	}
	type cell struct {
		kpi    string
		period int
		key    string
	}
	type acc struct {
		n, hits int
		took    []time.Duration
		sum     decimal.Decimal
	}
	cells := map[cell]*acc{}
	at := func(c cell) *acc {
		a := cells[c]
		if a == nil {
			a = &acc{}
			cells[c] = a
		}
		return a
	}
	for _, r := range k.resolutions {
		p := period(r.at)
		if p < 0 {
			continue
		}
		kk := key(r.d)
		a := at(cell{KPITimeToResolve, p, kk})
		a.n++
		a.took = append(a.took, r.at.Sub(r.took))
		for _, h := range []struct {
			kpi string
			hit bool
		}{{KPIFirstAssignmentResolved, r.firstAssign}, {KPIReopenRate, r.reopened}, {KPIResolvedByProblem, r.byProblem}} {
			a := at(cell{h.kpi, p, kk})
			a.n++
			if h.hit {
				a.hits++
			}
		}
	}
	for _, r := range k.responses {
		if p := period(r.at); p >= 0 {
			a := at(cell{KPITimeToFirstResponse, p, key(r.d)})
			a.n++
			a.took = append(a.took, r.at.Sub(r.took))
		}
	}
	for _, c := range k.closed {
		if p := period(c.at); p >= 0 {
			kk := key(c.d)
			a := at(cell{KPIChangeSuccess, p, kk})
			a.n++
			if !c.failed {
				a.hits++
			}
			a = at(cell{KPIEmergencyChanges, p, kk})
			a.n++
			if c.emergency {
				a.hits++
			}
		}
	}
	for _, pf := range k.solved {
		if p := period(pf.at); p >= 0 {
			a := at(cell{KPITimeToCloseProblem, p, key(pf.d)})
			a.n++
			a.took = append(a.took, pf.at.Sub(pf.opened))
		}
	}
	for _, sv := range k.surveys {
		if p := period(sv.at); p >= 0 {
			a := at(cell{KPICustomerSatisfaction, p, key(sv.d)})
			a.n++
			a.sum = a.sum.Add(sv.score)
		}
	}
	for _, o := range k.open {
		for p := range len(bounds) - 1 {
			end := bounds[p+1]
			if o.from.Before(end) && (o.to.IsZero() || !o.to.Before(end)) {
				at(cell{KPIBacklog, p, key(o.d)}).n++
			}
		}
	}
	out := make([]KPIPoint, 0, len(cells))
	for c, a := range cells {
		pt := KPIPoint{KPI: c.kpi, Period: bounds[c.period], Key: c.key, Count: a.n}
		switch c.kpi {
		case KPITimeToResolve, KPITimeToFirstResponse, KPITimeToCloseProblem:
			slices.Sort(a.took)
			var sum time.Duration
			for _, d := range a.took {
				sum += d
			}
			pt.Mean = sum / time.Duration(len(a.took))
			pt.P50, pt.P90, pt.P95 = nearestRank(a.took, 50), nearestRank(a.took, 90), nearestRank(a.took, 95)
		case KPICustomerSatisfaction:
			pt.Percent = a.sum.DivRound(decimal.NewFromInt(int64(a.n)), 2)
		case KPIFirstAssignmentResolved, KPIReopenRate, KPIResolvedByProblem, KPIChangeSuccess, KPIEmergencyChanges:
			pt.Hits = a.hits
			pt.Percent = decimal.NewFromInt(int64(a.hits)).Mul(decimal.NewFromInt(100)).DivRound(decimal.NewFromInt(int64(a.n)), 2)
		}
		out = append(out, pt)
	}
	slices.SortFunc(out, func(a, b KPIPoint) int {
		return cmp.Or(cmp.Compare(a.KPI, b.KPI), a.Period.Compare(b.Period), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// nearestRank is the p-th percentile of sorted xs by the nearest-rank
// method: the smallest value at least p percent of the values are at or
// below.
func nearestRank(xs []time.Duration, p int) time.Duration {
	i := (p*len(xs) + 99) / 100
	return xs[max(i, 1)-1]
}

// kpiKinds are the journal kinds the KPI facts read.
var kpiKinds = []string{incident.Kind, change.Kind, problem.Kind, strategy.KindSurvey}

// facts returns the Service's KPI facts, built from the journal on first
// use and caught up with it as tx sees it.
func (s *Service) facts(ctx context.Context, tx storage.Tx) (*kpiFacts, error) {
	return s.cfg.kpi.Get(ctx, tx, func(head int64) (*kpiFacts, error) {
		k := newKPIFacts()
		return k, k.readSince(ctx, tx, 0)
	}, func(k *kpiFacts, head int64) error {
		if head <= k.posNow() {
			return nil
		}
		return k.readSince(ctx, tx, k.posNow())
	})
}

func (k *kpiFacts) posNow() int64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.pos
}

// readSince applies the events after from, as tx sees them.
func (k *kpiFacts) readSince(ctx context.Context, tx storage.Tx, from int64) error {
	var evs []itil.Event
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: from, Kinds: kpiKinds}) {
		if err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := range evs {
		if evs[i].Seq > k.pos {
			if err := k.apply(&evs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// KPIs computes the KPIs of q from the journal's events (see the KPI
// constants), per period and, with By, per service, group or priority.
// A bad query gives a *itil.ValidationError naming the field.
func (s *Service) KPIs(ctx context.Context, q KPIQuery) ([]KPIPoint, error) {
	bounds, err := q.periods()
	if err != nil {
		return nil, err
	}
	var out []KPIPoint
	err = s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		k, err := s.facts(ctx, tx)
		if err != nil {
			return err
		}
		k.mu.RLock()
		defer k.mu.RUnlock()
		out = k.compute(&q, bounds)
		return nil
	})
	return out, err
}
