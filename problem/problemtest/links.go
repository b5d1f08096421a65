package problemtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// linkFixture is a fixture whose problem Service links incidents.
type linkFixture struct {
	*fixture
	inc *incident.Service
}

func setupLinks(t *testing.T, newStore NewStore, incOpts []incident.Option, opts ...problem.Option) *linkFixture {
	t.Helper()
	store := newStore(t)
	return linkFixtureOn(t, store, incOpts, opts...)
}

func linkFixtureOn(t *testing.T, store storage.Store, incOpts []incident.Option, opts ...problem.Option) *linkFixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), store: store, clock: newClock()}
	inc, err := incident.New(store, append([]incident.Option{incident.WithClock(f.clock)}, incOpts...)...)
	require.NoError(t, err)
	f.svc, err = problem.New(store, append([]problem.Option{problem.WithClock(f.clock), problem.WithIncidents(inc)}, opts...)...)
	require.NoError(t, err)
	return &linkFixture{f, inc}
}

var (
	caller = itil.Actor{ID: "carol", Name: "Carol Caller"}
	agent  = itil.Actor{ID: "desk", Name: "Dee Desk"}
)

func (f *linkFixture) openIncident(title string) *incident.Incident {
	f.t.Helper()
	i, err := f.inc.Open(f.ctx, agent, incident.NewIncident{Title: title, Caller: caller,
		Channel: incident.Phone, Impact: 2, Urgency: 2})
	require.NoError(f.t, err)
	return i
}

func (f *linkFixture) getIncident(id itil.ID) *incident.Incident {
	f.t.Helper()
	i, err := f.inc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return i
}

func (f *linkFixture) link(p, i itil.ID) *problem.Problem {
	f.t.Helper()
	got, err := f.svc.LinkIncident(f.ctx, analyst, p, i)
	require.NoError(f.t, err)
	return got
}

func (f *linkFixture) notes(id itil.ID, vis itil.Visibility) []string {
	f.t.Helper()
	var out []string
	for n, err := range f.inc.Notes(f.ctx, id, vis) {
		require.NoError(f.t, err)
		out = append(out, n.Text)
	}
	return out
}

// incState is a state a linked incident is brought to before its problem
// ends.
type incState struct {
	name string
	to   func(f *linkFixture, id itil.ID)
	want incident.State
}

var (
	incNew        = incState{"new", func(*linkFixture, itil.ID) {}, incident.StateNew}
	incInProgress = incState{"in progress", func(f *linkFixture, id itil.ID) {
		_, err := f.inc.Assign(f.ctx, agent, id, "desk", "dee")
		require.NoError(f.t, err)
	}, incident.StateInProgress}
	incAwaiting = incState{"on hold awaiting problem", func(f *linkFixture, id itil.ID) {
		_, err := f.inc.Hold(f.ctx, agent, id, incident.AwaitingProblem, "")
		require.NoError(f.t, err)
	}, incident.StateOnHold}
	incVendor = incState{"on hold awaiting vendor", func(f *linkFixture, id itil.ID) {
		_, err := f.inc.Hold(f.ctx, agent, id, incident.AwaitingVendor, "")
		require.NoError(f.t, err)
	}, incident.StateOnHold}
	incResolved = incState{"resolved", func(f *linkFixture, id itil.ID) {
		_, err := f.inc.Resolve(f.ctx, agent, id, "workaround_provided", "restarted the relay")
		require.NoError(f.t, err)
	}, incident.StateResolved}
	incClosed = incState{"closed", func(f *linkFixture, id itil.ID) {
		incResolved.to(f, id)
		_, err := f.inc.Close(f.ctx, agent, id)
		require.NoError(f.t, err)
	}, incident.StateClosed}
	incCanceled = incState{"canceled", func(f *linkFixture, id itil.ID) {
		_, err := f.inc.Cancel(f.ctx, agent, id, "raised in error")
		require.NoError(f.t, err)
	}, incident.StateCanceled}
	incStates = []incState{incNew, incInProgress, incAwaiting, incVendor, incResolved, incClosed, incCanceled}
)

const fixText = "relay upgraded to 2.4"

// testLinkCascade is the textbook table: a problem with one linked
// incident in each state ends (resolved with the fix, with every linked
// incident resolved, risk accepted, marked a duplicate), and each incident
// ends as ServiceNow's rules say.
func testLinkCascade(t *testing.T, newStore NewStore) {
	type outcome struct {
		state     incident.State
		code      string // resolution code, when resolved by the problem
		workNotes int    // work notes the problem's end added
	}
	resolvedBy := func() outcome { return outcome{incident.StateResolved, problem.ResolvedByProblem, 0} }
	noted := func(s incident.State) outcome { return outcome{s, "", 1} }
	same := func(s incident.State) outcome { return outcome{s, "", 0} }
	ends := []struct {
		name  string
		opts  []problem.Option
		end   func(f *linkFixture, p itil.ID) (*problem.Problem, error)
		event string
		want  map[string]outcome
	}{
		{"resolve: fix applied", nil, func(f *linkFixture, p itil.ID) (*problem.Problem, error) {
			return f.svc.Resolve(f.ctx, analyst, p)
		}, problem.EventResolved, map[string]outcome{
			"new": noted(incident.StateNew), "in progress": noted(incident.StateInProgress),
			"on hold awaiting problem": resolvedBy(), "on hold awaiting vendor": noted(incident.StateOnHold),
			"resolved": same(incident.StateResolved), "closed": same(incident.StateClosed), "canceled": same(incident.StateCanceled),
		}},
		{"resolve: every open linked incident", []problem.Option{problem.WithResolveAllLinked()}, func(f *linkFixture, p itil.ID) (*problem.Problem, error) {
			return f.svc.Resolve(f.ctx, analyst, p)
		}, problem.EventResolved, map[string]outcome{
			"new": resolvedBy(), "in progress": resolvedBy(),
			"on hold awaiting problem": resolvedBy(), "on hold awaiting vendor": resolvedBy(),
			"resolved": same(incident.StateResolved), "closed": same(incident.StateClosed), "canceled": same(incident.StateCanceled),
		}},
		{"accept risk", nil, func(f *linkFixture, p itil.ID) (*problem.Problem, error) {
			_, err := f.svc.Reanalyze(f.ctx, analyst, p, "the fix costs more than the incidents")
			require.NoError(f.t, err)
			return f.svc.AcceptRisk(f.ctx, analyst, p, "the fix costs more than the incidents")
		}, problem.EventRiskAccepted, map[string]outcome{
			"new": noted(incident.StateNew), "in progress": noted(incident.StateInProgress),
			"on hold awaiting problem": noted(incident.StateInProgress), "on hold awaiting vendor": noted(incident.StateOnHold),
			"resolved": same(incident.StateResolved), "closed": same(incident.StateClosed), "canceled": same(incident.StateCanceled),
		}},
		{"cancel", nil, func(f *linkFixture, p itil.ID) (*problem.Problem, error) {
			return f.svc.Cancel(f.ctx, analyst, p, "the relay is being retired")
		}, problem.EventCanceled, map[string]outcome{
			"new": noted(incident.StateNew), "in progress": noted(incident.StateInProgress),
			"on hold awaiting problem": noted(incident.StateInProgress), "on hold awaiting vendor": noted(incident.StateOnHold),
			"resolved": same(incident.StateResolved), "closed": same(incident.StateClosed), "canceled": same(incident.StateCanceled),
		}},
	}
	for _, end := range ends {
		t.Run(end.name, func(t *testing.T) {
			f := setupLinks(t, newStore, nil, end.opts...)
			p := f.toFix("relay leaks memory")
			_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{FixNotes: ptr(fixText)})
			require.NoError(t, err)
			ids := map[string]itil.ID{}
			for _, st := range incStates {
				i := f.openIncident("mail down: " + st.name)
				f.link(p.ID, i.ID)
				st.to(f, i.ID)
				require.Equal(t, st.want, f.getIncident(i.ID).State, st.name)
				ids[st.name] = i.ID
			}
			done, err := end.end(f, p.ID)
			require.NoError(t, err)
			assert.Equal(t, len(incStates), done.IncidentCount)
			for _, st := range incStates {
				want := end.want[st.name]
				got := f.getIncident(ids[st.name])
				assert.Equal(t, want.state, got.State, st.name)
				assert.Equal(t, p.ID, got.ProblemID, st.name)
				if want.code != "" {
					assert.Equal(t, want.code, got.ResolutionCode, st.name)
					assert.Equal(t, fixText, got.ResolutionNotes, st.name)
				}
				assert.Len(t, f.notes(got.ID, itil.WorkNote), want.workNotes, st.name)
				assert.False(t, got.State == incident.StateOnHold && got.HoldReason == incident.AwaitingProblem,
					"%s: still awaiting a problem that ended", st.name)
			}
		})
	}
}

// testLinks covers linking and unlinking: the journal on both sides, the
// hold rule, and every refusal, with nothing written.
func testLinks(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	p := f.open("printers drop jobs")
	q := f.open("scanner timeouts")
	a, b := f.openIncident("print job lost"), f.openIncident("print job lost again")

	// Awaiting a problem names the problem: an unlinked incident cannot.
	_, err := f.inc.Hold(f.ctx, agent, a.ID, incident.AwaitingProblem, "")
	testkit.RequireInvalid(t, err, "reason")

	got := f.link(p.ID, a.ID)
	assert.Equal(t, 1, got.IncidentCount)
	got = f.link(p.ID, b.ID)
	assert.Equal(t, 2, got.IncidentCount)
	assert.Equal(t, p.ID, f.getIncident(a.ID).ProblemID)
	linked, err := f.svc.Incidents(f.ctx, p.ID)
	require.NoError(t, err)
	require.Len(t, linked, 2)
	assert.Equal(t, []itil.ID{a.ID, b.ID}, []itil.ID{linked[0].ID, linked[1].ID})
	list, err := collectIncidents(f, incident.Filter{ProblemID: p.ID})
	require.NoError(t, err)
	assert.Len(t, list, 2)

	// The journal shows the link on both records, each naming the other.
	ph, err := f.svc.History(f.ctx, p.ID)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(ph, func(e itil.HistoryEntry) bool {
		return e.Type == problem.EventIncidentLinked && e.SubjectID == p.ID && slices.Contains(e.Refs, a.ID)
	}), "problem's half")
	assert.True(t, slices.ContainsFunc(ph, func(e itil.HistoryEntry) bool {
		return e.Type == incident.EventProblemLinked && e.SubjectID == a.ID && slices.Contains(e.Refs, p.ID)
	}), "incident's half, in the problem's history through Refs")
	ih, err := f.inc.History(f.ctx, a.ID)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(ih, func(e itil.HistoryEntry) bool {
		return e.Type == problem.EventIncidentLinked && slices.Contains(e.Refs, a.ID)
	}), "the problem's half, in the incident's history through Refs")

	_, err = f.inc.Hold(f.ctx, agent, a.ID, incident.AwaitingProblem, "")
	require.NoError(t, err)

	n := f.journalLen()
	refused := []struct {
		name  string
		do    func() error
		check func(t *testing.T, err error)
	}{
		{"another problem's incident", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, q.ID, a.ID); return err },
			func(t *testing.T, err error) {
				testkit.RequireFields(t, err, "incident_id")
				require.Equal(t, "invalid input: incident_id: incident "+a.Number+" belongs to another problem; an incident belongs to at most one", err.Error())
			}},
		{"linked twice", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, p.ID, a.ID); return err },
			func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "incident_id") }},
		{"unlink from the wrong problem", func() error { _, err := f.svc.UnlinkIncident(f.ctx, analyst, q.ID, b.ID); return err },
			func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "incident_id") }},
		{"unlink an incident awaiting the problem", func() error { _, err := f.svc.UnlinkIncident(f.ctx, analyst, p.ID, a.ID); return err },
			func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrInvalidTransition) }},
		{"unknown incident", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, p.ID, itil.NewID()); return err },
			func(t *testing.T, err error) {
				require.ErrorIs(t, err, itil.ErrNotFound)
				require.ErrorContains(t, err, "incident_id")
			}},
		{"no incident", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, p.ID, itil.NilID); return err },
			func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "incident_id") }},
		{"unknown problem", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, itil.NewID(), b.ID); return err },
			func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrNotFound) }},
		{"an incident ID as the problem", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, b.ID, a.ID); return err },
			func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrNotFound) }},
		{"a problem ID as the incident", func() error { _, err := f.svc.LinkIncident(f.ctx, analyst, p.ID, q.ID); return err },
			func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrNotFound) }},
		{"invalid actor", func() error { _, err := f.svc.LinkIncident(f.ctx, itil.Actor{}, q.ID, b.ID); return err },
			func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "actor.id") }},
		{"communicate no workaround", func() error { _, err := f.svc.CommunicateWorkaround(f.ctx, analyst, p.ID); return err },
			func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "workaround") }},
		{"communicate no fix", func() error { _, err := f.svc.CommunicateFix(f.ctx, analyst, p.ID); return err },
			func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "fix_notes") }},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			r.check(t, r.do())
			assert.Equal(t, n, f.journalLen(), "nothing written")
		})
	}
	assert.Equal(t, 2, f.get(p.ID).IncidentCount)
	assert.Equal(t, 0, f.get(q.ID).IncidentCount)

	// A canceled incident is not linked; a resolved problem takes no new
	// incident (reanalyze it: the fix did not hold); a closed one cannot
	// be unlinked from.
	c := f.openIncident("raised in error")
	incCanceled.to(f, c.ID)
	_, err = f.svc.LinkIncident(f.ctx, analyst, q.ID, c.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	r := f.toFix("fixed one")
	_, err = f.svc.Update(f.ctx, analyst, r.ID, problem.Patch{FixNotes: ptr(fixText)})
	require.NoError(t, err)
	_, err = f.svc.Resolve(f.ctx, analyst, r.ID)
	require.NoError(t, err)
	_, err = f.svc.LinkIncident(f.ctx, analyst, r.ID, b.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// Unlink: the count falls, the incident is free for another problem.
	got, err = f.svc.UnlinkIncident(f.ctx, analyst, p.ID, b.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.IncidentCount)
	assert.Equal(t, itil.NilID, f.getIncident(b.ID).ProblemID)
	ih, err = f.inc.History(f.ctx, b.ID)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(ih, func(e itil.HistoryEntry) bool {
		return e.Type == incident.EventProblemUnlinked && e.SubjectID == b.ID && slices.Contains(e.Refs, p.ID)
	}))
	f.link(q.ID, b.ID)

	// Without the incident Service, nothing about incidents can be done.
	bare, err := problem.New(f.store, problem.WithClock(f.clock))
	require.NoError(t, err)
	_, err = bare.LinkIncident(f.ctx, analyst, p.ID, b.ID)
	require.ErrorIs(t, err, problem.ErrNoIncidents)
	_, err = bare.CommunicateWorkaround(f.ctx, analyst, p.ID)
	require.ErrorIs(t, err, problem.ErrNoIncidents)
	_, err = bare.Cancel(f.ctx, analyst, q.ID, "wrong")
	require.ErrorIs(t, err, problem.ErrNoIncidents, "canceling tells the linked incidents")
	_, err = bare.Cancel(f.ctx, analyst, f.open("no incidents").ID, "wrong")
	require.NoError(t, err, "a problem's end that touches no incident needs no incident Service")
	_, err = problem.New(f.store, problem.WithIncidents(nil))
	testkit.RequireInvalid(t, err, "incidents")
	narrow, err := incident.New(f.store, incident.WithResolutionCodes("solution_provided", problem.ResolvedByProblem))
	require.NoError(t, err)
	_, err = problem.New(f.store, problem.WithIncidents(narrow))
	testkit.RequireFields(t, err, "incidents")
	require.ErrorContains(t, err, incident.KnownErrorCode)
}

func collectIncidents(f *linkFixture, flt incident.Filter) ([]*incident.Incident, error) {
	var out []*incident.Incident
	for i, err := range f.inc.List(f.ctx, flt) {
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// testCommunicate: the workaround and the fix reach the incidents still
// open, as comments, and the problem notes whom it told.
func testCommunicate(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	p := f.toFix("VPN drops every hour")
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Workaround: ptr("reconnect with the backup profile"), FixNotes: ptr(fixText)})
	require.NoError(t, err)
	ids := map[string]itil.ID{}
	for _, st := range incStates {
		i := f.openIncident("vpn: " + st.name)
		f.link(p.ID, i.ID)
		st.to(f, i.ID)
		ids[st.name] = i.ID
	}
	before := map[itil.ID]int{}
	for _, id := range ids {
		before[id] = len(f.notes(id, itil.Comment))
	}
	n, err := f.svc.CommunicateWorkaround(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 4, n, "new, in progress and both holds")
	n, err = f.svc.CommunicateFix(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	for _, st := range incStates {
		got := f.notes(ids[st.name], itil.Comment)[before[ids[st.name]]:]
		if st.want.Open() {
			require.Len(t, got, 2, st.name)
			assert.Contains(t, got[0], "reconnect with the backup profile")
			assert.Contains(t, got[1], fixText)
		} else {
			assert.Empty(t, got, st.name)
		}
	}
	var told []string
	for n, err := range f.svc.Notes(f.ctx, p.ID, itil.WorkNote) {
		require.NoError(t, err)
		told = append(told, n.Text)
	}
	require.Len(t, told, 2)
	assert.Contains(t, told[0], "workaround communicated to 4 incidents")
}

// testDuplicateMovesIncidents: MarkDuplicate moves the duplicate's
// incidents to the survivor, holds and all, in its transaction.
func testDuplicateMovesIncidents(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	survivor := f.open("disk full on the mail store")
	dup := f.open("mail bounces")
	own := f.openIncident("mailbox full")
	f.link(survivor.ID, own.ID)
	var moved []itil.ID
	for i := range 3 {
		inc := f.openIncident(fmt.Sprintf("bounce %d", i))
		f.link(dup.ID, inc.ID)
		moved = append(moved, inc.ID)
	}
	incAwaiting.to(f, moved[0])
	d, err := f.svc.MarkDuplicate(f.ctx, analyst, dup.ID, survivor.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, d.IncidentCount, "a duplicate has no incidents")
	assert.Equal(t, 4, f.get(survivor.ID).IncidentCount)
	for _, id := range moved {
		got := f.getIncident(id)
		assert.Equal(t, survivor.ID, got.ProblemID)
	}
	assert.Equal(t, incident.AwaitingProblem, f.getIncident(moved[0]).HoldReason, "still awaiting: now the survivor")
	left, err := f.svc.Incidents(f.ctx, dup.ID)
	require.NoError(t, err)
	assert.Empty(t, left)
	ih, err := f.inc.History(f.ctx, moved[1])
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(ih, func(e itil.HistoryEntry) bool {
		return e.Type == incident.EventProblemLinked && e.SubjectID == moved[1] &&
			slices.Contains(e.Refs, survivor.ID) && slices.Contains(e.Refs, dup.ID)
	}), "the move, on the incident")
	sh, err := f.svc.History(f.ctx, survivor.ID)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(sh, func(e itil.HistoryEntry) bool {
		return e.Type == incident.EventProblemLinked && e.SubjectID == moved[1]
	}), "the move, in the survivor's history through the incident's Refs")
}

// testCascadeAtomic: when one incident write of a cascade fails, nothing
// of the command is stored: not the problem, not the other incidents,
// not a note.
func testCascadeAtomic(t *testing.T, newStore NewStore) {
	var stubborn itil.ID
	deny := func(_ context.Context, _ itil.Actor, command string, i *incident.Incident) error {
		if i.ID == stubborn && (command == incident.CommandResolve || command == incident.CommandWorkNote || command == incident.CommandRelease ||
			command == incident.CommandComment || command == incident.CommandSetProblem) {
			return errors.New("this incident is frozen for an audit")
		}
		return nil
	}
	f := setupLinks(t, newStore, []incident.Option{incident.WithAuthorizer(deny)})
	p := f.toFix("batch job fails at month end")
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Workaround: ptr("rerun by hand"), FixNotes: ptr(fixText)})
	require.NoError(t, err)
	var ids []itil.ID
	for i := range 4 {
		inc := f.openIncident(fmt.Sprintf("month end %d", i))
		f.link(p.ID, inc.ID)
		incAwaiting.to(f, inc.ID)
		ids = append(ids, inc.ID)
	}
	survivor := f.open("the survivor")
	stubborn = ids[2]
	p = f.get(p.ID)
	n := f.journalLen()
	for name, do := range map[string]func() error{
		"resolve":     func() error { _, err := f.svc.Resolve(f.ctx, analyst, p.ID); return err },
		"communicate": func() error { _, err := f.svc.CommunicateWorkaround(f.ctx, analyst, p.ID); return err },
	} {
		err := do()
		require.ErrorIs(t, err, itil.ErrForbidden, name)
		assert.Equal(t, n, f.journalLen(), "%s: nothing written", name)
		assert.Equal(t, p, f.get(p.ID), name)
		for _, id := range ids {
			got := f.getIncident(id)
			assert.Equal(t, incident.StateOnHold, got.State, name)
			assert.Empty(t, f.notes(id, itil.Comment), name)
		}
	}
	// Marking a duplicate whose incident cannot move stores nothing either.
	r := f.open("duplicate with a frozen incident")
	stubborn = itil.NilID
	frozen := f.openIncident("frozen")
	f.link(r.ID, frozen.ID)
	stubborn = frozen.ID
	n = f.journalLen()
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, r.ID, survivor.ID)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, n, f.journalLen(), "nothing written")
	assert.Equal(t, problem.StateNew, f.get(r.ID).State)
	assert.Equal(t, 0, f.get(survivor.ID).IncidentCount)
	assert.Equal(t, r.ID, f.getIncident(frozen.ID).ProblemID)

	// Resolved with the stubborn incident thawed, everything cascades.
	stubborn = itil.NilID
	_, err = f.svc.Resolve(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	for _, id := range ids {
		assert.Equal(t, incident.StateResolved, f.getIncident(id).State)
	}
}

// runLinks runs the tests of problems and their incidents.
func runLinks(t *testing.T, newStore NewStore, instances storagetest.Instances) {
	t.Run("Links", func(t *testing.T) { testLinks(t, newStore) })
	t.Run("Cascade", func(t *testing.T) { testLinkCascade(t, newStore) })
	t.Run("Communicate", func(t *testing.T) { testCommunicate(t, newStore) })
	t.Run("DuplicateMovesIncidents", func(t *testing.T) { testDuplicateMovesIncidents(t, newStore) })
	t.Run("CascadeAtomic", func(t *testing.T) { testCascadeAtomic(t, newStore) })
	t.Run("AwaitEnded", func(t *testing.T) { testAwaitEnded(t, newStore) })             // links_end.go
	t.Run("AwaitMissing", func(t *testing.T) { testAwaitMissing(t, newStore) })         // links_end.go
	t.Run("DuplicateOfEnded", func(t *testing.T) { testDuplicateOfEnded(t, newStore) }) // links_end.go
	t.Run("DuplicateMovesCanceled", func(t *testing.T) { testDuplicateMovesCanceled(t, newStore) })
	t.Run("ResolveWithKnownError", func(t *testing.T) { testResolveWithKnownError(t, newStore) })       // links_knownerror.go
	t.Run("KnownErrorOfEndedProblem", func(t *testing.T) { testKnownErrorOfEndedProblem(t, newStore) }) // links_knownerror.go
	t.Run("KnownErrorChildren", func(t *testing.T) { testKnownErrorChildren(t, newStore) })             // links_knownerror.go
	t.Run("TwoInstances", func(t *testing.T) { testLinkTwoInstances(t, instances) })
}

// testLinkTwoInstances: two instances link one incident to two problems at
// once, many times over: exactly one link wins each time, and the counts
// agree with the incidents. Then a link races the problem's resolution:
// the incident is either linked before (and resolved with the problem)
// or refused.
func testLinkTwoInstances(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	fa := linkFixtureOn(t, a, nil)
	fb := linkFixtureOn(t, b, nil)
	fb.clock = fa.clock
	p, q := fa.open("first"), fa.open("second")
	const rounds = 8
	for range rounds {
		inc := fa.openIncident("contested")
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() { _, errs[0] = fa.svc.LinkIncident(fa.ctx, analyst, p.ID, inc.ID) })
		wg.Go(func() { _, errs[1] = fb.svc.LinkIncident(fb.ctx, analyst, q.ID, inc.ID) })
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			var v *itil.ValidationError
			if !errors.As(err, &v) && !errors.Is(err, itil.ErrConflict) {
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, 1, won, "%v", errs)
		got := fb.getIncident(inc.ID)
		assert.True(t, got.ProblemID == p.ID || got.ProblemID == q.ID)
	}
	np, nq := fb.get(p.ID).IncidentCount, fb.get(q.ID).IncidentCount
	assert.Equal(t, rounds, np+nq)
	lp, err := fb.svc.Incidents(fb.ctx, p.ID)
	require.NoError(t, err)
	assert.Len(t, lp, np)

	r := fa.toFix("racing the fix")
	_, err = fa.svc.Update(fa.ctx, analyst, r.ID, problem.Patch{FixNotes: ptr(fixText)})
	require.NoError(t, err)
	for range rounds / 2 {
		inc := fa.openIncident("late")
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() {
			_, errs[0] = fa.svc.LinkIncident(fa.ctx, analyst, r.ID, inc.ID)
			if errs[0] == nil {
				_, errs[0] = fa.inc.Hold(fa.ctx, agent, inc.ID, incident.AwaitingProblem, "")
			}
		})
		wg.Go(func() {
			_, errs[1] = fb.svc.Resolve(fb.ctx, analyst, r.ID)
		})
		wg.Wait()
		if errs[1] == nil {
			_, err := fa.svc.Reanalyze(fa.ctx, analyst, r.ID, "again")
			require.NoError(t, err)
			_, err = fa.svc.Fix(fa.ctx, analyst, r.ID)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, len(mustIncidents(t, fb, r.ID)), fb.get(r.ID).IncidentCount)
}

func mustIncidents(t *testing.T, f *linkFixture, id itil.ID) []*incident.Incident {
	t.Helper()
	out, err := f.svc.Incidents(f.ctx, id)
	require.NoError(t, err)
	return out
}
