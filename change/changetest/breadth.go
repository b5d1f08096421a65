package changetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
)

// The cases every process suite has (problemtest's): an Authorizer that
// refuses each command, unknown IDs, times out of range, versions and
// transactions, and List's filters and pages. Text limits are in
// limits.go, two instances at once in concurrency.go.

// setupProblems is setup with a problem Service on the same store and
// clock, given to the change Service (WithProblems).
func setupProblems(t *testing.T, newStore func(*testing.T) storage.Store, opts ...change.Option) (*fixture, *problem.Service) {
	t.Helper()
	store := newStore(t)
	clock := testkit.NewClock()
	probs, err := problem.New(store, problem.WithClock(clock))
	require.NoError(t, err)
	f := &fixture{t: t, ctx: t.Context(), store: store, clock: clock}
	f.svc, err = change.New(store, append([]change.Option{change.WithClock(clock), change.WithDirectory(directory),
		change.WithProblems(probs)}, opts...)...)
	require.NoError(t, err)
	return f, probs
}

func (f *fixture) journalLen() int {
	f.t.Helper()
	return testkit.JournalLen(f.t, f.store)
}

// tasks returns the tasks of the change id, in opening order.
func (f *fixture) tasks(id itil.ID) []*change.Task {
	f.t.Helper()
	var out []*change.Task
	for tk, err := range f.svc.Tasks(f.ctx, id) {
		require.NoError(f.t, err)
		out = append(out, tk)
	}
	return out
}

// toState opens a normal change and takes it to state (New, Assess,
// Authorize, Scheduled, Implement or Review) with the default rules.
func (f *fixture) toState(state change.State) *change.Change {
	f.t.Helper()
	ch := f.open(change.ModelNormal)
	path := []struct {
		state change.State
		moves []string
	}{
		{change.StateAssess, []string{change.MoveAssess}},
		{change.StateAuthorize, []string{"approve:mia", change.MoveAuthorize}},
		{change.StateScheduled, []string{change.MoveSchedule}},
		{change.StateImplement, []string{change.MoveImplement}},
		{change.StateReview, []string{change.MoveReview}},
	}
	for _, p := range path {
		if ch.State == state {
			break
		}
		ch = f.move(ch.ID, p.moves...)
	}
	require.Equal(f.t, state, ch.State)
	return ch
}

// testAuthorizer: an Authorizer that refuses a command, asked for it by
// name, makes it fail with itil.ErrForbidden and write nothing; allowed
// again, the same command succeeds.
func testAuthorizer(t *testing.T, newStore func(*testing.T) storage.Store) {
	var mu sync.Mutex
	deny, asked := "", []string(nil)
	auth := change.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, _ *change.Change) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, command)
		if command == deny {
			return errors.New("not this one")
		}
		return nil
	})
	cases := []struct {
		command string
		// prep readies what the command runs on and returns the command.
		prep func(f *fixture, probs *problem.Service) func() error
	}{
		{change.CommandOpen, func(f *fixture, _ *problem.Service) func() error {
			return func() error {
				return errOf(f.svc.Open(f.ctx, requester, change.NewChange{Title: "Upgrade the mail relay"}))
			}
		}},
		{change.MoveAssess, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateNew)
			return func() error { return errOf(f.svc.Move(f.ctx, requester, ch.ID, change.MoveAssess)) }
		}},
		{change.MoveAuthorize, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateAssess)
			f.move(ch.ID, "approve:mia")
			f.assessed(ch.ID)
			return func() error { return errOf(f.svc.Move(f.ctx, requester, ch.ID, change.MoveAuthorize)) }
		}},
		{change.MoveSchedule, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateAuthorize)
			return func() error { return errOf(f.svc.Move(f.ctx, requester, ch.ID, change.MoveSchedule)) }
		}},
		{change.MoveImplement, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateScheduled)
			return func() error { return errOf(f.svc.Move(f.ctx, requester, ch.ID, change.MoveImplement)) }
		}},
		{change.MoveReview, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateImplement)
			return func() error { return errOf(f.svc.Move(f.ctx, requester, ch.ID, change.MoveReview)) }
		}},
		{change.CommandClose, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateReview)
			return func() error { return errOf(f.svc.Close(f.ctx, requester, ch.ID, change.Successful, "mail flows")) }
		}},
		{change.CommandCancel, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateScheduled)
			return func() error { return errOf(f.svc.Cancel(f.ctx, requester, ch.ID, "not needed")) }
		}},
		{change.CommandWithdraw, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateAssess)
			return func() error { return errOf(f.svc.Withdraw(f.ctx, requester, ch.ID, "not ready")) }
		}},
		{change.CommandUpdate, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateNew)
			backout := "restore the image"
			return func() error { return errOf(f.svc.Update(f.ctx, requester, ch.ID, change.Patch{Backout: &backout})) }
		}},
		{change.CommandAssign, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateScheduled)
			return func() error { return errOf(f.svc.Assign(f.ctx, requester, ch.ID, "network", "nia")) }
		}},
		{change.CommandSetModel, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateNew)
			return func() error { return errOf(f.svc.SetModel(f.ctx, requester, ch.ID, change.ModelEmergency)) }
		}},
		{change.CommandAssessRisk, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateNew)
			return func() error { return errOf(f.svc.AssessRisk(f.ctx, requester, ch.ID, nil)) }
		}},
		{change.CommandApprove, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateAssess)
			return func() error { return errOf(f.svc.Approve(f.ctx, actor("mia"), ch.ID, "")) }
		}},
		{change.CommandReject, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateAssess)
			return func() error { return errOf(f.svc.Reject(f.ctx, actor("max"), ch.ID, "no backout plan")) }
		}},
		{change.CommandStartTask, func(f *fixture, _ *problem.Service) func() error {
			tk := f.tasks(f.toState(change.StateImplement).ID)[0]
			return func() error { return errOf(f.svc.StartTask(f.ctx, requester, tk.ID)) }
		}},
		{change.CommandCloseTask, func(f *fixture, _ *problem.Service) func() error {
			tk := f.tasks(f.toState(change.StateImplement).ID)[0]
			return func() error { return errOf(f.svc.CloseTask(f.ctx, requester, tk.ID, "relay upgraded")) }
		}},
		{change.CommandCancelTask, func(f *fixture, _ *problem.Service) func() error {
			tk := f.tasks(f.toState(change.StateImplement).ID)[1]
			return func() error { return errOf(f.svc.CancelTask(f.ctx, requester, tk.ID, "tested by the monitoring")) }
		}},
		{change.CommandRecordReview, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateReview)
			return func() error {
				return errOf(f.svc.RecordReview(f.ctx, requester, ch.ID, change.ReviewInput{WhatHappened: "as planned"}))
			}
		}},
		{change.CommandReviewProblem, func(f *fixture, _ *problem.Service) func() error {
			ch := f.toState(change.StateReview)
			_, err := f.svc.RecordReview(f.ctx, requester, ch.ID, change.ReviewInput{WhatHappened: "relay 2 hung"})
			require.NoError(f.t, err)
			return func() error { _, err := f.svc.ReviewToProblem(f.ctx, requester, ch.ID); return err }
		}},
		{change.CommandLinkProblem, func(f *fixture, probs *problem.Service) func() error {
			ch := f.toState(change.StateNew)
			p, err := probs.Open(f.ctx, requester, problem.NewProblem{Title: "Relay leaks memory"})
			require.NoError(f.t, err)
			return func() error { return errOf(f.svc.LinkProblem(f.ctx, requester, ch.ID, p.ID)) }
		}},
		{change.CommandDelegate, func(f *fixture, _ *problem.Service) func() error {
			return func() error {
				return f.svc.Delegate(f.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: f.clock.Now()})
			}
		}},
		{change.CommandEndDelegation, func(f *fixture, _ *problem.Service) func() error {
			require.NoError(f.t, f.svc.Delegate(f.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: f.clock.Now()}))
			return func() error {
				n, err := f.svc.EndDelegation(f.ctx, actor("mia"), "nora")
				if err == nil && n != 1 {
					return errors.New("ended no delegation")
				}
				return err
			}
		}},
		{change.CommandProposeTemplate, func(f *fixture, _ *problem.Service) func() error {
			return func() error { return errOf(f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())) }
		}},
		{change.CommandApproveTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp, err := f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())
			require.NoError(f.t, err)
			return func() error { return errOf(f.svc.ApproveTemplate(f.ctx, tmplManager, tp.ID)) }
		}},
		{change.CommandUpdateTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp := f.tmplDraft()
			name := "Restart nginx"
			return func() error {
				return errOf(f.svc.UpdateTemplate(f.ctx, requester, tp.ID, change.TemplatePatch{Name: &name}))
			}
		}},
		{change.CommandRequestTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp := f.tmplDraft()
			return func() error { return errOf(f.svc.RequestTemplate(f.ctx, requester, tp.ID)) }
		}},
		{change.CommandPublishTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp := f.tmplDraft()
			_, err := f.svc.RequestTemplate(f.ctx, requester, tp.ID)
			require.NoError(f.t, err)
			return func() error { return errOf(f.svc.PublishTemplate(f.ctx, tmplManager, tp.ID)) }
		}},
		{change.CommandRejectTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp := f.tmplDraft()
			_, err := f.svc.RequestTemplate(f.ctx, requester, tp.ID)
			require.NoError(f.t, err)
			return func() error { return errOf(f.svc.RejectTemplate(f.ctx, tmplManager, tp.ID, "no test plan")) }
		}},
		{change.CommandRetireTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp := f.tmplPublished(tmplRestart())
			return func() error { return errOf(f.svc.RetireTemplate(f.ctx, tmplManager, tp.ID, "nginx is gone")) }
		}},
		{change.CommandOpenFromTemplate, func(f *fixture, _ *problem.Service) func() error {
			tp := f.tmplPublished(tmplRestart())
			return func() error {
				return errOf(f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)}))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.command, func(t *testing.T) {
			mu.Lock()
			deny = ""
			mu.Unlock()
			f, probs := setupProblems(t, newStore, auth)
			do := c.prep(f, probs)
			mu.Lock()
			deny, asked = c.command, nil
			mu.Unlock()
			n := f.journalLen()
			err := do()
			require.ErrorIs(t, err, itil.ErrForbidden)
			assert.Contains(t, err.Error(), "not this one")
			assert.Equal(t, n, f.journalLen(), "nothing written")
			mu.Lock()
			assert.Contains(t, asked, c.command, "the Authorizer is asked by the command's name")
			deny = ""
			mu.Unlock()
			require.NoError(t, do(), "allowed, the command succeeds")
		})
	}
}

// errOf is the error of a command's result.
func errOf[T any](_ T, err error) error { return err }

// tmplDraft proposes a template and approves it: a draft.
func (f *fixture) tmplDraft() *change.Template {
	f.t.Helper()
	tp, err := f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())
	require.NoError(f.t, err)
	tp, err = f.svc.ApproveTemplate(f.ctx, tmplManager, tp.ID)
	require.NoError(f.t, err)
	return tp
}

// testUnknownIDs: every command and query on an unknown change, task or
// template, or naming one, gives an error wrapping itil.ErrNotFound, and
// nothing is written.
func testUnknownIDs(t *testing.T, newStore func(*testing.T) storage.Store) {
	f, probs := setupProblems(t, newStore)
	ch := f.toState(change.StateNew)
	p, err := probs.Open(f.ctx, requester, problem.NewProblem{Title: "Relay leaks memory"})
	require.NoError(t, err)
	ch = f.get(ch.ID)
	unknown := itil.NewID()
	name := "x"
	n := f.journalLen()
	for what, do := range map[string]func() error{
		"get":      func() error { _, err := f.svc.Get(f.ctx, unknown); return err },
		"history":  func() error { _, err := f.svc.History(f.ctx, unknown); return err },
		"move":     func() error { _, err := f.svc.Move(f.ctx, requester, unknown, change.MoveAssess); return err },
		"close":    func() error { _, err := f.svc.Close(f.ctx, requester, unknown, change.Successful, "x"); return err },
		"cancel":   func() error { _, err := f.svc.Cancel(f.ctx, requester, unknown, "x"); return err },
		"withdraw": func() error { _, err := f.svc.Withdraw(f.ctx, requester, unknown, "x"); return err },
		"update": func() error {
			_, err := f.svc.Update(f.ctx, requester, unknown, change.Patch{Title: &name})
			return err
		},
		"assign":      func() error { _, err := f.svc.Assign(f.ctx, requester, unknown, "network", ""); return err },
		"set model":   func() error { _, err := f.svc.SetModel(f.ctx, requester, unknown, change.ModelEmergency); return err },
		"assess risk": func() error { _, err := f.svc.AssessRisk(f.ctx, requester, unknown, nil); return err },
		"approve":     func() error { _, err := f.svc.Approve(f.ctx, actor("mia"), unknown, ""); return err },
		"reject":      func() error { _, err := f.svc.Reject(f.ctx, actor("mia"), unknown, "no"); return err },
		"record review": func() error {
			_, err := f.svc.RecordReview(f.ctx, requester, unknown, change.ReviewInput{WhatHappened: "x"})
			return err
		},
		"review problem":   func() error { _, err := f.svc.ReviewToProblem(f.ctx, requester, unknown); return err },
		"link problem":     func() error { _, err := f.svc.LinkProblem(f.ctx, requester, unknown, p.ID); return err },
		"link unknown":     func() error { _, err := f.svc.LinkProblem(f.ctx, requester, ch.ID, unknown); return err },
		"start task":       func() error { _, err := f.svc.StartTask(f.ctx, requester, unknown); return err },
		"close task":       func() error { _, err := f.svc.CloseTask(f.ctx, requester, unknown, "x"); return err },
		"cancel task":      func() error { _, err := f.svc.CancelTask(f.ctx, requester, unknown, "x"); return err },
		"get template":     func() error { _, err := f.svc.GetTemplate(f.ctx, unknown); return err },
		"template history": func() error { _, err := f.svc.TemplateHistory(f.ctx, unknown); return err },
		"approve template": func() error { _, err := f.svc.ApproveTemplate(f.ctx, tmplManager, unknown); return err },
		"update template": func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, unknown, change.TemplatePatch{Name: &name})
			return err
		},
		"request template": func() error { _, err := f.svc.RequestTemplate(f.ctx, requester, unknown); return err },
		"publish template": func() error { _, err := f.svc.PublishTemplate(f.ctx, tmplManager, unknown); return err },
		"reject template":  func() error { _, err := f.svc.RejectTemplate(f.ctx, tmplManager, unknown, "x"); return err },
		"retire template":  func() error { _, err := f.svc.RetireTemplate(f.ctx, tmplManager, unknown, "x"); return err },
		"open from template": func() error {
			_, err := f.svc.OpenFromTemplate(f.ctx, requester, unknown, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)})
			return err
		},
	} {
		assert.ErrorIs(t, do(), itil.ErrNotFound, what)
	}
	assert.Equal(t, n, f.journalLen(), "nothing written")
	assert.Equal(t, ch, f.get(ch.ID))
}

// testTimesOutOfRange: a clock reading, or a time a caller passes (planned
// times, a delegation's period, a filter's bounds), outside the years 1
// to 9999 is a *itil.ValidationError naming it, and nothing is written.
func testTimesOutOfRange(t *testing.T, newStore func(*testing.T) storage.Store) {
	f, _ := setupProblems(t, newStore)
	ch := f.toState(change.StateNew)
	review := f.toState(change.StateReview)
	tk := f.tasks(f.toState(change.StateImplement).ID)[0]
	tp := f.tmplPublished(tmplRestart())
	good := f.clock.Now()
	start := good.Add(time.Hour)
	backout := "restore the image"
	for _, c := range testkit.BadTimes {
		t.Run("clock "+c.Name, func(t *testing.T) {
			f.t = t
			f.clock.Set(c.At)
			defer f.clock.Set(good)
			n := f.journalLen()
			for what, do := range map[string]func() error{
				"open": func() error {
					_, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "now"})
					return err
				},
				"move": func() error { _, err := f.svc.Move(f.ctx, requester, ch.ID, change.MoveAssess); return err },
				"update": func() error {
					_, err := f.svc.Update(f.ctx, requester, ch.ID, change.Patch{Backout: &backout})
					return err
				},
				"assign": func() error { _, err := f.svc.Assign(f.ctx, requester, ch.ID, "network", ""); return err },
				"risk":   func() error { _, err := f.svc.AssessRisk(f.ctx, requester, ch.ID, nil); return err },
				"cancel": func() error { _, err := f.svc.Cancel(f.ctx, requester, ch.ID, "no"); return err },
				"close": func() error {
					_, err := f.svc.Close(f.ctx, requester, review.ID, change.Successful, "done")
					return err
				},
				"review": func() error {
					_, err := f.svc.RecordReview(f.ctx, requester, review.ID, change.ReviewInput{WhatHappened: "x"})
					return err
				},
				"start task": func() error { _, err := f.svc.StartTask(f.ctx, requester, tk.ID); return err },
				"delegate": func() error {
					return f.svc.Delegate(f.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: good})
				},
				"end delegation": func() error { _, err := f.svc.EndDelegation(f.ctx, actor("mia"), "nora"); return err },
				"propose template": func() error {
					_, err := f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())
					return err
				},
				"from template": func() error {
					_, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: start})
					return err
				},
			} {
				testkit.RequireFields(t, do(), "clock")
				_ = what
			}
			assert.Equal(t, n, f.journalLen(), "nothing written")
		})
	}
	for _, c := range testkit.BadTimes {
		t.Run("input "+c.Name, func(t *testing.T) {
			f.t = t
			n := f.journalLen()
			at := c.At
			_, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "bad start", PlannedStart: at})
			testkit.RequireFields(t, err, "planned_start")
			_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: "bad end", PlannedStart: start, PlannedEnd: at})
			testkit.RequireInvalid(t, err, "planned_end")
			_, err = f.svc.Update(f.ctx, requester, ch.ID, change.Patch{PlannedStart: &at})
			testkit.RequireInvalid(t, err, "planned_start")
			_, err = f.svc.Update(f.ctx, requester, ch.ID, change.Patch{PlannedEnd: &at})
			testkit.RequireInvalid(t, err, "planned_end")
			_, err = f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: at})
			testkit.RequireFields(t, err, "planned_start")
			err = f.svc.Delegate(f.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: at})
			testkit.RequireFields(t, err, "start")
			err = f.svc.Delegate(f.ctx, actor("mia"), change.Delegation{From: "mia", To: "nora", Start: good, End: at})
			testkit.RequireInvalid(t, err, "end")
			for _, fl := range []struct {
				field  string
				filter change.Filter
			}{{"opened_from", change.Filter{OpenedFrom: at}}, {"opened_to", change.Filter{OpenedTo: at}}} {
				for _, err := range f.svc.List(f.ctx, fl.filter) {
					testkit.RequireInvalid(t, err, fl.field)
				}
				_, _, err = f.svc.ListPage(f.ctx, fl.filter, 10, "")
				testkit.RequireInvalid(t, err, fl.field)
			}
			assert.Equal(t, n, f.journalLen(), "nothing written")
		})
	}
	f.t = t
	// A planned start in range whose end, by the template's duration, is
	// not: the end is named (and the start, past the schedule's years).
	last := time.Date(9999, 12, 31, 23, 45, 0, 0, time.UTC)
	n := f.journalLen()
	_, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: last})
	testkit.RequireFields(t, err, "planned_end", "planned_start")
	assert.Equal(t, n, f.journalLen())
	assert.Equal(t, ch, f.get(ch.ID))
}

// testVersionOfOthers: IfVersion names the version of the record the
// command runs on, whatever its kind: a task's, a schedule's, a
// template's. A stale one is refused with itil.ErrConflict and writes
// nothing; the current one runs.
func testVersionOfOthers(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	tk := f.tasks(f.toState(change.StateImplement).ID)[0]
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, yearEndFreeze())
	require.NoError(t, err)
	tp, err := f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())
	require.NoError(t, err)
	n := f.journalLen()
	for _, v := range []int64{tk.Version + 1, -1} {
		_, err := f.svc.IfVersion(v).StartTask(f.ctx, requester, tk.ID)
		require.ErrorIs(t, err, itil.ErrStale, "task at %d", v)
	}
	for _, v := range []int64{sc.Version + 1, -1} {
		_, err := f.svc.IfVersion(v).ApproveSchedule(f.ctx, changeManager, sc.ID)
		require.ErrorIs(t, err, itil.ErrStale, "schedule at %d", v)
	}
	for _, v := range []int64{tp.Version + 1, -1} {
		_, err := f.svc.IfVersion(v).ApproveTemplate(f.ctx, tmplManager, tp.ID)
		require.ErrorIs(t, err, itil.ErrStale, "template at %d", v)
	}
	assert.Equal(t, n, f.journalLen(), "nothing written")
	gotTask, err := f.svc.IfVersion(tk.Version).StartTask(f.ctx, requester, tk.ID)
	require.NoError(t, err)
	assert.Equal(t, change.TaskInProgress, gotTask.State)
	gotSchedule, err := f.svc.IfVersion(sc.Version).ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	assert.Equal(t, sc.Version+1, gotSchedule.Version)
	gotTemplate, err := f.svc.IfVersion(tp.Version).ApproveTemplate(f.ctx, tmplManager, tp.ID)
	require.NoError(t, err)
	assert.Equal(t, tp.Version+1, gotTemplate.Version)
}

// testVersionAndTx: IfVersion refuses a stale version with itil.ErrConflict
// and writes nothing; In runs commands inside the caller's transaction,
// committed or rolled back with it.
func testVersionAndTx(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.open(change.ModelNormal)
	justification := "the relay is out of support"
	ch, err := f.svc.Update(f.ctx, requester, ch.ID, change.Patch{Justification: &justification})
	require.NoError(t, err)
	backout := "restore the image"
	n := f.journalLen()
	for _, v := range []int64{ch.Version - 1, ch.Version + 1, -1} {
		_, err := f.svc.IfVersion(v).Move(f.ctx, requester, ch.ID, change.MoveAssess)
		require.ErrorIs(t, err, itil.ErrConflict, "version %d", v)
		_, err = f.svc.IfVersion(v).Update(f.ctx, requester, ch.ID, change.Patch{Backout: &backout})
		require.ErrorIs(t, err, itil.ErrConflict, "version %d", v)
	}
	assert.Equal(t, n, f.journalLen(), "nothing written")
	got, err := f.svc.IfVersion(ch.Version).Move(f.ctx, requester, ch.ID, change.MoveAssess)
	require.NoError(t, err)
	assert.Equal(t, ch.Version+1, got.Version)

	// An approval names the version it saw: a stale one decides nothing.
	n = f.journalLen()
	_, err = f.svc.IfVersion(ch.Version).Approve(f.ctx, actor("mia"), ch.ID, "")
	require.ErrorIs(t, err, itil.ErrConflict)
	assert.Equal(t, n, f.journalLen())
	assert.Equal(t, change.ApprovalRequested, states(t, f, ch.ID, 1)["mia"])
	got, err = f.svc.IfVersion(got.Version).Approve(f.ctx, actor("mia"), ch.ID, "")
	require.NoError(t, err)
	assert.Equal(t, change.VerdictAccepted, got.Approval.Verdict)

	boom := errors.New("caller aborts")
	err = f.store.RunInTx(storage.Writing(f.ctx), func(ctx context.Context, tx storage.Tx) error {
		if _, err := f.svc.In(tx).Update(ctx, requester, ch.ID, change.Patch{Backout: &backout}); err != nil {
			return err
		}
		if _, err := f.svc.In(tx).Open(ctx, requester, change.NewChange{Title: "in the same transaction"}); err != nil {
			return err
		}
		if _, err := f.svc.In(tx).ProposeTemplate(ctx, requester, tmplRestart()); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Empty(t, f.get(ch.ID).Backout, "rolled back")
	assert.Empty(t, tmplList(t, f.svc, change.TemplateFilter{}), "rolled back")
	var count int
	for _, err := range f.svc.List(f.ctx, change.Filter{}) {
		require.NoError(t, err)
		count++
	}
	assert.Equal(t, 1, count, "rolled back")

	// In and IfVersion together; committed with the caller's transaction.
	cur := f.get(ch.ID)
	require.NoError(t, f.store.RunInTx(storage.Writing(f.ctx), func(ctx context.Context, tx storage.Tx) error {
		_, err := f.svc.In(tx).IfVersion(cur.Version+1).Update(ctx, requester, ch.ID, change.Patch{Backout: &backout})
		if !errors.Is(err, itil.ErrConflict) {
			return fmt.Errorf("a stale version in a transaction: %w", err)
		}
		if _, err := f.svc.In(tx).IfVersion(cur.Version).Update(ctx, requester, ch.ID, change.Patch{Backout: &backout}); err != nil {
			return err
		}
		if _, err := f.svc.In(tx).AssessRisk(ctx, requester, ch.ID, nil); err != nil {
			return err
		}
		_, err = f.svc.In(tx).Move(ctx, requester, ch.ID, change.MoveAuthorize)
		return err
	}))
	got = f.get(ch.ID)
	assert.Equal(t, backout, got.Backout, "committed")
	assert.Equal(t, change.StateAuthorize, got.State, "committed")
	assert.Equal(t, cur.Version+3, got.Version)
}

// testList: every Filter field, alone and together, ListPage's pages and
// tokens, and bad filters, limits and tokens named together.
func testList(t *testing.T, newStore func(*testing.T) storage.Store) {
	f, probs := setupProblems(t, newStore)
	ci1, ci2 := itil.NewID(), itil.NewID()
	start := f.clock.Now().Add(24 * time.Hour)
	a, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "a", AssignmentGroup: "messaging", Assignee: "max",
		CIID: ci1, CIIDs: []itil.ID{ci2}, PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	b, err := f.svc.Open(f.ctx, requester, change.NewChange{Model: change.ModelEmergency, Title: "b",
		AssignmentGroup: "network", Assignee: "nia", CIIDs: []itil.ID{ci1}, PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	b = f.move(b.ID, change.MoveAuthorize)
	f.clock.Advance(time.Minute)
	c := f.open(change.ModelStandard)
	p, err := probs.Open(f.ctx, requester, problem.NewProblem{Title: "Relay leaks memory"})
	require.NoError(t, err)
	_, err = f.svc.LinkProblem(f.ctx, requester, c.ID, p.ID)
	require.NoError(t, err)
	ids := func(fl change.Filter) []itil.ID {
		t.Helper()
		var out []itil.ID
		for ch, err := range f.svc.List(f.ctx, fl) {
			require.NoError(t, err)
			out = append(out, ch.ID)
		}
		paged := testkit.AllPages(t, func(token string) ([]*change.Change, string, error) {
			return f.svc.ListPage(f.ctx, fl, 1, token)
		})
		var pids []itil.ID
		for _, ch := range paged {
			pids = append(pids, ch.ID)
		}
		assert.Equal(t, out, pids, "List and ListPage agree on %+v", fl)
		return out
	}
	type list = []itil.ID
	for _, c := range []struct {
		name string
		f    change.Filter
		want list
	}{
		{"all", change.Filter{}, list{a.ID, b.ID, c.ID}},
		{"newest first", change.Filter{NewestFirst: true}, list{c.ID, b.ID, a.ID}},
		{"state", change.Filter{States: []change.State{change.StateAuthorize}}, list{b.ID}},
		{"states", change.Filter{States: []change.State{change.StateNew, "limbo"}}, list{a.ID, c.ID}},
		{"models", change.Filter{Models: []string{change.ModelEmergency, change.ModelStandard}}, list{b.ID, c.ID}},
		{"group", change.Filter{AssignmentGroups: []string{"messaging"}}, list{a.ID, c.ID}},
		{"assignee", change.Filter{Assignees: []string{"nia", "nobody"}}, list{b.ID}},
		{"primary CI", change.Filter{CIID: ci2}, list{a.ID}},
		{"any CI", change.Filter{CIID: ci1, NewestFirst: true}, list{b.ID, a.ID}},
		{"fixes", change.Filter{Fixes: p.ID}, list{c.ID}},
		{"opened from", change.Filter{OpenedFrom: b.OpenedAt}, list{b.ID, c.ID}},
		{"opened to", change.Filter{OpenedTo: b.OpenedAt}, list{a.ID}},
		{"opened between", change.Filter{OpenedFrom: a.OpenedAt, OpenedTo: c.OpenedAt}, list{a.ID, b.ID}},
		{"together", change.Filter{AssignmentGroups: []string{"messaging"}, Models: []string{change.ModelNormal},
			States: []change.State{change.StateNew}}, list{a.ID}},
		{"none", change.Filter{AssignmentGroups: []string{"network"}, Models: []string{change.ModelNormal}}, nil},
	} {
		assert.Equal(t, c.want, ids(c.f), c.name)
	}
	page, next, err := f.svc.ListPage(f.ctx, change.Filter{}, 2, "")
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.NotEmpty(t, next)
	page2, next2, err := f.svc.ListPage(f.ctx, change.Filter{}, 2, next)
	require.NoError(t, err)
	assert.Empty(t, next2)
	require.Len(t, page2, 1)
	assert.Equal(t, c.ID, page2[0].ID)
	all, _, err := f.svc.ListPage(f.ctx, change.Filter{}, 0, "")
	require.NoError(t, err)
	assert.Len(t, all, 3, "0 is the default page size")

	long := strings.Repeat("x", 161)
	_, _, err = f.svc.ListPage(f.ctx, change.Filter{Models: []string{"normal", long}, OpenedFrom: c.OpenedAt,
		OpenedTo: a.OpenedAt}, -1, "not a token")
	testkit.RequireFields(t, err, "models[1]", "opened_to", "limit", "page_token")
	_, _, err = f.svc.ListPage(f.ctx, change.Filter{}, 1001, "")
	testkit.RequireFields(t, err, "limit")
	for _, fl := range []struct {
		field  string
		filter change.Filter
	}{
		{"states[0]", change.Filter{States: []change.State{"a\xffb"}}},
		{"assignment_groups[0]", change.Filter{AssignmentGroups: []string{"a\x00b"}}},
		{"assignees[1]", change.Filter{Assignees: []string{"max", long}}},
	} {
		seen := 0
		for ch, err := range f.svc.List(f.ctx, fl.filter) {
			assert.Nil(t, ch)
			testkit.RequireFields(t, err, fl.field)
			seen++
		}
		assert.Equal(t, 1, seen, "one error, nothing else")
	}
}
