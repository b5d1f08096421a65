package change_test

import (
	"context"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage/memory"
)

// An incident whose fix is a change awaits it: linked (LinkIncident) and
// On Hold awaiting change, it stops waiting on its own clock. When the
// change ends, the incident is told how and resumes, in the change's
// transaction, for the agent to check and resolve.
func ExampleService_LinkIncident() {
	ctx := context.Background()
	st := memory.NewStore()
	incidents := exMust(incident.New(st))
	svc := exServiceOn(st, change.WithIncidents(incidents))
	inc := exMust(incidents.Open(ctx, exDan, incident.NewIncident{Title: "Reports time out",
		Caller: exRita, Channel: incident.Phone, Impact: 2, Urgency: 2}))

	ch := exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-07")
	ch = exMust(svc.LinkIncident(ctx, exDan, ch.ID, inc.ID))
	inc = exMust(incidents.Hold(ctx, exDan, inc.ID, incident.AwaitingChange, ""))
	fmt.Println(inc.Number, inc.State, inc.HoldReason, "awaits", ch.Number)

	exMust(svc.Close(ctx, exDan, exImplemented(svc, ch).ID, change.Successful, "upgraded; reports run in 3 s"))
	inc = exMust(incidents.Get(ctx, inc.ID))
	fmt.Println(inc.Number, inc.State)
	for n, err := range incidents.Notes(ctx, inc.ID) {
		fmt.Println(exMust(n, err).Text)
	}
	// Output:
	// INC0001001 on_hold awaiting_change awaits CHG0001001
	// INC0001001 in_progress
	// Change CHG0001001 closed successful: upgraded; reports run in 3 s
}

// Each closed change, and each incident linked to the change that caused
// it, teaches the success scores of the change's group, model and CIs;
// AssessRisk reads them for the impact × probability lookup.
func ExampleService_SuccessScore() {
	ctx := context.Background()
	st := memory.NewStore()
	incidents := exMust(incident.New(st))
	svc := exServiceOn(st, change.WithIncidents(incidents))
	ch := exImplemented(svc, exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-07"))
	exMust(svc.Close(ctx, exDan, ch.ID, change.Successful, "upgraded"))
	inc := exMust(incidents.Open(ctx, exDan, incident.NewIncident{Title: "Checkout fails",
		Caller: exRita, Channel: incident.Phone, Impact: 1, Urgency: 1}))
	exMust(svc.LinkCausedIncident(ctx, exDan, ch.ID, inc.ID))

	s := exMust(svc.SuccessScore(ctx, change.ScoreOfGroup, "dba"))
	fmt.Println(s.Name, s.Successful, "successful,", s.Caused[0], "caused P1: score", s.Score, s.Rating)
	// Output:
	// dba 1 successful, 1 caused P1: score -7 low
}

// Discovery saw a CI change. If a change was being implemented on the CI
// then, it covers it; otherwise the change was unauthorized, and is
// recorded as an emergency change to approve after the fact and review.
func ExampleService_RecordUnplanned() {
	ctx := context.Background()
	svc := exService()
	discovery := itil.Actor{ID: "discovery", Name: "Discovery"}
	web01 := itil.NewID()

	ch := exMust(svc.RecordUnplanned(ctx, discovery, change.Unplanned{CIID: web01,
		At: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC), Description: "nginx 1.24 → 1.26", Source: "discovery"}))
	fmt.Println(ch.Number, ch.Model, ch.State, "unauthorized:", ch.Unauthorized)
	// Output:
	// CHG0001001 emergency new unauthorized: true
}

// AssessRisk judges a change by the Service's risk model: conditions on
// its facts, a questionnaire, and (in DefaultRiskModel; not in this one)
// the impact × success-probability lookup fed by what the Service has
// learned of its group, model and CIs. The highest method wins, and the
// change keeps how.
func ExampleService_AssessRisk() {
	ctx := context.Background()
	svc := exService(change.WithRiskModel(change.RiskModel{
		Conditions: []change.RiskCondition{
			{Name: "database changes", When: change.Condition{Field: "assignment_group", Op: change.OpEq, Value: "dba"}, Risk: change.RiskModerate},
		},
		Questions:  []change.Question{{Name: "outage", Weight: 10, Answers: []change.Answer{{Name: "yes", Value: 3}, {Name: "no", Value: 0}}}},
		Thresholds: []change.RiskThreshold{{Score: 0, Risk: change.RiskLow}, {Score: 30, Risk: change.RiskHigh}},
	}))
	ch := exChange(svc, "Upgrade PostgreSQL 15 to 16 on db-07")
	ch = exMust(svc.AssessRisk(ctx, exDan, ch.ID, map[string]string{"outage": "yes"}))
	fmt.Println(ch.Risk)
	fmt.Println(ch.RiskExplanation)
	// Output:
	// high
	// risk high: the highest of conditions (moderate), questionnaire (high)
	// conditions: "database changes" (conditions[0]) matched: risk moderate
	// questionnaire: score 30, at least 30: high
	//   outage "yes": 3 × 10 = 30
}
