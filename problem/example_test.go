package problem_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

var (
	ctx     = context.Background()
	analyst = itil.Actor{ID: "ana", Name: "Ana"}
	manager = itil.Actor{ID: "max", Name: "Max"}
	monday  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// newService returns a service on a fresh in-memory store whose clock
// advances one minute per reading, so examples print stable times.
func newService(opts ...problem.Option) *problem.Service {
	now := monday
	clock := itil.ClockFunc(func() time.Time { now = now.Add(time.Minute); return now })
	svc, err := problem.New(memory.NewStore(), append([]problem.Option{problem.WithClock(clock)}, opts...)...)
	if err != nil {
		panic(err)
	}
	return svc
}

func must(p *problem.Problem, err error) *problem.Problem {
	if err != nil {
		panic(err)
	}
	return p
}

// confirmed opens a problem and takes it to Root Cause Analysis.
func confirmed(svc *problem.Service, title string) *problem.Problem {
	p := must(svc.Open(ctx, analyst, problem.NewProblem{Title: title, Impact: 2, Urgency: 1}))
	must(svc.Assign(ctx, analyst, p.ID, "problem-mgmt", "ana"))
	must(svc.Assess(ctx, analyst, p.ID))
	return must(svc.Confirm(ctx, analyst, p.ID))
}

func ExampleService_Open() {
	svc := newService()
	// Reactive: recurring incidents on the mail relay.
	p, err := svc.Open(ctx, analyst, problem.NewProblem{
		Title: "Mail relay crashes every Monday morning", Category: "email",
		Impact: 2, Urgency: 1, Workaround: "restart the relay service",
	})
	fmt.Println(p.Number, p.State, p.Priority, err)

	// Proactive: impact and urgency can wait for the assessment.
	q, err := svc.Open(ctx, analyst, problem.NewProblem{Title: "SAN disks near their wear limit"})
	fmt.Println(q.Number, q.State, q.Priority == 0, err)
	// Output:
	// PRB0001001 new P2 - High <nil>
	// PRB0001002 new true <nil>
}

func ExampleService_Confirm() {
	svc := newService()
	p := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "SAN disks near their wear limit"}))
	must(svc.Assess(ctx, analyst, p.ID))

	// Confirming needs an owner and a priority.
	_, err := svc.Confirm(ctx, analyst, p.ID)
	fmt.Println(err)

	must(svc.Assign(ctx, analyst, p.ID, "storage", ""))
	impact, urgency := itil.Impact(1), itil.Urgency(3)
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{Impact: &impact, Urgency: &urgency}))
	p = must(svc.Confirm(ctx, analyst, p.ID))
	fmt.Println(p.State, p.Priority, p.ConfirmedBy.ID)
	// Output:
	// invalid input: assignment_group: is required to confirm the problem: assign it first; priority: is required to confirm the problem: set its impact and urgency first
	// root_cause_analysis P3 - Moderate ana
}

// The textbook path: the root cause found, a fix started, applied and
// the problem closed.
func ExampleService_Resolve() {
	svc := newService()
	p := confirmed(svc, "Mail relay crashes every Monday morning")

	_, err := svc.Fix(ctx, analyst, p.ID)
	fmt.Println(err)

	cause := "the weekly log rotation fills the spool partition"
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{CauseNotes: &cause}))
	p = must(svc.Fix(ctx, analyst, p.ID))
	fmt.Println(p.State)

	fix := "log rotation moved to its own partition (change CHG0001234)"
	must(svc.Update(ctx, analyst, p.ID, problem.Patch{FixNotes: &fix}))
	p = must(svc.Resolve(ctx, analyst, p.ID))
	fmt.Println(p.State, p.ResolutionCode)
	p = must(svc.Complete(ctx, analyst, p.ID))
	fmt.Println(p.State, p.ClosedAt.Format(time.Kitchen))
	// Output:
	// invalid input: cause_notes: is required to start a fix: record the root cause first (Update)
	// fix_in_progress
	// resolved fix_applied
	// closed 9:10AM
}

func ExampleService_AcceptRisk() {
	svc := newService()
	p := confirmed(svc, "Legacy fax gateway drops one page in a thousand")
	p = must(svc.AcceptRisk(ctx, analyst, p.ID, "the gateway is retired in May; the workaround is cheap"))
	fmt.Println(p.State, p.ResolutionCode)
	fmt.Println(p.RiskAcceptedReason)
	// Output:
	// closed risk_accepted
	// the gateway is retired in May; the workaround is cheap
}

func ExampleService_MarkDuplicate() {
	svc := newService()
	survivor := confirmed(svc, "VPN drops every 10 minutes")
	dup := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "Remote users disconnected"}))

	dup = must(svc.MarkDuplicate(ctx, analyst, dup.ID, survivor.ID))
	fmt.Println(dup.State, dup.ResolutionCode, dup.DuplicateOf == survivor.ID)

	// A duplicate cannot be a survivor.
	third := must(svc.Open(ctx, analyst, problem.NewProblem{Title: "VPN again"}))
	_, err := svc.MarkDuplicate(ctx, analyst, third.ID, dup.ID)
	fmt.Println(err)
	// Output:
	// closed duplicate true
	// invalid input: duplicate_of: PRB0001002 is itself a duplicate; name the problem it duplicates
}

// Reanalyzing a closed problem is a problem manager's decision: the
// Authorizer is asked for CommandReanalyzeClosed.
func ExampleService_Reanalyze() {
	managers := func(_ context.Context, a itil.Actor, command string, _ *problem.Problem) error {
		if command == problem.CommandReanalyzeClosed && a.ID != manager.ID {
			return errors.New("only a problem manager reopens a closed problem")
		}
		return nil
	}
	svc := newService(problem.WithAuthorizer(managers))
	p := confirmed(svc, "Printer queue stalls")
	must(svc.AcceptRisk(ctx, manager, p.ID, "printing is being phased out"))

	_, err := svc.Reanalyze(ctx, analyst, p.ID, "it happens hourly now")
	fmt.Println(errors.Is(err, itil.ErrForbidden))

	p = must(svc.Reanalyze(ctx, manager, p.ID, "it happens hourly now"))
	fmt.Println(p.State, p.ResolutionCode == "")
	// Output:
	// true
	// root_cause_analysis true
}

func ExampleDiagram() {
	fmt.Print(problem.Diagram()[:len("stateDiagram-v2\n    [*] --> new\n")])
	// Output:
	// stateDiagram-v2
	//     [*] --> new
}
