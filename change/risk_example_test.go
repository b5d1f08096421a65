package change_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
)

// A condition is data: here, read from JSON, a normal change on a CI of
// high criticality or more, or one planned for more than four hours.
func ExampleCondition_Compile() {
	var c change.Condition
	err := json.Unmarshal([]byte(`{"all": [
		{"field": "type", "op": "eq", "value": "normal"},
		{"any": [
			{"field": "ci_criticality", "op": "lte", "value": 2},
			{"field": "planned_duration", "op": "gt", "value": "4h"}
		]}
	]}`), &c)
	if err != nil {
		panic(err)
	}
	match, err := c.Compile()
	if err != nil {
		panic(err)
	}
	fmt.Println(match(&change.Facts{Type: "normal", CICriticality: 3, PlannedDuration: 6 * time.Hour}))
	fmt.Println(match(&change.Facts{Type: "normal", CICriticality: 3, PlannedDuration: time.Hour}))

	bad := change.Condition{Any: []change.Condition{
		{Field: "type", Op: change.OpEq, Value: "normal"},
		{Field: "ci_criticality", Op: change.OpLt, Value: "high"},
	}}
	fmt.Println(bad.Validate())
	// Output:
	// true
	// false
	// invalid input: any[1].value: must be a level from 1 (the highest) to 4
}

// A risk model with the three methods of ServiceNow's risk calculator;
// the highest risk wins and the assessment says how it was reached.
func ExampleRiskAssessor_Assess() {
	lookup := change.DefaultRiskLookup()
	model := change.RiskModel{
		Conditions: []change.RiskCondition{
			{Name: "emergency", When: change.Condition{Field: "type", Op: change.OpEq, Value: "emergency"},
				Risk: change.RiskHigh},
			{Name: "database CIs", When: change.Condition{Field: "ci_classes", Op: change.OpContains, Value: "database"},
				Risk: change.RiskModerate, Impact: 2},
		},
		Questions: []change.Question{
			{Name: "outage", Text: "Does the change need an outage?", Weight: 3,
				Answers: []change.Answer{{Name: "no", Value: 0}, {Name: "yes", Value: 10}}},
			{Name: "backout", Text: "Is the backout plan tested?", Weight: 2,
				Answers: []change.Answer{{Name: "tested", Value: 0}, {Name: "untested", Value: 5}}},
		},
		Thresholds: []change.RiskThreshold{{Score: 0, Risk: change.RiskLow}, {Score: 20, Risk: change.RiskModerate},
			{Score: 40, Risk: change.RiskHigh}},
		Lookup: &lookup,
	}
	assessor, err := model.Compile()
	if err != nil {
		panic(err)
	}

	// The success rating comes from the history of the team and the CIs.
	db := itil.NewID()
	scores, _ := change.NewSuccessScores(change.DefaultSuccessScoring())
	_ = scores.Closed(change.Unsuccessful, "dba", "normal", []itil.ID{db})
	rating := scores.Rating("dba", "normal", []itil.ID{db})

	facts := &change.Facts{Model: "normal", Type: "normal", AssignmentGroup: "dba",
		CIClasses: []string{"server", "database"}, Impact: 3}
	a, err := assessor.Assess(facts, map[string]string{"outage": "yes", "backout": "tested"}, rating)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Explain())
	// Output:
	// risk high: the highest of conditions (moderate), questionnaire (moderate), lookup (high)
	// conditions: "database CIs" (conditions[1]) matched: risk moderate, impact 2
	// questionnaire: score 30, at least 20: moderate
	//   outage "yes": 10 × 3 = 30
	//   backout "tested": 0 × 2 = 0
	// lookup: impact 2, success rating low (probability low): high
}

// Success scores are learned one event at a time as changes close and
// incidents are linked to the changes that caused them.
func ExampleSuccessScores() {
	scores, err := change.NewSuccessScores(change.DefaultSuccessScoring())
	if err != nil {
		panic(err)
	}
	for range 6 {
		_ = scores.Closed(change.Successful, "network", "normal", nil)
	}
	_ = scores.CausedIncident(itil.P2, "network", "normal", nil)
	fmt.Println(scores.GroupScore("network"), scores.Rating("network", "", nil))
	fmt.Println(scores.GroupScore("new team"), scores.Rating("new team", "", nil))
	// Output:
	// 13 medium
	// 0 medium
}
