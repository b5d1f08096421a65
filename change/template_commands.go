package change

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
)

// Command names of the template commands, as the change Authorizer
// (WithAuthorizer) receives them. The Authorizer sees changes, not
// templates: for a template command its subject is the change the
// template describes (the template's fixed fields and model, TemplateID
// and TemplateVersion naming the version, no ID or number); an Authorizer
// that needs more of the template reads it with GetTemplate. For
// OpenFromTemplate its subject is the change as it would be created.
// Unknown to an Authorizer that lists the commands it allows, these names
// are refused by it, which is the safe default. Service.In binds the
// template commands to the caller's transaction as it does the others;
// Service.IfVersion names the version of the template a command runs on.
// Hooks (WithHook) see the changes OpenFromTemplate makes, not templates.
const (
	CommandProposeTemplate  = "propose_template"
	CommandApproveTemplate  = "approve_template"
	CommandUpdateTemplate   = "update_template"
	CommandRequestTemplate  = "request_template"
	CommandPublishTemplate  = "publish_template"
	CommandRejectTemplate   = "reject_template"
	CommandRetireTemplate   = "retire_template"
	CommandOpenFromTemplate = "open_from_template"
)

// Journal event types of templates (kind KindTemplate). A next version's
// creation and the NextID it sets on the published version are both
// EventTemplateVersioned; EventTemplateUsed and EventTemplateOutcome
// count a change made from the version (which they name in Refs).
const (
	EventTemplateProposed  = "change.template_proposed"
	EventTemplateApproved  = "change.template_approved"
	EventTemplateUpdated   = "change.template_updated"
	EventTemplateVersioned = "change.template_versioned"
	EventTemplateRequested = "change.template_requested"
	EventTemplatePublished = "change.template_published"
	EventTemplateRejected  = "change.template_rejected"
	EventTemplateRetired   = "change.template_retired"
	EventTemplateUsed      = "change.template_used"
	EventTemplateOutcome   = "change.template_outcome"
)

type tcmd = pipeline.Cmd[Template]

// NewTemplate is what ProposeTemplate needs to record a template.
type NewTemplate struct {
	Name             string
	ShortDescription string
	// Model names the change model of the changes made from it; empty
	// means ModelStandard. It must have no approval states.
	Model           string
	Title           string
	Description     string
	Implementation  string
	Backout         string
	TestPlan        string
	AssignmentGroup string
	CIID            itil.ID
	Impact          itil.Impact
	// PlannedDuration is how long a change made from the template is
	// planned to take: its planned end is its planned start plus this.
	PlannedDuration time.Duration
}

// TemplatePatch is the input of UpdateTemplate: nil fields stay as they
// are.
type TemplatePatch struct {
	Name, ShortDescription, Model               *string
	Title, Description, Implementation, Backout *string
	TestPlan, AssignmentGroup                   *string
	CIID                                        *itil.ID
	Impact                                      *itil.Impact
	PlannedDuration                             *time.Duration
}

// ProposeTemplate records a proposal for a standard change template,
// numbered (STDCHG0001001) as version 1 in state TemplateProposed: change
// management approves it (ApproveTemplate) or declines it
// (RetireTemplate). A proposal may be incomplete; the title, plans and
// planned duration are required to request publication. Bad fields, or a
// model the Service does not have or that waits for approvals, give a
// *itil.ValidationError naming them.
func (s *Service) ProposeTemplate(ctx context.Context, actor itil.Actor, in NewTemplate) (*Template, error) {
	if in.Model == "" {
		in.Model = ModelStandard
	}
	t := &Template{
		Revision: 1, State: TemplateProposed, Name: in.Name, ShortDescription: in.ShortDescription,
		Model: in.Model, Title: in.Title, Description: in.Description, Implementation: in.Implementation,
		Backout: in.Backout, TestPlan: in.TestPlan, AssignmentGroup: in.AssignmentGroup, CIID: in.CIID,
		Impact: in.Impact, PlannedDuration: in.PlannedDuration, CreatedBy: actor,
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	t.validate(&v)
	s.templateModel(&v, t.Model)
	if err := v.Err(); err != nil {
		return nil, err
	}
	t.ID = itil.NewID()
	r := s.templateRunner()
	return r.Create(ctx, actor, CommandProposeTemplate, t, func(c *tcmd, t *Template) (event, error) {
		num, err := c.Number(KindTemplate, TemplateNumberPrefix)
		if err != nil {
			return event{}, err
		}
		t.Number, t.CreatedAt = num, c.Now
		return event{Type: EventTemplateProposed, Summary: "proposed " + t.Number + " " + strconv.Quote(t.Name)}, nil
	})
}

// ApproveTemplate approves a proposal: change management accepts it, and
// it becomes a draft.
func (s *Service) ApproveTemplate(ctx context.Context, actor itil.Actor, id itil.ID) (*Template, error) {
	r := s.templateRunner()
	return r.Run(ctx, actor, id, CommandApproveTemplate, func(c *tcmd, t *Template) (event, error) {
		if err := templateLifecycle.Apply(&t.State, "template "+t.label(), templateApprove, nil); err != nil {
			return event{}, err
		}
		t.ApprovedBy, t.ApprovedAt = c.Actor, c.Now
		return event{Type: EventTemplateApproved, Summary: "proposal approved: " + t.label() + " is a draft"}, nil
	})
}

// patch applies p to t and checks the result; it returns the names of the
// fields it changed, or a *itil.ValidationError (a patch that alters
// nothing is one, naming "patch").
func (s *Service) patch(t *Template, p TemplatePatch) ([]string, error) {
	var changed []string
	changed = pipeline.Set(changed, "name", &t.Name, p.Name)
	changed = pipeline.Set(changed, "short description", &t.ShortDescription, p.ShortDescription)
	changed = pipeline.Set(changed, "model", &t.Model, p.Model)
	changed = pipeline.Set(changed, "title", &t.Title, p.Title)
	changed = pipeline.Set(changed, "description", &t.Description, p.Description)
	changed = pipeline.Set(changed, "implementation plan", &t.Implementation, p.Implementation)
	changed = pipeline.Set(changed, "backout plan", &t.Backout, p.Backout)
	changed = pipeline.Set(changed, "test plan", &t.TestPlan, p.TestPlan)
	changed = pipeline.Set(changed, "assignment group", &t.AssignmentGroup, p.AssignmentGroup)
	changed = pipeline.Set(changed, "primary CI", &t.CIID, p.CIID)
	changed = pipeline.Set(changed, "impact", &t.Impact, p.Impact)
	changed = pipeline.Set(changed, "planned duration", &t.PlannedDuration, p.PlannedDuration)
	var v itil.ValidationError
	t.validate(&v)
	s.templateModel(&v, t.Model)
	if len(changed) == 0 {
		v.Add("patch", "nothing differs from the template as it is")
	}
	return changed, v.Err()
}

// UpdateTemplate edits a template. Only drafts are edited: a draft is
// changed in place and returned. Editing a published template makes its
// next version instead, which UpdateTemplate returns: a copy with the
// patch applied, a new record (new ID, the same Number, Revision one more
// than any version before it) in state TemplateDraft, whose PreviousID
// names the published one and which the published one names as NextID.
// The published version stays as it is, and changes are still made from
// it, until its next version is published (PublishTemplate), which
// retires it. A published template has one next version at a time: while
// the one it names is not retired, editing the published one again gives
// an error wrapping itil.ErrInvalidTransition that names it (edit that
// draft instead). A proposal, a requested or a retired template is not
// edited (itil.ErrInvalidTransition). Bad fields, or a patch that alters
// nothing, give a *itil.ValidationError.
func (s *Service) UpdateTemplate(ctx context.Context, actor itil.Actor, id itil.ID, p TemplatePatch) (*Template, error) {
	var next *Template
	r := s.templateRunner()
	t, err := r.Run(ctx, actor, id, CommandUpdateTemplate, func(c *tcmd, t *Template) (event, error) {
		next = nil
		switch t.State {
		case TemplateDraft:
			changed, err := s.patch(t, p)
			if err != nil {
				return event{}, err
			}
			return event{Type: EventTemplateUpdated, Summary: "updated " + strings.Join(changed, ", ")}, nil
		case TemplatePublished:
		default:
			return event{}, itilTransition("template %s is %s: only a draft is edited (a published template through its next version)", t.label(), t.State)
		}
		revision := t.Revision
		if t.NextID != itil.NilID {
			n, err := c.Load(t.NextID)
			if err != nil {
				return event{}, fmt.Errorf("next version of %s: %w", t.label(), err)
			}
			if n.State != TemplateRetired {
				return event{}, itilTransition("template %s has its next version %s (%s, ID %s) under way: edit that one",
					t.label(), n.label(), n.State, n.ID)
			}
			revision = max(revision, n.Revision)
		}
		n := &Template{
			ID: itil.NewID(), Number: t.Number, Revision: revision + 1, State: TemplateDraft,
			Name: t.Name, ShortDescription: t.ShortDescription, Model: t.Model, Title: t.Title,
			Description: t.Description, Implementation: t.Implementation, Backout: t.Backout,
			TestPlan: t.TestPlan, AssignmentGroup: t.AssignmentGroup, CIID: t.CIID, Impact: t.Impact,
			PlannedDuration: t.PlannedDuration, PreviousID: t.ID, CreatedBy: c.Actor, CreatedAt: c.Now,
			ApprovedBy: t.ApprovedBy, ApprovedAt: t.ApprovedAt,
		}
		changed, err := s.patch(n, p)
		if err != nil {
			return event{}, err
		}
		if err := c.Save(n, event{Type: EventTemplateVersioned, Refs: []itil.ID{t.ID},
			Summary: "drafted " + n.label() + " from " + t.label() + ": " + strings.Join(changed, ", ")}); err != nil {
			return event{}, err
		}
		t.NextID, next = n.ID, n
		return event{Type: EventTemplateVersioned, Summary: "next version " + n.label() + " drafted", Refs: []itil.ID{n.ID}}, nil
	})
	switch {
	case err != nil:
		return nil, err
	case next != nil:
		return next, nil
	}
	return t, nil
}

// ready checks that t may be requested or published on this Service.
func (s *Service) ready(t *Template) func() error {
	return func() error {
		var v itil.ValidationError
		t.validate(&v)
		t.publishable(&v)
		s.templateModel(&v, t.Model)
		return v.Err()
	}
}

// RequestTemplate asks for a draft to be published. It needs a title,
// implementation and backout plans and a planned duration (a
// *itil.ValidationError names those missing).
func (s *Service) RequestTemplate(ctx context.Context, actor itil.Actor, id itil.ID) (*Template, error) {
	r := s.templateRunner()
	return r.Run(ctx, actor, id, CommandRequestTemplate, func(c *tcmd, t *Template) (event, error) {
		if err := templateLifecycle.Apply(&t.State, "template "+t.label(), templateRequest, s.ready(t)); err != nil {
			return event{}, err
		}
		return event{Type: EventTemplateRequested, Summary: "publication of " + t.label() + " requested"}, nil
	})
}

// PublishTemplate publishes a requested template: changes are made from
// it from then on. Publishing a next version retires, in the same
// transaction, the version it was copied from (PreviousID) if that one is
// still published, so that a template has one published version at a
// time.
func (s *Service) PublishTemplate(ctx context.Context, actor itil.Actor, id itil.ID) (*Template, error) {
	r := s.templateRunner()
	return r.Run(ctx, actor, id, CommandPublishTemplate, func(c *tcmd, t *Template) (event, error) {
		if err := templateLifecycle.Apply(&t.State, "template "+t.label(), templatePublish, s.ready(t)); err != nil {
			return event{}, err
		}
		t.PublishedBy, t.PublishedAt = c.Actor, c.Now
		summary := "published " + t.label()
		if t.PreviousID != itil.NilID {
			prev, err := c.Load(t.PreviousID)
			if err != nil {
				return event{}, fmt.Errorf("previous version of %s: %w", t.label(), err)
			}
			if prev.State == TemplatePublished {
				if err := templateLifecycle.Apply(&prev.State, "template "+prev.label(), templateRetire, nil); err != nil {
					return event{}, err
				}
				prev.RetiredAt, prev.RetiredReason = c.Now, "superseded by "+t.label()
				if err := c.Save(prev, event{Type: EventTemplateRetired, Summary: "retired " + prev.label(),
					Reason: prev.RetiredReason, Refs: []itil.ID{t.ID}}); err != nil {
					return event{}, err
				}
				summary += "; " + prev.label() + " retired"
			}
		}
		return event{Type: EventTemplatePublished, Summary: summary}, nil
	})
}

// RejectTemplate returns a requested template to draft, with a reason
// (required), to be reworked and requested again. A proposal is declined
// with RetireTemplate.
func (s *Service) RejectTemplate(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Template, error) {
	r := s.templateRunner()
	return r.Run(ctx, actor, id, CommandRejectTemplate, func(c *tcmd, t *Template) (event, error) {
		if err := templateLifecycle.Apply(&t.State, "template "+t.label(), templateReject, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		return event{Type: EventTemplateRejected, Summary: "publication of " + t.label() + " rejected", Reason: reason}, nil
	})
}

// RetireTemplate retires a template version that is not retired, with a
// reason (required): a proposal declined, a draft abandoned, a published
// template withdrawn. No change is made from it any more; the changes
// made from it keep naming it, and their outcomes still count on it. A
// published template whose next version was abandoned so may be edited
// into another next version.
func (s *Service) RetireTemplate(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Template, error) {
	r := s.templateRunner()
	return r.Run(ctx, actor, id, CommandRetireTemplate, func(c *tcmd, t *Template) (event, error) {
		if err := templateLifecycle.Apply(&t.State, "template "+t.label(), templateRetire, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		t.RetiredAt, t.RetiredReason = c.Now, reason
		return event{Type: EventTemplateRetired, Summary: "retired " + t.label(), Reason: reason}, nil
	})
}
