package main

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// seedDemo gives the demo tenant something to look at, through the
// SDK's commands as its admin: a mail service with its CIs, two SLA
// definitions, a few incidents (one on hold), a problem with a known
// error, and three changes on the calendar. It runs in one transaction
// that first marks the tenant seeded, so that a kept store is seeded
// once, and two instances starting together on one store seed it once
// (the second's mark conflicts, and it leaves the seeding to the first).
func (s *server) seedDemo(ctx context.Context) error {
	admin := demoTokens["admin-token"]
	ctx = storage.Writing(httpapi.WithPrincipal(ctx, &admin))
	desk, err := s.desk(admin.Tenant)
	if err != nil {
		return err
	}
	err = desk.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		if _, err := demoMarks.Get(ctx, tx, demoMarkID); err == nil {
			return errSeeded
		} else if !errors.Is(err, itil.ErrNotFound) {
			return err
		}
		if err := demoMarks.Put(ctx, tx, &demoMark{ID: demoMarkID, At: time.Now().UTC()}); err != nil {
			return err
		}
		return seed(ctx, desk.in(tx), admin.Actor)
	})
	if errors.Is(err, errSeeded) || errors.Is(err, itil.ErrConflict) {
		return nil // seeded before, or by another instance just now
	}
	return err
}

// demoMark marks a tenant seeded with the demo records.
type demoMark struct {
	ID      itil.ID   `json:"id"`
	Version int64     `json:"-"`
	At      time.Time `json:"at"`
}

var demoMarks = storage.NewCollection(storage.Schema[demoMark]{
	Kind:    "servicedesk_demo",
	ID:      func(m *demoMark) itil.ID { return m.ID },
	Version: func(m *demoMark) *int64 { return &m.Version },
	Terms:   func(_ *demoMark, dst []string) []string { return dst },
	SortKey: func(m *demoMark) string { return storage.TimeKey(m.At) },
})

var demoMarkID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/examples/servicedesk#demo"))

var errSeeded = errors.New("servicedesk: the demo records are there")

// seed writes the demo records through d, bound to the seeding's
// transaction, as a.
func seed(ctx context.Context, d *desk, a itil.Actor) error {
	var errs []error
	must := func(err error) {
		errs = append(errs, err)
	}
	ci := func(class, name, group string) itil.ID {
		c, err := d.cis.CreateCI(ctx, a, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational, SupportGroup: group})
		if err != nil {
			must(err)
			return itil.NilID
		}
		return c.ID
	}
	mail, web := ci(cmdb.ClassBusinessService, "Mail", "messaging"), ci(cmdb.ClassBusinessService, "Webmail", "messaging")
	relay, db := ci(cmdb.ClassApplication, "mail-relay", "messaging"), ci(cmdb.ClassDatabaseInstance, "mail-db", "messaging")
	mx1, mx2 := ci(cmdb.ClassLinuxServer, "mx1", "network"), ci(cmdb.ClassLinuxServer, "mx2", "network")
	for _, rel := range []struct {
		typ           string
		parent, child itil.ID
	}{{"depends_on", mail, relay}, {"depends_on", web, relay}, {"runs_on", relay, mx1}, {"runs_on", relay, mx2}, {"depends_on", relay, db}} {
		_, err := d.cis.Relate(ctx, a, rel.typ, rel.parent, rel.child)
		must(err)
	}
	for _, def := range []slm.Definition{
		slm.StandardDefinition("Respond in 1 hour", incident.Kind, slm.SLA, slm.Response, slm.Target{Name: "1h", Duration: time.Hour}),
		slm.StandardDefinition("Resolve in 8 hours", incident.Kind, slm.SLA, slm.Resolution, slm.Target{Name: "8h", Duration: 8 * time.Hour}),
	} {
		_, err := d.sla.Define(ctx, a, def)
		must(err)
	}
	open := func(title string, impact itil.Impact, urgency itil.Urgency) *incident.Incident {
		inc, err := d.incidents.Open(ctx, a, incident.NewIncident{Title: title, Caller: itil.Actor{ID: "casey", Name: "Casey"},
			Channel: incident.Phone, ServiceID: mail, CIID: relay, Impact: impact, Urgency: urgency})
		must(err)
		return inc
	}
	stuck, late, slow := open("Mail stuck in the outbox", 2, 2), open("Mail arrives hours late", 2, 1), open("Webmail slow to load", 3, 3)
	open("New starter cannot sign in to mail", 3, 2)
	if stuck != nil && late != nil && slow != nil {
		_, err := d.incidents.Assign(ctx, a, stuck.ID, "messaging", "mia")
		must(err)
		_, err = d.incidents.Assign(ctx, a, slow.ID, "messaging", "max")
		must(err)
		_, err = d.incidents.Hold(ctx, a, slow.ID, incident.AwaitingCaller, "Which browser do you use?")
		must(err)
		p, err := d.problems.Open(ctx, a, problem.NewProblem{Title: "Relay queue stalls under load", ServiceID: mail, CIIDs: []itil.ID{relay},
			Impact: 2, Urgency: 2, Workaround: "Flush the relay's spool"})
		must(err)
		if p != nil {
			for _, inc := range []*incident.Incident{stuck, late} {
				_, err := d.problems.LinkIncident(ctx, a, p.ID, inc.ID)
				must(err)
			}
			cause := "Log rotation fills the spool's disk"
			_, err = d.problems.Update(ctx, a, p.ID, problem.Patch{CauseNotes: &cause})
			must(err)
			_, err = d.problems.PublishKnownError(ctx, a, p.ID, problem.FromProblem{Symptom: "Mail stays in the outbox; the relay's queue grows"})
			must(err)
		}
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, c := range []change.NewChange{
		{Title: "Rotate the relay's logs hourly", Implementation: "Deploy the new logrotate rule", Backout: "Restore the old rule",
			AssignmentGroup: "messaging", Assignee: "mia", CIID: relay, Impact: 2,
			PlannedStart: day.AddDate(0, 0, 2).Add(20 * time.Hour), PlannedEnd: day.AddDate(0, 0, 2).Add(22 * time.Hour)},
		{Title: "Upgrade the relay", Implementation: "Install the new relay release", Backout: "Reinstall the old release",
			AssignmentGroup: "messaging", Assignee: "mia", CIID: relay, Impact: 2,
			PlannedStart: day.AddDate(0, 0, 2).Add(21 * time.Hour), PlannedEnd: day.AddDate(0, 0, 2).Add(23 * time.Hour)},
		{Title: "Patch mx1 and mx2", Implementation: "apt upgrade, one server at a time", Backout: "Boot the previous kernel",
			AssignmentGroup: "network", Assignee: "ned", CIIDs: []itil.ID{mx1, mx2}, Impact: 3,
			PlannedStart: day.AddDate(0, 0, 5).Add(19 * time.Hour), PlannedEnd: day.AddDate(0, 0, 6).Add(1 * time.Hour)},
	} {
		ch, err := d.changes.Open(ctx, a, c)
		must(err)
		if ch != nil {
			_, err = d.changes.Move(ctx, a, ch.ID, change.MoveAssess)
			must(err)
		}
	}
	return errors.Join(errs...)
}
