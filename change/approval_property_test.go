package change_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/itilkit/itil/change"
)

// The approval evaluation is compared with modelEvaluate, written as
// plainly as possible from the rules: sets of users, a brute-force
// matching for the group rules, and floating-point rounding.

var (
	propUsers  = []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}
	propGroups = []string{"g0", "g1", "g2", "g3"}
	propStates = []change.ApprovalState{requested, approved, approved, rejected, canceled, notRequired}
	propRules  = []change.WaitRule{change.WaitFirst, change.WaitAll, change.WaitPercent, change.WaitEachGroup, change.WaitAnyGroup, "bogus"}
)

type approvalCase struct {
	policy change.ApprovalPolicy
	facts  change.ApprovalFacts
}

func drawRecord(t *rapid.T, steps []change.ApprovalStep) change.Approval {
	names := []string{"zz"}
	for _, s := range steps {
		names = append(names, s.Name, s.Name, s.Name)
	}
	a := rec(rapid.SampledFrom(propUsers).Draw(t, "approver"), rapid.SampledFrom(propStates).Draw(t, "state"))
	a.Step = rapid.SampledFrom(names).Draw(t, "step")
	a.Delegate = rapid.SampledFrom(append([]string{"", "", "", "", "", "d0"}, propUsers...)).Draw(t, "delegate")
	return a
}

func drawApprovalCase(t *rapid.T) approvalCase {
	subset := func(from []string, max int, label string) []string {
		return rapid.SliceOfNDistinct(rapid.SampledFrom(from), 0, max, rapid.ID[string]).Draw(t, label)
	}
	var c approvalCase
	c.facts.Members = map[string][]string{}
	for _, g := range propGroups[:3] { // g3 stays unknown
		c.facts.Members[g] = subset(propUsers, 4, "members")
	}
	c.facts.Fields = map[string][]string{"f0": subset(propUsers, 3, "field")}
	c.facts.Excluded = subset(propUsers, 3, "excluded")
	c.policy.Name = "p"
	for i := range rapid.IntRange(1, 4).Draw(t, "steps") {
		s := change.ApprovalStep{
			Name:     fmt.Sprintf("s%d", i),
			Optional: rapid.Bool().Draw(t, "optional"),
			Users:    subset(propUsers, 3, "users"),
			Groups:   subset(propGroups, 3, "groups"),
			Field:    rapid.SampledFrom([]string{"", "", "f0", "f1"}).Draw(t, "field"),
			WaitFor: change.WaitFor{
				Rule:    rapid.SampledFrom(propRules).Draw(t, "rule"),
				Percent: rapid.IntRange(-10, 110).Draw(t, "percent"),
			},
			OnReject: rapid.SampledFrom([]change.OnReject{change.RejectAtOnce, change.RejectWaitForRest, "bogus"}).Draw(t, "on_reject"),
		}
		c.policy.Steps = append(c.policy.Steps, s)
	}
	for range rapid.IntRange(0, 24).Draw(t, "records") {
		c.facts.Approvals = append(c.facts.Approvals, drawRecord(t, c.policy.Steps))
	}
	return c
}

// modelStrength orders record states: the strongest of an approver's
// records holds.
var modelStrength = []change.ApprovalState{"", notRequired, canceled, requested, approved, rejected}

func modelStep(s change.ApprovalStep, f change.ApprovalFacts) change.StepResult {
	excluded := map[string]bool{}
	for _, u := range f.Excluded {
		excluded[u] = true
	}
	var sets [][]string
	if len(s.Users) > 0 {
		sets = append(sets, s.Users)
	}
	for _, g := range s.Groups {
		sets = append(sets, f.Members[g])
	}
	if s.Field != "" {
		sets = append(sets, f.Fields[s.Field])
	}
	counted := map[string]bool{}
	for i, set := range sets {
		var kept []string
		for _, u := range set {
			if !excluded[u] {
				kept = append(kept, u)
				counted[u] = true
			}
		}
		sets[i] = kept
	}
	state := map[string]change.ApprovalState{}
	// One person, one vote: a delegate who decided for several approvers
	// of the step counts for the least of them only.
	votesFor := map[string]string{}
	for _, a := range f.Approvals {
		if a.Step == s.Name && counted[a.Approver] && (a.State == approved || a.State == rejected) &&
			a.Delegate != "" && a.Delegate != a.Approver && !excluded[a.Delegate] && !counted[a.Delegate] {
			if cur, ok := votesFor[a.Delegate]; !ok || a.Approver < cur {
				votesFor[a.Delegate] = a.Approver
			}
		}
	}
	for _, a := range f.Approvals {
		if a.Step != s.Name || !counted[a.Approver] {
			continue
		}
		decision := a.State == approved || a.State == rejected
		if decision && a.Delegate != "" && a.Delegate != a.Approver &&
			(excluded[a.Delegate] || counted[a.Delegate] || votesFor[a.Delegate] != a.Approver) {
			continue
		}
		if slices.Index(modelStrength, a.State) > slices.Index(modelStrength, state[a.Approver]) {
			state[a.Approver] = a.State
		}
	}
	isApproved := func(u string) bool { return state[u] == approved }
	mayApprove := func(u string) bool { return state[u] == approved || state[u] == requested || state[u] == "" }

	r := change.StepResult{Step: s.Name}
	rule := s.WaitFor.Rule
	if !slices.Contains(propRules[:5], rule) {
		rule = change.WaitAll
	}
	anyRejected := false
	for u := range counted {
		anyRejected = anyRejected || state[u] == rejected
	}
	switch rule {
	case change.WaitEachGroup, change.WaitAnyGroup:
		r.Total = len(sets)
		r.Accepted = bruteMatching(sets, isApproved)
		potential := bruteMatching(sets, mayApprove)
		r.Pending, r.Rejected = potential-r.Accepted, r.Total-potential
		r.Required = 1
		if rule == change.WaitEachGroup {
			r.Required = max(1, len(sets))
		}
	default:
		n := len(counted)
		r.Total = n
		for u := range counted {
			switch state[u] {
			case approved:
				r.Accepted++
			case rejected:
				r.Rejected++
			case requested, "":
				r.Pending++
			}
		}
		pct := s.WaitFor.Percent
		switch {
		case rule == change.WaitFirst || rule == change.WaitPercent && pct <= 0:
			r.Required = 1
		case rule == change.WaitAll || pct >= 100:
			r.Required = max(1, n)
		default:
			r.Required = max(1, int(math.Floor(float64(pct)*float64(n)/100+0.5)))
		}
	}
	switch {
	case s.OnReject != change.RejectWaitForRest && anyRejected:
		r.Verdict = refused
	case r.Accepted >= r.Required:
		r.Verdict = accepted
	case r.Accepted+r.Pending >= r.Required:
		r.Verdict = waiting
	default:
		r.Verdict = refused
	}
	return r
}

// bruteMatching is the largest number of sets that distinct users for
// whom ok holds can cover, trying every assignment.
func bruteMatching(sets [][]string, ok func(string) bool) int {
	used := map[string]bool{}
	var best func(i int) int
	best = func(i int) int {
		if i == len(sets) {
			return 0
		}
		b := best(i + 1)
		for _, u := range sets[i] {
			if ok(u) && !used[u] {
				used[u] = true
				b = max(b, 1+best(i+1))
				used[u] = false
			}
		}
		return b
	}
	return best(0)
}

func modelEvaluate(p change.ApprovalPolicy, f change.ApprovalFacts) change.ApprovalResult {
	res := change.ApprovalResult{Verdict: accepted}
	if len(p.Steps) == 0 {
		res.Verdict = refused
	}
	anyWaiting := false
	for _, s := range p.Steps {
		r := modelStep(s, f)
		res.Steps = append(res.Steps, r)
		if r.Verdict == refused && !s.Optional {
			res.Verdict = refused
		}
		anyWaiting = anyWaiting || r.Verdict == waiting
	}
	if res.Verdict != refused && anyWaiting {
		res.Verdict = waiting
	}
	return res
}

// withoutReasons blanks the reasons, which the model does not write.
func withoutReasons(r change.ApprovalResult) change.ApprovalResult {
	r.Steps = slices.Clone(r.Steps)
	for i := range r.Steps {
		r.Steps[i].Reason = ""
	}
	return r
}

func TestApprovalEvaluateMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawApprovalCase(t)
		got := c.policy.Evaluate(c.facts)
		if want := modelEvaluate(c.policy, c.facts); !equalResults(withoutReasons(got), want) {
			t.Fatalf("Evaluate = %+v\nmodel    = %+v", got, want)
		}
		for _, s := range got.Steps {
			if s.Reason == "" {
				t.Fatalf("step %s has no reason", s.Step)
			}
		}
	})
}

func TestApprovalEvaluateIgnoresOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawApprovalCase(t)
		got := c.policy.Evaluate(c.facts)
		shuffled := c.facts
		shuffled.Approvals = rapid.Permutation(c.facts.Approvals).Draw(t, "order")
		if again := c.policy.Evaluate(shuffled); !equalResults(got, again) {
			t.Fatalf("in order:    %+v\nreordered: %+v", got, again)
		}
	})
}

var verdictOrder = map[change.Verdict]int{refused: 0, waiting: 1, accepted: 2}

// TestApprovalResponseNeverReopens adds a record for an approver whose
// request on the step is still open (records in state requested, or none
// yet), as a response or a closing does: an accepted step or policy never
// waits again (it may be refused, by a rejection under RejectAtOnce), and
// an approval never makes a verdict worse.
func TestApprovalResponseNeverReopens(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawApprovalCase(t)
		before := c.policy.Evaluate(c.facts)
		a := drawRecord(t, c.policy.Steps)
		for _, old := range c.facts.Approvals {
			if old.Step == a.Step && old.Approver == a.Approver && old.State != requested {
				t.Skip("the approver's request on this step is closed already")
			}
			// Respond lets a delegate decide one request per step: a
			// second delegated decision in the step is never written.
			if a.Delegate != "" && old.Step == a.Step && old.Delegate == a.Delegate && old.State != requested {
				t.Skip("the delegate decided in this step already")
			}
		}
		after := c.policy.Evaluate(change.ApprovalFacts{
			Members: c.facts.Members, Fields: c.facts.Fields, Excluded: c.facts.Excluded,
			Approvals: append(slices.Clone(c.facts.Approvals), a),
		})
		check := func(what string, b, x change.Verdict, atOnce bool) {
			if b == accepted && x == waiting {
				t.Fatalf("%s: accepted before %+v, waiting after", what, a)
			}
			if b == accepted && x == refused && !(a.State == rejected && atOnce) {
				t.Fatalf("%s: accepted before %+v, refused after", what, a)
			}
			if a.State == approved && verdictOrder[x] < verdictOrder[b] {
				t.Fatalf("%s: %s before the approval %+v, %s after", what, b, a, x)
			}
		}
		for i, s := range c.policy.Steps {
			check("step "+s.Name, before.Steps[i].Verdict, after.Steps[i].Verdict, s.OnReject != change.RejectWaitForRest)
		}
		check("policy", before.Verdict, after.Verdict, true)
	})
}

func equalResults(a, b change.ApprovalResult) bool {
	return a.Verdict == b.Verdict && slices.Equal(a.Steps, b.Steps)
}
