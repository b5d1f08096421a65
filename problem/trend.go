package problem

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
)

// Trend detection finds recurring incidents before anyone files a problem:
// a TrendRule such as "at least 5 incidents on one CI within 24 hours"
// groups incidents by a key (CI, service, category, or a combination) and
// counts, per value of that key, the incidents opened inside a sliding
// window.
//
// Semantics, shared by the incremental TrendDetector and the batch
// functions DetectTrends and ReplayTrends:
//
//   - A window of length w "as of" an instant T is the half-open interval
//     (T-w, T]: an incident opened exactly w before T has left it, one
//     opened at T is in it. This is what a practitioner's query "opened in
//     the last 24 hours" returns when run at T.
//   - An incident counts once for each rule and each key value it has: a
//     rule keyed by CI counts it under each of its distinct CIs; a rule
//     keyed by service and category under its one (service, category)
//     pair. An incident that lacks a field of the rule's key (no CI, no
//     service, no category) does not count for that rule.
//   - An incident is identified by its ID and opening time: the same pair
//     observed again (a redelivered event, a CI listed twice) counts once.
//   - Facts are those at opening; later edits of an incident's CI,
//     service or category do not move it to another key.
//
// Out-of-order arrivals: the detector's clock is its watermark, the latest
// OpenedAt it has observed. Candidates are exact for any arrival order as
// of any instant no earlier than the watermark less the detector's
// lateness allowance: incidents that arrive later than that cannot be in
// such a window and are dropped.

// TrendBy is the set of incident fields a rule groups by: a bit set of
// TrendByCI, TrendByService and TrendByCategory.
type TrendBy uint8

// The fields a trend rule can group incidents by.
const (
	TrendByCI TrendBy = 1 << iota
	TrendByService
	TrendByCategory

	trendByAll = TrendByCI | TrendByService | TrendByCategory
)

// String names the fields joined by "+", such as "service+category".
func (b TrendBy) String() string {
	var parts []string
	if b&TrendByCI != 0 {
		parts = append(parts, "ci")
	}
	if b&TrendByService != 0 {
		parts = append(parts, "service")
	}
	if b&TrendByCategory != 0 {
		parts = append(parts, "category")
	}
	if rest := b &^ trendByAll; rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "+")
}

// MaxTrendWindow bounds a rule's window and a detector's lateness
// allowance: 366 days.
const MaxTrendWindow = 366 * 24 * time.Hour

// TrendRule says when incidents that share a key make a trend: at least
// Threshold of them opened inside a window of length Window.
type TrendRule struct {
	// Name identifies the rule among a detector's rules; a required short
	// text (check.Short characters).
	Name string `json:"name"`
	// By is the key: the fields that incidents must share. It must name
	// at least one field.
	By TrendBy `json:"by"`
	// Threshold is the least number of incidents that makes a trend; at
	// least 1.
	Threshold int `json:"threshold"`
	// Window is the length of the sliding window; more than zero and at
	// most MaxTrendWindow.
	Window time.Duration `json:"window"`
}

// Validate returns a *itil.ValidationError naming every bad field of r
// ("name", "by", "threshold", "window"), or nil.
func (r TrendRule) Validate() error {
	var v itil.ValidationError
	r.validate(&v, "")
	return v.Err()
}

func (r TrendRule) validate(v *itil.ValidationError, prefix string) {
	check.Text(v, prefix+"name", r.Name, true, check.Short)
	switch {
	case r.By == 0:
		v.Add(prefix+"by", "must name at least one of ci, service and category")
	case r.By&^trendByAll != 0:
		v.Add(prefix+"by", fmt.Sprintf("names unknown fields (%s)", r.By))
	}
	if r.Threshold < 1 {
		v.Add(prefix+"threshold", "must be at least 1")
	}
	switch {
	case r.Window <= 0:
		v.Add(prefix+"window", "must be more than zero")
	case r.Window > MaxTrendWindow:
		v.Add(prefix+"window", fmt.Sprintf("must be at most %s", MaxTrendWindow))
	}
}

// validateTrendRules checks every rule and that names are unique, naming
// fields "rules[i].name" and so on.
func validateTrendRules(v *itil.ValidationError, rules []TrendRule) {
	if len(rules) == 0 {
		v.Add("rules", "must hold at least one rule")
	}
	seen := make(map[string]int, len(rules))
	for i, r := range rules {
		prefix := "rules[" + strconv.Itoa(i) + "]."
		r.validate(v, prefix)
		if j, ok := seen[r.Name]; ok && !v.Has(prefix+"name") {
			v.Add(prefix+"name", fmt.Sprintf("repeats the name of rules[%d]", j))
		} else if !ok {
			seen[r.Name] = i
		}
	}
}

// TrendIncident holds the facts of one incident that trend detection
// reads, as they were when it was opened.
type TrendIncident struct {
	ID       itil.ID   `json:"id"`
	OpenedAt time.Time `json:"opened_at"`
	// CIs lists the affected configuration items; NilID entries and
	// repeats are ignored.
	CIs []itil.ID `json:"ci_ids,omitempty"`
	// ServiceID is NilID when unknown.
	ServiceID itil.ID `json:"service_id,omitzero"`
	Category  string  `json:"category,omitempty"`
}

// TrendIncidentOf returns the trend facts of inc.
func TrendIncidentOf(inc *incident.Incident) TrendIncident {
	f := TrendIncident{ID: inc.ID, OpenedAt: inc.OpenedAt, ServiceID: inc.ServiceID, Category: inc.Category}
	if inc.CIID != itil.NilID {
		f.CIs = []itil.ID{inc.CIID}
	}
	return f
}

// ok reports whether f passes validate, without building field names.
func (f *TrendIncident) ok() bool {
	return f.ID != itil.NilID && !f.OpenedAt.IsZero() && check.TimeOK(f.OpenedAt)
}

func (f *TrendIncident) validate(v *itil.ValidationError, prefix string) {
	if f.ID == itil.NilID {
		v.Add(prefix+"id", "is required")
	}
	if f.OpenedAt.IsZero() {
		v.Add(prefix+"opened_at", "is required")
	} else {
		check.Time(v, prefix+"opened_at", f.OpenedAt)
	}
}

// TrendKey is one value of a rule's key. The fields the rule does not
// group by are zero.
type TrendKey struct {
	CI        itil.ID `json:"ci_id,omitzero"`
	ServiceID itil.ID `json:"service_id,omitzero"`
	Category  string  `json:"category,omitempty"`
}

// String writes the fields set, such as "service=… category=network".
func (k TrendKey) String() string {
	var parts []string
	if k.CI != itil.NilID {
		parts = append(parts, "ci="+k.CI.String())
	}
	if k.ServiceID != itil.NilID {
		parts = append(parts, "service="+k.ServiceID.String())
	}
	if k.Category != "" {
		parts = append(parts, "category="+strconv.Quote(k.Category))
	}
	return strings.Join(parts, " ")
}

func compareTrendKeys(a, b TrendKey) int {
	if c := bytes.Compare(a.CI[:], b.CI[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.ServiceID[:], b.ServiceID[:]); c != 0 {
		return c
	}
	return strings.Compare(a.Category, b.Category)
}

// TrendCandidate is a key whose incidents inside a window reach a rule's
// threshold: a candidate for a problem.
type TrendCandidate struct {
	Rule string   `json:"rule"`
	Key  TrendKey `json:"key"`
	// Count is len(Incidents), at least the rule's threshold.
	Count int `json:"count"`
	// Incidents are the incidents of the key inside the window, ordered by
	// opening time, then ID.
	Incidents []itil.ID `json:"incidents"`
	// The window is (From, To]: To is the instant the candidate is as of
	// and From is To less the rule's window.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// CoveredBy is the open problem that already covers the key, as the
	// TrendCoverage passed in says; NilID when none does (or none was
	// passed).
	CoveredBy itil.ID `json:"covered_by,omitzero"`
}

// TrendCoverage returns the open problem that covers key under rule, or
// NilID when none does. It is called once per candidate, without locks
// held; the problem service supplies one built from its open problems.
type TrendCoverage func(rule *TrendRule, key TrendKey) itil.ID

// TrendCrossing reports that a key reached its rule's threshold. Seen as a
// function of the instant T it is as of, a key's count over (T-window, T]
// rises when an incident opens and falls when one leaves the window; a
// key crosses when its count goes from below the threshold to at least
// the threshold. So it crosses once, at the incident that brings it to
// the threshold, and not again at the next ones; it crosses again only
// after its count has been below the threshold at some instant and then
// reaches it anew (an incident leaving the window at the very instant
// another arrives is no dip). Incidents at the same instant count
// together: the crossing is reported at the one that completes the
// threshold. An incident that arrives out of order counts from its
// arrival on: the detector does not rewrite instants already past.
type TrendCrossing struct {
	Rule string   `json:"rule"`
	Key  TrendKey `json:"key"`
	// At is the end of the window: the detector's watermark when the
	// incident was observed (its own opening time when incidents arrive in
	// time order).
	At time.Time `json:"at"`
	// Incident is the incident whose arrival made the crossing.
	Incident itil.ID `json:"incident"`
}

// trendTime is an instant as Unix seconds and nanoseconds: exact over the
// years 1 to 9999, where int64 nanoseconds are not.
type trendTime struct {
	sec  int64
	nsec int32
}

func toTrendTime(t time.Time) trendTime {
	return trendTime{sec: t.Unix(), nsec: int32(t.Nanosecond())}
}

func (a trendTime) less(b trendTime) bool {
	return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec
}

func (a trendTime) compare(b trendTime) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

func (a trendTime) time() time.Time {
	return time.Unix(a.sec, int64(a.nsec)).UTC()
}

// add returns a+d; the caller keeps the result within the years 1 to 9999
// plus or minus MaxTrendWindow, which int64 seconds hold.
func (a trendTime) add(d time.Duration) trendTime {
	sec := a.sec + int64(d/time.Second)
	nsec := int64(a.nsec) + int64(d%time.Second)
	switch {
	case nsec < 0:
		sec--
		nsec += int64(time.Second)
	case nsec >= int64(time.Second):
		sec++
		nsec -= int64(time.Second)
	}
	return trendTime{sec: sec, nsec: int32(nsec)}
}

// trendEntry is one incident in a key's series.
type trendEntry struct {
	at trendTime
	id itil.ID
}

func compareTrendEntries(a, b trendEntry) int {
	if c := a.at.compare(b.at); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// trendSeries holds one key's incidents in time order from e[head] on: a
// deque whose front is popped by advancing head. A rule keeps its series
// by value in one array, so that reaching a key's series from its index
// is one cache line: the fields fit in 64 bytes, trendTime's padding
// included, which is why first and checked are stored as their parts.
type trendSeries struct {
	e []trendEntry
	// head is the index in e of the first entry; -1 marks a free slot of
	// the rule's array.
	head int
	// first is the time of e[head], while there are entries: Observe
	// decides most of its work from it (and the last entry, next to where
	// it appends), without reading the front of e.
	firstSec int64
	// checked is the watermark when the key was last observed: every
	// entry is at or before it (count sets it before inserting).
	checkedSec  int64
	firstNsec   int32
	checkedNsec int32
	// on says the key has crossed its threshold and its count has not
	// been seen below it since, as of checked.
	on bool
}

func (s *trendSeries) first() trendTime   { return trendTime{sec: s.firstSec, nsec: s.firstNsec} }
func (s *trendSeries) checked() trendTime { return trendTime{sec: s.checkedSec, nsec: s.checkedNsec} }
func (s *trendSeries) setFirst(t trendTime) {
	s.firstSec, s.firstNsec = t.sec, t.nsec
}

// evict drops entries before cut.
func (s *trendSeries) evict(cut trendTime) {
	if s.head == len(s.e) || !s.first().less(cut) {
		return
	}
	if s.checked().less(cut) {
		// Every entry is at or before checked: drop them all without
		// reading them (the key has been idle for longer than the window,
		// as most keys are when they are observed again).
		s.e, s.head = s.e[:0], 0
		return
	}
	for s.head < len(s.e) && s.e[s.head].at.less(cut) {
		s.head++
	}
	switch {
	case s.head == len(s.e):
		s.e, s.head = s.e[:0], 0
		return
	case s.head >= 32 && s.head*2 >= len(s.e):
		n := copy(s.e, s.e[s.head:])
		s.e, s.head = s.e[:n], 0 // entries hold no pointers: no need to clear the rest
	}
	s.setFirst(s.e[s.head].at)
}

// after returns the number of entries later than cut, or at cut too when
// orAt; in O(1) when the front entry is (as usual) already past cut.
func (s *trendSeries) after(cut trendTime, orAt bool) int {
	if n := len(s.e) - s.head; n == 0 || cut.less(s.first()) {
		return n
	}
	live := s.e[s.head:]
	i, _ := slices.BinarySearchFunc(live, cut, func(e trendEntry, t trendTime) int {
		if t.less(e.at) || orAt && t == e.at {
			return 1
		}
		return -1
	})
	return len(live) - i
}

// insert adds x in order of time, then ID, and reports whether it was
// new (the same ID at the same time was not there yet). In time order
// arrival (with time-ordered IDs on ties) it appends.
func (s *trendSeries) insert(x trendEntry) bool {
	n := len(s.e) - s.head
	if n == 0 {
		s.setFirst(x.at)
		s.e = append(s.e, x)
		return true
	}
	if s.e[len(s.e)-1].at.less(x.at) {
		s.e = append(s.e, x)
		return true
	}
	i, found := slices.BinarySearchFunc(s.e[s.head:], x, compareTrendEntries)
	if found {
		return false
	}
	s.e = slices.Insert(s.e, s.head+i, x)
	if i == 0 {
		s.setFirst(x.at)
	}
	return true
}

// trendState is one rule's counters.
type trendState struct {
	rule TrendRule
	// series holds the series of the rule's keys, and free slots (head
	// -1, their arrays kept for reuse) listed in free; keyAt[i] is the
	// key of series[i]. They never hold more slots than the most series
	// the rule has held at once (see sweep for when they shrink).
	series []trendSeries
	keyAt  []TrendKey
	free   []int32
	// byID indexes series for a rule keyed by one ID (CI or service
	// alone), byKey for the others: an ID hashes and compares faster than
	// a TrendKey, whose category is a string. An index is an int32 for a
	// smaller map: 2^31 series would not fit in memory anyway.
	byID  map[itil.ID]int32
	byKey map[TrendKey]int32
	// countCut and keepCut are the watermark less the window, and less
	// the window and the lateness: entries at or before countCut are out
	// of the current window, those at or before keepCut are dropped.
	countCut, keepCut trendTime
	// swept is the watermark at the last sweep of idle keys.
	swept trendTime
}

// singleID reports whether the rule is keyed by one ID: CI or service
// alone.
func singleID(by TrendBy) bool { return by == TrendByCI || by == TrendByService }

func (st *trendState) init(r TrendRule) {
	st.rule = r
	st.swept = trendTime{sec: math.MinInt64} // the first observation sweeps (nothing)
	if singleID(r.By) {
		st.byID = make(map[itil.ID]int32)
	} else {
		st.byKey = make(map[TrendKey]int32)
	}
}

// idOf returns the one ID of k under a single-ID rule.
func (st *trendState) idOf(k TrendKey) itil.ID {
	if st.rule.By == TrendByCI {
		return k.CI
	}
	return k.ServiceID
}

// seriesOf returns the series of k, adding an empty one for a new key.
func (st *trendState) seriesOf(k TrendKey) *trendSeries {
	var i int32
	var ok bool
	if st.byID != nil {
		i, ok = st.byID[st.idOf(k)]
	} else {
		i, ok = st.byKey[k]
	}
	if ok {
		return &st.series[i]
	}
	if n := len(st.free); n > 0 {
		i, st.free = st.free[n-1], st.free[:n-1]
		st.keyAt[i] = k
	} else {
		i = int32(len(st.series))
		st.series = append(st.series, trendSeries{})
		st.keyAt = append(st.keyAt, k)
	}
	// A new key has not been checked at any instant: not at the Unix
	// epoch, which the zero value would say.
	s := &st.series[i]
	s.head, s.checkedSec, s.checkedNsec = 0, math.MinInt64, 0
	if st.byID != nil {
		st.byID[st.idOf(k)] = i
	} else {
		st.byKey[k] = i
	}
	return s
}

// sweep drops the keys last observed before keepCut (their checked is
// before it): every entry of such a key is before keepCut, where the next
// evict would drop it, so dropping the key changes nothing Observe or
// Trends return. It reads the rule's array in order, not the entries,
// and the index only for the keys it drops.
func (st *trendState) sweep() {
	for i := range st.series {
		s := &st.series[i]
		if s.head < 0 || !s.checked().less(st.keepCut) {
			continue
		}
		if st.byID != nil {
			delete(st.byID, st.idOf(st.keyAt[i]))
		} else {
			delete(st.byKey, st.keyAt[i])
		}
		*s = trendSeries{e: s.e[:0], head: -1}
		st.keyAt[i] = TrendKey{}
		st.free = append(st.free, int32(i))
	}
	// Once fewer than a quarter of the slots are in use, move the series
	// in use to a new array and rebuild the index, releasing the free
	// slots: so the free slots never outnumber three times the keys in
	// use after a sweep, and compacting costs O(1) per key dropped.
	if n := len(st.series); n > 64 && (n-len(st.free))*4 < n {
		st.compact()
	}
}

// compact moves the series in use to new arrays, without free slots, and
// rebuilds the index.
func (st *trendState) compact() {
	live := len(st.series) - len(st.free)
	series := make([]trendSeries, 0, 2*live)
	keyAt := make([]TrendKey, 0, 2*live)
	if st.byID != nil {
		st.byID = make(map[itil.ID]int32, live)
	} else {
		st.byKey = make(map[TrendKey]int32, live)
	}
	for i := range st.series {
		if st.series[i].head < 0 {
			continue
		}
		j := int32(len(series))
		series = append(series, st.series[i])
		keyAt = append(keyAt, st.keyAt[i])
		if st.byID != nil {
			st.byID[st.idOf(st.keyAt[i])] = j
		} else {
			st.byKey[st.keyAt[i]] = j
		}
	}
	st.series, st.keyAt, st.free = series, keyAt, nil
}

// count counts the entry x under key k, the watermark being latest, and
// appends the crossing it makes to out.
func (st *trendState) count(k TrendKey, x trendEntry, latest trendTime, out []TrendCrossing) []TrendCrossing {
	s := st.seriesOf(k)
	s.evict(st.keepCut)
	if s.checked().less(latest) {
		// Between the key's last observation and the watermark its count
		// only fell, to its least just before the watermark: the entries
		// at or after the watermark less the window.
		if s.after(st.countCut, true) < st.rule.Threshold {
			s.on = false
		}
		s.checkedSec, s.checkedNsec = latest.sec, latest.nsec
	}
	if !s.insert(x) || s.on || !st.countCut.less(x.at) {
		return out
	}
	if s.after(st.countCut, false) >= st.rule.Threshold {
		s.on = true
		out = append(out, TrendCrossing{Rule: st.rule.Name, Key: k, At: latest.time(), Incident: x.id})
	}
	return out
}

// keyOf returns the key of f under the rule but its CI, and false when f
// lacks a field of the key other than CI.
func (st *trendState) keyOf(f *TrendIncident) (TrendKey, bool) {
	var k TrendKey
	if st.rule.By&TrendByService != 0 {
		if f.ServiceID == itil.NilID {
			return k, false
		}
		k.ServiceID = f.ServiceID
	}
	if st.rule.By&TrendByCategory != 0 {
		if f.Category == "" {
			return k, false
		}
		k.Category = f.Category
	}
	return k, true
}

// keys calls yield with each key value of f under the rule.
func (st *trendState) keys(f *TrendIncident, yield func(TrendKey)) {
	k, ok := st.keyOf(f)
	switch {
	case !ok:
	case st.rule.By&TrendByCI == 0:
		yield(k)
	default:
		for _, ci := range f.CIs {
			if ci != itil.NilID {
				k.CI = ci
				yield(k) // a repeated CI is a repeated entry, which insert drops
			}
		}
	}
}

// observe counts x, the entry of f, under each key value of f (as keys
// yields them, without a closure), the watermark being latest, and
// appends the crossings to out.
func (st *trendState) observe(f *TrendIncident, x trendEntry, latest trendTime, out []TrendCrossing) []TrendCrossing {
	k, ok := st.keyOf(f)
	switch {
	case !ok:
	case st.rule.By&TrendByCI == 0:
		out = st.count(k, x, latest, out)
	default:
		for _, ci := range f.CIs {
			if ci != itil.NilID {
				k.CI = ci
				out = st.count(k, x, latest, out) // a repeated CI is a repeated entry, which insert drops
			}
		}
	}
	return out
}

// TrendDetector keeps trend counters current as incidents are observed:
// per rule and key value, the incidents inside the window, so that
// observing an incident costs amortized O(1) per rule and key value when
// incidents arrive in about time order (O(log n) more with a lateness
// allowance, and an insertion into the key's series when one arrives out
// of order). It holds no storage: a process rebuilds it by observing the
// journal's incidents, or feeds it from an in-transaction hook. It is safe
// for concurrent use.
type TrendDetector struct {
	mu       sync.Mutex
	rules    []trendState
	lateness time.Duration
	// latest is the watermark: the latest OpenedAt observed; seen is
	// false until the first observation.
	latest trendTime
	seen   bool
}

// NewTrendDetector returns a detector for rules. lateness is how far
// behind the watermark (the latest opening time observed) Trends may be
// asked for, and so how late an incident may arrive and still be counted
// there: an incident opened more than the rule's window plus lateness
// before the watermark is dropped. It returns a *itil.ValidationError
// naming "rules", "rules[i].name" (also for a repeated name) and the
// other rule fields, or "lateness" (0 to MaxTrendWindow).
func NewTrendDetector(rules []TrendRule, lateness time.Duration) (*TrendDetector, error) {
	var v itil.ValidationError
	validateTrendRules(&v, rules)
	if lateness < 0 || lateness > MaxTrendWindow {
		v.Add("lateness", fmt.Sprintf("must be from 0 to %s", MaxTrendWindow))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return newTrendDetector(rules, lateness), nil
}

func newTrendDetector(rules []TrendRule, lateness time.Duration) *TrendDetector {
	d := &TrendDetector{lateness: lateness, rules: make([]trendState, len(rules))}
	for i, r := range rules {
		d.rules[i].init(r)
	}
	return d
}

// Rules returns a copy of the detector's rules.
func (d *TrendDetector) Rules() []TrendRule {
	out := make([]TrendRule, len(d.rules))
	for i := range d.rules {
		out[i] = d.rules[i].rule
	}
	return out
}

// Latest returns the watermark: the latest opening time observed, and
// false before the first observation.
func (d *TrendDetector) Latest() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.latest.time(), d.seen
}

// Observe counts f and returns the crossings it made, in rule order (nil
// when none, the common case, without allocating). An incident opened
// more than a rule's window plus the lateness before the watermark is
// not counted for that rule. Observing the same incident again (same ID
// and opening time) changes nothing. It returns a *itil.ValidationError
// naming "id" or "opened_at" for facts it cannot count, and then changes
// nothing.
func (d *TrendDetector) Observe(f TrendIncident) ([]TrendCrossing, error) {
	if !f.ok() {
		var v itil.ValidationError
		f.validate(&v, "")
		return nil, v.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.observe(&f, nil), nil
}

// observeValid counts f, which ok() accepts, discarding its crossings.
func (d *TrendDetector) observeValid(f *TrendIncident) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observe(f, nil)
}

// observe counts f (valid) and appends its crossings to out.
func (d *TrendDetector) observe(f *TrendIncident, out []TrendCrossing) []TrendCrossing {
	x := trendEntry{at: toTrendTime(f.OpenedAt), id: f.ID}
	if !d.seen || d.latest.less(x.at) {
		d.latest, d.seen = x.at, true
		for i := range d.rules {
			st := &d.rules[i]
			st.countCut = x.at.add(-st.rule.Window)
			st.keepCut = st.countCut.add(-d.lateness)
		}
	}
	for i := range d.rules {
		st := &d.rules[i]
		if x.at.less(st.keepCut) {
			continue // too late for any window Trends may be asked for
		}
		out = st.observe(f, x, d.latest, out)
		// Sweep idle keys once the watermark has moved on by the time an
		// entry is kept. A sweep reads the rule's array in order, and the
		// index only for the keys it drops; each slot it reads holds a key
		// observed within the last two sweep periods, or is free (at most
		// three times as many as the keys in use after the last sweep, see
		// sweep), so sweeping costs O(1) per observation, amortized.
		if span := st.rule.Window + d.lateness; !d.latest.less(st.swept.add(span)) {
			st.sweep()
			st.swept = d.latest
		}
	}
	return out
}

// Trends returns the candidates as of asOf: for each rule and key value,
// the incidents observed with an opening time in (asOf-window, asOf]
// when there are at least the rule's threshold of them; ordered by rule,
// then count (highest first), then key. cover, when not nil, fills each
// candidate's CoveredBy. asOf must not be before the watermark less the
// lateness (a *itil.ValidationError names "as_of"): earlier windows may
// have lost incidents.
func (d *TrendDetector) Trends(asOf time.Time, cover TrendCoverage) ([]TrendCandidate, error) {
	var v itil.ValidationError
	check.Time(&v, "as_of", asOf)
	if err := v.Err(); err != nil {
		return nil, err
	}
	end := toTrendTime(asOf)
	d.mu.Lock()
	var out []TrendCandidate
	if d.seen {
		if least := d.latest.add(-d.lateness); end.less(least) {
			d.mu.Unlock()
			return nil, itil.Invalid("as_of", fmt.Sprintf("must not be before %s (the latest incident observed less the lateness allowed)", least.time().Format(time.RFC3339Nano)))
		}
		for i := range d.rules {
			st := &d.rules[i]
			start := end.add(-st.rule.Window)
			n := len(out)
			for j := range st.series {
				s := &st.series[j]
				if s.head < 0 {
					continue // a free slot
				}
				live := s.e[s.head:]
				lo := len(live) - s.after(start, false)
				hi := len(live) - s.after(end, false)
				if hi-lo < st.rule.Threshold {
					continue
				}
				ids := make([]itil.ID, hi-lo)
				for n, e := range live[lo:hi] {
					ids[n] = e.id
				}
				out = append(out, TrendCandidate{Rule: st.rule.Name, Key: st.keyAt[j], Count: len(ids), Incidents: ids, From: start.time(), To: end.time()})
			}
			sortTrendCandidates(out[n:])
		}
	}
	d.mu.Unlock()
	d.cover(out, cover)
	return out, nil
}

func (d *TrendDetector) cover(out []TrendCandidate, cover TrendCoverage) {
	if cover == nil {
		return
	}
	rules := d.Rules()
	for i := range out {
		for j := range rules {
			if rules[j].Name == out[i].Rule {
				out[i].CoveredBy = cover(&rules[j], out[i].Key)
				break
			}
		}
	}
}

func sortTrendCandidates(cs []TrendCandidate) {
	slices.SortFunc(cs, func(a, b TrendCandidate) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return compareTrendKeys(a.Key, b.Key)
	})
}

// DetectTrends is the batch form of TrendDetector.Trends: the candidates
// as of asOf over history, in any order, with the same semantics and
// order as a detector that observed history. It returns a
// *itil.ValidationError naming bad rules ("rules[i]…"), "as_of", or the
// first bad incident ("history[i].id", "history[i].opened_at").
func DetectTrends(rules []TrendRule, history iter.Seq[TrendIncident], asOf time.Time, cover TrendCoverage) ([]TrendCandidate, error) {
	var v itil.ValidationError
	validateTrendRules(&v, rules)
	check.Time(&v, "as_of", asOf)
	if err := v.Err(); err != nil {
		return nil, err
	}
	end := toTrendTime(asOf)
	type group = map[TrendKey][]trendEntry
	groups := make([]group, len(rules))
	starts := make([]trendTime, len(rules))
	for i, r := range rules {
		groups[i] = make(group)
		starts[i] = end.add(-r.Window)
	}
	n := 0
	for f := range history {
		if !f.ok() {
			f.validate(&v, "history["+strconv.Itoa(n)+"].")
			return nil, v.Err()
		}
		n++
		x := trendEntry{at: toTrendTime(f.OpenedAt), id: f.ID}
		if end.less(x.at) {
			continue
		}
		for i := range rules {
			if !starts[i].less(x.at) {
				continue
			}
			st := trendState{rule: rules[i]}
			st.keys(&f, func(k TrendKey) { groups[i][k] = append(groups[i][k], x) })
		}
	}
	var out []TrendCandidate
	for i, r := range rules {
		m := len(out)
		for k, es := range groups[i] {
			if len(es) < r.Threshold {
				continue
			}
			slices.SortFunc(es, compareTrendEntries)
			es = slices.Compact(es)
			if len(es) < r.Threshold {
				continue
			}
			ids := make([]itil.ID, len(es))
			for j, e := range es {
				ids[j] = e.id
			}
			c := TrendCandidate{Rule: r.Name, Key: k, Count: len(ids), Incidents: ids, From: starts[i].time(), To: end.time()}
			if cover != nil {
				c.CoveredBy = cover(&rules[i], k)
			}
			out = append(out, c)
		}
		sortTrendCandidates(out[m:])
	}
	return out, nil
}

// ReplayTrends is the batch form of TrendDetector.Observe: every crossing
// over history (in any order; not modified) as a detector reports them
// when it observes the incidents in time order (ties in their order in
// history), in that order. It returns a *itil.ValidationError naming bad
// rules or the first bad incident ("history[i].id",
// "history[i].opened_at").
func ReplayTrends(rules []TrendRule, history []TrendIncident) ([]TrendCrossing, error) {
	var v itil.ValidationError
	validateTrendRules(&v, rules)
	if err := v.Err(); err != nil {
		return nil, err
	}
	sorted := true
	for i := range history {
		if !history[i].ok() {
			history[i].validate(&v, "history["+strconv.Itoa(i)+"].")
			return nil, v.Err()
		}
		if i > 0 && history[i].OpenedAt.Before(history[i-1].OpenedAt) {
			sorted = false
		}
	}
	d := newTrendDetector(rules, 0)
	var out []TrendCrossing
	if sorted {
		for i := range history {
			out = d.observe(&history[i], out)
		}
		return out, nil
	}
	order := make([]int, len(history))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return history[a].OpenedAt.Compare(history[b].OpenedAt)
	})
	for _, i := range order {
		out = d.observe(&history[i], out)
	}
	return out, nil
}
