package problemtest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// lmProb and lmInc are the links model's problem and incident: what the
// rules say they should be, computed by hand from the commands that
// succeeded.
type lmProb struct {
	id         itil.ID
	state      problem.State
	code       problem.ResolutionCode
	duplicates int
	dupOf      *lmProb
	ke         *lmKE // its known error (KnownErrorID), nil when none
}

// lmKE is a published known error of the links model.
type lmKE struct {
	id        itil.ID
	origin    *lmProb // the problem it was published from
	incidents int     // IncidentCount: incidents resolved with it
}

type lmInc struct {
	id       itil.ID
	problem  *lmProb // nil when linked to none
	state    incident.State
	awaiting bool // On Hold awaiting its problem
}

func (p *lmProb) worked() bool {
	return p.state != problem.StateResolved && p.state != problem.StateClosed && p.state != problem.StateCanceled
}

type linksModel struct {
	f          *linkFixture
	resolveAll bool
	probs      []*lmProb
	incs       []*lmInc
	kes        []*lmKE
}

// settle is what the end of p does to the open incidents incs, as the
// cascade table says.
func (m *linksModel) settle(p *lmProb, incs []*lmInc) {
	for _, i := range incs {
		if !i.state.Open() {
			continue
		}
		switch {
		case p.code == problem.FixApplied && (i.awaiting || m.resolveAll):
			i.state, i.awaiting = incident.StateResolved, false
		case p.code != problem.FixApplied && i.awaiting:
			i.state, i.awaiting = incident.StateInProgress, false
		}
	}
}

func (m *linksModel) of(p *lmProb) []*lmInc {
	var out []*lmInc
	for _, i := range m.incs {
		if i.problem == p {
			out = append(out, i)
		}
	}
	return out
}

// expect checks that a command succeeded exactly when the model says it
// should, and that a refusal is typed and wrote nothing at all.
func (m *linksModel) expect(t *rapid.T, ok bool, err error, journal int, probs []*lmProb, incs []*lmInc, before []any) bool {
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
	if n := m.f.journalLen(); n != journal {
		t.Fatalf("a refused command journaled %d events", n-journal)
	}
	if after := m.snapshot(t, probs, incs); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused command changed a record:\n before %+v\n after  %+v", before, after)
	}
	return false
}

func (m *linksModel) snapshot(t *rapid.T, probs []*lmProb, incs []*lmInc) []any {
	var out []any
	for _, p := range probs {
		got, err := m.f.svc.Get(m.f.ctx, p.id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		out = append(out, got)
	}
	for _, i := range incs {
		got, err := m.f.inc.Get(m.f.ctx, i.id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		out = append(out, got)
	}
	return out
}

// testLinksModel drives problems and incidents with random links, problem
// ends and resolutions with known errors (which outlive their problems),
// and checks after every step: states as the model says; no
// incident awaits a problem that ended (in particular none awaits one
// resolved with the fix); a duplicate has no incidents; every problem's
// IncidentCount is the number of incidents naming it; a known error
// counts the incidents resolved with it; a refused command
// writes nothing. With instances, every command goes to one of two
// handles of one store at random.
func testLinksModel(t *testing.T, newStore NewStore, instances storagetest.Instances) {
	type pair struct {
		p *problem.Service
		i *incident.Service
	}
	rapid.Check(t, func(rt *rapid.T) {
		resolveAll := rapid.Bool().Draw(rt, "resolve all")
		var opts []problem.Option
		if resolveAll {
			opts = append(opts, problem.WithResolveAllLinked())
		}
		var f *linkFixture
		var svcs []pair
		if instances == nil {
			f = setupLinks(t, newStore, nil, opts...)
		} else {
			a, b := instances(t)
			f = linkFixtureOn(t, a, nil, opts...)
			other := linkFixtureOn(t, b, nil, opts...)
			other.svc, other.inc = withClock(t, b, f.clock, opts)
			svcs = []pair{{f.svc, f.inc}, {other.svc, other.inc}}
		}
		f.t = rt
		m := &linksModel{f: f, resolveAll: resolveAll}
		for range rapid.IntRange(2, 3).Draw(rt, "problems") {
			p := f.open("relay")
			_, err := f.svc.Assign(f.ctx, analyst, p.ID, "problem-mgmt", "ana")
			require.NoError(rt, err)
			_, err = f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{CauseNotes: ptr("a leak"), FixNotes: ptr(fixText)})
			require.NoError(rt, err)
			lp := &lmProb{id: p.ID, state: problem.StateNew}
			m.probs = append(m.probs, lp)
			if rapid.Bool().Draw(rt, "known error") {
				ke, err := f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{})
				require.NoError(rt, err)
				lp.ke = &lmKE{id: ke.ID, origin: lp}
				m.kes = append(m.kes, lp.ke)
			}
		}
		for range rapid.IntRange(2, 4).Draw(rt, "incidents") {
			i := f.openIncident("mail down")
			m.incs = append(m.incs, &lmInc{id: i.ID, state: incident.StateNew})
		}
		pickP := func(t *rapid.T, label string) *lmProb { return rapid.SampledFrom(m.probs).Draw(t, label) }
		pickI := func(t *rapid.T) *lmInc { return rapid.SampledFrom(m.incs).Draw(t, "incident") }
		// run runs a problem command and checks it against the model.
		run := func(t *rapid.T, ok bool, p []*lmProb, i []*lmInc, do func() error) bool {
			before, n := m.snapshot(t, p, i), f.journalLen()
			return m.expect(t, ok, do(), n, p, i, before)
		}
		actions := map[string]func(*rapid.T){
			"": func(t *rapid.T) { m.check(t) },
			"link": func(t *rapid.T) {
				p, i := pickP(t, "problem"), pickI(t)
				ok := p.worked() && i.problem == nil && i.state != incident.StateCanceled
				if run(t, ok, []*lmProb{p}, []*lmInc{i}, func() error {
					_, err := f.svc.LinkIncident(f.ctx, analyst, p.id, i.id)
					return err
				}) {
					i.problem = p
				}
			},
			"unlink": func(t *rapid.T) {
				p, i := pickP(t, "problem"), pickI(t)
				ok := p.state != problem.StateClosed && p.state != problem.StateCanceled && i.problem == p && !i.awaiting
				if run(t, ok, []*lmProb{p}, []*lmInc{i}, func() error {
					_, err := f.svc.UnlinkIncident(f.ctx, analyst, p.id, i.id)
					return err
				}) {
					i.problem = nil
				}
			},
			"hold awaiting": func(t *rapid.T) {
				i := pickI(t)
				ok := i.state.Open() && i.problem != nil && i.problem.worked() && !i.awaiting
				if run(t, ok, nil, []*lmInc{i}, func() error {
					_, err := f.inc.Hold(f.ctx, agent, i.id, incident.AwaitingProblem, "")
					return err
				}) {
					i.state, i.awaiting = incident.StateOnHold, true
				}
			},
			"hold for the vendor": func(t *rapid.T) {
				i := pickI(t)
				ok := i.state.Open() && !(i.state == incident.StateOnHold && !i.awaiting)
				if run(t, ok, nil, []*lmInc{i}, func() error {
					_, err := f.inc.Hold(f.ctx, agent, i.id, incident.AwaitingVendor, "")
					return err
				}) {
					i.state, i.awaiting = incident.StateOnHold, false
				}
			},
			"resolve incident": func(t *rapid.T) {
				i := pickI(t)
				if run(t, i.state.Open(), nil, []*lmInc{i}, func() error {
					_, err := f.inc.Resolve(f.ctx, agent, i.id, "workaround_provided", "restarted")
					return err
				}) {
					i.state, i.awaiting = incident.StateResolved, false
				}
			},
			"cancel incident": func(t *rapid.T) {
				i := pickI(t)
				if run(t, i.state.Open(), nil, []*lmInc{i}, func() error {
					_, err := f.inc.Cancel(f.ctx, agent, i.id, "raised in error")
					return err
				}) {
					i.state, i.awaiting = incident.StateCanceled, false
				}
			},
			"confirm": func(t *rapid.T) {
				p := pickP(t, "problem")
				if p.state != problem.StateNew {
					t.Skip("confirmed already")
				}
				_, err := f.svc.Assess(f.ctx, analyst, p.id)
				require.NoError(t, err)
				_, err = f.svc.Confirm(f.ctx, analyst, p.id)
				require.NoError(t, err)
				p.state = problem.StateRootCauseAnalysis
			},
			"fix": func(t *rapid.T) {
				p := pickP(t, "problem")
				if run(t, p.state == problem.StateRootCauseAnalysis, []*lmProb{p}, nil, func() error {
					_, err := f.svc.Fix(f.ctx, analyst, p.id)
					return err
				}) {
					p.state = problem.StateFixInProgress
				}
			},
			"resolve": func(t *rapid.T) {
				p := pickP(t, "problem")
				if run(t, p.state == problem.StateFixInProgress, []*lmProb{p}, m.of(p), func() error {
					_, err := f.svc.Resolve(f.ctx, analyst, p.id)
					return err
				}) {
					p.state, p.code = problem.StateResolved, problem.FixApplied
					m.settle(p, m.of(p))
				}
			},
			"complete": func(t *rapid.T) {
				p := pickP(t, "problem")
				if run(t, p.state == problem.StateResolved, []*lmProb{p}, nil, func() error {
					_, err := f.svc.Complete(f.ctx, analyst, p.id)
					return err
				}) {
					p.state = problem.StateClosed
				}
			},
			"reanalyze": func(t *rapid.T) {
				p := pickP(t, "problem")
				ok := p.state == problem.StateFixInProgress || p.state == problem.StateResolved
				if run(t, ok, []*lmProb{p}, nil, func() error {
					_, err := f.svc.Reanalyze(f.ctx, analyst, p.id, "the fix did not hold")
					return err
				}) {
					p.state, p.code = problem.StateRootCauseAnalysis, ""
				}
			},
			"accept risk": func(t *rapid.T) {
				p := pickP(t, "problem")
				if run(t, p.state == problem.StateRootCauseAnalysis, []*lmProb{p}, m.of(p), func() error {
					_, err := f.svc.AcceptRisk(f.ctx, analyst, p.id, "too costly")
					return err
				}) {
					p.state, p.code = problem.StateClosed, problem.RiskAccepted
					m.settle(p, m.of(p))
				}
			},
			"cancel": func(t *rapid.T) {
				p := pickP(t, "problem")
				if run(t, p.state.Open(), []*lmProb{p}, m.of(p), func() error {
					_, err := f.svc.Cancel(f.ctx, analyst, p.id, "retired")
					return err
				}) {
					p.state, p.code = problem.StateCanceled, problem.Canceled
					m.settle(p, m.of(p))
				}
			},
			"mark duplicate": func(t *rapid.T) {
				p, s := pickP(t, "duplicate"), pickP(t, "survivor")
				ok := p != s && (p.state == problem.StateNew || p.state == problem.StateAssess ||
					p.state == problem.StateRootCauseAnalysis) &&
					s.code != problem.Duplicate && s.state != problem.StateCanceled && p.duplicates == 0
				moved := m.of(p)
				if run(t, ok, []*lmProb{p, s}, moved, func() error {
					_, err := f.svc.MarkDuplicate(f.ctx, analyst, p.id, s.id)
					return err
				}) {
					p.state, p.code, p.dupOf = problem.StateClosed, problem.Duplicate, s
					s.duplicates++
					if s.ke == nil {
						s.ke = p.ke
					}
					for _, i := range moved {
						i.problem = s
					}
					if !s.worked() {
						m.settle(s, moved)
					}
				}
			},
			"resolve with known error": func(t *rapid.T) {
				if len(m.kes) == 0 {
					t.Skip("no known error")
				}
				ke, i := rapid.SampledFrom(m.kes).Draw(t, "known error"), pickI(t)
				// The incident joins the known error's problem, or its
				// survivor; none when that one was canceled.
				to := ke.origin
				if to.dupOf != nil {
					to = to.dupOf
				}
				if to.state == problem.StateCanceled {
					to = nil
				}
				ok := i.state.Open() && (to == nil || i.problem == nil || i.problem == to)
				probs := []*lmProb{ke.origin}
				if to != nil && to != ke.origin {
					probs = append(probs, to)
				}
				if run(t, ok, probs, []*lmInc{i}, func() error {
					_, err := f.svc.ResolveWithKnownError(f.ctx, agent, i.id, ke.id, "as the known error says")
					return err
				}) {
					i.state, i.awaiting = incident.StateResolved, false
					if to != nil {
						i.problem = to
					}
					ke.incidents++
				}
			},
		}
		storagetest.Spread(actions, svcs, func(s pair) { f.svc, f.inc = s.p, s.i })
		rt.Repeat(actions)
	})
}

// withClock returns a problem and an incident Service on store, on clock.
func withClock(t *testing.T, store storage.Store, c *clock, opts []problem.Option) (*problem.Service, *incident.Service) {
	inc, err := incident.New(store, incident.WithClock(c))
	require.NoError(t, err)
	svc, err := problem.New(store, append([]problem.Option{problem.WithClock(c), problem.WithIncidents(inc)}, opts...)...)
	require.NoError(t, err)
	return svc, inc
}

// check compares every record with the model and checks the invariants.
func (m *linksModel) check(t *rapid.T) {
	f := m.f
	naming := map[itil.ID]int{}
	for _, want := range m.incs {
		got, err := f.inc.Get(f.ctx, want.id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		wantProblem := itil.NilID
		if want.problem != nil {
			wantProblem = want.problem.id
		}
		awaiting := got.State == incident.StateOnHold && got.HoldReason == incident.AwaitingProblem
		if got.ProblemID != wantProblem || got.State != want.state || awaiting != want.awaiting {
			t.Fatalf("%s differs from the model: problem %s state %s hold %q; want problem %s state %s awaiting %v",
				got.Number, got.ProblemID, got.State, got.HoldReason, wantProblem, want.state, want.awaiting)
		}
		if got.ProblemID != itil.NilID {
			naming[got.ProblemID]++
		}
		if awaiting && !want.problem.worked() {
			t.Fatalf("%s awaits a problem that is %s", got.Number, want.problem.state)
		}
	}
	for _, want := range m.probs {
		got, err := f.svc.Get(f.ctx, want.id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if got.State != want.state || got.ResolutionCode != want.code || got.DuplicateCount != want.duplicates {
			t.Fatalf("%s differs from the model: %s %q, want %s %q", got.Number, got.State, got.ResolutionCode, want.state, want.code)
		}
		if got.IncidentCount != naming[got.ID] || got.IncidentCount != len(m.of(want)) {
			t.Fatalf("%s counts %d incidents; %d name it, the model links %d", got.Number, got.IncidentCount, naming[got.ID], len(m.of(want)))
		}
		wantKE := itil.NilID
		if want.ke != nil {
			wantKE = want.ke.id
		}
		if got.KnownErrorID != wantKE {
			t.Fatalf("%s has known error %s, want %s", got.Number, got.KnownErrorID, wantKE)
		}
		if got.ResolutionCode == problem.Duplicate && got.IncidentCount != 0 {
			t.Fatalf("duplicate %s has %d incidents", got.Number, got.IncidentCount)
		}
		listed, err := f.svc.Incidents(f.ctx, got.ID)
		if err != nil || len(listed) != got.IncidentCount {
			t.Fatalf("%s lists %d incidents for a count of %d (%v)", got.Number, len(listed), got.IncidentCount, err)
		}
	}
	for _, want := range m.kes {
		got, err := f.ke().Get(f.ctx, want.id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if got.IncidentCount != want.incidents {
			t.Fatalf("%s counts %d incidents, want %d", got.Number, got.IncidentCount, want.incidents)
		}
	}
}
