package strategy

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Business relationship management keeps the provider close to its
// customers: who they are, who speaks for them, how satisfied they are,
// what was agreed at service reviews, and what they complained of or
// praised. The seed texts tell three roles apart: the customer, who
// agrees the service levels and pays; the user, who uses the service
// day to day; and the sponsor, who authorises the budget.

// Stakeholder roles.
type Role string

const (
	RoleCustomer Role = "customer"
	RoleUser     Role = "user"
	RoleSponsor  Role = "sponsor"
)

// Stakeholder is a person who speaks for a customer, in a role.
type Stakeholder struct {
	Name    string `json:"name"`
	Role    Role   `json:"role"`
	Contact string `json:"contact,omitempty"`
}

// Customer is an organisation the provider serves. Its Code is what
// subscriptions, surveys and reviews name it by.
type Customer struct {
	ID           itil.ID       `json:"id"`
	Version      int64         `json:"version"`
	Code         string        `json:"code"`
	Name         string        `json:"name"`
	Stakeholders []Stakeholder `json:"stakeholders,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Question is one question of a satisfaction survey, answered on a scale
// from Min to Max (1 to 5, say; Max the best).
type Question struct {
	Text string `json:"text"`
	Min  int    `json:"min"`
	Max  int    `json:"max"`
}

// Survey is one customer's answers about one service.
type Survey struct {
	ID        itil.ID    `json:"id"`
	Version   int64      `json:"version"`
	EntryID   itil.ID    `json:"entry_id"`
	Customer  string     `json:"customer"`
	At        time.Time  `json:"at"`
	Questions []Question `json:"questions"`
	Answers   []int      `json:"answers"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Score is the survey's satisfaction: the mean of its answers, each
// normalised to 0..1 ((answer − min) / (max − min)), times 100, to 16
// decimal places. A survey RecordSurvey would refuse (no answer, an
// answer per question missing, a scale without a range) scores zero.
func (s *Survey) Score() decimal.Decimal {
	if len(s.Answers) == 0 || len(s.Answers) != len(s.Questions) {
		return decimal.Zero
	}
	var sum decimal.Decimal
	for i, a := range s.Answers {
		q := s.Questions[i]
		if q.Max <= q.Min {
			return decimal.Zero
		}
		sum = sum.Add(decimal.NewFromInt(int64(a - q.Min)).Mul(decimal.NewFromInt(100)).Div(decimal.NewFromInt(int64(q.Max - q.Min))))
	}
	return sum.Div(decimal.NewFromInt(int64(len(s.Answers))))
}

// ReviewAction is what a service review agreed someone would do.
type ReviewAction struct {
	What  string    `json:"what"`
	Owner string    `json:"owner"`
	Due   time.Time `json:"due,omitzero"`
}

// Review is a service review with a customer: a meeting record.
type Review struct {
	ID        itil.ID        `json:"id"`
	Version   int64          `json:"version"`
	EntryID   itil.ID        `json:"entry_id"`
	Customer  string         `json:"customer"`
	Held      time.Time      `json:"held"`
	Notes     string         `json:"notes,omitempty"`
	Actions   []ReviewAction `json:"actions,omitempty"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// FeedbackType tells a complaint from a compliment.
type FeedbackType string

const (
	Complaint  FeedbackType = "complaint"
	Compliment FeedbackType = "compliment"
)

// Feedback is a complaint or a compliment a customer made about a
// service.
type Feedback struct {
	ID        itil.ID      `json:"id"`
	Version   int64        `json:"version"`
	EntryID   itil.ID      `json:"entry_id"`
	Customer  string       `json:"customer"`
	Type      FeedbackType `json:"type"`
	Text      string       `json:"text"`
	At        time.Time    `json:"at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Kinds of the relationship records.
const (
	KindCustomer = "strategy_customer"
	KindSurvey   = "strategy_survey"
	KindReview   = "strategy_review"
	KindFeedback = "strategy_feedback"
)

// Commands and events of business relationships.
const (
	CommandAddCustomer    = "add_customer"
	CommandRecordSurvey   = "record_survey"
	CommandRecordReview   = "record_review"
	CommandRecordFeedback = "record_feedback"

	EventCustomerAdded    = "strategy.customer_added"
	EventSurveyRecorded   = "strategy.survey_recorded"
	EventReviewRecorded   = "strategy.review_recorded"
	EventFeedbackRecorded = "strategy.feedback_recorded"
)

// Limits of relationship records.
const (
	MaxStakeholders = 100
	MaxQuestions    = 50
	MaxActions      = 100
	// MaxScale bounds a question's scale: from -MaxScale to MaxScale.
	MaxScale = 1000
)

func entryCustomerTerms(entry itil.ID, customer string, dst []string) []string {
	start := len(dst)
	dst = append(dst, storage.Term("customer", customer), storage.Term("entry", entry.String()))
	slices.Sort(dst[start:])
	return dst
}

var customers = storage.NewCollection(storage.Schema[Customer]{
	Kind: KindCustomer, ID: func(c *Customer) itil.ID { return c.ID }, Version: func(c *Customer) *int64 { return &c.Version },
	SortKey: func(c *Customer) string { return c.Code },
	Terms:   func(c *Customer, dst []string) []string { return append(dst, storage.Term("code", c.Code)) },
	Clone:   func(dst, src *Customer) { *dst = *src; dst.Stakeholders = slices.Clone(src.Stakeholders) },
})

var surveys = storage.NewCollection(storage.Schema[Survey]{
	Kind: KindSurvey, ID: func(s *Survey) itil.ID { return s.ID }, Version: func(s *Survey) *int64 { return &s.Version },
	SortKey: func(s *Survey) string { return storage.TimeKey(s.At) },
	Terms:   func(s *Survey, dst []string) []string { return entryCustomerTerms(s.EntryID, s.Customer, dst) },
	Clone: func(dst, src *Survey) {
		*dst = *src
		dst.Questions, dst.Answers = slices.Clone(src.Questions), slices.Clone(src.Answers)
	},
})

var reviews = storage.NewCollection(storage.Schema[Review]{
	Kind: KindReview, ID: func(r *Review) itil.ID { return r.ID }, Version: func(r *Review) *int64 { return &r.Version },
	SortKey: func(r *Review) string { return storage.TimeKey(r.Held) },
	Terms:   func(r *Review, dst []string) []string { return entryCustomerTerms(r.EntryID, r.Customer, dst) },
	Clone:   func(dst, src *Review) { *dst = *src; dst.Actions = slices.Clone(src.Actions) },
})

var feedbacks = storage.NewCollection(storage.Schema[Feedback]{
	Kind: KindFeedback, ID: func(f *Feedback) itil.ID { return f.ID }, Version: func(f *Feedback) *int64 { return &f.Version },
	SortKey: func(f *Feedback) string { return storage.TimeKey(f.At) },
	Terms:   func(f *Feedback, dst []string) []string { return entryCustomerTerms(f.EntryID, f.Customer, dst) },
	Clone:   func(dst, src *Feedback) { *dst = *src },
})

func specOf[T any](c *storage.Collection[T], touch func(*T, time.Time), clone func(dst, src *T)) *pipeline.Spec[T] {
	return (&pipeline.Spec[T]{Collection: c, Touch: touch, Skip: []string{"version", "updated_at"},
		Clone: func(v *T) *T { var out T; clone(&out, v); return &out }}).Init()
}

var (
	customerSpec = specOf(customers, func(c *Customer, now time.Time) { c.UpdatedAt = now },
		func(dst, src *Customer) { *dst = *src; dst.Stakeholders = slices.Clone(src.Stakeholders) })
	surveySpec = specOf(surveys, func(s *Survey, now time.Time) { s.UpdatedAt = now }, func(dst, src *Survey) {
		*dst = *src
		dst.Questions, dst.Answers = slices.Clone(src.Questions), slices.Clone(src.Answers)
	})
	reviewSpec = specOf(reviews, func(r *Review, now time.Time) { r.UpdatedAt = now },
		func(dst, src *Review) { *dst = *src; dst.Actions = slices.Clone(src.Actions) })
	feedbackSpec = specOf(feedbacks, func(f *Feedback, now time.Time) { f.UpdatedAt = now }, func(dst, src *Feedback) { *dst = *src })
)

// AddCustomer registers a customer; its code must be new. Bad fields give
// a *itil.ValidationError naming each; a code taken an error wrapping
// itil.ErrConflict.
func (s *Service) AddCustomer(ctx context.Context, actor itil.Actor, code, name string, stakeholders []Stakeholder) (*Customer, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "code", code, true, check.Short)
	check.Text(&v, "name", name, true, check.Short)
	if len(stakeholders) > MaxStakeholders {
		v.Add("stakeholders", "lists more than "+strconv.Itoa(MaxStakeholders))
	}
	for i, st := range stakeholders {
		f := "stakeholders[" + strconv.Itoa(i) + "]"
		check.Text(&v, f+".name", st.Name, true, check.Short)
		check.Text(&v, f+".contact", st.Contact, false, check.Short)
		if st.Role != RoleCustomer && st.Role != RoleUser && st.Role != RoleSponsor {
			v.Add(f+".role", "must be customer, user or sponsor")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The ID follows from the code, so that two instances adding the same
	// code meet on one record.
	c := &Customer{ID: customerID(code), Code: code, Name: name, Stakeholders: slices.Clone(stakeholders)}
	r := sibling(s, customerSpec)
	return r.Create(ctx, actor, CommandAddCustomer, c, func(cm *pipeline.Cmd[Customer], c *Customer) (event, error) {
		c.CreatedAt = cm.Now
		return event{Type: EventCustomerAdded, Summary: "customer " + c.Code + " " + strconv.Quote(c.Name)}, nil
	})
}

// GetCustomer returns the customer with the code, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetCustomer(ctx context.Context, code string) (*Customer, error) {
	return sibling(s, customerSpec).Get(ctx, customerID(code))
}

var customerSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/strategy#customer"))

func customerID(code string) itil.ID { return uuid.NewSHA1(customerSpace, []byte(code)) }

// RecordSurvey records a customer's answers about the service entryID. A
// customer not registered, an answer off its question's scale or a
// question without a scale gives a *itil.ValidationError; an unknown
// entry an error wrapping itil.ErrNotFound.
func (s *Service) RecordSurvey(ctx context.Context, actor itil.Actor, entryID itil.ID, customer string, at time.Time,
	questions []Question, answers []int) (*Survey, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Time(&v, "at", at)
	switch {
	case len(questions) == 0:
		v.Add("questions", "are required")
	case len(questions) > MaxQuestions:
		v.Add("questions", "list more than "+strconv.Itoa(MaxQuestions))
	case len(answers) != len(questions):
		v.Add("answers", fmt.Sprintf("must answer each of the %d questions", len(questions)))
	}
	for i, q := range questions {
		f := "questions[" + strconv.Itoa(i) + "]"
		check.Text(&v, f+".text", q.Text, true, check.Short)
		switch {
		case q.Min < -MaxScale || q.Min > MaxScale:
			v.Add(f+".min", "must be from -"+strconv.Itoa(MaxScale)+" to "+strconv.Itoa(MaxScale))
		case q.Max < -MaxScale || q.Max > MaxScale:
			v.Add(f+".max", "must be from -"+strconv.Itoa(MaxScale)+" to "+strconv.Itoa(MaxScale))
		case q.Max <= q.Min:
			v.Add(f+".max", "must be above min")
		case i < len(answers) && (answers[i] < q.Min || answers[i] > q.Max):
			v.Add("answers["+strconv.Itoa(i)+"]", fmt.Sprintf("must be from %d to %d", q.Min, q.Max))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sv := &Survey{ID: itil.NewID(), EntryID: entryID, Customer: customer, At: at.UTC(), Questions: slices.Clone(questions), Answers: slices.Clone(answers)}
	r := sibling(s, surveySpec)
	return r.Create(ctx, actor, CommandRecordSurvey, sv, func(c *pipeline.Cmd[Survey], sv *Survey) (event, error) {
		if err := s.known(c.Ctx, c.Tx, entryID, customer); err != nil {
			return event{}, err
		}
		return event{Type: EventSurveyRecorded, Summary: "survey of " + customer + ": " + sv.Score().StringFixed(1), Refs: []itil.ID{entryID}}, nil
	})
}

// known checks that the entry exists and the customer is registered.
func (s *Service) known(ctx context.Context, tx storage.Tx, entryID itil.ID, customer string) error {
	if _, err := entries.Get(ctx, tx, entryID); err != nil {
		return fmt.Errorf("entry_id: %w", err)
	}
	if _, err := customers.Get(ctx, tx, customerID(customer)); err != nil {
		return itil.Invalid("customer", strconv.Quote(customer)+" is not a registered customer (AddCustomer)")
	}
	return nil
}

// Satisfaction is a service's satisfaction over a period: the mean of its
// surveys' scores (Survey.Score), rounded to two places for display.
type Satisfaction struct {
	EntryID itil.ID         `json:"entry_id"`
	From    time.Time       `json:"from"`
	To      time.Time       `json:"to"`
	Surveys int             `json:"surveys"`
	Score   decimal.Decimal `json:"score"`
}

// Satisfaction returns the satisfaction with the service entryID from the
// surveys taken in [from, to).
func (s *Service) Satisfaction(ctx context.Context, entryID itil.ID, from, to time.Time) (*Satisfaction, error) {
	var v itil.ValidationError
	check.Time(&v, "from", from)
	check.Time(&v, "to", to)
	if !to.After(from) {
		v.Add("to", "must be after from")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := &Satisfaction{EntryID: entryID, From: from, To: to}
	var sum decimal.Decimal
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		for sv, err := range surveys.Query(ctx, tx, storage.Query{Kind: KindSurvey, Terms: []string{storage.Term("entry", entryID.String())},
			Min: storage.TimeKey(from), Max: storage.TimeKey(to)}) {
			if err != nil {
				return err
			}
			if sv.At.Before(from) || !sv.At.Before(to) {
				continue
			}
			sum = sum.Add(sv.Score())
			out.Surveys++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.Surveys > 0 {
		out.Score = sum.Div(decimal.NewFromInt(int64(out.Surveys))).Round(2)
	}
	return out, nil
}

// RecordReview records a service review held with a customer, with the
// actions agreed (each with an owner).
func (s *Service) RecordReview(ctx context.Context, actor itil.Actor, entryID itil.ID, customer string, held time.Time,
	notes string, actions []ReviewAction) (*Review, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Time(&v, "held", held)
	check.Text(&v, "notes", notes, false, check.Long)
	if len(actions) > MaxActions {
		v.Add("actions", "list more than "+strconv.Itoa(MaxActions))
	}
	for i, a := range actions {
		f := "actions[" + strconv.Itoa(i) + "]"
		check.Text(&v, f+".what", a.What, true, check.Short)
		check.Text(&v, f+".owner", a.Owner, true, check.Short)
		if !a.Due.IsZero() {
			check.Time(&v, f+".due", a.Due)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rv := &Review{ID: itil.NewID(), EntryID: entryID, Customer: customer, Held: held.UTC(), Notes: notes, Actions: slices.Clone(actions)}
	r := sibling(s, reviewSpec)
	return r.Create(ctx, actor, CommandRecordReview, rv, func(c *pipeline.Cmd[Review], rv *Review) (event, error) {
		if err := s.known(c.Ctx, c.Tx, entryID, customer); err != nil {
			return event{}, err
		}
		return event{Type: EventReviewRecorded, Summary: "service review with " + customer + ", " + strconv.Itoa(len(rv.Actions)) + " actions",
			Refs: []itil.ID{entryID}}, nil
	})
}

// RecordFeedback records a complaint or a compliment about a service.
func (s *Service) RecordFeedback(ctx context.Context, actor itil.Actor, entryID itil.ID, customer string, typ FeedbackType,
	text string, at time.Time) (*Feedback, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if typ != Complaint && typ != Compliment {
		v.Add("type", "must be complaint or compliment")
	}
	check.Text(&v, "text", text, true, check.Long)
	check.Time(&v, "at", at)
	if err := v.Err(); err != nil {
		return nil, err
	}
	fb := &Feedback{ID: itil.NewID(), EntryID: entryID, Customer: customer, Type: typ, Text: text, At: at.UTC()}
	r := sibling(s, feedbackSpec)
	return r.Create(ctx, actor, CommandRecordFeedback, fb, func(c *pipeline.Cmd[Feedback], fb *Feedback) (event, error) {
		if err := s.known(c.Ctx, c.Tx, entryID, customer); err != nil {
			return event{}, err
		}
		return event{Type: EventFeedbackRecorded, Summary: string(typ) + " from " + customer, Refs: []itil.ID{entryID}}, nil
	})
}

// Reviews and Feedback return a service's reviews and feedback, oldest
// first.
func (s *Service) Reviews(ctx context.Context, entryID itil.ID) iter.Seq2[*Review, error] {
	return sibling(s, reviewSpec).List(ctx, pipeline.Query[Review]{Terms: []string{storage.Term("entry", entryID.String())}})
}

// Feedback: see Reviews.
func (s *Service) Feedback(ctx context.Context, entryID itil.ID) iter.Seq2[*Feedback, error] {
	return sibling(s, feedbackSpec).List(ctx, pipeline.Query[Feedback]{Terms: []string{storage.Term("entry", entryID.String())}})
}
