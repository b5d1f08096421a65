package change_test

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/itilkit/itil/change"
)

// BenchmarkApprovalPolicy evaluates a policy of 5 steps × 20 approvers
// with a realistic mix of responses, beside the limit: the same verdicts
// and counts computed by a loop written for this one job (maps kept
// between runs, no reasons), in the same benchmark loop. It reports
// x-limit, Evaluate's time divided by the limit's (target: at most 2):
//
//	go test ./change -run '^$' -bench ApprovalPolicy -benchtime 1s -count 3

// benchApproval builds the policy and its facts:
//
//   - assess: the assignment group's 20 members (the assignee among
//     them), first response, reject at once; decided by one approval,
//     the other requests no longer required;
//   - peer: 20 named users, 60 %, wait for the rest; 10 approved, 2
//     rejected, 8 still asked;
//   - cab: four groups of 6, 6, 5 and 5 members, 20 people (two are in
//     two groups, the implementer in one), each group; three groups
//     approved, some members rejected;
//   - business: two groups of 10, any group, reject at once; 12 asked, 8
//     without a record yet;
//   - security (optional): a group of 20, all, reject at once; 15
//     approved, one of them by a delegate, 5 still asked.
func benchApproval() (change.ApprovalPolicy, change.ApprovalFacts) {
	user := func(prefix string, i int) string { return fmt.Sprintf("%s.%02d@example.com", prefix, i) }
	group := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, user(prefix, i))
		}
		return out
	}
	f := change.ApprovalFacts{
		Members: map[string][]string{
			"network":   append(group("cab", 0, 5), user("cab", 19)),
			"security":  append(group("cab", 5, 10), user("cab", 0)),
			"dba":       group("cab", 10, 15),
			"apps":      group("cab", 15, 20),
			"finance":   group("biz", 0, 10),
			"marketing": group("biz", 10, 20),
			"secops":    group("sec", 0, 20),
		},
		Fields:   map[string][]string{"assignment_group": group("ops", 0, 20)},
		Excluded: []string{"requester@example.com", user("ops", 3), user("cab", 12)},
	}
	p := change.ApprovalPolicy{Name: "normal", Steps: []change.ApprovalStep{
		{Name: "assess", Field: "assignment_group", WaitFor: change.WaitFor{Rule: change.WaitFirst}, OnReject: change.RejectAtOnce},
		{Name: "peer", Users: group("peer", 0, 20), WaitFor: change.WaitFor{Rule: change.WaitPercent, Percent: 60}, OnReject: change.RejectWaitForRest},
		{Name: "cab", Groups: []string{"network", "security", "dba", "apps"}, WaitFor: change.WaitFor{Rule: change.WaitEachGroup}, OnReject: change.RejectWaitForRest},
		{Name: "business", Groups: []string{"finance", "marketing"}, WaitFor: change.WaitFor{Rule: change.WaitAnyGroup}, OnReject: change.RejectAtOnce},
		{Name: "security", Optional: true, Groups: []string{"secops"}, WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectAtOnce},
	}}
	add := func(step, approver string, st change.ApprovalState) *change.Approval {
		a := rec(approver, st)
		a.Step = step
		f.Approvals = append(f.Approvals, a)
		return &f.Approvals[len(f.Approvals)-1]
	}
	for i := range 20 {
		st := notRequired
		if i == 7 {
			st = approved
		}
		if i != 3 { // the assignee is not asked
			add("assess", user("ops", i), st)
		}
	}
	for i := range 20 {
		st := requested
		switch {
		case i < 10:
			st = approved
		case i < 12:
			st = rejected
		}
		add("peer", user("peer", i), st)
	}
	for i := range 20 {
		st := requested
		switch {
		case i == 0 || i == 6 || i == 16 || i == 19:
			st = approved
		case i == 1 || i == 11:
			st = rejected
		case i == 12:
			continue // the implementer is not asked
		}
		add("cab", user("cab", i), st)
	}
	for i := range 20 {
		if i%5 < 3 {
			add("business", user("biz", i), requested)
		}
	}
	for i := range 20 {
		st := approved
		if i >= 15 {
			st = requested
		}
		a := add("security", user("sec", i), st)
		if i == 4 {
			a.Delegate = "deputy@example.com"
		}
	}
	// Records arrive in no particular order.
	r := rand.New(rand.NewPCG(15, 15))
	r.Shuffle(len(f.Approvals), func(i, j int) { f.Approvals[i], f.Approvals[j] = f.Approvals[j], f.Approvals[i] })
	return p, f
}

// limitScratch is the limit's working memory, kept between runs.
type limitScratch struct {
	people map[string]int
	units  []uint64
	state  []int // 0 no record, then limitStrength
	byStep [][]int
	owner  [64]int
}

type limitStep struct {
	verdict                                      change.Verdict
	total, required, accepted, rejected, pending int
}

// limitStrength orders record states: the strongest of an approver's
// records holds.
func limitStrength(s change.ApprovalState) int {
	switch s {
	case notRequired:
		return 1
	case canceled:
		return 2
	case approved:
		return 4
	case rejected:
		return 5
	}
	return 3
}

// approvalLimit computes the verdicts and counts of p on f directly.
func approvalLimit(p change.ApprovalPolicy, f change.ApprovalFacts, sc *limitScratch, out []limitStep) (change.Verdict, []limitStep) {
	for len(sc.byStep) < len(p.Steps) {
		sc.byStep = append(sc.byStep, nil)
	}
	for i := range p.Steps {
		sc.byStep[i] = sc.byStep[i][:0]
	}
	for k := range f.Approvals {
		for i := range p.Steps {
			if p.Steps[i].Name == f.Approvals[k].Step {
				sc.byStep[i] = append(sc.byStep[i], k)
				break
			}
		}
	}
	out = out[:0]
	policy, waitingAny := accepted, false
	for si := range p.Steps {
		s := &p.Steps[si]
		clear(sc.people)
		sc.units, sc.state = sc.units[:0], sc.state[:0]
		unit := 0
		add := func(users []string) {
			for _, u := range users {
				if slices.Contains(f.Excluded, u) {
					continue
				}
				i, ok := sc.people[u]
				if !ok {
					i = len(sc.units)
					sc.people[u] = i
					sc.units = append(sc.units, 0)
					sc.state = append(sc.state, 0)
				}
				sc.units[i] |= 1 << unit
			}
			unit++
		}
		if len(s.Users) > 0 {
			add(s.Users)
		}
		for _, g := range s.Groups {
			add(f.Members[g])
		}
		if s.Field != "" {
			add(f.Fields[s.Field])
		}
		for _, k := range sc.byStep[si] {
			a := &f.Approvals[k]
			i, ok := sc.people[a.Approver]
			if !ok {
				continue
			}
			if a.Delegate != "" && (a.State == approved || a.State == rejected) {
				if _, in := sc.people[a.Delegate]; in || slices.Contains(f.Excluded, a.Delegate) {
					continue
				}
			}
			sc.state[i] = max(sc.state[i], limitStrength(a.State))
		}
		var r limitStep
		for _, st := range sc.state {
			switch st {
			case 4:
				r.accepted++
			case 5:
				r.rejected++
			case 0, 3:
				r.pending++
			}
		}
		rejectedAny := r.rejected > 0
		switch s.WaitFor.Rule {
		case change.WaitFirst:
			r.total, r.required = len(sc.state), 1
		case change.WaitAll:
			r.total, r.required = len(sc.state), max(1, len(sc.state))
		case change.WaitPercent:
			r.total, r.required = len(sc.state), max(1, (s.WaitFor.Percent*len(sc.state)+50)/100)
		default: // each_group, any_group
			for u := range unit {
				sc.owner[u] = -1
			}
			acc := sc.matching(func(st int) bool { return st == 4 })
			pot := acc + sc.matching(func(st int) bool { return st == 0 || st == 3 })
			r.total, r.accepted, r.pending, r.rejected = unit, acc, pot-acc, unit-pot
			r.required = 1
			if s.WaitFor.Rule == change.WaitEachGroup {
				r.required = unit
			}
		}
		switch {
		case s.OnReject == change.RejectAtOnce && rejectedAny:
			r.verdict = refused
		case r.accepted >= r.required:
			r.verdict = accepted
		case r.accepted+r.pending >= r.required:
			r.verdict = waiting
		default:
			r.verdict = refused
		}
		if r.verdict == refused && !s.Optional {
			policy = refused
		}
		waitingAny = waitingAny || r.verdict == waiting
		out = append(out, r)
	}
	if policy != refused && waitingAny {
		policy = waiting
	}
	return policy, out
}

// matching extends the matching in sc.owner of units to people with the
// people whose state ok accepts (Kuhn's algorithm), returning how many
// it adds.
func (sc *limitScratch) matching(ok func(int) bool) int {
	var seen uint64
	var try func(p int) bool
	try = func(p int) bool {
		for set := sc.units[p] &^ seen; set != 0; set &= set - 1 {
			u := bits.TrailingZeros64(set)
			bit := uint64(1) << u
			if seen&bit != 0 {
				continue
			}
			seen |= bit
			if sc.owner[u] < 0 || try(sc.owner[u]) {
				sc.owner[u] = p
				return true
			}
		}
		return false
	}
	size := 0
	for p, st := range sc.state {
		if ok(st) {
			seen = 0
			if try(p) {
				size++
			}
		}
	}
	return size
}

func BenchmarkApprovalPolicy(b *testing.B) {
	p, f := benchApproval()
	if err := p.Validate(); err != nil {
		b.Fatal(err)
	}
	for _, a := range f.Approvals {
		if err := a.Validate(); err != nil {
			b.Fatal(err)
		}
	}
	sc := &limitScratch{people: map[string]int{}}
	var steps []limitStep
	got := p.Evaluate(f)
	want, steps := approvalLimit(p, f, sc, steps)
	if got.Verdict != want || len(got.Steps) != len(steps) {
		b.Fatalf("Evaluate: %s, the limit: %s", got.Verdict, want)
	}
	for i, s := range got.Steps {
		if (limitStep{s.Verdict, s.Total, s.Required, s.Accepted, s.Rejected, s.Pending}) != steps[i] {
			b.Fatalf("step %s: Evaluate %+v, the limit %+v", s.Step, s, steps[i])
		}
	}
	b.ReportAllocs()
	var ours, limit time.Duration
	for b.Loop() {
		t0 := time.Now()
		p.Evaluate(f)
		t1 := time.Now()
		approvalLimit(p, f, sc, steps)
		ours += t1.Sub(t0)
		limit += time.Since(t1)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "evaluate-ns/op")
	b.ReportMetric(float64(limit.Nanoseconds())/float64(b.N), "limit-ns/op")
	b.ReportMetric(float64(ours)/float64(limit), "x-limit")
}
