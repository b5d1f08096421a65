package incidenttest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// mInc is the model of one incident: what the rules say it should be,
// computed by hand from the commands that succeeded.
type mInc struct {
	id         itil.ID
	state      incident.State
	version    int64
	impact     itil.Impact
	urgency    itil.Urgency
	override   itil.Priority
	hold       incident.HoldReason
	group      string
	assignee   string
	reassigned int
	level      int
	major      bool
	parent     itil.ID
	reopens    int
	resolvedAt time.Time
	// responded: someone other than the caller acted visibly (an agent
	// assigned an engineer, held, resumed, commented or resolved it).
	responded bool
}

func (m *mInc) open() bool {
	return m.state == incident.StateNew || m.state == incident.StateInProgress || m.state == incident.StateOnHold
}

func (m *mInc) priority() itil.Priority {
	if m.override != 0 {
		return m.override
	}
	p, _ := itil.DefaultPriorityMatrix().Priority(m.impact, m.urgency)
	return p
}

type model struct {
	f       *fixture
	incs    []*mInc
	journal int
	// finalSnapshot holds incidents as they were when they became final.
	finals map[itil.ID]*incident.Incident
}

const (
	reopenWindow = 7 * 24 * time.Hour
	autoClose    = 3 * 24 * time.Hour
)

var (
	groups    = []string{"", "desk", "network"}
	assignees = []string{"", "ana", "bo"}
	holds     = []incident.HoldReason{incident.AwaitingCaller, incident.AwaitingChange,
		incident.AwaitingProblem, incident.AwaitingVendor, "awaiting_miracle"}
	codes = []string{"solution_provided", "duplicate", "not_a_code"}
	texts = []string{"", "some words"}
)

func (m *model) pick(t *rapid.T) *mInc {
	if len(m.incs) == 0 {
		t.Skip("no incident yet")
	}
	return rapid.SampledFrom(m.incs).Draw(t, "incident")
}

func (m *model) children(id itil.ID) []*mInc {
	var out []*mInc
	for _, c := range m.incs {
		if c.parent == id {
			out = append(out, c)
		}
	}
	return out
}

// expect runs a command and checks it succeeded exactly when the model says
// it should. On failure nothing may change; the invariant check verifies
// that after every step.
func expect(t *rapid.T, ok bool, err error) bool {
	if ok && err != nil {
		t.Fatalf("the model expected success, got %v", err)
	}
	if !ok {
		if err == nil {
			t.Fatalf("the model expected a refusal, the command succeeded")
		}
		var v *itil.ValidationError
		if !errors.As(err, &v) && !errors.Is(err, itil.ErrInvalidTransition) {
			t.Fatalf("a refusal must be a validation error or an invalid transition, got %v", err)
		}
	}
	return ok
}

// bump records one successful change of an incident.
func (m *model) bump(i *mInc) {
	i.version++
	m.journal++
}

// resolveFamily resolves i and its open children, as Resolve does.
func (m *model) resolveFamily(i *mInc) {
	i.responded = true // the resolver is an agent; children are cascaded
	now := m.f.clock.Now()
	m.resolve(i, now)
	m.bump(i)
	for _, c := range m.children(i.id) {
		if c.open() {
			m.resolve(c, now)
			m.bump(c)
		}
	}
}

func (m *model) resolve(i *mInc, now time.Time) {
	i.state, i.hold, i.resolvedAt = incident.StateResolved, "", now
}

// testModel drives Services with random commands and checks them against
// the model after every step. With instances, two Services run on two
// handles of one store (two application instances) and every command goes
// to one of them at random.
func testModel(t *testing.T, newStore NewStore, instances storagetest.Instances) {
	rapid.Check(t, func(rt *rapid.T) {
		var f *fixture
		var svcs []*incident.Service
		if instances == nil {
			f = setup(t, newStore)
			svcs = []*incident.Service{f.svc}
		} else {
			a, b := instances(t)
			f = setup(t, func(*testing.T) storage.Store { return a })
			other, err := incident.New(b, incident.WithClock(f.clock))
			require.NoError(t, err)
			svcs = []*incident.Service{f.svc, other}
		}
		f.t = rt
		m := &model{f: f, finals: map[itil.ID]*incident.Incident{}}
		// Start from a few incidents so that links and cascades are reachable.
		for range rapid.IntRange(2, 5).Draw(rt, "initial") {
			inc, err := f.svc.Open(f.ctx, agent, basic("initial"))
			if err != nil {
				rt.Fatalf("open: %v", err)
			}
			m.incs = append(m.incs, &mInc{id: inc.ID, state: incident.StateNew, version: 1,
				impact: inc.Impact, urgency: inc.Urgency})
			m.journal++
		}
		actions := map[string]func(*rapid.T){
			"": func(t *rapid.T) { m.check(t) },
			"open": func(t *rapid.T) {
				in := basic(rapid.SampledFrom(texts).Draw(t, "title"))
				in.Impact = itil.Impact(rapid.IntRange(0, 4).Draw(t, "impact"))
				in.Urgency = itil.Urgency(rapid.IntRange(0, 4).Draw(t, "urgency"))
				ok := in.Title != "" && in.Impact >= 1 && in.Impact <= 3 && in.Urgency >= 1 && in.Urgency <= 3
				inc, err := f.svc.Open(f.ctx, agent, in)
				if expect(t, ok, err) {
					m.incs = append(m.incs, &mInc{id: inc.ID, state: incident.StateNew, version: 1,
						impact: in.Impact, urgency: in.Urgency})
					m.journal++
				}
			},
			"assign": func(t *rapid.T) {
				i := m.pick(t)
				g := rapid.SampledFrom(groups).Draw(t, "group")
				a := rapid.SampledFrom(assignees).Draw(t, "assignee")
				_, err := f.svc.Assign(f.ctx, agent, i.id, g, a)
				if expect(t, i.open() && g != "" && !(g == i.group && a == i.assignee), err) {
					if i.group != "" && g != i.group {
						i.reassigned++
					}
					i.group, i.assignee = g, a
					if a != "" && i.state == incident.StateNew {
						i.state = incident.StateInProgress
					}
					if a != "" {
						i.responded = true
					}
					m.bump(i)
				}
			},
			"escalate": func(t *rapid.T) {
				i := m.pick(t)
				level := rapid.IntRange(-1, 4).Draw(t, "level")
				reason := rapid.SampledFrom(texts).Draw(t, "reason")
				_, err := f.svc.Escalate(f.ctx, agent, i.id, level, reason)
				if expect(t, i.open() && level >= 0 && level <= 3 && level != i.level && reason != "", err) {
					i.level = level
					m.bump(i)
				}
			},
			"hold": func(t *rapid.T) {
				i := m.pick(t)
				r := rapid.SampledFrom(holds).Draw(t, "reason")
				c := rapid.SampledFrom(texts).Draw(t, "comment")
				ok := i.open() && !(i.state == incident.StateOnHold && r == i.hold) &&
					slices.Contains(holds[:4], r) && (r != incident.AwaitingCaller || c != "") &&
					r != incident.AwaitingProblem && r != incident.AwaitingChange // no incident of the model awaits a problem or change
				_, err := f.svc.Hold(f.ctx, agent, i.id, r, c)
				if expect(t, ok, err) {
					i.state, i.hold, i.responded = incident.StateOnHold, r, true
					m.bump(i)
					if c != "" {
						m.journal++ // the comment is a note of its own
					}
				}
			},
			"resume": func(t *rapid.T) {
				i := m.pick(t)
				_, err := f.svc.Resume(f.ctx, agent, i.id)
				if expect(t, i.state == incident.StateOnHold, err) {
					i.state, i.hold, i.responded = incident.StateInProgress, "", true
					m.bump(i)
				}
			},
			"comment": func(t *rapid.T) {
				i := m.pick(t)
				who := rapid.SampledFrom([]itil.Actor{agent, caller}).Draw(t, "author")
				text := rapid.SampledFrom(texts).Draw(t, "text")
				_, err := f.svc.Comment(f.ctx, who, i.id, text)
				if expect(t, (i.open() || i.state == incident.StateResolved) && text != "", err) {
					m.journal++ // the note, a record of its own
					// The incident itself is written only when the
					// comment changes it.
					switch {
					case who == caller && i.state == incident.StateOnHold && i.hold == incident.AwaitingCaller:
						i.state, i.hold = incident.StateInProgress, ""
						m.bump(i)
					case who != caller && !i.responded:
						i.responded = true
						m.bump(i)
					}
				}
			},
			"resolve": func(t *rapid.T) {
				i := m.pick(t)
				code := rapid.SampledFrom(codes).Draw(t, "code")
				notes := rapid.SampledFrom(texts).Draw(t, "notes")
				_, err := f.svc.Resolve(f.ctx, agent, i.id, code, notes)
				if expect(t, i.open() && code != "not_a_code" && notes != "", err) {
					m.resolveFamily(i)
				}
			},
			// Parents are rare in random sequences; make their resolution common.
			"resolve parent": func(t *rapid.T) {
				var parents []*mInc
				for _, i := range m.incs {
					if len(m.children(i.id)) > 0 && i.open() {
						parents = append(parents, i)
					}
				}
				if len(parents) == 0 {
					t.Skip("no open parent")
				}
				i := rapid.SampledFrom(parents).Draw(t, "parent")
				_, err := f.svc.Resolve(f.ctx, agent, i.id, "duplicate", "fixed at the source")
				expect(t, true, err)
				m.resolveFamily(i)
			},
			"close": func(t *rapid.T) {
				i := m.pick(t)
				_, err := f.svc.Close(f.ctx, agent, i.id)
				if expect(t, i.state == incident.StateResolved, err) {
					m.close(i)
				}
			},
			"reopen": func(t *rapid.T) {
				i := m.pick(t)
				reason := rapid.SampledFrom(texts).Draw(t, "reason")
				ok := i.state == incident.StateResolved && reason != "" &&
					f.clock.Now().Sub(i.resolvedAt) <= reopenWindow
				if p := m.byID(i.parent); p != nil && (p.state == incident.StateResolved || p.state == incident.StateClosed) {
					ok = false
				}
				_, err := f.svc.Reopen(f.ctx, caller, i.id, reason)
				if expect(t, ok, err) {
					i.state, i.resolvedAt = incident.StateInProgress, time.Time{}
					i.reopens++
					m.bump(i)
				}
			},
			"cancel": func(t *rapid.T) {
				i := m.pick(t)
				reason := rapid.SampledFrom(texts).Draw(t, "reason")
				ok := i.open() && reason != ""
				for _, c := range m.children(i.id) {
					if c.open() {
						ok = false
					}
				}
				_, err := f.svc.Cancel(f.ctx, agent, i.id, reason)
				if expect(t, ok, err) {
					i.state, i.hold = incident.StateCanceled, ""
					m.bump(i)
				}
			},
			"reclassify": func(t *rapid.T) {
				i := m.pick(t)
				imp := itil.Impact(rapid.IntRange(0, 4).Draw(t, "impact"))
				urg := itil.Urgency(rapid.IntRange(1, 3).Draw(t, "urgency"))
				_, err := f.svc.Update(f.ctx, agent, i.id, incident.Patch{Impact: &imp, Urgency: &urg})
				ok := i.open() && imp >= 1 && imp <= 3 && (imp != i.impact || urg != i.urgency)
				if expect(t, ok, err) {
					i.impact, i.urgency = imp, urg
					m.bump(i)
				}
			},
			"override": func(t *rapid.T) {
				i := m.pick(t)
				p := itil.Priority(rapid.IntRange(0, 6).Draw(t, "priority"))
				reason := rapid.SampledFrom(texts).Draw(t, "reason")
				_, err := f.svc.OverridePriority(f.ctx, agent, i.id, p, reason)
				if expect(t, i.open() && p.Valid() && p != i.override && reason != "", err) {
					i.override = p
					m.bump(i)
				}
			},
			"restore": func(t *rapid.T) {
				i := m.pick(t)
				_, err := f.svc.RestorePriority(f.ctx, agent, i.id)
				if expect(t, i.open() && i.override != 0, err) {
					i.override = 0
					m.bump(i)
				}
			},
			"promote": func(t *rapid.T) {
				i := m.pick(t)
				_, err := f.svc.PromoteMajor(f.ctx, agent, i.id, "big")
				if expect(t, i.open() && !i.major, err) {
					i.major = true
					m.bump(i)
				}
			},
			"link": func(t *rapid.T) { m.link(t, m.pick(t), m.pick(t)) },
			// Random pairs are rarely linkable; draw from the open ones too.
			"link open": func(t *rapid.T) {
				var open []*mInc
				for _, i := range m.incs {
					if i.open() {
						open = append(open, i)
					}
				}
				if len(open) < 2 {
					t.Skip("fewer than two open incidents")
				}
				m.link(t, rapid.SampledFrom(open).Draw(t, "parent"), rapid.SampledFrom(open).Draw(t, "child"))
			},
			"list": func(t *rapid.T) { m.checkList(t) },
			"wait": func(t *rapid.T) {
				f.clock.Advance(time.Duration(rapid.IntRange(1, 100).Draw(t, "hours")) * time.Hour)
			},
			"autoclose": func(t *rapid.T) {
				cutoff := f.clock.Now().Add(-autoClose)
				var due []*mInc
				for _, i := range m.incs {
					if i.state == incident.StateResolved && !i.resolvedAt.After(cutoff) {
						due = append(due, i)
					}
				}
				_, err := f.svc.AutoClose(f.ctx)
				if err != nil {
					t.Fatalf("AutoClose: %v", err)
				}
				for _, i := range due {
					if i.state == incident.StateResolved { // not yet closed through its parent
						m.close(i)
					}
				}
			},
		}
		storagetest.Spread(actions, svcs, func(s *incident.Service) { f.svc = s })
		rt.Repeat(actions)
	})
}

func (m *model) link(t *rapid.T, p, c *mInc) {
	f := m.f
	ok := p != c && p.open() && c.open() && c.parent == itil.NilID &&
		p.parent == itil.NilID && len(m.children(c.id)) == 0
	_, err := f.svc.LinkChild(f.ctx, agent, p.id, c.id)
	if expect(t, ok, err) {
		c.parent = p.id
		m.bump(c)
		m.bump(p) // the parent counts its children
	}
}

// checkList lists with a random filter, page by page, and compares with the
// model filtered by hand, in opening order (ties by ID, so creation order).
func (m *model) checkList(t *rapid.T) {
	f := m.f
	var fl incident.Filter
	keep := []func(*mInc) bool{}
	if rapid.Bool().Draw(t, "by state") {
		sts := rapid.SliceOfNDistinct(rapid.SampledFrom(incident.States()), 1, 3, func(s incident.State) incident.State { return s }).Draw(t, "states")
		fl.States = sts
		keep = append(keep, func(i *mInc) bool { return slices.Contains(sts, i.state) })
	}
	if rapid.Bool().Draw(t, "by group") {
		gs := rapid.SliceOfNDistinct(rapid.SampledFrom(groups[1:]), 1, 2, func(s string) string { return s }).Draw(t, "groups")
		fl.AssignmentGroups = gs
		keep = append(keep, func(i *mInc) bool { return slices.Contains(gs, i.group) })
	}
	if rapid.Bool().Draw(t, "by priority") {
		ps := rapid.SliceOfNDistinct(rapid.SampledFrom([]itil.Priority{1, 2, 3, 4, 5}), 1, 2, func(p itil.Priority) itil.Priority { return p }).Draw(t, "priorities")
		fl.Priorities = ps
		keep = append(keep, func(i *mInc) bool { return slices.Contains(ps, i.priority()) })
	}
	if rapid.Bool().Draw(t, "by major") {
		major := rapid.Bool().Draw(t, "major")
		fl.Major = &major
		keep = append(keep, func(i *mInc) bool { return i.major == major })
	}
	fl.NewestFirst = rapid.Bool().Draw(t, "newest first")
	limit := rapid.IntRange(1, 4).Draw(t, "limit")
	var want []itil.ID
	for _, i := range m.incs {
		ok := true
		for _, k := range keep {
			ok = ok && k(i)
		}
		if ok {
			want = append(want, i.id)
		}
	}
	if fl.NewestFirst {
		slices.Reverse(want)
	}
	var got []itil.ID
	token := ""
	for pages := 0; ; pages++ {
		page, next, err := f.svc.ListPage(f.ctx, fl, limit, token)
		if err != nil {
			t.Fatalf("list %+v: %v", fl, err)
		}
		if len(page) > limit || (next != "" && len(page) != limit) {
			t.Fatalf("page of %d with limit %d and next %q", len(page), limit, next)
		}
		for _, inc := range page {
			got = append(got, inc.ID)
		}
		if next == "" || pages > len(m.incs) {
			break
		}
		token = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("list %+v:\n got  %v\n want %v", fl, got, want)
	}
}

func (m *model) byID(id itil.ID) *mInc {
	for _, i := range m.incs {
		if i.id == id {
			return i
		}
	}
	return nil
}

// close closes i and its children that are not final, as Close does.
func (m *model) close(i *mInc) {
	i.state = incident.StateClosed
	m.bump(i)
	for _, c := range m.children(i.id) {
		if c.state == incident.StateClosed || c.state == incident.StateCanceled {
			continue
		}
		if c.open() {
			m.resolve(c, m.f.clock.Now())
		}
		c.state = incident.StateClosed
		m.bump(c)
	}
}

// check compares every incident with the model and checks the invariants.
func (m *model) check(t *rapid.T) {
	f := m.f
	if got := f.journalLen(); got != m.journal {
		t.Fatalf("journal has %d events, the model %d", got, m.journal)
	}
	for _, want := range m.incs {
		got, err := f.svc.Get(f.ctx, want.id)
		if err != nil {
			t.Fatalf("get %s: %v", want.id, err)
		}
		// The decode cache hands out what was encoded; that is only right
		// if an incident survives a JSON round trip unchanged.
		data, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var back incident.Incident
		if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(&back, got) {
			t.Fatalf("%s does not survive a JSON round trip (%v):\n got  %+v\n back %+v", got.Number, err, got, &back)
		}
		if !slices.Contains(incident.States(), got.State) {
			t.Fatalf("%s: undeclared state %q", got.Number, got.State)
		}
		if got.State != want.state || got.Version != want.version || got.ReopenCount != want.reopens ||
			got.HoldReason != want.hold || got.ParentID != want.parent || got.Major != want.major ||
			got.AssignmentGroup != want.group || got.Assignee != want.assignee ||
			got.ReassignmentCount != want.reassigned || got.EscalationLevel != want.level {
			t.Fatalf("%s differs from the model:\n got  %+v\n want %+v", got.Number, got, want)
		}
		if got.Priority != want.priority() {
			t.Fatalf("%s: priority %s, matrix/override says %s", got.Number, got.Priority, want.priority())
		}
		if (got.Override != nil) != (want.override != 0) {
			t.Fatalf("%s: override %v, model %v", got.Number, got.Override, want.override)
		}
		resolved := got.State == incident.StateResolved || got.State == incident.StateClosed
		if resolved == got.ResolvedAt.IsZero() {
			t.Fatalf("%s: resolved_at %v in state %s", got.Number, got.ResolvedAt, got.State)
		}
		if resolved && !got.ResolvedAt.Equal(want.resolvedAt) && got.State == incident.StateResolved {
			t.Fatalf("%s: resolved_at %v, model %v", got.Number, got.ResolvedAt, want.resolvedAt)
		}
		if got.State.Final() {
			if before, ok := m.finals[got.ID]; ok && !equalIncidents(before, got) {
				t.Fatalf("%s changed after becoming %s", got.Number, got.State)
			}
			m.finals[got.ID] = got
		}
		if got.ParentID != itil.NilID && got.State.Open() {
			if p := m.byID(got.ParentID); p.state == incident.StateResolved || p.state == incident.StateClosed {
				t.Fatalf("%s is %s under resolved parent", got.Number, got.State)
			}
		}
		h, err := f.svc.History(f.ctx, got.ID)
		if err != nil {
			t.Fatalf("history: %v", err)
		}
		own := 0
		for _, e := range h {
			if e.Kind == incident.Kind && e.SubjectID == got.ID {
				own++
			}
		}
		if int64(own) != got.Version {
			t.Fatalf("%s: %d history entries for version %d", got.Number, own, got.Version)
		}
		// Replaying the field changes from creation gives the incident.
		replayed, err := pipeline.Replay[incident.Incident](incident.Kind, got.ID, h, 0)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		want := *got
		// The version and the update time are not journaled per write.
		want.Version, want.UpdatedAt = replayed.Version, replayed.UpdatedAt
		if !reflect.DeepEqual(&want, replayed) {
			t.Fatalf("%s: replayed history differs:\n got  %+v\n want %+v", got.Number, replayed, &want)
		}
	}
}

func equalIncidents(a, b *incident.Incident) bool { return reflect.DeepEqual(a, b) }
