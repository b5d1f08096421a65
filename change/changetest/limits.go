package changetest

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
)

// testLimits: a change with every text at its longest (short texts of
// 160 four-byte characters, long ones of 32,000 characters) and MaxCIs
// configuration items is stored and read back whole, and found by its
// indexed fields, on every backend; one character more, invalid UTF-8 or
// a NUL byte in any text a command takes is a *itil.ValidationError
// naming that field alone, and nothing is written.
func testLimits(t *testing.T, newStore func(*testing.T) storage.Store) {
	f, _ := setupProblems(t, newStore)
	short := strings.Repeat("𝄞", check.Short)
	long := strings.Repeat("é", check.Long)
	cis := make([]itil.ID, change.MaxCIs)
	for i := range cis {
		cis[i] = itil.NewID()
	}
	start := f.clock.Now().Add(24 * time.Hour)
	full := change.NewChange{Title: short, Description: long, Justification: long, Implementation: long, Backout: long,
		TestPlan: long, AssignmentGroup: short, Assignee: short, CIID: cis[0], CIIDs: cis[1:], Impact: 1,
		PlannedStart: start, PlannedEnd: start.Add(time.Hour)}
	ch, err := f.svc.Open(f.ctx, requester, full)
	require.NoError(t, err)
	assert.Equal(t, ch, f.get(ch.ID), "stored whole")
	other := f.open(change.ModelNormal)
	for _, fl := range []change.Filter{
		{AssignmentGroups: []string{"network", short}}, {Assignees: []string{short}}, {CIID: cis[0]},
		{CIID: cis[change.MaxCIs-1]}, {AssignmentGroups: []string{short}, Assignees: []string{short}, CIID: cis[1]},
	} {
		page, next, err := f.svc.ListPage(f.ctx, fl, 10, "")
		require.NoError(t, err)
		assert.Empty(t, next)
		require.Len(t, page, 1, "%+v", fl)
		assert.Equal(t, ch, page[0])
	}

	// The commands' own texts at their limits.
	review := f.toState(change.StateReview)
	review, err = f.svc.RecordReview(f.ctx, requester, review.ID, change.ReviewInput{WhatHappened: long, Lessons: long,
		FollowUps: slicesRepeat(short, change.MaxFollowUps)})
	require.NoError(t, err)
	review, err = f.svc.Close(f.ctx, requester, review.ID, change.Successful, long)
	require.NoError(t, err)
	assert.Equal(t, review, f.get(review.ID))
	assert.Equal(t, long, review.CloseNotes)
	rejected := f.toState(change.StateAssess)
	_, err = f.svc.Reject(f.ctx, actor("max"), rejected.ID, long)
	require.NoError(t, err)
	assert.Equal(t, change.ApprovalRejected, states(t, f, rejected.ID, 1)["max"])
	recs, err := f.svc.Approvals(f.ctx, rejected.ID)
	require.NoError(t, err)
	for _, r := range recs {
		if r.Approver == "max" {
			assert.Equal(t, long, r.Comment)
		}
	}
	tks := f.tasks(f.toState(change.StateImplement).ID)
	_, err = f.svc.CloseTask(f.ctx, requester, tks[0].ID, long)
	require.NoError(t, err)
	_, err = f.svc.CancelTask(f.ctx, requester, tks[1].ID, long)
	require.NoError(t, err)
	assert.Equal(t, long, f.tasks(tks[0].ChangeID)[0].CloseNotes)

	// One character more, bad UTF-8 or a NUL: the field alone is named.
	ch = f.get(ch.ID)
	other = f.get(other.ID)
	waiting := f.toState(change.StateAssess)
	ended := f.get(review.ID)
	reviewing := f.toState(change.StateReview)
	tk := f.tasks(f.toState(change.StateImplement).ID)[0]
	n := f.journalLen()
	open := func(set func(*change.NewChange, string)) func(string) error {
		return func(s string) error {
			in := full
			in.CIIDs = nil
			set(&in, s)
			_, err := f.svc.Open(f.ctx, requester, in)
			return err
		}
	}
	update := func(set func(*change.Patch, *string)) func(string) error {
		return func(s string) error {
			var p change.Patch
			set(&p, &s)
			_, err := f.svc.Update(f.ctx, requester, other.ID, p)
			return err
		}
	}
	cases := []struct {
		field string
		max   int
		do    func(string) error
	}{
		{"title", check.Short, open(func(in *change.NewChange, s string) { in.Title = s })},
		{"description", check.Long, open(func(in *change.NewChange, s string) { in.Description = s })},
		{"justification", check.Long, open(func(in *change.NewChange, s string) { in.Justification = s })},
		{"implementation_plan", check.Long, open(func(in *change.NewChange, s string) { in.Implementation = s })},
		{"backout_plan", check.Long, open(func(in *change.NewChange, s string) { in.Backout = s })},
		{"test_plan", check.Long, open(func(in *change.NewChange, s string) { in.TestPlan = s })},
		{"assignment_group", check.Short, open(func(in *change.NewChange, s string) { in.AssignmentGroup = s })},
		{"assignee", check.Short, open(func(in *change.NewChange, s string) { in.Assignee = s })},
		{"title", check.Short, update(func(p *change.Patch, s *string) { p.Title = s })},
		{"description", check.Long, update(func(p *change.Patch, s *string) { p.Description = s })},
		{"justification", check.Long, update(func(p *change.Patch, s *string) { p.Justification = s })},
		{"implementation_plan", check.Long, update(func(p *change.Patch, s *string) { p.Implementation = s })},
		{"backout_plan", check.Long, update(func(p *change.Patch, s *string) { p.Backout = s })},
		{"test_plan", check.Long, update(func(p *change.Patch, s *string) { p.TestPlan = s })},
		{"group", check.Short, func(s string) error { return errOf(f.svc.Assign(f.ctx, requester, other.ID, s, "")) }},
		{"assignee", check.Short, func(s string) error { return errOf(f.svc.Assign(f.ctx, requester, other.ID, "network", s)) }},
		{"close_notes", check.Long, func(s string) error {
			return errOf(f.svc.Close(f.ctx, requester, reviewing.ID, change.Successful, s))
		}},
		{"reason", check.Long, func(s string) error { return errOf(f.svc.Cancel(f.ctx, requester, other.ID, s)) }},
		{"reason", check.Long, func(s string) error { return errOf(f.svc.Withdraw(f.ctx, requester, waiting.ID, s)) }},
		{"comment", check.Long, func(s string) error { return errOf(f.svc.Reject(f.ctx, actor("mia"), waiting.ID, s)) }},
		{"comment", check.Long, func(s string) error { return errOf(f.svc.Approve(f.ctx, actor("mia"), waiting.ID, s)) }},
		{"what_happened", check.Long, func(s string) error {
			return errOf(f.svc.RecordReview(f.ctx, requester, reviewing.ID, change.ReviewInput{WhatHappened: s}))
		}},
		{"lessons", check.Long, func(s string) error {
			return errOf(f.svc.RecordReview(f.ctx, requester, reviewing.ID, change.ReviewInput{WhatHappened: "x", Lessons: s}))
		}},
		{"follow_ups[1]", check.Short, func(s string) error {
			return errOf(f.svc.RecordReview(f.ctx, requester, reviewing.ID,
				change.ReviewInput{WhatHappened: "x", FollowUps: []string{"script it", s}}))
		}},
		{"close_notes", check.Long, func(s string) error { return errOf(f.svc.CloseTask(f.ctx, requester, tk.ID, s)) }},
		{"reason", check.Long, func(s string) error { return errOf(f.svc.CancelTask(f.ctx, requester, tk.ID, s)) }},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d %s", i, c.field), func(t *testing.T) {
			over := strings.Repeat("é", c.max+1)
			if c.max == check.Short {
				over = strings.Repeat("𝄞", c.max+1)
			}
			for _, bad := range []string{over, "a\xffb", "a\x00b"} {
				testkit.RequireFields(t, c.do(bad), c.field)
			}
		})
	}
	many := make([]itil.ID, change.MaxCIs)
	for i := range many {
		many[i] = itil.NewID()
	}
	_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: "many", CIID: itil.NewID(), CIIDs: many})
	testkit.RequireFields(t, err, "ci_ids")
	_, err = f.svc.Update(f.ctx, requester, other.ID, change.Patch{CIIDs: &many})
	testkit.RequireInvalid(t, err, "ci_ids")
	_, err = f.svc.RecordReview(f.ctx, requester, reviewing.ID, change.ReviewInput{WhatHappened: "x",
		FollowUps: slicesRepeat("y", change.MaxFollowUps+1)})
	testkit.RequireFields(t, err, "follow_ups")
	for _, blank := range []string{"", " \t\n"} {
		_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: blank})
		testkit.RequireFields(t, err, "title")
		_, err = f.svc.Cancel(f.ctx, requester, other.ID, blank)
		testkit.RequireFields(t, err, "reason")
		_, err = f.svc.Reject(f.ctx, actor("mia"), waiting.ID, blank)
		testkit.RequireFields(t, err, "comment")
	}
	assert.Equal(t, n, f.journalLen(), "nothing written")
	assert.Equal(t, ch, f.get(ch.ID))
	assert.Equal(t, other, f.get(other.ID))
	assert.Equal(t, ended, f.get(ended.ID))
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// testLongTexts: texts a command builds from the longest ones are cut to
// a text's limit, identically on every backend, and never make the
// command fail: the risk explanation of a questionnaire of 200 long
// answers, and the problem a review of long texts opens.
func testLongTexts(t *testing.T, newStore func(*testing.T) storage.Store) {
	var questions []change.Question
	answers := map[string]string{}
	for i := range 200 {
		name := fmt.Sprintf("%03d", i) + strings.Repeat("𝄞", check.Short-3)
		questions = append(questions, change.Question{Name: name, Weight: 1000,
			Answers: []change.Answer{{Name: strings.Repeat("é", check.Short), Value: 1000}}})
		answers[name] = strings.Repeat("é", check.Short)
	}
	rm := change.RiskModel{Questions: questions, Thresholds: []change.RiskThreshold{{Score: 0, Risk: change.RiskLow},
		{Score: 1_000_000, Risk: change.RiskHigh}}, Lookup: ptr(change.DefaultRiskLookup())}
	f, _ := setupProblems(t, newStore, change.WithRiskModel(rm))
	ch := f.open(change.ModelNormal)
	ch, err := f.svc.AssessRisk(f.ctx, requester, ch.ID, answers)
	require.NoError(t, err)
	assert.Equal(t, change.RiskHigh, ch.Risk)
	assessor, err := rm.Compile()
	require.NoError(t, err)
	a, err := assessor.Assess(&change.Facts{Model: ch.Model, Type: ch.Model, State: string(change.StateNew)}, answers, 0)
	require.NoError(t, err)
	require.Greater(t, utf8.RuneCountInString(a.Explain()), check.Long)
	assert.Equal(t, check.Cut(a.Explain(), check.Long), ch.RiskExplanation)
	assert.Equal(t, check.Long, utf8.RuneCountInString(ch.RiskExplanation))
	assert.True(t, strings.HasSuffix(ch.RiskExplanation, "…"))
	assert.Equal(t, ch, f.get(ch.ID))
	h, err := f.svc.History(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, change.EventRiskAssessed, h[len(h)-1].Type)

	f, _ = setupProblems(t, newStore) // the default risk model, for the moves
	long := strings.Repeat("é", check.Long)
	short := strings.Repeat("𝄞", check.Short)
	start := f.clock.Now().Add(24 * time.Hour)
	r, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: short, AssignmentGroup: "messaging",
		PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	r = f.move(r.ID, change.MoveAssess, "approve:mia", change.MoveAuthorize, change.MoveSchedule, change.MoveImplement,
		change.MoveReview)
	_, err = f.svc.RecordReview(f.ctx, requester, r.ID, change.ReviewInput{WhatHappened: long, Lessons: long,
		FollowUps: slicesRepeat(short, change.MaxFollowUps)})
	require.NoError(t, err)
	p, err := f.svc.ReviewToProblem(f.ctx, requester, r.ID)
	require.NoError(t, err)
	assert.Equal(t, check.Short, utf8.RuneCountInString(p.Title), "cut to a title's limit")
	assert.Equal(t, check.Long, utf8.RuneCountInString(p.Description), "cut to a description's limit")
	assert.True(t, strings.HasPrefix(p.Title, "Review of "+r.Number))
	assert.Equal(t, p.ID, f.get(r.ID).Review.ProblemID)
}

func ptr[T any](v T) *T { return &v }
