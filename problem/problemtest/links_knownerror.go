package problemtest

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
)

// testResolveWithKnownError: an incident resolved by a published known
// error names it, is linked to its problem (once), and is counted on the
// known error, in one transaction; every refusal writes nothing; the
// incident's own Resolve refuses the code.
func testResolveWithKnownError(t *testing.T, newStore NewStore) {
	var denyResolve, denyCount atomic.Bool
	f := setupLinks(t, newStore, []incident.Option{incident.WithAuthorizer(
		func(_ context.Context, _ itil.Actor, command string, _ *incident.Incident) error {
			if denyResolve.Load() && command == incident.CommandResolve {
				return errors.New("not today")
			}
			return nil
		})}, problem.WithKnownErrorAuthorizer(
		func(_ context.Context, _ itil.Actor, command string, _ *problem.KnownError) error {
			if denyCount.Load() && command == problem.CommandResolveWithKnownError {
				return errors.New("not this known error")
			}
			return nil
		}))
	p := f.toFix("VPN drops every hour")
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Workaround: ptr("reconnect"), FixNotes: ptr(fixText)})
	require.NoError(t, err)
	ke, err := f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{ErrorCode: "VPN-809"})
	require.NoError(t, err)

	// The incident's own Resolve refuses the code: nothing names the
	// known error there.
	a := f.openIncident("VPN dropped")
	_, err = f.inc.Resolve(f.ctx, agent, a.ID, incident.KnownErrorCode, "see the known error")
	testkit.RequireInvalid(t, err, "resolution_code")

	// Unlinked: linked to the known error's problem, resolved, counted.
	got, err := f.svc.ResolveWithKnownError(f.ctx, agent, a.ID, ke.ID, "reconnected, as the known error says")
	require.NoError(t, err)
	assert.Equal(t, incident.StateResolved, got.State)
	assert.Equal(t, incident.KnownErrorCode, got.ResolutionCode)
	assert.Equal(t, ke.ID, got.KnownErrorID)
	assert.Equal(t, p.ID, got.ProblemID)
	assert.Equal(t, got, f.getIncident(a.ID))
	assert.Equal(t, 1, f.get(p.ID).IncidentCount)
	k, err := f.ke().Get(f.ctx, ke.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, k.IncidentCount)
	h, err := f.svc.History(f.ctx, p.ID)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(h, func(e itil.HistoryEntry) bool {
		return e.Type == problem.EventIncidentLinked && e.SubjectID == p.ID && slices.Contains(e.Refs, a.ID) && slices.Contains(e.Refs, ke.ID)
	}), "the problem's half of the link names the incident and the known error")

	// Linked already: not linked twice; the known error counts it.
	b := f.openIncident("VPN dropped again")
	f.link(p.ID, b.ID)
	_, err = f.svc.ResolveWithKnownError(f.ctx, agent, b.ID, ke.ID, "reconnected")
	require.NoError(t, err)
	assert.Equal(t, 2, f.get(p.ID).IncidentCount)
	k, err = f.ke().Get(f.ctx, ke.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, k.IncidentCount)

	// Reopening clears the known error the resolution named.
	re, err := f.inc.Reopen(f.ctx, agent, b.ID, "dropped once more")
	require.NoError(t, err)
	assert.Equal(t, itil.NilID, re.KnownErrorID)
	// The known error counts uses: the reopened incident still counts,
	// and counts again when resolved with it again; it is linked already.
	assert.Equal(t, 2, must(f.ke().Get(f.ctx, ke.ID)).IncidentCount)
	_, err = f.svc.ResolveWithKnownError(f.ctx, agent, b.ID, ke.ID, "reconnected again")
	require.NoError(t, err)
	assert.Equal(t, 3, must(f.ke().Get(f.ctx, ke.ID)).IncidentCount)
	assert.Equal(t, 2, f.get(p.ID).IncidentCount)

	// The problem closed: the incident is still linked to it.
	_, err = f.svc.Resolve(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	_, err = f.svc.Complete(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	c := f.openIncident("VPN dropped after the fix")
	got, err = f.svc.ResolveWithKnownError(f.ctx, agent, c.ID, ke.ID, "reconnected")
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ProblemID)
	assert.Equal(t, 3, f.get(p.ID).IncidentCount, "c counts on the closed problem")

	// Refusals: nothing written.
	other := f.open("another problem")
	d := f.openIncident("someone else's")
	f.link(other.ID, d.ID)
	draft, err := f.ke().Create(f.ctx, analyst, problem.NewKnownError{Title: "draft", Symptom: "s", Workaround: "w"})
	require.NoError(t, err)
	retired := f.published(problem.NewKnownError{Title: "old", Symptom: "s", Workaround: "w"})
	_, err = f.ke().Retire(f.ctx, analyst, retired.ID, "gone")
	require.NoError(t, err)
	expiring := f.published(problem.NewKnownError{Title: "expiring", Symptom: "s", Workaround: "w", ValidTo: f.clock.Now().Add(time.Hour)})
	f.clock.Advance(time.Hour)
	fresh := f.openIncident("fresh")
	canceled := f.openIncident("canceled")
	incCanceled.to(f, canceled.ID)
	refused := []struct {
		name  string
		inc   itil.ID
		ke    itil.ID
		notes string
		check func(t *testing.T, err error)
	}{
		{"no incident", itil.NilID, ke.ID, "n", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "incident_id") }},
		{"no known error", fresh.ID, itil.NilID, "n", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "known_error_id") }},
		{"unknown known error", fresh.ID, itil.NewID(), "n", func(t *testing.T, err error) {
			require.ErrorIs(t, err, itil.ErrNotFound)
			require.ErrorContains(t, err, "known_error_id")
		}},
		{"unknown incident", itil.NewID(), ke.ID, "n", func(t *testing.T, err error) {
			require.ErrorIs(t, err, itil.ErrNotFound)
			require.ErrorContains(t, err, "incident_id")
		}},
		{"a draft", fresh.ID, draft.ID, "n", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "known_error_id") }},
		{"retired", fresh.ID, retired.ID, "n", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "known_error_id") }},
		{"expired", fresh.ID, expiring.ID, "n", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "known_error_id") }},
		{"another problem's incident", d.ID, ke.ID, "n", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "incident_id") }},
		{"resolved already", a.ID, ke.ID, "n", func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrInvalidTransition) }},
		{"canceled", canceled.ID, ke.ID, "n", func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrInvalidTransition) }},
		{"blank notes", fresh.ID, ke.ID, " ", func(t *testing.T, err error) { testkit.RequireInvalid(t, err, "resolution_notes") }},
		{"resolution refused after the link", fresh.ID, ke.ID, "n", func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrForbidden) }},
		{"count refused by the known error Authorizer", fresh.ID, ke.ID, "n", func(t *testing.T, err error) { require.ErrorIs(t, err, itil.ErrForbidden) }},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			denyResolve.Store(r.name == "resolution refused after the link")
			denyCount.Store(r.name == "count refused by the known error Authorizer")
			defer denyResolve.Store(false)
			defer denyCount.Store(false)
			n, before, kb := f.journalLen(), f.get(p.ID), must(f.ke().Get(f.ctx, ke.ID))
			_, err := f.svc.ResolveWithKnownError(f.ctx, agent, r.inc, r.ke, r.notes)
			r.check(t, err)
			assert.Equal(t, n, f.journalLen(), "nothing journaled")
			assert.Equal(t, before, f.get(p.ID))
			assert.Equal(t, kb, must(f.ke().Get(f.ctx, ke.ID)))
			assert.Equal(t, itil.NilID, f.getIncident(fresh.ID).ProblemID)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// testKnownErrorOfEndedProblem: a known error outlives its problem. When
// the problem is marked a duplicate, the survivor takes the known error
// and the incidents it resolves join the survivor (a duplicate has no
// incidents); when the problem is canceled, they join no problem.
func testKnownErrorOfEndedProblem(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	dup := f.toRCA("VPN drops every hour")
	_, err := f.svc.Update(f.ctx, analyst, dup.ID, problem.Patch{Workaround: ptr("reconnect")})
	require.NoError(t, err)
	ke, err := f.svc.PublishKnownError(f.ctx, analyst, dup.ID, problem.FromProblem{ErrorCode: "VPN-809"})
	require.NoError(t, err)
	survivor := f.toRCA("VPN unstable")
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, dup.ID, survivor.ID)
	require.NoError(t, err)
	assert.Equal(t, ke.ID, f.get(survivor.ID).KnownErrorID, "the survivor takes the duplicate's known error")
	a := f.openIncident("VPN dropped")
	got, err := f.svc.ResolveWithKnownError(f.ctx, agent, a.ID, ke.ID, "reconnected")
	require.NoError(t, err)
	assert.Equal(t, survivor.ID, got.ProblemID)
	assert.Equal(t, 1, f.get(survivor.ID).IncidentCount)
	assert.Zero(t, f.get(dup.ID).IncidentCount, "a duplicate has no incidents")

	// A survivor with a known error of its own keeps it.
	dup2 := f.toRCA("VPN drops at noon")
	_, err = f.svc.Update(f.ctx, analyst, dup2.ID, problem.Patch{Workaround: ptr("reconnect")})
	require.NoError(t, err)
	ke2, err := f.svc.PublishKnownError(f.ctx, analyst, dup2.ID, problem.FromProblem{})
	require.NoError(t, err)
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, dup2.ID, survivor.ID)
	require.NoError(t, err)
	assert.Equal(t, ke.ID, f.get(survivor.ID).KnownErrorID)
	b := f.openIncident("VPN dropped at noon")
	got, err = f.svc.ResolveWithKnownError(f.ctx, agent, b.ID, ke2.ID, "reconnected")
	require.NoError(t, err)
	assert.Equal(t, survivor.ID, got.ProblemID, "dup2's known error still leads to the survivor")

	// A survivor whose known error is retired takes the duplicate's.
	old := f.toRCA("DNS slow")
	_, err = f.svc.Update(f.ctx, analyst, old.ID, problem.Patch{Workaround: ptr("use the secondary resolver")})
	require.NoError(t, err)
	retired, err := f.svc.PublishKnownError(f.ctx, analyst, old.ID, problem.FromProblem{})
	require.NoError(t, err)
	_, err = f.ke().Retire(f.ctx, analyst, retired.ID, "superseded")
	require.NoError(t, err)
	dup3 := f.toRCA("DNS timeouts")
	_, err = f.svc.Update(f.ctx, analyst, dup3.ID, problem.Patch{Workaround: ptr("flush the cache")})
	require.NoError(t, err)
	ke4, err := f.svc.PublishKnownError(f.ctx, analyst, dup3.ID, problem.FromProblem{})
	require.NoError(t, err)
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, dup3.ID, old.ID)
	require.NoError(t, err)
	assert.Equal(t, ke4.ID, f.get(old.ID).KnownErrorID)
	// A duplicate's retired known error is not handed on.
	dup5 := f.toRCA("DNS flaps")
	_, err = f.svc.Update(f.ctx, analyst, dup5.ID, problem.Patch{Workaround: ptr("pin the resolver")})
	require.NoError(t, err)
	ke5, err := f.svc.PublishKnownError(f.ctx, analyst, dup5.ID, problem.FromProblem{})
	require.NoError(t, err)
	_, err = f.ke().Retire(f.ctx, analyst, ke5.ID, "the resolver was replaced")
	require.NoError(t, err)
	bare := f.toRCA("DNS unstable")
	_, err = f.svc.MarkDuplicate(f.ctx, analyst, dup5.ID, bare.ID)
	require.NoError(t, err)
	assert.Equal(t, itil.NilID, f.get(bare.ID).KnownErrorID)

	// Canceled: the incident joins no problem; the known error counts it.
	gone := f.toRCA("printer jams")
	_, err = f.svc.Update(f.ctx, analyst, gone.ID, problem.Patch{Workaround: ptr("open tray 2")})
	require.NoError(t, err)
	ke3, err := f.svc.PublishKnownError(f.ctx, analyst, gone.ID, problem.FromProblem{})
	require.NoError(t, err)
	_, err = f.svc.Cancel(f.ctx, analyst, gone.ID, "the printer was replaced")
	require.NoError(t, err)
	c := f.openIncident("printer jammed")
	got, err = f.svc.ResolveWithKnownError(f.ctx, agent, c.ID, ke3.ID, "opened tray 2")
	require.NoError(t, err)
	assert.Equal(t, itil.NilID, got.ProblemID)
	assert.Zero(t, f.get(gone.ID).IncidentCount)
	assert.Equal(t, 1, must(f.ke().Get(f.ctx, ke3.ID)).IncidentCount)
}

// testKnownErrorChildren: resolving a parent incident with a known error
// resolves its open children with it, and each is linked to the known
// error's problem and counted; a child that belongs to another problem
// refuses it all.
func testKnownErrorChildren(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	p := f.toRCA("VPN drops every hour")
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Workaround: ptr("reconnect")})
	require.NoError(t, err)
	ke, err := f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{})
	require.NoError(t, err)
	parent, unlinked, linked, done := f.openIncident("VPN down for the floor"), f.openIncident("VPN down: Ana"),
		f.openIncident("VPN down: Ben"), f.openIncident("VPN down: Cy")
	for _, k := range []*incident.Incident{unlinked, linked, done} {
		_, err := f.inc.LinkChild(f.ctx, agent, parent.ID, k.ID)
		require.NoError(t, err)
	}
	f.link(p.ID, linked.ID)
	_, err = f.inc.Resolve(f.ctx, agent, done.ID, "workaround_provided", "reconnected")
	require.NoError(t, err)

	// A child of another problem refuses it all.
	other := f.open("another problem")
	stray := f.openIncident("VPN down: Di")
	_, err = f.inc.LinkChild(f.ctx, agent, parent.ID, stray.ID)
	require.NoError(t, err)
	f.link(other.ID, stray.ID)
	n, before := f.journalLen(), f.get(p.ID)
	_, err = f.svc.ResolveWithKnownError(f.ctx, agent, parent.ID, ke.ID, "reconnected")
	testkit.RequireFields(t, err, "incident_id")
	require.ErrorContains(t, err, "child "+stray.Number)
	assert.Equal(t, n, f.journalLen(), "nothing written")
	assert.Equal(t, before, f.get(p.ID))
	_, err = f.svc.UnlinkIncident(f.ctx, analyst, other.ID, stray.ID)
	require.NoError(t, err)

	got, err := f.svc.ResolveWithKnownError(f.ctx, agent, parent.ID, ke.ID, "reconnected")
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ProblemID)
	for _, k := range []*incident.Incident{unlinked, linked, stray} {
		k = f.getIncident(k.ID)
		assert.Equal(t, incident.StateResolved, k.State, k.Number)
		assert.Equal(t, incident.KnownErrorCode, k.ResolutionCode, k.Number)
		assert.Equal(t, ke.ID, k.KnownErrorID, k.Number)
		assert.Equal(t, p.ID, k.ProblemID, k.Number)
	}
	d := f.getIncident(done.ID)
	assert.Equal(t, "workaround_provided", d.ResolutionCode, "a child resolved before keeps its resolution")
	assert.Equal(t, itil.NilID, d.ProblemID)
	assert.Equal(t, 4, f.get(p.ID).IncidentCount, "the parent and three children")
	assert.Equal(t, 4, must(f.ke().Get(f.ctx, ke.ID)).IncidentCount)
}
