package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/internal/xref"
	"github.com/itilkit/itil/storage"
)

type (
	cmd   = pipeline.Cmd[Incident]
	event = pipeline.Event
)

// Open records a new incident in state New, numbers it and derives its
// priority.
func (s *Service) Open(ctx context.Context, actor itil.Actor, in NewIncident) (*Incident, error) {
	tmpl := &Incident{
		Title: in.Title, Description: in.Description,
		Caller: in.Caller, Category: in.Category, Subcategory: in.Subcategory,
		Channel: in.Channel, ServiceID: in.ServiceID, CIID: in.CIID, ServiceDown: in.ServiceDown,
		Impact: in.Impact, Urgency: in.Urgency, State: StateNew, OpenedBy: actor,
	}
	// The input is checked with the actor, so one error names every bad
	// field; nothing about an existing incident can leak here.
	var v itil.ValidationError
	actor.Validate("actor", &v)
	tmpl.validate(s.cfg.matrix, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := tmpl.derivePriority(s.cfg.matrix); err != nil {
		return nil, err
	}
	tmpl.ID = itil.NewID()
	return s.run.Create(ctx, actor, CommandOpen, tmpl, func(c *cmd, inc *Incident) (event, error) {
		inc.OpenedAt = c.Now
		var err error
		if inc.Number, err = c.Number(Kind, NumberPrefix); err != nil {
			return event{}, err
		}
		return event{Type: EventOpened, Summary: "opened " + inc.Number + " " + strconv.Quote(inc.Title) +
			" via " + string(inc.Channel) + " with priority " + inc.Priority.String()}, nil
	})
}

// Update changes descriptive fields and the impact and urgency of an open
// incident; the priority is derived again. A patch that alters nothing is
// rejected.
func (s *Service) Update(ctx context.Context, actor itil.Actor, id itil.ID, p Patch) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandUpdate, func(c *cmd, inc *Incident) (event, error) {
		if err := requireOpen(inc, "update"); err != nil {
			return event{}, err
		}
		var changed []string
		changed = pipeline.Set(changed, "title", &inc.Title, p.Title)
		changed = pipeline.Set(changed, "description", &inc.Description, p.Description)
		changed = pipeline.Set(changed, "category", &inc.Category, p.Category)
		changed = pipeline.Set(changed, "subcategory", &inc.Subcategory, p.Subcategory)
		changed = pipeline.Set(changed, "service", &inc.ServiceID, p.ServiceID)
		changed = pipeline.Set(changed, "ci", &inc.CIID, p.CIID)
		changed = pipeline.Set(changed, "service_down", &inc.ServiceDown, p.ServiceDown)
		changed = pipeline.Set(changed, "impact", &inc.Impact, p.Impact)
		changed = pipeline.Set(changed, "urgency", &inc.Urgency, p.Urgency)
		var v itil.ValidationError
		inc.validate(s.cfg.matrix, &v)
		if len(changed) == 0 {
			v.Add("patch", "nothing differs from the incident as it is")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		old := inc.Priority
		if err := inc.derivePriority(s.cfg.matrix); err != nil {
			return event{}, err
		}
		summary := "updated " + strings.Join(changed, ", ")
		if inc.Priority != old {
			summary += "; priority " + old.String() + " → " + inc.Priority.String()
		}
		return event{Type: EventUpdated, Summary: summary}, nil
	})
}

// Assign gives an open incident to a group and, optionally, an engineer.
// A change of group after the first assignment is a functional escalation
// and raises ReassignmentCount. Assigning an engineer to a New incident
// starts work on it (In Progress).
func (s *Service) Assign(ctx context.Context, actor itil.Actor, id itil.ID, group, assignee string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandAssign, func(c *cmd, inc *Incident) (event, error) {
		if err := requireOpen(inc, "assign"); err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		check.Text(&v, "group", group, true, check.Short)
		check.Text(&v, "assignee", assignee, false, check.Short)
		if group == inc.AssignmentGroup && assignee == inc.Assignee {
			v.Add("group", "the incident is already assigned so")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		summary := "assigned to " + group
		if assignee != "" {
			summary += "/" + assignee
		}
		if inc.AssignmentGroup != "" && group != inc.AssignmentGroup {
			inc.ReassignmentCount++
			summary += " (reassigned from " + inc.AssignmentGroup + ")"
		}
		inc.AssignmentGroup, inc.Assignee = group, assignee
		if assignee != "" {
			inc.respond(c.Actor, c.Now)
			if inc.State == StateNew {
				if err := fire(inc, evStart, nil); err != nil {
					return event{}, err
				}
			}
		}
		return event{Type: EventAssigned, Summary: summary}, nil
	})
}

// Escalate sets the hierarchical escalation level (0 to the configured
// maximum) of an open incident, with a reason.
func (s *Service) Escalate(ctx context.Context, actor itil.Actor, id itil.ID, level int, reason string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandEscalate, func(c *cmd, inc *Incident) (event, error) {
		if err := requireOpen(inc, "escalate"); err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		if level < 0 || level > s.cfg.maxLevel {
			v.Add("level", fmt.Sprintf("must be between 0 and %d", s.cfg.maxLevel))
		} else if level == inc.EscalationLevel {
			v.Add("level", fmt.Sprintf("the incident is already at level %d", level))
		}
		check.Text(&v, "reason", reason, true, check.Long)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		summary := fmt.Sprintf("escalated from level %d to %d", inc.EscalationLevel, level)
		inc.EscalationLevel = level
		return event{Type: EventEscalated, Summary: summary, Reason: reason}, nil
	})
}

// Hold puts an incident On Hold for a reason, or changes the reason of one
// already On Hold. Awaiting the caller requires a comment telling the
// caller what is needed; awaiting a problem requires the incident to
// belong to one (ProblemID, set by problem.Service.LinkIncident) that is
// still worked on: a problem already Resolved, Closed or Canceled is
// refused with an error wrapping itil.ErrInvalidTransition (the problem is
// read in the hold's transaction, so a hold and the problem's resolution
// never interleave). Awaiting a change likewise requires the change the
// incident awaits (ChangeID, set by change.Service.LinkIncident), not yet
// ended. A comment is added as a note visible to the caller.
func (s *Service) Hold(ctx context.Context, actor itil.Actor, id itil.ID, reason HoldReason, comment string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandHold, func(c *cmd, inc *Incident) (event, error) {
		if err := fire(inc, evHold, func() error {
			if err := guardHold(inc, reason, comment); err != nil {
				return err
			}
			if reason == AwaitingProblem && xref.ProblemAwaitable != nil {
				return xref.ProblemAwaitable(c.Ctx, c.Tx, inc.ProblemID)
			}
			if reason == AwaitingChange && xref.ChangeAwaitable != nil {
				return xref.ChangeAwaitable(c.Ctx, c.Tx, inc.ChangeID)
			}
			return nil
		}); err != nil {
			return event{}, err
		}
		inc.HoldReason = reason
		inc.respond(c.Actor, c.Now)
		if comment != "" {
			if _, err := c.AddNote(inc.ID, itil.Comment, comment, EventCommented, "commented"); err != nil {
				return event{}, err
			}
		}
		return event{Type: EventHeld, Summary: "put on hold: " + string(reason), Reason: comment}, nil
	})
}

// Resume returns an On Hold incident to In Progress.
func (s *Service) Resume(ctx context.Context, actor itil.Actor, id itil.ID) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandResume, func(c *cmd, inc *Incident) (event, error) {
		if err := fire(inc, evResume, nil); err != nil {
			return event{}, err
		}
		inc.respond(c.Actor, c.Now)
		return event{Type: EventResumed, Summary: "resumed"}, nil
	})
}

// Comment adds a note visible to the caller to an open or resolved
// incident. The note is stored apart from the incident (list them with
// Notes); the incident is written only when the comment changes it: the
// first response of someone other than the caller, or the caller's reply
// to an incident awaiting the caller, which returns it to In Progress. A
// caller's comment on a Resolved incident does not reopen it (Reopen does,
// within the window).
func (s *Service) Comment(ctx context.Context, actor itil.Actor, id itil.ID, text string) (*itil.Note, error) {
	return s.note(ctx, actor, id, CommandComment, itil.Comment, text)
}

// WorkNote adds an internal work note to an open or resolved incident,
// stored apart from it like comments.
func (s *Service) WorkNote(ctx context.Context, actor itil.Actor, id itil.ID, text string) (*itil.Note, error) {
	return s.note(ctx, actor, id, CommandWorkNote, itil.WorkNote, text)
}

func (s *Service) note(ctx context.Context, actor itil.Actor, id itil.ID, command string, vis itil.Visibility, text string) (*itil.Note, error) {
	var note *itil.Note
	_, err := s.run.Run(ctx, actor, id, command, func(c *cmd, inc *Incident) (event, error) {
		if !inc.State.Open() && inc.State != StateResolved {
			return event{}, fmt.Errorf("%w: cannot add a %s to incident %s while it is %s",
				itil.ErrInvalidTransition, strings.ReplaceAll(string(vis), "_", " "), inc.Number, inc.State)
		}
		var v itil.ValidationError
		check.Text(&v, "text", text, true, check.Long)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		typ, summary := EventCommented, "commented"
		if vis == itil.WorkNote {
			typ, summary = EventWorkNoted, "added a work note"
		}
		var err error
		if note, err = c.AddNote(inc.ID, vis, text, typ, summary); err != nil {
			return event{}, err
		}
		if vis != itil.Comment {
			return event{}, nil
		}
		ev := event{Type: EventResponded, Summary: "first response"}
		inc.respond(c.Actor, c.Now)
		if c.Actor.ID == inc.Caller.ID && inc.State == StateOnHold && inc.HoldReason == AwaitingCaller {
			if err := fire(inc, evResume, nil); err != nil {
				return event{}, err
			}
			ev = event{Type: EventResumed, Summary: "caller replied; resumed"}
		}
		return ev, nil
	})
	if err != nil {
		return nil, err
	}
	return note, nil
}

// OverridePriority sets the priority of an open incident by hand, with a
// reason; the matrix no longer applies until RestorePriority. Overriding
// with the current priority pins it against later reclassification.
func (s *Service) OverridePriority(ctx context.Context, actor itil.Actor, id itil.ID, p itil.Priority, reason string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandOverridePriority, func(c *cmd, inc *Incident) (event, error) {
		if err := requireOpen(inc, "override the priority of"); err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		if !p.Valid() {
			v.Add("priority", "must be one of P1..P5")
		} else if inc.Override != nil && inc.Override.Priority == p {
			v.Add("priority", "the priority is already overridden to "+p.String())
		}
		check.Text(&v, "reason", reason, true, check.Long)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		old := inc.Priority
		inc.Override = &PriorityOverride{Priority: p, Reason: reason, By: c.Actor, At: c.Now}
		inc.Priority = p
		return event{Type: EventPriorityOverride, Summary: "priority overridden " + old.String() + " → " + p.String(), Reason: reason}, nil
	})
}

// RestorePriority removes a priority override: the priority is derived from
// the matrix again.
func (s *Service) RestorePriority(ctx context.Context, actor itil.Actor, id itil.ID) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandRestorePriority, func(c *cmd, inc *Incident) (event, error) {
		if err := requireOpen(inc, "restore the priority of"); err != nil {
			return event{}, err
		}
		if inc.Override == nil {
			return event{}, itil.Invalid("priority", "is not overridden")
		}
		old := inc.Priority
		inc.Override = nil
		if err := inc.derivePriority(s.cfg.matrix); err != nil {
			return event{}, err
		}
		return event{Type: EventPriorityRestored, Summary: "priority restored to the matrix: " + old.String() + " → " + inc.Priority.String()}, nil
	})
}

// PromoteMajor declares an open incident a major incident, with a reason.
func (s *Service) PromoteMajor(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandPromoteMajor, func(c *cmd, inc *Incident) (event, error) {
		if err := requireOpen(inc, "promote"); err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		if inc.Major {
			v.Add("major", "the incident is already a major incident")
		}
		check.Text(&v, "reason", reason, true, check.Long)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		inc.Major, inc.MajorReason = true, reason
		return event{Type: EventPromoted, Summary: "promoted to major incident", Reason: reason}, nil
	})
}

// LinkChild makes the incident childID a child of the incident parentID.
// Both must be open; links are one level deep (a parent has no parent, a
// child has no children), and a child has one parent. Resolving or closing
// the parent later resolves or closes its open children with the parent's
// resolution. The parent is saved too (its ChildCount rises), so that a
// concurrent resolution or cancellation of the parent, or a link of the
// parent under another incident, conflicts instead of leaving an open
// child behind.
func (s *Service) LinkChild(ctx context.Context, actor itil.Actor, parentID, childID itil.ID) (*Incident, error) {
	return s.run.Run(ctx, actor, childID, CommandLink, func(c *cmd, child *Incident) (event, error) {
		if parentID == childID {
			return event{}, itil.Invalid("parent_id", "an incident cannot be its own parent")
		}
		parent, err := c.Load(parentID)
		if err != nil {
			return event{}, err
		}
		if err := c.Authorize(CommandLink, parent); err != nil {
			return event{}, err
		}
		if err := requireOpen(parent, "link a child to"); err != nil {
			return event{}, err
		}
		if err := requireOpen(child, "link"); err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		if child.ParentID != itil.NilID {
			v.Add("child_id", "the incident already has a parent")
		}
		if child.ChildCount > 0 {
			v.Add("child_id", "the incident has children of its own")
		}
		if parent.ParentID != itil.NilID {
			v.Add("parent_id", "the incident is itself a child; link to its parent instead")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		child.ParentID = parentID
		parent.ChildCount++
		if err := c.Save(parent, event{Type: EventChildLinked, Summary: "linked child " + child.Number, Refs: []itil.ID{child.ID}}); err != nil {
			return event{}, err
		}
		return event{Type: EventLinked, Summary: "linked as a child of " + parent.Number, Refs: []itil.ID{parent.ID}}, nil
	})
}

// Resolve resolves an incident with a resolution code from the configured
// list and notes. Its open children are resolved with the same resolution in
// the same transaction. The code KnownErrorCode is refused here: an
// incident resolved by a known error names it, through
// problem.Service.ResolveWithKnownError.
func (s *Service) Resolve(ctx context.Context, actor itil.Actor, id itil.ID, code, notes string) (*Incident, error) {
	if code == KnownErrorCode {
		return nil, itil.Invalid("resolution_code", "known_error names a published known error: resolve through problem.Service.ResolveWithKnownError")
	}
	return s.resolveCmd(ctx, actor, id, code, notes, itil.NilID)
}

func (s *Service) resolveCmd(ctx context.Context, actor itil.Actor, id itil.ID, code, notes string, ke itil.ID) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandResolve, func(c *cmd, inc *Incident) (event, error) {
		if err := s.resolve(inc, c, code, notes, ke); err != nil {
			return event{}, err
		}
		inc.respond(c.Actor, c.Now)
		err := s.cascade(c, inc, func(k *Incident) (bool, error) {
			if !k.State.Open() {
				return false, nil
			}
			return true, s.resolve(k, c, code, notes, ke)
		}, EventResolved, "resolved with parent "+inc.Number)
		refs := []itil.ID(nil)
		if ke != itil.NilID {
			refs = []itil.ID{ke}
		}
		return event{Type: EventResolved, Summary: "resolved: " + code, Reason: notes, Refs: refs}, err
	})
}

func (s *Service) resolve(inc *Incident, c *cmd, code, notes string, ke itil.ID) error {
	if err := fire(inc, evResolve, func() error { return s.cfg.guardResolve(code, notes) }); err != nil {
		return err
	}
	inc.ResolutionCode, inc.ResolutionNotes, inc.KnownErrorID = code, notes, ke
	inc.ResolvedAt = c.Now
	return nil
}

// cascade applies fn to every child of parent and saves those it changed.
func (s *Service) cascade(c *cmd, parent *Incident, fn func(*Incident) (bool, error), typ, summary string) error {
	if parent.ChildCount == 0 {
		return nil
	}
	kids, err := c.Query(storage.Query{Terms: []string{storage.Term("parent", parent.ID.String())}})
	if err != nil {
		return err
	}
	for _, k := range kids {
		changed, err := fn(k)
		if err != nil {
			return fmt.Errorf("child %s: %w", k.Number, err)
		}
		if changed {
			if err := c.Save(k, event{Type: typ, Summary: summary, Refs: []itil.ID{parent.ID}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes a Resolved incident; it becomes final. Children that are not
// final are closed with it (open ones are resolved with the parent's
// resolution first).
func (s *Service) Close(ctx context.Context, actor itil.Actor, id itil.ID) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandClose, func(c *cmd, inc *Incident) (event, error) {
		return s.closeBody(c, inc)
	})
}

func (s *Service) closeBody(c *cmd, inc *Incident) (event, error) {
	if err := closeOne(inc, c); err != nil {
		return event{}, err
	}
	err := s.cascade(c, inc, func(k *Incident) (bool, error) {
		if k.State.Final() {
			return false, nil
		}
		if k.State.Open() {
			if err := s.resolve(k, c, inc.ResolutionCode, inc.ResolutionNotes, inc.KnownErrorID); err != nil {
				return false, err
			}
		}
		return true, closeOne(k, c)
	}, EventClosed, "closed with parent "+inc.Number)
	return event{Type: EventClosed, Summary: "closed"}, err
}

func closeOne(inc *Incident, c *cmd) error {
	if err := fire(inc, evClose, nil); err != nil {
		return err
	}
	inc.ClosedAt = c.Now
	return nil
}

// Reopen returns a Resolved incident to In Progress within the reopen
// window, with a reason, and counts the reopening. A child of a Resolved
// or Closed parent cannot be reopened on its own: reopen the parent.
func (s *Service) Reopen(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandReopen, func(c *cmd, inc *Incident) (event, error) {
		parentResolved := false
		if inc.ParentID != itil.NilID && inc.State == StateResolved {
			parent, err := c.Load(inc.ParentID)
			if err != nil {
				return event{}, err
			}
			parentResolved = parent.State == StateResolved || parent.State == StateClosed
		}
		if err := fire(inc, evReopen, func() error { return s.cfg.guardReopen(inc, c.Now, reason, parentResolved) }); err != nil {
			return event{}, err
		}
		inc.ReopenCount++
		inc.ResolvedAt = time.Time{}
		inc.ResolutionCode, inc.ResolutionNotes, inc.KnownErrorID = "", "", itil.NilID
		return event{Type: EventReopened, Summary: "reopened (" + strconv.Itoa(inc.ReopenCount) + ")", Reason: reason}, nil
	})
}

// Cancel cancels an open incident that needs no resolution (raised in
// error, a duplicate report), with a reason; it becomes final. A parent with
// open children cannot be canceled.
func (s *Service) Cancel(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Incident, error) {
	return s.run.Run(ctx, actor, id, CommandCancel, func(c *cmd, inc *Incident) (event, error) {
		if err := fire(inc, evCancel, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		if inc.ChildCount > 0 {
			kids, err := c.Query(storage.Query{Terms: []string{storage.Term("parent", inc.ID.String())}})
			if err != nil {
				return event{}, err
			}
			for _, k := range kids {
				if k.State.Open() {
					return event{}, fmt.Errorf("%w: %s has open child %s; resolve or cancel it first",
						itil.ErrInvalidTransition, inc.Number, k.Number)
				}
			}
		}
		return event{Type: EventCanceled, Summary: "canceled", Reason: reason}, nil
	})
}

// requireOpen refuses a command on an incident that is no longer open.
func requireOpen(inc *Incident, action string) error {
	if !inc.State.Open() {
		return fmt.Errorf("%w: cannot %s incident %s while it is %s", itil.ErrInvalidTransition, action, inc.Number, inc.State)
	}
	return nil
}
