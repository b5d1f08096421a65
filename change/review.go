package change

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/problem"
)

// Command names and journal event types of the post-implementation
// review.
const (
	CommandRecordReview  = "record_review"
	CommandReviewProblem = "review_to_problem"
	EventReviewRecorded  = "change.review_recorded"
	EventReviewProblem   = "change.review_problem_opened"
)

// MaxFollowUps is the most follow-up actions a review lists.
const MaxFollowUps = 20

// Review is a change's post-implementation review: what happened, what
// was learned, and what is to be done next. Close requires one for an
// unsuccessful change, one closed with issues, and every change of a model
// that is ReviewRequired (the emergency model).
type Review struct {
	WhatHappened string     `json:"what_happened"`
	Lessons      string     `json:"lessons,omitempty"`
	FollowUps    []string   `json:"follow_ups,omitempty"`
	ReviewedBy   itil.Actor `json:"reviewed_by"`
	ReviewedAt   time.Time  `json:"reviewed_at"`
	// ProblemID is the problem its findings were turned into
	// (ReviewToProblem), if any.
	ProblemID itil.ID `json:"problem_id,omitzero"`
}

// ReviewInput is what RecordReview takes.
type ReviewInput struct {
	WhatHappened string
	Lessons      string
	FollowUps    []string
}

// reviewRequired reports whether closing ch with code needs a review:
// when it did not go to plan, or when its model reviews every change (the
// emergency model does).
func (s *Service) reviewRequired(ch *Change, code CloseCode) bool {
	if code == Unsuccessful || code == SuccessfulWithIssues {
		return true
	}
	m, err := s.model(ch)
	return err == nil && m.ReviewRequired
}

// reviewable reports whether ch may record its review now: in Review, or,
// under a model without a Review state, in a state it closes from.
func (s *Service) reviewable(ch *Change) bool {
	if ch.State == StateReview {
		return true
	}
	m, err := s.model(ch)
	if err != nil || slices.Contains(m.machine.States(), StateReview) {
		return false
	}
	_, ok := m.machine.EventTo(ch.State, StateClosed)
	return ok
}

// RecordReview records (or replaces) the post-implementation review of a
// change in Review (or, under a model without Review, in a state it
// closes from). What happened is required; lessons are optional;
// follow-ups are short texts, at most MaxFollowUps.
func (s *Service) RecordReview(ctx context.Context, actor itil.Actor, id itil.ID, in ReviewInput) (*Change, error) {
	var v itil.ValidationError
	check.Text(&v, "what_happened", in.WhatHappened, true, check.Long)
	check.Text(&v, "lessons", in.Lessons, false, check.Long)
	if len(in.FollowUps) > MaxFollowUps {
		v.Add("follow_ups", "must list at most "+strconv.Itoa(MaxFollowUps))
	}
	for i, f := range in.FollowUps {
		check.Text(&v, "follow_ups["+strconv.Itoa(i)+"]", f, true, check.Short)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.run.Run(ctx, actor, id, CommandRecordReview, func(c *cmd, ch *Change) (event, error) {
		if !s.reviewable(ch) {
			return event{}, itilTransition("change %s is %s; it is reviewed in review", ch.Number, ch.State)
		}
		r := &Review{WhatHappened: in.WhatHappened, Lessons: in.Lessons, FollowUps: slices.Clone(in.FollowUps),
			ReviewedBy: c.Actor, ReviewedAt: c.Now}
		if ch.Review != nil {
			r.ProblemID = ch.Review.ProblemID
		}
		ch.Review = r
		return event{Type: EventReviewRecorded, Summary: "post-implementation review recorded"}, nil
	})
}

// ReviewToProblem opens a problem from the review of the change id
// (WithProblems): its title names the change, its description holds what
// happened, the lessons and the follow-ups, and it names the change's
// CIs; the review keeps the problem's ID. Both are written in one
// transaction. A change without a review, or whose review made a problem
// already, gives an error wrapping itil.ErrInvalidTransition.
func (s *Service) ReviewToProblem(ctx context.Context, actor itil.Actor, id itil.ID) (*problem.Problem, error) {
	var out *problem.Problem
	_, err := s.run.Run(ctx, actor, id, CommandReviewProblem, func(c *cmd, ch *Change) (event, error) {
		if s.cfg.problems == nil {
			return event{}, ErrNoProblems
		}
		if ch.Review == nil {
			return event{}, itilTransition("change %s has no review", ch.Number)
		}
		if ch.Review.ProblemID != itil.NilID {
			return event{}, itilTransition("the review of change %s made a problem already", ch.Number)
		}
		var b strings.Builder
		b.WriteString("From the post-implementation review of " + ch.Number + ".\n\nWhat happened: " + ch.Review.WhatHappened)
		if ch.Review.Lessons != "" {
			b.WriteString("\n\nLessons: " + ch.Review.Lessons)
		}
		for _, f := range ch.Review.FollowUps {
			b.WriteString("\n- " + f)
		}
		cis := slices.Clone(ch.CIIDs)
		if ch.CIID != itil.NilID {
			cis = append([]itil.ID{ch.CIID}, cis...)
		}
		if len(cis) > problem.MaxCIs {
			cis = cis[:problem.MaxCIs]
		}
		p, err := s.cfg.problems.In(c.Tx).Open(c.Ctx, c.Actor, problem.NewProblem{
			Title:       check.Cut("Review of "+ch.Number+": "+ch.Title, check.Short),
			Description: check.Cut(b.String(), check.Long), CIIDs: cis,
		})
		if err != nil {
			return event{}, err
		}
		out = p
		ch.Review.ProblemID = p.ID
		return event{Type: EventReviewProblem, Summary: "problem " + p.Number + " opened from the review", Refs: []itil.ID{p.ID}}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
