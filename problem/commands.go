package problem

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
)

type (
	cmd   = pipeline.Cmd[Problem]
	event = pipeline.Event
)

// Open records a new problem in state New and numbers it. Impact and
// urgency may wait for the assessment; while they are unset the problem
// has no priority.
func (s *Service) Open(ctx context.Context, actor itil.Actor, in NewProblem) (*Problem, error) {
	tmpl := &Problem{
		Title: in.Title, Description: in.Description, Category: in.Category,
		ServiceID: in.ServiceID, CIIDs: slices.Clone(in.CIIDs),
		Impact: in.Impact, Urgency: in.Urgency, Workaround: in.Workaround,
		State: StateNew, OpenedBy: actor,
	}
	if len(tmpl.CIIDs) == 0 {
		tmpl.CIIDs = nil
	}
	return s.open(ctx, actor, tmpl, nil, nil)
}

// open is how every problem is opened (Open, TrendWatch.Open): it checks
// the actor and tmpl, derives the priority and creates tmpl in state New.
// In the command's transaction, guard (when not nil) runs first and may
// end the command before anything is numbered or written; then the
// problem gets its opening time and number; then more (when not nil) does
// the rest of the command's work in the same transaction and returns text
// the opened event's summary ends with.
func (s *Service) open(ctx context.Context, actor itil.Actor, tmpl *Problem,
	guard func(c *cmd) error, more func(c *cmd, p *Problem) (string, error)) (*Problem, error) {
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
	return s.run.Create(ctx, actor, CommandOpen, tmpl, func(c *cmd, p *Problem) (event, error) {
		if guard != nil {
			if err := guard(c); err != nil {
				return event{}, err
			}
		}
		p.OpenedAt = c.Now
		var err error
		if p.Number, err = c.Number(Kind, NumberPrefix); err != nil {
			return event{}, err
		}
		summary := "opened " + p.Number + " " + strconv.Quote(p.Title)
		if p.Priority != 0 {
			summary += " with priority " + p.Priority.String()
		}
		if more != nil {
			tail, err := more(c, p)
			if err != nil {
				return event{}, err
			}
			summary += tail
		}
		return event{Type: EventOpened, Summary: summary}, nil
	})
}

// Update changes the descriptive fields, the impact and urgency (the
// priority is derived again) and the texts of the investigation
// (workaround, cause notes, fix notes) of a problem that is not final. A
// patch that alters nothing is rejected, and so is one that takes from the
// problem what its state needs (cause notes once a fix is in progress, fix
// notes once resolved, impact and urgency once confirmed).
func (s *Service) Update(ctx context.Context, actor itil.Actor, id itil.ID, patch Patch) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandUpdate, func(c *cmd, p *Problem) (event, error) {
		if err := requireActive(p, "update"); err != nil {
			return event{}, err
		}
		var changed []string
		changed = pipeline.Set(changed, "title", &p.Title, patch.Title)
		changed = pipeline.Set(changed, "description", &p.Description, patch.Description)
		changed = pipeline.Set(changed, "category", &p.Category, patch.Category)
		changed = pipeline.Set(changed, "service", &p.ServiceID, patch.ServiceID)
		if patch.CIIDs != nil && !slices.Equal(*patch.CIIDs, p.CIIDs) {
			p.CIIDs = slices.Clone(*patch.CIIDs)
			if len(p.CIIDs) == 0 {
				p.CIIDs = nil
			}
			changed = append(changed, "cis")
		}
		changed = pipeline.Set(changed, "impact", &p.Impact, patch.Impact)
		changed = pipeline.Set(changed, "urgency", &p.Urgency, patch.Urgency)
		changed = pipeline.Set(changed, "workaround", &p.Workaround, patch.Workaround)
		changed = pipeline.Set(changed, "cause notes", &p.CauseNotes, patch.CauseNotes)
		changed = pipeline.Set(changed, "fix notes", &p.FixNotes, patch.FixNotes)
		var v itil.ValidationError
		p.validate(s.cfg.matrix, &v)
		if len(changed) == 0 {
			v.Add("patch", "nothing differs from the problem as it is")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		old := p.Priority
		if err := p.derivePriority(s.cfg.matrix); err != nil {
			return event{}, err
		}
		summary := "updated " + strings.Join(changed, ", ")
		if p.Priority != old {
			summary += "; priority " + priorityText(old) + " → " + priorityText(p.Priority)
		}
		return event{Type: EventUpdated, Summary: summary}, nil
	})
}

func priorityText(p itil.Priority) string {
	if p == 0 {
		return "none"
	}
	return p.String()
}

// Assign gives a problem that is not final to a group and, optionally, a
// problem coordinator (assignee).
func (s *Service) Assign(ctx context.Context, actor itil.Actor, id itil.ID, group, assignee string) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandAssign, func(c *cmd, p *Problem) (event, error) {
		if err := requireActive(p, "assign"); err != nil {
			return event{}, err
		}
		var v itil.ValidationError
		check.Text(&v, "group", group, true, check.Short)
		check.Text(&v, "assignee", assignee, false, check.Short)
		if group == p.AssignmentGroup && assignee == p.Assignee {
			v.Add("group", "the problem is already assigned so")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		summary := "assigned to " + group
		if assignee != "" {
			summary += "/" + assignee
		}
		p.AssignmentGroup, p.Assignee = group, assignee
		return event{Type: EventAssigned, Summary: summary}, nil
	})
}

// Comment adds a note visible to the problem's stakeholders to a problem
// that is not final. The note is stored apart from the problem (list them
// with Notes); the problem itself is not written.
func (s *Service) Comment(ctx context.Context, actor itil.Actor, id itil.ID, text string) (*itil.Note, error) {
	return s.note(ctx, actor, id, CommandComment, itil.Comment, text)
}

// WorkNote adds an internal work note to a problem that is not final,
// stored apart from it like comments.
func (s *Service) WorkNote(ctx context.Context, actor itil.Actor, id itil.ID, text string) (*itil.Note, error) {
	return s.note(ctx, actor, id, CommandWorkNote, itil.WorkNote, text)
}

func (s *Service) note(ctx context.Context, actor itil.Actor, id itil.ID, command string, vis itil.Visibility, text string) (*itil.Note, error) {
	var note *itil.Note
	_, err := s.run.Run(ctx, actor, id, command, func(c *cmd, p *Problem) (event, error) {
		if err := requireActive(p, "add a "+strings.ReplaceAll(string(vis), "_", " ")+" to"); err != nil {
			return event{}, err
		}
		if err := check.Required("text", text); err != nil {
			return event{}, err
		}
		typ, summary := EventCommented, "commented"
		if vis == itil.WorkNote {
			typ, summary = EventWorkNoted, "added a work note"
		}
		var err error
		note, err = c.AddNote(p.ID, vis, text, typ, summary)
		return event{}, err // the problem is unchanged: not written
	})
	if err != nil {
		return nil, err
	}
	return note, nil
}

// Assess moves a New problem to Assess: someone is looking at whether it
// is a problem worth analyzing.
func (s *Service) Assess(ctx context.Context, actor itil.Actor, id itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandAssess, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evAssess, nil); err != nil {
			return event{}, err
		}
		return event{Type: EventAssessed, Summary: "assessing"}, nil
	})
}

// Confirm confirms a problem in Assess as worth analyzing and moves it to
// Root Cause Analysis. It needs an assignment group and a priority (an
// impact and an urgency), and records who confirmed it and when.
func (s *Service) Confirm(ctx context.Context, actor itil.Actor, id itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandConfirm, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evConfirm, func() error { return guardConfirm(p) }); err != nil {
			return event{}, err
		}
		p.ConfirmedBy, p.ConfirmedAt = c.Actor, c.Now
		return event{Type: EventConfirmed, Summary: "confirmed with priority " + p.Priority.String()}, nil
	})
}

// MarkDuplicate closes a problem in New, Assess or Root Cause Analysis as
// a duplicate of the surviving problem survivorID, with resolution code
// Duplicate and DuplicateOf set. The survivor must be another problem, not
// canceled and not a duplicate itself; a problem that has duplicates of
// its own cannot become one (mark them duplicates of the survivor
// instead). The survivor is written too (its DuplicateCount rises), so
// that a concurrent command making it a duplicate conflicts instead of
// leaving a chain. The duplicate's incidents move to the survivor in the
// same transaction (see LinkIncident), and so do its fix records, each in
// its state, except those the survivor lists already (the survivor's
// state of those stands); the duplicate keeps none. A survivor without a
// known error, or with a retired one, takes the duplicate's (unless that
// one is retired too) (KnownErrorID; the known error still
// names the problem it came from, and incidents resolved with it are
// linked to the survivor: see ResolveWithKnownError). When the moved records
// make the fix of an open survivor ready (see Problem.FixReady), the
// survivor's event is EventFixReady instead of EventDuplicateLinked. More
// than MaxFixRecords on the survivor gives a *itil.ValidationError naming
// "fix_records". An unknown survivor gives an error wrapping
// itil.ErrNotFound that names duplicate_of.
func (s *Service) MarkDuplicate(ctx context.Context, actor itil.Actor, id, survivorID itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandMarkDuplicate, func(c *cmd, p *Problem) (event, error) {
		if survivorID == id {
			return event{}, itil.Invalid("duplicate_of", "a problem cannot be a duplicate of itself")
		}
		if survivorID == itil.NilID {
			return event{}, itil.Invalid("duplicate_of", "is required")
		}
		survivor, err := c.Load(survivorID)
		if err != nil {
			return event{}, fmt.Errorf("duplicate_of: %w", err)
		}
		if err := c.Authorize(CommandMarkDuplicate, survivor); err != nil {
			return event{}, err
		}
		if err := fire(p, evDuplicate, func() error {
			var v itil.ValidationError
			if survivor.ResolutionCode == Duplicate {
				v.Add("duplicate_of", survivor.Number+" is itself a duplicate; name the problem it duplicates")
			} else if survivor.State == StateCanceled {
				v.Add("duplicate_of", survivor.Number+" is canceled")
			}
			if p.DuplicateCount > 0 {
				v.Add("duplicate_of", p.Number+" has duplicates of its own; mark them duplicates of "+survivor.Number+" first")
			}
			return v.Err()
		}); err != nil {
			return event{}, err
		}
		p.ResolutionCode, p.DuplicateOf, p.ClosedAt = Duplicate, survivorID, c.Now
		survivor.DuplicateCount++
		ready, err := moveFixRecords(p, survivor) // fixrecord.go; checked before any incident is written
		if err != nil {
			return event{}, err
		}
		if err := s.moveLinked(c, p, survivor); err != nil { // links.go
			return event{}, err
		}
		sev := event{Type: EventDuplicateLinked, Summary: "duplicate " + p.Number + " linked", Refs: []itil.ID{p.ID}}
		take, err := s.takesKnownError(c, survivor, p)
		if err != nil {
			return event{}, err
		}
		if take {
			// The duplicate's known error documents the survivor's fault.
			survivor.KnownErrorID = p.KnownErrorID
			sev.Summary += " with its known error"
			sev.Refs = append(sev.Refs, p.KnownErrorID)
		}
		if ready {
			sev.Type, sev.Summary = EventFixReady, sev.Summary+" with its fix records; the fix is ready to resolve"
		}
		if err := c.Save(survivor, sev); err != nil {
			return event{}, err
		}
		return event{Type: EventMarkedDuplicate, Summary: "closed as a duplicate of " + survivor.Number, Refs: []itil.ID{survivorID}}, nil
	})
}

// takesKnownError reports whether the survivor takes the known error of
// its duplicate dup: dup has one that is not retired, and the survivor has
// none or only a retired one.
func (s *Service) takesKnownError(c *cmd, survivor, dup *Problem) (bool, error) {
	if dup.KnownErrorID == itil.NilID || dup.KnownErrorID == survivor.KnownErrorID {
		return false, nil
	}
	kc := pipeline.Other(c, s.KnownErrors().run)
	retired := func(p *Problem) (bool, error) {
		ke, err := kc.Load(p.KnownErrorID)
		if err != nil {
			return false, fmt.Errorf("problem %s's known error: %w", p.Number, err)
		}
		return ke.State == KnownErrorRetired, nil
	}
	if gone, err := retired(dup); gone || err != nil {
		return false, err
	}
	if survivor.KnownErrorID == itil.NilID {
		return true, nil
	}
	return retired(survivor)
}

// Cancel cancels an open problem that needs no more work, with a reason;
// it becomes final with resolution code Canceled. Its incidents stay
// linked to it; in the same transaction, every open one gets a work note
// with the reason, and those On Hold awaiting the problem are resumed (In
// Progress): no fix is coming.
func (s *Service) Cancel(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandCancel, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evCancel, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		p.ResolutionCode, p.ClosedAt = Canceled, c.Now
		if err := s.cancelLinked(c, p, reason); err != nil { // links.go
			return event{}, err
		}
		return event{Type: EventCanceled, Summary: "canceled", Reason: reason}, nil
	})
}

// Fix starts the fix of a problem in Root Cause Analysis (Fix in
// Progress). It needs the cause notes (set them with Update) and records
// who started the fix and when.
func (s *Service) Fix(ctx context.Context, actor itil.Actor, id itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandFix, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evFix, func() error { return guardFix(p) }); err != nil {
			return event{}, err
		}
		p.FixStartedBy, p.FixStartedAt = c.Actor, c.Now
		return event{Type: EventFixStarted, Summary: "fix in progress"}, nil
	})
}

// AcceptRisk closes a problem in Root Cause Analysis without a fix, with
// resolution code RiskAccepted and the reason the risk is accepted. Its
// open linked incidents get a work note with the reason, in the same
// transaction, and those On Hold awaiting the problem are resumed (In
// Progress): no fix is coming.
func (s *Service) AcceptRisk(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandAcceptRisk, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evAcceptRisk, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		p.ResolutionCode, p.RiskAcceptedReason, p.ClosedAt = RiskAccepted, reason, c.Now
		if err := s.noteLinked(c, p); err != nil { // links.go
			return event{}, err
		}
		return event{Type: EventRiskAccepted, Summary: "closed: risk accepted", Reason: reason}, nil
	})
}

// Reanalyze returns a problem to Root Cause Analysis, with a reason: from
// Fix in Progress or Resolved (the fix did not hold), and from Closed only
// when the Authorizer allows CommandReanalyzeClosed (a problem manager's
// decision; without an Authorizer it is refused with itil.ErrForbidden).
// A closed duplicate is not reanalyzed: its surviving problem is. The
// resolution (code, risk-accepted reason, resolved and closed times) is
// cleared; the texts stay.
func (s *Service) Reanalyze(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandReanalyze, func(c *cmd, p *Problem) (event, error) {
		ev := evReanalyze
		if p.State == StateClosed {
			ev = evReanalyzeClosed
			if s.cfg.authorize == nil {
				return event{}, fmt.Errorf("%w: reanalyzing closed problem %s is a problem manager's decision; install an Authorizer (WithAuthorizer) that allows %q",
					itil.ErrForbidden, p.Number, CommandReanalyzeClosed)
			}
			if err := c.Authorize(CommandReanalyzeClosed, p); err != nil {
				return event{}, err
			}
			if p.ResolutionCode == Duplicate {
				return event{}, fmt.Errorf("%w: %s is a duplicate; reanalyze its surviving problem instead",
					itil.ErrInvalidTransition, p.Number)
			}
		}
		if err := fire(p, ev, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		p.ResolutionCode, p.RiskAcceptedReason = "", ""
		p.ResolvedAt, p.ClosedAt = time.Time{}, time.Time{}
		return event{Type: EventReanalyzed, Summary: "back to root cause analysis", Reason: reason}, nil
	})
}

// Resolve resolves a problem whose fix is in progress, with resolution
// code FixApplied. It needs the fix notes (set them with Update). In the
// same transaction, its linked incidents On Hold awaiting the problem
// (every open one, WithResolveAllLinked) are resolved with
// ResolvedByProblem and the fix notes, and its other open incidents get a
// work note: all of it is stored, or none of it.
func (s *Service) Resolve(ctx context.Context, actor itil.Actor, id itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandResolve, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evResolve, func() error { return guardResolve(p) }); err != nil {
			return event{}, err
		}
		p.ResolutionCode, p.ResolvedAt = FixApplied, c.Now
		err := s.resolveLinked(c, p) // links.go
		return event{Type: EventResolved, Summary: "resolved: fix applied"}, err
	})
}

// Complete closes a Resolved problem; it becomes final.
func (s *Service) Complete(ctx context.Context, actor itil.Actor, id itil.ID) (*Problem, error) {
	return s.run.Run(ctx, actor, id, CommandComplete, func(c *cmd, p *Problem) (event, error) {
		if err := fire(p, evComplete, nil); err != nil {
			return event{}, err
		}
		p.ClosedAt = c.Now
		return event{Type: EventCompleted, Summary: "closed"}, nil
	})
}

// requireActive refuses a command on a final problem.
func requireActive(p *Problem, action string) error {
	if p.State.Final() {
		return fmt.Errorf("%w: cannot %s problem %s while it is %s", itil.ErrInvalidTransition, action, p.Number, p.State)
	}
	return nil
}
