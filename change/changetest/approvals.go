package changetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
)

func actor(id string) itil.Actor { return itil.Actor{ID: id, Name: id} }

// states returns the records of round as approver → state.
func states(t *testing.T, f *fixture, id itil.ID, round int) map[string]change.ApprovalState {
	t.Helper()
	recs, err := f.svc.Approvals(f.ctx, id)
	require.NoError(t, err)
	out := map[string]change.ApprovalState{}
	for _, r := range recs {
		if r.Round == round {
			out[r.Approver] = r.State
		}
	}
	return out
}

// testApprovals: the default policy asks the assignment group in Assess,
// without the requester (segregation of duties); a rejection sends the
// change back to New and cancels the open requests; the next round asks
// again; a CAB step waits for its share; nobody to ask refuses the move.
func testApprovals(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.open(change.ModelNormal)
	ch = f.move(ch.ID, change.MoveAssess)
	require.NotNil(t, ch.Approval)
	assert.Equal(t, change.VerdictWaiting, ch.Approval.Verdict)
	assert.Equal(t, []string{"rita"}, ch.Approval.Facts.Excluded)
	assert.Equal(t, map[string]change.ApprovalState{"mia": change.ApprovalRequested, "max": change.ApprovalRequested},
		states(t, f, ch.ID, 1), "the requester is not asked")

	n := testkit.JournalLen(t, f.store)
	_, err := f.svc.Assign(f.ctx, requester, ch.ID, "messaging", "mia")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "no reassignment while the round waits")
	_, err = f.svc.Approve(f.ctx, requester, ch.ID, "")
	require.ErrorIs(t, err, itil.ErrForbidden, "nothing is asked of the requester")
	_, err = f.svc.Move(f.ctx, requester, ch.ID, change.MoveAuthorize)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "still waiting")
	_, err = f.svc.Reject(f.ctx, actor("max"), ch.ID, " ")
	testkit.RequireFields(t, err, "comment")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "refusals write nothing")

	ch, err = f.svc.Reject(f.ctx, actor("max"), ch.ID, "no backout plan")
	require.NoError(t, err)
	assert.Equal(t, change.StateNew, ch.State, "a rejection sends the change back")
	assert.Equal(t, change.VerdictRefused, ch.Approval.Verdict)
	assert.Equal(t, map[string]change.ApprovalState{"mia": change.ApprovalCanceled, "max": change.ApprovalRejected},
		states(t, f, ch.ID, 1))
	_, err = f.svc.Approve(f.ctx, actor("mia"), ch.ID, "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "nothing to approve in New")

	ch = f.move(ch.ID, change.MoveAssess, "approve:mia")
	assert.Equal(t, 2, ch.Approval.Round)
	assert.Equal(t, change.VerdictAccepted, ch.Approval.Verdict)
	assert.Equal(t, map[string]change.ApprovalState{"mia": change.ApprovalApproved, "max": change.ApprovalNotRequired},
		states(t, f, ch.ID, 2))
	ch = f.move(ch.ID, change.MoveAuthorize)
	assert.Equal(t, change.VerdictAccepted, ch.Approval.Verdict, "no CAB for a change of no assessed risk")

	// A CAB that waits for half its members.
	cab := change.ApprovalRules{Rules: []change.ApprovalRule{{Name: "cab", State: change.StateAuthorize,
		Policy: change.ApprovalPolicy{Name: "cab", Steps: []change.ApprovalStep{{Name: "cab", Groups: []string{change.GroupCAB},
			WaitFor: change.WaitFor{Rule: change.WaitPercent, Percent: 50}, OnReject: change.RejectWaitForRest}}}}}}
	g := setup(t, newStore, change.WithApprovalRules(cab))
	c2 := g.open(change.ModelNormal)
	c2 = g.move(c2.ID, change.MoveAssess, change.MoveAuthorize, "approve:cara")
	assert.Equal(t, change.VerdictWaiting, c2.Approval.Verdict)
	c2, err = g.svc.Reject(g.ctx, actor("cruz"), c2.ID, "too risky before the release")
	require.NoError(t, err)
	assert.Equal(t, change.VerdictWaiting, c2.Approval.Verdict, "one rejection of four does not decide")
	c2 = g.move(c2.ID, "approve:cole", change.MoveSchedule)
	assert.Equal(t, change.StateScheduled, c2.State)

	// Withdrawing (with a reason) sends a waiting change back to New and
	// cancels the open requests; Move does not.
	w := g.open(change.ModelNormal)
	w = g.move(w.ID, change.MoveAssess, change.MoveAuthorize)
	_, err = g.svc.Move(g.ctx, requester, w.ID, change.MoveRevert)
	testkit.RequireFields(t, err, "move")
	_, err = g.svc.Withdraw(g.ctx, requester, w.ID, "")
	testkit.RequireFields(t, err, "reason")
	w, err = g.svc.Withdraw(g.ctx, requester, w.ID, "the vendor moved the date")
	require.NoError(t, err)
	assert.Equal(t, change.StateNew, w.State)
	for who, st := range states(t, g, w.ID, w.Approval.Round) {
		assert.Equal(t, change.ApprovalCanceled, st, who)
	}
	_, err = g.svc.Withdraw(g.ctx, requester, w.ID, "again")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "nothing to withdraw from in New")

	// Steps are asked in order: the second once the first is decided.
	twoSteps := change.ApprovalRules{Rules: []change.ApprovalRule{{Name: "auth", State: change.StateAuthorize,
		Policy: change.ApprovalPolicy{Name: "two steps", Steps: []change.ApprovalStep{
			{Name: "cab", Groups: []string{change.GroupCAB}, WaitFor: change.WaitFor{Rule: change.WaitFirst}, OnReject: change.RejectAtOnce},
			{Name: "security", Users: []string{"erin"}, WaitFor: change.WaitFor{Rule: change.WaitFirst}, OnReject: change.RejectAtOnce},
		}}}}}
	o := setup(t, newStore, change.WithApprovalRules(twoSteps))
	c9 := o.open(change.ModelNormal)
	c9 = o.move(c9.ID, change.MoveAssess, change.MoveAuthorize)
	_, asked := states(t, o, c9.ID, c9.Approval.Round)["erin"]
	assert.False(t, asked, "the second step waits for the first")
	_, err = o.svc.Approve(o.ctx, actor("erin"), c9.ID, "")
	require.ErrorIs(t, err, itil.ErrForbidden)
	c9 = o.move(c9.ID, "approve:cara")
	assert.Equal(t, change.ApprovalRequested, states(t, o, c9.ID, c9.Approval.Round)["erin"])
	c9 = o.move(c9.ID, "approve:erin")
	assert.Equal(t, change.VerdictAccepted, c9.Approval.Verdict)

	// Canceling while waiting cancels the requests.
	c3 := g.open(change.ModelNormal)
	c3 = g.move(c3.ID, change.MoveAssess, change.MoveAuthorize)
	_, err = g.svc.Cancel(g.ctx, requester, c3.ID, "not needed")
	require.NoError(t, err)
	for who, st := range states(t, g, c3.ID, 1) {
		assert.Equal(t, change.ApprovalCanceled, st, who)
	}

	// Without segregation of duties the requester counts.
	h := setup(t, newStore, change.WithoutSegregationOfDuties())
	c4 := h.open(change.ModelNormal)
	c4 = h.move(c4.ID, change.MoveAssess, "approve:rita")
	assert.Equal(t, change.VerdictAccepted, c4.Approval.Verdict)

	// A delegate decides in the approver's name, within the period only.
	d := setup(t, newStore)
	c6 := d.open(change.ModelNormal)
	c6 = d.move(c6.ID, change.MoveAssess)
	now := d.clock.Now()
	err = d.svc.Delegate(d.ctx, actor("max"), change.Delegation{From: "mia", To: "nora", Start: now})
	require.ErrorIs(t, err, itil.ErrForbidden, "only mia names her delegate")
	err = d.svc.Delegate(d.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: now.Add(time.Hour)})
	require.NoError(t, err)
	_, err = d.svc.Approve(d.ctx, actor("nora"), c6.ID, "")
	require.ErrorIs(t, err, itil.ErrForbidden, "not yet")
	d.clock.Advance(time.Hour)
	c6, err = d.svc.Approve(d.ctx, actor("nora"), c6.ID, "for mia")
	require.NoError(t, err)
	assert.Equal(t, change.VerdictAccepted, c6.Approval.Verdict)
	recs, err := d.svc.Approvals(d.ctx, c6.ID)
	require.NoError(t, err)
	for _, r := range recs {
		if r.Approver == "mia" {
			assert.Equal(t, "nora", r.Delegate)
			assert.Equal(t, change.ApprovalApproved, r.State)
		}
	}
	err = d.svc.Delegate(d.ctx, actor("mia"), change.Delegation{From: "mia", To: "mia", Start: now})
	testkit.RequireFields(t, err, "to")
	err = d.svc.Delegate(d.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: now.Add(3 * time.Hour)})
	testkit.RequireFields(t, err, "start") // overlaps the one in force
	ended, err := d.svc.EndDelegation(d.ctx, actor("mia"), "nora")
	require.NoError(t, err)
	assert.Equal(t, 1, ended)
	c8 := d.open(change.ModelNormal)
	c8 = d.move(c8.ID, change.MoveAssess)
	_, err = d.svc.Approve(d.ctx, actor("nora"), c8.ID, "")
	require.ErrorIs(t, err, itil.ErrForbidden, "the delegation has ended")
	require.NoError(t, d.svc.Delegate(d.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: d.clock.Now()}),
		"a new one after the end")

	// The requester as delegate decides nothing: segregation of duties.
	c7 := d.open(change.ModelNormal)
	c7 = d.move(c7.ID, change.MoveAssess)
	require.NoError(t, d.svc.Delegate(d.ctx, actor("max"), change.Delegation{From: "max", To: "rita", Start: d.clock.Now()}))
	_, err = d.svc.Approve(d.ctx, requester, c7.ID, "")
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, change.ApprovalRequested, states(t, d, c7.ID, 1)["max"], "max can still answer")
	_, err = d.svc.Reject(d.ctx, actor("max"), c7.ID, "not yet")
	require.NoError(t, err)
	_, err = d.svc.SetModel(d.ctx, requester, c7.ID, change.ModelStandard)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "no way around a rejection by changing the model")

	// Nobody to ask: the move is refused and writes nothing.
	bare := setup(t, newStore, change.WithDirectory(change.DirectoryMap{}))
	c5 := bare.open(change.ModelNormal)
	n = testkit.JournalLen(t, bare.store)
	_, err = bare.svc.Move(bare.ctx, requester, c5.ID, change.MoveAssess)
	testkit.RequireFields(t, err, "approvals")
	assert.Equal(t, n, testkit.JournalLen(t, bare.store))
}

// testRisk: AssessRisk keeps the highest risk of the model's methods and
// how it was reached; a moderate or higher risk sends a normal change to
// the CAB under the default approval rules.
func testRisk(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.open(change.ModelNormal)
	ch, err := f.svc.AssessRisk(f.ctx, requester, ch.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, change.RiskLow, ch.Risk, "the default model's last condition")
	assert.Contains(t, ch.RiskExplanation, "any other change")

	questionnaire := change.RiskModel{
		Questions:  []change.Question{{Name: "backout tested", Weight: 10, Answers: []change.Answer{{Name: "yes", Value: 0}, {Name: "no", Value: 5}}}},
		Thresholds: []change.RiskThreshold{{Score: 0, Risk: change.RiskLow}, {Score: 40, Risk: change.RiskHigh}},
	}
	g := setup(t, newStore, change.WithRiskModel(questionnaire))
	c2 := g.open(change.ModelNormal)
	_, err = g.svc.AssessRisk(g.ctx, requester, c2.ID, map[string]string{"backout tested": "maybe"})
	testkit.RequireFields(t, err, "answers.backout tested")
	c2, err = g.svc.AssessRisk(g.ctx, requester, c2.ID, map[string]string{"backout tested": "no"})
	require.NoError(t, err)
	assert.Equal(t, change.RiskHigh, c2.Risk)
	c2 = g.move(c2.ID, change.MoveAssess, "approve:max", change.MoveAuthorize)
	assert.Equal(t, change.VerdictWaiting, c2.Approval.Verdict, "a high-risk normal change waits for the CAB")
	// What the CAB is asked to approve does not change under it.
	_, err = g.svc.AssessRisk(g.ctx, requester, c2.ID, map[string]string{"backout tested": "yes"})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	low := itil.Impact(3)
	_, err = g.svc.Update(g.ctx, requester, c2.ID, change.Patch{Impact: &low})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Len(t, states(t, g, c2.ID, 2), 4, "the four CAB members")
	_, err = change.New(g.store, change.WithRiskModel(change.RiskModel{Questions: []change.Question{{Name: ""}}}))
	testkit.RequireInvalid(t, err, "risk_model.questions[0].name")

	// With the CMDB: a change on a mission-critical CI is high risk by the
	// default model, and records the business service its CI serves.
	store := newStore(t)
	cm, err := cmdb.New(store)
	require.NoError(t, err)
	server, err := cm.CreateCI(t.Context(), requester, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "mail-01",
		Attributes: map[string]string{"serial_number": "SN1"}, Criticality: cmdb.MissionCritical})
	require.NoError(t, err)
	mail, err := cm.CreateCI(t.Context(), requester, cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Mail",
		Criticality: cmdb.High})
	require.NoError(t, err)
	app, err := cm.CreateCI(t.Context(), requester, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "postfix"})
	require.NoError(t, err)
	_, err = cm.Relate(t.Context(), requester, cmdb.DependsOn, mail.ID, app.ID)
	require.NoError(t, err)
	_, err = cm.Relate(t.Context(), requester, cmdb.RunsOn, app.ID, server.ID)
	require.NoError(t, err)
	k := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm))
	start := k.clock.Now().Add(24 * time.Hour)
	c3, err := k.svc.Open(k.ctx, requester, change.NewChange{Title: "Kernel update", AssignmentGroup: "messaging",
		CIID: server.ID, PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	c3, err = k.svc.AssessRisk(k.ctx, requester, c3.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, change.RiskHigh, c3.Risk)
	assert.Contains(t, c3.RiskExplanation, "a most critical CI")
	assert.Equal(t, []change.AffectedService{{ServiceID: mail.ID, Criticality: int(cmdb.High)}}, c3.AffectedServices)
}
