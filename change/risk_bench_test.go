package change_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
)

// BenchmarkRiskAssess is the target for risk: a model of 50 risk
// conditions, a 20-question questionnaire and the default lookup, assessed
// within 2× of a hand-written evaluation of the same rules. The
// hand-written evaluation is Go code over the Facts fields: a loop over
// the same rules kept as typed parameters with a switch on their shape
// (five shapes of two comparisons each), the questionnaire scored with
// the same answer map, the lookup as an array, building the same
// Assessment (the benchmark checks they are equal before it times
// them). The first 49 conditions fail and the 50th matches, so every
// condition is evaluated. The two run alternately in one loop, in batches
// of 64, so that both see the same machine state; x-limit is the
// assessor's time divided by the hand-written one's. model=full is the
// target; model=conditions drops the questionnaire and the lookup (the
// same in both, map look-ups mostly) to show the conditions alone:
//
//	go test ./change -run '^$' -bench RiskAssess -benchtime 20000x -count 5
func BenchmarkRiskAssess(b *testing.B) {
	m, rules := benchRiskModel()
	b.Run("model=full", func(b *testing.B) { benchAssess(b, m, rules) })
	// The conditions alone, where the interpretation costs most.
	m.Questions, m.Thresholds, m.Lookup = nil, nil, nil
	b.Run("model=conditions", func(b *testing.B) { benchAssess(b, m, rules) })
}

func benchAssess(b *testing.B, m change.RiskModel, rules []benchRule) {
	a := compile(b, m)
	f := &change.Facts{
		Model: "normal", Type: "normal", State: "assess", AssignmentGroup: "network",
		Impact: 2, CIClasses: []string{"server", "router"}, CIs: 4, CICriticality: 3,
		AffectedServices: 3, ServiceCriticality: 2, PlannedDuration: 2 * time.Hour,
	}
	answers := map[string]string{}
	for i, q := range m.Questions {
		answers[q.Name] = q.Answers[i%len(q.Answers)].Name
	}
	rating := change.RatingMedium
	hand := newHandAssessor(m, rules)

	want := hand.assess(f, answers, rating)
	got, err := a.Assess(f, answers, rating)
	require.NoError(b, err)
	require.Equal(b, want, got)
	require.Equal(b, 49, got.Conditions.Index)

	const batch = 64
	var inLimit, inOurs time.Duration
	var sink change.Risk
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		k := min(batch, b.N-n)
		t0 := time.Now()
		for range k {
			sink += hand.assess(f, answers, rating).Risk
		}
		t1 := time.Now()
		for range k {
			x, _ := a.Assess(f, answers, rating)
			sink += x.Risk
		}
		inLimit += t1.Sub(t0)
		inOurs += time.Since(t1)
	}
	if sink == 0 {
		b.Fatal("no risk assessed")
	}
	b.ReportMetric(float64(inLimit.Nanoseconds())/float64(b.N), "limit-ns/op")
	b.ReportMetric(float64(inOurs.Nanoseconds())/float64(b.N), "assess-ns/op")
	b.ReportMetric(float64(inOurs)/float64(inLimit), "x-limit")
}

// benchRule is a risk condition of the benchmark as hand-written code
// sees it: a shape and its parameters.
type benchRule struct {
	shape      int
	text, alt  string
	n          int
	d          time.Duration
	risk       change.Risk
	impact     itil.Impact
	name       string
	conditions change.Condition
}

func (r *benchRule) holds(f *change.Facts) bool {
	switch r.shape {
	case 0:
		return f.Type == r.text && f.AffectedServices >= r.n
	case 1:
		return slices.Contains(f.CIClasses, r.text) && f.CICriticality != 0 && int(f.CICriticality) <= r.n
	case 2:
		return f.PlannedDuration > r.d || f.ServiceCriticality == 1
	case 3:
		return (f.Model == r.text || f.Model == r.alt) && f.AssignmentGroup != "network"
	case 4:
		return f.AffectedServices > r.n && f.Risk >= change.RiskHigh
	}
	return f.Type == r.text && slices.Contains(f.CIClasses, r.alt)
}

// benchRiskModel returns the benchmark's model and its rules.
func benchRiskModel() (change.RiskModel, []benchRule) {
	var rules []benchRule
	for i := range 49 {
		r := benchRule{shape: i % 5, n: i, name: fmt.Sprintf("rule %d", i),
			risk: change.Risk(1 + i%4), impact: itil.Impact(1 + i%3)}
		switch r.shape {
		case 0:
			r.text = "emergency"
			r.conditions = change.Condition{All: []change.Condition{
				cmp("type", change.OpEq, r.text), cmp("affected_services", change.OpGte, r.n)}}
		case 1:
			r.text, r.n = fmt.Sprintf("class-%d", i), 2
			r.conditions = change.Condition{All: []change.Condition{
				cmp("ci_classes", change.OpContains, r.text), cmp("ci_criticality", change.OpLte, r.n)}}
		case 2:
			r.d = time.Duration(8+i) * time.Hour
			r.conditions = change.Condition{Any: []change.Condition{
				cmp("planned_duration", change.OpGt, r.d.String()), cmp("service_criticality", change.OpEq, 1)}}
		case 3:
			r.text, r.alt = fmt.Sprintf("emergency-%d", i), fmt.Sprintf("major-%d", i)
			r.conditions = change.Condition{All: []change.Condition{
				cmp("model", change.OpIn, []string{r.text, r.alt}),
				{Not: &change.Condition{Field: "assignment_group", Op: change.OpEq, Value: "network"}}}}
		case 4:
			r.n = 10 + i
			r.conditions = change.Condition{All: []change.Condition{
				cmp("affected_services", change.OpGt, r.n), cmp("risk", change.OpGte, "high")}}
		}
		rules = append(rules, r)
	}
	rules = append(rules, benchRule{shape: 5, text: "normal", alt: "server", name: "normal on servers",
		risk: change.RiskModerate, impact: 2,
		conditions: change.Condition{All: []change.Condition{
			cmp("type", change.OpEq, "normal"), cmp("ci_classes", change.OpContains, "server")}}})

	lookup := change.DefaultRiskLookup()
	m := change.RiskModel{
		Thresholds: []change.RiskThreshold{{Score: 0, Risk: change.RiskLow}, {Score: 60, Risk: change.RiskModerate},
			{Score: 120, Risk: change.RiskHigh}, {Score: 200, Risk: change.RiskVeryHigh}},
		Lookup: &lookup,
	}
	for _, r := range rules {
		m.Conditions = append(m.Conditions, change.RiskCondition{Name: r.name, When: r.conditions, Risk: r.risk, Impact: r.impact})
	}
	for i := range 20 {
		q := change.Question{Name: fmt.Sprintf("question %d", i), Weight: 1 + i%5}
		for j := range 3 + i%2 {
			q.Answers = append(q.Answers, change.Answer{Name: fmt.Sprintf("answer %d", j), Value: j * (1 + i%3)})
		}
		m.Questions = append(m.Questions, q)
	}
	return m, rules
}

// handAssessor is the hand-written evaluation of a benchmark model.
type handAssessor struct {
	rules       []benchRule
	questions   []change.Question
	thresholds  []change.RiskThreshold
	lookup      bool
	probability [5]change.Probability
	risk        [3][3]change.Risk
}

func newHandAssessor(m change.RiskModel, rules []benchRule) *handAssessor {
	h := &handAssessor{rules: rules, questions: m.Questions, thresholds: m.Thresholds, lookup: m.Lookup != nil}
	if h.lookup {
		for r, p := range m.Lookup.Probability {
			h.probability[r] = p
		}
		for _, c := range m.Lookup.Cells {
			h.risk[c.Impact-1][c.Probability-1] = c.Risk
		}
	}
	return h
}

func (h *handAssessor) assess(f *change.Facts, answers map[string]string, rating change.Rating) change.Assessment {
	out := change.Assessment{Impact: f.Impact}
	out.Conditions.Note = "no condition matched"
	for i := range h.rules {
		if r := &h.rules[i]; r.holds(f) {
			out.Conditions = change.ConditionsResult{Matched: true, Index: i, Name: r.name, Risk: r.risk, Impact: r.impact}
			out.Impact = r.impact
			break
		}
	}
	if h.questions == nil {
		out.Risk = out.Conditions.Risk
		return out
	}
	q := change.QuestionnaireResult{Answers: make([]change.AnswerScore, len(h.questions))}
	for i, question := range h.questions {
		s := &q.Answers[i]
		s.Question, s.Weight = question.Name, question.Weight
		name, ok := answers[question.Name]
		if !ok {
			continue
		}
		for _, a := range question.Answers {
			if a.Name == name {
				s.Answer, s.Value, s.Score = name, a.Value, a.Value*question.Weight
				q.Score += s.Score
				break
			}
		}
	}
	for i := len(h.thresholds) - 1; i >= 0; i-- {
		if q.Score >= h.thresholds[i].Score {
			q.Threshold, q.Risk = h.thresholds[i].Score, h.thresholds[i].Risk
			break
		}
	}
	out.Questionnaire = q
	p := h.probability[rating]
	out.Lookup = change.LookupResult{Impact: out.Impact, Rating: rating, Probability: p, Risk: h.risk[out.Impact-1][p-1]}
	out.Risk = max(out.Conditions.Risk, q.Risk, out.Lookup.Risk)
	return out
}
