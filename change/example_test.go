package change_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// The people of the examples: a requester, the DBAs (Dan implements),
// and a member of the CAB.
var (
	exRita  = itil.Actor{ID: "rita", Name: "Rita"}
	exDan   = itil.Actor{ID: "dan", Name: "Dan"}
	exDora  = itil.Actor{ID: "dora", Name: "Dora"}
	exNils  = itil.Actor{ID: "nils", Name: "Nils"}
	exStart = time.Date(2026, 3, 5, 22, 0, 0, 0, time.UTC)
)

// exDirectory resolves the approver groups of the examples.
var exDirectory = change.DirectoryMap{
	"dba":           {"dan", "dora"},
	change.GroupCAB: {"mia", "nils", "omar"},
	"security":      {"sam"},
}

// exService returns a Service on a fresh in-memory store whose clock
// advances one minute per reading, with exDirectory and opts.
func exService(opts ...change.Option) *change.Service {
	return exServiceOn(memory.NewStore(), opts...)
}

// exServiceOn is exService on st.
func exServiceOn(st storage.Store, opts ...change.Option) *change.Service {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := itil.ClockFunc(func() time.Time { now = now.Add(time.Minute); return now })
	opts = append([]change.Option{change.WithClock(clock), change.WithDirectory(exDirectory)}, opts...)
	svc, err := change.New(st, opts...)
	if err != nil {
		panic(err)
	}
	return svc
}

func exMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// exChange opens a normal change for the DBAs, implemented by Dan and
// planned for Thursday night.
func exChange(svc *change.Service, title string) *change.Change {
	return exMust(svc.Open(context.Background(), exRita, change.NewChange{Title: title,
		Implementation: "pg_upgrade --link", Backout: "restore the snapshot",
		AssignmentGroup: "dba", Assignee: "dan", PlannedStart: exStart, PlannedEnd: exStart.Add(4 * time.Hour)}))
}

// exImplemented takes a normal change of low risk from New to Review:
// assessed, approved by the group, authorized (no CAB for a low risk),
// scheduled, implemented with its tasks closed.
func exImplemented(svc *change.Service, ch *change.Change) *change.Change {
	ctx := context.Background()
	low := itil.Impact(3)
	exMust(svc.Update(ctx, exRita, ch.ID, change.Patch{Impact: &low}))
	exMust(svc.AssessRisk(ctx, exDan, ch.ID, nil))
	exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))
	exMust(svc.Approve(ctx, exDora, ch.ID, "fine"))
	for _, move := range []string{change.MoveAuthorize, change.MoveSchedule, change.MoveImplement} {
		exMust(svc.Move(ctx, exRita, ch.ID, move))
	}
	for t, err := range svc.Tasks(ctx, ch.ID) {
		exMust(t, err)
		exMust(svc.StartTask(ctx, exDan, t.ID))
		exMust(svc.CloseTask(ctx, exDan, t.ID, "done"))
	}
	return exMust(svc.Move(ctx, exDan, ch.ID, change.MoveReview))
}

// Open records a request for change in New under a model: normal unless
// named. A standard change is made from a published template only
// (OpenFromTemplate), so that skipping approvals is always a decision
// change management made once.
func ExampleService_Open() {
	ctx := context.Background()
	svc := exService()
	ch, err := svc.Open(ctx, exRita, change.NewChange{
		Title:         "Upgrade PostgreSQL 15 to 16 on db-01",
		Justification: "15 leaves vendor support", AssignmentGroup: "dba", Assignee: "dan",
	})
	fmt.Println(ch.Number, ch.Model, ch.State, ch.RequestedBy.ID, err)

	em, err := svc.Open(ctx, exDan, change.NewChange{Model: change.ModelEmergency, Title: "Free the full WAL disk"})
	fmt.Println(em.Number, em.Model, em.State, err)

	_, err = svc.Open(ctx, exDan, change.NewChange{Model: change.ModelStandard, Title: "Restart nginx"})
	fmt.Println(err)
	// Output:
	// CHG0001001 normal new rita <nil>
	// CHG0001002 emergency new <nil>
	// invalid input: model: standard changes are pre-approved: make them from a published template (OpenFromTemplate)
}

// Move takes a change through its model, one move at a time. A normal
// change needs planned times from Assess on, a risk before Authorize, and
// the approvals each approval state asks for before it moves on: here its
// assignment group in Assess, and, as its risk is low, no CAB in
// Authorize. Entering Implement opens its tasks.
func ExampleService_Move() {
	ctx := context.Background()
	svc := exService()
	ch := exMust(svc.Open(ctx, exRita, change.NewChange{Title: "Upgrade PostgreSQL on db-07",
		AssignmentGroup: "dba", Assignee: "dan", Impact: 3}))

	_, err := svc.Move(ctx, exRita, ch.ID, change.MoveAssess)
	fmt.Println(err)
	start, end := exStart, exStart.Add(time.Hour)
	exMust(svc.Update(ctx, exRita, ch.ID, change.Patch{PlannedStart: &start, PlannedEnd: &end}))
	ch = exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))
	fmt.Println(ch.State, ch.Approval.Verdict)

	// Not yet: the group has not approved.
	_, err = svc.Move(ctx, exRita, ch.ID, change.MoveAuthorize)
	fmt.Println(errors.Is(err, itil.ErrInvalidTransition))
	exMust(svc.Approve(ctx, exDora, ch.ID, "fine"))
	ch = exMust(svc.AssessRisk(ctx, exDan, ch.ID, nil))
	fmt.Println("risk", ch.Risk)

	for _, move := range []string{change.MoveAuthorize, change.MoveSchedule, change.MoveImplement} {
		ch = exMust(svc.Move(ctx, exRita, ch.ID, move))
		fmt.Println(move, "→", ch.State)
	}
	for t, err := range svc.Tasks(ctx, ch.ID) {
		t = exMust(t, err)
		fmt.Println(t.Number, t.Type, t.Assignee, t.State)
	}
	// Output:
	// invalid input: planned_start: is required to enter assess; planned_end: is required to enter assess
	// assess waiting
	// true
	// risk low
	// authorize → authorize
	// schedule → scheduled
	// implement → implement
	// CTASK0001001 implement dan open
	// CTASK0001002 post_implementation_test dan open
}

// Approval rules are data: by a condition on the change's facts, which
// policy it waits for in each approval state. Here a change of impact 2
// or higher needs, in Assess, a DBA and then the security group; groups
// are resolved by the Directory. Steps are asked in order, and
// segregation of duties keeps the requester and the assignee out.
func ExampleWithApprovalRules() {
	ctx := context.Background()
	rules := change.ApprovalRules{AllMatches: true, Rules: []change.ApprovalRule{
		{Name: "peer", State: change.StateAssess, Policy: change.ApprovalPolicy{Name: "peer review",
			Steps: []change.ApprovalStep{{Name: "dba", Field: "assignment_group",
				WaitFor: change.WaitFor{Rule: change.WaitFirst}, OnReject: change.RejectAtOnce}}}},
		{Name: "sec", State: change.StateAssess,
			When: change.Condition{Field: "impact", Op: change.OpLte, Value: 2},
			Policy: change.ApprovalPolicy{Name: "security review",
				Steps: []change.ApprovalStep{{Name: "security", Groups: []string{"security"},
					WaitFor: change.WaitFor{Rule: change.WaitAll}, OnReject: change.RejectAtOnce}}}},
	}}
	svc := exService(change.WithApprovalRules(rules))
	ch := exChange(svc, "Open the database port to the reporting network")
	impact := itil.Impact(2)
	exMust(svc.Update(ctx, exRita, ch.ID, change.Patch{Impact: &impact}))
	ch = exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))

	show := func() {
		for _, a := range exMust(svc.Approvals(ctx, ch.ID)) {
			fmt.Printf("  %s %s %s\n", a.Step, a.Approver, a.State)
		}
	}
	fmt.Println("steps:", ch.Approval.Policy.Steps[0].Name, ch.Approval.Policy.Steps[1].Name, "excluded:", ch.Approval.Facts.Excluded)
	show()

	// Dan implements the change: he may not approve it.
	_, err := svc.Approve(ctx, exDan, ch.ID, "mine, fine")
	fmt.Println(errors.Is(err, itil.ErrForbidden))

	ch = exMust(svc.Approve(ctx, exDora, ch.ID, "plan reviewed"))
	fmt.Println(ch.Approval.Verdict)
	show()
	ch = exMust(svc.Approve(ctx, itil.Actor{ID: "sam"}, ch.ID, "port limited to the reporting subnet"))
	fmt.Println(ch.Approval.Verdict)
	// Output:
	// steps: peer/dba sec/security excluded: [rita dan]
	//   peer/dba dora requested
	// true
	// waiting
	//   peer/dba dora approved
	//   sec/security sam requested
	// accepted
}

// A rejection (with a comment) refuses the round: the change returns to
// New and the requests still open are canceled. When it comes back, the
// next round asks again.
func ExampleService_Reject() {
	ctx := context.Background()
	svc := exService()
	ch := exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-01")
	exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))

	_, err := svc.Reject(ctx, exDora, ch.ID, "")
	fmt.Println(err)
	ch = exMust(svc.Reject(ctx, exDora, ch.ID, "the backout plan is untested"))
	fmt.Println(ch.State, ch.Approval.Verdict, "round", ch.ApprovalRounds)

	ch = exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))
	ch = exMust(svc.Approve(ctx, exDora, ch.ID, "rehearsed on staging"))
	fmt.Println(ch.State, ch.Approval.Verdict, "round", ch.ApprovalRounds)
	for _, a := range exMust(svc.Approvals(ctx, ch.ID)) {
		fmt.Println(a.Round, a.Approver, a.State, a.Comment)
	}
	// Output:
	// invalid input: comment: is required
	// new refused round 1
	// assess accepted round 2
	// 1 dora rejected the backout plan is untested
	// 2 dora approved rehearsed on staging
}

// Withdraw takes a change waiting for approvals back to New, with a
// reason, to rework it: the requests still open are canceled, and the
// change asks again when it comes back. Its risk is settled once it is
// in Authorize; withdrawn, it may be assessed again.
func ExampleService_Withdraw() {
	ctx := context.Background()
	// A risk model of the application's own: impact 1 is a high risk,
	// which the default approval rules send to the CAB.
	svc := exService(change.WithRiskModel(change.RiskModel{Conditions: []change.RiskCondition{
		{Name: "impact 1", When: change.Condition{Field: "impact", Op: change.OpEq, Value: 1}, Risk: change.RiskHigh},
		{Name: "otherwise", Risk: change.RiskLow},
	}}))
	ch := exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-01")
	high := itil.Impact(1)
	exMust(svc.Update(ctx, exRita, ch.ID, change.Patch{Impact: &high}))
	exMust(svc.AssessRisk(ctx, exDan, ch.ID, nil))
	exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))
	exMust(svc.Approve(ctx, exDora, ch.ID, "fine"))
	ch = exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAuthorize))
	fmt.Println(ch.State, ch.Risk, ch.Approval.Policy.Steps[0].Name, ch.Approval.Verdict)

	_, err := svc.AssessRisk(ctx, exDan, ch.ID, nil)
	fmt.Println(errors.Is(err, itil.ErrInvalidTransition))

	// The window moves: Rita withdraws the change to plan it again.
	ch = exMust(svc.Withdraw(ctx, exRita, ch.ID, "the vendor's patch is out next week: upgrade to 16.5"))
	fmt.Println(ch.State)
	requested := 0
	for _, a := range exMust(svc.Approvals(ctx, ch.ID)) {
		if a.State == change.ApprovalRequested {
			requested++
		}
	}
	fmt.Println("open requests:", requested)
	h := exMust(svc.History(ctx, ch.ID))
	fmt.Println(h[len(h)-1].Type, "-", h[len(h)-1].Summary)
	_, err = svc.AssessRisk(ctx, exDan, ch.ID, nil)
	fmt.Println("assessed again:", err)
	// Output:
	// authorize high cab/cab waiting
	// true
	// new
	// open requests: 0
	// change.withdrawn - withdrawn from authorize to new
	// assessed again: <nil>
}

// Close ends a change in Review with a close code and notes. A change
// that did not go to plan needs a post-implementation review first.
func ExampleService_Close() {
	ctx := context.Background()
	svc := exService()
	ch := exImplemented(svc, exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-07"))
	fmt.Println(ch.State)

	_, err := svc.Close(ctx, exDan, ch.ID, change.Successful, "")
	fmt.Println(err)
	_, err = svc.Close(ctx, exDan, ch.ID, change.Unsuccessful, "rolled back: the extension did not load")
	fmt.Println(err)
	ch = exMust(svc.Close(ctx, exDan, ch.ID, change.Successful, "upgraded; reports match"))
	fmt.Println(ch.State, ch.CloseCode, ch.CloseNotes)
	// Output:
	// review
	// invalid input: close_notes: is required
	// invalid input: review: a post-implementation review is required to close this change unsuccessful: record it first
	// closed successful upgraded; reports match
}

// The post-implementation review says what happened, what was learned
// and what is to be done; it is required to close an unsuccessful change,
// one with issues and every emergency change. With WithProblems, its
// findings become a problem (ReviewToProblem), which names the change's
// CIs.
func ExampleService_RecordReview() {
	ctx := context.Background()
	st := memory.NewStore()
	problems := exMust(problem.New(st))
	svc := exServiceOn(st, change.WithProblems(problems))
	ch := exImplemented(svc, exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-07"))

	ch = exMust(svc.RecordReview(ctx, exDan, ch.ID, change.ReviewInput{
		WhatHappened: "the reporting extension did not load on 16; rolled back to 15",
		Lessons:      "test the extensions on a copy first",
		FollowUps:    []string{"ask the vendor for a build for 16"},
	}))
	fmt.Println(ch.Review.ReviewedBy.ID, "-", ch.Review.WhatHappened)
	ch = exMust(svc.Close(ctx, exDan, ch.ID, change.Unsuccessful, "rolled back"))
	fmt.Println(ch.State, ch.CloseCode)

	p := exMust(svc.ReviewToProblem(ctx, exDan, ch.ID))
	fmt.Println(p.Number, p.State, p.Title)
	// Output:
	// dan - the reporting extension did not load on 16; rolled back to 15
	// closed unsuccessful
	// PRB0001001 new Review of CHG0001001: Upgrade PostgreSQL 15 to 16 on db-07
}

// A change that fixes a problem is one of the problem's fix records
// (WithProblems and LinkProblem). Closing the change completes the record
// in the change's transaction (an unsuccessful or canceled change cancels
// it), and the problem's fix is then ready to resolve.
func ExampleService_LinkProblem() {
	ctx := context.Background()
	st := memory.NewStore()
	problems := exMust(problem.New(st))
	svc := exServiceOn(st, change.WithProblems(problems))
	ana := itil.Actor{ID: "ana", Name: "Ana"}
	p := exMust(problems.Open(ctx, ana, problem.NewProblem{Title: "Checkout waits on database locks"}))

	ch := exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-07")
	ch = exMust(svc.LinkProblem(ctx, exRita, ch.ID, p.ID))
	p = exMust(problems.Get(ctx, p.ID))
	fmt.Println(ch.Number, "fixes", len(ch.Fixes), "problem;", p.Number, p.FixRecords[0].Kind, p.FixRecords[0].State, p.FixReady())

	ch = exMust(svc.Close(ctx, exDan, exImplemented(svc, ch).ID, change.Successful, "upgraded; no lock waits since"))
	p = exMust(problems.Get(ctx, p.ID))
	fmt.Println(ch.State, "→", p.Number, p.FixRecords[0].State, p.FixReady())
	// Output:
	// CHG0001001 fixes 1 problem; PRB0001001 change open false
	// closed → PRB0001001 complete true
}

// An approver away names a delegate for a period; the delegate's decision
// is recorded in the approver's name, with who decided.
func ExampleService_Delegate() {
	ctx := context.Background()
	svc := exService()
	ch := exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-01")
	err := svc.Delegate(ctx, exDora, change.Delegation{From: "dora", To: "nils",
		Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)})
	fmt.Println(err)
	exMust(svc.Move(ctx, exRita, ch.ID, change.MoveAssess))
	ch = exMust(svc.Approve(ctx, exNils, ch.ID, "for Dora, on holiday"))
	a := exMust(svc.Approvals(ctx, ch.ID))[0]
	fmt.Println(ch.Approval.Verdict, a.Approver, a.State, "decided by", a.Delegate)
	// Output:
	// <nil>
	// accepted dora approved decided by nils
}

// A model of the application's own, such as iTop's routine change: no
// approval at all, closed from Implement. WithModels adds it beside the
// defaults.
func ExampleWithModels() {
	ctx := context.Background()
	routine := change.Model{Name: "routine", Transitions: []itil.Transition[change.State]{
		{Event: change.MoveSchedule, From: []change.State{change.StateNew}, To: change.StateScheduled},
		{Event: change.MoveImplement, From: []change.State{change.StateScheduled}, To: change.StateImplement},
		{Event: change.MoveClose, From: []change.State{change.StateImplement}, To: change.StateClosed},
		{Event: change.MoveCancel, From: []change.State{change.StateNew, change.StateScheduled}, To: change.StateCanceled},
	}, PlannedStates: []change.State{change.StateScheduled}, CIChangeStates: []change.State{change.StateImplement}}
	svc := exService(change.WithModels(routine))
	fmt.Println(svc.Models())

	ch := exMust(svc.Open(ctx, exDan, change.NewChange{Model: "routine", Title: "Rotate the backup tapes",
		PlannedStart: exStart, PlannedEnd: exStart.Add(time.Hour)}))
	exMust(svc.Move(ctx, exDan, ch.ID, change.MoveSchedule))
	exMust(svc.Move(ctx, exDan, ch.ID, change.MoveImplement))
	ch = exMust(svc.Close(ctx, exDan, ch.ID, change.Successful, "rotated"))
	fmt.Println(ch.Number, ch.Model, ch.State)
	// Output:
	// [emergency normal routine standard]
	// CHG0001001 routine closed
}
