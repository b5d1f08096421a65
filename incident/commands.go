package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Open records a new incident in state New, numbers it and derives its
// priority.
func (s *Service) Open(ctx context.Context, actor itil.Actor, in NewIncident) (*Incident, error) {
	now := s.now()
	inc := &Incident{
		ID: itil.NewID(), Title: in.Title, Description: in.Description,
		Caller: in.Caller, Category: in.Category, Subcategory: in.Subcategory,
		Channel: in.Channel, ServiceID: in.ServiceID, CIID: in.CIID,
		Impact: in.Impact, Urgency: in.Urgency, State: StateNew,
		OpenedBy: actor, OpenedAt: now,
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	inc.validate(s.cfg.matrix, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := inc.derivePriority(s.cfg.matrix); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, actor, "open", inc); err != nil {
		return nil, err
	}
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		n, err := tx.NextSeq(ctx, Kind)
		if err != nil {
			return err
		}
		inc.Number = itil.FormatNumber(NumberPrefix, n)
		return s.save(ctx, tx, inc, actor, now, EventOpened, Change{
			Summary: "opened " + inc.Number + " " + strconv.Quote(inc.Title) + " via " + string(inc.Channel) +
				" with priority " + inc.Priority.String(),
		})
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// Update changes descriptive fields and the impact and urgency of an open
// incident; the priority is derived again. Changes that alter nothing are
// rejected.
func (s *Service) Update(ctx context.Context, id itil.ID, actor itil.Actor, c Changes) (*Incident, error) {
	return s.run(ctx, id, actor, "update", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "update"); err != nil {
			return "", Change{}, err
		}
		var changed []string
		changed = set(changed, "title", &inc.Title, c.Title)
		changed = set(changed, "description", &inc.Description, c.Description)
		changed = set(changed, "category", &inc.Category, c.Category)
		changed = set(changed, "subcategory", &inc.Subcategory, c.Subcategory)
		changed = set(changed, "service", &inc.ServiceID, c.ServiceID)
		changed = set(changed, "ci", &inc.CIID, c.CIID)
		changed = set(changed, "impact", &inc.Impact, c.Impact)
		changed = set(changed, "urgency", &inc.Urgency, c.Urgency)
		var v itil.ValidationError
		inc.validate(s.cfg.matrix, &v)
		if len(changed) == 0 {
			v.Add("changes", "nothing differs from the incident as it is")
		}
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		old := inc.Priority
		if err := inc.derivePriority(s.cfg.matrix); err != nil {
			return "", Change{}, err
		}
		summary := "updated " + strings.Join(changed, ", ")
		if inc.Priority != old {
			summary += "; priority " + old.String() + " -> " + inc.Priority.String()
		}
		return EventUpdated, Change{Summary: summary}, nil
	})
}

// set applies a requested change to a field and records its name when it
// alters the field.
func set[T comparable](changed []string, name string, field, to *T) []string {
	if to == nil || *to == *field {
		return changed
	}
	*field = *to
	return append(changed, name)
}

// Assign gives an open incident to a group and, optionally, an engineer.
// A change of group after the first assignment is a functional escalation
// and raises ReassignmentCount. Assigning an engineer to a New incident
// starts work on it (In Progress).
func (s *Service) Assign(ctx context.Context, id itil.ID, actor itil.Actor, group, assignee string) (*Incident, error) {
	return s.run(ctx, id, actor, "assign", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := requireOpen(inc, "assign"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		checkText(&v, "group", group, true, maxTitle)
		checkText(&v, "assignee", assignee, false, maxTitle)
		if group == inc.AssignmentGroup && assignee == inc.Assignee {
			v.Add("group", "the incident is already assigned so")
		}
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		from := inc.State
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
			inc.respond(actor, now)
			if inc.State == StateNew {
				if err := s.fire(evStart, &guardIn{inc: inc, now: now}); err != nil {
					return "", Change{}, err
				}
			}
		}
		return EventAssigned, Change{Summary: summary, From: changedFrom(from, inc.State)}, nil
	})
}

// Escalate sets the hierarchical escalation level (0 to the configured
// maximum) of an open incident, with a reason.
func (s *Service) Escalate(ctx context.Context, id itil.ID, actor itil.Actor, level int, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "escalate", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "escalate"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if level < 0 || level > s.cfg.maxLevel {
			v.Add("level", fmt.Sprintf("must be between 0 and %d", s.cfg.maxLevel))
		} else if level == inc.EscalationLevel {
			v.Add("level", fmt.Sprintf("the incident is already at level %d", level))
		}
		checkText(&v, "reason", reason, true, maxText)
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		summary := fmt.Sprintf("escalated from level %d to %d", inc.EscalationLevel, level)
		inc.EscalationLevel = level
		return EventEscalated, Change{Summary: summary, Reason: reason}, nil
	})
}

// Hold puts an incident On Hold for a reason, or changes the reason of one
// already On Hold. Awaiting the caller requires a comment telling the
// caller what is needed; a comment is added to the customer-visible
// comments.
func (s *Service) Hold(ctx context.Context, id itil.ID, actor itil.Actor, reason HoldReason, comment string) (*Incident, error) {
	return s.run(ctx, id, actor, "hold", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		from := inc.State
		if err := s.fire(evHold, &guardIn{inc: inc, now: now, hold: reason, comment: comment}); err != nil {
			return "", Change{}, err
		}
		inc.HoldReason = reason
		inc.respond(actor, now)
		if comment != "" {
			inc.addComment(actor, now, comment)
		}
		return EventHeld, Change{Summary: "put on hold: " + string(reason), From: changedFrom(from, inc.State), Reason: comment}, nil
	})
}

// Resume returns an On Hold incident to In Progress.
func (s *Service) Resume(ctx context.Context, id itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, id, actor, "resume", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := s.fire(evResume, &guardIn{inc: inc, now: now}); err != nil {
			return "", Change{}, err
		}
		inc.respond(actor, now)
		return EventResumed, Change{Summary: "resumed", From: StateOnHold}, nil
	})
}

// Comment adds a customer-visible comment to an open or resolved incident.
// A comment from the caller on an incident awaiting the caller returns it to
// In Progress. A caller's comment on a Resolved incident does not reopen it
// (Reopen does, within the window).
func (s *Service) Comment(ctx context.Context, id itil.ID, actor itil.Actor, text string) (*Incident, error) {
	return s.run(ctx, id, actor, "comment", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := requireNotes(inc, "comment on", text); err != nil {
			return "", Change{}, err
		}
		inc.addComment(actor, now, text)
		ch := Change{Summary: "commented"}
		if actor.ID == inc.Caller.ID && inc.State == StateOnHold && inc.HoldReason == AwaitingCaller {
			if err := s.fire(evResume, &guardIn{inc: inc, now: now}); err != nil {
				return "", Change{}, err
			}
			ch = Change{Summary: "caller replied; resumed", From: StateOnHold}
		}
		return EventCommented, ch, nil
	})
}

// WorkNote adds an internal work note to an open or resolved incident.
func (s *Service) WorkNote(ctx context.Context, id itil.ID, actor itil.Actor, text string) (*Incident, error) {
	return s.run(ctx, id, actor, "work_note", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := requireNotes(inc, "add a work note to", text); err != nil {
			return "", Change{}, err
		}
		inc.WorkNotes = append(inc.WorkNotes, Note{Author: actor, At: now, Text: text})
		return EventWorkNoted, Change{Summary: "added a work note"}, nil
	})
}

func requireNotes(inc *Incident, action, text string) error {
	if !inc.State.Open() && inc.State != StateResolved {
		return notWhile(action, inc)
	}
	var v itil.ValidationError
	checkText(&v, "text", text, true, maxText)
	return v.Err()
}

// OverridePriority sets the priority of an open incident by hand, with a
// reason; the matrix no longer applies until RestorePriority. Overriding
// with the current priority pins it against later reclassification.
func (s *Service) OverridePriority(ctx context.Context, id itil.ID, actor itil.Actor, p itil.Priority, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "override_priority", func(_ context.Context, _ storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		if err := requireOpen(inc, "override the priority of"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if !p.Valid() {
			v.Add("priority", "must be one of P1..P5")
		} else if inc.Override != nil && inc.Override.Priority == p {
			v.Add("priority", "the priority is already overridden to "+p.String())
		}
		checkText(&v, "reason", reason, true, maxText)
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		old := inc.Priority
		inc.Override = &PriorityOverride{Priority: p, Reason: reason, By: actor, At: now}
		inc.Priority = p
		return EventPriorityOverride, Change{Summary: "priority overridden " + old.String() + " -> " + p.String(), Reason: reason}, nil
	})
}

// RestorePriority removes a priority override: the priority is derived from
// the matrix again.
func (s *Service) RestorePriority(ctx context.Context, id itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, id, actor, "restore_priority", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "restore the priority of"); err != nil {
			return "", Change{}, err
		}
		if inc.Override == nil {
			return "", Change{}, itil.Invalid("priority", "is not overridden")
		}
		old := inc.Priority
		inc.Override = nil
		if err := inc.derivePriority(s.cfg.matrix); err != nil {
			return "", Change{}, err
		}
		return EventPriorityRestored, Change{Summary: "priority restored to the matrix: " + old.String() + " -> " + inc.Priority.String()}, nil
	})
}

// PromoteMajor declares an open incident a major incident, with a reason.
func (s *Service) PromoteMajor(ctx context.Context, id itil.ID, actor itil.Actor, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "promote_major", func(_ context.Context, _ storage.Tx, inc *Incident, _ time.Time) (string, Change, error) {
		if err := requireOpen(inc, "promote"); err != nil {
			return "", Change{}, err
		}
		var v itil.ValidationError
		if inc.Major {
			v.Add("major", "the incident is already a major incident")
		}
		checkText(&v, "reason", reason, true, maxText)
		if err := v.Err(); err != nil {
			return "", Change{}, err
		}
		inc.Major, inc.MajorReason = true, reason
		return EventPromoted, Change{Summary: "promoted to major incident", Reason: reason}, nil
	})
}

// LinkChild makes childID a child of parentID. Both must be open; links are
// one level deep (a parent has no parent, a child has no children), and a
// child has one parent. Resolving or closing the parent later resolves or
// closes its open children with the parent's resolution. The parent is
// saved too (its ChildCount rises), so that a concurrent resolution or
// cancellation of the parent, or a link of the parent under another
// incident, conflicts instead of leaving an open child behind.
func (s *Service) LinkChild(ctx context.Context, parentID, childID itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, childID, actor, "link", func(ctx context.Context, tx storage.Tx, child *Incident, now time.Time) (string, Change, error) {
		if parentID == childID {
			return "", Change{}, itil.Invalid("parent_id", "an incident cannot be its own parent")
		}
		parent, err := incidents.Get(ctx, tx, parentID)
		if err != nil {
			return "", Change{}, err
		}
		if err := s.authorize(ctx, actor, "link", parent); err != nil {
			return "", Change{}, err
		}
		if err := requireOpen(parent, "link a child to"); err != nil {
			return "", Change{}, err
		}
		if err := requireOpen(child, "link"); err != nil {
			return "", Change{}, err
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
			return "", Change{}, err
		}
		child.ParentID = parentID
		parent.ChildCount++
		if err := s.save(ctx, tx, parent, actor, now, EventChildLinked, Change{Summary: "linked child " + child.Number}); err != nil {
			return "", Change{}, err
		}
		return EventLinked, Change{Summary: "linked as a child of " + parent.Number}, nil
	})
}

// children iterates the child incidents of id within tx.
func children(ctx context.Context, tx storage.Tx, id itil.ID) func(func(*Incident, error) bool) {
	return incidents.Query(ctx, tx, storage.Query{Terms: []string{storage.Term("parent", id.String())}})
}

// Resolve resolves an incident with a resolution code from the configured
// list and notes. Its open children are resolved with the same resolution in
// the same transaction.
func (s *Service) Resolve(ctx context.Context, id itil.ID, actor itil.Actor, code, notes string) (*Incident, error) {
	return s.run(ctx, id, actor, "resolve", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		from := inc.State
		if err := s.resolve(inc, now, code, notes); err != nil {
			return "", Change{}, err
		}
		inc.respond(actor, now)
		err := s.cascade(ctx, tx, inc, actor, now, func(c *Incident) (bool, error) {
			if !c.State.Open() {
				return false, nil
			}
			return true, s.resolve(c, now, code, notes)
		}, EventResolved, "resolved with parent "+inc.Number)
		return EventResolved, Change{Summary: "resolved: " + code, From: from, Reason: notes}, err
	})
}

func (s *Service) resolve(inc *Incident, now time.Time, code, notes string) error {
	if err := s.fire(evResolve, &guardIn{inc: inc, now: now, code: code, notes: notes}); err != nil {
		return err
	}
	inc.ResolutionCode, inc.ResolutionNotes = code, notes
	inc.ResolvedAt = now
	return nil
}

// cascade applies fn to every child of parent and saves those it changed.
func (s *Service) cascade(ctx context.Context, tx storage.Tx, parent *Incident, actor itil.Actor, now time.Time,
	fn func(*Incident) (bool, error), typ, summary string) error {
	if parent.ChildCount == 0 {
		return nil
	}
	var kids []*Incident
	for c, err := range children(ctx, tx, parent.ID) {
		if err != nil {
			return err
		}
		kids = append(kids, c)
	}
	for _, c := range kids {
		from := c.State
		changed, err := fn(c)
		if err != nil {
			return fmt.Errorf("child %s: %w", c.Number, err)
		}
		if changed {
			if err := s.save(ctx, tx, c, actor, now, typ, Change{Summary: summary, From: from}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes a Resolved incident; it becomes final. Children that are not
// final are closed with it (open ones are resolved with the parent's
// resolution first).
func (s *Service) Close(ctx context.Context, id itil.ID, actor itil.Actor) (*Incident, error) {
	return s.run(ctx, id, actor, "close", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		return s.closeBody(ctx, tx, inc, actor, now)
	})
}

func (s *Service) closeBody(ctx context.Context, tx storage.Tx, inc *Incident, actor itil.Actor, now time.Time) (string, Change, error) {
	if err := s.close(inc, now); err != nil {
		return "", Change{}, err
	}
	err := s.cascade(ctx, tx, inc, actor, now, func(c *Incident) (bool, error) {
		if c.State.Final() {
			return false, nil
		}
		if c.State.Open() {
			if err := s.resolve(c, now, inc.ResolutionCode, inc.ResolutionNotes); err != nil {
				return false, err
			}
		}
		return true, s.close(c, now)
	}, EventClosed, "closed with parent "+inc.Number)
	return EventClosed, Change{Summary: "closed", From: StateResolved}, err
}

func (s *Service) close(inc *Incident, now time.Time) error {
	if err := s.fire(evClose, &guardIn{inc: inc, now: now}); err != nil {
		return err
	}
	inc.ClosedAt = now
	return nil
}

// Reopen returns a Resolved incident to In Progress within the reopen
// window, with a reason, and counts the reopening. A child of a Resolved
// or Closed parent cannot be reopened on its own: reopen the parent.
func (s *Service) Reopen(ctx context.Context, id itil.ID, actor itil.Actor, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "reopen", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		in := &guardIn{inc: inc, now: now, reason: reason}
		if inc.ParentID != itil.NilID && inc.State == StateResolved {
			parent, err := incidents.Get(ctx, tx, inc.ParentID)
			if err != nil {
				return "", Change{}, err
			}
			in.parentResolved = parent.State == StateResolved || parent.State == StateClosed
		}
		if err := s.fire(evReopen, in); err != nil {
			return "", Change{}, err
		}
		inc.ReopenCount++
		inc.ResolvedAt = time.Time{}
		inc.ResolutionCode, inc.ResolutionNotes = "", ""
		return EventReopened, Change{Summary: "reopened (" + strconv.Itoa(inc.ReopenCount) + ")", From: StateResolved, Reason: reason}, nil
	})
}

// Cancel cancels an open incident that needs no resolution (raised in
// error, a duplicate report), with a reason; it becomes final. A parent with
// open children cannot be canceled.
func (s *Service) Cancel(ctx context.Context, id itil.ID, actor itil.Actor, reason string) (*Incident, error) {
	return s.run(ctx, id, actor, "cancel", func(ctx context.Context, tx storage.Tx, inc *Incident, now time.Time) (string, Change, error) {
		from := inc.State
		if err := s.fire(evCancel, &guardIn{inc: inc, now: now, reason: reason}); err != nil {
			return "", Change{}, err
		}
		if inc.ChildCount > 0 {
			for c, err := range children(ctx, tx, inc.ID) {
				if err != nil {
					return "", Change{}, err
				}
				if c.State.Open() {
					return "", Change{}, fmt.Errorf("%w: %s has open child %s; resolve or cancel it first",
						itil.ErrInvalidTransition, inc.Number, c.Number)
				}
			}
		}
		return EventCanceled, Change{Summary: "canceled", From: from, Reason: reason}, nil
	})
}

// fire runs a lifecycle event on in.inc and applies the new state; leaving
// On Hold clears the hold reason.
func (s *Service) fire(event string, in *guardIn) error {
	in.cfg = &s.cfg
	to, err := fire(event, in)
	if err != nil {
		return err
	}
	if to != StateOnHold {
		in.inc.HoldReason = ""
	}
	in.inc.State = to
	return nil
}

func changedFrom(from, to State) State {
	if from == to {
		return ""
	}
	return from
}
