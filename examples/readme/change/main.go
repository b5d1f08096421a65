// Change enablement in a few calls: a normal change assessed for risk,
// approved by its assignment group, scheduled, implemented through its
// tasks and closed, and, as it fixes a problem, the problem's fix record
// completed in the same transaction.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	ctx := context.Background()
	store := memory.NewStore()
	problems, err := problem.New(store)
	if err != nil {
		log.Fatal(err)
	}
	// Approver groups come from a Directory; fix records are kept through
	// the problem Service. Options: models, approval rules, risk model, CMDB.
	changes, err := change.New(store, change.WithDirectory(change.DirectoryMap{"dba": {"dan", "dora"}}),
		change.WithProblems(problems))
	if err != nil {
		log.Fatal(err)
	}
	rita, dan, dora := itil.Actor{ID: "rita", Name: "Rita"}, itil.Actor{ID: "dan"}, itil.Actor{ID: "dora"}

	prb, err := problems.Open(ctx, rita, problem.NewProblem{Title: "Checkout waits on database locks"})
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	ch, err := changes.Open(ctx, rita, change.NewChange{ // model normal unless named
		Title: "Upgrade PostgreSQL 15 to 16", Implementation: "pg_upgrade --link", Backout: "restore the snapshot",
		AssignmentGroup: "dba", Assignee: "dan", Impact: 3, PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	// The change carries the problem's fix: the problem lists it.
	if _, err := changes.LinkProblem(ctx, rita, ch.ID, prb.ID); err != nil {
		log.Fatal(err)
	}
	// Risk by the risk model; the change keeps how it was reached.
	if ch, err = changes.AssessRisk(ctx, dan, ch.ID, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ch.Number, "risk", ch.Risk)

	// Assess waits for the assignment group. Dan implements the change,
	// so segregation of duties leaves Dora to approve it.
	if _, err := changes.Move(ctx, rita, ch.ID, change.MoveAssess); err != nil {
		log.Fatal(err)
	}
	if _, err := changes.Approve(ctx, dora, ch.ID, "plan reviewed"); err != nil {
		log.Fatal(err)
	}
	// A low risk needs no CAB in Authorize. Implement opens the tasks.
	for _, move := range []string{change.MoveAuthorize, change.MoveSchedule, change.MoveImplement} {
		if _, err := changes.Move(ctx, rita, ch.ID, move); err != nil {
			log.Fatal(err)
		}
	}
	for t, err := range changes.Tasks(ctx, ch.ID) {
		if err != nil {
			log.Fatal(err)
		}
		if _, err := changes.StartTask(ctx, dan, t.ID); err != nil {
			log.Fatal(err)
		}
		if _, err := changes.CloseTask(ctx, dan, t.ID, "done"); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := changes.Move(ctx, dan, ch.ID, change.MoveReview); err != nil {
		log.Fatal(err)
	}
	// Closing completes the problem's fix record in the same transaction.
	if ch, err = changes.Close(ctx, rita, ch.ID, change.Successful, "upgraded; no lock waits since"); err != nil {
		log.Fatal(err)
	}
	if prb, err = problems.Get(ctx, prb.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println(ch.Number, ch.State, ch.CloseCode, "→", prb.Number, "fix ready:", prb.FixReady())

	// What changed, who approved it, and whether the risk was known: the
	// journal (ch.RiskExplanation says how the risk was reached).
	history, err := changes.History(ctx, ch.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range history {
		fmt.Println(h.Actor.ID, h.Type)
	}
}
