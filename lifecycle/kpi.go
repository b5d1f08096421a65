package lifecycle

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/internal/stats"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// KPIs are computed from the journal's events, never from the records as
// they stand: an incident's time to resolve is the time from its opening
// event to its resolution event, and editing the incident later does not
// change the month it was resolved in. "MTTR" is ambiguous (repair,
// recovery, respond, resolve), so every KPI is named for what it
// measures.

// The KPIs, by name. Each is counted in the period of the event that
// decides it, and stays there: later edits do not move it.
const (
	// KPITimeToResolve: each resolution, from the incident's opening to
	// the event that resolved it (an incident reopened and resolved again
	// counts again, from its opening); Mean and percentiles.
	KPITimeToResolve = "time_to_resolve"
	// KPITimeToFirstResponse: each incident's first response (the first
	// visible action of someone other than its caller), from its
	// opening, counted when it happened.
	KPITimeToFirstResponse = "time_to_first_response"
	// KPIFirstAssignmentResolved: the share of resolutions of incidents
	// never reassigned.
	KPIFirstAssignmentResolved = "first_assignment_resolution"
	// KPIReopenRate: the share of resolutions that follow a reopening,
	// counted when the incident is resolved again.
	KPIReopenRate = "reopen_rate"
	// KPIResolvedByProblem: the share of resolutions through a problem
	// or a known error.
	KPIResolvedByProblem = "resolved_by_problem"
	// KPIBacklog: the incidents open (new, in progress or on hold) at
	// the period's end, where they stood then (service, group,
	// priority); a period not yet ended counts those open now.
	KPIBacklog = "backlog"
	// KPIChangeSuccess: the share of changes closed in the period that
	// closed successful (changes count by group only).
	KPIChangeSuccess = "change_success_rate"
	// KPIEmergencyChanges: the share of changes closed in the period that
	// were emergency changes.
	KPIEmergencyChanges = "emergency_change_share"
	// KPITimeToCloseProblem: each problem closed, from its opening.
	KPITimeToCloseProblem = "time_to_close_problem"
	// KPICustomerSatisfaction: the mean score (0 to 100) of the
	// satisfaction surveys taken in the period.
	KPICustomerSatisfaction = "customer_satisfaction"
	// KPISLACompliance: the share of SLA timer cycles (of type SLA, not
	// OLA or underpinning contract) met, each counted when decided: met
	// when it completed in time, breached when its goal was used up,
	// completed or not (a cycle canceled in time counts neither way, as
	// slm.Compliance has it).
	KPISLACompliance = "sla_compliance"
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

// KPIQuery asks for KPIs per period of Every (a calendar day, a week
// from Monday, a calendar month, read in the zone Zone; default UTC),
// broken down By a dimension. The periods are whole: the first is the
// one that holds From, the last the one that holds the instant before
// To, each counted in full.
type KPIQuery struct {
	From, To time.Time
	Every    Granularity
	Zone     string
	By       Dimension
}

// MaxKPIPeriods bounds the periods of one query.
const MaxKPIPeriods = 1000

// KPIPoint is one KPI over one period (and dimension value, Key: the
// service, the group, or the priority as "P1"; "" without a breakdown).
// A service is its business service CI's ID: an incident's service, or
// its CI when it names none; a survey's portfolio entry's ServiceCIID,
// or the entry's own ID when it names no CI.
type KPIPoint struct {
	KPI    string    `json:"kpi"`
	Period time.Time `json:"period"` // its start, in the query's zone
	Key    string    `json:"key,omitempty"`
	// Count is how many things the KPI counted: resolutions, first
	// responses, or incidents open at the period's end (backlog).
	Count int `json:"count"`
	// Mean and the percentiles, for the time KPIs (zero for the others,
	// and left out of JSON when zero).
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
	CIID              itil.ID        `json:"ci_id"`
	ReassignmentCount int            `json:"reassignment_count"`
	ReopenCount       int            `json:"reopen_count"`
	ResolutionCode    string         `json:"resolution_code"`
	OpenedAt          time.Time      `json:"opened_at"`
	FirstRespondedAt  time.Time      `json:"first_responded_at"`

	openIx             int   // index in kpiFacts.open of its open interval, while open
	service, ci, group int32 // ServiceID, CIID (once it counts under it) and AssignmentGroup interned
}

func (v *incidentView) open() bool {
	return v.State == incident.StateNew || v.State == incident.StateInProgress || v.State == incident.StateOnHold
}

// dims is where a fact counts: the service and group interned (kpiFacts'
// services and groups; 0 for none) and the priority.
type dims struct {
	service, group int32
	priority       int8
}

// dimsOf interns a fact's service and group.
func (k *kpiFacts) dimsOf(service itil.ID, group string, p itil.Priority) dims {
	return dims{service: k.internService(service), group: k.internGroup(group), priority: priorityDim(p)}
}

// priorityDim is a priority as a key: P1 to P5, or 0 (none) for a fact
// without one, or with one no process sets.
func priorityDim(p itil.Priority) int8 {
	if p < itil.P1 || p > itil.P5 {
		return 0
	}
	return int8(p)
}

// internService and internGroup return the index of a service or group
// in the facts' services or groups, adding it when new (0: none).
func (k *kpiFacts) internService(service itil.ID) int32 {
	if service == itil.NilID {
		return 0
	}
	i, ok := k.serviceIx[service]
	if !ok {
		i = int32(len(k.services))
		k.services, k.serviceIx[service] = append(k.services, service), i
	}
	return i
}

func (k *kpiFacts) internGroup(group string) int32 {
	if group == "" {
		return 0
	}
	i, ok := k.groupIx[group]
	if !ok {
		i = int32(len(k.groups))
		k.groups, k.groupIx[group] = append(k.groups, group), i
	}
	return i
}

// incidentDims: an incident counts under its service, or, when it names
// none, under its CI (a business service's CI is the service). The fold
// interned the service and group as it read them; the CI is interned
// only when the incident counts under it, so that the CIs of incidents
// that name their service do not widen every breakdown by service.
func (k *kpiFacts) incidentDims(v *incidentView) dims {
	service := v.service
	if service == 0 && v.CIID != itil.NilID {
		if v.ci == 0 {
			v.ci = k.internService(v.CIID)
		}
		service = v.ci
	}
	return dims{service: service, group: v.group, priority: priorityDim(v.Priority)}
}

// A fact is one thing that happened, as the KPIs count it. Times are
// Unix nanoseconds; took is how long the thing took, in nanoseconds.
type (
	resolutionFact struct {
		at, took    int64
		d           dims
		firstAssign bool // resolved with no reassignment
		reopened    bool // resolved before, and reopened
		byProblem   bool // resolved through its problem
	}
	responseFact struct {
		at, took int64
		d        dims
	}
	// changeFact is a change closed at at.
	changeFact struct {
		at        int64
		d         dims
		emergency bool
		failed    bool
	}
	// problemFact is a problem closed at at, took after its opening.
	problemFact struct {
		at, took int64
		d        dims
	}
	// surveyFact is a satisfaction survey taken at at, on the service
	// d.service (its entry's CI), with its score (0 to 100).
	surveyFact struct {
		at    int64
		d     dims
		score decimal.Decimal
	}
	// slaFact is an SLA timer cycle decided at at: met when it completed
	// in time (at: its stop), breached when its goal was used up (at: that
	// instant), on a subject where d says (an incident's dims).
	slaFact struct {
		at  int64
		d   dims
		met bool
	}
	// openFact is an incident open over [from, to) (to: stillOpen).
	openFact struct {
		from, to int64
		d        dims
	}
)

// stillOpen is the end of an interval not ended.
const stillOpen = math.MaxInt64

// facts is an append-only list kept in chunks, so that appending never
// copies what it holds: the backlog's intervals grow by one on every
// reassignment, and growing them as one slice (copying it whole, into
// fresh memory) was half of what folding an assignment cost
// (BenchmarkKPIApply).
type facts[T any] struct {
	chunks [][]T
	n      int
}

const factsChunk = 4096

// add appends x and returns its index.
func (l *facts[T]) add(x T) int {
	if l.n%factsChunk == 0 {
		l.chunks = append(l.chunks, make([]T, 0, factsChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, x)
	l.n++
	return l.n - 1
}

// at returns the fact at index i.
func (l *facts[T]) at(i int) *T { return &l.chunks[i/factsChunk][i%factsChunk] }

// len returns how many facts l holds.
func (l *facts[T]) len() int { return l.n }

// all yields each fact in order.
func (l *facts[T]) all() iter.Seq[*T] {
	return func(yield func(*T) bool) {
		for _, c := range l.chunks {
			for i := range c {
				if !yield(&c[i]) {
					return
				}
			}
		}
	}
}

// kpiFacts is the KPI read model: the facts the journal's events make,
// in the order they came. It is folded event by event, so keeping it
// current and building it again from the whole journal give the same
// facts.
type kpiFacts struct {
	mu          sync.RWMutex // held to apply events, read to compute
	pos         int64        // the last event applied
	incidents   map[itil.ID]*incidentView
	resolutions []resolutionFact
	responses   []responseFact
	open        facts[openFact]
	changes     map[itil.ID]*changeView
	closed      []changeFact
	problems    map[itil.ID]*problemView
	solved      []problemFact
	surveys     []surveyFact
	entryCI     map[itil.ID]itil.ID // a portfolio entry's business service CI
	unread      int                 // events passed over since KPIs last reported them
	unreadErrs  []error             // the first maxUnreadListed of them
	sla         *slm.TimerFold      // nil without an SLA engine
	timers      []slaFact
	services    []itil.ID // interned; services[0] is none
	serviceIx   map[itil.ID]int32
	groups      []string // interned; groups[0] is none
	groupIx     map[string]int32
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
		ServiceID       itil.ID       `json:"service_id"`
		CIIDs           []itil.ID     `json:"ci_ids"`
		Priority        itil.Priority `json:"priority"`
		OpenedAt        time.Time     `json:"opened_at"`
	}
)

func newKPIFacts(eng *slm.Engine) *kpiFacts {
	k := &kpiFacts{incidents: map[itil.ID]*incidentView{}, changes: map[itil.ID]*changeView{},
		problems: map[itil.ID]*problemView{}, entryCI: map[itil.ID]itil.ID{}, services: []itil.ID{itil.NilID}, serviceIx: map[itil.ID]int32{},
		groups: []string{""}, groupIx: map[string]int32{}}
	if eng != nil {
		k.sla = eng.NewTimerFold()
	}
	return k
}

// apply folds one journal event into the facts. Events of other kinds
// are skipped. An event the facts cannot read (its payload is not what
// its kind writes) is passed over and kept in unread, so that one bad
// event written by other code does not stop the KPIs; an error reading
// the store is returned, and the next catch-up tries the event again.
func (k *kpiFacts) apply(ctx context.Context, tx storage.Tx, ev *itil.Event) error {
	if err := k.applyEvent(ctx, tx, ev); err != nil {
		if !errors.Is(err, errUnreadable) {
			return err
		}
		if k.unread++; len(k.unreadErrs) < maxUnreadListed {
			k.unreadErrs = append(k.unreadErrs, err)
		}
	}
	k.pos = max(k.pos, ev.Seq)
	return nil
}

// errUnreadable marks an event the facts cannot read.
var errUnreadable = errors.New("an event the KPIs cannot read")

// maxUnreadListed bounds the unreadable events KPIs lists.
const maxUnreadListed = 10

func (k *kpiFacts) applyEvent(ctx context.Context, tx storage.Tx, ev *itil.Event) error {
	if len(ev.Payload) == 0 {
		return nil
	}
	// Every fold but the SLA timers' reads the event alone: its errors
	// are the event's.
	unreadable := func(err error) error {
		if err != nil {
			return fmt.Errorf("journal event %d (%s): %w: %w", ev.Seq, ev.Type, errUnreadable, err)
		}
		return nil
	}
	switch ev.Kind {
	case change.Kind:
		return unreadable(k.applyChange(ev))
	case problem.Kind:
		return unreadable(k.applyProblem(ev))
	case strategy.Kind:
		return unreadable(k.applyEntry(ev))
	case strategy.KindSurvey:
		return unreadable(k.applySurvey(ev))
	case slm.KindSubject:
		if k.sla == nil {
			return nil
		}
		// The timers read their definitions from the store: only a
		// payload that is no JSON of its type, or a definition the store
		// does not hold, is the event's fault.
		err := k.sla.Apply(ctx, tx, ev, func(t *slm.Timer) {
			if t.Type != slm.SLA {
				return // OLAs and contracts are not the customer's
			}
			var d dims
			if v := k.incidents[t.SubjectID]; v != nil {
				d = k.incidentDims(v)
			}
			// A cycle counts when it is decided: met when it completes,
			// breached when its goal is used up (completed or not), at
			// the instant it was.
			_, met := slm.Decided(t)
			at := t.StoppedAt
			if !met {
				at = t.BreachAt
				for _, f := range t.Fired {
					if f.Percent == 100 && (at.IsZero() || f.ReachedAt.Before(at)) {
						at = f.ReachedAt
					}
				}
			}
			k.timers = append(k.timers, slaFact{at: at.UnixNano(), d: d, met: met})
		})
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, itil.ErrNotFound) {
			return unreadable(err)
		}
		return err
	case incident.Kind:
	default:
		return nil
	}
	before := k.incidents[ev.SubjectID]
	// The fold changes the view in place: what the facts compare is read
	// before it.
	var was incidentView
	if before != nil {
		was = *before
	}
	after, changed, err := k.foldIncident(before, ev.Payload)
	if err != nil {
		return unreadable(err)
	}
	if !changed {
		return nil
	}
	if after == nil {
		delete(k.incidents, ev.SubjectID)
		return nil
	}
	if after != before {
		k.incidents[ev.SubjectID] = after
	}
	at := ev.Time.UnixNano()
	opened := after.OpenedAt.UnixNano()
	wasOpen := before != nil && was.open()
	if !after.FirstRespondedAt.IsZero() && (before == nil || was.FirstRespondedAt.IsZero()) {
		resp := after.FirstRespondedAt.UnixNano()
		k.responses = append(k.responses, responseFact{at: resp, took: resp - opened, d: k.incidentDims(after)})
	}
	if after.State == incident.StateResolved && (before == nil || was.State != incident.StateResolved) {
		k.resolutions = append(k.resolutions, resolutionFact{at: at, took: at - opened, d: k.incidentDims(after),
			firstAssign: after.ReassignmentCount == 0, reopened: after.ReopenCount > 0,
			byProblem: after.ResolutionCode == problem.ResolvedByProblem || after.ResolutionCode == incident.KnownErrorCode})
	}
	switch {
	case !wasOpen && after.open():
		from := at
		if before == nil {
			from = opened
		}
		after.openIx = k.open.add(openFact{from: from, to: stillOpen, d: k.incidentDims(after)})
	case wasOpen && !after.open():
		k.open.at(was.openIx).to = at
	case wasOpen:
		after.openIx = was.openIx
		// The backlog counts an incident where it stood at each period's
		// end: a move to another service, group or priority ends one
		// interval and starts another.
		if o := k.open.at(was.openIx); k.incidentDims(after) != o.d {
			o.to = at
			after.openIx = k.open.add(openFact{from: at, to: stillOpen, d: k.incidentDims(after)})
		}
	}
	return nil
}

// applyChange counts a change when it reaches Closed.
func (k *kpiFacts) applyChange(ev *itil.Event) error {
	before := k.changes[ev.SubjectID]
	after, changed, err := pipeline.ApplyEvent(before, ev)
	if err != nil || !changed {
		return err
	}
	k.changes[ev.SubjectID] = after
	if after != nil && after.State == change.StateClosed && (before == nil || before.State != change.StateClosed) {
		k.closed = append(k.closed, changeFact{at: ev.Time.UnixNano(), d: k.dimsOf(itil.NilID, after.AssignmentGroup, 0),
			emergency: after.Model == change.ModelEmergency, failed: after.CloseCode == change.Unsuccessful})
	}
	return nil
}

// applyProblem counts a problem when it reaches Closed.
func (k *kpiFacts) applyProblem(ev *itil.Event) error {
	before := k.problems[ev.SubjectID]
	after, changed, err := pipeline.ApplyEvent(before, ev)
	if err != nil || !changed {
		return err
	}
	k.problems[ev.SubjectID] = after
	if after != nil && after.State == problem.StateClosed && (before == nil || before.State != problem.StateClosed) {
		at := ev.Time.UnixNano()
		// A problem counts under its service, or, naming none, under its
		// first CI, as an incident does.
		service := after.ServiceID
		if service == itil.NilID && len(after.CIIDs) > 0 {
			service = after.CIIDs[0]
		}
		k.solved = append(k.solved, problemFact{at: at, took: at - after.OpenedAt.UnixNano(), d: k.dimsOf(service, after.AssignmentGroup, after.Priority)})
	}
	return nil
}

// applySurvey counts a survey when it is recorded (surveys are not
// changed afterwards).
func (k *kpiFacts) applySurvey(ev *itil.Event) error {
	sv, changed, err := pipeline.ApplyEvent[strategy.Survey](nil, ev)
	if err != nil || !changed || sv == nil {
		return err
	}
	service := sv.EntryID
	if ci := k.entryCI[sv.EntryID]; ci != itil.NilID {
		service = ci
	}
	k.surveys = append(k.surveys, surveyFact{at: sv.At.UnixNano(), d: k.dimsOf(service, "", 0), score: sv.Score()})
	return nil
}

// applyEntry keeps the business service CI each portfolio entry names,
// so that its surveys count under the same service as its incidents.
func (k *kpiFacts) applyEntry(ev *itil.Event) error {
	type entryView struct {
		ServiceCIID itil.ID `json:"service_ci_id"`
	}
	after, changed, err := pipeline.ApplyEvent(&entryView{ServiceCIID: k.entryCI[ev.SubjectID]}, ev)
	switch {
	case err != nil || !changed:
		return err
	case after == nil || after.ServiceCIID == itil.NilID:
		delete(k.entryCI, ev.SubjectID)
	default:
		k.entryCI[ev.SubjectID] = after.ServiceCIID
	}
	return nil
}

// periods returns the starts of q's periods and the end of the last:
// the bounds compute takes.
func (q *KPIQuery) periods() ([]time.Time, error) {
	var v itil.ValidationError
	check.Time(&v, "from", q.From)
	check.Time(&v, "to", q.To)
	if !q.To.After(q.From) {
		v.Add("to", "must be after from")
	}
	for _, t := range []struct {
		field string
		t     time.Time
	}{{"from", q.From}, {"to", q.To}} {
		if !nanosOK(t.t) {
			v.Add(t.field, "must lie within the years 1900 to 2200")
		}
	}
	loc := check.Zone(&v, "zone", q.Zone, false)
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
	start := dayStart(t.Year(), t.Month(), t.Day(), loc)
	switch q.Every {
	case Weekly:
		start = dayStart(t.Year(), t.Month(), t.Day()-(int(t.Weekday())+6)%7, loc)
	case Monthly:
		start = dayStart(t.Year(), t.Month(), 1, loc)
	}
	// Each boundary from the calendar date, not from the one before: a
	// midnight a zone skips is normalised, and must not shift the rest.
	y, m, d := start.Date()
	at := func(i int) time.Time {
		switch q.Every {
		case Daily:
			return dayStart(y, m, d+i, loc)
		case Weekly:
			return dayStart(y, m, d+7*i, loc)
		}
		return dayStart(y, m+time.Month(i), 1, loc)
	}
	// A day a zone skipped whole (Apia's 30 December 2011) starts where
	// the next does: it is no period.
	out := []time.Time{start}
	i := 1
	for ; at(i).Before(q.To); i++ {
		if b := at(i); b.After(out[len(out)-1]) {
			if out = append(out, b); len(out) > MaxKPIPeriods {
				return nil, itil.Invalid("to", fmt.Sprintf("makes more than %d periods", MaxKPIPeriods))
			}
		}
	}
	for ; !at(i).After(out[len(out)-1]); i++ {
	}
	return append(out, at(i)), nil
}

// compute returns the KPIs of q from the facts, by period and key, in
// KPI, period and key order. Every KPI's counters sit in one flat array
// per KPI, indexed by period and key; the durations the percentiles need
// are placed by cell in one array (a count, then a placement), each
// cell's sorted.
func (k *kpiFacts) compute(q *KPIQuery, bounds []time.Time) []KPIPoint {
	b := make([]int64, len(bounds))
	for i, t := range bounds {
		b[i] = t.UnixNano()
	}
	np := len(b) - 1
	period := func(t int64) int { // -1 outside
		i, found := slices.BinarySearch(b, t)
		if !found {
			i--
		}
		if i < 0 || i >= np {
			return -1
		}
		return i
	}
	var nk int
	var keyOf func(d dims) int
	var name func(i int) string
	nk = k.keys(q.By)
	switch q.By {
	case ByService:
		keyOf = func(d dims) int { return int(d.service) }
		name = func(i int) string {
			if i == 0 {
				return ""
			}
			return k.services[i].String()
		}
	case ByGroup:
		keyOf, name = func(d dims) int { return int(d.group) }, func(i int) string { return k.groups[i] }
	case ByPriority:
		keyOf, name = func(d dims) int { return int(d.priority) }, func(i int) string {
			if i == 0 {
				return "" // none: a fact without a priority (a change)
			}
			return "P" + strconv.Itoa(i)
		}
	default:
		keyOf, name = func(dims) int { return 0 }, func(int) string { return "" }
	}
	cell := func(p int, d dims) int { return p*nk + keyOf(d) }
	cells := np * nk
	type counts struct{ n, hits []int32 }
	newCounts := func() counts { return counts{make([]int32, cells), make([]int32, cells)} }
	var out []KPIPoint
	emit := func(kpi string, c counts, fill func(i int, pt *KPIPoint)) {
		for i, n := range c.n {
			if n == 0 {
				continue
			}
			pt := KPIPoint{KPI: kpi, Period: bounds[i/nk], Key: name(i % nk), Count: int(n), Hits: int(c.hits[i])}
			fill(i, &pt)
			out = append(out, pt)
		}
	}
	ratio := func(i int, pt *KPIPoint) {
		pt.Percent = decimal.NewFromInt(int64(pt.Hits)).Mul(decimal.NewFromInt(100)).DivRound(decimal.NewFromInt(int64(pt.Count)), 2)
	}
	// durations runs a time KPI: counts, then the durations by cell. It
	// returns each fact's cell (-1: outside the periods).
	durations := func(kpi string, n int, at func(int) (int64, int64, dims)) []int32 {
		c := newCounts()
		pos := make([]int32, n)
		for i := range n {
			t, _, d := at(i)
			if p := period(t); p >= 0 {
				pos[i] = int32(cell(p, d))
				c.n[pos[i]]++
			} else {
				pos[i] = -1
			}
		}
		off := make([]int32, cells+1)
		for i, x := range c.n {
			off[i+1] = off[i] + x
		}
		took := make([]int64, off[cells])
		next := slices.Clone(off[:cells])
		for i := range n {
			if ci := pos[i]; ci >= 0 {
				_, d, _ := at(i)
				took[next[ci]] = d
				next[ci]++
			}
		}
		emit(kpi, c, func(i int, pt *KPIPoint) {
			xs := took[off[i]:off[i+1]]
			pt.Hits = 0
			pt.Mean = time.Duration(stats.Mean(xs))
			p50, p90, p95 := stats.Percentiles(xs)
			pt.P50, pt.P90, pt.P95 = time.Duration(p50), time.Duration(p90), time.Duration(p95)
		})
		return pos
	}
	resolved := durations(KPITimeToResolve, len(k.resolutions), func(i int) (int64, int64, dims) {
		r := &k.resolutions[i]
		return r.at, r.took, r.d
	})
	durations(KPITimeToFirstResponse, len(k.responses), func(i int) (int64, int64, dims) {
		r := &k.responses[i]
		return r.at, r.took, r.d
	})
	durations(KPITimeToCloseProblem, len(k.solved), func(i int) (int64, int64, dims) {
		r := &k.solved[i]
		return r.at, r.took, r.d
	})
	far, reopen, byProblem := newCounts(), newCounts(), newCounts()
	for i := range k.resolutions {
		r := &k.resolutions[i]
		ci := resolved[i] // the resolution's cell, as time to resolve placed it
		if ci < 0 {
			continue
		}
		far.n[ci]++
		reopen.n[ci]++
		byProblem.n[ci]++
		if r.firstAssign {
			far.hits[ci]++
		}
		if r.reopened {
			reopen.hits[ci]++
		}
		if r.byProblem {
			byProblem.hits[ci]++
		}
	}
	emit(KPIFirstAssignmentResolved, far, ratio)
	emit(KPIReopenRate, reopen, ratio)
	emit(KPIResolvedByProblem, byProblem, ratio)
	success, emergency := newCounts(), newCounts()
	for i := range k.closed {
		c := &k.closed[i]
		if p := period(c.at); p >= 0 {
			ci := cell(p, c.d)
			success.n[ci]++
			emergency.n[ci]++
			if !c.failed {
				success.hits[ci]++
			}
			if c.emergency {
				emergency.hits[ci]++
			}
		}
	}
	emit(KPIChangeSuccess, success, ratio)
	sla := newCounts()
	for i := range k.timers {
		f := &k.timers[i]
		if p := period(f.at); p >= 0 {
			ci := cell(p, f.d)
			sla.n[ci]++
			if f.met {
				sla.hits[ci]++
			}
		}
	}
	emit(KPISLACompliance, sla, ratio)
	emit(KPIEmergencyChanges, emergency, ratio)
	csat := newCounts()
	sums := make([]decimal.Decimal, cells)
	for i := range k.surveys {
		sv := &k.surveys[i]
		if p := period(sv.at); p >= 0 {
			ci := cell(p, sv.d)
			csat.n[ci]++
			sums[ci] = sums[ci].Add(sv.score)
		}
	}
	emit(KPICustomerSatisfaction, csat, func(i int, pt *KPIPoint) {
		pt.Percent = sums[i].DivRound(decimal.NewFromInt(int64(pt.Count)), 2)
	})
	// The backlog: an interval open at the end of the periods whose end
	// is after its start and not after its end, counted by a difference
	// array over the periods.
	diff := make([]int32, (np+1)*nk)
	for o := range k.open.all() {
		first, _ := slices.BinarySearch(b[1:], o.from+1) // the first period ending after from
		last := np
		if o.to != stillOpen {
			last, _ = slices.BinarySearch(b[1:], o.to+1) // the first ending after to
		}
		if first < last {
			kk := keyOf(o.d)
			diff[first*nk+kk]++
			diff[last*nk+kk]--
		}
	}
	backlog := newCounts()
	for kk := range nk {
		run := int32(0)
		for p := range np {
			run += diff[p*nk+kk]
			backlog.n[p*nk+kk] = run
		}
	}
	emit(KPIBacklog, backlog, func(int, *KPIPoint) {})
	slices.SortFunc(out, func(a, b KPIPoint) int {
		return cmp.Or(cmp.Compare(a.KPI, b.KPI), a.Period.Compare(b.Period), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// dayStart is the first instant of the calendar day y-m-d in loc: its
// midnight; where the zone skips midnight, the first instant after; where
// midnight comes twice (clocks set back from one to midnight), the
// first.
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	noon := time.Date(y, m, d, 12, 0, 0, 0, loc) // normalises the date
	t := time.Date(noon.Year(), noon.Month(), noon.Day(), 0, 0, 0, 0, loc)
	for t.Day() != noon.Day() {
		t = t.Add(15 * time.Minute)
	}
	for {
		p := t.Add(-15 * time.Minute)
		if p.Day() != noon.Day() {
			return t
		}
		t = p
	}
}

// nanosOK reports whether t is within what the facts' Unix nanoseconds
// hold, with a margin: the years 1900 to 2200.
func nanosOK(t time.Time) bool { return t.Year() >= 1900 && t.Year() <= 2200 }

// kpiKinds are the journal kinds the KPI facts read.
var kpiKinds = []string{incident.Kind, change.Kind, problem.Kind, strategy.Kind, strategy.KindSurvey, slm.KindSubject}

// facts returns the Service's KPI facts, built from the journal on first
// use and caught up with it as tx sees it.
func (s *Service) facts(ctx context.Context, tx storage.Tx) (*kpiFacts, error) {
	return s.cfg.kpi.Get(ctx, tx, func(head int64) (*kpiFacts, error) {
		k := newKPIFacts(s.cfg.slm)
		return k, k.readSince(ctx, tx, 0, head)
	}, func(k *kpiFacts, head int64) error {
		if head <= k.posNow() {
			return nil
		}
		return k.readSince(ctx, tx, k.posNow(), head)
	})
}

func (k *kpiFacts) posNow() int64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.pos
}

// readSince applies the events after from, as tx sees them, and moves
// the position to head (the journal's head tx saw) at least, past the
// events of other kinds too, so that they are not read again (as the
// CMDB's index and the change schedule do). A catch-up reads the events
// first and applies them under the lock, so that queries wait only for
// the folding; the first build, which no one else sees yet, applies them
// as it reads them.
func (k *kpiFacts) readSince(ctx context.Context, tx storage.Tx, from, head int64) error {
	building := from == 0 // (or a catch-up of facts built on an empty journal: the lock held longer)
	var evs []itil.Event
	if building {
		k.mu.Lock()
		defer k.mu.Unlock()
	}
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: from, Kinds: kpiKinds}) {
		if err != nil {
			return err
		}
		switch {
		case !building:
			evs = append(evs, ev)
		case ev.Seq > k.pos:
			if err := k.apply(ctx, tx, &ev); err != nil {
				return err
			}
		}
	}
	if !building {
		k.mu.Lock()
		defer k.mu.Unlock()
	}
	for i := range evs {
		if evs[i].Seq > k.pos {
			if err := k.apply(ctx, tx, &evs[i]); err != nil {
				return err
			}
		}
	}
	k.pos = max(k.pos, head)
	return nil
}

// takeUnread returns the events passed over since the last call, as one
// error (nil: none).
func (k *kpiFacts) takeUnread() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.unread == 0 {
		return nil
	}
	listed := ""
	if k.unread > len(k.unreadErrs) {
		listed = fmt.Sprintf(" (the first %d listed)", len(k.unreadErrs))
	}
	err := fmt.Errorf("lifecycle: the KPIs passed over %d journal events they cannot read%s: %w", k.unread, listed, errors.Join(k.unreadErrs...))
	k.unread, k.unreadErrs = 0, nil
	return err
}

// KPIs computes the KPIs of q from the journal's events (see the KPI
// constants), per period and, with By, per service, group or priority.
// A bad query gives a *itil.ValidationError naming the field. Events the
// KPIs cannot read (a payload other code wrote that is not what its kind
// writes) are passed over: the first call after returns the points,
// which count everything else, together with an error listing them.
func (s *Service) KPIs(ctx context.Context, q KPIQuery) ([]KPIPoint, error) {
	bounds, err := q.periods()
	if err != nil {
		return nil, err
	}
	var out []KPIPoint
	var facts *kpiFacts
	err = s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		k, err := s.facts(ctx, tx)
		if err != nil {
			return err
		}
		facts = k
		k.mu.RLock()
		defer k.mu.RUnlock()
		if err := k.checkSize(&q, bounds); err != nil {
			return err
		}
		out = k.compute(&q, bounds)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, facts.takeUnread()
}

// MaxKPICells bounds the periods times the keys (services, groups or
// priorities) of one KPI query: what its counters take in memory.
const MaxKPICells = 500_000

// checkSize refuses a query whose periods times keys pass MaxKPICells.
func (k *kpiFacts) checkSize(q *KPIQuery, bounds []time.Time) error {
	if cells := (len(bounds) - 1) * k.keys(q.By); cells > MaxKPICells {
		return itil.Invalid("by", fmt.Sprintf("breaks %d periods into %d cells, more than %d: query fewer periods",
			len(bounds)-1, cells, MaxKPICells))
	}
	return nil
}

// keys is the number of keys a breakdown by has.
func (k *kpiFacts) keys(by Dimension) int {
	switch by {
	case ByService:
		return len(k.services)
	case ByGroup:
		return len(k.groups)
	case ByPriority:
		return int(itil.P5) + 1
	}
	return 1
}
