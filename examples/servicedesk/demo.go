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
// (the second conflicts on the mark, and then finds it).
func (s *server) seedDemo(ctx context.Context) error {
	admin := demoTokens["admin-token"]
	ctx = storage.Writing(httpapi.WithPrincipal(ctx, &admin))
	desk, err := s.desk(admin.Tenant)
	if err != nil {
		return err
	}
	seedOnce := func() error {
		return desk.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
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
	}
	err = seedOnce()
	if errors.Is(err, itil.ErrConflict) {
		err = seedOnce() // another instance's transaction committed first: its mark is there now
	}
	if errors.Is(err, errSeeded) {
		return nil
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
	// step runs f unless a step before failed: the first error ends the
	// seeding (the transaction is then rolled back).
	var err error
	step := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	ids := map[string]itil.ID{}
	for _, c := range []struct{ class, name, group string }{
		{cmdb.ClassBusinessService, "Mail", "messaging"}, {cmdb.ClassBusinessService, "Webmail", "messaging"},
		{cmdb.ClassApplication, "mail-relay", "messaging"}, {cmdb.ClassDatabaseInstance, "mail-db", "messaging"},
		{cmdb.ClassLinuxServer, "mx1", "network"}, {cmdb.ClassLinuxServer, "mx2", "network"},
	} {
		step(func() error {
			ci, err := d.cis.CreateCI(ctx, a, cmdb.NewCI{Class: c.class, Name: c.name, State: cmdb.Operational, SupportGroup: c.group})
			if err == nil {
				ids[c.name] = ci.ID
			}
			return err
		})
	}
	for _, rel := range [][3]string{{"depends_on", "Mail", "mail-relay"}, {"depends_on", "Webmail", "mail-relay"},
		{"runs_on", "mail-relay", "mx1"}, {"runs_on", "mail-relay", "mx2"}, {"depends_on", "mail-relay", "mail-db"}} {
		step(func() error { _, err := d.cis.Relate(ctx, a, rel[0], ids[rel[1]], ids[rel[2]]); return err })
	}
	for _, def := range []slm.Definition{
		slm.StandardDefinition("Respond in 1 hour", incident.Kind, slm.SLA, slm.Response, slm.Target{Name: "1h", Duration: time.Hour}),
		slm.StandardDefinition("Resolve in 8 hours", incident.Kind, slm.SLA, slm.Resolution, slm.Target{Name: "8h", Duration: 8 * time.Hour}),
	} {
		step(func() error { _, err := d.sla.Define(ctx, a, def); return err })
	}
	var incs []*incident.Incident
	for _, x := range []struct {
		title   string
		impact  itil.Impact
		urgency itil.Urgency
	}{{"Mail stuck in the outbox", 2, 2}, {"Mail arrives hours late", 2, 1}, {"Webmail slow to load", 3, 3}, {"New starter cannot sign in to mail", 3, 2}} {
		step(func() error {
			inc, err := d.incidents.Open(ctx, a, incident.NewIncident{Title: x.title, Caller: itil.Actor{ID: "casey", Name: "Casey"},
				Channel: incident.Phone, ServiceID: ids["Mail"], CIID: ids["mail-relay"], Impact: x.impact, Urgency: x.urgency})
			incs = append(incs, inc)
			return err
		})
	}
	step(func() error { _, err := d.incidents.Assign(ctx, a, incs[0].ID, "messaging", "mia"); return err })
	step(func() error { _, err := d.incidents.Assign(ctx, a, incs[2].ID, "messaging", "max"); return err })
	step(func() error {
		_, err := d.incidents.Hold(ctx, a, incs[2].ID, incident.AwaitingCaller, "Which browser do you use?")
		return err
	})
	var p *problem.Problem
	step(func() (err error) {
		p, err = d.problems.Open(ctx, a, problem.NewProblem{Title: "Relay queue stalls under load", ServiceID: ids["Mail"],
			CIIDs: []itil.ID{ids["mail-relay"]}, Impact: 2, Urgency: 2, Workaround: "Flush the relay's spool"})
		return err
	})
	for i := range 2 {
		step(func() error { _, err := d.problems.LinkIncident(ctx, a, p.ID, incs[i].ID); return err })
	}
	step(func() error {
		cause := "Log rotation fills the spool's disk"
		_, err := d.problems.Update(ctx, a, p.ID, problem.Patch{CauseNotes: &cause})
		return err
	})
	step(func() error {
		_, err := d.problems.PublishKnownError(ctx, a, p.ID, problem.FromProblem{Symptom: "Mail stays in the outbox; the relay's queue grows"})
		return err
	})
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, c := range []change.NewChange{
		{Title: "Rotate the relay's logs hourly", Implementation: "Deploy the new logrotate rule", Backout: "Restore the old rule",
			AssignmentGroup: "messaging", Assignee: "mia", CIID: ids["mail-relay"], Impact: 2,
			PlannedStart: day.AddDate(0, 0, 2).Add(20 * time.Hour), PlannedEnd: day.AddDate(0, 0, 2).Add(22 * time.Hour)},
		{Title: "Upgrade the relay", Implementation: "Install the new relay release", Backout: "Reinstall the old release",
			AssignmentGroup: "messaging", Assignee: "mia", CIID: ids["mail-relay"], Impact: 2,
			PlannedStart: day.AddDate(0, 0, 2).Add(21 * time.Hour), PlannedEnd: day.AddDate(0, 0, 2).Add(23 * time.Hour)},
		{Title: "Patch mx1 and mx2", Implementation: "apt upgrade, one server at a time", Backout: "Boot the previous kernel",
			AssignmentGroup: "network", Assignee: "ned", CIIDs: []itil.ID{ids["mx1"], ids["mx2"]}, Impact: 3,
			PlannedStart: day.AddDate(0, 0, 5).Add(19 * time.Hour), PlannedEnd: day.AddDate(0, 0, 6).Add(1 * time.Hour)},
	} {
		step(func() error {
			ch, err := d.changes.Open(ctx, a, c)
			if err != nil {
				return err
			}
			_, err = d.changes.Move(ctx, a, ch.ID, change.MoveAssess)
			return err
		})
	}
	return err
}
