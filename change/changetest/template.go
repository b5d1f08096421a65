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
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// tmplManager is the change manager who decides on templates.
var tmplManager = itil.Actor{ID: "carl", Name: "Carl Change-Manager"}

// testTemplates: standard change templates, their lifecycle and versions,
// the standard changes made from them, and their usage counts, on one
// Service and on two Services over two handles of one store.
func testTemplates(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Flow", func(t *testing.T) { testTemplateFlow(t, newStore) })
	t.Run("Versions", func(t *testing.T) { testTemplateVersions(t, newStore) })
	t.Run("FixedFields", func(t *testing.T) { testTemplateFixedFields(t, newStore) })
	t.Run("Refusals", func(t *testing.T) { testTemplateRefusals(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { testTemplateAuthorizer(t, newStore) })
	t.Run("TwoInstances", func(t *testing.T) { testTemplateTwoInstances(t, instances) })
}

func tmplRestart() change.NewTemplate {
	return change.NewTemplate{
		Name: "Restart a web server", ShortDescription: "When a web server stops answering and its health check fails.",
		Title: "Restart the web server", Description: "Restart nginx on the server named as the primary CI.",
		Implementation: "systemctl restart nginx", Backout: "systemctl start nginx; fail over to the standby",
		TestPlan: "curl the health endpoint", AssignmentGroup: "web-ops", Impact: 3, PlannedDuration: 30 * time.Minute,
	}
}

func (f *fixture) tmplPublished(in change.NewTemplate) *change.Template {
	f.t.Helper()
	tp, err := f.svc.ProposeTemplate(f.ctx, requester, in)
	require.NoError(f.t, err)
	_, err = f.svc.ApproveTemplate(f.ctx, tmplManager, tp.ID)
	require.NoError(f.t, err)
	return f.tmplPublish(tp.ID)
}

func (f *fixture) tmplPublish(id itil.ID) *change.Template {
	f.t.Helper()
	_, err := f.svc.RequestTemplate(f.ctx, requester, id)
	require.NoError(f.t, err)
	tp, err := f.svc.PublishTemplate(f.ctx, tmplManager, id)
	require.NoError(f.t, err)
	return tp
}

func (f *fixture) tmplGet(id itil.ID) *change.Template {
	f.t.Helper()
	tp, err := f.svc.GetTemplate(f.ctx, id)
	require.NoError(f.t, err)
	return tp
}

func (f *fixture) tmplOpen(id itil.ID) *change.Change {
	f.t.Helper()
	ch, err := f.svc.OpenFromTemplate(f.ctx, requester, id, change.FromTemplate{PlannedStart: f.clock.Now().Add(24 * time.Hour)})
	require.NoError(f.t, err)
	return ch
}

func tmplList(t *testing.T, svc *change.Service, filter change.TemplateFilter) []*change.Template {
	t.Helper()
	var out []*change.Template
	for tp, err := range svc.Templates(t.Context(), filter) {
		require.NoError(t, err)
		out = append(out, tp)
	}
	return out
}

// testTemplateFlow: the textbook flow. A proposal is approved by change
// management, drafted, requested, rejected with a reason, reworked,
// requested again and published; a standard change made from it gets its
// fixed fields and the planned end from its duration, is pre-approved (New
// → Scheduled with no approval) and runs to Closed; the version counts it.
func testTemplateFlow(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	in := tmplRestart()
	in.Backout = "" // the proposal is not complete yet
	tp, err := f.svc.ProposeTemplate(f.ctx, requester, in)
	require.NoError(t, err)
	assert.Equal(t, "STDCHG0001001", tp.Number)
	assert.Equal(t, 1, tp.Revision)
	assert.Equal(t, change.TemplateProposed, tp.State)
	assert.Equal(t, change.ModelStandard, tp.Model, "the default model")
	assert.Equal(t, requester, tp.CreatedBy)

	tp, err = f.svc.ApproveTemplate(f.ctx, tmplManager, tp.ID)
	require.NoError(t, err)
	assert.Equal(t, change.TemplateDraft, tp.State)
	assert.Equal(t, tmplManager, tp.ApprovedBy)
	_, err = f.svc.RequestTemplate(f.ctx, requester, tp.ID)
	testkit.RequireFields(t, err, "backout_plan")
	backout := "systemctl start nginx"
	tp, err = f.svc.UpdateTemplate(f.ctx, requester, tp.ID, change.TemplatePatch{Backout: &backout})
	require.NoError(t, err)
	assert.Equal(t, change.TemplateDraft, tp.State)
	assert.Equal(t, 1, tp.Revision, "a draft is edited in place")
	tp, err = f.svc.RequestTemplate(f.ctx, requester, tp.ID)
	require.NoError(t, err)
	assert.Equal(t, change.TemplateRequested, tp.State)
	tp, err = f.svc.RejectTemplate(f.ctx, tmplManager, tp.ID, "say how to tell that the restart worked")
	require.NoError(t, err)
	assert.Equal(t, change.TemplateDraft, tp.State)
	test := "curl the health endpoint; expect 200"
	_, err = f.svc.UpdateTemplate(f.ctx, requester, tp.ID, change.TemplatePatch{TestPlan: &test})
	require.NoError(t, err)
	tp = f.tmplPublish(tp.ID)
	assert.Equal(t, change.TemplatePublished, tp.State)
	assert.Equal(t, tmplManager, tp.PublishedBy)
	assert.Equal(t, f.clock.Now(), tp.PublishedAt)

	start := f.clock.Now().Add(48 * time.Hour)
	ci := itil.NewID()
	ch, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: start,
		Justification: "web01 stopped answering", Assignee: "wes", CIID: ci})
	require.NoError(t, err)
	assert.Equal(t, "CHG0001001", ch.Number)
	assert.Equal(t, change.StateNew, ch.State)
	assert.Equal(t, change.ModelStandard, ch.Model)
	assert.Equal(t, tp.ID, ch.TemplateID)
	assert.Equal(t, 1, ch.TemplateVersion)
	assert.Equal(t, tp.Title, ch.Title)
	assert.Equal(t, tp.Description, ch.Description)
	assert.Equal(t, tp.Implementation, ch.Implementation)
	assert.Equal(t, backout, ch.Backout)
	assert.Equal(t, test, ch.TestPlan)
	assert.Equal(t, "web-ops", ch.AssignmentGroup)
	assert.Equal(t, "wes", ch.Assignee)
	assert.Equal(t, ci, ch.CIID, "the template names no CI: the input's")
	assert.Equal(t, itil.Impact(3), ch.Impact)
	assert.Equal(t, "web01 stopped answering", ch.Justification)
	assert.Equal(t, requester, ch.RequestedBy)
	assert.True(t, start.Equal(ch.PlannedStart))
	assert.True(t, start.Add(30*time.Minute).Equal(ch.PlannedEnd), "start plus the template's duration")
	got, err := f.svc.Get(f.ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, ch, got)
	assert.Equal(t, change.TemplateUsage{Opened: 1}, f.tmplGet(tp.ID).Usage)

	// The fields the template fixes are read-only on the change.
	n := testkit.JournalLen(t, f.store)
	title := "restart it my way"
	_, err = f.svc.Update(f.ctx, requester, ch.ID, change.Patch{Title: &title})
	testkit.RequireFields(t, err, "title")
	_, err = f.svc.SetModel(f.ctx, requester, ch.ID, change.ModelNormal)
	testkit.RequireFields(t, err, "model")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "refusals write nothing")

	// Pre-approved: the standard model goes from New to Scheduled with no
	// approval, and the change runs to Closed, counted on its version.
	ch = f.move(ch.ID, change.MoveSchedule, change.MoveImplement, change.MoveReview)
	ch, err = f.svc.Close(f.ctx, requester, ch.ID, change.Successful, "web01 answers again")
	require.NoError(t, err)
	assert.Equal(t, change.StateClosed, ch.State)
	assert.Equal(t, change.TemplateUsage{Opened: 1, Successful: 1}, f.tmplGet(tp.ID).Usage)

	// Queries: by state, by name (case aside), by number; the history.
	other := tmplRestart()
	other.Name = "Rotate logs"
	f.tmplPublished(other)
	assert.Len(t, tmplList(t, f.svc, change.TemplateFilter{States: []change.TemplateState{change.TemplatePublished}}), 2)
	named := tmplList(t, f.svc, change.TemplateFilter{Names: []string{"RESTART A WEB SERVER"}})
	require.Len(t, named, 1)
	assert.Equal(t, tp.ID, named[0].ID)
	assert.Empty(t, tmplList(t, f.svc, change.TemplateFilter{Names: []string{"Rotate logs"},
		States: []change.TemplateState{change.TemplateDraft}}))
	assert.Len(t, tmplList(t, f.svc, change.TemplateFilter{Numbers: []string{"STDCHG0001002"}}), 1)
	h, err := f.svc.TemplateHistory(f.ctx, tp.ID)
	require.NoError(t, err)
	var types []string
	for _, e := range h {
		if e.SubjectID == tp.ID {
			types = append(types, e.Type)
		}
	}
	assert.Equal(t, []string{change.EventTemplateProposed, change.EventTemplateApproved, change.EventTemplateUpdated,
		change.EventTemplateRequested, change.EventTemplateRejected, change.EventTemplateUpdated,
		change.EventTemplateRequested, change.EventTemplatePublished, change.EventTemplateUsed, change.EventTemplateOutcome}, types)
	assert.Equal(t, "say how to tell that the restart worked", h[4].Payload.Reason)
}

// testTemplateVersions: editing a published template drafts its next
// version; the published one stays in use until the next is published,
// which retires it; each version counts its own changes; an abandoned next
// version makes room for another.
func testTemplateVersions(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	v1 := f.tmplPublished(tmplRestart())
	before := f.tmplOpen(v1.ID)

	longer := 45 * time.Minute
	v2, err := f.svc.UpdateTemplate(f.ctx, requester, v1.ID, change.TemplatePatch{PlannedDuration: &longer})
	require.NoError(t, err)
	assert.NotEqual(t, v1.ID, v2.ID, "a record of its own")
	assert.Equal(t, v1.Number, v2.Number)
	assert.Equal(t, 2, v2.Revision)
	assert.Equal(t, change.TemplateDraft, v2.State)
	assert.Equal(t, v1.ID, v2.PreviousID)
	assert.Equal(t, longer, v2.PlannedDuration)
	assert.Equal(t, v1.Implementation, v2.Implementation, "copied")
	assert.Equal(t, change.TemplateUsage{}, v2.Usage, "a version counts its own changes")
	assert.Equal(t, requester, v2.CreatedBy)
	assert.Equal(t, tmplManager, v2.ApprovedBy, "the approval of the proposal carries over")
	got := f.tmplGet(v1.ID)
	assert.Equal(t, change.TemplatePublished, got.State, "still published")
	assert.Equal(t, v2.ID, got.NextID)
	assert.Equal(t, 30*time.Minute, got.PlannedDuration, "unchanged")

	// One next version at a time: the published one is not edited again
	// while its next version is under way; the draft is edited in place.
	n := testkit.JournalLen(t, f.store)
	_, err = f.svc.UpdateTemplate(f.ctx, requester, v1.ID, change.TemplatePatch{PlannedDuration: &longer})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Contains(t, err.Error(), v2.ID.String())
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
	title := "Restart nginx"
	edited, err := f.svc.UpdateTemplate(f.ctx, requester, v2.ID, change.TemplatePatch{Title: &title})
	require.NoError(t, err)
	assert.Equal(t, v2.ID, edited.ID)
	assert.Equal(t, 2, edited.Revision)

	// Changes are still made from v1 meanwhile.
	during := f.tmplOpen(v1.ID)
	assert.Equal(t, 1, during.TemplateVersion)
	assert.Equal(t, 30*time.Minute, during.PlannedEnd.Sub(during.PlannedStart))

	v2 = f.tmplPublish(v2.ID)
	assert.Equal(t, change.TemplatePublished, v2.State)
	old := f.tmplGet(v1.ID)
	assert.Equal(t, change.TemplateRetired, old.State, "publishing the next version retires the previous")
	assert.Equal(t, "superseded by "+v1.Number+" v2", old.RetiredReason)
	assert.Equal(t, f.clock.Now(), old.RetiredAt)
	_, err = f.svc.OpenFromTemplate(f.ctx, requester, v1.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Contains(t, err.Error(), v2.ID.String(), "names the version to use")
	after := f.tmplOpen(v2.ID)
	assert.Equal(t, 2, after.TemplateVersion)
	assert.Equal(t, "Restart nginx", after.Title)
	assert.Equal(t, longer, after.PlannedEnd.Sub(after.PlannedStart))
	assert.Equal(t, change.TemplateUsage{Opened: 2}, f.tmplGet(v1.ID).Usage)
	assert.Equal(t, change.TemplateUsage{Opened: 1}, f.tmplGet(v2.ID).Usage)
	for _, ch := range []*change.Change{before, during} {
		got, err := f.svc.Get(f.ctx, ch.ID)
		require.NoError(t, err)
		assert.Equal(t, v1.ID, got.TemplateID, "a change keeps naming its version")
	}

	// An abandoned next version makes room for another, numbered past it.
	test := "curl twice"
	v3, err := f.svc.UpdateTemplate(f.ctx, requester, v2.ID, change.TemplatePatch{TestPlan: &test})
	require.NoError(t, err)
	assert.Equal(t, 3, v3.Revision)
	_, err = f.svc.RetireTemplate(f.ctx, tmplManager, v3.ID, "not worth a version")
	require.NoError(t, err)
	v4, err := f.svc.UpdateTemplate(f.ctx, requester, v2.ID, change.TemplatePatch{TestPlan: &test})
	require.NoError(t, err)
	assert.Equal(t, 4, v4.Revision)
	assert.Equal(t, v2.ID, v4.PreviousID)
	var revisions []int
	for _, tp := range tmplList(t, f.svc, change.TemplateFilter{Numbers: []string{v1.Number}}) {
		revisions = append(revisions, tp.Revision)
	}
	assert.Equal(t, []int{1, 2, 3, 4}, revisions, "every version, in order")
	pub := tmplList(t, f.svc, change.TemplateFilter{Numbers: []string{v1.Number}, States: []change.TemplateState{change.TemplatePublished}})
	require.Len(t, pub, 1, "one published version at a time")
	assert.Equal(t, v2.ID, pub[0].ID)
	// Retiring the published version while its next is a draft leaves the
	// draft to be published on its own.
	_, err = f.svc.RetireTemplate(f.ctx, tmplManager, v2.ID, "web servers move to the new platform")
	require.NoError(t, err)
	v4 = f.tmplPublish(v4.ID)
	assert.Equal(t, change.TemplatePublished, v4.State)
	assert.Equal(t, "web servers move to the new platform", f.tmplGet(v2.ID).RetiredReason)
}

// testTemplateFixedFields: the template fixes its fields on the changes
// made from it; a template that names a primary CI fixes it, one that
// names none takes the input's; a model of the application's own with no
// approval states serves too.
func testTemplateFixedFields(t *testing.T, newStore func(*testing.T) storage.Store) {
	routine := change.Model{Name: "routine", Transitions: []itil.Transition[change.State]{
		{Event: change.MoveSchedule, From: []change.State{change.StateNew}, To: change.StateScheduled},
		{Event: change.MoveImplement, From: []change.State{change.StateScheduled}, To: change.StateImplement},
		{Event: change.MoveClose, From: []change.State{change.StateImplement}, To: change.StateClosed},
		{Event: change.MoveCancel, From: []change.State{change.StateNew, change.StateScheduled}, To: change.StateCanceled},
	}, PlannedStates: []change.State{change.StateScheduled}}
	f := setup(t, newStore, change.WithModels(routine))
	web01 := itil.NewID()
	in := tmplRestart()
	in.Model, in.CIID = "routine", web01
	tp := f.tmplPublished(in)
	ch, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour),
		CIID: web01, CIIDs: []itil.ID{itil.NewID()}})
	require.NoError(t, err, "the template's own CI may be repeated")
	assert.Equal(t, "routine", ch.Model)
	assert.Equal(t, web01, ch.CIID)
	assert.Len(t, ch.CIIDs, 1, "other CIs are the change's own")
	n := testkit.JournalLen(t, f.store)
	_, err = f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour),
		CIID: itil.NewID()})
	testkit.RequireFields(t, err, "ci_id")
	_, err = f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour),
		CIIDs: []itil.ID{web01}})
	testkit.RequireFields(t, err, "ci_ids")
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
	assert.Equal(t, 1, f.tmplGet(tp.ID).Usage.Opened)
}

// testTemplateRefusals: bad input is named, unknown IDs are not found,
// wrong states are invalid transitions, and no refusal writes anything.
func testTemplateRefusals(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	proposal, err := f.svc.ProposeTemplate(f.ctx, requester, change.NewTemplate{Name: "Patch a printer"})
	require.NoError(t, err)
	draft, err := f.svc.ProposeTemplate(f.ctx, requester, change.NewTemplate{Name: "Renew a certificate"})
	require.NoError(t, err)
	_, err = f.svc.ApproveTemplate(f.ctx, tmplManager, draft.ID)
	require.NoError(t, err)
	requested, err := f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())
	require.NoError(t, err)
	_, err = f.svc.ApproveTemplate(f.ctx, tmplManager, requested.ID)
	require.NoError(t, err)
	_, err = f.svc.RequestTemplate(f.ctx, requester, requested.ID)
	require.NoError(t, err)
	pub := tmplRestart()
	pub.Name = "Published"
	published := f.tmplPublished(pub)
	retired := f.tmplPublished(change.NewTemplate{Name: "Old", Title: "Old", Implementation: "x", Backout: "y", PlannedDuration: time.Minute})
	_, err = f.svc.RetireTemplate(f.ctx, tmplManager, retired.ID, "obsolete")
	require.NoError(t, err)

	n := testkit.JournalLen(t, f.store)
	long := strings.Repeat("x", 161)
	same := published.Title
	blank := " "
	neg := -time.Minute
	normal := change.ModelNormal
	start := change.FromTemplate{PlannedStart: f.clock.Now().Add(time.Hour)}
	unknown := itil.NewID()
	cases := []struct {
		name   string
		run    func() error
		fields []string // a *itil.ValidationError naming these, or:
		is     error
	}{
		{"propose: bad fields", func() error {
			_, err := f.svc.ProposeTemplate(f.ctx, requester, change.NewTemplate{Name: " ", Title: long, Impact: 9,
				PlannedDuration: -time.Second, Model: change.ModelNormal})
			return err
		}, []string{"name", "title", "impact", "planned_duration", "model"}, nil},
		{"propose: unknown model", func() error {
			_, err := f.svc.ProposeTemplate(f.ctx, requester, change.NewTemplate{Name: "x", Model: "routine"})
			return err
		}, []string{"model"}, nil},
		{"propose: duration too long", func() error {
			_, err := f.svc.ProposeTemplate(f.ctx, requester, change.NewTemplate{Name: "x", PlannedDuration: change.MaxTemplateDuration + 1})
			return err
		}, []string{"planned_duration"}, nil},
		{"propose: no actor", func() error {
			_, err := f.svc.ProposeTemplate(f.ctx, itil.Actor{}, change.NewTemplate{Name: "x"})
			return err
		}, []string{"actor.id"}, nil},
		{"approve: unknown", func() error { _, err := f.svc.ApproveTemplate(f.ctx, tmplManager, unknown); return err }, nil, itil.ErrNotFound},
		{"approve: a draft", func() error { _, err := f.svc.ApproveTemplate(f.ctx, tmplManager, draft.ID); return err }, nil, itil.ErrInvalidTransition},
		{"request: a proposal", func() error { _, err := f.svc.RequestTemplate(f.ctx, requester, proposal.ID); return err }, nil, itil.ErrInvalidTransition},
		{"request: incomplete", func() error { _, err := f.svc.RequestTemplate(f.ctx, requester, draft.ID); return err },
			[]string{"title", "implementation_plan", "backout_plan", "planned_duration"}, nil},
		{"request: unknown", func() error { _, err := f.svc.RequestTemplate(f.ctx, requester, unknown); return err }, nil, itil.ErrNotFound},
		{"publish: a draft", func() error { _, err := f.svc.PublishTemplate(f.ctx, tmplManager, draft.ID); return err }, nil, itil.ErrInvalidTransition},
		{"publish: published", func() error { _, err := f.svc.PublishTemplate(f.ctx, tmplManager, published.ID); return err }, nil, itil.ErrInvalidTransition},
		{"publish: unknown", func() error { _, err := f.svc.PublishTemplate(f.ctx, tmplManager, unknown); return err }, nil, itil.ErrNotFound},
		{"reject: a draft", func() error { _, err := f.svc.RejectTemplate(f.ctx, tmplManager, draft.ID, "no"); return err }, nil, itil.ErrInvalidTransition},
		{"reject: no reason", func() error { _, err := f.svc.RejectTemplate(f.ctx, tmplManager, requested.ID, blank); return err }, []string{"reason"}, nil},
		{"reject: unknown", func() error { _, err := f.svc.RejectTemplate(f.ctx, tmplManager, unknown, "no"); return err }, nil, itil.ErrNotFound},
		{"retire: no reason", func() error { _, err := f.svc.RetireTemplate(f.ctx, tmplManager, published.ID, ""); return err }, []string{"reason"}, nil},
		{"retire: retired", func() error { _, err := f.svc.RetireTemplate(f.ctx, tmplManager, retired.ID, "again"); return err }, nil, itil.ErrInvalidTransition},
		{"retire: unknown", func() error { _, err := f.svc.RetireTemplate(f.ctx, tmplManager, unknown, "x"); return err }, nil, itil.ErrNotFound},
		{"update: a proposal", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, proposal.ID, change.TemplatePatch{Title: &long})
			return err
		}, nil, itil.ErrInvalidTransition},
		{"update: requested", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, requested.ID, change.TemplatePatch{Title: &long})
			return err
		}, nil, itil.ErrInvalidTransition},
		{"update: retired", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, retired.ID, change.TemplatePatch{Title: &long})
			return err
		}, nil, itil.ErrInvalidTransition},
		{"update: bad fields", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, draft.ID, change.TemplatePatch{Name: &blank, Title: &long,
				PlannedDuration: &neg, Model: &normal})
			return err
		}, []string{"name", "title", "planned_duration", "model"}, nil},
		{"update: nothing differs", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, draft.ID, change.TemplatePatch{})
			return err
		}, []string{"patch"}, nil},
		{"update published: nothing differs", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, published.ID, change.TemplatePatch{Title: &same})
			return err
		}, []string{"patch"}, nil},
		{"update published: bad fields", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, published.ID, change.TemplatePatch{Title: &long})
			return err
		}, []string{"title"}, nil},
		{"update: unknown", func() error {
			_, err := f.svc.UpdateTemplate(f.ctx, requester, unknown, change.TemplatePatch{Title: &same})
			return err
		}, nil, itil.ErrNotFound},
		{"open: unknown", func() error { _, err := f.svc.OpenFromTemplate(f.ctx, requester, unknown, start); return err }, nil, itil.ErrNotFound},
		{"open: a draft", func() error { _, err := f.svc.OpenFromTemplate(f.ctx, requester, draft.ID, start); return err }, nil, itil.ErrInvalidTransition},
		{"open: requested", func() error { _, err := f.svc.OpenFromTemplate(f.ctx, requester, requested.ID, start); return err }, nil, itil.ErrInvalidTransition},
		{"open: retired", func() error { _, err := f.svc.OpenFromTemplate(f.ctx, requester, retired.ID, start); return err }, nil, itil.ErrInvalidTransition},
		{"open: bad input", func() error {
			_, err := f.svc.OpenFromTemplate(f.ctx, itil.Actor{}, itil.NilID, change.FromTemplate{Assignee: long,
				CIIDs: []itil.ID{itil.NilID}})
			return err
		}, []string{"actor.id", "requested_by.id", "template_id", "planned_start", "assignee", "ci_ids[0]"}, nil},
		{"open: planned start out of range", func() error {
			_, err := f.svc.OpenFromTemplate(f.ctx, requester, published.ID, change.FromTemplate{PlannedStart: testkit.BadTimes[0].At})
			return err
		}, []string{"planned_start"}, nil},
		{"open: planned end out of range", func() error {
			_, err := f.svc.OpenFromTemplate(f.ctx, requester, published.ID,
				change.FromTemplate{PlannedStart: time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC)})
			return err
		}, []string{"planned_end", "planned_start"}, nil},
	}
	for _, c := range cases {
		err := c.run()
		if c.fields != nil {
			testkit.RequireFields(t, err, c.fields...)
		} else {
			require.ErrorIs(t, err, c.is, c.name)
		}
		require.Equal(t, n, testkit.JournalLen(t, f.store), "%s wrote nothing", c.name)
	}

	// A template whose model the Service does not have (another
	// instance's configuration) makes no change.
	routine := change.Model{Name: "routine", Transitions: []itil.Transition[change.State]{
		{Event: change.MoveSchedule, From: []change.State{change.StateNew}, To: change.StateScheduled},
		{Event: change.MoveClose, From: []change.State{change.StateScheduled}, To: change.StateClosed},
		{Event: change.MoveCancel, From: []change.State{change.StateNew}, To: change.StateCanceled},
	}}
	g := setup(t, func(*testing.T) storage.Store { return f.store }, change.WithModels(routine))
	in := tmplRestart()
	in.Model = "routine"
	tp := g.tmplPublished(in)
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, start)
	testkit.RequireFields(t, err, "model")
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
}

// testTemplateAuthorizer: the change Authorizer is asked about template
// commands by name, on the change the template describes.
func testTemplateAuthorizer(t *testing.T, newStore func(*testing.T) storage.Store) {
	var mu sync.Mutex
	var seen []string
	managerOnly := map[string]bool{change.CommandApproveTemplate: true, change.CommandPublishTemplate: true,
		change.CommandRejectTemplate: true, change.CommandRetireTemplate: true}
	f := setup(t, newStore, change.WithAuthorizer(func(_ context.Context, actor itil.Actor, command string, ch *change.Change) error {
		mu.Lock()
		seen = append(seen, command)
		mu.Unlock()
		if strings.HasSuffix(command, "_template") && command != change.CommandOpenFromTemplate && ch.TemplateID == itil.NilID {
			return errors.New("a template command on a change not described by a template")
		}
		if managerOnly[command] && actor.ID != tmplManager.ID {
			return fmt.Errorf("%s is for change managers", command)
		}
		return nil
	}))
	tp, err := f.svc.ProposeTemplate(f.ctx, requester, tmplRestart())
	require.NoError(t, err)
	n := testkit.JournalLen(t, f.store)
	_, err = f.svc.ApproveTemplate(f.ctx, requester, tp.ID)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
	_, err = f.svc.ApproveTemplate(f.ctx, tmplManager, tp.ID)
	require.NoError(t, err)
	_, err = f.svc.RequestTemplate(f.ctx, requester, tp.ID)
	require.NoError(t, err)
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.PublishTemplate(f.ctx, requester, tp.ID)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
	_, err = f.svc.PublishTemplate(f.ctx, tmplManager, tp.ID)
	require.NoError(t, err)
	f.tmplOpen(tp.ID)
	assert.Equal(t, []string{change.CommandProposeTemplate, change.CommandApproveTemplate, change.CommandApproveTemplate,
		change.CommandRequestTemplate, change.CommandPublishTemplate, change.CommandPublishTemplate,
		change.CommandOpenFromTemplate}, seen)
}

// testTemplateTwoInstances: two Services on two handles of one store make
// changes from one template at once; the version counts every change made
// and none twice (each count is written in the change's transaction).
func testTemplateTwoInstances(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	clock := testkit.NewClock()
	fa := &fixture{t: t, ctx: t.Context(), store: a, clock: clock}
	var err error
	fa.svc, err = change.New(a, change.WithClock(clock))
	require.NoError(t, err)
	svcB, err := change.New(b, change.WithClock(clock))
	require.NoError(t, err)
	tp := fa.tmplPublished(tmplRestart())

	const each = 6
	var wg sync.WaitGroup
	for _, svc := range []*change.Service{fa.svc, svcB} {
		wg.Go(func() {
			for range each {
				for {
					_, err := svc.OpenFromTemplate(fa.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: clock.Now().Add(time.Hour)})
					if errors.Is(err, itil.ErrConflict) {
						continue // survived the Service's retries: the caller's turn
					}
					assert.NoError(t, err)
					break
				}
			}
		})
	}
	wg.Wait()
	made := 0
	for ch, err := range svcB.List(fa.ctx, change.Filter{}) {
		require.NoError(t, err)
		if ch.TemplateID == tp.ID {
			made++
		}
	}
	assert.Equal(t, 2*each, made)
	got, err := svcB.GetTemplate(fa.ctx, tp.ID)
	require.NoError(t, err)
	assert.Equal(t, 2*each, got.Usage.Opened)

	// The next version drafted on one instance is seen by the other, which
	// then refuses a second one.
	title := "Restart nginx"
	v2, err := svcB.UpdateTemplate(fa.ctx, requester, tp.ID, change.TemplatePatch{Title: &title})
	require.NoError(t, err)
	_, err = fa.svc.UpdateTemplate(fa.ctx, requester, tp.ID, change.TemplatePatch{Title: &title})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Contains(t, err.Error(), v2.ID.String())
}
