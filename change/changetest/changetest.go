// Package changetest is the change enablement suite, run against any
// storage backend: the in-memory backend runs it in package change's
// tests, and every other backend runs it beside storagetest.Run.
//
//	func TestChange(t *testing.T) {
//		changetest.Run(t, instances)
//	}
package changetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// Run runs the whole change suite on stores made by instances.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Flows", func(t *testing.T) { testFlows(t, newStore) })
	t.Run("Guards", func(t *testing.T) { testGuards(t, newStore) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, newStore) })
	t.Run("CustomModel", func(t *testing.T) { testCustomModel(t, newStore) })
	t.Run("Tasks", func(t *testing.T) { testTasks(t, newStore) })
	t.Run("FixesProblems", func(t *testing.T) { testFixesProblems(t, newStore) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newStore) })
	t.Run("Approvals", func(t *testing.T) { testApprovals(t, newStore) })
	t.Run("Risk", func(t *testing.T) { testRisk(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { testAuthorizer(t, newStore) })           // breadth.go
	t.Run("UnknownIDs", func(t *testing.T) { testUnknownIDs(t, newStore) })           // breadth.go
	t.Run("TimesOutOfRange", func(t *testing.T) { testTimesOutOfRange(t, newStore) }) // breadth.go
	t.Run("VersionAndTx", func(t *testing.T) { testVersionAndTx(t, newStore) })       // breadth.go
	t.Run("VersionOfOthers", func(t *testing.T) { testVersionOfOthers(t, newStore) }) // breadth.go
	t.Run("List", func(t *testing.T) { testList(t, newStore) })                       // breadth.go
	t.Run("Limits", func(t *testing.T) { testLimits(t, newStore) })                   // limits.go
	t.Run("LongTexts", func(t *testing.T) { testLongTexts(t, newStore) })             // limits.go
	t.Run("Templates", func(t *testing.T) { testTemplates(t, instances) })
	t.Run("TwoInstances/Concurrency", func(t *testing.T) { testTwoInstances(t, instances) }) // concurrency.go
	t.Run("TwoInstances/Model", func(t *testing.T) { testModel(t, instances) })              // model.go
	t.Run("CAB", func(t *testing.T) { testCAB(t, instances) })
	runIncidents(t, newStore, instances)                                                                 // incidents.go
	runUnauthorized(t, newStore, instances)                                                              // unauthorized.go
	runSchedules(t, newStore, instances)                                                                 // schedule.go
	t.Run("Conflicts", func(t *testing.T) { testConflicts(t, newStore) })                                // conflicts.go
	t.Run("ConflictsCMDB", func(t *testing.T) { testConflictsCMDB(t, newStore) })                        // conflicts.go
	t.Run("StoredConflicts", func(t *testing.T) { testStoredConflicts(t, newStore) })                    // conflicts.go
	t.Run("Enforcement", func(t *testing.T) { testEnforcement(t, newStore) })                            // conflicts.go
	t.Run("TwoInstances/Blocking", func(t *testing.T) { testTwoInstanceBlocking(t, instances) })         // conflicts.go
	t.Run("Calendar", func(t *testing.T) { testCalendar(t, newStore) })                                  // conflicts.go
	t.Run("ScheduleReevaluation", func(t *testing.T) { testScheduleReevaluation(t, newStore) })          // conflicts.go
	t.Run("ICalendar", func(t *testing.T) { testICalendar(t, newStore) })                                // conflicts.go
	t.Run("NextSlots", func(t *testing.T) { testNextSlots(t, newStore) })                                // conflicts.go
	t.Run("FloatingWindows", func(t *testing.T) { testFloatingWindows(t, newStore) })                    // conflicts.go
	t.Run("BasicMode", func(t *testing.T) { testBasicMode(t, newStore) })                                // conflicts.go
	t.Run("TwoInstances/ScheduleRace", func(t *testing.T) { testTwoInstanceScheduleRace(t, instances) }) // conflicts.go
	t.Run("ScheduleEdges", func(t *testing.T) { testScheduleEdges(t, newStore) })                        // schedule_edges.go
	t.Run("TwoInstances/FreezeRace", func(t *testing.T) { testTwoInstanceFreezeRace(t, instances) })     // schedule_edges.go
	t.Run("ImplementerSoD", func(t *testing.T) { testImplementerSoD(t, newStore) })                      // sod.go
	t.Run("OneVote", func(t *testing.T) { testOneVote(t, newStore) })                                    // sod.go
}

var requester = itil.Actor{ID: "rita", Name: "Rita Requester"}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store storage.Store
	svc   *change.Service
	clock *testkit.Clock
	// standard is the published template open makes standard changes
	// from.
	standard itil.ID
}

// directory is the suites' approver groups: the requester is a member of
// the assignment group, which segregation of duties must not count.
var directory = change.DirectoryMap{
	"messaging":              {"mia", "max", "rita"},
	"network":                {"nia", "ned"},
	change.GroupCAB:          {"cara", "cole", "cruz", "cyd"},
	change.GroupEmergencyCAB: {"erin"},
}

func setup(t *testing.T, newStore func(*testing.T) storage.Store, opts ...change.Option) *fixture {
	f := &fixture{t: t, ctx: t.Context(), store: newStore(t), clock: testkit.NewClock()}
	svc, err := change.New(f.store, append([]change.Option{change.WithClock(f.clock), change.WithDirectory(directory)}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

// open opens a change of model, as the suite's requester; a standard
// change through a template published for it (standard changes are
// pre-approved: made from templates only).
func (f *fixture) open(model string) *change.Change {
	f.t.Helper()
	start := f.clock.Now().Add(48 * time.Hour)
	if model == change.ModelStandard {
		if f.standard == itil.NilID {
			f.standard = f.tmplPublished(change.NewTemplate{Name: "Upgrade the mail relay", Title: "Upgrade the mail relay",
				Implementation: "apt upgrade postfix", Backout: "apt install postfix=previous", AssignmentGroup: "messaging",
				PlannedDuration: 2 * time.Hour}).ID
		}
		ch, err := f.svc.OpenFromTemplate(f.ctx, requester, f.standard, change.FromTemplate{PlannedStart: start})
		require.NoError(f.t, err)
		return ch
	}
	ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Model: model, Title: "Upgrade the mail relay",
		AssignmentGroup: "messaging", PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour)})
	require.NoError(f.t, err)
	return ch
}

func (f *fixture) move(id itil.ID, moves ...string) *change.Change {
	f.t.Helper()
	var ch *change.Change
	for _, m := range moves {
		var err error
		if who, ok := strings.CutPrefix(m, "approve:"); ok {
			ch, err = f.svc.Approve(f.ctx, itil.Actor{ID: who, Name: who}, id, "")
		} else {
			if m == change.MoveAuthorize {
				f.assessed(id) // the suite's normal changes are assessed before authorization
			}
			ch, err = f.svc.Move(f.ctx, requester, id, m)
		}
		require.NoError(f.t, err, m)
	}
	return ch
}

// assessed assesses the risk of the change id unless it has one.
func (f *fixture) assessed(id itil.ID) {
	f.t.Helper()
	ch, err := f.svc.Get(f.ctx, id)
	require.NoError(f.t, err)
	if ch.Risk == 0 {
		_, err = f.svc.AssessRisk(f.ctx, requester, id, nil)
		require.NoError(f.t, err)
	}
}

// testFlows takes a change of each default model through its textbook
// flow to Closed.
func testFlows(t *testing.T, newStore func(*testing.T) storage.Store) {
	flows := map[string][]string{
		// A normal change of no assessed risk needs no CAB.
		change.ModelNormal: {change.MoveAssess, "approve:mia", change.MoveAuthorize, change.MoveSchedule,
			change.MoveImplement, change.MoveReview},
		change.ModelStandard:  {change.MoveSchedule, change.MoveImplement, change.MoveReview},
		change.ModelEmergency: {change.MoveAuthorize, "approve:erin", change.MoveSchedule, change.MoveImplement, change.MoveReview},
	}
	for model, moves := range flows {
		t.Run(model, func(t *testing.T) {
			f := setup(t, newStore)
			ch := f.open(model)
			assert.Equal(t, change.StateNew, ch.State)
			assert.Equal(t, "CHG0001001", ch.Number)
			f.clock.Advance(time.Hour)
			ch = f.move(ch.ID, moves...)
			assert.Equal(t, change.StateReview, ch.State)
			assert.False(t, ch.ActualStart.IsZero())
			assert.False(t, ch.ActualEnd.IsZero())
			if model == change.ModelEmergency { // every emergency change is reviewed
				_, err := f.svc.RecordReview(f.ctx, requester, ch.ID, change.ReviewInput{WhatHappened: "patched under the ECAB's authority"})
				require.NoError(t, err)
			}
			ch, err := f.svc.Close(f.ctx, requester, ch.ID, change.Successful, "relay upgraded; mail flows")
			require.NoError(t, err)
			assert.Equal(t, change.StateClosed, ch.State)
			assert.Equal(t, change.Successful, ch.CloseCode)
			got, err := f.svc.GetByNumber(f.ctx, ch.Number)
			require.NoError(t, err)
			assert.Equal(t, ch, got)
			h, err := f.svc.History(f.ctx, ch.ID)
			require.NoError(t, err)
			own := 0
			for _, e := range h {
				if e.SubjectID == ch.ID {
					own++
				}
			}
			extra := 0
			if model != change.ModelStandard {
				extra++ // the risk, assessed before authorization
			}
			if model == change.ModelEmergency {
				extra++ // the review every emergency change gets
			}
			assert.Equal(t, len(moves)+2+extra, own, "opened, the risk, each move and approval, the review, closed")
		})
	}
}

// testGuards: moves the model does not allow, missing planned times, and
// closing without a code or notes are refused and write nothing.
func testGuards(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.open(change.ModelNormal)
	n := testkit.JournalLen(t, f.store)
	_, err := f.svc.Move(f.ctx, requester, ch.ID, change.MoveImplement)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.Move(f.ctx, requester, ch.ID, change.MoveClose)
	testkit.RequireFields(t, err, "move")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "nothing written")
	bare, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "No dates yet"})
	require.NoError(t, err)
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.Move(f.ctx, requester, bare.ID, change.MoveAssess)
	testkit.RequireFields(t, err, "planned_start", "planned_end")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "nothing written")

	std := f.open(change.ModelStandard)
	n = testkit.JournalLen(t, f.store)
	std = f.move(std.ID, change.MoveSchedule, change.MoveImplement, change.MoveReview)
	_, err = f.svc.Close(f.ctx, requester, std.ID, "", "")
	testkit.RequireFields(t, err, "close_code", "close_notes")
	_, err = f.svc.Cancel(f.ctx, requester, std.ID, "too late")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "no cancel from Review")
	assert.Equal(t, n+7, testkit.JournalLen(t, f.store), "three moves, two tasks opened and canceled; nothing else")
	_, err = f.svc.Open(f.ctx, requester, change.NewChange{Model: change.ModelStandard, Title: "by hand"})
	testkit.RequireFields(t, err, "model") // pre-approved changes come from templates

	// No authorization before the risk is assessed.
	unjudged := f.open(change.ModelNormal)
	unjudged = f.move(unjudged.ID, change.MoveAssess, "approve:mia")
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.Move(f.ctx, requester, unjudged.ID, change.MoveAuthorize)
	testkit.RequireFields(t, err, "risk")
	assert.Equal(t, n, testkit.JournalLen(t, f.store))

	c2 := f.open(change.ModelEmergency)
	_, err = f.svc.Cancel(f.ctx, requester, c2.ID, " ")
	testkit.RequireFields(t, err, "reason")
	c2, err = f.svc.Cancel(f.ctx, requester, c2.ID, "the vendor patched it")
	require.NoError(t, err)
	assert.Equal(t, change.StateCanceled, c2.State)
	assert.False(t, c2.ClosedAt.IsZero())
}

// testBadInput: bad fields on Open are named together and nothing is
// written.
func testBadInput(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	n := testkit.JournalLen(t, f.store)
	ci := itil.NewID()
	start := f.clock.Now()
	_, err := f.svc.Open(f.ctx, requester, change.NewChange{Model: "routine", Title: " ", Impact: 9,
		CIID: ci, CIIDs: []itil.ID{ci, itil.NilID}, PlannedStart: start, PlannedEnd: start})
	testkit.RequireFields(t, err, "model", "title", "impact", "ci_ids", "ci_ids[1]", "planned_end")
	_, err = f.svc.Open(f.ctx, itil.Actor{}, change.NewChange{Title: "x"})
	testkit.RequireInvalid(t, err, "actor.id")
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
	_, err = f.svc.Get(f.ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.GetByNumber(f.ctx, "CHG0009999")
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = change.New(f.store, change.WithModels(change.Model{Name: "Bad Name"}))
	testkit.RequireInvalid(t, err, "models[0].name", "models[0].transitions")
}

// testCustomModel: an application's model (iTop's routine change, with no
// approval) runs beside the defaults, and List filters by model.
func testCustomModel(t *testing.T, newStore func(*testing.T) storage.Store) {
	routine := change.Model{Name: "routine", Transitions: []itil.Transition[change.State]{
		{Event: change.MoveSchedule, From: []change.State{change.StateNew}, To: change.StateScheduled},
		{Event: change.MoveImplement, From: []change.State{change.StateScheduled}, To: change.StateImplement},
		{Event: change.MoveClose, From: []change.State{change.StateImplement}, To: change.StateClosed},
		{Event: change.MoveCancel, From: []change.State{change.StateNew, change.StateScheduled}, To: change.StateCanceled},
	}, PlannedStates: []change.State{change.StateScheduled}}
	f := setup(t, newStore, change.WithModels(routine))
	shortcut := f.open("routine")
	f.move(shortcut.ID, change.MoveSchedule, change.MoveImplement)
	_, err := f.svc.Move(f.ctx, requester, shortcut.ID, change.MoveClose)
	testkit.RequireFields(t, err, "move") // Close records why a change ends
	assert.Equal(t, []string{"emergency", "normal", "routine", "standard"}, f.svc.Models())
	ch := f.open("routine")
	ch = f.move(ch.ID, change.MoveSchedule, change.MoveImplement)
	_, err = f.svc.Close(f.ctx, requester, ch.ID, change.SuccessfulWithIssues, "one relay needed a second restart")
	testkit.RequireFields(t, err, "review")
	_, err = f.svc.RecordReview(f.ctx, requester, ch.ID, change.ReviewInput{WhatHappened: "relay 2 hung on restart",
		Lessons: "restart relays one at a time", FollowUps: []string{"script the restarts"}})
	require.NoError(t, err)
	ch, err = f.svc.Close(f.ctx, requester, ch.ID, change.SuccessfulWithIssues, "one relay needed a second restart")
	require.NoError(t, err)
	assert.Equal(t, change.StateClosed, ch.State)
	f.open(change.ModelNormal)
	var got []string
	for c, err := range f.svc.List(f.ctx, change.Filter{Models: []string{"routine"}}) {
		require.NoError(t, err)
		got = append(got, c.Number)
	}
	assert.Equal(t, []string{shortcut.Number, ch.Number}, got)
	m, ok := f.svc.Model("routine")
	require.True(t, ok)
	m.Transitions[0].To = "elsewhere"
	again, _ := f.svc.Model("routine")
	assert.Equal(t, change.StateScheduled, again.Transitions[0].To, "a copy")
}

// testTasks: entering Implement opens an implement task and a test task;
// the change's actual times come from them once they start and end; Review
// cancels the tasks still open.
func testTasks(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.open(change.ModelStandard)
	ch = f.move(ch.ID, change.MoveSchedule)
	f.clock.Advance(time.Hour)
	ch = f.move(ch.ID, change.MoveImplement)
	entered := f.clock.Now()
	assert.Equal(t, entered, ch.ActualStart, "from the move until a task starts")
	var ts []*change.Task
	for tk, err := range f.svc.Tasks(f.ctx, ch.ID) {
		require.NoError(t, err)
		ts = append(ts, tk)
	}
	require.Len(t, ts, 2)
	assert.Equal(t, change.TaskImplement, ts[0].Type)
	assert.Equal(t, change.TaskPostImplementationTest, ts[1].Type)
	assert.Equal(t, "messaging", ts[0].AssignmentGroup)

	f.clock.Advance(30 * time.Minute)
	_, err := f.svc.StartTask(f.ctx, requester, ts[0].ID)
	require.NoError(t, err)
	got, err := f.svc.Get(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, entered.Add(30*time.Minute), got.ActualStart, "the earliest task start")
	f.clock.Advance(time.Hour)
	_, err = f.svc.CloseTask(f.ctx, requester, ts[0].ID, "relay upgraded")
	require.NoError(t, err)
	got, err = f.svc.Get(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.True(t, got.ActualEnd.IsZero(), "the test task is still open")
	_, err = f.svc.CloseTask(f.ctx, requester, ts[0].ID, "again")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.CloseTask(f.ctx, requester, ts[1].ID, " ")
	testkit.RequireFields(t, err, "close_notes")
	f.clock.Advance(time.Hour)
	_, err = f.svc.CloseTask(f.ctx, requester, ts[1].ID, "mail flows")
	require.NoError(t, err)
	got, err = f.svc.Get(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now(), got.ActualEnd, "the latest task close")

	// Review cancels what is still open; a task of a change not in
	// Implement does not start.
	other := f.open(change.ModelStandard)
	other = f.move(other.ID, change.MoveSchedule, change.MoveImplement, change.MoveReview)
	var left []*change.Task
	for tk, err := range f.svc.Tasks(f.ctx, other.ID) {
		require.NoError(t, err)
		left = append(left, tk)
	}
	require.Len(t, left, 2)
	for _, tk := range left {
		assert.Equal(t, change.TaskCanceled, tk.State)
	}
	_, err = f.svc.StartTask(f.ctx, requester, left[0].ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// Canceling in Implement cancels the tasks; they stay ended.
	gone := f.open(change.ModelStandard)
	gone = f.move(gone.ID, change.MoveSchedule, change.MoveImplement)
	gone, err = f.svc.Cancel(f.ctx, requester, gone.ID, "the vendor withdrew the patch")
	require.NoError(t, err)
	assert.False(t, gone.ActualEnd.IsZero())
	for tk, err := range f.svc.Tasks(f.ctx, gone.ID) {
		require.NoError(t, err)
		assert.Equal(t, change.TaskCanceled, tk.State)
		_, err = f.svc.CloseTask(f.ctx, requester, tk.ID, "done anyway")
		require.ErrorIs(t, err, itil.ErrInvalidTransition)
	}
	_, err = f.svc.StartTask(f.ctx, requester, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
}

// testFixesProblems: a change that fixes a problem is its fix record;
// closing the change successfully completes the record (the problem's fix
// is then ready), closing it unsuccessfully or canceling it cancels the
// record; all in the change's transaction.
func testFixesProblems(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	clock := testkit.NewClock()
	probs, err := problem.New(store, problem.WithClock(clock))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: t.Context(), store: store, clock: clock}
	f.svc, err = change.New(store, change.WithClock(clock), change.WithProblems(probs))
	require.NoError(t, err)
	openProblem := func(title string) *problem.Problem {
		p, err := probs.Open(f.ctx, requester, problem.NewProblem{Title: title, Impact: 2, Urgency: 2})
		require.NoError(t, err)
		return p
	}
	record := func(p *problem.Problem, ch *change.Change) problem.FixRecord {
		got, err := probs.Get(f.ctx, p.ID)
		require.NoError(t, err)
		for _, r := range got.FixRecords {
			if r.Kind == change.Kind && r.ID == ch.ID {
				return r
			}
		}
		require.FailNow(t, "no fix record")
		return problem.FixRecord{}
	}
	done := func(ch *change.Change) *change.Change {
		return f.move(ch.ID, change.MoveSchedule, change.MoveImplement, change.MoveReview)
	}

	p := openProblem("Relay leaks memory")
	ch := f.open(change.ModelStandard)
	ch, err = f.svc.LinkProblem(f.ctx, requester, ch.ID, p.ID)
	require.NoError(t, err)
	assert.Equal(t, []itil.ID{p.ID}, ch.Fixes)
	assert.Equal(t, problem.FixOpen, record(p, ch).State)
	_, err = f.svc.LinkProblem(f.ctx, requester, ch.ID, p.ID)
	testkit.RequireFields(t, err, "problem_id")
	_, err = f.svc.LinkProblem(f.ctx, requester, ch.ID, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
	done(ch)
	_, err = f.svc.Close(f.ctx, requester, ch.ID, change.Successful, "patched")
	require.NoError(t, err)
	assert.Equal(t, problem.FixComplete, record(p, ch).State)
	got, err := probs.Get(f.ctx, p.ID)
	require.NoError(t, err)
	assert.True(t, got.FixReady())

	q := openProblem("Disk fills up")
	failed := f.open(change.ModelStandard)
	_, err = f.svc.LinkProblem(f.ctx, requester, failed.ID, q.ID)
	require.NoError(t, err)
	done(failed)
	_, err = f.svc.RecordReview(f.ctx, requester, failed.ID, change.ReviewInput{WhatHappened: "the patch broke the relay"})
	require.NoError(t, err)
	_, err = f.svc.Close(f.ctx, requester, failed.ID, change.Unsuccessful, "rolled back")
	require.NoError(t, err)
	found, err := f.svc.ReviewToProblem(f.ctx, requester, failed.ID)
	require.NoError(t, err, "a review's findings become a problem")
	assert.Contains(t, found.Description, "the patch broke the relay")
	got2, err := f.svc.Get(f.ctx, failed.ID)
	require.NoError(t, err)
	assert.Equal(t, found.ID, got2.Review.ProblemID)
	_, err = f.svc.ReviewToProblem(f.ctx, requester, failed.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "once")
	assert.Equal(t, problem.FixCanceled, record(q, failed).State)

	dropped := f.open(change.ModelStandard)
	_, err = f.svc.LinkProblem(f.ctx, requester, dropped.ID, q.ID)
	require.NoError(t, err)
	_, err = f.svc.Cancel(f.ctx, requester, dropped.ID, "superseded")
	require.NoError(t, err)
	assert.Equal(t, problem.FixCanceled, record(q, dropped).State)

	// Without WithProblems nothing is linked.
	bare := setup(t, func(*testing.T) storage.Store { return store })
	_, err = bare.svc.LinkProblem(f.ctx, requester, bare.open(change.ModelNormal).ID, q.ID)
	require.ErrorIs(t, err, change.ErrNoProblems)
}

// testUpdate: Update, Assign and SetModel change what they name, refuse
// what the state forbids, and write nothing when refused.
func testUpdate(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.open(change.ModelNormal)
	backout := "restore the previous relay image"
	ch, err := f.svc.Update(f.ctx, requester, ch.ID, change.Patch{Backout: &backout})
	require.NoError(t, err)
	assert.Equal(t, backout, ch.Backout)
	ch, err = f.svc.Assign(f.ctx, requester, ch.ID, "network", "nia")
	require.NoError(t, err)
	assert.Equal(t, "nia", ch.Assignee)
	ch, err = f.svc.SetModel(f.ctx, requester, ch.ID, change.ModelEmergency)
	require.NoError(t, err)
	assert.Equal(t, change.ModelEmergency, ch.Model)

	n := testkit.JournalLen(t, f.store)
	_, err = f.svc.Update(f.ctx, requester, ch.ID, change.Patch{Backout: &backout})
	testkit.RequireFields(t, err, "patch")
	_, err = f.svc.Assign(f.ctx, requester, ch.ID, "network", "nia")
	testkit.RequireFields(t, err, "group")
	_, err = f.svc.SetModel(f.ctx, requester, ch.ID, "nope")
	testkit.RequireFields(t, err, "model")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "refusals write nothing")
	ch = f.move(ch.ID, change.MoveAuthorize, "approve:erin", change.MoveSchedule)
	n = testkit.JournalLen(t, f.store)
	zero := time.Time{}
	_, err = f.svc.Update(f.ctx, requester, ch.ID, change.Patch{PlannedStart: &zero})
	testkit.RequireFields(t, err, "planned_start")
	_, err = f.svc.SetModel(f.ctx, requester, ch.ID, change.ModelNormal)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "refusals write nothing")
	_, err = f.svc.Cancel(f.ctx, requester, ch.ID, "not needed")
	require.NoError(t, err)
	_, err = f.svc.Assign(f.ctx, requester, ch.ID, "desk", "")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// The risk rests on the impact, the CIs and the model: changing them
	// clears an assessed risk, to assess again.
	r := f.open(change.ModelNormal)
	f.assessed(r.ID)
	impact := itil.Impact(1)
	got, err := f.svc.Update(f.ctx, requester, r.ID, change.Patch{Impact: &impact})
	require.NoError(t, err)
	assert.Equal(t, change.Risk(0), got.Risk)
	assert.Empty(t, got.RiskExplanation)
	f.assessed(r.ID)
	assert.Equal(t, change.RiskHigh, f.get(r.ID).Risk, "judged again on impact 1")
}
