package change

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
)

// FromTemplate is what OpenFromTemplate needs besides the template.
type FromTemplate struct {
	// PlannedStart is required; the planned end is the start plus the
	// template's planned duration.
	PlannedStart time.Time
	// RequestedBy is who asks for the change; the actor opening it when
	// zero.
	RequestedBy   itil.Actor
	Justification string
	Assignee      string
	// CIID is the primary CI of a template that names none; a template
	// that names one fixes it, and CIID must then be empty or the same.
	CIID itil.ID
	// CIIDs are the other CIs the change touches (not fixed by the
	// template).
	CIIDs []itil.ID
}

// OpenFromTemplate records a standard change made from the published
// template version templateID, in state New, and numbers it (CHG0001001).
// The change follows the template's model (ModelStandard unless the
// template names another model with no approval states) and is so
// pre-approved: its model has no state that waits for approvals, so it
// goes from New to Scheduled without any. It gets the fields the template
// fixes (title, description, implementation, backout and test plans,
// assignment group, primary CI, impact), which stay read-only on it
// (Update refuses to change them, and to change its planned duration);
// its planned end is in.PlannedStart plus the template's planned
// duration; TemplateID and TemplateVersion name the version. In the same
// transaction the version counts the change (Template.Usage.Opened).
//
// Bad input gives a *itil.ValidationError naming the fields; an unknown
// template an error wrapping itil.ErrNotFound; a template that is not
// published one wrapping itil.ErrInvalidTransition (for a retired
// version, it names the version published since, if any). The
// Authorizer is asked for CommandOpenFromTemplate on the change as it
// would be created, once the template is read: an unknown template gives
// itil.ErrNotFound before the Authorizer is asked, as every command on an
// unknown ID does.
func (s *Service) OpenFromTemplate(ctx context.Context, actor itil.Actor, templateID itil.ID, in FromTemplate) (*Change, error) {
	if in.RequestedBy == (itil.Actor{}) {
		in.RequestedBy = actor
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	in.RequestedBy.Validate("requested_by", &v)
	if templateID == itil.NilID {
		v.Add("template_id", "is required")
	}
	if in.PlannedStart.IsZero() {
		v.Add("planned_start", "is required: the planned end is the start plus the template's planned duration")
	} else {
		check.Time(&v, "planned_start", in.PlannedStart)
	}
	check.Text(&v, "justification", in.Justification, false, check.Long)
	check.Text(&v, "assignee", in.Assignee, false, check.Short)
	ids(&v, "ci_ids", in.CIIDs, MaxCIs-1)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Change
	err := s.run.Do(ctx, actor, func(c *cmd) error {
		out = nil
		tc := pipeline.Other(c, s.templateRunner())
		t, err := tc.Load(templateID)
		if err != nil {
			return fmt.Errorf("template: %w", err)
		}
		ch := &Change{
			ID: itil.NewID(), Model: t.Model, State: StateNew, Title: t.Title, Description: t.Description,
			Justification: in.Justification, Implementation: t.Implementation, Backout: t.Backout,
			TestPlan: t.TestPlan, RequestedBy: in.RequestedBy, AssignmentGroup: t.AssignmentGroup,
			Assignee: in.Assignee, CIID: t.CIID, CIIDs: slices.Clone(in.CIIDs), Impact: t.Impact,
			PlannedStart: in.PlannedStart, PlannedEnd: in.PlannedStart.Add(t.PlannedDuration),
			TemplateID: t.ID, TemplateVersion: t.Revision, OpenedBy: c.Actor,
		}
		if len(ch.CIIDs) == 0 {
			ch.CIIDs = nil
		}
		if ch.CIID == itil.NilID {
			ch.CIID = in.CIID
		}
		if err := c.Authorize(CommandOpenFromTemplate, ch); err != nil {
			return err
		}
		if t.State != TemplatePublished {
			return notPublished(tc, t)
		}
		var v itil.ValidationError
		if in.CIID != itil.NilID && in.CIID != ch.CIID {
			v.Add("ci_id", "template "+t.label()+" fixes the primary CI ("+t.CIID.String()+")")
		}
		s.templateModel(&v, t.Model)
		ch.validate(&v)
		if err := v.Err(); err != nil {
			return err
		}
		num, err := c.Number(Kind, NumberPrefix)
		if err != nil {
			return err
		}
		ch.Number, ch.OpenedAt = num, c.Now
		if err := s.setAffectedServices(c, ch); err != nil { // cmdb.go
			return err
		}
		if plannedOf(ch) != nil {
			if err := s.rebook(c, ch, nil, slot{}); err != nil { // schedule_check.go
				return err
			}
		}
		if err := c.Save(ch, event{Type: EventOpened, Refs: []itil.ID{t.ID},
			Summary: "opened " + ch.Number + " (" + ch.Model + ") from " + t.label() + " " + strconv.Quote(ch.Title)}); err != nil {
			return err
		}
		t.Usage.Opened++
		if err := tc.Save(t, event{Type: EventTemplateUsed, Refs: []itil.ID{ch.ID},
			Summary: ch.Number + " made from " + t.label() + " (" + strconv.Itoa(t.Usage.Opened) + " so far)"}); err != nil {
			return err
		}
		out = ch
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// notPublished is the error of OpenFromTemplate on a template that is not
// published; for a version retired since, it names the published one of
// its line, when there is one.
func notPublished(tc *tcmd, t *Template) error {
	for id := t.NextID; id != itil.NilID; {
		n, err := tc.Load(id)
		if err != nil {
			return fmt.Errorf("template %s: %w", t.label(), err)
		}
		if n.State == TemplatePublished {
			return itilTransition("template %s is %s: make the change from %s (ID %s)", t.label(), t.State, n.label(), n.ID)
		}
		id = n.NextID
	}
	return itilTransition("template %s is %s: changes are made only from a published template", t.label(), t.State)
}

// templateLocked refuses, on a change made from a template, a command
// that would change field, which the template fixes; nil for another
// change. Update calls it through templateFixed; Assign should call it as
// templateLocked(ch, "group") when the group changes, and SetModel as
// templateLocked(ch, "model").
func templateLocked(ch *Change, field string) error {
	if ch.TemplateID == itil.NilID {
		return nil
	}
	return itil.Invalid(field, fixedReason(ch))
}

func fixedReason(ch *Change) string {
	return "is fixed by the template the change was made from (version " + strconv.Itoa(ch.TemplateVersion) + ")"
}

// templateFixed refuses a patch that would change what the template of a
// change made from one fixes: title, description, implementation, backout
// and test plans, primary CI and impact, each named in the
// *itil.ValidationError it returns, and the planned duration: the patch
// may move the planned times (reschedule), but planned end minus planned
// start must stay as it is, and neither may be cleared (the planned times
// the patch sets are named). A field the patch sets to its current value
// is no change. For a change not made from a template, and for a patch
// that changes none of these, it returns nil. Update calls it first, on
// the change as loaded.
func templateFixed(ch *Change, p Patch) error {
	if ch.TemplateID == itil.NilID {
		return nil
	}
	var v itil.ValidationError
	text := func(field, is string, to *string) {
		if to != nil && *to != is {
			v.Add(field, fixedReason(ch))
		}
	}
	text("title", ch.Title, p.Title)
	text("description", ch.Description, p.Description)
	text("implementation_plan", ch.Implementation, p.Implementation)
	text("backout_plan", ch.Backout, p.Backout)
	text("test_plan", ch.TestPlan, p.TestPlan)
	if p.CIID != nil && *p.CIID != ch.CIID {
		v.Add("ci_id", fixedReason(ch))
	}
	if p.Impact != nil && *p.Impact != ch.Impact {
		v.Add("impact", fixedReason(ch))
	}
	if p.PlannedStart != nil || p.PlannedEnd != nil {
		start, end := ch.PlannedStart, ch.PlannedEnd
		if p.PlannedStart != nil {
			start = *p.PlannedStart
		}
		if p.PlannedEnd != nil {
			end = *p.PlannedEnd
		}
		d := ch.PlannedEnd.Sub(ch.PlannedStart)
		if start.IsZero() || end.IsZero() || end.Sub(start) != d {
			reason := "must keep planned_end " + d.String() + " after planned_start: the planned duration " + fixedReason(ch) + "; move both to reschedule"
			if p.PlannedStart != nil {
				v.Add("planned_start", reason)
			}
			if p.PlannedEnd != nil {
				v.Add("planned_end", reason)
			}
		}
	}
	return v.Err()
}

// templateClosed counts how a change made from a template ended on the
// template version it was made from (Template.Usage): by its close code
// once it is Closed, as Canceled once it is canceled. It saves the
// version in the command's transaction c, journaled as
// EventTemplateOutcome with the change in Refs; a change not made from a
// template is left alone. Close calls it after setting the close code
// and the state, next to endFixes, and so does Cancel. A change that has
// not ended gives an error wrapping itil.ErrInvalidTransition; a template
// version that cannot be read, its error (templates are never deleted).
func (s *Service) templateClosed(c *cmd, ch *Change) error {
	if ch.TemplateID == itil.NilID {
		return nil
	}
	tc := pipeline.Other(c, s.templateRunner())
	t, err := tc.Load(ch.TemplateID)
	if err != nil {
		return fmt.Errorf("template of change %s: %w", ch.Number, err)
	}
	var outcome string
	switch {
	case ch.State == StateCanceled:
		t.Usage.Canceled++
		outcome = "canceled"
	case ch.State == StateClosed && ch.CloseCode == Successful:
		t.Usage.Successful++
		outcome = "closed successful"
	case ch.State == StateClosed && ch.CloseCode == SuccessfulWithIssues:
		t.Usage.SuccessfulWithIssues++
		outcome = "closed successful with issues"
	case ch.State == StateClosed && ch.CloseCode == Unsuccessful:
		t.Usage.Unsuccessful++
		outcome = "closed unsuccessful"
	default:
		return itilTransition("change %s is %s (close code %q): its outcome counts on its template once it has ended", ch.Number, ch.State, ch.CloseCode)
	}
	return tc.Save(t, event{Type: EventTemplateOutcome, Refs: []itil.ID{ch.ID},
		Summary: ch.Number + " " + outcome + " (" + t.label() + ": " + strconv.Itoa(t.Usage.Successful) + " successful of " +
			strconv.Itoa(t.Usage.Closed()) + " closed)"})
}
