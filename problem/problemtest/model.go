package problemtest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// mProb is the model of one problem: what the rules say it should be,
// computed by hand from the commands that succeeded.
type mProb struct {
	id              itil.ID
	state           problem.State
	version         int64
	impact          itil.Impact
	urgency         itil.Urgency
	group, assignee string
	workaround      string
	cause, fix      string
	code            problem.ResolutionCode
	riskReason      string
	duplicateOf     itil.ID
	duplicates      int
}

func (p *mProb) final() bool {
	return p.state == problem.StateClosed || p.state == problem.StateCanceled
}

func (p *mProb) priority() itil.Priority {
	if p.impact == 0 || p.urgency == 0 {
		return 0
	}
	pr, _ := itil.DefaultPriorityMatrix().Priority(p.impact, p.urgency)
	return pr
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// valid says whether the model's texts and priority suit its state, as
// Update requires.
func (p *mProb) valid() bool {
	switch {
	case p.impact == 0 && p.urgency == 0:
		if p.state != problem.StateNew && p.state != problem.StateAssess {
			return false
		}
	case p.impact < 1 || p.impact > 3 || p.urgency < 1 || p.urgency > 3:
		return false
	}
	if (p.state == problem.StateFixInProgress || p.state == problem.StateResolved) && isBlank(p.cause) {
		return false
	}
	return p.state != problem.StateResolved || !isBlank(p.fix)
}

type model struct {
	f       *fixture
	probs   []*mProb
	journal int
	// finals holds problems as they were when they became final.
	finals map[itil.ID]*problem.Problem
}

var (
	groups    = []string{"", "problem-mgmt", "network"}
	assignees = []string{"", "ana", "bo"}
	texts     = []string{"", "some words", " "}
	reasons   = []string{"", "a reason"}
)

func (m *model) pick(t *rapid.T, label string) *mProb {
	if len(m.probs) == 0 {
		t.Skip("no problem yet")
	}
	return rapid.SampledFrom(m.probs).Draw(t, label)
}

// expect checks that a command succeeded exactly when the model says it
// should, and that a refusal is typed and changed nothing.
func (m *model) expect(t *rapid.T, ok bool, err error, touched ...*problem.Problem) bool {
	if ok && err != nil {
		t.Fatalf("the model expected success, got %v", err)
	}
	if ok {
		return true
	}
	if err == nil {
		t.Fatalf("the model expected a refusal, the command succeeded")
	}
	var v *itil.ValidationError
	if !errors.As(err, &v) && !errors.Is(err, itil.ErrInvalidTransition) && !errors.Is(err, itil.ErrForbidden) {
		t.Fatalf("a refusal must be a validation error, an invalid transition or forbidden, got %v", err)
	}
	for _, before := range touched {
		after, gerr := m.f.svc.Get(m.f.ctx, before.ID)
		if gerr != nil || !reflect.DeepEqual(before, after) {
			t.Fatalf("a refused command changed %s (%v):\n before %+v\n after  %+v", before.Number, gerr, before, after)
		}
	}
	return false
}

func (m *model) bump(p *mProb) {
	p.version++
	m.journal++
}

func (m *model) stored(t *rapid.T, p *mProb) *problem.Problem {
	got, err := m.f.svc.Get(m.f.ctx, p.id)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	return got
}

// testModel drives Services with random commands and checks them against
// the model after every step. With instances, two Services run on two
// handles of one store and every command goes to one of them at random.
// The Authorizer lets only the manager reanalyze a Closed problem.
func testModel(t *testing.T, newStore NewStore, instances storagetest.Instances) {
	auth := problem.WithAuthorizer(func(_ context.Context, a itil.Actor, command string, _ *problem.Problem) error {
		if command == problem.CommandReanalyzeClosed && a.ID != manager.ID {
			return errors.New("a problem manager's decision")
		}
		return nil
	})
	rapid.Check(t, func(rt *rapid.T) {
		var f *fixture
		var svcs []*problem.Service
		if instances == nil {
			f = setup(t, newStore, auth)
			svcs = []*problem.Service{f.svc}
		} else {
			a, b := instances(t)
			f = setup(t, func(*testing.T) storage.Store { return a }, auth)
			other, err := problem.New(b, problem.WithClock(f.clock), auth)
			require.NoError(t, err)
			svcs = []*problem.Service{f.svc, other}
		}
		f.t = rt
		m := &model{f: f, finals: map[itil.ID]*problem.Problem{}}
		for range rapid.IntRange(2, 4).Draw(rt, "initial") {
			p, err := f.svc.Open(f.ctx, analyst, basic("initial"))
			if err != nil {
				rt.Fatalf("open: %v", err)
			}
			m.probs = append(m.probs, &mProb{id: p.ID, state: problem.StateNew, version: 1, impact: 2, urgency: 2})
			m.journal++
		}
		actions := map[string]func(*rapid.T){
			"": func(t *rapid.T) { m.check(t) },
			"open": func(t *rapid.T) {
				in := problem.NewProblem{Title: rapid.SampledFrom(texts[:2]).Draw(t, "title"),
					Impact:  itil.Impact(rapid.IntRange(0, 4).Draw(t, "impact")),
					Urgency: itil.Urgency(rapid.IntRange(0, 3).Draw(t, "urgency"))}
				mp := &mProb{state: problem.StateNew, version: 1, impact: in.Impact, urgency: in.Urgency}
				ok := in.Title != "" && mp.valid()
				p, err := f.svc.Open(f.ctx, analyst, in)
				if m.expect(t, ok, err) {
					mp.id = p.ID
					m.probs = append(m.probs, mp)
					m.journal++
				}
			},
			"assign": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				g := rapid.SampledFrom(groups).Draw(t, "group")
				a := rapid.SampledFrom(assignees).Draw(t, "assignee")
				_, err := f.svc.Assign(f.ctx, analyst, p.id, g, a)
				if m.expect(t, !p.final() && g != "" && !(g == p.group && a == p.assignee), err, before) {
					p.group, p.assignee = g, a
					m.bump(p)
				}
			},
			"update text": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				field := rapid.SampledFrom([]string{"workaround", "cause", "fix"}).Draw(t, "field")
				value := rapid.SampledFrom(texts).Draw(t, "value")
				next := *p
				var patch problem.Patch
				switch field {
				case "workaround":
					next.workaround, patch.Workaround = value, &value
				case "cause":
					next.cause, patch.CauseNotes = value, &value
				default:
					next.fix, patch.FixNotes = value, &value
				}
				changed := next.workaround != p.workaround || next.cause != p.cause || next.fix != p.fix
				_, err := f.svc.Update(f.ctx, analyst, p.id, patch)
				if m.expect(t, !p.final() && changed && next.valid(), err, before) {
					*p = next
					m.bump(p)
				}
			},
			"reclassify": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				imp := itil.Impact(rapid.IntRange(0, 4).Draw(t, "impact"))
				urg := itil.Urgency(rapid.IntRange(0, 3).Draw(t, "urgency"))
				next := *p
				next.impact, next.urgency = imp, urg
				_, err := f.svc.Update(f.ctx, analyst, p.id, problem.Patch{Impact: &imp, Urgency: &urg})
				if m.expect(t, !p.final() && (imp != p.impact || urg != p.urgency) && next.valid(), err, before) {
					*p = next
					m.bump(p)
				}
			},
			"assess": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				_, err := f.svc.Assess(f.ctx, analyst, p.id)
				if m.expect(t, p.state == problem.StateNew, err, before) {
					p.state = problem.StateAssess
					m.bump(p)
				}
			},
			"confirm": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				_, err := f.svc.Confirm(f.ctx, analyst, p.id)
				if m.expect(t, p.state == problem.StateAssess && p.group != "" && p.priority() != 0, err, before) {
					p.state = problem.StateRootCauseAnalysis
					m.bump(p)
				}
			},
			"mark duplicate": func(t *rapid.T) {
				p, s := m.pick(t, "duplicate"), m.pick(t, "survivor")
				before, sBefore := m.stored(t, p), m.stored(t, s)
				ok := p != s && (p.state == problem.StateNew || p.state == problem.StateAssess ||
					p.state == problem.StateRootCauseAnalysis) &&
					s.code != problem.Duplicate && s.state != problem.StateCanceled && p.duplicates == 0
				_, err := f.svc.MarkDuplicate(f.ctx, analyst, p.id, s.id)
				if m.expect(t, ok, err, before, sBefore) {
					p.state, p.code, p.duplicateOf = problem.StateClosed, problem.Duplicate, s.id
					m.bump(p)
					s.duplicates++
					m.bump(s)
				}
			},
			"cancel": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				reason := rapid.SampledFrom(reasons).Draw(t, "reason")
				_, err := f.svc.Cancel(f.ctx, analyst, p.id, reason)
				if m.expect(t, p.state.Open() && reason != "", err, before) {
					p.state, p.code = problem.StateCanceled, problem.Canceled
					m.bump(p)
				}
			},
			"fix": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				_, err := f.svc.Fix(f.ctx, analyst, p.id)
				if m.expect(t, p.state == problem.StateRootCauseAnalysis && !isBlank(p.cause), err, before) {
					p.state = problem.StateFixInProgress
					m.bump(p)
				}
			},
			"accept risk": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				reason := rapid.SampledFrom(reasons).Draw(t, "reason")
				_, err := f.svc.AcceptRisk(f.ctx, manager, p.id, reason)
				if m.expect(t, p.state == problem.StateRootCauseAnalysis && reason != "", err, before) {
					p.state, p.code, p.riskReason = problem.StateClosed, problem.RiskAccepted, reason
					m.bump(p)
				}
			},
			"reanalyze": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				who := rapid.SampledFrom([]itil.Actor{analyst, manager}).Draw(t, "actor")
				reason := rapid.SampledFrom(reasons).Draw(t, "reason")
				ok := reason != "" && (p.state == problem.StateFixInProgress || p.state == problem.StateResolved ||
					(p.state == problem.StateClosed && who == manager && p.code != problem.Duplicate))
				_, err := f.svc.Reanalyze(f.ctx, who, p.id, reason)
				if m.expect(t, ok, err, before) {
					delete(m.finals, p.id) // the one way out of a final state
					p.state, p.code, p.riskReason = problem.StateRootCauseAnalysis, "", ""
					m.bump(p)
				}
			},
			"resolve": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				_, err := f.svc.Resolve(f.ctx, analyst, p.id)
				if m.expect(t, p.state == problem.StateFixInProgress && !isBlank(p.fix), err, before) {
					p.state, p.code = problem.StateResolved, problem.FixApplied
					m.bump(p)
				}
			},
			"complete": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				_, err := f.svc.Complete(f.ctx, analyst, p.id)
				if m.expect(t, p.state == problem.StateResolved, err, before) {
					p.state = problem.StateClosed
					m.bump(p)
				}
			},
			// Random commands rarely get past Assess; this one takes a
			// problem one step along the textbook path, with valid input.
			"progress": func(t *rapid.T) {
				var open []*mProb
				for _, p := range m.probs {
					if !p.final() {
						open = append(open, p)
					}
				}
				if len(open) == 0 {
					t.Skip("no problem to progress")
				}
				p := rapid.SampledFrom(open).Draw(t, "problem")
				for range rapid.IntRange(1, 8).Draw(t, "steps") {
					if p.final() {
						return
					}
					m.progress(t, p)
				}
			},
			"work note": func(t *rapid.T) {
				p := m.pick(t, "problem")
				before := m.stored(t, p)
				text := rapid.SampledFrom(texts).Draw(t, "text")
				_, err := f.svc.WorkNote(f.ctx, analyst, p.id, text)
				if m.expect(t, !p.final() && !isBlank(text), err, before) {
					m.journal++ // the note, a record of its own
				}
			},
		}
		storagetest.Spread(actions, svcs, func(s *problem.Service) { f.svc = s })
		rt.Repeat(actions)
	})
}

// progress takes p one step along the textbook path, with valid input.
func (m *model) progress(t *rapid.T, p *mProb) {
	f := m.f
	var err error
	switch {
	case p.group == "":
		_, err = f.svc.Assign(f.ctx, analyst, p.id, "problem-mgmt", "")
		p.group, p.assignee = "problem-mgmt", ""
	case p.priority() == 0:
		imp, urg := itil.Impact(1), itil.Urgency(3)
		_, err = f.svc.Update(f.ctx, analyst, p.id, problem.Patch{Impact: &imp, Urgency: &urg})
		p.impact, p.urgency = imp, urg
	case p.state == problem.StateNew:
		_, err = f.svc.Assess(f.ctx, analyst, p.id)
		p.state = problem.StateAssess
	case p.state == problem.StateAssess:
		_, err = f.svc.Confirm(f.ctx, analyst, p.id)
		p.state = problem.StateRootCauseAnalysis
	case isBlank(p.cause):
		cause := "a race in the relay"
		_, err = f.svc.Update(f.ctx, analyst, p.id, problem.Patch{CauseNotes: &cause})
		p.cause = cause
	case p.state == problem.StateRootCauseAnalysis:
		_, err = f.svc.Fix(f.ctx, analyst, p.id)
		p.state = problem.StateFixInProgress
	case isBlank(p.fix):
		fix := "relay patched"
		_, err = f.svc.Update(f.ctx, analyst, p.id, problem.Patch{FixNotes: &fix})
		p.fix = fix
	case p.state == problem.StateFixInProgress:
		_, err = f.svc.Resolve(f.ctx, analyst, p.id)
		p.state, p.code = problem.StateResolved, problem.FixApplied
	default:
		_, err = f.svc.Complete(f.ctx, analyst, p.id)
		p.state = problem.StateClosed
	}
	m.expect(t, true, err)
	m.bump(p)
}

// check compares every problem with the model and checks the invariants.
func (m *model) check(t *rapid.T) {
	f := m.f
	if got := f.journalLen(); got != m.journal {
		t.Fatalf("journal has %d events, the model %d", got, m.journal)
	}
	for _, want := range m.probs {
		got := m.stored(t, want)
		data, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var back problem.Problem
		if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(&back, got) {
			t.Fatalf("%s does not survive a JSON round trip (%v):\n got  %+v\n back %+v", got.Number, err, got, &back)
		}
		if !slices.Contains(problem.States(), got.State) {
			t.Fatalf("%s: undeclared state %q", got.Number, got.State)
		}
		if got.State != want.state || got.Version != want.version || got.Impact != want.impact ||
			got.Urgency != want.urgency || got.Priority != want.priority() ||
			got.AssignmentGroup != want.group || got.Assignee != want.assignee ||
			got.Workaround != want.workaround || got.CauseNotes != want.cause || got.FixNotes != want.fix ||
			got.ResolutionCode != want.code || got.RiskAcceptedReason != want.riskReason ||
			got.DuplicateOf != want.duplicateOf || got.DuplicateCount != want.duplicates {
			t.Fatalf("%s differs from the model:\n got  %+v\n want %+v", got.Number, got, want)
		}
		if got.State.Final() {
			if before, ok := m.finals[got.ID]; ok && !reflect.DeepEqual(before, got) {
				// A survivor's duplicate count is the one change a
				// final problem may see: another problem names it.
				b := *before
				b.DuplicateCount, b.Version, b.UpdatedAt = got.DuplicateCount, got.Version, got.UpdatedAt
				if !reflect.DeepEqual(&b, got) {
					t.Fatalf("%s changed after becoming %s", got.Number, got.State)
				}
			}
			m.finals[got.ID] = got
		}
		if got.State == problem.StateResolved && got.ResolvedAt.IsZero() {
			t.Fatalf("%s: resolved without resolved_at", got.Number)
		}
		if got.State.Open() && (!got.ResolvedAt.IsZero() || !got.ClosedAt.IsZero()) {
			t.Fatalf("%s: %s with resolved_at %v closed_at %v", got.Number, got.State, got.ResolvedAt, got.ClosedAt)
		}
		if got.State == problem.StateCanceled && !got.ResolvedAt.IsZero() {
			t.Fatalf("%s: canceled with resolved_at %v", got.Number, got.ResolvedAt)
		}
		if got.State.Final() && got.ClosedAt.IsZero() {
			t.Fatalf("%s: %s without closed_at", got.Number, got.State)
		}
		h, err := f.svc.History(f.ctx, got.ID)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		own := 0
		for _, e := range h {
			if e.Kind == problem.Kind && e.SubjectID == got.ID {
				own++
			}
		}
		if int64(own) != got.Version {
			t.Fatalf("%s: %d history entries for version %d", got.Number, own, got.Version)
		}
		replayed, err := pipeline.Replay[problem.Problem](problem.Kind, got.ID, h, 0)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		w := *got
		w.Version, w.UpdatedAt = replayed.Version, replayed.UpdatedAt
		if !reflect.DeepEqual(&w, replayed) {
			t.Fatalf("%s: replayed history differs:\n got  %+v\n want %+v", got.Number, replayed, &w)
		}
	}
}
