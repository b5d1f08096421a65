package problem_test

import (
	"fmt"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
)

// A problem's fix is carried by two changes; change management completes
// one and cancels the other when they close, and the fix is then ready to
// resolve (the last command journals problem.EventFixReady).
func ExampleService_AddFixRecord() {
	svc := newService()
	p := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "Certificates expire unnoticed"}))
	rollout, rollback := itil.NewID(), itil.NewID()
	must(svc.AddFixRecord(ctx, analyst, p.ID, "change", rollout))
	must(svc.AddFixRecord(ctx, analyst, p.ID, "change", rollback))
	p = must(svc.CompleteFixRecord(ctx, analyst, p.ID, "change", rollout))
	fmt.Println("ready after one:", p.FixReady())
	p = must(svc.CancelFixRecord(ctx, analyst, p.ID, "change", rollback))
	fmt.Println("ready after both:", p.FixReady())
	h, _ := svc.History(ctx, p.ID)
	fmt.Println(h[len(h)-1].Type)
	// Output:
	// ready after one: false
	// ready after both: true
	// problem.fix_ready
}
