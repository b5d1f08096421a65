package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// TrendSkew is how far behind the latest incident a TrendWatch's caller
// may ask for trends and be answered as of that incident: the clock skew
// and commit delay between application instances it absorbs.
const TrendSkew = 5 * time.Minute

// TrendWatch connects a TrendDetector to the incidents and problems of a
// Service's store: it counts every incident opened (whichever instance
// opened it) and answers Trends with each candidate's covering problem,
// and it opens a problem for a candidate at most once per key while that
// problem is open, however many instances try.
//
// The detector is an in-memory index kept from the journal, as the
// impact index of cmdb is: the first call reads every incident.opened
// event of the journal (the incident as created is in its payload, so
// the facts are those at opening), observes them in opening order and
// remembers the journal position; each later call first catches up by
// reading the events committed after it. Every instance therefore counts
// the same committed incidents, and an incident whose transaction rolled
// back is never counted. Each instance keeps its own position in memory:
// a named feed consumer would not do here, since its durable cursor and
// lease hand each event to one instance only.
//
// A TrendWatch is safe for concurrent use.
type TrendWatch struct {
	svc   *Service
	det   *TrendDetector
	rules []TrendRule

	mu  sync.Mutex // serialises catch-up and the answers after it
	pos int64      // the journal position the detector reflects
}

// NewTrendWatch returns a watch of rules (see NewTrendDetector for rules
// and lateness) over the incidents and problems of svc's store. It reads
// nothing until first used.
func NewTrendWatch(svc *Service, rules []TrendRule, lateness time.Duration) (*TrendWatch, error) {
	if svc == nil {
		return nil, itil.Invalid("service", "must not be nil")
	}
	d, err := NewTrendDetector(rules, lateness)
	if err != nil {
		return nil, err
	}
	return &TrendWatch{svc: svc, det: d, rules: slices.Clone(rules)}, nil
}

var incidentKinds = []string{incident.Kind}

// CatchUp counts the incidents opened since the last call (on the first,
// every incident in the journal) and returns how many it observed.
// Trends and OpenUncovered call it first. Errors of the store or the
// context are returned, and the next call reads the same events again.
// An incident.opened event that cannot be counted (a payload no incident
// Service writes) is passed over: CatchUp counts the others and returns
// an error naming each such event's Seq, and the next call goes on after
// them, since the journal never changes and reading them again would fail
// the same way forever.
func (w *TrendWatch) CatchUp(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.catchUp(ctx)
}

// catchUp is CatchUp with w.mu held.
func (w *TrendWatch) catchUp(ctx context.Context) (int, error) {
	var batch []TrendIncident
	var bad []error
	last := w.pos
	err := w.svc.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		batch, bad, last = batch[:0], bad[:0], w.pos
		end, err := tx.LastSeq(ctx)
		if err != nil || end <= w.pos {
			return err
		}
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: w.pos, Kinds: incidentKinds}) {
			if err != nil {
				return err
			}
			last = max(last, ev.Seq)
			if ev.Type != incident.EventOpened {
				continue
			}
			f, err := openedFacts(&ev)
			if err == nil && !f.ok() {
				var v itil.ValidationError
				f.validate(&v, "")
				err = fmt.Errorf("journal event %d (%s): incident %s: %w", ev.Seq, ev.Type, f.ID, v.Err())
			}
			if err != nil {
				bad = append(bad, err)
				continue
			}
			batch = append(batch, f)
		}
		last = max(last, end)
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Opening order, so that a rebuild loses nothing to the lateness
	// allowance; journal order among equal times.
	slices.SortStableFunc(batch, func(a, b TrendIncident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	for i := range batch {
		w.det.observeValid(&batch[i])
	}
	w.pos = last
	if len(bad) > 0 {
		const listed = 10
		n, more := len(bad), ""
		if n > listed {
			more = fmt.Sprintf(" (the first %d listed)", listed)
			bad = bad[:listed]
		}
		return len(batch), fmt.Errorf("trend watch: passed over %d incident.opened events it cannot count%s: %w", n, more, errors.Join(bad...))
	}
	return len(batch), nil
}

// Trends catches up and returns the candidates as of asOf, as
// TrendDetector.Trends does, each with CoveredBy set to the open problem that
// covers its key, if any. An open problem (New to Fix in Progress) covers
// a key of a rule:
//
//   - when it was opened for that rule and key by Open or OpenUncovered
//     (the trend claim records it), and otherwise
//   - when its own fields match every field of the rule's key: the key's
//     CI is one of its CIs, the service is its service, the category is
//     its category. The oldest such problem is named.
//
// An asOf up to TrendSkew earlier than the watch can answer exactly (the
// latest incident observed less the lateness) is taken as that instant:
// incidents other instances committed meanwhile, or opened on a clock
// slightly ahead, may be later than the caller's "now". The candidates'
// To says which instant was used. An earlier asOf, a zero one, or one
// outside the years 1 to 9999 is a *itil.ValidationError naming "as_of".
func (w *TrendWatch) Trends(ctx context.Context, asOf time.Time) ([]TrendCandidate, error) {
	var v itil.ValidationError
	if asOf.IsZero() {
		v.Add("as_of", "is required")
	}
	check.Time(&v, "as_of", asOf)
	if err := v.Err(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	_, err := w.catchUp(ctx)
	if err == nil {
		if latest, ok := w.det.Latest(); ok {
			// Only a little behind: an asOf far in the past is a mistake
			// the detector reports.
			if least := latest.Add(-w.det.lateness); asOf.Before(least) && !asOf.Before(least.Add(-TrendSkew)) {
				asOf = least
			}
		}
	}
	var out []TrendCandidate
	if err == nil {
		out, err = w.det.Trends(asOf, nil)
	}
	w.mu.Unlock()
	if err != nil || len(out) == 0 {
		return out, err
	}
	if err := w.cover(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// cover fills CoveredBy from the open problems and the trend claims.
func (w *TrendWatch) cover(ctx context.Context, cs []TrendCandidate) error {
	var open []*Problem
	for p, err := range w.svc.List(ctx, Filter{States: []State{StateNew, StateAssess, StateRootCauseAnalysis, StateFixInProgress}}) {
		if err != nil {
			return err
		}
		open = append(open, p)
	}
	isOpen := make(map[itil.ID]bool, len(open))
	for _, p := range open {
		isOpen[p.ID] = true
	}
	return w.svc.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		for i := range cs {
			c := &cs[i]
			cl, err := trendClaims.Get(ctx, tx, trendClaimID(c.Rule, c.Key))
			switch {
			case err == nil && isOpen[cl.ProblemID]:
				c.CoveredBy = cl.ProblemID
				continue
			case err != nil && !errors.Is(err, itil.ErrNotFound):
				return err
			}
			by := w.rule(c.Rule).By
			for _, p := range open {
				if keyMatches(by, c.Key, p) {
					c.CoveredBy = p.ID
					break
				}
			}
		}
		return nil
	})
}

// keyMatches reports whether p's fields match every field of key under by.
func keyMatches(by TrendBy, key TrendKey, p *Problem) bool {
	return (by&TrendByCI == 0 || slices.Contains(p.CIIDs, key.CI)) &&
		(by&TrendByService == 0 || p.ServiceID == key.ServiceID) &&
		(by&TrendByCategory == 0 || p.Category == key.Category)
}

func (w *TrendWatch) rule(name string) *TrendRule {
	for i := range w.rules {
		if w.rules[i].Name == name {
			return &w.rules[i]
		}
	}
	return nil
}

// OpenUncovered catches up and opens a problem (Open) for every candidate
// as of asOf that no open problem covers, and returns the problems it
// opened, in candidate order. A candidate that another instance opened a
// problem for meanwhile is passed over.
func (w *TrendWatch) OpenUncovered(ctx context.Context, actor itil.Actor, asOf time.Time) ([]*Problem, error) {
	cs, err := w.Trends(ctx, asOf)
	if err != nil {
		return nil, err
	}
	var out []*Problem
	for _, c := range cs {
		if c.CoveredBy != itil.NilID {
			continue
		}
		p, opened, err := w.Open(ctx, actor, c)
		if err != nil {
			return out, err
		}
		if opened {
			out = append(out, p)
		}
	}
	return out, nil
}

// Open opens a problem for candidate c (as Trends returned it) and links
// its incidents, unless the problem opened for its rule and key before is
// still open: then it returns that problem and false. The new problem has
// the key's CI, service and category, a title such as "5 incidents on CI
// … in 24h" and a description listing the window and the incidents; the
// rule and key are recorded in a trend claim (kind KindTrendClaim,
// journaled with the problem in Refs, so the problem's History shows it),
// written version-checked in the problem's own transaction. So at most one
// problem is open per rule and key, whichever instances race: the loser's
// transaction conflicts, runs again, and finds the winner's problem.
//
// The candidate's incidents are linked to the problem in the same
// transaction (as LinkIncident links them: both records journaled, each
// naming the other), so the Service must have been made WithIncidents
// (otherwise ErrNoIncidents, and nothing is opened). An incident that
// already belongs to another problem, or is canceled, is left alone and
// named in a work note on the new problem; Problem.IncidentCount counts
// those linked. An incident of the candidate that is not found gives an
// error wrapping itil.ErrNotFound, and nothing is opened.
//
// A rule the watch does not have, a key whose fields are not exactly
// those of the rule, or a candidate the rule does not make (a Count other
// than the number of incidents or below the threshold, a nil or repeated
// incident ID, a window other than the rule's or a time outside the years
// 1 to 9999) gives a *itil.ValidationError
// naming "rule", "key", "count", "incidents[i]", "from" or "to".
func (w *TrendWatch) Open(ctx context.Context, actor itil.Actor, c TrendCandidate) (*Problem, bool, error) {
	r := w.rule(c.Rule)
	if r == nil {
		return nil, false, itil.Invalid("rule", fmt.Sprintf("the watch has no rule %q", c.Rule))
	}
	k := c.Key
	if (k.CI != itil.NilID) != (r.By&TrendByCI != 0) || (k.ServiceID != itil.NilID) != (r.By&TrendByService != 0) ||
		(k.Category != "") != (r.By&TrendByCategory != 0) {
		return nil, false, itil.Invalid("key", fmt.Sprintf("must set exactly the fields of rule %q (%s)", r.Name, r.By))
	}
	// The title and description say what the candidate says: it must be
	// one the rule makes.
	var v itil.ValidationError
	if c.Count != len(c.Incidents) || c.Count < r.Threshold {
		v.Add("count", fmt.Sprintf("must be the number of incidents, at least rule %q's threshold %d", r.Name, r.Threshold))
	}
	seen := make(map[itil.ID]bool, len(c.Incidents))
	for i, id := range c.Incidents {
		switch {
		case id == itil.NilID:
			v.Add("incidents["+strconv.Itoa(i)+"]", "must not be the nil ID")
		case seen[id]:
			v.Add("incidents["+strconv.Itoa(i)+"]", "lists "+id.String()+" twice")
		}
		seen[id] = true
	}
	check.Time(&v, "from", c.From)
	check.Time(&v, "to", c.To)
	if !v.Has("from") && !v.Has("to") && c.To.Sub(c.From) != r.Window {
		v.Add("to", fmt.Sprintf("must be from plus rule %q's window %s", r.Name, r.Window))
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	if w.svc.cfg.links.incidents == nil {
		return nil, false, ErrNoIncidents
	}
	tmpl := &Problem{
		Title: trendTitle(r, c), Description: trendDescription(r, c), Category: k.Category,
		ServiceID: k.ServiceID, State: StateNew, OpenedBy: actor,
	}
	if k.CI != itil.NilID {
		tmpl.CIIDs = []itil.ID{k.CI}
	}
	claimID, ids := trendClaimID(r.Name, k), c.Incidents
	var cl *trendClaim
	guard := func(c *cmd) error {
		var err error
		cl, err = trendClaims.Get(c.Ctx, c.Tx, claimID)
		switch {
		case errors.Is(err, itil.ErrNotFound):
			cl = &trendClaim{ID: claimID, Rule: r.Name, Key: k}
			return nil
		case err != nil:
			return err
		}
		owner, err := c.Load(cl.ProblemID)
		if err != nil && !errors.Is(err, itil.ErrNotFound) {
			return err
		}
		if err == nil && owner.State.Open() {
			return &trendCovered{owner}
		}
		return nil
	}
	more := func(c *cmd, p *Problem) (string, error) {
		cl.ProblemID, cl.ClaimedAt = p.ID, c.Now
		if err := trendClaims.Put(c.Ctx, c.Tx, cl); err != nil {
			return "", err
		}
		if err := c.Tx.Append(c.Ctx, itil.Event{
			Kind: KindTrendClaim, SubjectID: claimID, SubjectVersion: cl.Version,
			Actor: c.Actor, Time: c.Now, Type: EventTrendClaimed, Refs: []itil.ID{p.ID},
			Payload: mustJSON(itil.Payload{Summary: p.Number + " opened for trend rule " + strconv.Quote(r.Name) + " " + k.String()}),
		}); err != nil {
			return "", err
		}
		n, err := w.svc.linkTrend(c, p, ids)
		if err != nil {
			return "", err
		}
		return " for trend rule " + strconv.Quote(r.Name) + " " + k.String() + "; linked " + strconv.Itoa(n) + " incidents", nil
	}
	p, err := w.svc.open(ctx, actor, tmpl, guard, more)
	if cov, ok := errors.AsType[*trendCovered](err); ok {
		return cov.p, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return p, true, nil
}

// linkTrend links the incidents ids to the new problem p in its opening
// command, and returns how many it linked. Incidents that belong to
// another problem or are canceled are left alone and named in a work note
// on p.
func (s *Service) linkTrend(c *cmd, p *Problem, ids []itil.ID) (int, error) {
	svc, err := s.incidentsIn(c)
	if err != nil {
		return 0, err
	}
	var left []string
	n := 0
	for i, id := range ids {
		inc, err := svc.Get(c.Ctx, id)
		if err != nil {
			return 0, fmt.Errorf("incidents[%d]: %w", i, err)
		}
		switch {
		case inc.ProblemID == p.ID: // listed twice
			continue
		case inc.ProblemID != itil.NilID:
			other := inc.ProblemID.String()
			if o, err := c.Load(inc.ProblemID); err == nil {
				other = o.Number
			} else if !errors.Is(err, itil.ErrNotFound) {
				return 0, err
			}
			left = append(left, inc.Number+" (belongs to "+other+")")
			continue
		case inc.State == incident.StateCanceled:
			left = append(left, inc.Number+" (canceled)")
			continue
		}
		if _, err := svc.SetProblem(c.Ctx, c.Actor, id, itil.NilID, p.ID); err != nil {
			if _, ok := errors.AsType[*itil.ValidationError](err); ok || errors.Is(err, itil.ErrInvalidTransition) {
				// Linked or canceled since it was read (a backend whose
				// reads see the latest commit): run the command again.
				return 0, fmt.Errorf("%w: incident %s changed while trend problem %s was opened: %w", itil.ErrConflict, inc.Number, p.Number, err)
			}
			return 0, fmt.Errorf("incident %s: %w", inc.Number, err)
		}
		n++
	}
	p.IncidentCount = n
	if len(left) == 0 {
		return n, nil
	}
	var b strings.Builder
	b.WriteString("Incidents of the trend left unlinked:")
	for i, l := range left {
		if i == maxListed {
			fmt.Fprintf(&b, "\n… and %d more", len(left)-maxListed)
			break
		}
		b.WriteString("\n" + l)
	}
	_, err = c.AddNote(p.ID, itil.WorkNote, b.String(), EventWorkNoted, "added a work note: "+strconv.Itoa(len(left))+" incidents of the trend left unlinked")
	return n, err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a Payload of strings always encodes
	}
	return b
}

// trendCovered ends the creation of a trend problem whose claim names an
// open problem.
type trendCovered struct{ p *Problem }

func (e *trendCovered) Error() string { return "covered by " + e.p.Number }

// KindTrendClaim is the record kind (and journal kind) of trend claims:
// one per rule and key, naming the problem last opened for it.
const KindTrendClaim = "problem.trend_claim"

// EventTrendClaimed is journaled under a trend claim when a problem is
// opened for its rule and key; the problem is in Refs.
const EventTrendClaimed = "problem.trend_claimed"

type trendClaim struct {
	ID        itil.ID   `json:"id"`
	Rule      string    `json:"rule"`
	Key       TrendKey  `json:"key"`
	ProblemID itil.ID   `json:"problem_id"`
	ClaimedAt time.Time `json:"claimed_at"`
	Version   int64     `json:"-"`
}

var trendClaims = storage.NewCollection(storage.Schema[trendClaim]{
	Kind:    KindTrendClaim,
	ID:      func(c *trendClaim) itil.ID { return c.ID },
	Version: func(c *trendClaim) *int64 { return &c.Version },
	SortKey: func(c *trendClaim) string { return storage.TimeKey(c.ClaimedAt) },
	Terms: func(c *trendClaim, dst []string) []string {
		return append(dst, storage.Term("problem", c.ProblemID.String()))
	},
	Clone: func(dst, src *trendClaim) { *dst = *src },
})

var trendClaimSpace = uuid.MustParse("5f0d9a52-2b7e-4c61-8f3a-1d4e6b9c0a77")

// trendClaimID derives the claim's ID from the rule's name and the key, so
// that every instance writes the same record.
func trendClaimID(rule string, k TrendKey) itil.ID {
	b := make([]byte, 0, len(rule)+len(k.Category)+34)
	b = append(b, rule...)
	b = append(b, 0)
	b = append(b, k.CI[:]...)
	b = append(b, k.ServiceID[:]...)
	b = append(b, k.Category...)
	return uuid.NewSHA1(trendClaimSpace, b)
}

// trendTitle writes a title such as "5 incidents on CI … in 24h", cut to
// a short text.
func trendTitle(r *TrendRule, c TrendCandidate) string {
	var on []string
	if c.Key.CI != itil.NilID {
		on = append(on, "on CI "+c.Key.CI.String())
	}
	if c.Key.ServiceID != itil.NilID {
		on = append(on, "on service "+c.Key.ServiceID.String())
	}
	if c.Key.Category != "" {
		on = append(on, "in category "+strconv.Quote(c.Key.Category))
	}
	return check.Cut(strconv.Itoa(c.Count)+" incidents "+strings.Join(on, ", ")+" in "+windowText(r.Window), check.Short)
}

// maxListed bounds the incidents a trend problem's description lists.
const maxListed = 100

func trendDescription(r *TrendRule, c TrendCandidate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Trend rule %q (at least %d incidents by %s in %s): %d incidents opened from %s to %s.\nIncidents:",
		r.Name, r.Threshold, r.By, windowText(r.Window), c.Count,
		c.From.UTC().Format(time.RFC3339), c.To.UTC().Format(time.RFC3339))
	for i, id := range c.Incidents {
		if i == maxListed {
			fmt.Fprintf(&b, "\n… and %d more", len(c.Incidents)-maxListed)
			break
		}
		b.WriteString("\n" + id.String())
	}
	return b.String()
}

// windowText writes a window as people say it: "24h", "7d", "90m".
func windowText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}
