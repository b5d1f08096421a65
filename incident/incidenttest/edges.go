package incidenttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
)

func testFirstResponse(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	responded := func(inc *incident.Incident) bool { return !f.get(inc.ID).FirstRespondedAt.IsZero() }

	byCaller := f.open("caller cancels")
	_, err := f.svc.Hold(f.ctx, caller, byCaller.ID, incident.AwaitingVendor, "")
	require.NoError(t, err)
	_, err = f.svc.Cancel(f.ctx, caller, byCaller.ID, "works again")
	require.NoError(t, err)
	assert.False(t, responded(byCaller), "the caller's own actions are no response")

	grouped := f.open("queued")
	_, err = f.svc.Assign(f.ctx, agent, grouped.ID, "desk", "")
	require.NoError(t, err)
	_, err = f.svc.WorkNote(f.ctx, agent, grouped.ID, "looking into it")
	require.NoError(t, err)
	assert.False(t, responded(grouped), "queueing and internal notes are not seen by the caller")
	f.clock.Advance(time.Minute)
	inc, err := f.svc.Assign(f.ctx, agent, grouped.ID, "desk", "alex")
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now(), inc.FirstRespondedAt, "an engineer took it")

	commented := f.open("answered")
	_, err = f.svc.Comment(f.ctx, agent, commented.ID, "We are on it")
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now(), f.get(commented.ID).FirstRespondedAt)

	parent, child := f.open("parent"), f.open("child")
	_, err = f.svc.LinkChild(f.ctx, agent, parent.ID, child.ID)
	require.NoError(t, err)
	_, err = f.svc.Resolve(f.ctx, agent, parent.ID, "solution_provided", "fixed")
	require.NoError(t, err)
	assert.True(t, responded(parent))
	assert.False(t, responded(child), "a cascade is no response to the child's caller")
}

func testHoldReasonChange(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("waiting")
	_, err := f.svc.Hold(f.ctx, agent, inc.ID, incident.AwaitingVendor, "")
	require.NoError(t, err)
	_, err = f.svc.Hold(f.ctx, agent, inc.ID, incident.AwaitingVendor, "")
	testkit.RequireInvalid(t, err, "reason")
	inc, err = f.svc.Hold(f.ctx, agent, inc.ID, incident.AwaitingCaller, "Please send the log file")
	require.NoError(t, err)
	assert.Equal(t, incident.StateOnHold, inc.State)
	assert.Equal(t, incident.AwaitingCaller, inc.HoldReason)
	h, err := f.svc.History(f.ctx, inc.ID)
	require.NoError(t, err)
	var last itil.HistoryEntry
	for _, e := range h {
		if e.Kind == incident.Kind {
			last = e
		}
	}
	require.Equal(t, incident.EventHeld, last.Type)
	var fields []string
	for _, c := range last.Fields {
		fields = append(fields, c.Field)
		if c.Field == "hold_reason" {
			assert.Equal(t, `"awaiting_vendor"`, string(c.From))
			assert.Equal(t, `"awaiting_caller"`, string(c.To), "the journal carries the hold reason")
		}
	}
	assert.Contains(t, fields, "hold_reason")
	assert.NotContains(t, fields, "state", "the state did not change")
}

func testPinPriority(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("pinned") // P3
	inc, err := f.svc.OverridePriority(f.ctx, agent, inc.ID, itil.P3, "keep P3 whatever the reclassification")
	require.NoError(t, err)
	require.NotNil(t, inc.Override)
	one := itil.Impact(1)
	inc, err = f.svc.Update(f.ctx, agent, inc.ID, incident.Patch{Impact: &one})
	require.NoError(t, err)
	assert.Equal(t, itil.P3, inc.Priority)
	_, err = f.svc.OverridePriority(f.ctx, agent, inc.ID, itil.P3, "again")
	testkit.RequireInvalid(t, err, "priority")
}

func testCanceledParent(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	parent, child := f.open("parent"), f.open("child")
	_, err := f.svc.LinkChild(f.ctx, agent, parent.ID, child.ID)
	require.NoError(t, err)
	_, err = f.svc.Resolve(f.ctx, agent, child.ID, "user_error", "typo")
	require.NoError(t, err)
	_, err = f.svc.Cancel(f.ctx, agent, parent.ID, "raised in error")
	require.NoError(t, err)
	inc, err := f.svc.Reopen(f.ctx, caller, child.ID, "still failing")
	require.NoError(t, err, "a canceled parent does not settle its children")
	assert.Equal(t, incident.StateInProgress, inc.State)
}

func testBadActors(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	inc := f.open("actors")
	_, err := f.svc.Comment(f.ctx, itil.Actor{ID: "c\xff"}, inc.ID, "hello")
	testkit.RequireInvalid(t, err, "actor.id")

	// A command by an invalid actor is refused for the actor alone: its
	// other checks would tell about the incident.
	var v *itil.ValidationError
	_, err = f.svc.Escalate(f.ctx, itil.Actor{}, inc.ID, 0, "")
	require.ErrorAs(t, err, &v)
	assert.Equal(t, []itil.FieldError{{Field: "actor.id", Reason: "is required"}}, v.Fields)
	in := basic("bad caller")
	in.Caller = itil.Actor{ID: "x", Name: "\xfe"}
	_, err = f.svc.Open(f.ctx, itil.Actor{}, in)
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("actor.id"))
	assert.True(t, v.Has("caller.name"))
	assert.Equal(t, incident.StateNew, f.get(inc.ID).State)
}

// A context that ends inside a command fails that command only; the next
// commands work.
func testEndedContext(t *testing.T, newStore NewStore) {
	var cancel context.CancelFunc
	f := setup(t, newStore, incident.WithAuthorizer(func(ctx context.Context, _ itil.Actor, command string, _ *incident.Incident) error {
		if command == "resolve" && cancel != nil {
			cancel()
		}
		return nil
	}))
	inc := f.open("cut short")
	ctx, c := context.WithCancel(f.ctx)
	cancel = c
	_, err := f.svc.Resolve(ctx, agent, inc.ID, "solution_provided", "fixed")
	require.ErrorIs(t, err, context.Canceled)
	cancel = nil
	assert.Equal(t, incident.StateNew, f.get(inc.ID).State)
	for range 3 {
		other := f.open("later")
		_, err := f.svc.Resolve(f.ctx, agent, other.ID, "solution_provided", "fixed")
		require.NoError(t, err)
	}
}

func testAutoCloseKeepsGoing(t *testing.T, newStore NewStore) {
	refuse := errors.New("frozen for the audit")
	f := setup(t, newStore, incident.WithAuthorizer(func(_ context.Context, a itil.Actor, command string, inc *incident.Incident) error {
		if command == "close" && inc.Title == "audited" {
			return refuse
		}
		return nil
	}))
	audited, other := f.open("audited"), f.open("other")
	for _, inc := range []*incident.Incident{audited, other} {
		_, err := f.svc.Resolve(f.ctx, agent, inc.ID, "solution_provided", "done")
		require.NoError(t, err)
	}
	f.clock.Advance(4 * 24 * time.Hour)
	n, err := f.svc.AutoClose(f.ctx)
	assert.Equal(t, 1, n)
	require.ErrorIs(t, err, itil.ErrForbidden)
	require.ErrorIs(t, err, refuse)
	assert.Equal(t, incident.StateResolved, f.get(audited.ID).State)
	assert.Equal(t, incident.StateClosed, f.get(other.ID).State)
}

func testOptions(t *testing.T, newStore NewStore) {
	store := newStore(t)
	_, err := incident.New(store, incident.Option{})
	testkit.RequireInvalid(t, err, "options[0]")
	_, err = incident.New(nil)
	testkit.RequireInvalid(t, err, "store")
	_, err = incident.New(store, incident.WithResolutionCodes("ok", "ok", "\xff"))
	testkit.RequireInvalid(t, err, "resolution_codes")

	f := setup(t, newStore, incident.WithResolutionCodes("first"), incident.WithResolutionCodes("fixed"))
	inc := f.open("codes")
	_, err = f.svc.Resolve(f.ctx, agent, inc.ID, "first", "notes")
	testkit.RequireInvalid(t, err, "resolution_code")
	_, err = f.svc.Resolve(f.ctx, agent, inc.ID, "fixed", "notes")
	require.NoError(t, err)

	codes := incident.DefaultResolutionCodes()
	codes[0] = "changed"
	assert.NotEqual(t, "changed", incident.DefaultResolutionCodes()[0])

	_, _, err = f.svc.ListPage(f.ctx, incident.Filter{OpenedFrom: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, 0, "")
	testkit.RequireInvalid(t, err, "opened_from")
}

// Linking changes the parent too, so the actor must be allowed on both.
func testLinkAuthorizesParent(t *testing.T, newStore NewStore) {
	f := setup(t, newStore, incident.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, inc *incident.Incident) error {
		if command == "link" && inc.Title == "locked" {
			return errors.New("locked by the major incident manager")
		}
		return nil
	}))
	locked, child := f.open("locked"), f.open("child")
	journal := f.journalLen()
	_, err := f.svc.LinkChild(f.ctx, agent, locked.ID, child.ID)
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.Equal(t, journal, f.journalLen())
	assert.Zero(t, f.get(locked.ID).ChildCount)
}
