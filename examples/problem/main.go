// Problem tells the story problem management exists for: the same
// incident keeps coming back on one mail relay. Trend detection finds the
// pattern before anyone files a problem; a problem is opened for it and
// its incidents linked; the problem is confirmed and analyzed, the
// workaround goes out to the people still waiting, the root cause and
// workaround are published as a known error (which the desk then finds
// for a new call), a change carries the fix, and resolving the problem
// resolves the incidents waiting for it, all on a simulated clock.
//
//	go run ./examples/problem
//	go run ./examples/problem -store sqlite:/tmp/itil.db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/internal/store"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
)

func main() {
	spec := store.Flag()
	flag.Parse()
	if err := run(context.Background(), *spec); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, spec string) (err error) {
	// Monday 2 March 2026, 08:00 UTC.
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := itil.ClockFunc(func() time.Time { return now })
	st, closeStore, err := store.Open(ctx, spec, "problem")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	cis, err := cmdb.New(st, cmdb.WithClock(clock))
	if err != nil {
		return err
	}
	incidents, err := incident.New(st, incident.WithClock(clock))
	if err != nil {
		return err
	}
	// The problem Service reaches incidents through the incident Service
	// on the same store: links, communications and the resolution cascade
	// run inside the problem command's own transaction.
	problems, err := problem.New(st, problem.WithClock(clock), problem.WithIncidents(incidents))
	if err != nil {
		return err
	}

	desk := itil.Actor{ID: "alex", Name: "Alex (service desk)"}
	analyst := itil.Actor{ID: "ana", Name: "Ana (problem analyst)"}
	caller := itil.Actor{ID: "casey", Name: "Casey (finance)"}
	admin := itil.Actor{ID: "cmdb-admin"}
	say := func(format string, args ...any) {
		fmt.Printf("%s  %s\n", now.Format("Mon 15:04"), fmt.Sprintf(format, args...))
	}

	relay, err := cis.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "mail-relay-01",
		State: cmdb.Operational})
	if err != nil {
		return err
	}
	printer, err := cis.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "print-01",
		State: cmdb.Operational})
	if err != nil {
		return err
	}

	// 1. Recurring incidents. The desk restores service each time; nobody
	// has filed a problem.
	fmt.Println("== Recurring incidents")
	calls := []struct {
		at    string
		title string
		ci    *cmdb.CI
		fixed bool // the desk restarts the relay and resolves the call
	}{
		{"08:10", "Mail stuck in my outbox", relay, true},
		{"09:05", "Cannot send invoices by mail", relay, true},
		{"09:40", "Printer offline on floor 3", printer, true},
		{"10:40", "Outbox not emptying", relay, false},
		{"12:15", "Mail to customers delayed", relay, false},
		{"13:50", "Messages stuck in outbox again", relay, false},
	}
	for _, c := range calls {
		now = at(now, c.at)
		inc, err := incidents.Open(ctx, desk, incident.NewIncident{Title: c.title, Caller: caller,
			Channel: incident.Phone, Category: "email", CIID: c.ci.ID, Impact: 3, Urgency: 2})
		if err != nil {
			return err
		}
		what := "still open"
		if c.fixed {
			what = "resolved by a restart"
		}
		say("%s %-32q on %s, %s", inc.Number, c.title, c.ci.Name, what)
		if c.fixed {
			now = now.Add(10 * time.Minute)
			if _, err := incidents.Resolve(ctx, desk, inc.ID, "workaround_provided", "restarted the service"); err != nil {
				return err
			}
		}
	}

	// 2. Trend detection: at least 5 incidents on one CI within 24 hours.
	// The watch counts the incidents opened from the journal, so every
	// application instance sees the same candidates.
	fmt.Println("\n== Trend detection")
	watch, err := problem.NewTrendWatch(problems, []problem.TrendRule{
		{Name: "ci-24h", By: problem.TrendByCI, Threshold: 5, Window: 24 * time.Hour},
	}, time.Hour)
	if err != nil {
		return err
	}
	now = at(now, "14:00")
	trends, err := watch.Trends(ctx, now)
	if err != nil {
		return err
	}
	for _, c := range trends {
		say("rule %s: %d incidents on %s since %s, covered by a problem: %t",
			c.Rule, c.Count, nameOf(c.Key.CI, relay, printer), c.From.Format("Mon 15:04"), c.CoveredBy != itil.NilID)
	}
	if len(trends) != 1 {
		return fmt.Errorf("want one trend candidate, got %d", len(trends))
	}
	cand := trends[0]

	// 3. A problem for the candidate (at most one per rule and key while
	// it is open, however many instances try), with its incidents linked.
	fmt.Println("\n== A problem is opened")
	p, opened, err := watch.Open(ctx, analyst, cand)
	if err != nil {
		return err
	}
	title := "Mail relay stops sending several times a day"
	if p, err = problems.Update(ctx, analyst, p.ID, problem.Patch{Title: &title}); err != nil {
		return err
	}
	say("%s opened: %t, %q, state %s", p.Number, opened, p.Title, p.State)
	for _, id := range cand.Incidents {
		inc, err := incidents.Get(ctx, id)
		if err != nil {
			return err
		}
		if inc.State.Open() {
			// The desk parks the open ones: they wait for the problem now.
			if _, err := incidents.Hold(ctx, desk, id, incident.AwaitingProblem, ""); err != nil {
				return err
			}
		}
	}
	say("%s links %d incidents; the open ones are On Hold awaiting it", p.Number, p.IncidentCount)
	again, err := watch.Trends(ctx, now)
	if err != nil {
		return err
	}
	say("the trend is now covered by %s: %t", p.Number, again[0].CoveredBy == p.ID)

	// 4. Assessment and root cause analysis.
	fmt.Println("\n== Analysis")
	now = now.Add(30 * time.Minute)
	if _, err := problems.Assign(ctx, analyst, p.ID, "messaging", "ana"); err != nil {
		return err
	}
	if _, err := problems.Assess(ctx, analyst, p.ID); err != nil {
		return err
	}
	impact, urgency := itil.Impact(2), itil.Urgency(2)
	if _, err := problems.Update(ctx, analyst, p.ID, problem.Patch{Impact: &impact, Urgency: &urgency}); err != nil {
		return err
	}
	if p, err = problems.Confirm(ctx, analyst, p.ID); err != nil {
		return err
	}
	say("%s confirmed by %s: %s, %s", p.Number, p.ConfirmedBy.Name, p.State, p.Priority)

	// 5. A workaround, told to everyone still waiting.
	now = now.Add(45 * time.Minute)
	workaround := "Restart the mail transport service and flush the queue"
	if _, err := problems.Update(ctx, analyst, p.ID, problem.Patch{Workaround: &workaround}); err != nil {
		return err
	}
	told, err := problems.CommunicateWorkaround(ctx, analyst, p.ID)
	if err != nil {
		return err
	}
	say("workaround sent to %d open incidents as a comment", told)

	// 6. The root cause, and a known error the desk can search.
	now = now.Add(2 * time.Hour)
	cause := "the hourly log rotation fills the spool partition, and the relay stops accepting mail"
	if _, err := problems.Update(ctx, analyst, p.ID, problem.Patch{CauseNotes: &cause}); err != nil {
		return err
	}
	ke, err := problems.PublishKnownError(ctx, analyst, p.ID, problem.FromProblem{
		Symptom:   "Mail stays in the outbox; the relay answers 452 insufficient system storage",
		ErrorCode: "452 4.3.1", Domain: problem.DomainApplication,
	})
	if err != nil {
		return err
	}
	say("root cause recorded; known error %s published (revision %d)", ke.Number, ke.Revision)

	// Tuesday morning: another call. The agent searches the known errors
	// with the caller's words and finds the workaround at once.
	fmt.Println("\n== The desk uses the known error")
	now = time.Date(2026, 3, 3, 8, 20, 0, 0, time.UTC)
	inc, err := incidents.Open(ctx, desk, incident.NewIncident{Title: "Outbox stuck, nothing goes out",
		Caller: caller, Channel: incident.Phone, Category: "email", CIID: relay.ID, Impact: 3, Urgency: 2})
	if err != nil {
		return err
	}
	for k, err := range problems.KnownErrors().Search(ctx, problem.KnownErrorQuery{Words: "OUTBOX relay"}) {
		if err != nil {
			return err
		}
		say("%s: search %q finds %s %q → %s", inc.Number, "OUTBOX relay", k.Number, k.Title, k.Workaround)
	}
	if _, err := problems.LinkIncident(ctx, desk, p.ID, inc.ID); err != nil {
		return err
	}
	if _, err := incidents.Hold(ctx, desk, inc.ID, incident.AwaitingProblem, "A fix is on its way; "+workaround); err != nil {
		return err
	}
	say("%s linked to %s and On Hold awaiting it", inc.Number, p.Number)

	// 7. The permanent fix goes through change management: the change is
	// listed as a fix record, and completed when the change closes.
	fmt.Println("\n== The fix")
	now = now.Add(time.Hour)
	if p, err = problems.Fix(ctx, analyst, p.ID); err != nil {
		return err
	}
	change := itil.NewID() // the change request that moves the spool to its own volume
	if p, err = problems.AddFixRecord(ctx, analyst, p.ID, "change", change); err != nil {
		return err
	}
	say("%s is %s; a change carries the fix (ready: %t)", p.Number, p.State, p.FixReady())
	now = time.Date(2026, 3, 4, 22, 30, 0, 0, time.UTC) // Wednesday night's maintenance window
	if p, err = problems.CompleteFixRecord(ctx, analyst, p.ID, "change", change); err != nil {
		return err
	}
	say("the change closed: fix record %s, fix ready to resolve: %t", p.FixRecords[0].State, p.FixReady())

	// 8. Resolved with the fix applied: the incidents waiting for the
	// problem are resolved in the same transaction.
	fmt.Println("\n== Resolution")
	now = time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	fix := "spool moved to its own 50 GB volume; log rotation writes elsewhere"
	if _, err := problems.Update(ctx, analyst, p.ID, problem.Patch{FixNotes: &fix}); err != nil {
		return err
	}
	if p, err = problems.Resolve(ctx, analyst, p.ID); err != nil {
		return err
	}
	say("%s %s (%s)", p.Number, p.State, p.ResolutionCode)
	linked, err := problems.Incidents(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, inc := range linked {
		say("  %s %-32q %s %s", inc.Number, inc.Title, inc.State, inc.ResolutionCode)
	}
	now = now.Add(24 * time.Hour)
	if p, err = problems.Complete(ctx, analyst, p.ID); err != nil {
		return err
	}
	say("%s %s", p.Number, p.State)
	return nil
}

// at returns the instant of now's day at hh:mm.
func at(now time.Time, hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, now.Location())
}

func nameOf(id itil.ID, cis ...*cmdb.CI) string {
	for _, c := range cis {
		if c.ID == id {
			return c.Name
		}
	}
	return id.String()
}
