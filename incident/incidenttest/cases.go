package incidenttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
)

func testOpen(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	a := f.open("Email is down")
	b := f.open("VPN drops")
	assert.Equal(t, "INC0001001", a.Number)
	assert.Equal(t, "INC0001002", b.Number)
	assert.Equal(t, incident.StateNew, a.State)
	assert.Equal(t, itil.P3, a.Priority)
	assert.Equal(t, int64(1), a.Version)
	assert.Equal(t, f.clock.Now(), a.OpenedAt)
	assert.Equal(t, agent, a.OpenedBy)
	got, err := f.svc.GetByNumber(f.ctx, "INC0001002")
	require.NoError(t, err)
	assert.Equal(t, b.ID, got.ID)
	_, err = f.svc.GetByNumber(f.ctx, "INC0009999")
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.svc.Get(f.ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)

	t.Run("BadInputListsEveryField", func(t *testing.T) {
		before := f.journalLen()
		_, err := f.svc.Open(f.ctx, agent, incident.NewIncident{
			Title: strings.Repeat("x", 161), Channel: "fax", Impact: 4, Subcategory: "wifi",
		})
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v)
		for _, field := range []string{"title", "caller.id", "channel", "impact", "urgency", "subcategory"} {
			assert.True(t, v.Has(field), "missing %s in %v", field, v)
		}
		_, err = f.svc.Open(f.ctx, itil.Actor{}, basic("no actor"))
		testkit.RequireInvalid(t, err, "actor.id")
		assert.Equal(t, before, f.journalLen(), "a rejected open writes nothing")
		// A rejected open does not burn a reference number's record.
		c := f.open("next")
		assert.Equal(t, "INC0001003", c.Number)
	})
}

func testLifecycle(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("Printer jammed")
	steps := []struct {
		name string
		do   func() (*incident.Incident, error)
		want incident.State
	}{
		{"assign", func() (*incident.Incident, error) { return f.svc.Assign(f.ctx, agent, inc.ID, "desk", "alex") }, incident.StateInProgress},
		{"hold", func() (*incident.Incident, error) {
			return f.svc.Hold(f.ctx, agent, inc.ID, incident.AwaitingVendor, "")
		}, incident.StateOnHold},
		{"resume", func() (*incident.Incident, error) { return f.svc.Resume(f.ctx, agent, inc.ID) }, incident.StateInProgress},
		{"resolve", func() (*incident.Incident, error) {
			return f.svc.Resolve(f.ctx, agent, inc.ID, "solution_provided", "cleared the jam")
		}, incident.StateResolved},
		{"close", func() (*incident.Incident, error) { return f.svc.Close(f.ctx, agent, inc.ID) }, incident.StateClosed},
	}
	for i, s := range steps {
		got, err := s.do()
		require.NoError(t, err, s.name)
		assert.Equal(t, s.want, got.State, s.name)
		assert.Equal(t, int64(i+2), got.Version, s.name)
		assert.Equal(t, got, f.get(inc.ID), "%s: returned incident equals stored", s.name)
	}
	final := f.get(inc.ID)
	assert.False(t, final.FirstRespondedAt.IsZero())
	assert.False(t, final.ResolvedAt.IsZero())
	assert.False(t, final.ClosedAt.IsZero())
	assert.Equal(t, "solution_provided", final.ResolutionCode)

	// Closed is final: every command is refused and changes nothing.
	before := f.journalLen()
	for name, do := range map[string]func() error{
		"reopen":  func() error { _, err := f.svc.Reopen(f.ctx, agent, inc.ID, "again"); return err },
		"cancel":  func() error { _, err := f.svc.Cancel(f.ctx, agent, inc.ID, "oops"); return err },
		"comment": func() error { _, err := f.svc.Comment(f.ctx, agent, inc.ID, "hello"); return err },
		"assign":  func() error { _, err := f.svc.Assign(f.ctx, agent, inc.ID, "other", ""); return err },
		"resolve": func() error { _, err := f.svc.Resolve(f.ctx, agent, inc.ID, "duplicate", "x"); return err },
		"update": func() error {
			title := "new"
			_, err := f.svc.Update(f.ctx, agent, inc.ID, incident.Patch{Title: &title})
			return err
		},
	} {
		assert.ErrorIs(t, do(), itil.ErrInvalidTransition, name)
	}
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, final, f.get(inc.ID))
}

func testGuards(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	cases := []struct {
		name  string
		state func(id itil.ID)
		do    func(id itil.ID) error
		field string // expected *ValidationError field, or
		is    error  // expected sentinel
	}{
		{name: "resolve needs a known code", do: func(id itil.ID) error {
			_, err := f.svc.Resolve(f.ctx, agent, id, "magic", "notes")
			return err
		}, field: "resolution_code"},
		{name: "resolve needs notes", do: func(id itil.ID) error {
			_, err := f.svc.Resolve(f.ctx, agent, id, "duplicate", "")
			return err
		}, field: "resolution_notes"},
		{name: "hold needs a known reason", do: func(id itil.ID) error {
			_, err := f.svc.Hold(f.ctx, agent, id, "awaiting_godot", "")
			return err
		}, field: "reason"},
		{name: "awaiting a change needs the change", do: func(id itil.ID) error {
			_, err := f.svc.Hold(f.ctx, agent, id, incident.AwaitingChange, "")
			return err
		}, field: "reason"},
		{name: "awaiting a problem needs the problem", do: func(id itil.ID) error {
			_, err := f.svc.Hold(f.ctx, agent, id, incident.AwaitingProblem, "")
			return err
		}, field: "reason"},
		{name: "release names a problem or change", do: func(id itil.ID) error {
			_, err := f.svc.Release(f.ctx, agent, id, incident.AwaitingVendor, "the vendor shipped")
			return err
		}, field: "reason"},
		{name: "release needs a note", do: func(id itil.ID) error {
			_, err := f.svc.Release(f.ctx, agent, id, incident.AwaitingChange, "")
			return err
		}, field: "note"},
		{name: "awaiting caller needs a comment", do: func(id itil.ID) error {
			_, err := f.svc.Hold(f.ctx, agent, id, incident.AwaitingCaller, "")
			return err
		}, field: "comment"},
		{name: "cancel needs a reason", do: func(id itil.ID) error {
			_, err := f.svc.Cancel(f.ctx, agent, id, "")
			return err
		}, field: "reason"},
		{name: "resume only from on hold", do: func(id itil.ID) error {
			_, err := f.svc.Resume(f.ctx, agent, id)
			return err
		}, is: itil.ErrInvalidTransition},
		{name: "close only from resolved", do: func(id itil.ID) error {
			_, err := f.svc.Close(f.ctx, agent, id)
			return err
		}, is: itil.ErrInvalidTransition},
		{name: "reopen only from resolved", do: func(id itil.ID) error {
			_, err := f.svc.Reopen(f.ctx, agent, id, "why")
			return err
		}, is: itil.ErrInvalidTransition},
		{name: "cancel only before resolved", state: func(id itil.ID) {
			_, err := f.svc.Resolve(f.ctx, agent, id, "duplicate", "dup of INC1")
			require.NoError(t, err)
		}, do: func(id itil.ID) error {
			_, err := f.svc.Cancel(f.ctx, agent, id, "never mind")
			return err
		}, is: itil.ErrInvalidTransition},
		{name: "canceled is final", state: func(id itil.ID) {
			_, err := f.svc.Cancel(f.ctx, agent, id, "raised in error")
			require.NoError(t, err)
		}, do: func(id itil.ID) error {
			_, err := f.svc.Resolve(f.ctx, agent, id, "duplicate", "x")
			return err
		}, is: itil.ErrInvalidTransition},
		{name: "unknown incident", do: func(itil.ID) error {
			_, err := f.svc.Resume(f.ctx, agent, itil.NewID())
			return err
		}, is: itil.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc := f.open(c.name)
			if c.state != nil {
				c.state(inc.ID)
			}
			before, journal := f.get(inc.ID), f.journalLen()
			err := c.do(inc.ID)
			if c.field != "" {
				testkit.RequireInvalid(t, err, c.field)
			} else {
				require.ErrorIs(t, err, c.is)
			}
			assert.Equal(t, before, f.get(inc.ID), "a refused command changes nothing")
			assert.Equal(t, journal, f.journalLen())
		})
	}
}

func testPriority(t *testing.T, newStore NewStore) {
	// The textbook 3x3 matrix.
	want := map[[2]int]itil.Priority{
		{1, 1}: itil.P1, {1, 2}: itil.P2, {1, 3}: itil.P3,
		{2, 1}: itil.P2, {2, 2}: itil.P3, {2, 3}: itil.P4,
		{3, 1}: itil.P3, {3, 2}: itil.P4, {3, 3}: itil.P5,
	}
	f := setup(t, newStore)
	for iu, p := range want {
		in := basic(fmt.Sprintf("impact %d urgency %d", iu[0], iu[1]))
		in.Impact, in.Urgency = itil.Impact(iu[0]), itil.Urgency(iu[1])
		inc, err := f.svc.Open(f.ctx, agent, in)
		require.NoError(t, err)
		assert.Equal(t, p, inc.Priority, "impact %d urgency %d", iu[0], iu[1])
	}

	inc := f.open("slow laptop") // 2/2 -> P3
	one := itil.Impact(1)
	inc, err := f.svc.Update(f.ctx, agent, inc.ID, incident.Patch{Impact: &one})
	require.NoError(t, err)
	assert.Equal(t, itil.P2, inc.Priority, "derived again after the impact changed")

	_, err = f.svc.OverridePriority(f.ctx, agent, inc.ID, itil.P1, "")
	testkit.RequireInvalid(t, err, "reason")
	_, err = f.svc.OverridePriority(f.ctx, agent, inc.ID, 9, "CEO's laptop")
	testkit.RequireInvalid(t, err, "priority")
	inc, err = f.svc.OverridePriority(f.ctx, agent, inc.ID, itil.P1, "CEO's laptop")
	require.NoError(t, err)
	assert.Equal(t, itil.P1, inc.Priority)
	require.NotNil(t, inc.Override)
	assert.Equal(t, "CEO's laptop", inc.Override.Reason)
	assert.Equal(t, agent, inc.Override.By)

	three := itil.Urgency(3)
	inc, err = f.svc.Update(f.ctx, agent, inc.ID, incident.Patch{Urgency: &three})
	require.NoError(t, err)
	assert.Equal(t, itil.P1, inc.Priority, "an override holds across reclassification")
	inc, err = f.svc.RestorePriority(f.ctx, agent, inc.ID)
	require.NoError(t, err)
	assert.Nil(t, inc.Override)
	assert.Equal(t, itil.P3, inc.Priority, "impact 1 urgency 3")
	_, err = f.svc.RestorePriority(f.ctx, agent, inc.ID)
	testkit.RequireInvalid(t, err, "priority")

	// A custom matrix: 2 levels, everything urgent is P1.
	m, err := itil.NewPriorityMatrix(2, 2, map[itil.Cell]itil.Priority{
		{Impact: 1, Urgency: 1}: itil.P1, {Impact: 1, Urgency: 2}: itil.P2,
		{Impact: 2, Urgency: 1}: itil.P1, {Impact: 2, Urgency: 2}: itil.P4,
	})
	require.NoError(t, err)
	g := setup(t, newStore, incident.WithPriorityMatrix(m))
	in := basic("custom")
	in.Impact, in.Urgency = 2, 1
	c, err := g.svc.Open(g.ctx, agent, in)
	require.NoError(t, err)
	assert.Equal(t, itil.P1, c.Priority)
	in.Impact = 3
	_, err = g.svc.Open(g.ctx, agent, in)
	testkit.RequireInvalid(t, err, "impact")
}

func testAssignment(t *testing.T, newStore NewStore) {
	f := setup(t, newStore, incident.WithMaxEscalationLevel(2))
	inc := f.open("Database slow")
	inc, err := f.svc.Assign(f.ctx, agent, inc.ID, "service-desk", "")
	require.NoError(t, err)
	assert.Equal(t, incident.StateNew, inc.State, "a group alone does not start work")
	assert.Equal(t, 0, inc.ReassignmentCount, "the first assignment is not a reassignment")
	inc, err = f.svc.Assign(f.ctx, agent, inc.ID, "service-desk", "sam")
	require.NoError(t, err)
	assert.Equal(t, incident.StateInProgress, inc.State)
	assert.Equal(t, 0, inc.ReassignmentCount, "same group, new engineer")
	inc, err = f.svc.Assign(f.ctx, agent, inc.ID, "dba", "")
	require.NoError(t, err)
	assert.Equal(t, 1, inc.ReassignmentCount, "functional escalation")
	assert.Equal(t, "", inc.Assignee)
	_, err = f.svc.Assign(f.ctx, agent, inc.ID, "dba", "")
	testkit.RequireInvalid(t, err, "group")
	_, err = f.svc.Assign(f.ctx, agent, inc.ID, "", "x")
	testkit.RequireInvalid(t, err, "group")

	inc, err = f.svc.Escalate(f.ctx, agent, inc.ID, 1, "no progress in 4h")
	require.NoError(t, err)
	assert.Equal(t, 1, inc.EscalationLevel)
	_, err = f.svc.Escalate(f.ctx, agent, inc.ID, 3, "beyond the maximum")
	testkit.RequireInvalid(t, err, "level")
	_, err = f.svc.Escalate(f.ctx, agent, inc.ID, 2, "")
	testkit.RequireInvalid(t, err, "reason")
	_, err = f.svc.Escalate(f.ctx, agent, inc.ID, 1, "same level")
	testkit.RequireInvalid(t, err, "level")
	inc, err = f.svc.Escalate(f.ctx, agent, inc.ID, 0, "back to normal handling")
	require.NoError(t, err)
	assert.Equal(t, 0, inc.EscalationLevel)

	inc, err = f.svc.PromoteMajor(f.ctx, agent, inc.ID, "all branches offline")
	require.NoError(t, err)
	assert.True(t, inc.Major)
	assert.Equal(t, "all branches offline", inc.MajorReason)
	_, err = f.svc.PromoteMajor(f.ctx, agent, inc.ID, "again")
	testkit.RequireInvalid(t, err, "major")
}

func testAwaitingCaller(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("Cannot log in")
	inc, err := f.svc.Hold(f.ctx, agent, inc.ID, incident.AwaitingCaller, "Which browser do you use?")
	require.NoError(t, err)
	assert.Equal(t, incident.StateOnHold, inc.State)
	assert.Equal(t, incident.AwaitingCaller, inc.HoldReason)
	comments := f.notes(inc.ID, itil.Comment)
	require.Len(t, comments, 1)
	assert.Equal(t, "Which browser do you use?", comments[0].Text)
	assert.Equal(t, agent, comments[0].Author)
	assert.False(t, inc.FirstRespondedAt.IsZero())

	before := inc.Version
	note, err := f.svc.Comment(f.ctx, agent, inc.ID, "Reminder: which browser?")
	require.NoError(t, err)
	assert.Equal(t, "Reminder: which browser?", note.Text)
	assert.Equal(t, itil.Comment, note.Visibility)
	inc = f.get(inc.ID)
	assert.Equal(t, incident.StateOnHold, inc.State, "an agent's comment does not resume")
	assert.Equal(t, before, inc.Version, "a comment that changes nothing does not rewrite the incident")

	_, err = f.svc.Comment(f.ctx, caller, inc.ID, "Firefox")
	require.NoError(t, err)
	inc = f.get(inc.ID)
	assert.Equal(t, incident.StateInProgress, inc.State, "the caller's reply resumes")
	assert.Empty(t, inc.HoldReason)
	assert.Len(t, f.notes(inc.ID, itil.Comment), 3)

	inc, err = f.svc.Hold(f.ctx, agent, inc.ID, incident.AwaitingVendor, "")
	require.NoError(t, err)
	_, err = f.svc.Comment(f.ctx, caller, inc.ID, "any news?")
	require.NoError(t, err)
	assert.Equal(t, incident.StateOnHold, f.get(inc.ID).State, "the caller's comment resumes only when awaiting the caller")

	_, err = f.svc.WorkNote(f.ctx, agent, inc.ID, "vendor ticket 4711")
	require.NoError(t, err)
	work := f.notes(inc.ID, itil.WorkNote)
	require.Len(t, work, 1)
	assert.Equal(t, "vendor ticket 4711", work[0].Text)
	assert.Len(t, f.notes(inc.ID, itil.Comment), 4, "work notes are not comments")
	assert.Len(t, f.notes(inc.ID), 5, "all notes")
	var paged []string
	for _, n := range testkit.AllPages(t, func(token string) ([]*itil.Note, string, error) {
		return f.svc.NotesPage(f.ctx, inc.ID, 2, token)
	}) {
		paged = append(paged, n.Text)
	}
	var all []string
	for _, n := range f.notes(inc.ID) {
		all = append(all, n.Text)
	}
	assert.Equal(t, all, paged, "pages of two, oldest first")
	_, err = f.svc.Comment(f.ctx, agent, inc.ID, "")
	testkit.RequireInvalid(t, err, "text")
	_, err = f.svc.Comment(f.ctx, agent, inc.ID, " \t\n")
	testkit.RequireInvalid(t, err, "text")
}

func testReopen(t *testing.T, newStore NewStore) {
	f := setup(t, newStore, incident.WithReopenWindow(48*time.Hour))
	inc := f.open("Share not mapped")
	_, err := f.svc.Resolve(f.ctx, agent, inc.ID, "solution_provided", "remapped")
	require.NoError(t, err)
	f.clock.Advance(47 * time.Hour)
	_, err = f.svc.Reopen(f.ctx, caller, inc.ID, "")
	testkit.RequireInvalid(t, err, "reason")
	inc, err = f.svc.Reopen(f.ctx, caller, inc.ID, "gone again")
	require.NoError(t, err)
	assert.Equal(t, incident.StateInProgress, inc.State)
	assert.Equal(t, 1, inc.ReopenCount)
	assert.True(t, inc.ResolvedAt.IsZero())
	assert.Empty(t, inc.ResolutionCode)

	_, err = f.svc.Resolve(f.ctx, agent, inc.ID, "workaround_provided", "use the web")
	require.NoError(t, err)
	f.clock.Advance(48*time.Hour + time.Second)
	_, err = f.svc.Reopen(f.ctx, caller, inc.ID, "still broken")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "outside the window")
	assert.Equal(t, 1, f.get(inc.ID).ReopenCount)
}

func testParentChild(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	parent := f.open("Mail outage")
	kids := []*incident.Incident{f.open("no mail 1"), f.open("no mail 2"), f.open("no mail 3")}
	done := f.open("already solved")
	for _, k := range append(kids, done) {
		c, err := f.svc.LinkChild(f.ctx, agent, parent.ID, k.ID)
		require.NoError(t, err)
		assert.Equal(t, parent.ID, c.ParentID)
	}
	_, err := f.svc.Hold(f.ctx, agent, kids[1].ID, incident.AwaitingVendor, "")
	require.NoError(t, err)
	_, err = f.svc.Resolve(f.ctx, agent, done.ID, "user_error", "typo in address")
	require.NoError(t, err)
	canceled := f.open("raised twice")
	_, err = f.svc.LinkChild(f.ctx, agent, parent.ID, canceled.ID)
	require.NoError(t, err)
	_, err = f.svc.Cancel(f.ctx, agent, canceled.ID, "duplicate report")
	require.NoError(t, err)

	// Link rules.
	other := f.open("other")
	_, err = f.svc.LinkChild(f.ctx, agent, other.ID, kids[0].ID)
	testkit.RequireInvalid(t, err, "child_id")
	_, err = f.svc.LinkChild(f.ctx, agent, kids[0].ID, other.ID)
	testkit.RequireInvalid(t, err, "parent_id")
	_, err = f.svc.LinkChild(f.ctx, agent, other.ID, parent.ID)
	testkit.RequireInvalid(t, err, "child_id")
	_, err = f.svc.LinkChild(f.ctx, agent, other.ID, other.ID)
	testkit.RequireInvalid(t, err, "parent_id")
	_, err = f.svc.Cancel(f.ctx, agent, parent.ID, "no")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "a parent with open children cannot be canceled")

	_, err = f.svc.PromoteMajor(f.ctx, agent, parent.ID, "mail down for everyone")
	require.NoError(t, err)
	journal := f.journalLen()
	p, err := f.svc.Resolve(f.ctx, agent, parent.ID, "resolved_by_change", "rolled back CHG0001001")
	require.NoError(t, err)
	assert.Equal(t, incident.StateResolved, p.State)
	assert.Equal(t, journal+1+len(kids), f.journalLen(), "one event for the parent and each open child")
	for _, k := range kids {
		c := f.get(k.ID)
		assert.Equal(t, incident.StateResolved, c.State)
		assert.Equal(t, "resolved_by_change", c.ResolutionCode)
		assert.Equal(t, "rolled back CHG0001001", c.ResolutionNotes)
		assert.Equal(t, p.ResolvedAt, c.ResolvedAt)
	}
	assert.Equal(t, "user_error", f.get(done.ID).ResolutionCode, "a resolved child keeps its own resolution")
	assert.Equal(t, incident.StateCanceled, f.get(canceled.ID).State)

	_, err = f.svc.Reopen(f.ctx, caller, kids[0].ID, "still no mail")
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "reopen the parent instead")

	_, err = f.svc.Close(f.ctx, agent, parent.ID)
	require.NoError(t, err)
	for _, k := range append(kids, done) {
		assert.Equal(t, incident.StateClosed, f.get(k.ID).State)
	}
	assert.Equal(t, incident.StateCanceled, f.get(canceled.ID).State, "final children stay as they are")
}

func testAutoClose(t *testing.T, newStore NewStore) {
	f := setup(t, newStore, incident.WithAutoCloseAfter(72*time.Hour))
	old := f.open("old")
	recent := f.open("recent")
	open := f.open("open")
	_, err := f.svc.Resolve(f.ctx, agent, old.ID, "solution_provided", "done")
	require.NoError(t, err)
	f.clock.Advance(48 * time.Hour)
	_, err = f.svc.Resolve(f.ctx, agent, recent.ID, "solution_provided", "done")
	require.NoError(t, err)
	f.clock.Advance(24 * time.Hour)

	n, err := f.svc.AutoClose(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, incident.StateClosed, f.get(old.ID).State)
	assert.Equal(t, incident.StateResolved, f.get(recent.ID).State)
	assert.Equal(t, incident.StateNew, f.get(open.ID).State)

	journal := f.journalLen()
	n, err = f.svc.AutoClose(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "idempotent")
	assert.Equal(t, journal, f.journalLen())

	f.clock.Advance(48 * time.Hour)
	n, err = f.svc.AutoClose(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	h, err := f.svc.History(f.ctx, recent.ID)
	require.NoError(t, err)
	last := h[len(h)-1]
	assert.Equal(t, incident.EventClosed, last.Type)
	assert.Equal(t, itil.System, last.Actor)
}

func testList(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	svcA, ciA := itil.NewID(), itil.NewID()
	var all []*incident.Incident
	for i := range 23 {
		in := basic(fmt.Sprintf("incident %d", i))
		in.Impact = itil.Impact(1 + i%3)
		if i%2 == 0 {
			in.ServiceID = svcA
		}
		if i%5 == 0 {
			in.CIID = ciA
		}
		in.ServiceDown = i%3 == 0
		inc, err := f.svc.Open(f.ctx, agent, in)
		require.NoError(t, err)
		if i%4 == 0 {
			inc, err = f.svc.Assign(f.ctx, agent, inc.ID, "network", "nia")
			require.NoError(t, err)
		}
		if i%7 == 0 {
			inc, err = f.svc.PromoteMajor(f.ctx, agent, inc.ID, "wide impact")
			require.NoError(t, err)
		}
		all = append(all, inc)
		f.clock.Advance(time.Minute)
	}
	// Incidents 1 and 2 become children of incident 3.
	for _, i := range []int{1, 2} {
		_, err := f.svc.LinkChild(f.ctx, agent, all[3].ID, all[i].ID)
		require.NoError(t, err)
		all[i] = f.get(all[i].ID)
	}
	all[3] = f.get(all[3].ID)
	// list reads every page of size limit, and checks the iterator gives
	// the same incidents.
	list := func(fl incident.Filter, limit int) []*incident.Incident {
		t.Helper()
		var out []*incident.Incident
		token := ""
		for {
			page, next, err := f.svc.ListPage(f.ctx, fl, limit, token)
			require.NoError(t, err)
			out = append(out, page...)
			if next == "" {
				break
			}
			require.NotEmpty(t, page)
			token = next
		}
		var seq []*incident.Incident
		for inc, err := range f.svc.List(f.ctx, fl) {
			require.NoError(t, err)
			seq = append(seq, inc)
		}
		require.Equal(t, len(out), len(seq), "List and ListPage agree")
		for i := range out {
			require.Equal(t, out[i].ID, seq[i].ID)
		}
		return out
	}
	expect := func(keep func(*incident.Incident) bool) []*incident.Incident {
		var out []*incident.Incident
		for _, inc := range all {
			if keep(inc) {
				out = append(out, inc)
			}
		}
		return out
	}
	yes, no := true, false
	cases := []struct {
		name  string
		f     incident.Filter
		limit int
		keep  func(*incident.Incident) bool
	}{
		{"all in pages of 4", incident.Filter{}, 4, func(*incident.Incident) bool { return true }},
		{"state", incident.Filter{States: []incident.State{incident.StateInProgress}}, 2, func(i *incident.Incident) bool { return i.State == incident.StateInProgress }},
		{"all open states", incident.Filter{States: []incident.State{incident.StateNew, incident.StateInProgress, incident.StateOnHold}}, 3,
			func(i *incident.Incident) bool { return i.State.Open() }},
		{"priority", incident.Filter{Priorities: []itil.Priority{itil.P2}}, 0, func(i *incident.Incident) bool { return i.Priority == itil.P2 }},
		{"two priorities", incident.Filter{Priorities: []itil.Priority{itil.P1, itil.P3}}, 2,
			func(i *incident.Incident) bool { return i.Priority == itil.P1 || i.Priority == itil.P3 }},
		{"group", incident.Filter{AssignmentGroups: []string{"network"}}, 0, func(i *incident.Incident) bool { return i.AssignmentGroup == "network" }},
		{"assignee", incident.Filter{Assignees: []string{"nia"}}, 1, func(i *incident.Incident) bool { return i.Assignee == "nia" }},
		{"service", incident.Filter{ServiceID: svcA}, 5, func(i *incident.Incident) bool { return i.ServiceID == svcA }},
		{"ci", incident.Filter{CIID: ciA}, 0, func(i *incident.Incident) bool { return i.CIID == ciA }},
		{"children", incident.Filter{ParentID: all[3].ID}, 0, func(i *incident.Incident) bool { return i.ParentID == all[3].ID }},
		{"major", incident.Filter{Major: &yes}, 0, func(i *incident.Incident) bool { return i.Major }},
		{"not major", incident.Filter{Major: &no}, 6, func(i *incident.Incident) bool { return !i.Major }},
		{"service down on the CI", incident.Filter{CIID: ciA, ServiceDown: &yes}, 0, func(i *incident.Incident) bool { return i.CIID == ciA && i.ServiceDown }},
		{"service up, not major", incident.Filter{ServiceDown: &no, Major: &no}, 2, func(i *incident.Incident) bool { return !i.ServiceDown && !i.Major }},
		{"opened between", incident.Filter{OpenedFrom: all[5].OpenedAt, OpenedTo: all[12].OpenedAt}, 3,
			func(i *incident.Incident) bool {
				return !i.OpenedAt.Before(all[5].OpenedAt) && i.OpenedAt.Before(all[12].OpenedAt)
			}},
		{"combined", incident.Filter{ServiceID: svcA, AssignmentGroups: []string{"network"}, Priorities: []itil.Priority{itil.P3}}, 0,
			func(i *incident.Incident) bool {
				return i.ServiceID == svcA && i.AssignmentGroup == "network" && i.Priority == itil.P3
			}},
		{"two multi-value filters", incident.Filter{States: []incident.State{incident.StateNew, incident.StateInProgress},
			Priorities: []itil.Priority{itil.P2, itil.P3}}, 2,
			func(i *incident.Incident) bool {
				return (i.State == incident.StateNew || i.State == incident.StateInProgress) && (i.Priority == itil.P2 || i.Priority == itil.P3)
			}},
	}
	ids := func(incs []*incident.Incident) []string {
		out := make([]string, len(incs))
		for i, inc := range incs {
			out[i] = inc.Number
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := expect(c.keep)
			require.NotEmpty(t, want, "the case should select something")
			assert.Equal(t, ids(want), ids(list(c.f, c.limit)))
			c.f.NewestFirst = true
			got := ids(list(c.f, c.limit))
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
			assert.Equal(t, ids(want), got, "newest first")
		})
	}
	_, _, err := f.svc.ListPage(f.ctx, incident.Filter{States: []incident.State{"weird"}}, 5000, "!!")
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, field := range []string{"limit", "states[0]", "page_token"} {
		assert.True(t, v.Has(field), field)
	}
	yielded := 0
	for _, err := range f.svc.List(f.ctx, incident.Filter{Priorities: []itil.Priority{9}}) {
		yielded++
		require.ErrorAs(t, err, &v)
		assert.True(t, v.Has("priorities[0]"))
	}
	require.Equal(t, 1, yielded, "a bad filter yields its error once")
}

func testHistory(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("Laptop will not boot")
	f.clock.Advance(time.Minute)
	_, err := f.svc.Assign(f.ctx, agent, inc.ID, "desktop", "dee")
	require.NoError(t, err)
	f.clock.Advance(time.Minute)
	_, err = f.svc.Resolve(f.ctx, agent, inc.ID, "solution_provided", "replaced the disk")
	require.NoError(t, err)
	_, err = f.svc.WorkNote(f.ctx, agent, inc.ID, "disk was at 100% SMART errors")
	require.NoError(t, err)
	h, err := f.svc.History(f.ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, h, 4)
	types := []string{incident.EventOpened, incident.EventAssigned, incident.EventResolved, incident.EventWorkNoted}
	for i, e := range h {
		assert.Equal(t, types[i], e.Type)
		assert.Equal(t, agent, e.Actor)
		assert.NotEmpty(t, e.Summary)
		if i > 0 {
			assert.True(t, !e.Time.Before(h[i-1].Time), "oldest first")
		}
		if i < 3 {
			assert.Equal(t, incident.Kind, e.Kind)
			assert.Equal(t, inc.ID, e.SubjectID)
			assert.Equal(t, int64(i+1), e.Version)
		}
	}
	changed := func(e itil.HistoryEntry) map[string][2]string {
		out := map[string][2]string{}
		for _, c := range e.Fields {
			out[c.Field] = [2]string{string(c.From), string(c.To)}
		}
		return out
	}
	assert.Empty(t, h[0].Fields, "a creation journals the incident as created")
	var created incident.Incident
	require.NoError(t, json.Unmarshal(h[0].Created, &created))
	assert.Equal(t, "Laptop will not boot", created.Title)
	assert.Equal(t, incident.StateNew, created.State)
	assigned := changed(h[1])
	assert.Equal(t, [2]string{`""`, `"desktop"`}, assigned["assignment_group"])
	assert.Equal(t, [2]string{`""`, `"dee"`}, assigned["assignee"])
	assert.Equal(t, [2]string{`"new"`, `"in_progress"`}, assigned["state"])
	assert.NotContains(t, assigned, "title", "only changed fields are journaled")
	assert.NotContains(t, assigned, "updated_at")
	assert.Equal(t, [2]string{`"in_progress"`, `"resolved"`}, changed(h[2])["state"])
	assert.Equal(t, "replaced the disk", h[2].Reason)
	assert.Contains(t, h[1].Summary, "desktop")
	assert.Equal(t, "note", h[3].Kind, "a note is journaled under its own record")
	assert.Equal(t, []itil.ID{inc.ID}, h[3].Refs)
	_, err = f.svc.History(f.ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
}

func testAuthorizer(t *testing.T, newStore NewStore) {
	onlyAgents := func(_ context.Context, a itil.Actor, command string, _ *incident.Incident) error {
		if command == "resolve" && a.ID != agent.ID {
			return errors.New("only agents resolve")
		}
		return nil
	}
	f := setup(t, newStore, incident.WithAuthorizer(onlyAgents))
	inc := f.open("printer")
	_, err := f.svc.Resolve(f.ctx, caller, inc.ID, "solution_provided", "fixed it myself")
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Contains(t, err.Error(), "only agents resolve")
	assert.Equal(t, incident.StateNew, f.get(inc.ID).State)
	_, err = f.svc.Resolve(f.ctx, agent, inc.ID, "solution_provided", "fixed")
	require.NoError(t, err)
}

func testConcurrency(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("busy incident")
	const writers, each = 4, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// retry runs op until it does not conflict: the Service retries
			// a conflict itself a few times; one that survives them is
			// the caller's to retry.
			retry := func(op func() error) bool {
				for {
					err := op()
					if errors.Is(err, itil.ErrConflict) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					return assert.NoError(t, err)
				}
			}
			for i := range each {
				// Every assignment differs from every other, so each one
				// writes the incident; notes are records apart.
				if !retry(func() error {
					_, err := f.svc.Assign(f.ctx, agent, inc.ID, fmt.Sprintf("group-%d-%d", w, i), "")
					return err
				}) || !retry(func() error {
					_, err := f.svc.WorkNote(f.ctx, agent, inc.ID, fmt.Sprintf("writer %d note %d", w, i))
					return err
				}) {
					return
				}
			}
		}()
	}
	wg.Wait()
	got := f.get(inc.ID)
	assert.Len(t, f.notes(inc.ID, itil.WorkNote), writers*each, "no note lost")
	assert.Equal(t, int64(1+writers*each), got.Version, "no assignment lost")
	h, err := f.svc.History(f.ctx, inc.ID)
	require.NoError(t, err)
	assert.Equal(t, 1+2*writers*each, len(h))
	var versions []int64
	for _, e := range h {
		if e.Kind == incident.Kind {
			versions = append(versions, e.Version)
		}
	}
	for i, v := range versions {
		assert.Equal(t, int64(i+1), v, "one event per version, in order")
	}
	t.Logf("%d conflicts left to the caller", conflicts)
}
