package change_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
)

const (
	approved    = change.ApprovalApproved
	rejected    = change.ApprovalRejected
	requested   = change.ApprovalRequested
	canceled    = change.ApprovalCanceled
	notRequired = change.ApprovalNotRequired
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// rec is a record of user on step "s" in state st.
func rec(user string, st change.ApprovalState) change.Approval {
	a := change.Approval{ID: itil.NewID(), ChangeID: itil.NewID(), Step: "s", Approver: user, State: st}
	if st != requested {
		a.DecidedAt = t0
	}
	if st == rejected {
		a.Comment = "no"
	}
	return a
}

// recs is a record per "user=state" pair, states written a, r, q, c, n.
func recs(pairs ...string) []change.Approval {
	states := map[string]change.ApprovalState{"a": approved, "r": rejected, "q": requested, "c": canceled, "n": notRequired}
	var out []change.Approval
	for _, p := range pairs {
		user, st, _ := strings.Cut(p, "=")
		out = append(out, rec(user, states[st]))
	}
	return out
}

func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "u" + string(rune('1'+i))
	}
	return out
}

// evalStep evaluates s, named "s", as the only step of a policy.
func evalStep(t *testing.T, s change.ApprovalStep, f change.ApprovalFacts) change.StepResult {
	t.Helper()
	s.Name = "s"
	p := change.ApprovalPolicy{Name: "p", Steps: []change.ApprovalStep{s}}
	require.NoError(t, p.Validate())
	res := p.Evaluate(f)
	require.Len(t, res.Steps, 1)
	want := res.Steps[0].Verdict
	if s.Optional && want == change.VerdictRefused {
		want = change.VerdictAccepted
	}
	require.Equal(t, want, res.Verdict, "a one-step policy has its step's verdict")
	return res.Steps[0]
}

type counts struct {
	verdict                                   change.Verdict
	total, required, accepted, rejected, pend int
}

func countsOf(r change.StepResult) counts {
	return counts{r.Verdict, r.Total, r.Required, r.Accepted, r.Rejected, r.Pending}
}

const (
	waiting  = change.VerdictWaiting
	accepted = change.VerdictAccepted
	refused  = change.VerdictRefused
)

func TestApprovalWaitRules(t *testing.T) {
	first := change.WaitFor{Rule: change.WaitFirst}
	all := change.WaitFor{Rule: change.WaitAll}
	pct := func(p int) change.WaitFor { return change.WaitFor{Rule: change.WaitPercent, Percent: p} }
	atOnce, wait := change.RejectAtOnce, change.RejectWaitForRest
	for _, tc := range []struct {
		name    string
		wait    change.WaitFor
		reject  change.OnReject
		records []change.Approval
		want    counts
		reason  string
	}{
		{"first, nobody answered", first, atOnce, nil, counts{waiting, 5, 1, 0, 0, 5}, "waiting: 0 of 5 approved, 5 pending, 1 required"},
		{"first, one approval", first, atOnce, recs("u2=a"), counts{accepted, 5, 1, 1, 0, 4}, "accepted: 1 of 5 approved, 1 required"},
		{"first, requested records are pending", first, atOnce, recs("u1=q", "u2=q"), counts{waiting, 5, 1, 0, 0, 5}, ""},
		{"first, reject at once", first, atOnce, recs("u1=r"), counts{refused, 5, 1, 0, 1, 4}, "refused: rejected (reject at once)"},
		{"first, reject at once beats an approval", first, atOnce, recs("u1=a", "u2=r"), counts{refused, 5, 1, 1, 1, 3}, ""},
		{"first, wait for the rest", first, wait, recs("u1=r", "u2=r"), counts{waiting, 5, 1, 0, 2, 3}, ""},
		{"first, wait, then an approval", first, wait, recs("u1=r", "u2=r", "u5=a"), counts{accepted, 5, 1, 1, 2, 2}, ""},
		{"first, wait, everyone rejected", first, wait, recs("u1=r", "u2=r", "u3=r", "u4=r", "u5=r"), counts{refused, 5, 1, 0, 5, 0}, "refused: 0 of 5 approved, 1 required"},
		{"first, canceled cannot answer", first, wait, recs("u1=c", "u2=c", "u3=c", "u4=c", "u5=r"), counts{refused, 5, 1, 0, 1, 0}, ""},
		{"all, one missing", all, atOnce, recs("u1=a", "u2=a", "u3=a", "u4=a"), counts{waiting, 5, 5, 4, 0, 1}, "waiting: 4 of 5 approved, 1 pending, 5 required"},
		{"all, everyone", all, atOnce, recs("u1=a", "u2=a", "u3=a", "u4=a", "u5=a"), counts{accepted, 5, 5, 5, 0, 0}, ""},
		{"all, a rejection under wait cannot be made up", all, wait, recs("u1=a", "u2=r"), counts{refused, 5, 5, 1, 1, 3}, "refused: 1 of 5 approved, 3 pending, 5 required"},
		{"all, a canceled approver cannot approve", all, wait, recs("u1=a", "u2=a", "u3=a", "u4=a", "u5=c"), counts{refused, 5, 5, 4, 0, 0}, ""},
		{"all, an approver not required still counts", all, wait, recs("u1=a", "u2=a", "u3=a", "u4=a", "u5=n"), counts{refused, 5, 5, 4, 0, 0}, "refused: 4 of 5 approved, 5 required"},
		{"first, closed requests after the decision", first, atOnce, recs("u1=a", "u2=n", "u3=n", "u4=c", "u5=n"), counts{accepted, 5, 1, 1, 0, 0}, ""},
		{"60 %, 3 of 5", pct(60), atOnce, recs("u1=a", "u2=a", "u3=a"), counts{accepted, 5, 3, 3, 0, 2}, ""},
		{"60 %, 2 of 5 and 1 rejection, wait", pct(60), wait, recs("u1=a", "u2=a", "u3=r"), counts{waiting, 5, 3, 2, 1, 2}, ""},
		{"60 %, 3 rejections, wait", pct(60), wait, recs("u1=a", "u2=r", "u3=r", "u4=r"), counts{refused, 5, 3, 1, 3, 1}, ""},
		{"60 %, 1 rejection at once", pct(60), atOnce, recs("u1=a", "u2=a", "u3=a", "u4=r"), counts{refused, 5, 3, 3, 1, 1}, ""},
		{"0 % is first", pct(0), atOnce, recs("u4=a"), counts{accepted, 5, 1, 1, 0, 4}, ""},
		{"100 % is all", pct(100), atOnce, recs("u1=a", "u2=a", "u3=a", "u4=a"), counts{waiting, 5, 5, 4, 0, 1}, ""},
		{"duplicate records: the rejection holds", first, wait, recs("u1=a", "u1=r", "u1=q"), counts{waiting, 5, 1, 0, 1, 4}, ""},
		{"duplicate records: the approval beats requested and canceled", first, wait, recs("u1=c", "u1=a", "u1=q"), counts{accepted, 5, 1, 1, 0, 4}, ""},
		{"records of users not asked do not count", first, atOnce, recs("x=a", "y=r"), counts{waiting, 5, 1, 0, 0, 5}, "waiting: 0 of 5 approved, 5 pending, 1 required; 2 responses not counted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := change.ApprovalStep{Users: users(5), WaitFor: tc.wait, OnReject: tc.reject}
			r := evalStep(t, s, change.ApprovalFacts{Approvals: tc.records})
			assert.Equal(t, tc.want, countsOf(r))
			if tc.reason != "" {
				assert.Equal(t, tc.reason, r.Reason)
			}
		})
	}
}

func TestApprovalPercentRounding(t *testing.T) {
	for _, tc := range []struct{ pct, n, want int }{
		{50, 3, 2}, // 1.5 rounds up
		{33, 3, 1}, // 0.99
		{34, 3, 1}, // 1.02
		{49, 3, 1}, // 1.47
		{51, 3, 2}, // 1.53
		{67, 3, 2}, // 2.01
		{10, 3, 1}, // 0.3 rounds to 0: at least one
		{40, 3, 1}, // 1.2 rounds down
		{25, 2, 1}, // 0.5 rounds up
		{75, 2, 2}, // 1.5 rounds up
		{1, 50, 1}, // 0.5 rounds up
		{1, 49, 1}, // 0.49 rounds to 0: at least one
		{99, 100, 99},
		{50, 20, 10},
		{0, 3, 1},   // first
		{-20, 3, 1}, // first (Evaluate reads it; Validate refuses it)
		{100, 3, 3}, // all
		{150, 3, 3}, // all
		{50, 1, 1},
	} {
		s := change.ApprovalStep{Users: make([]string, tc.n), WaitFor: change.WaitFor{Rule: change.WaitPercent, Percent: tc.pct}, OnReject: change.RejectAtOnce}
		for i := range s.Users {
			s.Users[i] = "user" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		}
		p := change.ApprovalPolicy{Name: "p", Steps: []change.ApprovalStep{s}}
		r := p.Evaluate(change.ApprovalFacts{}).Steps[0]
		assert.Equal(t, tc.want, r.Required, "%d %% of %d", tc.pct, tc.n)
		assert.Equal(t, tc.n, r.Total)
	}
}

func TestApprovalNoOneToApprove(t *testing.T) {
	for _, rule := range []change.WaitRule{change.WaitFirst, change.WaitAll, change.WaitPercent, change.WaitEachGroup, change.WaitAnyGroup} {
		s := change.ApprovalStep{Groups: []string{"empty"}, WaitFor: change.WaitFor{Rule: rule}, OnReject: change.RejectWaitForRest}
		if rule == change.WaitPercent {
			s.WaitFor.Percent = 50
		}
		r := evalStep(t, s, change.ApprovalFacts{})
		assert.Equal(t, refused, r.Verdict, rule)
		assert.Equal(t, 1, r.Required, rule)
	}
	// Only the requester is asked: segregation of duties leaves no one.
	s := change.ApprovalStep{Users: []string{"req"}, WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectAtOnce}
	r := evalStep(t, s, change.ApprovalFacts{Excluded: []string{"req"}, Approvals: recs("req=a")})
	assert.Equal(t, counts{refused, 0, 1, 0, 0, 0}, countsOf(r))
	assert.Equal(t, "refused: no one counted may approve; 1 response not counted", r.Reason)
}

func TestApprovalSegregationOfDuties(t *testing.T) {
	cab := map[string][]string{"cab": {"req", "impl", "a", "b", "c"}}
	s := change.ApprovalStep{Groups: []string{"cab"}, WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectAtOnce}
	excl := []string{"req", "assignee", "impl"}

	r := evalStep(t, s, change.ApprovalFacts{Members: cab, Excluded: excl, Approvals: recs("a=a", "b=a", "c=a", "req=a", "impl=a")})
	assert.Equal(t, counts{accepted, 3, 3, 3, 0, 0}, countsOf(r), "the requester and implementer are not counted")
	assert.Equal(t, "accepted: 3 of 3 approved, 3 required; 2 responses not counted", r.Reason)

	r = evalStep(t, s, change.ApprovalFacts{Members: cab, Excluded: excl, Approvals: recs("a=a", "b=a", "impl=r")})
	assert.Equal(t, counts{waiting, 3, 3, 2, 0, 1}, countsOf(r), "an excluded user's rejection does not count either")

	r = evalStep(t, s, change.ApprovalFacts{Members: cab, Approvals: recs("a=a", "b=a", "c=a")})
	assert.Equal(t, counts{waiting, 5, 5, 3, 0, 2}, countsOf(r), "segregation of duties off: everyone counts")

	// More excluded users than the linear scan handles.
	many := append([]string{"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"}, excl...)
	r = evalStep(t, s, change.ApprovalFacts{Members: cab, Excluded: many, Approvals: recs("a=a", "b=a", "c=a", "req=a")})
	assert.Equal(t, counts{accepted, 3, 3, 3, 0, 0}, countsOf(r))
}

func TestApprovalDelegates(t *testing.T) {
	s := change.ApprovalStep{Users: []string{"a", "b", "c"}, WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectAtOnce}
	byDelegate := func(approver, delegate string, st change.ApprovalState) change.Approval {
		r := rec(approver, st)
		r.Delegate = delegate
		return r
	}
	f := change.ApprovalFacts{Excluded: []string{"req"}, Approvals: append(recs("a=a", "b=a"), byDelegate("c", "d", approved))}
	assert.Equal(t, counts{accepted, 3, 3, 3, 0, 0}, countsOf(evalStep(t, s, f)), "a delegate's approval is the approver's")

	f.Approvals[2] = byDelegate("c", "req", approved)
	r := evalStep(t, s, f)
	assert.Equal(t, counts{waiting, 3, 3, 2, 0, 1}, countsOf(r), "the requester cannot approve as a delegate")
	assert.Contains(t, r.Reason, "1 response not counted")

	f.Approvals[2] = byDelegate("c", "req", rejected)
	assert.Equal(t, counts{waiting, 3, 3, 2, 0, 1}, countsOf(evalStep(t, s, f)), "nor reject")

	f.Approvals[2] = byDelegate("c", "a", approved)
	assert.Equal(t, counts{waiting, 3, 3, 2, 0, 1}, countsOf(evalStep(t, s, f)), "a, counted already, does not count twice as c's delegate")
}

func TestApprovalGroups(t *testing.T) {
	members := map[string][]string{
		"network":  {"x", "y"},
		"security": {"x", "z"},
		"dba":      {"w"},
		"empty":    nil,
	}
	fields := map[string][]string{"assignment_group": {"g1", "g2"}}
	each := change.WaitFor{Rule: change.WaitEachGroup}
	anyg := change.WaitFor{Rule: change.WaitAnyGroup}
	all := change.WaitFor{Rule: change.WaitAll}
	pct := change.WaitFor{Rule: change.WaitPercent, Percent: 50}
	ns := []string{"network", "security"}
	atOnce, wait := change.RejectAtOnce, change.RejectWaitForRest
	for _, tc := range []struct {
		name    string
		step    change.ApprovalStep
		records []change.Approval
		want    counts
		reason  string
	}{
		{"all: x in two groups counts once", change.ApprovalStep{Groups: ns, WaitFor: all, OnReject: atOnce},
			recs("x=a", "y=a", "z=a"), counts{accepted, 3, 3, 3, 0, 0}, ""},
		{"50 %: of 3 people, not 4 memberships", change.ApprovalStep{Groups: ns, WaitFor: pct, OnReject: atOnce},
			recs("x=a"), counts{waiting, 3, 2, 1, 0, 2}, ""},
		{"each group: x covers one group only", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: wait},
			recs("x=a"), counts{waiting, 2, 2, 1, 0, 1}, "waiting: 1 of 2 groups approved, 1 pending, 2 required"},
		{"each group: x and y cover both", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: wait},
			recs("x=a", "y=a"), counts{accepted, 2, 2, 2, 0, 0}, "accepted: 2 of 2 groups approved, 2 required"},
		{"each group: x and z cover both", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: wait},
			recs("x=a", "z=a"), counts{accepted, 2, 2, 2, 0, 0}, ""},
		{"each group: x alone cannot", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: wait},
			recs("x=a", "y=r", "z=r"), counts{refused, 2, 2, 1, 1, 0}, ""},
		{"each group: a rejection in one group, another member may approve", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: wait},
			recs("y=r", "z=a"), counts{waiting, 2, 2, 1, 0, 1}, ""},
		{"each group: reject at once", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: atOnce},
			recs("x=a", "y=a", "z=r"), counts{refused, 2, 2, 2, 0, 0}, "refused: rejected (reject at once)"},
		{"each group: an empty group refuses", change.ApprovalStep{Groups: []string{"network", "empty"}, WaitFor: each, OnReject: wait},
			recs("x=a"), counts{refused, 2, 2, 1, 1, 0}, "refused: 1 of 2 groups approved, 2 required; no one counted in group empty"},
		{"each group: an unknown group is empty", change.ApprovalStep{Groups: []string{"network", "nope"}, WaitFor: each, OnReject: wait},
			nil, counts{refused, 2, 2, 0, 1, 1}, ""},
		{"each group: a group of excluded people is empty", change.ApprovalStep{Groups: []string{"network", "dba"}, WaitFor: each, OnReject: wait},
			recs("w=a"), counts{refused, 2, 2, 0, 1, 1}, "refused: 0 of 2 groups approved, 1 pending, 2 required; no one counted in group dba; 1 response not counted"},
		{"each group: users and field are sets too", change.ApprovalStep{Users: []string{"cm"}, Groups: []string{"network"}, Field: "assignment_group", WaitFor: each, OnReject: wait},
			recs("cm=a", "y=a"), counts{waiting, 3, 3, 2, 0, 1}, ""},
		{"each group: users, group, field", change.ApprovalStep{Users: []string{"cm"}, Groups: []string{"network"}, Field: "assignment_group", WaitFor: each, OnReject: wait},
			recs("cm=a", "y=a", "g2=a"), counts{accepted, 3, 3, 3, 0, 0}, ""},
		{"each group: a group whose members are released cannot approve", change.ApprovalStep{Groups: ns, WaitFor: each, OnReject: wait},
			recs("y=a", "x=n", "z=n"), counts{refused, 2, 2, 1, 1, 0}, ""},
		{"any group: one approval", change.ApprovalStep{Groups: ns, WaitFor: anyg, OnReject: atOnce},
			recs("z=a"), counts{accepted, 2, 1, 1, 0, 1}, "accepted: 1 of 2 groups approved, 1 required"},
		{"any group: two groups approved", change.ApprovalStep{Groups: ns, WaitFor: anyg, OnReject: wait},
			recs("z=a", "y=a"), counts{accepted, 2, 1, 2, 0, 0}, ""},
		{"any group: rejections in network, security may still approve", change.ApprovalStep{Groups: ns, WaitFor: anyg, OnReject: wait},
			recs("x=r", "y=r"), counts{waiting, 2, 1, 0, 1, 1}, ""},
		{"any group: everyone rejected", change.ApprovalStep{Groups: ns, WaitFor: anyg, OnReject: wait},
			recs("x=r", "y=r", "z=r"), counts{refused, 2, 1, 0, 2, 0}, ""},
		{"any group: reject at once", change.ApprovalStep{Groups: ns, WaitFor: anyg, OnReject: atOnce},
			recs("y=r"), counts{refused, 2, 1, 0, 0, 2}, ""},
		{"any group: an empty group does not refuse", change.ApprovalStep{Groups: []string{"empty", "network"}, WaitFor: anyg, OnReject: wait},
			nil, counts{waiting, 2, 1, 0, 1, 1}, ""},
		{"any group: only empty groups refuse", change.ApprovalStep{Groups: []string{"empty", "dba"}, WaitFor: anyg, OnReject: wait},
			nil, counts{refused, 2, 1, 0, 2, 0}, "refused: 0 of 2 groups approved, 1 required"},
		{"any group: the field", change.ApprovalStep{Groups: []string{"empty"}, Field: "assignment_group", WaitFor: anyg, OnReject: wait},
			recs("g1=a"), counts{accepted, 2, 1, 1, 1, 0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evalStep(t, tc.step, change.ApprovalFacts{Members: members, Fields: fields, Excluded: []string{"w"}, Approvals: tc.records})
			assert.Equal(t, tc.want, countsOf(r))
			if tc.reason != "" {
				assert.Equal(t, tc.reason, r.Reason)
			}
		})
	}
}

func TestApprovalPolicyVerdict(t *testing.T) {
	step := func(name string, optional bool) change.ApprovalStep {
		return change.ApprovalStep{Name: name, Optional: optional, Users: []string{name + "-approver"},
			WaitFor: change.WaitFor{Rule: change.WaitFirst}, OnReject: change.RejectAtOnce}
	}
	decide := func(step string, st change.ApprovalState) change.Approval {
		r := rec(step+"-approver", st)
		r.Step = step
		return r
	}
	p := change.ApprovalPolicy{Name: "normal", Steps: []change.ApprovalStep{step("assess", false), step("security", true), step("cab", false)}}
	require.NoError(t, p.Validate())
	for _, tc := range []struct {
		name    string
		records []change.Approval
		want    change.Verdict
		steps   []change.Verdict
	}{
		{"nothing yet", nil, waiting, []change.Verdict{waiting, waiting, waiting}},
		{"first step accepted", []change.Approval{decide("assess", approved)}, waiting, []change.Verdict{accepted, waiting, waiting}},
		{"all accepted", []change.Approval{decide("assess", approved), decide("security", approved), decide("cab", approved)}, accepted, []change.Verdict{accepted, accepted, accepted}},
		{"optional step refused", []change.Approval{decide("assess", approved), decide("security", rejected), decide("cab", approved)}, accepted, []change.Verdict{accepted, refused, accepted}},
		{"optional step still waits", []change.Approval{decide("assess", approved), decide("cab", approved)}, waiting, []change.Verdict{accepted, waiting, accepted}},
		{"mandatory refused while others wait", []change.Approval{decide("cab", rejected)}, refused, []change.Verdict{waiting, waiting, refused}},
		{"records of unknown steps are ignored", []change.Approval{decide("other", rejected)}, waiting, []change.Verdict{waiting, waiting, waiting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := p.Evaluate(change.ApprovalFacts{Approvals: tc.records})
			assert.Equal(t, tc.want, res.Verdict)
			var got []change.Verdict
			for i, s := range res.Steps {
				assert.Equal(t, p.Steps[i].Name, s.Step)
				got = append(got, s.Verdict)
			}
			assert.Equal(t, tc.steps, got)
		})
	}
	assert.Equal(t, refused, change.ApprovalPolicy{}.Evaluate(change.ApprovalFacts{}).Verdict, "no steps: refused")
}

func TestApprovalInvalidPolicyReadsStrictly(t *testing.T) {
	s := change.ApprovalStep{Name: "s", Users: []string{"a", "b"}, WaitFor: change.WaitFor{Rule: "most"}, OnReject: "maybe"}
	p := change.ApprovalPolicy{Name: "p", Steps: []change.ApprovalStep{s}}
	require.Error(t, p.Validate())
	r := p.Evaluate(change.ApprovalFacts{Approvals: recs("a=a")}).Steps[0]
	assert.Equal(t, counts{waiting, 2, 2, 1, 0, 1}, countsOf(r), "an unknown rule reads as all")
	r = p.Evaluate(change.ApprovalFacts{Approvals: recs("a=a", "b=r")}).Steps[0]
	assert.Equal(t, refused, r.Verdict)

	many := make([]string, 70)
	for i := range many {
		many[i] = "g" + string(rune('A'+i))
	}
	p.Steps[0] = change.ApprovalStep{Name: "s", Groups: many, WaitFor: change.WaitFor{Rule: change.WaitAnyGroup}, OnReject: change.RejectAtOnce}
	r = p.Evaluate(change.ApprovalFacts{}).Steps[0]
	assert.Equal(t, refused, r.Verdict)
	assert.Equal(t, "refused: the step has more than 64 approver sets", r.Reason)
}

func TestApprovalPolicyValidate(t *testing.T) {
	good := change.ApprovalStep{Name: "assess", Field: "assignment_group", WaitFor: change.WaitFor{Rule: change.WaitFirst}, OnReject: change.RejectAtOnce}
	require.NoError(t, good.Validate())
	require.NoError(t, change.ApprovalPolicy{Name: "normal", Steps: []change.ApprovalStep{good}}.Validate())

	p := change.ApprovalPolicy{Steps: []change.ApprovalStep{
		good,
		{Name: "assess", WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectWaitForRest},
		{Name: "cab", Users: []string{"a", "", "a", " "}, Groups: []string{"cab", "cab"}, WaitFor: change.WaitFor{Rule: change.WaitPercent, Percent: 150}, OnReject: "never"},
		{Name: "", Users: []string{"a"}, WaitFor: change.WaitFor{Rule: change.WaitFirst, Percent: 50}, OnReject: change.RejectAtOnce},
		{Name: "x", Users: []string{"a"}, WaitFor: change.WaitFor{Rule: "some"}, OnReject: change.RejectAtOnce},
		{Name: "y", Users: []string{"a"}, WaitFor: change.WaitFor{Rule: change.WaitPercent, Percent: -1}, OnReject: change.RejectAtOnce},
		{Name: "z", Users: []string{strings.Repeat("é", 200)}, Field: "bad\x00field", WaitFor: change.WaitFor{Rule: change.WaitPercent}, OnReject: change.RejectAtOnce},
	}}
	err := p.Validate()
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range []string{
		"name",
		"steps[1].name", "steps[1].users",
		"steps[2].users[1]", "steps[2].users[2]", "steps[2].users[3]", "steps[2].groups[1]", "steps[2].wait_for.percent", "steps[2].on_reject",
		"steps[3].name", "steps[3].wait_for.percent",
		"steps[4].wait_for.rule",
		"steps[5].wait_for.percent",
		"steps[6].users[0]", "steps[6].field",
	} {
		assert.True(t, v.Has(f), "%s in %v", f, err)
	}
	assert.Len(t, v.Fields, 15, "%v", err)
	assert.Contains(t, err.Error(), "steps[1].name: repeats the name of steps[0]")
	assert.Contains(t, err.Error(), "steps[2].users[2]: repeats users[0]")

	v = nil
	require.ErrorAs(t, change.ApprovalPolicy{Name: "p"}.Validate(), &v)
	assert.True(t, v.Has("steps"))
	err = change.ApprovalStep{Name: "s", Users: []string{"a"}}.Validate()
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("wait_for.rule") && v.Has("on_reject"), "%v", err)
}

func TestApprovalValidate(t *testing.T) {
	ok := rec("a", rejected)
	ok.Groups = []string{"cab"}
	require.NoError(t, ok.Validate())
	require.NoError(t, rec("a", requested).Validate())

	for _, tc := range []struct {
		name   string
		edit   func(a *change.Approval)
		fields []string
	}{
		{"reject needs a comment", func(a *change.Approval) { a.Comment = "" }, []string{"comment"}},
		{"a blank comment is none", func(a *change.Approval) { a.Comment = " \n" }, []string{"comment"}},
		{"requested has no decision time", func(a *change.Approval) { a.State = requested }, []string{"decided_at"}},
		{"approved needs a decision time", func(a *change.Approval) { a.State, a.DecidedAt = approved, time.Time{} }, []string{"decided_at"}},
		{"unknown state", func(a *change.Approval) { a.State = "maybe" }, []string{"state"}},
		{"ids, step and approver", func(a *change.Approval) { a.ID, a.ChangeID, a.Step, a.Approver = itil.NilID, itil.NilID, "", "" }, []string{"id", "change_id", "step", "approver"}},
		{"a delegate is someone else", func(a *change.Approval) { a.Delegate = "a" }, []string{"delegate"}},
		{"groups", func(a *change.Approval) { a.Groups = []string{"cab", "", "cab"} }, []string{"groups[1]", "groups[2]"}},
		{"a decision time storage can write", func(a *change.Approval) { a.DecidedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"decided_at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			a.Groups = append([]string(nil), ok.Groups...)
			tc.edit(&a)
			var v *itil.ValidationError
			require.ErrorAs(t, a.Validate(), &v)
			var got []string
			for _, f := range v.Fields {
				got = append(got, f.Field)
			}
			assert.Equal(t, tc.fields, got)
		})
	}
	approvedNoComment := rec("a", approved)
	approvedNoComment.Comment = ""
	require.NoError(t, approvedNoComment.Validate(), "approving needs no comment")
}

func TestDelegation(t *testing.T) {
	ds := []change.Delegation{
		{From: "ann", To: "bob", Start: t0, End: t0.Add(7 * 24 * time.Hour)},
		{From: "bob", To: "cid", Start: t0},
	}
	for _, d := range ds {
		require.NoError(t, d.Validate())
	}
	for _, tc := range []struct {
		user, approver string
		at             time.Time
		want           bool
	}{
		{"ann", "ann", t0.Add(-time.Hour), true},
		{"bob", "ann", t0.Add(-time.Nanosecond), false},
		{"bob", "ann", t0, true},
		{"bob", "ann", t0.Add(3 * 24 * time.Hour), true},
		{"bob", "ann", t0.Add(7*24*time.Hour - 1), true},
		{"bob", "ann", t0.Add(7 * 24 * time.Hour), false},
		{"ann", "bob", t0.Add(time.Hour), false},            // not the other way round
		{"cid", "bob", t0.Add(1000 * 24 * time.Hour), true}, // no end
		{"cid", "ann", t0.Add(time.Hour), false},            // no chains
		{"dan", "ann", t0.Add(time.Hour), false},            // not a delegate
		{"", "", t0, false},                                 // nobody
		{"bob", "ann", t0.Add(time.Hour).In(time.FixedZone("x", 3600)), true},
	} {
		assert.Equal(t, tc.want, change.MayActFor(tc.user, tc.approver, tc.at, ds), "%s for %s at %s", tc.user, tc.approver, tc.at)
	}

	var v *itil.ValidationError
	require.ErrorAs(t, change.Delegation{From: "a", To: "a", End: t0}.Validate(), &v)
	assert.True(t, v.Has("to") && v.Has("start") && !v.Has("end"), "%v", v)
	require.ErrorAs(t, change.Delegation{From: "a", To: "b", Start: t0, End: t0}.Validate(), &v)
	assert.True(t, v.Has("end"), "%v", v)
	require.ErrorAs(t, change.Delegation{To: "b", Start: t0}.Validate(), &v)
	assert.True(t, v.Has("from"), "%v", v)
}
