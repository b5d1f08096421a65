package change_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
)

// sampleModel has two risk conditions, a three-question questionnaire and
// the default lookup.
func sampleModel() change.RiskModel {
	lookup := change.DefaultRiskLookup()
	return change.RiskModel{
		Conditions: []change.RiskCondition{
			{Name: "emergency", When: cmp("type", change.OpEq, "emergency"), Risk: change.RiskHigh},
			{Name: "database CIs", When: cmp("ci_classes", change.OpContains, "database"),
				Risk: change.RiskModerate, Impact: 2},
			{Name: "many services", When: cmp("affected_services", change.OpGte, 5), Impact: 1},
		},
		Questions: []change.Question{
			{Name: "outage", Text: "Does the change need an outage?", Weight: 3,
				Answers: []change.Answer{{Name: "no", Value: 0}, {Name: "yes", Value: 10}}},
			{Name: "backout", Weight: 3,
				Answers: []change.Answer{{Name: "tested", Value: 0}, {Name: "untested", Value: 4}, {Name: "none", Value: 10}}},
			{Name: "done before", Weight: 1,
				Answers: []change.Answer{{Name: "often", Value: -5}, {Name: "never", Value: 5}}},
		},
		Thresholds: []change.RiskThreshold{
			{Score: 0, Risk: change.RiskLow}, {Score: 20, Risk: change.RiskModerate},
			{Score: 40, Risk: change.RiskHigh}, {Score: 60, Risk: change.RiskVeryHigh},
		},
		Lookup: &lookup,
	}
}

func compile(t testing.TB, m change.RiskModel) *change.RiskAssessor {
	t.Helper()
	a, err := m.Compile()
	require.NoError(t, err)
	return a
}

func TestRiskConditionsFirstMatch(t *testing.T) {
	a := compile(t, change.RiskModel{Conditions: sampleModel().Conditions})
	tests := []struct {
		name   string
		facts  func(*change.Facts)
		result change.ConditionsResult
		risk   change.Risk
		impact itil.Impact
	}{
		{"the first match wins though a later one matches too", func(f *change.Facts) { f.Type = "emergency" },
			change.ConditionsResult{Matched: true, Index: 0, Name: "emergency", Risk: change.RiskHigh},
			change.RiskHigh, 2},
		{"risk and impact", func(*change.Facts) {},
			change.ConditionsResult{Matched: true, Index: 1, Name: "database CIs", Risk: change.RiskModerate, Impact: 2},
			change.RiskModerate, 2},
		{"impact only", func(f *change.Facts) { f.CIClasses = nil; f.AffectedServices = 7; f.Impact = 3 },
			change.ConditionsResult{Matched: true, Index: 2, Name: "many services", Impact: 1,
				Note: "the matching condition sets the impact only"},
			0, 1},
		{"no match keeps the change's impact", func(f *change.Facts) { f.CIClasses = nil; f.Impact = 3 },
			change.ConditionsResult{Note: "no condition matched"}, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFacts()
			tt.facts(f)
			got, err := a.Assess(f, nil, 0)
			require.NoError(t, err)
			assert.Equal(t, tt.result, got.Conditions)
			assert.Equal(t, tt.risk, got.Risk)
			assert.Equal(t, tt.impact, got.Impact)
			assert.Zero(t, got.Questionnaire)
			assert.Zero(t, got.Lookup)
		})
	}
}

func TestRiskQuestionnaire(t *testing.T) {
	m := sampleModel()
	a := compile(t, change.RiskModel{Questions: m.Questions, Thresholds: m.Thresholds})
	tests := []struct {
		name    string
		answers map[string]string
		score   int
		risk    change.Risk
		thresh  int
		note    string
	}{
		{"not answered", nil, 0, 0, 0, "not answered"},
		{"all answered", map[string]string{"outage": "yes", "backout": "untested", "done before": "never"},
			30 + 12 + 5, change.RiskHigh, 40, ""},
		{"exactly at a threshold", map[string]string{"outage": "no", "backout": "untested", "done before": "never"},
			12 + 5, change.RiskLow, 0, ""},
		{"at the top", map[string]string{"outage": "yes", "backout": "none"}, 60, change.RiskVeryHigh, 60, ""},
		{"below every threshold", map[string]string{"done before": "often"}, -5, 0, 0,
			"the score is below every threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Assess(sampleFacts(), tt.answers, 0)
			require.NoError(t, err)
			q := got.Questionnaire
			assert.Equal(t, tt.score, q.Score)
			assert.Equal(t, tt.risk, q.Risk)
			assert.Equal(t, tt.risk, got.Risk)
			assert.Equal(t, tt.thresh, q.Threshold)
			assert.Equal(t, tt.note, q.Note)
			if tt.answers == nil {
				assert.Nil(t, q.Answers)
				return
			}
			require.Len(t, q.Answers, 3)
			sum := 0
			for i, s := range q.Answers {
				assert.Equal(t, m.Questions[i].Name, s.Question)
				assert.Equal(t, tt.answers[s.Question], s.Answer)
				assert.Equal(t, s.Value*s.Weight, s.Score)
				sum += s.Score
			}
			assert.Equal(t, tt.score, sum)
		})
	}
}

func TestRiskAnswersRejected(t *testing.T) {
	m := sampleModel()
	a := compile(t, m)
	_, err := a.Assess(sampleFacts(), map[string]string{"outage": "maybe", "backout": "none", "zz": "x", "aa": "y"}, 0)
	assert.Equal(t, []string{"answers.aa", "answers.zz"}, fields(t, err))
	_, err = a.Assess(sampleFacts(), map[string]string{"outage": "maybe", "backout": "perhaps"}, 0)
	assert.Equal(t, []string{"answers.outage", "answers.backout"}, fields(t, err))
	_, err = a.Assess(sampleFacts(), nil, change.Rating(9))
	assert.Equal(t, []string{"rating"}, fields(t, err))

	noQuestions := compile(t, change.RiskModel{Conditions: m.Conditions})
	_, err = noQuestions.Assess(sampleFacts(), map[string]string{"outage": "yes"}, 0)
	assert.Equal(t, []string{"answers.outage"}, fields(t, err))
}

func TestRiskLookup(t *testing.T) {
	l := change.DefaultRiskLookup()
	a := compile(t, change.RiskModel{Lookup: &l})
	tests := []struct {
		impact itil.Impact
		rating change.Rating
		want   change.LookupResult
	}{
		{1, change.RatingLow, change.LookupResult{Impact: 1, Rating: change.RatingLow, Probability: change.ProbabilityLow, Risk: change.RiskVeryHigh}},
		{1, change.RatingExcellent, change.LookupResult{Impact: 1, Rating: change.RatingExcellent, Probability: change.ProbabilityHigh, Risk: change.RiskModerate}},
		{2, change.RatingMedium, change.LookupResult{Impact: 2, Rating: change.RatingMedium, Probability: change.ProbabilityModerate, Risk: change.RiskModerate}},
		{3, change.RatingHigh, change.LookupResult{Impact: 3, Rating: change.RatingHigh, Probability: change.ProbabilityHigh, Risk: change.RiskLow}},
		{3, 0, change.LookupResult{Impact: 3, Note: "no success rating"}},
		{0, change.RatingLow, change.LookupResult{Rating: change.RatingLow, Probability: change.ProbabilityLow, Note: "the change has no impact"}},
		{4, change.RatingLow, change.LookupResult{Impact: 4, Rating: change.RatingLow, Probability: change.ProbabilityLow, Note: "the lookup has no row for this impact"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("impact %d rating %s", tt.impact, tt.rating), func(t *testing.T) {
			got, err := a.Assess(&change.Facts{Impact: tt.impact}, nil, tt.rating)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.Lookup)
			assert.Equal(t, tt.want.Risk, got.Risk)
		})
	}
}

func TestRiskHighestWins(t *testing.T) {
	a := compile(t, sampleModel())
	f := sampleFacts()                                                   // matches "database CIs": moderate, impact 2
	answers := map[string]string{"outage": "yes", "backout": "untested"} // 42: high
	got, err := a.Assess(f, answers, change.RatingMedium)                // impact 2 × moderate: moderate
	require.NoError(t, err)
	assert.Equal(t, change.RiskModerate, got.Conditions.Risk)
	assert.Equal(t, change.RiskHigh, got.Questionnaire.Risk)
	assert.Equal(t, change.RiskModerate, got.Lookup.Risk)
	assert.Equal(t, change.RiskHigh, got.Risk)

	// The lookup uses the impact the condition set, not the change's.
	f.Impact = 3
	got, err = a.Assess(f, nil, change.RatingLow)
	require.NoError(t, err)
	assert.Equal(t, itil.Impact(2), got.Lookup.Impact)
	assert.Equal(t, change.RiskHigh, got.Lookup.Risk)
	assert.Equal(t, change.RiskHigh, got.Risk)

	// No method gives a risk.
	f.CIClasses = nil
	got, err = a.Assess(f, nil, 0)
	require.NoError(t, err)
	assert.Equal(t, change.Risk(0), got.Risk)
	assert.Equal(t, itil.Impact(3), got.Impact)
}

func TestRiskExplain(t *testing.T) {
	a := compile(t, sampleModel())
	got, err := a.Assess(sampleFacts(), map[string]string{"outage": "yes", "backout": "untested"}, change.RatingMedium)
	require.NoError(t, err)
	assert.Equal(t, `risk high: the highest of conditions (moderate), questionnaire (high), lookup (moderate)
conditions: "database CIs" (conditions[1]) matched: risk moderate, impact 2
questionnaire: score 42, at least 40: high
  outage "yes": 10 × 3 = 30
  backout "untested": 4 × 3 = 12
  done before: unanswered = 0
lookup: impact 2, success rating medium (probability moderate): moderate`, got.Explain())

	f := sampleFacts()
	f.CIClasses, f.AffectedServices = nil, 9
	got, err = a.Assess(f, nil, 0)
	require.NoError(t, err)
	assert.Equal(t, `risk not assessed: no method gave a risk
conditions: "many services" (conditions[2]) matched: impact 1
questionnaire: not answered
lookup: no success rating`, got.Explain())

	got, err = a.Assess(&change.Facts{Impact: 7}, map[string]string{"done before": "often"}, change.RatingHigh)
	require.NoError(t, err)
	assert.Equal(t, `risk not assessed: no method gave a risk
conditions: no condition matched
questionnaire: score -5: the score is below every threshold
  outage: unanswered = 0
  backout: unanswered = 0
  done before "often": -5 × 1 = -5
lookup: impact 7, success rating high (probability high): the lookup has no row for this impact`, got.Explain())

	l := change.DefaultRiskLookup()
	got, err = compile(t, change.RiskModel{Lookup: &l}).Assess(&change.Facts{Impact: 1}, nil, change.RatingLow)
	require.NoError(t, err)
	assert.Equal(t, "risk very_high: the highest of lookup (very_high)\nlookup: impact 1, success rating low (probability low): very_high", got.Explain())
}

func TestRiskJSON(t *testing.T) {
	m := sampleModel()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"probability":{"excellent":"high","high":"high","low":"low","medium":"moderate"}`)
	assert.Contains(t, string(data), `{"impact":1,"probability":"low","risk":"very_high"}`)
	var back change.RiskModel
	require.NoError(t, json.Unmarshal(data, &back))
	again, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again))

	answers := map[string]string{"outage": "yes"}
	want, err := compile(t, m).Assess(sampleFacts(), answers, change.RatingLow)
	require.NoError(t, err)
	got, err := compile(t, back).Assess(sampleFacts(), answers, change.RatingLow)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// An assessment reads back as it was written.
	data, err = json.Marshal(want)
	require.NoError(t, err)
	var read change.Assessment
	require.NoError(t, json.Unmarshal(data, &read))
	assert.Equal(t, want, read)
	assert.Contains(t, string(data), `{"risk":"high","impact":2,"conditions":{"matched":true,"index":1,`)

	// A model with no conditions leaves them out of the assessment.
	l := change.DefaultRiskLookup()
	only, err := compile(t, change.RiskModel{Lookup: &l}).Assess(&change.Facts{Impact: 2}, nil, change.RatingHigh)
	require.NoError(t, err)
	data, err = json.Marshal(only)
	require.NoError(t, err)
	assert.JSONEq(t, `{"risk":"low","impact":2,"lookup":{"impact":2,"rating":"high","probability":"high","risk":"low"}}`, string(data))

	var r change.Risk
	assert.Error(t, json.Unmarshal([]byte(`"extreme"`), &r))
	_, err = json.Marshal(change.Risk(9))
	assert.Error(t, err)
}

func TestRiskModelValidate(t *testing.T) {
	l := change.DefaultRiskLookup()
	partial := change.DefaultRiskLookup()
	partial.Cells = partial.Cells[:8]
	delete(partial.Probability, change.RatingHigh)
	twice := change.DefaultRiskLookup()
	twice.Cells = append(twice.Cells, twice.Cells[0])
	bad := change.RiskLookup{
		Probability: map[change.Rating]change.Probability{change.RatingLow: 7, change.RatingMedium: 1, change.RatingHigh: 2, change.RatingExcellent: 3, 9: 1},
		Cells:       []change.LookupCell{{Impact: 0, Probability: 1, Risk: 1}, {Impact: 1, Probability: 4, Risk: 0}},
	}
	q := sampleModel().Questions
	tests := []struct {
		name   string
		m      change.RiskModel
		fields []string
	}{
		{"empty", change.RiskModel{}, []string{"model"}},
		{"condition", change.RiskModel{Conditions: []change.RiskCondition{
			{Name: "ok", When: cmp("cis", change.OpGt, 1), Risk: change.RiskLow},
			{Name: "", When: change.Condition{All: []change.Condition{cmp("cis", change.OpGt, 1), cmp("colour", change.OpEq, "x")}}, Risk: 9, Impact: 11},
			{Name: "sets nothing", When: change.Condition{}},
		}}, []string{"conditions[1].name", "conditions[1].when.all[1].field", "conditions[1].risk", "conditions[1].impact", "conditions[2].risk"}},
		{"questions without thresholds", change.RiskModel{Questions: q}, []string{"thresholds"}},
		{"thresholds without questions", change.RiskModel{Thresholds: []change.RiskThreshold{{0, change.RiskLow}}, Lookup: &l}, []string{"questions"}},
		{"questions", change.RiskModel{Questions: []change.Question{
			{Name: "a", Weight: -1, Answers: []change.Answer{{Name: "x", Value: 1001}, {Name: "x"}}},
			{Name: "a", Weight: 1001},
			{Name: " ", Text: "\x00", Weight: 1, Answers: []change.Answer{{Name: ""}}},
		}, Thresholds: []change.RiskThreshold{{10, change.RiskHigh}, {10, change.RiskVeryHigh}, {20, change.RiskLow}, {30, 0}}},
			[]string{"questions[0].weight", "questions[0].answers[0].value", "questions[0].answers[1].name",
				"questions[1].name", "questions[1].weight", "questions[1].answers",
				"questions[2].name", "questions[2].text", "questions[2].answers[0].name",
				"thresholds[1]", "thresholds[2]", "thresholds[3].risk", "thresholds[3]"}},
		{"partial lookup", change.RiskModel{Lookup: &partial}, []string{"lookup.probability.high", "lookup.cells"}},
		{"lookup cell twice", change.RiskModel{Lookup: &twice}, []string{"lookup.cells[9]"}},
		{"bad lookup", change.RiskModel{Lookup: &bad}, []string{"lookup.probability", "lookup.probability.low",
			"lookup.cells[0].impact", "lookup.cells[1].probability", "lookup.cells[1].risk",
			"lookup.cells", "lookup.cells", "lookup.cells"}}, // impact 1 lacks every probability
		{"too many parts in all", change.RiskModel{Conditions: func() []change.RiskCondition {
			var cs []change.RiskCondition
			for i := range 11 {
				c := change.RiskCondition{Name: fmt.Sprint(i), Risk: change.RiskLow}
				for range 999 {
					c.When.Any = append(c.When.Any, cmp("cis", change.OpGt, i))
				}
				cs = append(cs, c)
			}
			return cs
		}()}, []string{"conditions[10].when"}},
		{"good", change.RiskModel{Lookup: &l}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if tt.fields == nil {
				require.NoError(t, err)
				return
			}
			assert.ElementsMatch(t, tt.fields, fields(t, err))
			a, err := tt.m.Compile()
			assert.Nil(t, a)
			assert.Error(t, err)
		})
	}
}

func TestRiskAssessorKeepsItsCopy(t *testing.T) {
	m := sampleModel()
	a := compile(t, m)
	m.Questions[0].Answers[1].Value = 1000
	m.Questions[0].Weight = 1000
	m.Thresholds[2].Risk = change.RiskLow
	m.Lookup.Cells[0].Risk = change.RiskLow
	got, err := a.Assess(sampleFacts(), map[string]string{"outage": "yes", "backout": "untested"}, 0)
	require.NoError(t, err)
	assert.Equal(t, 42, got.Questionnaire.Score)
	assert.Equal(t, change.RiskHigh, got.Questionnaire.Risk)
}

// The property test: an assessment's risk is the highest of the three
// methods, each computed here on its own from the model as data.
func TestRiskIsHighestOfMethods(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m change.RiskModel
		for i := range rapid.IntRange(0, 4).Draw(t, "conditions") {
			c := change.RiskCondition{Name: fmt.Sprintf("c%d", i), When: drawCondition(t, 1),
				Risk:   change.Risk(rapid.IntRange(0, 4).Draw(t, "risk")),
				Impact: itil.Impact(rapid.IntRange(0, 3).Draw(t, "impact"))}
			if c.Risk == 0 && c.Impact == 0 {
				c.Risk = change.RiskLow
			}
			m.Conditions = append(m.Conditions, c)
		}
		for i := range rapid.IntRange(0, 4).Draw(t, "questions") {
			q := change.Question{Name: fmt.Sprintf("q%d", i), Weight: rapid.IntRange(0, 5).Draw(t, "weight")}
			for j := range rapid.IntRange(1, 3).Draw(t, "answers") {
				q.Answers = append(q.Answers, change.Answer{Name: fmt.Sprintf("a%d", j), Value: rapid.IntRange(-5, 10).Draw(t, "value")})
			}
			m.Questions = append(m.Questions, q)
		}
		if len(m.Questions) > 0 {
			score := rapid.IntRange(-20, 0).Draw(t, "first threshold")
			for r := change.RiskLow; r <= change.RiskVeryHigh; r++ {
				if rapid.Bool().Draw(t, "threshold") || r == change.RiskVeryHigh {
					m.Thresholds = append(m.Thresholds, change.RiskThreshold{Score: score, Risk: r})
					score += rapid.IntRange(1, 30).Draw(t, "step")
				}
			}
		}
		if rapid.Bool().Draw(t, "lookup") || len(m.Conditions)+len(m.Questions) == 0 {
			l := change.DefaultRiskLookup()
			for i := range l.Cells {
				l.Cells[i].Risk = change.Risk(rapid.IntRange(1, 4).Draw(t, "cell"))
			}
			for r := range l.Probability {
				l.Probability[r] = change.Probability(rapid.IntRange(1, 3).Draw(t, "probability"))
			}
			m.Lookup = &l
		}
		a, err := m.Compile()
		require.NoError(t, err)

		f := drawFacts(t)
		answers := map[string]string{}
		for _, q := range m.Questions {
			if rapid.IntRange(0, 3).Draw(t, "skip") > 0 {
				answers[q.Name] = q.Answers[rapid.IntRange(0, len(q.Answers)-1).Draw(t, "answer")].Name
			}
		}
		rating := change.Rating(rapid.IntRange(0, 4).Draw(t, "rating"))
		got, err := a.Assess(f, answers, rating)
		require.NoError(t, err)

		// 1. The first matching condition.
		var byCondition change.Risk
		impact := itil.Impact(0)
		if f != nil {
			impact = f.Impact
		}
		for _, c := range m.Conditions {
			match, err := c.When.Compile()
			require.NoError(t, err)
			if match(f) {
				byCondition = c.Risk
				if c.Impact != 0 {
					impact = c.Impact
				}
				break
			}
		}
		// 2. The questionnaire.
		var byQuestions change.Risk
		if len(answers) > 0 {
			score := 0
			for _, q := range m.Questions {
				for _, ans := range q.Answers {
					if answers[q.Name] == ans.Name {
						score += ans.Value * q.Weight
					}
				}
			}
			for _, th := range m.Thresholds {
				if score >= th.Score {
					byQuestions = th.Risk
				}
			}
			require.Equal(t, score, got.Questionnaire.Score)
		}
		// 3. The lookup.
		var byLookup change.Risk
		if m.Lookup != nil && rating != 0 {
			for _, c := range m.Lookup.Cells {
				if c.Impact == impact && c.Probability == m.Lookup.Probability[rating] {
					byLookup = c.Risk
				}
			}
		}
		require.Equal(t, byCondition, got.Conditions.Risk, "conditions")
		require.Equal(t, byQuestions, got.Questionnaire.Risk, "questionnaire")
		require.Equal(t, byLookup, got.Lookup.Risk, "lookup")
		require.Equal(t, max(byCondition, byQuestions, byLookup), got.Risk)
		require.Equal(t, impact, got.Impact)
	})
}
