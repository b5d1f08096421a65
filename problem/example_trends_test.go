package problem_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
)

var fiveOnOneCI = []problem.TrendRule{
	{Name: "ci-24h", By: problem.TrendByCI, Threshold: 5, Window: 24 * time.Hour},
}

// Proactive problem management: five incidents on one CI within 24 hours
// make a candidate. The watch counts the incidents opened from the
// journal, so every application instance sees the same candidates, and
// each names the open problem that already covers it.
func ExampleTrendWatch_Trends() {
	svc, incs := withIncidents()
	relay := itil.NewID() // a CI's ID, from the CMDB
	for i := range 5 {
		if _, err := incs.Open(ctx, desk, incident.NewIncident{Title: fmt.Sprintf("Mail stuck #%d", i+1),
			Caller: desk, Channel: incident.Phone, CIID: relay, Impact: 3, Urgency: 2}); err != nil {
			panic(err)
		}
	}
	watch, err := problem.NewTrendWatch(svc, fiveOnOneCI, time.Hour)
	if err != nil {
		panic(err)
	}
	asOf := monday.Add(time.Hour)
	trends, err := watch.Trends(ctx, asOf)
	if err != nil {
		panic(err)
	}
	for _, c := range trends {
		fmt.Println(c.Rule, c.Count, c.Key.CI == relay, "covered:", c.CoveredBy != itil.NilID)
	}

	// An open problem naming the CI covers the key.
	p := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "Mail relay stops sending", CIIDs: []itil.ID{relay}}))
	trends, err = watch.Trends(ctx, asOf)
	if err != nil {
		panic(err)
	}
	fmt.Println("covered by", p.Number, trends[0].CoveredBy == p.ID)
	// Output:
	// ci-24h 5 true covered: false
	// covered by PRB0001001 true
}

// OpenUncovered opens a problem for every candidate no open problem
// covers, at most one per rule and key however many instances run it,
// and links the candidate's incidents to it in the same transaction.
func ExampleTrendWatch_OpenUncovered() {
	svc, incs := withIncidents()
	relay := itil.NewID()
	for i := range 5 {
		if _, err := incs.Open(ctx, desk, incident.NewIncident{Title: fmt.Sprintf("Mail stuck #%d", i+1),
			Caller: desk, Channel: incident.Phone, CIID: relay, Impact: 3, Urgency: 2}); err != nil {
			panic(err)
		}
	}
	watch, err := problem.NewTrendWatch(svc, fiveOnOneCI, time.Hour)
	if err != nil {
		panic(err)
	}
	asOf := monday.Add(time.Hour)
	opened, err := watch.OpenUncovered(ctx, analyst, asOf)
	if err != nil {
		panic(err)
	}
	for _, p := range opened {
		fmt.Println(p.Number, p.State, p.CIIDs[0] == relay)
	}
	again, err := watch.OpenUncovered(ctx, analyst, asOf) // a second instance, or a second run
	fmt.Println("opened again:", len(again), err)

	fmt.Println(must(svc.Get(ctx, opened[0].ID)).IncidentCount, "incidents linked")
	// Output:
	// PRB0001001 new true
	// opened again: 0 <nil>
	// 5 incidents linked
}

// The detector on its own, with no storage: Observe reports the incident
// that makes a key cross its rule's threshold, once, and DetectTrends is
// the batch form over a history.
func ExampleTrendDetector_Observe() {
	d, err := problem.NewTrendDetector([]problem.TrendRule{
		{Name: "category-7d", By: problem.TrendByService | problem.TrendByCategory, Threshold: 3, Window: 7 * 24 * time.Hour},
	}, 0)
	if err != nil {
		panic(err)
	}
	payroll := itil.NewID()
	var history []problem.TrendIncident
	for day := range 4 {
		f := problem.TrendIncident{ID: itil.NewID(), OpenedAt: monday.AddDate(0, 0, 2*day),
			ServiceID: payroll, Category: "network"}
		history = append(history, f)
		crossings, err := d.Observe(f)
		if err != nil {
			panic(err)
		}
		for _, c := range crossings {
			fmt.Println(f.OpenedAt.Weekday(), "crossed", c.Rule, c.Key.Category)
		}
	}
	trends, err := problem.DetectTrends(d.Rules(), slices.Values(history), monday.AddDate(0, 0, 6), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(trends), "candidate with", trends[0].Count, "incidents as of", trends[0].To.Weekday())
	// Output:
	// Friday crossed category-7d network
	// 1 candidate with 4 incidents as of Sunday
}
