package change

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Risk is the judged likelihood and harm of a change going wrong, from
// low to very high; the zero Risk means not assessed. Risks are ordered:
// a higher value is a higher risk. In JSON and conditions a risk is its
// name: "low", "moderate", "high" or "very_high".
type Risk int

// The risk levels.
const (
	RiskLow Risk = 1 + iota
	RiskModerate
	RiskHigh
	RiskVeryHigh
)

// Probability is the likelihood that a change succeeds, as ServiceNow's
// risk lookup uses it: low, moderate or high. It comes from a success
// rating (see RiskLookup).
type Probability int

// The success probabilities.
const (
	ProbabilityLow Probability = 1 + iota
	ProbabilityModerate
	ProbabilityHigh
)

var (
	riskNames        = []string{"low", "moderate", "high", "very_high"}
	probabilityNames = []string{"low", "moderate", "high"}
)

// Valid reports whether r is one of RiskLow..RiskVeryHigh.
func (r Risk) Valid() bool { return r >= RiskLow && r <= RiskVeryHigh }

// String returns the risk's name, "none" for the zero Risk.
func (r Risk) String() string { return levelString(int(r), riskNames, "Risk") }

// MarshalText returns the risk's name, or "" for the zero Risk.
func (r Risk) MarshalText() ([]byte, error) { return levelText(int(r), riskNames, "risk") }

// UnmarshalText reads a risk's name; "" is the zero Risk.
func (r *Risk) UnmarshalText(b []byte) error {
	return unmarshalLevel((*int)(r), b, riskNames, "a risk")
}

func parseRisk(s string) (Risk, bool) {
	i := slices.Index(riskNames, s)
	return Risk(i + 1), i >= 0
}

// Valid reports whether p is one of ProbabilityLow..ProbabilityHigh.
func (p Probability) Valid() bool { return p >= ProbabilityLow && p <= ProbabilityHigh }

// String returns the probability's name, "none" for the zero value.
func (p Probability) String() string {
	return levelString(int(p), probabilityNames, "Probability")
}

// MarshalText returns the probability's name, or "" for the zero value.
func (p Probability) MarshalText() ([]byte, error) {
	return levelText(int(p), probabilityNames, "probability")
}

// UnmarshalText reads a probability's name; "" is the zero value.
func (p *Probability) UnmarshalText(b []byte) error {
	return unmarshalLevel((*int)(p), b, probabilityNames, "a probability")
}

func levelString(i int, names []string, typ string) string {
	switch {
	case i == 0:
		return "none"
	case i >= 1 && i <= len(names):
		return names[i-1]
	}
	return typ + "(" + strconv.Itoa(i) + ")"
}

func levelText(i int, names []string, what string) ([]byte, error) {
	switch {
	case i == 0:
		return []byte{}, nil
	case i >= 1 && i <= len(names):
		return []byte(names[i-1]), nil
	}
	return nil, fmt.Errorf("%d is not a %s level", i, what)
}

func unmarshalLevel(dst *int, b []byte, names []string, what string) error {
	if len(b) == 0 {
		*dst = 0
		return nil
	}
	i := slices.Index(names, string(b))
	if i < 0 {
		return fmt.Errorf("%q is not %s (%s)", b, what, strings.Join(names, ", "))
	}
	*dst = i + 1
	return nil
}

// RiskModel says how the risk of a change is assessed, the way
// ServiceNow's risk calculator and risk assessment do, by up to three
// methods; the highest risk any of them gives wins:
//
//  1. Conditions, in order: the first whose condition holds for the
//     change sets its risk, its impact, or both; the rest are ignored.
//  2. A questionnaire: the answers to Questions score value × weight
//     each; their sum is mapped to a risk by Thresholds.
//  3. A Lookup of the change's impact (the one the matching condition
//     set, else the change's own) against its probability of success,
//     which comes from the success rating of who and what the change
//     touches (see SuccessScores).
//
// A RiskModel is data (JSON); Compile checks it and returns the
// RiskAssessor that applies it.
type RiskModel struct {
	Conditions []RiskCondition `json:"conditions,omitempty"`
	Questions  []Question      `json:"questions,omitempty"`
	Thresholds []RiskThreshold `json:"thresholds,omitempty"`
	Lookup     *RiskLookup     `json:"lookup,omitempty"`
}

// RiskCondition sets a change's risk, impact or both when its condition
// holds and no earlier one did. A zero When always holds: a last
// condition so written is the default.
type RiskCondition struct {
	// Name says what the condition catches, such as "database CIs"; a
	// required short text.
	Name   string      `json:"name"`
	When   Condition   `json:"when"`
	Risk   Risk        `json:"risk,omitempty"`
	Impact itil.Impact `json:"impact,omitempty"`
}

// Question is one question of a risk questionnaire, such as "Has the
// backout plan been tested?", with the answers one may choose.
type Question struct {
	// Name identifies the question among its questionnaire; the answers
	// given to Assess are keyed by it. A required short text.
	Name string `json:"name"`
	// Text is the question as asked; optional.
	Text string `json:"text,omitempty"`
	// Weight multiplies the value of the answer; 0 to 1000.
	Weight  int      `json:"weight"`
	Answers []Answer `json:"answers"`
}

// Answer is one choice of a Question and the value it scores.
type Answer struct {
	// Name identifies the answer among its question's; a required
	// short text.
	Name string `json:"name"`
	// Value is the answer's score before weighting; -1000 to 1000.
	Value int `json:"value"`
}

// RiskThreshold maps a questionnaire score to a risk: a score of at least
// Score is assessed at least Risk.
type RiskThreshold struct {
	Score int  `json:"score"`
	Risk  Risk `json:"risk"`
}

// RiskLookup is ServiceNow's calculated risk: a table of impact × success
// probability. Probability says which probability each success rating
// stands for; Cells give the risk of every combination of impact (from 1
// to the highest impact listed) and probability.
type RiskLookup struct {
	Probability map[Rating]Probability `json:"probability"`
	Cells       []LookupCell           `json:"cells"`
}

// LookupCell is one entry of a RiskLookup.
type LookupCell struct {
	Impact      itil.Impact `json:"impact"`
	Probability Probability `json:"probability"`
	Risk        Risk        `json:"risk"`
}

// DefaultRiskLookup returns a lookup with three impact levels, the
// ratings low, medium, high and excellent standing for the probabilities
// low, moderate, high and high, and these risks:
//
//	            probability low  moderate   high
//	impact 1       very_high       high     moderate
//	impact 2         high        moderate     low
//	impact 3       moderate        low        low
func DefaultRiskLookup() RiskLookup {
	l := RiskLookup{Probability: map[Rating]Probability{
		RatingLow: ProbabilityLow, RatingMedium: ProbabilityModerate,
		RatingHigh: ProbabilityHigh, RatingExcellent: ProbabilityHigh,
	}}
	table := [3][3]Risk{
		{RiskVeryHigh, RiskHigh, RiskModerate},
		{RiskHigh, RiskModerate, RiskLow},
		{RiskModerate, RiskLow, RiskLow},
	}
	for i, row := range table {
		for p, r := range row {
			l.Cells = append(l.Cells, LookupCell{Impact: itil.Impact(i + 1), Probability: Probability(p + 1), Risk: r})
		}
	}
	return l
}

// Limits of a RiskModel.
const (
	maxRiskConditions = 1000
	maxModelParts     = 10_000
	maxQuestions      = 200
	maxAnswers        = 50
	maxWeight         = 1000
	maxAnswerValue    = 1000
	maxThresholdScore = 1_000_000_000
)

// Validate returns a *itil.ValidationError naming every bad field of m by
// its path (such as "conditions[3].when.all[1].field",
// "questions[0].answers[2].value", "lookup.cells[4].risk"), or nil. A
// model has at most 1000 conditions of 10,000 parts in all, and 200
// questions of at most 50 answers each.
func (m RiskModel) Validate() error {
	_, err := m.Compile()
	return err
}

// Compile checks m as Validate does and returns the RiskAssessor that
// applies it. The assessor keeps its own copy of m.
func (m RiskModel) Compile() (*RiskAssessor, error) {
	var cc compiler
	a := &RiskAssessor{}
	var nodes []*node
	parts := 0
	v := &cc.v
	if len(m.Conditions) == 0 && len(m.Questions) == 0 && m.Lookup == nil {
		v.Add("model", "needs risk conditions, a questionnaire or a lookup")
	}
	if len(m.Conditions) > maxRiskConditions {
		v.Add("conditions", fmt.Sprintf("must list at most %d conditions", maxRiskConditions))
	} else {
		for i := range m.Conditions {
			c := &m.Conditions[i]
			path := index("", "conditions", i)
			check.Text(v, path+".name", c.Name, true, check.Short)
			cc.parts = 0
			nodes = append(nodes, cc.compile(&c.When, path+".when", 0))
			if parts += cc.parts; parts > maxModelParts && parts-cc.parts <= maxModelParts {
				v.Add(path+".when", fmt.Sprintf("brings the conditions to more than %d parts in all", maxModelParts))
			}
			switch {
			case c.Risk == 0 && c.Impact == 0:
				v.Add(path+".risk", "a risk condition sets a risk, an impact or both")
			case c.Risk != 0 && !c.Risk.Valid():
				v.Add(path+".risk", "must be low, moderate, high or very_high")
			}
			if c.Impact != 0 && (c.Impact < 1 || c.Impact > maxImpactLevel) {
				v.Add(path+".impact", fmt.Sprintf("must be a level from 1 (the highest) to %d", maxImpactLevel))
			}
			a.conds = append(a.conds, riskCond{name: c.Name, risk: c.Risk, impact: c.Impact})
		}
	}
	a.questions = validateQuestions(v, m.Questions, m.Thresholds)
	a.thresholds = slices.Clone(m.Thresholds)
	if m.Lookup != nil {
		a.lookup = compileLookup(v, m.Lookup)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	// One program for all the conditions: condition k ends the run with
	// matchLabel(k) when it holds, and goes on to condition k+1 when not.
	a.entry = labelFalse
	for k := len(nodes) - 1; k >= 0; k-- {
		a.entry = a.program.emit(nodes[k], matchLabel(k), a.entry)
	}
	return a, nil
}

func validateQuestions(v *itil.ValidationError, qs []Question, ts []RiskThreshold) []Question {
	switch {
	case len(qs) > maxQuestions:
		v.Add("questions", fmt.Sprintf("must list at most %d questions", maxQuestions))
		return nil
	case len(qs) > 0 && len(ts) == 0:
		v.Add("thresholds", "are required with questions: they map the score to a risk")
	case len(qs) == 0 && len(ts) > 0:
		v.Add("questions", "are required with thresholds")
	}
	names := make(map[string]bool, len(qs))
	out := make([]Question, len(qs))
	for i, q := range qs {
		path := index("", "questions", i)
		check.Text(v, path+".name", q.Name, true, check.Short)
		if names[q.Name] {
			v.Add(path+".name", fmt.Sprintf("%q names an earlier question too", q.Name))
		}
		names[q.Name] = true
		check.Text(v, path+".text", q.Text, false, check.Long)
		if q.Weight < 0 || q.Weight > maxWeight {
			v.Add(path+".weight", fmt.Sprintf("must be from 0 to %d", maxWeight))
		}
		switch {
		case len(q.Answers) == 0:
			v.Add(path+".answers", "must list at least one answer")
		case len(q.Answers) > maxAnswers:
			v.Add(path+".answers", fmt.Sprintf("must list at most %d answers", maxAnswers))
		}
		for j, ans := range q.Answers {
			apath := index(path, "answers", j)
			check.Text(v, apath+".name", ans.Name, true, check.Short)
			if slices.ContainsFunc(q.Answers[:j], func(b Answer) bool { return b.Name == ans.Name }) {
				v.Add(apath+".name", fmt.Sprintf("%q names an earlier answer too", ans.Name))
			}
			if ans.Value < -maxAnswerValue || ans.Value > maxAnswerValue {
				v.Add(apath+".value", fmt.Sprintf("must be from %d to %d", -maxAnswerValue, maxAnswerValue))
			}
		}
		out[i] = q
		out[i].Answers = slices.Clone(q.Answers)
	}
	for i, t := range ts {
		path := index("", "thresholds", i)
		if t.Score < -maxThresholdScore || t.Score > maxThresholdScore {
			v.Add(path+".score", fmt.Sprintf("must be from %d to %d", -maxThresholdScore, maxThresholdScore))
		}
		if !t.Risk.Valid() {
			v.Add(path+".risk", "must be low, moderate, high or very_high")
		}
		if i > 0 && (t.Score <= ts[i-1].Score || t.Risk <= ts[i-1].Risk) {
			v.Add(path, "scores and risks must both ascend: each threshold a higher score and a higher risk than the one before")
		}
	}
	return out
}

// lookupTable is a compiled RiskLookup.
type lookupTable struct {
	probability [RatingExcellent + 1]Probability
	risk        [][ProbabilityHigh]Risk // by impact-1, then probability-1
}

func compileLookup(v *itil.ValidationError, l *RiskLookup) *lookupTable {
	t := &lookupTable{}
	var unknown []Rating
	for r := range l.Probability {
		if !r.Valid() {
			unknown = append(unknown, r)
		}
	}
	slices.Sort(unknown)
	for _, r := range unknown {
		v.Add("lookup.probability", fmt.Sprintf("names %s, which is not a rating (low, medium, high, excellent)", r))
	}
	for r := RatingLow; r <= RatingExcellent; r++ {
		p, ok := l.Probability[r]
		switch {
		case !ok:
			v.Add("lookup.probability."+r.String(), "is required: every rating stands for a probability")
		case !p.Valid():
			v.Add("lookup.probability."+r.String(), "must be low, moderate or high")
		}
		t.probability[r] = p
	}
	top := 0
	for i, c := range l.Cells {
		path := index("lookup", "cells", i)
		if c.Impact < 1 || c.Impact > maxImpactLevel {
			v.Add(path+".impact", fmt.Sprintf("must be a level from 1 (the highest) to %d", maxImpactLevel))
		} else {
			top = max(top, int(c.Impact))
		}
		if !c.Probability.Valid() {
			v.Add(path+".probability", "must be low, moderate or high")
		}
		if !c.Risk.Valid() {
			v.Add(path+".risk", "must be low, moderate, high or very_high")
		}
	}
	if len(l.Cells) == 0 {
		v.Add("lookup.cells", "must give the risk of each impact and probability")
	}
	t.risk = make([][ProbabilityHigh]Risk, top)
	for i, c := range l.Cells {
		if c.Impact < 1 || int(c.Impact) > top || !c.Probability.Valid() || !c.Risk.Valid() {
			continue
		}
		cell := &t.risk[c.Impact-1][c.Probability-1]
		if *cell != 0 {
			v.Add(index("lookup", "cells", i), fmt.Sprintf("impact %d and probability %s are given twice", c.Impact, c.Probability))
		}
		*cell = c.Risk
	}
	for i := range t.risk {
		for p := range t.risk[i] {
			if t.risk[i][p] == 0 {
				v.Add("lookup.cells", fmt.Sprintf("lacks impact %d with probability %s (every impact from 1 to %d needs every probability)", i+1, Probability(p+1), top))
			}
		}
	}
	return t
}

// RiskAssessor applies a compiled RiskModel. It is immutable and safe for
// concurrent use.
type RiskAssessor struct {
	program    program
	entry      int32
	conds      []riskCond
	questions  []Question
	thresholds []RiskThreshold
	lookup     *lookupTable
}

type riskCond struct {
	name   string
	risk   Risk
	impact itil.Impact
}

// Assessment is the risk of a change and how it was reached: what each
// method of the RiskModel gave. It is journaled with the change.
type Assessment struct {
	// Risk is the highest risk the methods gave; zero when none gave one.
	Risk Risk `json:"risk,omitempty"`
	// Impact is the impact the matching risk condition set, else the
	// change's own.
	Impact        itil.Impact         `json:"impact,omitempty"`
	Conditions    ConditionsResult    `json:"conditions,omitzero"`
	Questionnaire QuestionnaireResult `json:"questionnaire,omitzero"`
	Lookup        LookupResult        `json:"lookup,omitzero"`
}

// ConditionsResult is what the risk conditions gave: the first that held,
// or a Note saying why they gave no risk. It is zero when the model has
// no conditions.
type ConditionsResult struct {
	Matched bool `json:"matched,omitempty"`
	// Index is the position of the matching condition in
	// RiskModel.Conditions, and Name its name.
	Index  int         `json:"index,omitempty"`
	Name   string      `json:"name,omitempty"`
	Risk   Risk        `json:"risk,omitempty"`
	Impact itil.Impact `json:"impact,omitempty"`
	Note   string      `json:"note,omitempty"`
}

// QuestionnaireResult is what the questionnaire gave: every question's
// score, their total, and the threshold the total reached. It is zero
// when the model has no questions.
type QuestionnaireResult struct {
	Answers []AnswerScore `json:"answers,omitempty"`
	Score   int           `json:"score,omitempty"`
	// Threshold is the score of the threshold that set Risk.
	Threshold int    `json:"threshold,omitempty"`
	Risk      Risk   `json:"risk,omitempty"`
	Note      string `json:"note,omitempty"`
}

// AnswerScore is one question's part of a questionnaire's score: Value ×
// Weight; an unanswered question (Answer "") scores 0.
type AnswerScore struct {
	Question string `json:"question"`
	Answer   string `json:"answer,omitempty"`
	Value    int    `json:"value"`
	Weight   int    `json:"weight"`
	Score    int    `json:"score"`
}

// LookupResult is what the risk lookup gave: the cell of the impact and
// of the probability the success rating stands for. It is zero when the
// model has no lookup.
type LookupResult struct {
	Impact      itil.Impact `json:"impact,omitempty"`
	Rating      Rating      `json:"rating,omitempty"`
	Probability Probability `json:"probability,omitempty"`
	Risk        Risk        `json:"risk,omitempty"`
	Note        string      `json:"note,omitempty"`
}

// Notes of an Assessment: why a method gave no risk.
const (
	noteNoMatch      = "no condition matched"
	noteImpactOnly   = "the matching condition sets the impact only"
	noteUnanswered   = "not answered"
	noteBelow        = "the score is below every threshold"
	noteNoRating     = "no success rating"
	noteNoImpact     = "the change has no impact"
	noteImpactNotSet = "the lookup has no row for this impact"
)

// Assess assesses a change: f are its facts, answers its answers to the
// questionnaire (question name → answer name; none means not answered,
// and a question left out scores 0), and rating the success rating of
// the change (see SuccessScores.Rating; zero when unknown, which leaves
// the lookup out). It returns a *itil.ValidationError naming
// "answers.<question>" for an answer to no question or a choice the
// question does not offer, and "rating" for an unknown rating.
func (a *RiskAssessor) Assess(f *Facts, answers map[string]string, rating Rating) (Assessment, error) {
	var out Assessment
	if rating != 0 && !rating.Valid() {
		return out, itil.Invalid("rating", "must be low, medium, high or excellent, or zero when unknown")
	}
	if f != nil {
		out.Impact = f.Impact
	}
	if len(a.conds) > 0 {
		out.Conditions = a.byConditions(f)
		if out.Conditions.Impact != 0 {
			out.Impact = out.Conditions.Impact
		}
	}
	if len(a.questions) > 0 {
		q, err := a.byQuestionnaire(answers)
		if err != nil {
			return Assessment{}, err
		}
		out.Questionnaire = q
	} else if len(answers) > 0 {
		return Assessment{}, unknownQuestions(answers, nil)
	}
	if a.lookup != nil {
		out.Lookup = a.byLookup(out.Impact, rating)
	}
	out.Risk = max(out.Conditions.Risk, out.Questionnaire.Risk, out.Lookup.Risk)
	return out, nil
}

func (a *RiskAssessor) byConditions(f *Facts) ConditionsResult {
	var fr frame
	fr.load(f)
	end := a.program.run(a.entry, &fr)
	if end == labelFalse {
		return ConditionsResult{Note: noteNoMatch}
	}
	i := int(labelTrue - end)
	c := &a.conds[i]
	r := ConditionsResult{Matched: true, Index: i, Name: c.name, Risk: c.risk, Impact: c.impact}
	if c.risk == 0 {
		r.Note = noteImpactOnly
	}
	return r
}

func (a *RiskAssessor) byQuestionnaire(answers map[string]string) (QuestionnaireResult, error) {
	if len(answers) == 0 {
		return QuestionnaireResult{Note: noteUnanswered}, nil
	}
	var v *itil.ValidationError
	r := QuestionnaireResult{Answers: make([]AnswerScore, len(a.questions))}
	answered := 0
	for i := range a.questions {
		q := &a.questions[i]
		s := &r.Answers[i]
		s.Question, s.Weight = q.Name, q.Weight
		name, ok := answers[q.Name]
		if !ok {
			continue
		}
		answered++
		found := false
		for _, x := range q.Answers {
			if x.Name == name {
				s.Answer, s.Value, s.Score = name, x.Value, x.Value*q.Weight
				r.Score += s.Score
				found = true
				break
			}
		}
		if !found {
			if v == nil {
				v = new(itil.ValidationError)
			}
			v.Add("answers."+q.Name, fmt.Sprintf("%q is not an answer to this question", check.Cut(name, check.Short)))
		}
	}
	if answered != len(answers) {
		return QuestionnaireResult{}, unknownQuestions(answers, a.questions)
	}
	if v != nil {
		return QuestionnaireResult{}, v
	}
	r.Note = noteBelow
	for i := len(a.thresholds) - 1; i >= 0; i-- {
		if t := a.thresholds[i]; r.Score >= t.Score {
			r.Threshold, r.Risk, r.Note = t.Score, t.Risk, ""
			break
		}
	}
	return r, nil
}

// unknownQuestions names every answer to a question qs does not have, in
// order of name.
func unknownQuestions(answers map[string]string, qs []Question) error {
	var v itil.ValidationError
	names := make([]string, 0, len(answers))
	for name := range answers {
		if !slices.ContainsFunc(qs, func(q Question) bool { return q.Name == name }) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		v.Add("answers."+check.Cut(name, check.Short), "answers no question of the questionnaire")
	}
	return v.Err()
}

func (a *RiskAssessor) byLookup(impact itil.Impact, rating Rating) LookupResult {
	r := LookupResult{Impact: impact, Rating: rating}
	switch {
	case rating == 0:
		r.Note = noteNoRating
		return r
	case impact == 0:
		r.Note = noteNoImpact
	}
	r.Probability = a.lookup.probability[rating]
	if r.Note == "" {
		if impact < 1 || int(impact) > len(a.lookup.risk) {
			r.Note = noteImpactNotSet
		} else {
			r.Risk = a.lookup.risk[impact-1][r.Probability-1]
		}
	}
	return r
}

// Explain says in words how the risk was reached, one line per method
// and one per answer, such as:
//
//	risk high: the highest of conditions (moderate), questionnaire (high), lookup (low)
//	conditions: "database CIs" (conditions[2]) matched: risk moderate, impact 2
//	questionnaire: score 42, at least 40: high
//	  outage "yes": 10 × 3 = 30
//	  backout "untested": 4 × 3 = 12
//	lookup: impact 2, success rating medium (probability moderate): low
func (a Assessment) Explain() string {
	var b strings.Builder
	var parts []string
	add := func(name string, r Risk, present bool) {
		if present {
			parts = append(parts, name+" ("+r.String()+")")
		}
	}
	c, q, l := a.Conditions, a.Questionnaire, a.Lookup
	add("conditions", c.Risk, c != (ConditionsResult{}))
	add("questionnaire", q.Risk, q.Answers != nil || q.Note != "")
	add("lookup", l.Risk, l != (LookupResult{}))
	if a.Risk == 0 {
		b.WriteString("risk not assessed: no method gave a risk")
	} else {
		fmt.Fprintf(&b, "risk %s: the highest of %s", a.Risk, strings.Join(parts, ", "))
	}
	if c != (ConditionsResult{}) {
		b.WriteString("\nconditions: ")
		if c.Matched {
			fmt.Fprintf(&b, "%q (conditions[%d]) matched:", c.Name, c.Index)
			if c.Risk != 0 {
				fmt.Fprintf(&b, " risk %s", c.Risk)
				if c.Impact != 0 {
					b.WriteByte(',')
				}
			}
			if c.Impact != 0 {
				fmt.Fprintf(&b, " impact %d", c.Impact)
			}
		} else {
			b.WriteString(c.Note)
		}
	}
	if q.Answers != nil || q.Note != "" {
		b.WriteString("\nquestionnaire: ")
		switch {
		case q.Answers == nil:
			b.WriteString(q.Note)
		case q.Risk == 0:
			fmt.Fprintf(&b, "score %d: %s", q.Score, q.Note)
		default:
			fmt.Fprintf(&b, "score %d, at least %d: %s", q.Score, q.Threshold, q.Risk)
		}
		for _, s := range q.Answers {
			if s.Answer == "" {
				fmt.Fprintf(&b, "\n  %s: unanswered = 0", s.Question)
			} else {
				fmt.Fprintf(&b, "\n  %s %q: %d × %d = %d", s.Question, s.Answer, s.Value, s.Weight, s.Score)
			}
		}
	}
	if l != (LookupResult{}) {
		b.WriteString("\nlookup: ")
		switch {
		case l.Rating == 0:
			b.WriteString(l.Note)
		case l.Risk == 0:
			fmt.Fprintf(&b, "impact %d, success rating %s (probability %s): %s", l.Impact, l.Rating, l.Probability, l.Note)
		default:
			fmt.Fprintf(&b, "impact %d, success rating %s (probability %s): %s", l.Impact, l.Rating, l.Probability, l.Risk)
		}
	}
	return b.String()
}
