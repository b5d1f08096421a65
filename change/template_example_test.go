package change_test

import (
	"context"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/storage/memory"
)

// A standard change template is proposed, approved by change management,
// requested and published; changes made from it are pre-approved, with
// the template's fields and a planned end the template's duration after
// their start. Editing the published template drafts its next version.
func ExampleService_OpenFromTemplate() {
	ctx := context.Background()
	svc, err := change.New(memory.NewStore())
	if err != nil {
		panic(err)
	}
	engineer := itil.Actor{ID: "wes", Name: "Wes Engineer"}
	manager := itil.Actor{ID: "carl", Name: "Carl Change-Manager"}
	tp, err := svc.ProposeTemplate(ctx, engineer, change.NewTemplate{
		Name: "Restart a web server", Title: "Restart nginx on web01", AssignmentGroup: "web-ops",
		Implementation: "systemctl restart nginx", Backout: "fail over to web02", PlannedDuration: 30 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	for _, step := range []func() (*change.Template, error){
		func() (*change.Template, error) { return svc.ApproveTemplate(ctx, manager, tp.ID) },
		func() (*change.Template, error) { return svc.RequestTemplate(ctx, engineer, tp.ID) },
		func() (*change.Template, error) { return svc.PublishTemplate(ctx, manager, tp.ID) },
	} {
		if tp, err = step(); err != nil {
			panic(err)
		}
	}
	fmt.Printf("%s v%d %s\n", tp.Number, tp.Revision, tp.State)

	start := time.Date(2026, 3, 4, 22, 0, 0, 0, time.UTC)
	ch, err := svc.OpenFromTemplate(ctx, engineer, tp.ID, change.FromTemplate{PlannedStart: start})
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.Number, ch.Model, ch.Title, ch.AssignmentGroup, ch.PlannedEnd.Format(time.TimeOnly))
	// Pre-approved: straight from New to Scheduled.
	ch, err = svc.Move(ctx, engineer, ch.ID, change.MoveSchedule)
	if err != nil {
		panic(err)
	}
	fmt.Println(ch.State)

	title := "Restart nginx on a web server"
	next, err := svc.UpdateTemplate(ctx, engineer, tp.ID, change.TemplatePatch{Title: &title})
	if err != nil {
		panic(err)
	}
	tp, _ = svc.GetTemplate(ctx, tp.ID)
	fmt.Printf("%s v%d %s; v%d still %s, %d change made from it\n", next.Number, next.Revision, next.State,
		tp.Revision, tp.State, tp.Usage.Opened)
	// Output:
	// STDCHG0001001 v1 published
	// CHG0001001 standard Restart nginx on web01 web-ops 22:30:00
	// scheduled
	// STDCHG0001001 v2 draft; v1 still published, 1 change made from it
}
