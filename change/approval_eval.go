package change

import (
	"math/bits"
	"strconv"
	"sync"
)

// ApprovalFacts is what evaluating a policy reads besides the policy
// itself. The caller gathers it; evaluation reads nothing else.
type ApprovalFacts struct {
	// Members maps a group name to the user IDs of its members, as
	// resolved when the group's approvals were requested. A group
	// missing from the map has no members.
	Members map[string][]string `json:"members,omitempty"`
	// Fields maps a field name (ApprovalStep.Field) to the user IDs the
	// change's field resolves to, such as the members of its assignment
	// group. A field missing from the map resolves to no one.
	Fields map[string][]string `json:"fields,omitempty"`
	// Excluded are the users who may not approve the change: with
	// segregation of duties on, its requester and its assignee (who
	// implements it).
	// They are not counted in any step, and no decision they make, for
	// themselves or as a delegate, counts.
	Excluded []string `json:"excluded,omitempty"`
	// Approvals are the change's approval records of the current request
	// round (records of rounds before the change was last sent back to
	// New must be left out), in any order. A record naming no step of the
	// policy or a user the step does not count is ignored, and so is a
	// decision made by a delegate who is excluded or counted in the step
	// themselves (one person, one vote). An approver should have one
	// record per step and round; when they have several, the strongest
	// state holds: rejected, then approved, requested, canceled, not
	// required.
	Approvals []Approval `json:"approvals,omitempty"`
}

// Verdict is the state of an approval step or of a whole policy.
type Verdict string

// The verdicts.
const (
	// VerdictWaiting: not decided yet; the pending approvers can still
	// reach the required number.
	VerdictWaiting Verdict = "waiting"
	// VerdictAccepted: the step's required approvals are in; for a
	// policy, every step is accepted or is an optional step refused.
	VerdictAccepted Verdict = "accepted"
	// VerdictRefused: the step can no longer be accepted (or was rejected
	// under RejectAtOnce); for a policy, a mandatory step is refused.
	VerdictRefused Verdict = "refused"
)

// StepResult is the verdict on one step, with the counts it rests on.
// Counts are in the step's units: people under the rules first, all and
// percent; approver sets (groups, the named users, the field's users)
// under each_group and any_group.
type StepResult struct {
	Step    string  `json:"step"`
	Verdict Verdict `json:"verdict"`
	// Total is the number of units counted: for people, the distinct
	// users the step asks (named, through its groups and its field) less
	// the excluded ones.
	Total int `json:"total"`
	// Required is the number of accepted units that accepts the step; at
	// least 1, so a step nobody can approve is refused.
	Required int `json:"required"`
	// Accepted is the number of units approved by distinct people.
	Accepted int `json:"accepted"`
	// Rejected is, for people, the counted rejections; for approver sets,
	// the sets that can no longer be approved.
	Rejected int `json:"rejected"`
	// Pending is, for people, those still to answer (requested, or no
	// record yet); for approver sets, how many more sets the people still
	// to answer can approve. People whose request was canceled or is no
	// longer required are neither accepted, rejected nor pending.
	Pending int `json:"pending"`
	// Reason says the verdict in words, such as "waiting: 3 of 5
	// approved, 1 pending, 4 required".
	Reason string `json:"reason"`
}

// ApprovalResult is the verdict on a policy and on each of its steps, in
// the policy's order.
type ApprovalResult struct {
	Verdict Verdict      `json:"verdict"`
	Steps   []StepResult `json:"steps"`
}

// Evaluate returns the verdict of p on the facts f, by the rules given
// with ApprovalPolicy. It reads nothing but its arguments, changes none
// of them, does not depend on the order of f.Approvals, and is safe for
// concurrent use.
//
// p should pass Validate. On a policy that does not, Evaluate still
// answers, with the strictest reading: no steps is refused, an unknown
// wait rule reads as WaitAll, an unknown OnReject as RejectAtOnce, and a
// step with more than 64 approver sets is refused.
func (p ApprovalPolicy) Evaluate(f ApprovalFacts) ApprovalResult {
	sc := scratchPool.Get().(*evalScratch)
	defer sc.release()
	sc.prepare(p.Steps, &f)

	res := ApprovalResult{Verdict: VerdictAccepted, Steps: make([]StepResult, len(p.Steps))}
	if len(p.Steps) == 0 {
		res.Verdict = VerdictRefused
	}
	refused, waiting := false, false
	for i := range p.Steps {
		r := &res.Steps[i]
		sc.evalStep(r, &p.Steps[i], i, &f)
		switch r.Verdict {
		case VerdictRefused:
			refused = refused || !p.Steps[i].Optional
		case VerdictWaiting:
			waiting = true
		}
	}
	switch {
	case refused:
		res.Verdict = VerdictRefused
	case waiting:
		res.Verdict = VerdictWaiting
	}
	return res
}

// Record ranks: when an approver has several records on a step the
// highest holds.
const (
	rankNone int8 = iota // no record: pending
	rankNotRequired
	rankCanceled
	rankRequested
	rankApproved
	rankRejected
)

func rankOf(s ApprovalState) int8 {
	switch s {
	case ApprovalNotRequired:
		return rankNotRequired
	case ApprovalCanceled:
		return rankCanceled
	case ApprovalApproved:
		return rankApproved
	case ApprovalRejected:
		return rankRejected
	}
	return rankRequested // requested, or an unknown state: no decision
}

// approver is one person counted by the step being evaluated.
type approver struct {
	units uint64 // the approver sets they are in, a bit each
	rank  int8
}

// evalScratch is the working memory of one evaluation, pooled.
type evalScratch struct {
	index    map[string]int32  // user ID -> position in people, for one step
	votesFor map[string]string // delegate -> the one approver they count for, for one step
	people   []approver
	recStep  []int32 // per record, the index of its step or -1
	excluded map[string]struct{}
	owner    [64]int32 // matching: the person covering each unit, or -1
}

var scratchPool = sync.Pool{New: func() any {
	return &evalScratch{index: make(map[string]int32), votesFor: make(map[string]string), excluded: make(map[string]struct{})}
}}

// release returns sc to the pool, keeping none of the caller's strings.
func (sc *evalScratch) release() {
	clear(sc.index)
	clear(sc.excluded)
	scratchPool.Put(sc)
}

// linearMax is the size up to which lists are searched by scanning
// rather than through a map.
const linearMax = 8

// prepare finds each record's step and indexes the excluded users.
func (sc *evalScratch) prepare(steps []ApprovalStep, f *ApprovalFacts) {
	clear(sc.excluded)
	if len(f.Excluded) > linearMax {
		for _, u := range f.Excluded {
			sc.excluded[u] = struct{}{}
		}
	}
	sc.recStep = sc.recStep[:0]
	var byName map[string]int32
	if len(steps) > linearMax {
		byName = make(map[string]int32, len(steps))
		for i := len(steps) - 1; i >= 0; i-- {
			byName[steps[i].Name] = int32(i)
		}
	}
	for i := range f.Approvals {
		name := f.Approvals[i].Step
		at := int32(-1)
		if byName != nil {
			if j, ok := byName[name]; ok {
				at = j
			}
		} else {
			for j := range steps {
				if steps[j].Name == name {
					at = int32(j)
					break
				}
			}
		}
		sc.recStep = append(sc.recStep, at)
	}
}

func (sc *evalScratch) isExcluded(f *ApprovalFacts, u string) bool {
	if len(f.Excluded) > linearMax {
		_, ok := sc.excluded[u]
		return ok
	}
	for _, x := range f.Excluded {
		if x == u {
			return true
		}
	}
	return false
}

// add counts users as members of unit (0 to 63), skipping the excluded
// and empty IDs; it reports whether it counted anyone.
func (sc *evalScratch) add(f *ApprovalFacts, users []string, unit int) bool {
	bit := uint64(1) << unit
	counted := false
	for _, u := range users {
		if u == "" || sc.isExcluded(f, u) {
			continue
		}
		counted = true
		at, ok := sc.index[u]
		if !ok {
			at = int32(len(sc.people))
			sc.index[u] = at
			sc.people = append(sc.people, approver{})
		}
		sc.people[at].units |= bit
	}
	return counted
}

// mayDelegate reports whether a's delegate may decide in a's step: they
// are not excluded and not counted in the step themselves.
func (sc *evalScratch) mayDelegate(f *ApprovalFacts, a *Approval) bool {
	if a.Delegate == "" || a.Delegate == a.Approver {
		return false
	}
	_, counted := sc.index[a.Delegate]
	return !counted && !sc.isExcluded(f, a.Delegate)
}

// evalStep sets r to the verdict on step s, the i-th of the policy.
func (sc *evalScratch) evalStep(r *StepResult, s *ApprovalStep, i int, f *ApprovalFacts) {
	clear(sc.index)
	sc.people = sc.people[:0]

	// The step's approver sets: the named users, each group, the field.
	units := len(s.Groups)
	if len(s.Users) > 0 {
		units++
	}
	if s.Field != "" {
		units++
	}
	if units > 64 {
		sc.finish(r, s, VerdictRefused, "refused: the step has more than 64 approver sets")
		return
	}
	unit, empty := 0, "" // empty: the first approver set with no one counted
	if len(s.Users) > 0 {
		if !sc.add(f, s.Users, unit) {
			empty = "the named users"
		}
		unit++
	}
	for _, g := range s.Groups {
		if !sc.add(f, f.Members[g], unit) && empty == "" {
			empty = "group " + g
		}
		unit++
	}
	if s.Field != "" {
		if !sc.add(f, f.Fields[s.Field], unit) && empty == "" {
			empty = "field " + s.Field
		}
	}

	// One person, one vote: a delegate who decided for several approvers
	// of the step counts for the least of them (by ID) only, whatever the
	// order of the records.
	clear(sc.votesFor)
	for k, at := range sc.recStep {
		if at != int32(i) {
			continue
		}
		a := &f.Approvals[k]
		if a.Delegate == "" || a.Delegate == a.Approver {
			continue
		}
		if _, ok := sc.index[a.Approver]; ok && rankOf(a.State) >= rankApproved && sc.mayDelegate(f, a) {
			if cur, ok := sc.votesFor[a.Delegate]; !ok || a.Approver < cur {
				sc.votesFor[a.Delegate] = a.Approver
			}
		}
	}

	// The records: each approver's strongest state.
	uncounted := 0
	for k, at := range sc.recStep {
		if at != int32(i) {
			continue
		}
		a := &f.Approvals[k]
		rank := rankOf(a.State)
		decided := rank >= rankApproved
		p, ok := sc.index[a.Approver]
		if !ok {
			if decided {
				uncounted++
			}
			continue
		}
		if decided && a.Delegate != "" && a.Delegate != a.Approver {
			// A delegate who may not approve, who is counted in the step
			// already, or whose vote counts for another approver decides
			// nothing: the record is ignored.
			if !sc.mayDelegate(f, a) || sc.votesFor[a.Delegate] != a.Approver {
				uncounted++
				continue
			}
		}
		if rank > sc.people[p].rank {
			sc.people[p].rank = rank
		}
	}

	rule := s.WaitFor.Rule
	if !rule.valid() {
		rule = WaitAll
	}
	rejectedAny := false
	if rule.byGroup() {
		accepted, potential := sc.match(units)
		for k := range sc.people {
			rejectedAny = rejectedAny || sc.people[k].rank == rankRejected
		}
		r.Total, r.Accepted, r.Pending, r.Rejected = units, accepted, potential-accepted, units-potential
		r.Required = 1
		if rule == WaitEachGroup {
			r.Required = max(1, units)
		}
	} else {
		for k := range sc.people {
			switch sc.people[k].rank {
			case rankNone, rankRequested:
				r.Pending++
			case rankApproved:
				r.Accepted++
			case rankRejected:
				r.Rejected++
			}
		}
		rejectedAny = r.Rejected > 0
		n := len(sc.people)
		r.Total, r.Required = n, required(rule, s.WaitFor.Percent, n)
		empty = ""
	}

	var v Verdict
	atOnce := s.OnReject != RejectWaitForRest
	switch {
	case atOnce && rejectedAny:
		v = VerdictRefused
	case r.Accepted >= r.Required:
		v = VerdictAccepted
	case r.Accepted+r.Pending >= r.Required:
		v = VerdictWaiting
	default:
		v = VerdictRefused
	}
	sc.finish(r, s, v, sc.reason(r, v, rule, atOnce && rejectedAny, empty, uncounted))
}

func (sc *evalScratch) finish(r *StepResult, s *ApprovalStep, v Verdict, reason string) {
	r.Step, r.Verdict, r.Reason = s.Name, v, reason
}

// required is the number of approvals a person-counting rule needs of n
// people: at least 1.
func required(rule WaitRule, pct, n int) int {
	switch {
	case rule == WaitFirst || rule == WaitPercent && pct <= 0:
		return 1
	case rule == WaitPercent && pct < 100:
		return max(1, (pct*n+50)/100)
	}
	return max(1, n)
}

// match returns the size of a maximum matching of approver sets to
// distinct approving people, then the size of one to distinct people
// approving or still to answer.
func (sc *evalScratch) match(units int) (accepted, potential int) {
	for u := range sc.owner {
		sc.owner[u] = -1
	}
	size := 0
	for _, want := range [2]bool{true, false} {
		for p := range sc.people {
			if size == units {
				break
			}
			rank := sc.people[p].rank
			approved := rank == rankApproved
			pending := rank == rankNone || rank == rankRequested
			if approved != want || !approved && !pending {
				continue
			}
			var visited uint64
			if sc.augment(int32(p), &visited) {
				size++
			}
		}
		if want {
			accepted = size
		}
	}
	return accepted, size
}

// augment looks for an augmenting path from person p (Kuhn's algorithm);
// a person once matched stays matched, possibly to another set.
func (sc *evalScratch) augment(p int32, visited *uint64) bool {
	for set := sc.people[p].units; set != 0; set &= set - 1 {
		u := bits.TrailingZeros64(set)
		bit := uint64(1) << u
		if *visited&bit != 0 {
			continue
		}
		*visited |= bit
		if sc.owner[u] < 0 || sc.augment(sc.owner[u], visited) {
			sc.owner[u] = p
			return true
		}
	}
	return false
}

// reason words a step's verdict.
func (sc *evalScratch) reason(r *StepResult, v Verdict, rule WaitRule, rejectedAtOnce bool, empty string, uncounted int) string {
	var buf [160]byte
	b := append(buf[:0], v...)
	b = append(b, ": "...)
	noun := "approved"
	if rule.byGroup() {
		noun = "groups approved"
	}
	switch {
	case rejectedAtOnce:
		b = append(b, "rejected (reject at once)"...)
	case r.Total == 0:
		b = append(b, "no one counted may approve"...)
	default:
		b = strconv.AppendInt(b, int64(r.Accepted), 10)
		b = append(b, " of "...)
		b = strconv.AppendInt(b, int64(r.Total), 10)
		b = append(b, ' ')
		b = append(b, noun...)
		if v != VerdictAccepted && r.Pending > 0 {
			b = append(b, ", "...)
			b = strconv.AppendInt(b, int64(r.Pending), 10)
			b = append(b, " pending"...)
		}
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(r.Required), 10)
		b = append(b, " required"...)
	}
	if v == VerdictRefused && empty != "" && rule == WaitEachGroup {
		b = append(b, "; no one counted in "...)
		b = append(b, empty...)
	}
	if uncounted > 0 {
		b = append(b, "; "...)
		b = strconv.AppendInt(b, int64(uncounted), 10)
		if uncounted == 1 {
			b = append(b, " response not counted"...)
		} else {
			b = append(b, " responses not counted"...)
		}
	}
	return string(b)
}
