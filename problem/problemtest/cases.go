package problemtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
)

func testOpen(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	ci := itil.NewID()
	a, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "Email outages every Monday",
		Category: "email", CIIDs: []itil.ID{ci}, Impact: 1, Urgency: 2, Workaround: "restart the relay"})
	require.NoError(t, err)
	b, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "Proactive: disk wear on the SAN"})
	require.NoError(t, err)
	assert.Equal(t, "PRB0001001", a.Number)
	assert.Equal(t, "PRB0001002", b.Number)
	assert.Equal(t, problem.StateNew, a.State)
	assert.Equal(t, itil.P2, a.Priority)
	assert.Equal(t, itil.Priority(0), b.Priority, "no priority until impact and urgency are known")
	assert.Equal(t, []itil.ID{ci}, a.CIIDs)
	assert.Equal(t, int64(1), a.Version)
	assert.Equal(t, f.clock.Now(), a.OpenedAt)
	assert.Equal(t, analyst, a.OpenedBy)
	assert.Equal(t, a, f.get(a.ID))
	got, err := f.svc.GetByNumber(f.ctx, "PRB0001002")
	require.NoError(t, err)
	assert.Equal(t, b.ID, got.ID)
	_, err = f.svc.GetByNumber(f.ctx, "PRB0009999")
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.GetByNumber(f.ctx, "INC0001001")
	require.Error(t, err)
}

// step is one command of a flow and the state it leads to.
type step struct {
	name string
	do   func(f *fixture, id itil.ID) (*problem.Problem, error)
	want problem.State
}

func update(p problem.Patch) func(f *fixture, id itil.ID) (*problem.Problem, error) {
	return func(f *fixture, id itil.ID) (*problem.Problem, error) { return f.svc.Update(f.ctx, analyst, id, p) }
}

func ptr[T any](v T) *T { return &v }

var (
	assign = step{"assign", func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Assign(f.ctx, analyst, id, "problem-mgmt", "ana")
	}, problem.StateNew}
	assess = step{"assess", func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Assess(f.ctx, analyst, id)
	}, problem.StateAssess}
	confirm = step{"confirm", func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Confirm(f.ctx, analyst, id)
	}, problem.StateRootCauseAnalysis}
	cause = step{"cause notes", update(problem.Patch{CauseNotes: ptr("a memory leak in the relay")}), problem.StateRootCauseAnalysis}
	fix   = step{"fix", func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Fix(f.ctx, analyst, id)
	}, problem.StateFixInProgress}
	fixNotes = step{"fix notes", update(problem.Patch{FixNotes: ptr("relay upgraded to 2.4")}), problem.StateFixInProgress}
	resolve  = step{"resolve", func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Resolve(f.ctx, analyst, id)
	}, problem.StateResolved}
	complete = step{"complete", func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Complete(f.ctx, analyst, id)
	}, problem.StateClosed}
)

func reanalyze(from problem.State) step {
	return step{"reanalyze from " + string(from), func(f *fixture, id itil.ID) (*problem.Problem, error) {
		return f.svc.Reanalyze(f.ctx, analyst, id, "the incidents came back")
	}, problem.StateRootCauseAnalysis}
}

// testFlows runs the textbook flows step by step: every step gives the
// state it should, one version more, and returns the problem as stored.
func testFlows(t *testing.T, newStore NewStore) {
	flows := []struct {
		name  string
		steps []step
		check func(t *testing.T, p *problem.Problem)
	}{
		{"fix applied", []step{assign, assess, confirm, cause, fix, fixNotes, resolve, complete},
			func(t *testing.T, p *problem.Problem) {
				assert.Equal(t, problem.FixApplied, p.ResolutionCode)
				assert.Equal(t, analyst, p.ConfirmedBy)
				assert.False(t, p.ConfirmedAt.IsZero())
				assert.Equal(t, analyst, p.FixStartedBy)
				assert.False(t, p.FixStartedAt.IsZero())
				assert.False(t, p.ResolvedAt.IsZero())
				assert.False(t, p.ClosedAt.IsZero())
			}},
		{"risk accepted", []step{assign, assess, confirm, {"accept risk", func(f *fixture, id itil.ID) (*problem.Problem, error) {
			return f.svc.AcceptRisk(f.ctx, analyst, id, "the legacy system retires in May")
		}, problem.StateClosed}}, func(t *testing.T, p *problem.Problem) {
			assert.Equal(t, problem.RiskAccepted, p.ResolutionCode)
			assert.Equal(t, "the legacy system retires in May", p.RiskAcceptedReason)
			assert.False(t, p.ClosedAt.IsZero())
			assert.True(t, p.ResolvedAt.IsZero())
		}},
		{"canceled in assess", []step{assess, {"cancel", func(f *fixture, id itil.ID) (*problem.Problem, error) {
			return f.svc.Cancel(f.ctx, analyst, id, "a one-off, not a problem")
		}, problem.StateCanceled}}, func(t *testing.T, p *problem.Problem) {
			assert.Equal(t, problem.Canceled, p.ResolutionCode)
			assert.False(t, p.ClosedAt.IsZero(), "final, so closed")
		}},
		{"fix did not hold", []step{assign, assess, confirm, cause, fix, reanalyze(problem.StateFixInProgress),
			fix, fixNotes, resolve, reanalyze(problem.StateResolved), fix, resolve, complete},
			func(t *testing.T, p *problem.Problem) {
				assert.Equal(t, problem.FixApplied, p.ResolutionCode)
			}},
	}
	for _, fl := range flows {
		t.Run(fl.name, func(t *testing.T) {
			f := setup(t, newStore)
			p := f.open("Email relay crashes")
			for i, s := range fl.steps {
				f.clock.Advance(1)
				got, err := s.do(f, p.ID)
				require.NoError(t, err, s.name)
				assert.Equal(t, s.want, got.State, s.name)
				assert.Equal(t, int64(i+2), got.Version, s.name)
				assert.Equal(t, got, f.get(p.ID), "%s: the returned problem is the stored one", s.name)
			}
			got := f.get(p.ID)
			fl.check(t, got)
			h, err := f.svc.History(f.ctx, p.ID)
			require.NoError(t, err)
			assert.Len(t, h, len(fl.steps)+1, "one event per command")
		})
	}
}

// testGuards: each command refused in a state that allows the move but
// not yet its rules, with the field named, and nothing written.
func testGuards(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	cases := []struct {
		name  string
		setup func() *problem.Problem
		do    func(id itil.ID) error
		field string
	}{
		{"confirm needs an assignment group", func() *problem.Problem {
			p := f.open("unassigned")
			_, err := f.svc.Assess(f.ctx, analyst, p.ID)
			require.NoError(t, err)
			return p
		}, func(id itil.ID) error { _, err := f.svc.Confirm(f.ctx, analyst, id); return err }, "assignment_group"},
		{"confirm needs a priority", func() *problem.Problem {
			p, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "no priority"})
			require.NoError(t, err)
			_, err = f.svc.Assign(f.ctx, analyst, p.ID, "problem-mgmt", "")
			require.NoError(t, err)
			_, err = f.svc.Assess(f.ctx, analyst, p.ID)
			require.NoError(t, err)
			return p
		}, func(id itil.ID) error { _, err := f.svc.Confirm(f.ctx, analyst, id); return err }, "priority"},
		{"fix needs cause notes", func() *problem.Problem { return f.toRCA("no cause") },
			func(id itil.ID) error { _, err := f.svc.Fix(f.ctx, analyst, id); return err }, "cause_notes"},
		{"resolve needs fix notes", func() *problem.Problem { return f.toFix("no fix notes") },
			func(id itil.ID) error { _, err := f.svc.Resolve(f.ctx, analyst, id); return err }, "fix_notes"},
		{"accept risk needs a reason", func() *problem.Problem { return f.toRCA("no reason") },
			func(id itil.ID) error { _, err := f.svc.AcceptRisk(f.ctx, analyst, id, " \t"); return err }, "reason"},
		{"cancel needs a reason", func() *problem.Problem { return f.open("cancel") },
			func(id itil.ID) error { _, err := f.svc.Cancel(f.ctx, analyst, id, ""); return err }, "reason"},
		{"reanalyze needs a reason", func() *problem.Problem { return f.toFix("reanalyze") },
			func(id itil.ID) error { _, err := f.svc.Reanalyze(f.ctx, analyst, id, ""); return err }, "reason"},
		{"cause notes stay while fixing", func() *problem.Problem { return f.toFix("clear cause") },
			func(id itil.ID) error {
				_, err := f.svc.Update(f.ctx, analyst, id, problem.Patch{CauseNotes: ptr("  ")})
				return err
			}, "cause_notes"},
		{"priority stays once confirmed", func() *problem.Problem { return f.toRCA("clear impact") },
			func(id itil.ID) error {
				_, err := f.svc.Update(f.ctx, analyst, id, problem.Patch{Impact: ptr(itil.Impact(0)), Urgency: ptr(itil.Urgency(0))})
				return err
			}, "impact"},
		{"impact needs urgency", func() *problem.Problem { return f.open("half") },
			func(id itil.ID) error {
				_, err := f.svc.Update(f.ctx, analyst, id, problem.Patch{Urgency: ptr(itil.Urgency(0))})
				return err
			}, "urgency"},
		{"empty patch", func() *problem.Problem { return f.open("same") },
			func(id itil.ID) error { _, err := f.svc.Update(f.ctx, analyst, id, problem.Patch{}); return err }, "patch"},
		{"same assignment", func() *problem.Problem { return f.toRCA("assigned") },
			func(id itil.ID) error { _, err := f.svc.Assign(f.ctx, analyst, id, "problem-mgmt", "ana"); return err }, "group"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.setup()
			p = f.get(p.ID)
			before := f.journalLen()
			testkit.RequireInvalid(t, c.do(p.ID), c.field)
			assert.Equal(t, before, f.journalLen(), "nothing written")
			assert.Equal(t, p, f.get(p.ID))
		})
	}

	// Moves the lifecycle does not have are invalid transitions.
	survivor := f.open("survivor")
	moves := []struct {
		name  string
		setup func() *problem.Problem
		do    func(id itil.ID) error
	}{
		{"confirm from new", func() *problem.Problem { return f.open("new") },
			func(id itil.ID) error { _, err := f.svc.Confirm(f.ctx, analyst, id); return err }},
		{"fix from new", func() *problem.Problem { return f.open("new") },
			func(id itil.ID) error { _, err := f.svc.Fix(f.ctx, analyst, id); return err }},
		{"resolve from rca", func() *problem.Problem { return f.toRCA("rca") },
			func(id itil.ID) error { _, err := f.svc.Resolve(f.ctx, analyst, id); return err }},
		{"complete from fix", func() *problem.Problem { return f.toFix("fixing") },
			func(id itil.ID) error { _, err := f.svc.Complete(f.ctx, analyst, id); return err }},
		{"accept risk from assess", func() *problem.Problem {
			p := f.open("assess")
			_, err := f.svc.Assess(f.ctx, analyst, p.ID)
			require.NoError(t, err)
			return p
		}, func(id itil.ID) error { _, err := f.svc.AcceptRisk(f.ctx, analyst, id, "why not"); return err }},
		{"reanalyze from rca", func() *problem.Problem { return f.toRCA("rca") },
			func(id itil.ID) error { _, err := f.svc.Reanalyze(f.ctx, analyst, id, "again"); return err }},
		{"assess twice", func() *problem.Problem {
			p := f.open("assess")
			_, err := f.svc.Assess(f.ctx, analyst, p.ID)
			require.NoError(t, err)
			return p
		}, func(id itil.ID) error { _, err := f.svc.Assess(f.ctx, analyst, id); return err }},
		{"duplicate while fixing", func() *problem.Problem { return f.toFix("fixing") },
			func(id itil.ID) error {
				_, err := f.svc.MarkDuplicate(f.ctx, analyst, id, survivor.ID)
				return err
			}},
	}
	for _, c := range moves {
		t.Run(c.name, func(t *testing.T) {
			p := f.get(c.setup().ID)
			before := f.journalLen()
			require.ErrorIs(t, c.do(p.ID), itil.ErrInvalidTransition)
			assert.Equal(t, before, f.journalLen(), "nothing written")
			assert.Equal(t, p, f.get(p.ID))
		})
	}
}

// testFinal: every command on a Closed or Canceled problem is refused and
// changes nothing (Reanalyze from Closed needs an Authorizer; none here).
func testFinal(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	closed := f.toClosed("closed")
	canceled := f.open("canceled")
	_, err := f.svc.Cancel(f.ctx, analyst, canceled.ID, "not a problem")
	require.NoError(t, err)
	survivor := f.open("survivor")
	for _, p := range []*problem.Problem{f.get(closed.ID), f.get(canceled.ID)} {
		before := f.journalLen()
		cmds := map[string]func() error{
			"update":    func() error { _, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Title: ptr("x")}); return err },
			"assign":    func() error { _, err := f.svc.Assign(f.ctx, analyst, p.ID, "other", ""); return err },
			"comment":   func() error { _, err := f.svc.Comment(f.ctx, analyst, p.ID, "hi"); return err },
			"work note": func() error { _, err := f.svc.WorkNote(f.ctx, analyst, p.ID, "hi"); return err },
			"assess":    func() error { _, err := f.svc.Assess(f.ctx, analyst, p.ID); return err },
			"confirm":   func() error { _, err := f.svc.Confirm(f.ctx, analyst, p.ID); return err },
			"cancel":    func() error { _, err := f.svc.Cancel(f.ctx, analyst, p.ID, "r"); return err },
			"fix":       func() error { _, err := f.svc.Fix(f.ctx, analyst, p.ID); return err },
			"accept":    func() error { _, err := f.svc.AcceptRisk(f.ctx, analyst, p.ID, "r"); return err },
			"resolve":   func() error { _, err := f.svc.Resolve(f.ctx, analyst, p.ID); return err },
			"complete":  func() error { _, err := f.svc.Complete(f.ctx, analyst, p.ID); return err },
			"duplicate": func() error { _, err := f.svc.MarkDuplicate(f.ctx, analyst, p.ID, survivor.ID); return err },
		}
		for name, do := range cmds {
			assert.ErrorIs(t, do(), itil.ErrInvalidTransition, "%s on %s", name, p.State)
		}
		_, err := f.svc.Reanalyze(f.ctx, manager, p.ID, "again")
		if p.State == problem.StateClosed {
			assert.ErrorIs(t, err, itil.ErrForbidden, "no authorizer, no problem manager")
		} else {
			assert.ErrorIs(t, err, itil.ErrInvalidTransition)
		}
		assert.Equal(t, before, f.journalLen(), "nothing written")
		assert.Equal(t, p, f.get(p.ID))
	}
}

func testDuplicate(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	survivor := f.toRCA("survivor")
	dup := f.open("same thing")
	got, err := f.svc.MarkDuplicate(f.ctx, analyst, dup.ID, survivor.ID)
	require.NoError(t, err)
	assert.Equal(t, problem.StateClosed, got.State)
	assert.Equal(t, problem.Duplicate, got.ResolutionCode)
	assert.Equal(t, survivor.ID, got.DuplicateOf)
	assert.False(t, got.ClosedAt.IsZero())
	s := f.get(survivor.ID)
	assert.Equal(t, 1, s.DuplicateCount)
	assert.Equal(t, survivor.Version+1, s.Version)
	h, err := f.svc.History(f.ctx, survivor.ID)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(h), 2)
	assert.ElementsMatch(t, []string{problem.EventDuplicateLinked, problem.EventMarkedDuplicate},
		[]string{h[len(h)-1].Type, h[len(h)-2].Type}, "the duplicate's event names the survivor")
	var dups []itil.ID
	for p, err := range f.svc.List(f.ctx, problem.Filter{DuplicateOf: survivor.ID}) {
		require.NoError(t, err)
		dups = append(dups, p.ID)
	}
	assert.Equal(t, []itil.ID{dup.ID}, dups)

	refused := []struct {
		name         string
		id, survivor itil.ID
		field        string
	}{
		{"itself", survivor.ID, survivor.ID, "duplicate_of"},
		{"of a duplicate", f.open("third").ID, dup.ID, "duplicate_of"},
		{"with duplicates of its own", survivor.ID, f.open("fourth").ID, "duplicate_of"},
		{"nil survivor", f.open("fifth").ID, itil.NilID, "duplicate_of"},
	}
	canceled := f.open("canceled")
	_, err = f.svc.Cancel(f.ctx, analyst, canceled.ID, "no")
	require.NoError(t, err)
	refused = append(refused, struct {
		name         string
		id, survivor itil.ID
		field        string
	}{"of a canceled problem", f.open("sixth").ID, canceled.ID, "duplicate_of"})
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			before, p := f.journalLen(), f.get(c.id)
			_, err := f.svc.MarkDuplicate(f.ctx, analyst, c.id, c.survivor)
			testkit.RequireInvalid(t, err, c.field)
			assert.Equal(t, before, f.journalLen())
			assert.Equal(t, p, f.get(c.id))
		})
	}
}

// testBadInput: blank, oversized and invalid texts are refused naming
// the field, and nothing is written.
func testBadInput(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	p := f.toRCA("target")
	long := strings.Repeat("x", 32001)
	short := strings.Repeat("é", 161)
	bad := []struct {
		name  string
		value string
	}{{"blank", " \n"}, {"invalid UTF-8", "a\xffb"}, {"NUL", "a\x00b"}}
	before := f.journalLen()
	t.Run("Open", func(t *testing.T) {
		_, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{
			Title: short, Description: long, Category: "a\x00", Workaround: long,
			CIIDs: []itil.ID{itil.NilID, p.ID, p.ID}, Impact: 9, Urgency: 1,
		})
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v)
		for _, field := range []string{"title", "description", "category", "workaround", "ci_ids[0]", "ci_ids[2]", "impact"} {
			assert.True(t, v.Has(field), "missing %s in %v", field, v)
		}
		for _, b := range bad {
			_, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: b.value})
			testkit.RequireInvalid(t, err, "title")
		}
		_, err = f.svc.Open(f.ctx, itil.Actor{}, basic("no actor"))
		testkit.RequireInvalid(t, err, "actor.id")
		many := make([]itil.ID, problem.MaxCIs+1)
		for i := range many {
			many[i] = itil.NewID()
		}
		_, err = f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "many", CIIDs: many})
		testkit.RequireInvalid(t, err, "ci_ids")
	})
	texts := map[string]func(string) error{
		"workaround": func(s string) error {
			_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Workaround: &s})
			return err
		},
		"cause_notes": func(s string) error {
			_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{CauseNotes: &s})
			return err
		},
		"fix_notes": func(s string) error {
			_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{FixNotes: &s})
			return err
		},
		"title": func(s string) error {
			_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Title: &s})
			return err
		},
		"reason": func(s string) error { _, err := f.svc.AcceptRisk(f.ctx, analyst, p.ID, s); return err },
		"text":   func(s string) error { _, err := f.svc.WorkNote(f.ctx, analyst, p.ID, s); return err },
		"group":  func(s string) error { _, err := f.svc.Assign(f.ctx, analyst, p.ID, s, ""); return err },
	}
	for field, do := range texts {
		t.Run(field, func(t *testing.T) {
			testkit.RequireInvalid(t, do(long), field)
			testkit.RequireInvalid(t, do("a\xffb"), field)
			testkit.RequireInvalid(t, do("a\x00b"), field)
			if field == "title" || field == "reason" || field == "text" || field == "group" {
				testkit.RequireInvalid(t, do(" \n"), field)
			}
		})
	}
	assert.Equal(t, before, f.journalLen(), "nothing written")
}

// testUnknownIDs: commands on an unknown problem, or naming one, give
// errors wrapping itil.ErrNotFound, and nothing is written.
func testUnknownIDs(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	p := f.open("known")
	unknown := itil.NewID()
	before := f.journalLen()
	for name, do := range map[string]func() error{
		"get":       func() error { _, err := f.svc.Get(f.ctx, unknown); return err },
		"history":   func() error { _, err := f.svc.History(f.ctx, unknown); return err },
		"assign":    func() error { _, err := f.svc.Assign(f.ctx, analyst, unknown, "g", ""); return err },
		"assess":    func() error { _, err := f.svc.Assess(f.ctx, analyst, unknown); return err },
		"comment":   func() error { _, err := f.svc.Comment(f.ctx, analyst, unknown, "hi"); return err },
		"cancel":    func() error { _, err := f.svc.Cancel(f.ctx, analyst, unknown, "r"); return err },
		"reanalyze": func() error { _, err := f.svc.Reanalyze(f.ctx, analyst, unknown, "r"); return err },
		"duplicate": func() error { _, err := f.svc.MarkDuplicate(f.ctx, analyst, unknown, p.ID); return err },
	} {
		assert.ErrorIs(t, do(), itil.ErrNotFound, name)
	}
	_, err := f.svc.MarkDuplicate(f.ctx, analyst, p.ID, unknown)
	require.ErrorIs(t, err, itil.ErrNotFound)
	assert.Contains(t, err.Error(), "duplicate_of")
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, p, f.get(p.ID))
}

func testAuthorizer(t *testing.T, newStore NewStore) {
	var seen []string
	auth := func(_ context.Context, a itil.Actor, command string, p *problem.Problem) error {
		seen = append(seen, command)
		if command == problem.CommandAcceptRisk && a.ID != manager.ID {
			return errors.New("only the problem manager accepts risk")
		}
		if command == problem.CommandMarkDuplicate && p.Title == "protected" {
			return errors.New("protected problem")
		}
		return nil
	}
	f := setup(t, newStore, problem.WithAuthorizer(auth))
	p := f.toRCA("risky")
	before := f.journalLen()
	_, err := f.svc.AcceptRisk(f.ctx, analyst, p.ID, "cheap to live with")
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Contains(t, err.Error(), "only the problem manager accepts risk")
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, problem.StateRootCauseAnalysis, f.get(p.ID).State)
	_, err = f.svc.AcceptRisk(f.ctx, manager, p.ID, "cheap to live with")
	require.NoError(t, err)

	// MarkDuplicate is authorized on the survivor too.
	protected := f.open("protected")
	dup := f.open("dup")
	seen = nil
	before = f.journalLen()
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, dup.ID, protected.ID)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, []string{problem.CommandMarkDuplicate, problem.CommandMarkDuplicate}, seen)
	assert.Equal(t, before, f.journalLen())

	// Open is authorized on the problem as it would be created.
	g := setup(t, newStore, problem.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, p *problem.Problem) error {
		if command == problem.CommandOpen && p.Category == "secret" {
			return errors.New("no secrets")
		}
		return nil
	}))
	in := basic("secret")
	in.Category = "secret"
	_, err = g.svc.Open(g.ctx, analyst, in)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Zero(t, g.journalLen())
}

// testReanalyzeClosed: a Closed problem goes back to Root Cause Analysis
// only when the Authorizer allows CommandReanalyzeClosed, which it is asked
// for by name; a closed duplicate never does.
func testReanalyzeClosed(t *testing.T, newStore NewStore) {
	var asked []string
	managers := func(_ context.Context, a itil.Actor, command string, _ *problem.Problem) error {
		asked = append(asked, command)
		if command == problem.CommandReanalyzeClosed && a.ID != manager.ID {
			return errors.New("only a problem manager reopens a closed problem")
		}
		return nil
	}
	f := setup(t, newStore, problem.WithAuthorizer(managers))
	p := f.toClosed("came back")
	before := f.journalLen()
	asked = nil
	_, err := f.svc.Reanalyze(f.ctx, analyst, p.ID, "the incidents came back")
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, []string{problem.CommandReanalyze, problem.CommandReanalyzeClosed}, asked)
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, p, f.get(p.ID))

	got, err := f.svc.Reanalyze(f.ctx, manager, p.ID, "the incidents came back")
	require.NoError(t, err)
	assert.Equal(t, problem.StateRootCauseAnalysis, got.State)
	assert.Empty(t, got.ResolutionCode)
	assert.True(t, got.ResolvedAt.IsZero())
	assert.True(t, got.ClosedAt.IsZero())
	assert.NotEmpty(t, got.FixNotes, "the texts stay")

	// Risk accepted, then reopened by the manager.
	r := f.toRCA("risk")
	_, err = f.svc.AcceptRisk(f.ctx, manager, r.ID, "cheap")
	require.NoError(t, err)
	got, err = f.svc.Reanalyze(f.ctx, manager, r.ID, "it got expensive")
	require.NoError(t, err)
	assert.Empty(t, got.RiskAcceptedReason)
	assert.Empty(t, got.ResolutionCode)

	// Reanalyze from Fix in Progress asks for the plain command only.
	x := f.toFix("fixing")
	asked = nil
	_, err = f.svc.Reanalyze(f.ctx, analyst, x.ID, "wrong cause")
	require.NoError(t, err)
	assert.Equal(t, []string{problem.CommandReanalyze}, asked)

	// A closed duplicate is not reanalyzed: its survivor is.
	s := f.open("survivor")
	d := f.open("duplicate")
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, d.ID, s.ID)
	require.NoError(t, err)
	before = f.journalLen()
	_, err = f.svc.Reanalyze(f.ctx, manager, d.ID, "again")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Equal(t, before, f.journalLen())

	// Canceled stays final even for the manager.
	c := f.open("canceled")
	_, err = f.svc.Cancel(f.ctx, analyst, c.ID, "no")
	require.NoError(t, err)
	_, err = f.svc.Reanalyze(f.ctx, manager, c.ID, "again")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
}

func testList(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	ci := itil.NewID()
	a, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "a", Category: "email", CIIDs: []itil.ID{itil.NewID(), ci}, Impact: 1, Urgency: 1})
	require.NoError(t, err)
	f.clock.Advance(1)
	b := f.toRCA("b")
	f.clock.Advance(1)
	c, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "c", CIIDs: []itil.ID{ci}})
	require.NoError(t, err)
	ids := func(fl problem.Filter) []itil.ID {
		var out []itil.ID
		for p, err := range f.svc.List(f.ctx, fl) {
			require.NoError(t, err)
			out = append(out, p.ID)
		}
		return out
	}
	assert.Equal(t, []itil.ID{a.ID, b.ID, c.ID}, ids(problem.Filter{}))
	assert.Equal(t, []itil.ID{c.ID, a.ID}, ids(problem.Filter{CIID: ci, NewestFirst: true}))
	assert.Equal(t, []itil.ID{b.ID}, ids(problem.Filter{States: []problem.State{problem.StateRootCauseAnalysis}}))
	assert.Equal(t, []itil.ID{a.ID}, ids(problem.Filter{Priorities: []itil.Priority{itil.P1}}))
	assert.Equal(t, []itil.ID{a.ID}, ids(problem.Filter{Categories: []string{"email"}}))
	assert.Equal(t, []itil.ID{b.ID}, ids(problem.Filter{AssignmentGroups: []string{"problem-mgmt"}, Assignees: []string{"ana"}}))
	page, next, err := f.svc.ListPage(f.ctx, problem.Filter{}, 2, "")
	require.NoError(t, err)
	require.Len(t, page, 2)
	page2, next2, err := f.svc.ListPage(f.ctx, problem.Filter{}, 2, next)
	require.NoError(t, err)
	assert.Empty(t, next2)
	assert.Equal(t, c.ID, page2[0].ID)
	for _, err := range f.svc.List(f.ctx, problem.Filter{States: []problem.State{"limbo"}}) {
		testkit.RequireInvalid(t, err, "states[0]")
	}
	_, _, err = f.svc.ListPage(f.ctx, problem.Filter{Priorities: []itil.Priority{9}}, 10, "")
	testkit.RequireInvalid(t, err, "priorities[0]")
}

func testNotes(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	p := f.open("noted")
	before := f.journalLen()
	n, err := f.svc.Comment(f.ctx, analyst, p.ID, "we are looking into it")
	require.NoError(t, err)
	assert.Equal(t, itil.Comment, n.Visibility)
	_, err = f.svc.WorkNote(f.ctx, analyst, p.ID, "suspect the relay")
	require.NoError(t, err)
	assert.Equal(t, before+2, f.journalLen(), "one event per note")
	assert.Equal(t, p, f.get(p.ID), "the problem is not written")
	var texts []string
	for n, err := range f.svc.Notes(f.ctx, p.ID, itil.WorkNote) {
		require.NoError(t, err)
		texts = append(texts, n.Text)
	}
	assert.Equal(t, []string{"suspect the relay"}, texts)
	notes, next, err := f.svc.NotesPage(f.ctx, p.ID, 1, "")
	require.NoError(t, err)
	assert.Len(t, notes, 1)
	assert.NotEmpty(t, next)
	h, err := f.svc.History(f.ctx, p.ID)
	require.NoError(t, err)
	assert.Len(t, h, 3, "the history shows the notes")
}

func testOptions(t *testing.T, newStore NewStore) {
	store := newStore(t)
	_, err := problem.New(nil)
	testkit.RequireInvalid(t, err, "store")
	_, err = problem.New(store, problem.WithClock(nil), problem.WithPriorityMatrix(nil),
		problem.WithAuthorizer(nil), problem.WithHook(nil), problem.Option{})
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, field := range []string{"clock", "priority_matrix", "authorizer", "hook", "options[4]"} {
		assert.True(t, v.Has(field), "missing %s in %v", field, v)
	}
	m, err := itil.NewPriorityMatrix(2, 2, map[itil.Cell]itil.Priority{
		{Impact: 1, Urgency: 1}: itil.P1, {Impact: 1, Urgency: 2}: itil.P2,
		{Impact: 2, Urgency: 1}: itil.P2, {Impact: 2, Urgency: 2}: itil.P4,
	})
	require.NoError(t, err)
	svc, err := problem.New(store, problem.WithPriorityMatrix(m))
	require.NoError(t, err)
	p, err := svc.Open(t.Context(), analyst, basic("two levels"))
	require.NoError(t, err)
	assert.Equal(t, itil.P4, p.Priority)
	_, err = svc.Open(t.Context(), analyst, problem.NewProblem{Title: "three", Impact: 3, Urgency: 1})
	testkit.RequireInvalid(t, err, "impact")
}
