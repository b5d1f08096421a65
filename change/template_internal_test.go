package change

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage/memory"
)

func ptr[T any](v T) *T { return &v }

// TestTemplateFixed: on a change made from a template, a patch may not
// change what the template fixes, nor the planned duration; it may
// reschedule, and change what the template does not fix.
func TestTemplateFixed(t *testing.T) {
	start := time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC)
	ci := itil.NewID()
	made := &Change{Title: "Restart web01", Description: "nightly restart", Implementation: "systemctl restart",
		Backout: "start it again", TestPlan: "curl /health", CIID: ci, Impact: 3,
		PlannedStart: start, PlannedEnd: start.Add(30 * time.Minute), TemplateID: itil.NewID(), TemplateVersion: 2}
	cases := []struct {
		name   string
		patch  Patch
		fields []string
	}{
		{"title", Patch{Title: ptr("Restart web02")}, []string{"title"}},
		{"plans", Patch{Implementation: ptr("reboot"), Backout: ptr("none"), TestPlan: ptr("")},
			[]string{"implementation_plan", "backout_plan", "test_plan"}},
		{"description", Patch{Description: ptr("")}, []string{"description"}},
		{"primary CI", Patch{CIID: ptr(itil.NewID())}, []string{"ci_id"}},
		{"impact", Patch{Impact: ptr(itil.Impact(1))}, []string{"impact"}},
		{"start alone", Patch{PlannedStart: ptr(start.Add(time.Hour))}, []string{"planned_start"}},
		{"end alone", Patch{PlannedEnd: ptr(start.Add(time.Hour))}, []string{"planned_end"}},
		{"both, stretched", Patch{PlannedStart: ptr(start.Add(time.Hour)), PlannedEnd: ptr(start.Add(3 * time.Hour))},
			[]string{"planned_start", "planned_end"}},
		{"cleared", Patch{PlannedStart: ptr(time.Time{}), PlannedEnd: ptr(time.Time{})}, []string{"planned_start", "planned_end"}},
		{"same values", Patch{Title: ptr(made.Title), CIID: ptr(ci), Impact: ptr(itil.Impact(3)),
			PlannedStart: ptr(start), PlannedEnd: ptr(made.PlannedEnd)}, nil},
		{"rescheduled", Patch{PlannedStart: ptr(start.Add(24 * time.Hour)), PlannedEnd: ptr(made.PlannedEnd.Add(24 * time.Hour))}, nil},
		{"not fixed", Patch{Justification: ptr("monthly patching"), CIIDs: ptr([]itil.ID{itil.NewID()})}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := templateFixed(made, c.patch)
			if c.fields == nil {
				require.NoError(t, err)
			} else {
				testkit.RequireFields(t, err, c.fields...)
				assert.Contains(t, err.Error(), "version 2")
			}
			free := made.clone()
			free.TemplateID, free.TemplateVersion = itil.NilID, 0
			require.NoError(t, templateFixed(free, c.patch), "a change not made from a template")
		})
	}
	testkit.RequireFields(t, templateLocked(made, "group"), "group")
	testkit.RequireFields(t, templateLocked(made, "model"), "model")
	require.NoError(t, templateLocked(&Change{}, "group"))
}

// TestTemplateClosed: each close code, and a cancellation, counts on the
// version the change was made from, in the closing transaction, as Close
// and Cancel will call templateClosed.
func TestTemplateClosed(t *testing.T) {
	ctx := t.Context()
	store := memory.NewStore()
	clock := testkit.NewClock()
	svc, err := New(store, WithClock(clock))
	require.NoError(t, err)
	who := itil.Actor{ID: "cm", Name: "Change Manager"}
	publish := func(id itil.ID) *Template {
		_, err := svc.RequestTemplate(ctx, who, id)
		require.NoError(t, err)
		tp, err := svc.PublishTemplate(ctx, who, id)
		require.NoError(t, err)
		return tp
	}
	v1, err := svc.ProposeTemplate(ctx, who, NewTemplate{Name: "Restart a web server", Title: "Restart web01",
		Implementation: "systemctl restart nginx", Backout: "systemctl start nginx", PlannedDuration: 30 * time.Minute})
	require.NoError(t, err)
	_, err = svc.ApproveTemplate(ctx, who, v1.ID)
	require.NoError(t, err)
	v1 = publish(v1.ID)
	open := func(tp *Template) *Change {
		ch, err := svc.OpenFromTemplate(ctx, who, tp.ID, FromTemplate{PlannedStart: clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		return ch
	}
	review := func(ch *Change) {
		for _, m := range []string{MoveSchedule, MoveImplement, MoveReview} {
			_, err := svc.Move(ctx, who, ch.ID, m)
			require.NoError(t, err)
		}
	}
	// end closes (or, with no code, cancels) the change: either counts
	// its outcome on its template version (templateClosed).
	end := func(ch *Change, code CloseCode) error {
		var err error
		if code == "" {
			_, err = svc.Cancel(ctx, who, ch.ID, "not needed")
		} else {
			if code != Successful {
				if _, err := svc.RecordReview(ctx, who, ch.ID, ReviewInput{WhatHappened: "it did not go to plan"}); err != nil {
					return err
				}
			}
			_, err = svc.Close(ctx, who, ch.ID, code, "done")
		}
		return err
	}
	var made []*Change
	for range 4 {
		made = append(made, open(v1))
	}
	// The next version is published while changes made from v1 are under
	// way: they still count on v1.
	v2, err := svc.UpdateTemplate(ctx, who, v1.ID, TemplatePatch{PlannedDuration: ptr(45 * time.Minute)})
	require.NoError(t, err)
	v2 = publish(v2.ID)
	from2 := open(v2)

	for i, code := range []CloseCode{Successful, SuccessfulWithIssues, Unsuccessful} {
		review(made[i])
		require.NoError(t, end(made[i], code))
	}
	require.NoError(t, end(made[3], ""))
	review(from2)
	require.NoError(t, end(from2, Successful))

	got, err := svc.GetTemplate(ctx, v1.ID)
	require.NoError(t, err)
	assert.Equal(t, TemplateRetired, got.State)
	assert.Equal(t, TemplateUsage{Opened: 4, Successful: 1, SuccessfulWithIssues: 1, Unsuccessful: 1, Canceled: 1}, got.Usage)
	rate, ok := got.Usage.SuccessRate()
	assert.True(t, ok)
	assert.InDelta(t, 1.0/3, rate, 1e-9)
	got2, err := svc.GetTemplate(ctx, v2.ID)
	require.NoError(t, err)
	assert.Equal(t, TemplateUsage{Opened: 1, Successful: 1}, got2.Usage)
	rate, _ = got2.Usage.SuccessRate()
	assert.Equal(t, 1.0, rate)
	_, ok = TemplateUsage{Opened: 3}.SuccessRate()
	assert.False(t, ok, "none closed")

	// The outcome is journaled on the version, naming the change.
	h, err := svc.TemplateHistory(ctx, v2.ID)
	require.NoError(t, err)
	last := h[len(h)-1]
	assert.Equal(t, EventTemplateOutcome, last.Type)
	assert.Equal(t, []itil.ID{from2.ID}, last.Refs)

	// A change not ended is refused, and nothing is written; a change
	// not made from a template is left alone.
	running := open(v2)
	n := testkit.JournalLen(t, store)
	err = svc.run.Do(ctx, who, func(c *cmd) error {
		ch, err := c.Load(running.ID)
		if err != nil {
			return err
		}
		return svc.templateClosed(c, ch)
	})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	plain, err := svc.Open(ctx, who, NewChange{Model: ModelNormal, Title: "By hand"})
	require.NoError(t, err)
	n++
	require.NoError(t, svc.run.Do(context.Background(), who, func(c *cmd) error {
		ch, err := c.Load(plain.ID)
		if err != nil {
			return err
		}
		return svc.templateClosed(c, ch)
	}))
	assert.Equal(t, n, testkit.JournalLen(t, store))
}
