package changetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// modelRisk is the risk model the model test's Services use: conditions on
// the CIs and the group (one setting an impact only), a questionnaire the
// actions answer at random, and the default lookup.
func modelRisk() change.RiskModel {
	lookup := change.DefaultRiskLookup()
	return change.RiskModel{
		Conditions: []change.RiskCondition{
			{Name: "three CIs or more", When: change.Condition{Field: "cis", Op: change.OpGte, Value: 3}, Risk: change.RiskHigh},
			{Name: "a network change", When: change.Condition{Field: "assignment_group", Op: change.OpEq, Value: "network"},
				Impact: 1},
			{Name: "any other change", Risk: change.RiskLow},
		},
		Questions: []change.Question{
			{Name: "outage", Weight: 10, Answers: []change.Answer{{Name: "yes", Value: 3}, {Name: "no", Value: 0}}},
			{Name: "backout", Weight: 5, Answers: []change.Answer{{Name: "tested", Value: 0}, {Name: "untested", Value: 4},
				{Name: "none", Value: 8}}},
		},
		Thresholds: []change.RiskThreshold{{Score: 0, Risk: change.RiskLow}, {Score: 20, Risk: change.RiskModerate},
			{Score: 40, Risk: change.RiskHigh}, {Score: 60, Risk: change.RiskVeryHigh}},
		Lookup: &lookup,
	}
}

// assessment is what the model knows of a change's last risk
// assessment: the facts it was made on (as the test reads them from the
// change before the command) and the answers given.
type assessment struct {
	facts   change.Facts
	answers map[string]string
	rating  change.Rating
}

// basis is what a change's risk rests on: its impact and CIs.
type basis struct {
	impact itil.Impact
	ciid   itil.ID
	ciids  []itil.ID
}

// delegation is a delegation as the model keeps it.
type delegation struct {
	from, to   string
	start, end time.Time
}

// factsOf is the facts of ch a risk assessment reads with no CMDB, as
// the test understands them (change's own factsOf is not exported).
func factsOf(ch *change.Change) change.Facts {
	f := change.Facts{Model: ch.Model, State: string(ch.State), AssignmentGroup: ch.AssignmentGroup,
		Assignee: ch.Assignee, RequestedBy: ch.RequestedBy.ID, Risk: ch.Risk, Impact: ch.Impact,
		AffectedServices: len(ch.AffectedServices), CIs: len(ch.CIIDs)}
	if slices.Contains([]string{change.ModelNormal, change.ModelStandard, change.ModelEmergency}, ch.Model) {
		f.Type = ch.Model
	}
	if ch.CIID != itil.NilID {
		f.CIs++
	}
	if !ch.PlannedStart.IsZero() && !ch.PlannedEnd.IsZero() {
		f.PlannedDuration = ch.PlannedEnd.Sub(ch.PlannedStart)
	}
	return f
}

// waiting reports whether ch waits for a round of approvals.
func waiting(ch *change.Change) bool {
	r := ch.Approval
	return r != nil && r.State == ch.State && r.Verdict == change.VerdictWaiting
}

// testModel drives changes of every default model with random commands,
// on one Service or (with two) on two handles of one store, every command
// sent to one of them at random, and checks after every step:
//
//   - a command either succeeds or is refused with a typed error, and a
//     refused command writes nothing; Assign, Update, SetModel,
//     AssessRisk, the task commands, Delegate and EndDelegation succeed
//     exactly when the model says they should;
//   - a change is in a state of its model, and a final one stays as it
//     was; it survives a JSON round trip;
//   - a change waiting in an approval state has a round for it that is
//     waiting or accepted; a change past that state got there only once
//     the round was accepted;
//   - no request stays open on a change that is not waiting for it;
//   - segregation of duties holds: no record of the requester or the
//     assignee is ever approved, and a delegate decides only under a
//     delegation from the approver, never when excluded;
//   - the risk is the highest of its methods: the pure RiskAssessor the
//     Service uses, on the facts and answers of the last assessment,
//     gives the change's risk and explanation; and what the risk rests on
//     (impact, CIs) does not change while approvals rely on it;
//   - the history replays to the change as stored, one event per
//     version, and so do its approval records and tasks;
//   - a change has no tasks until it enters Implement, then two, ended
//     once it has left; its actual start is its tasks' earliest start,
//     and in Implement its actual end is their latest close once all have
//     ended.
func testModel(t *testing.T, instances storagetest.Instances) {
	risk := modelRisk()
	assessor, err := risk.Compile()
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(rt *rapid.T) {
		a, b := instances(t)
		clock := testkit.NewClock()
		var svcs []*change.Service
		stores := []storage.Store{a, b}
		// Basic mode checks the primary CI only, which makes conflicts
		// one-sided: kept current all the same.
		detection := change.ConflictDetection{Basic: rapid.Bool().Draw(rt, "basic mode")}
		for _, s := range stores {
			svc, err := change.New(s, change.WithClock(clock), change.WithDirectory(directory), change.WithRiskModel(risk),
				change.WithConflictDetection(detection))
			if err != nil {
				rt.Fatal(err)
			}
			svcs = append(svcs, svc)
		}
		svc := svcs[0]
		ctx := t.Context()
		var ids []itil.ID
		finals := map[itil.ID]*change.Change{}
		assessed := map[itil.ID]*assessment{}
		settled := map[itil.ID]*basis{}
		var delegations []*delegation
		users := []string{"rita", "mia", "max", "nia", "cara", "cole", "cruz", "cyd", "erin", "nora", "nobody"}
		cis := []itil.ID{itil.NewID(), itil.NewID(), itil.NewID()}
		var freezes []itil.ID // blackout schedules, in any state

		// run runs one command and checks that a refusal is typed and
		// writes nothing.
		run := func(t *rapid.T, do func() error) error {
			before := testkit.JournalLen(t, a)
			err := do()
			if err == nil {
				return nil
			}
			var v *itil.ValidationError
			if !errors.As(err, &v) && !errors.Is(err, itil.ErrInvalidTransition) && !errors.Is(err, itil.ErrForbidden) &&
				!errors.Is(err, itil.ErrNotFound) && !errors.Is(err, itil.ErrConflict) {
				t.Fatalf("an untyped refusal: %v", err)
			}
			if n := testkit.JournalLen(t, a); n != before {
				t.Fatalf("a refused command wrote %d events: %v", n-before, err)
			}
			return err
		}
		// expect runs a command the model predicts: it must succeed exactly
		// when ok.
		expect := func(t *rapid.T, ok bool, do func() error) bool {
			err := run(t, do)
			if ok && err != nil {
				t.Fatalf("the model expected success, got %v", err)
			}
			if !ok && err == nil {
				t.Fatalf("the model expected a refusal, the command succeeded")
			}
			return ok
		}
		// expectBooking is expect for a command that may change what ch
		// books: it may also be refused for new conflicts that block the
		// state ch is in (a freeze on a CI it gains, or over its new
		// window, when it is Scheduled).
		expectBooking := func(t *rapid.T, ok bool, ch *change.Change, do func() error) bool {
			err := run(t, do)
			var ce *change.ConflictError
			if ok && errors.As(err, &ce) {
				if ch.State != change.StateScheduled || ce.State != ch.State || !blockedByFreeze(ce.Conflicts, ch.ConflictOverride) {
					t.Fatalf("%s in %s refused for %+v", ch.Number, ch.State, ce.Conflicts)
				}
				return false
			}
			if ok && err != nil {
				t.Fatalf("the model expected success, got %v", err)
			}
			if !ok && err == nil {
				t.Fatalf("the model expected a refusal, the command succeeded")
			}
			return ok
		}
		get := func(t *rapid.T, id itil.ID) *change.Change {
			ch, err := svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return ch
		}
		// assessedNow records the assessment of ch, read just before, with
		// answers.
		// The success rating is the pure scores' of every change closed
		// so far (final, so as it was when it closed) by the default
		// scoring.
		assessedNow := func(t *rapid.T, ch *change.Change, answers map[string]string) {
			scores, err := change.NewSuccessScores(change.DefaultSuccessScoring())
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if c := get(t, id); c.State == change.StateClosed {
					if err := scores.Closed(c.CloseCode, c.AssignmentGroup, c.Model, append([]itil.ID{c.CIID}, c.CIIDs...)); err != nil {
						t.Fatal(err)
					}
				}
			}
			rating := scores.Rating(ch.AssignmentGroup, ch.Model, append([]itil.ID{ch.CIID}, ch.CIIDs...))
			assessed[ch.ID] = &assessment{facts: factsOf(ch), answers: answers, rating: rating}
		}
		pick := func(t *rapid.T) *change.Change { return get(t, rapid.SampledFrom(ids).Draw(t, "change")) }
		// A published template for the standard changes.
		tp, err := svc.ProposeTemplate(ctx, requester, change.NewTemplate{Name: "Restart the relay", Title: "Restart the relay",
			Implementation: "systemctl restart postfix", Backout: "none needed", AssignmentGroup: "messaging",
			PlannedDuration: time.Hour})
		if err == nil {
			_, err = svc.ApproveTemplate(ctx, tmplManager, tp.ID)
		}
		if err == nil {
			_, err = svc.RequestTemplate(ctx, requester, tp.ID)
		}
		if err == nil {
			_, err = svc.PublishTemplate(ctx, tmplManager, tp.ID)
		}
		if err != nil {
			rt.Fatal(err)
		}
		open := func(t *rapid.T) {
			model := rapid.SampledFrom([]string{change.ModelNormal, change.ModelEmergency, change.ModelStandard}).Draw(t, "model")
			start := clock.Now().Add(24 * time.Hour)
			assignee := rapid.SampledFrom([]string{"", "max"}).Draw(t, "assignee")
			var ch *change.Change
			var err error
			if model == change.ModelStandard {
				ch, err = svc.OpenFromTemplate(ctx, requester, tp.ID, change.FromTemplate{PlannedStart: start, Assignee: assignee})
			} else {
				on := rapid.SliceOfNDistinct(rapid.SampledFrom(cis), 0, 2, func(id itil.ID) itil.ID { return id }).Draw(t, "cis")
				ch, err = svc.Open(ctx, requester, change.NewChange{Model: model, Title: "a change", AssignmentGroup: "messaging",
					Assignee: assignee, CIIDs: on, PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
			}
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ch.ID)
		}
		// Changes to work on from the first step: an action that found
		// none would be rejected, and rapid stops a run after a few.
		for range rapid.IntRange(2, 3).Draw(rt, "initial") {
			open(rt)
		}
		// check checks the change id against the invariants.
		check := func(t *rapid.T, id itil.ID) {
			ch := get(t, id)
			recs, err := svc.Approvals(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var tks []*change.Task
			for tk, err := range svc.Tasks(ctx, id) {
				if err != nil {
					t.Fatal(err)
				}
				tks = append(tks, tk)
			}
			checkChange(t, svc, ch, recs, finals)
			checkRisk(t, svc, assessor, ch, assessed[id], settled)
			checkHistory(t, svc, ch, recs, tks)
			checkTasks(t, ch, tks)
			checkDelegates(t, ch, recs, delegations)
			checkConflicts(t, svc, ch)
			var all []*change.Change
			for _, other := range ids {
				all = append(all, get(t, other))
			}
			var scheds []*change.Schedule
			for _, id := range freezes {
				sc, err := svc.GetSchedule(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				scheds = append(scheds, sc)
			}
			checkConflictsOracle(t, ch, all, scheds, detection.Basic)
		}
		// advance takes the change id one step along its happy path and
		// reports whether it did.
		advance := func(t *rapid.T, id itil.ID) bool {
			ch := get(t, id)
			switch {
			case ch.State.Final():
				return false
			case waiting(ch):
				recs, err := svc.Approvals(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				// The first asked by name: record IDs are random, and the
				// run must replay the same way.
				var asked []string
				for _, rec := range recs {
					if rec.Round == ch.Approval.Round && rec.State == change.ApprovalRequested {
						asked = append(asked, rec.Approver)
					}
				}
				if len(asked) > 0 {
					who := slices.Min(asked)
					return run(t, func() error { return errOf(svc.Approve(ctx, actor(who), id, "")) }) == nil
				}
			case ch.State == change.StateReview:
				return run(t, func() error {
					if _, err := svc.RecordReview(ctx, requester, id, change.ReviewInput{WhatHappened: "as planned"}); err != nil {
						return err
					}
					return errOf(svc.Close(ctx, requester, id, change.Successful, "done"))
				}) == nil
			case ch.State == change.StateImplement:
				// The tasks one by one, in order, then Review.
				for tk, err := range svc.Tasks(ctx, id) {
					if err != nil {
						t.Fatal(err)
					}
					switch tk.State {
					case change.TaskOpen:
						return run(t, func() error { return errOf(svc.StartTask(ctx, requester, tk.ID)) }) == nil
					case change.TaskInProgress:
						return run(t, func() error { return errOf(svc.CloseTask(ctx, requester, tk.ID, "done")) }) == nil
					}
				}
			}
			for _, move := range []string{change.MoveAssess, change.MoveAuthorize, change.MoveSchedule, change.MoveImplement, change.MoveReview} {
				_, err := svc.Move(ctx, requester, id, move)
				checkFreezeRule(t, ch, get(t, id), err)
				if err == nil {
					return true
				}
			}
			if ch.Risk == 0 {
				// A move refused for want of a risk: assess it.
				answers := map[string]string{"outage": "no"}
				if run(t, func() error { return errOf(svc.AssessRisk(ctx, requester, id, answers)) }) == nil {
					assessedNow(t, ch, answers)
					return true
				}
			}
			return false
		}
		actions := map[string]func(*rapid.T){
			"": func(t *rapid.T) {
				for _, id := range ids {
					check(t, id)
				}
			},
			"open": open,
			"move": func(t *rapid.T) {
				id := pick(t).ID
				move := rapid.SampledFrom([]string{change.MoveAssess, change.MoveAuthorize, change.MoveSchedule,
					change.MoveImplement, change.MoveReview}).Draw(t, "move")
				before := get(t, id)
				err := run(t, func() error { return errOf(svc.Move(ctx, requester, id, move)) })
				checkFreezeRule(t, before, get(t, id), err)
			},
			"approve": func(t *rapid.T) {
				id, who := pick(t).ID, rapid.SampledFrom(users).Draw(t, "approver")
				run(t, func() error { return errOf(svc.Approve(ctx, actor(who), id, "")) })
			},
			"reject": func(t *rapid.T) {
				id, who := pick(t).ID, rapid.SampledFrom(users).Draw(t, "approver")
				run(t, func() error { return errOf(svc.Reject(ctx, actor(who), id, "not now")) })
			},
			"assess risk": func(t *rapid.T) {
				ch := pick(t)
				answers := map[string]string{}
				ok := true
				for _, q := range []struct{ name, bad string }{{"outage", "maybe"}, {"backout", "partly"}, {"rollback", "yes"}} {
					choices := []string{"", q.bad}
					if i := slices.IndexFunc(risk.Questions, func(x change.Question) bool { return x.Name == q.name }); i >= 0 {
						for _, ans := range risk.Questions[i].Answers {
							choices = append(choices, ans.Name, ans.Name) // valid answers more often
						}
					}
					if ans := rapid.SampledFrom(choices).Draw(t, q.name); ans != "" {
						answers[q.name] = ans
						ok = ok && ans != q.bad
					}
				}
				m, _ := svc.Model(ch.Model)
				ok = ok && !ch.State.Final() && ch.State != change.StateImplement && ch.State != change.StateReview &&
					!waiting(ch) && !slices.Contains(m.RiskStates, ch.State)
				if expect(t, ok, func() error { return errOf(svc.AssessRisk(ctx, requester, ch.ID, answers)) }) {
					assessedNow(t, ch, answers)
				}
			},
			"assign": func(t *rapid.T) {
				ch := pick(t)
				group := rapid.SampledFrom([]string{"messaging", "network", ""}).Draw(t, "group")
				assignee := rapid.SampledFrom([]string{"", "max", "nia", "rita"}).Draw(t, "assignee")
				ok := !ch.State.Final() && group != "" && !(group != ch.AssignmentGroup && ch.TemplateID != itil.NilID) &&
					!waiting(ch) && !(group == ch.AssignmentGroup && assignee == ch.Assignee)
				if ok && assignee != "" && assignee != ch.Assignee {
					// Segregation of duties: an approver does not become
					// the assignee, who implements the change.
					recs, err := svc.Approvals(ctx, ch.ID)
					if err != nil {
						t.Fatal(err)
					}
					ok = !slices.ContainsFunc(recs, func(a *change.Approval) bool {
						return a.State == change.ApprovalApproved && (a.Delegate == assignee || (a.Approver == assignee && a.Delegate == ""))
					})
				}
				if expect(t, ok, func() error { return errOf(svc.Assign(ctx, requester, ch.ID, group, assignee)) }) {
					if got := get(t, ch.ID); got.AssignmentGroup != group || got.Assignee != assignee || got.Version != ch.Version+1 {
						t.Fatalf("%s assigned to %s/%s at version %d", got.Number, got.AssignmentGroup, got.Assignee, got.Version)
					}
				}
			},
			"update": func(t *rapid.T) {
				ch := pick(t)
				p, next := drawPatch(t, ch, cis)
				if expectBooking(t, updateOK(svc, ch, p, next), ch, func() error { return errOf(svc.Update(ctx, requester, ch.ID, p)) }) {
					got := get(t, ch.ID)
					if next.Impact != ch.Impact || next.CIID != ch.CIID || !slices.Equal(next.CIIDs, ch.CIIDs) {
						delete(assessed, ch.ID) // the risk rested on them: cleared
					}
					if got.Title != next.Title || got.Impact != next.Impact || !slices.Equal(got.CIIDs, next.CIIDs) ||
						!got.PlannedStart.Equal(next.PlannedStart) || !got.PlannedEnd.Equal(next.PlannedEnd) || got.Version != ch.Version+1 {
						t.Fatalf("%s updated to %+v, not %+v", got.Number, got, next)
					}
				}
			},
			"set model": func(t *rapid.T) {
				ch := pick(t)
				model := rapid.SampledFrom([]string{change.ModelNormal, change.ModelEmergency, change.ModelStandard, "nope"}).Draw(t, "model")
				m, known := svc.Model(model)
				ok := ch.State == change.StateNew && ch.TemplateID == itil.NilID && ch.ApprovalRounds == 0 && known &&
					!m.TemplateOnly && model != ch.Model
				if expect(t, ok, func() error { return errOf(svc.SetModel(ctx, requester, ch.ID, model)) }) {
					if got := get(t, ch.ID); got.Model != model || got.State != change.StateNew {
						t.Fatalf("%s follows %s in %s, not %s", got.Number, got.Model, got.State, model)
					}
					delete(assessed, ch.ID) // judged on the model too: cleared
				}
			},
			"task": func(t *rapid.T) {
				ch := pick(t)
				var tks []*change.Task
				for tk, err := range svc.Tasks(ctx, ch.ID) {
					if err != nil {
						t.Fatal(err)
					}
					tks = append(tks, tk)
				}
				if len(tks) == 0 {
					return // nothing to do: a no-op rather than a rejected step
				}
				tk := rapid.SampledFrom(tks).Draw(t, "task")
				live := tk.State == change.TaskOpen || tk.State == change.TaskInProgress
				switch op := rapid.SampledFrom([]string{"start", "close", "cancel"}).Draw(t, "op"); op {
				case "start":
					ok := !ch.State.Final() && ch.State == change.StateImplement && tk.State == change.TaskOpen
					expect(t, ok, func() error { return errOf(svc.StartTask(ctx, requester, tk.ID)) })
				case "close":
					notes := rapid.SampledFrom([]string{"done", " "}).Draw(t, "notes")
					ok := !ch.State.Final() && live && notes != " "
					expect(t, ok, func() error { return errOf(svc.CloseTask(ctx, requester, tk.ID, notes)) })
				default:
					ok := !ch.State.Final() && live
					expect(t, ok, func() error { return errOf(svc.CancelTask(ctx, requester, tk.ID, "not needed")) })
				}
			},
			"delegate": func(t *rapid.T) {
				from := rapid.SampledFrom([]string{"mia", "nia", "cara", "erin"}).Draw(t, "from")
				to := rapid.SampledFrom([]string{"nora", "max", "rita", "cara"}).Draw(t, "to")
				by := rapid.SampledFrom([]string{from, from, "max"}).Draw(t, "by")
				now := clock.Now()
				d := delegation{from: from, to: to, start: now.Add(time.Duration(rapid.IntRange(0, 2).Draw(t, "start")) * time.Hour)}
				if rapid.Bool().Draw(t, "ends") {
					d.end = d.start.Add(2 * time.Hour)
				}
				ok := by == from && from != to && !slices.ContainsFunc(delegations, func(o *delegation) bool {
					ends := func(x *delegation, at time.Time) bool { return x.end.IsZero() || x.end.After(at) }
					return o.from == from && o.to == to && ends(o, d.start) && ends(&d, o.start)
				})
				if expect(t, ok, func() error {
					return svc.Delegate(ctx, actor(by), change.Delegation{From: from, To: to, Start: d.start, End: d.end})
				}) {
					delegations = append(delegations, &d)
				}
			},
			"end delegation": func(t *rapid.T) {
				by := rapid.SampledFrom([]string{"mia", "nia", "cara", "erin"}).Draw(t, "by")
				to := rapid.SampledFrom([]string{"nora", "max", "rita", "cara"}).Draw(t, "to")
				now := clock.Now()
				var ending []*delegation
				for _, d := range delegations {
					if d.from == by && d.to == to && (d.end.IsZero() || d.end.After(now)) {
						ending = append(ending, d)
					}
				}
				n, err := svc.EndDelegation(ctx, actor(by), to)
				if err != nil || n != len(ending) {
					t.Fatalf("ended %d delegations of %s to %s (%v), the model %d", n, by, to, err, len(ending))
				}
				for _, d := range ending {
					d.end = now
					if d.start.After(now) {
						d.end = d.start
					}
				}
			},
			"tick": func(t *rapid.T) {
				clock.Advance(time.Duration(rapid.IntRange(1, 4).Draw(t, "quarters")) * 15 * time.Minute)
			},
			"review": func(t *rapid.T) {
				id := pick(t).ID
				run(t, func() error {
					return errOf(svc.RecordReview(ctx, requester, id, change.ReviewInput{WhatHappened: "as planned"}))
				})
			},
			"close": func(t *rapid.T) {
				id := pick(t).ID
				code := rapid.SampledFrom([]change.CloseCode{change.Successful, change.SuccessfulWithIssues, change.Unsuccessful}).Draw(t, "code")
				run(t, func() error { return errOf(svc.Close(ctx, requester, id, code, "done")) })
			},
			// advance takes a change a few steps along its happy path, so
			// that runs reach the later states often.
			"advance": func(t *rapid.T) {
				id := pick(t).ID
				for i := range rapid.IntRange(1, 6).Draw(t, "steps") {
					if i > 0 {
						check(t, id) // the last by the check after every action
					}
					if !advance(t, id) {
						return
					}
				}
			},
			"withdraw": func(t *rapid.T) {
				id := pick(t).ID
				run(t, func() error { return errOf(svc.Withdraw(ctx, requester, id, "not ready")) })
			},
			"cancel": func(t *rapid.T) {
				id := pick(t).ID
				run(t, func() error { return errOf(svc.Cancel(ctx, requester, id, "not needed")) })
			},
			// A freeze on some of the CIs over a day or two around the
			// changes' planned times, enforced at once or later.
			"freeze": func(t *rapid.T) {
				sc, err := svc.CreateSchedule(ctx, requester, drawFreeze(t, clock.Now(), cis))
				if err != nil {
					t.Fatal(err)
				}
				freezes = append(freezes, sc.ID)
				if rapid.Bool().Draw(t, "enforce now") {
					expect(t, true, func() error { return errOf(svc.ApproveSchedule(ctx, requester, sc.ID)) })
					expect(t, true, func() error { return errOf(svc.EnforceSchedule(ctx, requester, sc.ID)) })
				}
			},
			"enforce freeze": func(t *rapid.T) {
				if len(freezes) == 0 {
					t.Skip("no freeze")
				}
				id := rapid.SampledFrom(freezes).Draw(t, "freeze")
				run(t, func() error { return errOf(svc.ApproveSchedule(ctx, requester, id)) })
				run(t, func() error { return errOf(svc.EnforceSchedule(ctx, requester, id)) })
			},
			"move freeze": func(t *rapid.T) {
				if len(freezes) == 0 {
					t.Skip("no freeze")
				}
				id := rapid.SampledFrom(freezes).Draw(t, "freeze")
				run(t, func() error { return errOf(svc.UpdateSchedule(ctx, requester, id, drawFreeze(t, clock.Now(), cis))) })
			},
			"retire freeze": func(t *rapid.T) {
				if len(freezes) == 0 {
					t.Skip("no freeze")
				}
				id := rapid.SampledFrom(freezes).Draw(t, "freeze")
				run(t, func() error { return errOf(svc.RetireSchedule(ctx, requester, id, "lifted")) })
			},
			"override": func(t *rapid.T) {
				id := pick(t).ID
				run(t, func() error { return errOf(svc.OverrideConflicts(ctx, requester, id, "accepted by the manager")) })
			},
		}
		storagetest.Spread(actions, svcs, func(s *change.Service) { svc = s })
		rt.Repeat(actions)
	})
}

// drawPatch draws a patch of ch's title, impact, CIs and planned times,
// and returns it with the change as it would be.
func drawPatch(t *rapid.T, ch *change.Change, cis []itil.ID) (change.Patch, change.Change) {
	var p change.Patch
	next := *ch
	if title := rapid.SampledFrom([]string{"-", "a change", "another title", " "}).Draw(t, "title"); title != "-" {
		p.Title, next.Title = &title, title
	}
	if imp := itil.Impact(rapid.IntRange(-1, 4).Draw(t, "impact")); imp >= 0 {
		p.Impact, next.Impact = &imp, imp
	}
	if n := rapid.IntRange(-1, 3).Draw(t, "cis"); n >= 0 {
		list := slices.Clone(cis[:n])
		p.CIIDs, next.CIIDs = &list, list
		if n == 0 {
			next.CIIDs = nil
		}
	}
	switch rapid.SampledFrom([]string{"keep", "later", "clear start", "backwards"}).Draw(t, "planned") {
	case "later":
		start, end := ch.PlannedStart.Add(time.Hour), ch.PlannedEnd.Add(time.Hour)
		p.PlannedStart, p.PlannedEnd = &start, &end
	case "clear start":
		p.PlannedStart = new(time.Time)
	case "backwards":
		if !ch.PlannedStart.IsZero() {
			end := ch.PlannedStart.Add(-time.Hour)
			p.PlannedEnd = &end
		}
	}
	if p.PlannedStart != nil {
		next.PlannedStart = *p.PlannedStart
	}
	if p.PlannedEnd != nil {
		next.PlannedEnd = *p.PlannedEnd
	}
	return p, next
}

// updateOK says whether Update with p takes ch to next, by the rules as
// documented: a change that has not ended; a template's fields fixed;
// the impact and CIs settled while approvals rely on the risk; valid
// fields; planned times kept where the model plans; something changed.
func updateOK(svc *change.Service, ch *change.Change, p change.Patch, next change.Change) bool {
	if ch.State.Final() {
		return false
	}
	if ch.TemplateID != itil.NilID {
		if p.Title != nil && *p.Title != ch.Title || p.Impact != nil && *p.Impact != ch.Impact {
			return false
		}
		if (p.PlannedStart != nil || p.PlannedEnd != nil) && (next.PlannedStart.IsZero() || next.PlannedEnd.IsZero() ||
			next.PlannedEnd.Sub(next.PlannedStart) != ch.PlannedEnd.Sub(ch.PlannedStart)) {
			return false
		}
	}
	m, _ := svc.Model(ch.Model)
	rests := next.Impact != ch.Impact || !slices.Equal(next.CIIDs, ch.CIIDs)
	if rests && (waiting(ch) || slices.Contains(m.RiskStates, ch.State)) {
		return false
	}
	if strings.TrimSpace(next.Title) == "" || next.Impact < 0 || next.Impact > 3 {
		return false
	}
	if !next.PlannedStart.IsZero() && !next.PlannedEnd.IsZero() && !next.PlannedEnd.After(next.PlannedStart) {
		return false
	}
	for _, at := range []time.Time{next.PlannedStart, next.PlannedEnd} {
		if !at.IsZero() && (at.Before(calendar.Earliest) || !at.Before(calendar.Latest)) {
			return false // outside the schedule's years
		}
	}
	if !next.PlannedStart.IsZero() && !next.PlannedEnd.IsZero() && next.PlannedEnd.Sub(next.PlannedStart) > change.MaxPlannedWindow {
		return false
	}
	if slices.Contains(m.PlannedStates, ch.State) && (next.PlannedStart.IsZero() || next.PlannedEnd.IsZero()) {
		return false
	}
	return next.Title != ch.Title || rests || !next.PlannedStart.Equal(ch.PlannedStart) || !next.PlannedEnd.Equal(ch.PlannedEnd)
}

// checkRisk checks the risk of ch: none until assessed; then the highest
// of the methods of the Service's risk model on the facts and answers of
// the last assessment, as the pure RiskAssessor computes it, with its
// explanation. While approvals rely on the risk (ch waits for a round,
// or is in a state its model enters only with a risk), what it rests on
// does not change: settled holds it as first seen so.
func checkRisk(t *rapid.T, svc *change.Service, assessor *change.RiskAssessor, ch *change.Change, as *assessment,
	settled map[itil.ID]*basis) {
	if as == nil {
		if ch.Risk != 0 || ch.RiskExplanation != "" {
			t.Fatalf("%s has risk %s (%q) though never assessed", ch.Number, ch.Risk, ch.RiskExplanation)
		}
	} else {
		a, err := assessor.Assess(&as.facts, as.answers, as.rating)
		if err != nil {
			t.Fatalf("%s: the assessment the Service made fails in the pure core: %v", ch.Number, err)
		}
		if a.Risk != max(a.Conditions.Risk, a.Questionnaire.Risk, a.Lookup.Risk) {
			t.Fatalf("%s: risk %s is not the highest of its methods: %+v", ch.Number, a.Risk, a)
		}
		if ch.Risk != a.Risk || ch.RiskExplanation != check.Cut(a.Explain(), check.Long) {
			t.Fatalf("%s: risk %s (%q), the model's core gives %s (%q) on %+v and %v", ch.Number, ch.Risk,
				ch.RiskExplanation, a.Risk, a.Explain(), as.facts, as.answers)
		}
	}
	m, _ := svc.Model(ch.Model)
	if !waiting(ch) && !slices.Contains(m.RiskStates, ch.State) {
		delete(settled, ch.ID)
		return
	}
	now := &basis{impact: ch.Impact, ciid: ch.CIID, ciids: ch.CIIDs}
	if was, ok := settled[ch.ID]; ok && (was.impact != now.impact || was.ciid != now.ciid || !slices.Equal(was.ciids, now.ciids)) {
		t.Fatalf("%s: what its risk rests on changed while approvals relied on it: %+v, then %+v", ch.Number, was, now)
	}
	settled[ch.ID] = now
}

// sameJSON reports whether a and b encode alike: a decoded record and a
// cached copy may hold an empty map where the other holds none.
func sameJSON(t *rapid.T, a, b any) bool {
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

// replayed checks that the history h of record id (of kind) has one event
// per version, in order, up to version, and replays to want, whose
// version and skipped fields reset replays to as they are.
func replayed[T any](t *rapid.T, h []itil.HistoryEntry, kind string, id itil.ID, version int64, want *T, reset func(w, r *T)) {
	var n int64
	for _, e := range h {
		if e.Kind == kind && e.SubjectID == id {
			n++
			if e.Version != n {
				t.Fatalf("%s %s: event %d is at version %d", kind, id, n, e.Version)
			}
		}
	}
	if n != version {
		t.Fatalf("%s %s: %d events for version %d", kind, id, n, version)
	}
	r, err := pipeline.Replay[T](kind, id, h, 0)
	if err != nil {
		t.Fatalf("replay %s %s: %v", kind, id, err)
	}
	w := *want
	reset(&w, r)
	if !sameJSON(t, &w, r) {
		a, _ := json.Marshal(&w)
		b, _ := json.Marshal(r)
		t.Fatalf("%s %s: the history replays to\n%s\nnot\n%s", kind, id, b, a)
	}
}

// checkHistory checks that the history of ch replays to ch as stored, and
// to each of its approval records and tasks.
func checkHistory(t *rapid.T, svc *change.Service, ch *change.Change, recs []*change.Approval, tks []*change.Task) {
	h, err := svc.History(t.Context(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	replayed(t, h, change.Kind, ch.ID, ch.Version, ch, func(w, r *change.Change) {
		w.Version, w.UpdatedAt = r.Version, r.UpdatedAt
	})
	for _, rec := range recs {
		replayed(t, h, change.KindApproval, rec.ID, rec.Version, rec, func(w, r *change.Approval) { w.Version = r.Version })
	}
	for _, tk := range tks {
		replayed(t, h, change.KindTask, tk.ID, tk.Version, tk, func(w, r *change.Task) {
			w.Version, w.UpdatedAt = r.Version, r.UpdatedAt
		})
	}
	var back change.Change
	if data, err := json.Marshal(ch); err != nil || json.Unmarshal(data, &back) != nil || !sameJSON(t, &back, ch) {
		t.Fatalf("%s does not survive a JSON round trip (%v)", ch.Number, err)
	}
}

// checkTasks checks the tasks of ch and the actual times they give it.
func checkTasks(t *rapid.T, ch *change.Change, tks []*change.Task) {
	implemented := []change.State{change.StateImplement, change.StateReview, change.StateClosed}
	switch {
	case len(tks) != 0 && len(tks) != 2:
		t.Fatalf("%s has %d tasks", ch.Number, len(tks))
	case len(tks) == 0 && slices.Contains(implemented, ch.State):
		t.Fatalf("%s is %s without tasks", ch.Number, ch.State)
	case len(tks) == 2 && !slices.Contains(implemented, ch.State) && ch.State != change.StateCanceled:
		t.Fatalf("%s is %s with tasks", ch.Number, ch.State)
	case len(tks) == 2 && ch.ActualStart.IsZero():
		t.Fatalf("%s has tasks and no actual start", ch.Number)
	}
	var start, end time.Time
	ended, closed := true, false
	for _, tk := range tks {
		if !tk.StartedAt.IsZero() && (start.IsZero() || tk.StartedAt.Before(start)) {
			start = tk.StartedAt
		}
		switch tk.State {
		case change.TaskClosed:
			closed = true
			if tk.ClosedAt.After(end) {
				end = tk.ClosedAt
			}
		case change.TaskCanceled:
		default:
			ended = false
			if ch.State != change.StateImplement {
				t.Fatalf("%s is %s with task %s %s", ch.Number, ch.State, tk.Number, tk.State)
			}
		}
	}
	if !start.IsZero() && !ch.ActualStart.Equal(start) {
		t.Fatalf("%s: actual start %v, its tasks' earliest start %v", ch.Number, ch.ActualStart, start)
	}
	if ch.State == change.StateImplement {
		if ended && closed && !ch.ActualEnd.Equal(end) || !(ended && closed) && !ch.ActualEnd.IsZero() {
			t.Fatalf("%s: actual end %v with its tasks ended %v, closed %v, last at %v", ch.Number, ch.ActualEnd, ended, closed, end)
		}
	}
}

// checkDelegates checks the decisions made on ch by delegates: each under
// a delegation from the approver in force when made, by someone
// segregation of duties does not exclude.
func checkDelegates(t *rapid.T, ch *change.Change, recs []*change.Approval, ds []*delegation) {
	for _, r := range recs {
		if r.Delegate == "" {
			continue
		}
		current := ch.Approval != nil && r.Round == ch.Approval.Round
		if r.Delegate == r.Approver || r.Delegate == ch.RequestedBy.ID ||
			current && slices.Contains(ch.Approval.Facts.Excluded, r.Delegate) {
			t.Fatalf("%s: %s decided for %s, though excluded", ch.Number, r.Delegate, r.Approver)
		}
		if !slices.ContainsFunc(ds, func(d *delegation) bool {
			return d.from == r.Approver && d.to == r.Delegate && !d.start.After(r.DecidedAt) &&
				(d.end.IsZero() || !d.end.Before(r.DecidedAt))
		}) {
			t.Fatalf("%s: %s decided for %s at %v under no delegation", ch.Number, r.Delegate, r.Approver, r.DecidedAt)
		}
	}
}

// checkChange checks one change against the invariants of testModel.
func checkChange(t *rapid.T, svc *change.Service, ch *change.Change, recs []*change.Approval, finals map[itil.ID]*change.Change) {
	m, ok := svc.Model(ch.Model)
	if !ok {
		t.Fatalf("%s follows an unknown model %q", ch.Number, ch.Model)
	}
	if !slices.Contains(m.States(), ch.State) {
		t.Fatalf("%s is in %s, not a state of %s", ch.Number, ch.State, ch.Model)
	}
	if before, ok := finals[ch.ID]; ok && !sameJSON(t, before, ch) {
		t.Fatalf("%s changed after becoming %s:\n%+v\n%+v", ch.Number, before.State, before, ch)
	}
	if ch.State.Final() {
		finals[ch.ID] = ch
	}
	waiting := slices.Contains(m.ApprovalStates, ch.State)
	if waiting && (ch.Approval == nil || ch.Approval.State != ch.State || ch.Approval.Verdict == change.VerdictRefused) {
		t.Fatalf("%s waits in %s without a live round: %+v", ch.Number, ch.State, ch.Approval)
	}
	// The assignee may change between rounds (not during one): the
	// round's excluded users are the requester and the assignee it began
	// with.
	if ch.Approval != nil && len(ch.Approval.Policy.Steps) > 0 {
		ex := ch.Approval.Facts.Excluded
		if !slices.Contains(ex, ch.RequestedBy.ID) || ch.Approval.Verdict == change.VerdictWaiting && waiting &&
			ch.Assignee != "" && !slices.Contains(ex, ch.Assignee) {
			t.Fatalf("%s: round %d excludes %v, not its requester %s and assignee %q", ch.Number, ch.Approval.Round, ex,
				ch.RequestedBy.ID, ch.Assignee)
		}
	}
	for _, r := range recs {
		live := ch.Approval != nil && r.Round == ch.Approval.Round && waiting && ch.Approval.Verdict == change.VerdictWaiting
		if r.State == change.ApprovalRequested && !live {
			t.Fatalf("%s: a request of %s stays open outside its round", ch.Number, r.Approver)
		}
		current := ch.Approval != nil && r.Round == ch.Approval.Round
		if r.State == change.ApprovalApproved && (r.Approver == ch.RequestedBy.ID ||
			current && slices.Contains(ch.Approval.Facts.Excluded, r.Approver)) {
			t.Fatalf("%s: %s approved their own change", ch.Number, r.Approver)
		}
	}
	// Past an approval state only once its round was accepted: the last
	// round of a change beyond all its approval states is accepted.
	past := ch.State != change.StateNew && ch.State != change.StateCanceled && !waiting
	if past && len(m.ApprovalStates) > 0 && ch.Approval != nil && ch.Approval.Verdict != change.VerdictAccepted {
		t.Fatalf("%s is %s though its last round (%s) is %s", ch.Number, ch.State, ch.Approval.State, ch.Approval.Verdict)
	}
}

// checkConflicts checks that the conflicts kept on ch are those a fresh
// check finds now: the commands that changed it, or a change it meets,
// kept them current.
func checkConflicts(t *rapid.T, svc *change.Service, ch *change.Change) {
	fresh, err := svc.Conflicts(t.Context(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.State.Final() {
		// An ended change books nothing: its conflicts were cleared as
		// it ended.
		if len(ch.Conflicts) > 0 || len(fresh) > 0 {
			t.Fatalf("%s ended with conflicts %+v (fresh %+v)", ch.Number, ch.Conflicts, fresh)
		}
		return
	}
	same := len(fresh) == len(ch.Conflicts)
	for i := 0; same && i < len(fresh); i++ {
		a, b := fresh[i], ch.Conflicts[i]
		same = a.Kind == b.Kind && a.ChangeID == b.ChangeID && a.CIID == b.CIID && a.Assignee == b.Assignee &&
			a.Start.Equal(b.Start) && a.End.Equal(b.End)
	}
	if !same {
		t.Fatalf("%s keeps conflicts %+v; a fresh check finds %+v", ch.Number, ch.Conflicts, fresh)
	}
}

// checkConflictsOracle checks ch's stored conflicts with other changes
// against every pair of the stored changes: in an active state with a
// planned window overlapping ch's (touching ends do not), a CI of the
// other on a CI ch checks (the primary only in basic mode), or the same
// assignee. It does not read the Service's schedule index, so it catches
// an index that went astray on either instance.
func checkConflictsOracle(t *rapid.T, ch *change.Change, all []*change.Change, freezes []*change.Schedule, basic bool) {
	if ch.State.Final() {
		return
	}
	type key struct {
		kind     change.ConflictKind
		other    itil.ID // a change or a schedule
		ci       itil.ID
		assignee string
	}
	scheduled := func(c *change.Change) bool {
		return !c.State.Final() && !c.PlannedStart.IsZero() && !c.PlannedEnd.IsZero()
	}
	cisOf := func(c *change.Change) []itil.ID {
		var out []itil.ID
		if c.CIID != itil.NilID {
			out = append(out, c.CIID)
		}
		for _, id := range c.CIIDs {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		return out
	}
	want := map[key]bool{}
	if scheduled(ch) {
		mine := cisOf(ch) // the CIs ch checks
		if basic && len(mine) > 1 {
			mine = mine[:1]
		}
		for _, o := range all {
			if o.ID == ch.ID || !scheduled(o) || !o.PlannedStart.Before(ch.PlannedEnd) || !ch.PlannedStart.Before(o.PlannedEnd) {
				continue
			}
			for _, ci := range cisOf(o) {
				if slices.Contains(mine, ci) {
					want[key{change.ConflictCIScheduled, o.ID, ci, ""}] = true
				}
			}
			if ch.Assignee != "" && o.Assignee == ch.Assignee {
				want[key{change.ConflictAssigneeBooked, o.ID, itil.NilID, ch.Assignee}] = true
			}
		}
		// An enforced freeze (dates in UTC, each from midnight to
		// midnight) over the window on a CI ch checks.
		for _, sc := range freezes {
			if sc.State != change.ScheduleEnforced {
				continue
			}
			for _, r := range sc.Spec.Ranges {
				from := time.Date(r.From.Year, r.From.Month, r.From.Day, 0, 0, 0, 0, time.UTC)
				to := time.Date(r.To.Year, r.To.Month, r.To.Day, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
				if !from.Before(ch.PlannedEnd) || !ch.PlannedStart.Before(to) {
					continue
				}
				for _, ci := range mine {
					if slices.Contains(sc.Spec.Scope.CIs, ci) {
						want[key{change.ConflictBlackout, sc.ID, ci, ""}] = true
					}
				}
			}
		}
	}
	got := map[key]bool{}
	for _, c := range ch.Conflicts {
		switch {
		case c.ChangeID != itil.NilID:
			got[key{c.Kind, c.ChangeID, c.CIID, c.Assignee}] = true
		case c.Kind == change.ConflictBlackout:
			got[key{c.Kind, c.ScheduleID, c.CIID, ""}] = true
		}
	}
	if !maps.Equal(want, got) {
		t.Fatalf("%s keeps conflicts with changes %v; every pair gives %v", ch.Number, got, want)
	}
}

// drawFreeze draws a blackout on some of cis over one to three days from
// the day before now to two days after (the model's changes are planned a
// day ahead, for an hour), in UTC.
func drawFreeze(t *rapid.T, now time.Time, cis []itil.ID) change.ScheduleSpec {
	from := now.UTC().AddDate(0, 0, rapid.IntRange(-1, 2).Draw(t, "freeze from"))
	to := from.AddDate(0, 0, rapid.IntRange(0, 2).Draw(t, "freeze days"))
	scope := rapid.SliceOfNDistinct(rapid.SampledFrom(cis), 1, len(cis), func(id itil.ID) itil.ID { return id }).Draw(t, "freeze cis")
	return change.ScheduleSpec{Name: "freeze", Type: change.BlackoutSchedule, Windows: calendar.Spec{Zone: "UTC"},
		Ranges: []change.DateRange{{From: calendar.DateOf(from), To: calendar.DateOf(to)}}, Scope: change.Scope{CIs: scope}}
}

// accepted reports whether the override accepted the conflict c.
func accepted(o *change.ConflictOverride, c change.Conflict) bool {
	return o != nil && slices.ContainsFunc(o.Conflicts, func(x change.Conflict) bool {
		return x.Kind == c.Kind && x.ScheduleID == c.ScheduleID && x.CIID == c.CIID && x.ChangeID == c.ChangeID
	})
}

// blockedByFreeze reports whether cs, the conflicts a refusal listed, are
// what the default rules block on: freezes, none accepted by the override.
func blockedByFreeze(cs []change.Conflict, o *change.ConflictOverride) bool {
	for _, c := range cs {
		if c.Kind != change.ConflictBlackout || accepted(o, c) {
			return false
		}
	}
	return len(cs) > 0
}

// checkFreezeRule checks a move of a change (before and after it, and
// the move's error) against the default conflict rules: a move refused
// for conflicts names freezes in force over the change on CIs it checks,
// which no override accepted, and a change that entered Scheduled has no
// such freeze but those an override accepted.
func checkFreezeRule(t *rapid.T, before, after *change.Change, err error) {
	var ce *change.ConflictError
	switch {
	case errors.As(err, &ce):
		if ce.State != change.StateScheduled || !blockedByFreeze(ce.Conflicts, before.ConflictOverride) {
			t.Fatalf("%s refused for %+v (override %+v)", before.Number, ce.Conflicts, before.ConflictOverride)
		}
	case err == nil && after.State == change.StateScheduled && before.State != change.StateScheduled:
		for _, c := range after.Conflicts {
			if c.Kind == change.ConflictBlackout && !accepted(after.ConflictOverride, c) {
				t.Fatalf("%s entered Scheduled inside a freeze: %+v", after.Number, after.Conflicts)
			}
		}
	}
}
