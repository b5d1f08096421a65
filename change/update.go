package change

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
)

// Journal event types of Update, Assign and SetModel.
const (
	EventUpdated      = "change.updated"
	EventAssigned     = "change.assigned"
	EventModelChanged = "change.model_changed"
)

// CommandSetModel is the command name an Authorizer receives for SetModel.
const CommandSetModel = "set_model"

// Patch is the input of Update: nil fields stay as they are.
type Patch struct {
	Title, Description, Justification, Implementation, Backout, TestPlan *string
	CIID                                                                 *itil.ID
	// CIIDs, when not nil, replaces the list (an empty list clears it).
	CIIDs                    *[]itil.ID
	Impact                   *itil.Impact
	PlannedStart, PlannedEnd *time.Time
}

// Update changes the descriptive fields, plans, CIs, impact and planned
// times of a change that has not ended. A patch that alters nothing is
// rejected, and so is one that clears the planned times of a change in a
// state of its model's PlannedStates; bad fields give a
// *itil.ValidationError naming them. The risk rests on the impact and the
// CIs: they do not change while approvals rely on it (see AssessRisk),
// and changing them otherwise clears an assessed risk, to assess again.
func (s *Service) Update(ctx context.Context, actor itil.Actor, id itil.ID, patch Patch) (*Change, error) {
	return s.runBooking(ctx, actor, id, CommandUpdate, func(c *cmd, ch *Change) (event, error) {
		if err := requireActive(ch, "update"); err != nil {
			return event{}, err
		}
		if err := templateFixed(ch, patch); err != nil { // template_change.go
			return event{}, err
		}
		rests := (patch.Impact != nil && *patch.Impact != ch.Impact) || (patch.CIID != nil && *patch.CIID != ch.CIID) ||
			(patch.CIIDs != nil && !slices.Equal(*patch.CIIDs, ch.CIIDs))
		if rests {
			if err := s.riskSettled(ch); err != nil { // assess.go: the risk rests on them
				return event{}, err
			}
		}
		var changed []string
		changed = pipeline.Set(changed, "title", &ch.Title, patch.Title)
		changed = pipeline.Set(changed, "description", &ch.Description, patch.Description)
		changed = pipeline.Set(changed, "justification", &ch.Justification, patch.Justification)
		changed = pipeline.Set(changed, "implementation plan", &ch.Implementation, patch.Implementation)
		changed = pipeline.Set(changed, "backout plan", &ch.Backout, patch.Backout)
		changed = pipeline.Set(changed, "test plan", &ch.TestPlan, patch.TestPlan)
		changed = pipeline.Set(changed, "primary CI", &ch.CIID, patch.CIID)
		if patch.CIIDs != nil && !slices.Equal(*patch.CIIDs, ch.CIIDs) {
			ch.CIIDs = slices.Clone(*patch.CIIDs)
			if len(ch.CIIDs) == 0 {
				ch.CIIDs = nil
			}
			changed = append(changed, "CIs")
		}
		changed = pipeline.Set(changed, "impact", &ch.Impact, patch.Impact)
		changed = pipeline.Set(changed, "planned start", &ch.PlannedStart, patch.PlannedStart)
		changed = pipeline.Set(changed, "planned end", &ch.PlannedEnd, patch.PlannedEnd)
		var v itil.ValidationError
		ch.validate(&v)
		if patch.Impact != nil && *patch.Impact != 0 {
			itil.DefaultPriorityMatrix().CheckImpact("impact", *patch.Impact, &v)
		}
		if m, err := s.model(ch); err == nil && slices.Contains(m.PlannedStates, ch.State) {
			if ch.PlannedStart.IsZero() {
				v.Add("planned_start", "is required while the change is "+string(ch.State))
			}
			if ch.PlannedEnd.IsZero() {
				v.Add("planned_end", "is required while the change is "+string(ch.State))
			}
		}
		if len(changed) == 0 {
			v.Add("patch", "nothing differs from the change as it is")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		if rests && ch.Risk != 0 {
			// The risk was judged on what changed: it is judged again.
			ch.clearRisk()
			changed = append(changed, "risk cleared (assess it again)")
		}
		if patch.CIID != nil || patch.CIIDs != nil {
			// The services the CIs support follow them: conflict checks
			// read them.
			if err := s.setAffectedServices(c, ch); err != nil { // cmdb.go
				return event{}, err
			}
		}
		return event{Type: EventUpdated, Summary: "updated " + strings.Join(changed, ", ")}, nil
	})
}

// Assign gives a change that has not ended to an assignment group and,
// optionally, one of its members; not while it waits for approvals, whose
// segregation of duties was settled when they were asked (an error
// wrapping itil.ErrInvalidTransition). The assignee implements the change
// (its implement task is theirs), so with segregation of duties someone
// who approved it, or decided an approval of it as a delegate, is not
// made its assignee (a *itil.ValidationError naming assignee).
func (s *Service) Assign(ctx context.Context, actor itil.Actor, id itil.ID, group, assignee string) (*Change, error) {
	return s.runBooking(ctx, actor, id, CommandAssign, func(c *cmd, ch *Change) (event, error) {
		if err := requireActive(ch, "assign"); err != nil {
			return event{}, err
		}
		if group != ch.AssignmentGroup {
			if err := templateLocked(ch, "group"); err != nil {
				return event{}, err
			}
		}
		if r := ch.Approval; r != nil && r.State == ch.State && r.Verdict == VerdictWaiting {
			// Segregation of duties was settled when the round began.
			return event{}, itilTransition("change %s waits for its approvals; reassign it before or after", ch.Number)
		}
		var v itil.ValidationError
		check.Text(&v, "group", group, true, check.Short)
		check.Text(&v, "assignee", assignee, false, check.Short)
		if group == ch.AssignmentGroup && assignee == ch.Assignee {
			v.Add("group", "the change is already assigned so")
		}
		if !s.cfg.noSoD && assignee != "" && assignee != ch.Assignee && ch.ApprovalRounds > 0 {
			approved, err := s.approvedBy(c, ch, assignee) // approving.go
			if err != nil {
				return event{}, err
			}
			if approved {
				v.Add("assignee", assignee+" approved this change, and segregation of duties keeps its approvers from implementing it")
			}
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		summary := "assigned to " + group
		if assignee != "" {
			summary += "/" + assignee
		}
		ch.AssignmentGroup, ch.Assignee = group, assignee
		return event{Type: EventAssigned, Summary: summary}, nil
	})
}

// SetModel changes the model of a change in New, as ServiceNow allows
// only there (and, once approvals exist, only with none). An unknown
// model, or the change's own, gives a *itil.ValidationError naming model;
// another state an error wrapping itil.ErrInvalidTransition. A risk
// assessed under the old model is cleared: assess it again.
func (s *Service) SetModel(ctx context.Context, actor itil.Actor, id itil.ID, model string) (*Change, error) {
	return s.run.Run(ctx, actor, id, CommandSetModel, func(c *cmd, ch *Change) (event, error) {
		if ch.State != StateNew {
			return event{}, itilTransition("change %s is %s; its model changes only in new", ch.Number, ch.State)
		}
		if err := templateLocked(ch, "model"); err != nil {
			return event{}, err
		}
		if ch.ApprovalRounds > 0 {
			return event{}, itilTransition("change %s has been through approvals; its model no longer changes", ch.Number)
		}
		m, ok := s.cfg.models[model]
		if !ok {
			return event{}, itil.Invalid("model", "not one of the Service's models ("+strings.Join(s.Models(), ", ")+")")
		}
		if m.TemplateOnly {
			return event{}, itil.Invalid("model", model+" changes are made from a published template only")
		}
		if model == ch.Model {
			return event{}, itil.Invalid("model", "the change follows "+model+" already")
		}
		from := ch.Model
		ch.Model = model
		summary := "model " + from + " → " + model
		if ch.Risk != 0 {
			ch.clearRisk() // judged on the model too
			summary += "; risk cleared (assess it again)"
		}
		return event{Type: EventModelChanged, Summary: summary}, nil
	})
}
