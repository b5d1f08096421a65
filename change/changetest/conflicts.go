package changetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// testConflicts: a change's conflicts, read from the store: the CI in
// another overlapping change, the assignee booked twice, an enforced
// blackout on the CI; touching ends are not overlaps, ended changes do
// not count.
func testConflicts(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db, web := itil.NewID(), itil.NewID()
	start := time.Date(2026, 12, 18, 21, 0, 0, 0, time.UTC)
	open := func(title, assignee string, from time.Time, hours int, cis ...itil.ID) *change.Change {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: title, AssignmentGroup: "messaging", Assignee: assignee,
			CIID: cis[0], CIIDs: cis[1:], PlannedStart: from, PlannedEnd: from.Add(time.Duration(hours) * time.Hour)})
		require.NoError(t, err)
		return ch
	}
	a := open("Patch the database", "max", start, 2, db)
	b := open("Reindex the database", "", start.Add(time.Hour), 2, db)
	c := open("Restart the web server", "max", start.Add(90*time.Minute), 1, web)
	touching := open("Vacuum the database", "", start.Add(3*time.Hour), 1, db)
	got, err := f.svc.Conflicts(f.ctx, a.ID)
	require.NoError(t, err)
	kinds := func(cs []change.Conflict) map[change.ConflictKind][]string {
		out := map[change.ConflictKind][]string{}
		for _, c := range cs {
			out[c.Kind] = append(out[c.Kind], c.Number)
		}
		return out
	}
	assert.Equal(t, map[change.ConflictKind][]string{change.ConflictCIScheduled: {b.Number}, change.ConflictAssigneeBooked: {c.Number}}, kinds(got))
	for _, cf := range got {
		if cf.Kind == change.ConflictCIScheduled {
			assert.Equal(t, db, cf.CIID)
			assert.True(t, cf.Start.Equal(start.Add(time.Hour)) && cf.End.Equal(start.Add(2*time.Hour)), "the overlap")
		}
	}
	got, err = f.svc.Conflicts(f.ctx, touching.ID)
	require.NoError(t, err)
	assert.Empty(t, got, "b ends as it starts: touching ends are not overlaps")

	// A freeze on the database, once enforced.
	freeze := yearEndFreeze()
	freeze.Ranges[0].From = calendar.Date{Year: 2026, Month: 12, Day: 18}
	freeze.Scope = change.Scope{CIs: []itil.ID{db}}
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, freeze)
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, b.ID)
	require.NoError(t, err)
	assert.NotContains(t, kinds(got), change.ConflictBlackout, "a draft freeze counts for nothing")
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	_, err = f.svc.EnforceSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, map[change.ConflictKind][]string{change.ConflictBlackout: {""}, change.ConflictCIScheduled: {a.Number}}, kinds(got))

	// An ended change conflicts with nothing, and nothing with it.
	_, err = f.svc.Cancel(f.ctx, requester, b.ID, "not needed")
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, map[change.ConflictKind][]string{change.ConflictAssigneeBooked: {c.Number}, change.ConflictBlackout: {""}}, kinds(got))
	got, err = f.svc.Conflicts(f.ctx, b.ID)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = f.svc.Conflicts(f.ctx, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)

	// Planned windows the schedule cannot compute exactly are refused.
	far := time.Date(2610, 12, 23, 21, 0, 0, 0, time.UTC)
	_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: "Far", CIID: db, PlannedStart: far, PlannedEnd: far.Add(time.Hour)})
	testkit.RequireFields(t, err, "planned_start", "planned_end")
	_, err = f.svc.Open(f.ctx, requester, change.NewChange{Title: "Long", CIID: db, PlannedStart: start, PlannedEnd: start.AddDate(2, 0, 0)})
	testkit.RequireFields(t, err, "planned_end")
}

// testConflictsCMDB: with the CMDB, a change on a CI conflicts with one
// on a CI a relationship away and with one affecting the same business
// service; a maintenance schedule scoped by class (the server class
// covers Linux servers) finds a change outside its windows; basic mode
// checks the primary CI only.
// mailEstate is the CMDB the schedule's CMDB cases share: the business
// service Mail depends on postfix and spamd; postfix runs on the Linux
// server mail-01.
type mailEstate struct {
	cm                      *cmdb.Service
	server, mail, app, spam *cmdb.CI
}

func newMailEstate(t *testing.T, store storage.Store) *mailEstate {
	t.Helper()
	cm, err := cmdb.New(store)
	require.NoError(t, err)
	ctx := t.Context()
	ci := func(class, name string, attrs map[string]string) *cmdb.CI {
		c, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: class, Name: name, Attributes: attrs})
		require.NoError(t, err)
		return c
	}
	e := &mailEstate{cm: cm, server: ci(cmdb.ClassLinuxServer, "mail-01", map[string]string{"serial_number": "SN1"}),
		mail: ci(cmdb.ClassBusinessService, "Mail", nil), app: ci(cmdb.ClassApplication, "postfix", nil),
		spam: ci(cmdb.ClassApplication, "spamd", nil)}
	for _, r := range []struct {
		typ      string
		from, to itil.ID
	}{{cmdb.DependsOn, e.mail.ID, e.app.ID}, {cmdb.DependsOn, e.mail.ID, e.spam.ID}, {cmdb.RunsOn, e.app.ID, e.server.ID}} {
		_, err = cm.Relate(ctx, requester, r.typ, r.from, r.to)
		require.NoError(t, err)
	}
	return e
}

func testConflictsCMDB(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	e := newMailEstate(t, store)
	cm, server, mail, app, spam := e.cm, e.server, e.mail, e.app, e.spam

	f := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm))
	start := time.Date(2026, 6, 3, 22, 0, 0, 0, time.UTC) // a Wednesday
	open := func(title string, ci itil.ID, more ...itil.ID) *change.Change {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: title, AssignmentGroup: "messaging",
			CIID: ci, CIIDs: more, PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour)})
		require.NoError(t, err)
		ch, err = f.svc.AssessRisk(f.ctx, requester, ch.ID, nil) // records the services it affects
		require.NoError(t, err)
		return ch
	}
	plain, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Tune spamd", CIID: spam.ID})
	require.NoError(t, err)
	assert.Equal(t, []change.AffectedService{{ServiceID: mail.ID}}, plain.AffectedServices, "the services follow the CIs from Open on")
	plain, err = f.svc.Update(f.ctx, requester, plain.ID, change.Patch{CIID: &server.ID})
	require.NoError(t, err)
	assert.Equal(t, []change.AffectedService{{ServiceID: mail.ID}}, plain.AffectedServices, "through postfix")
	onApp := open("Upgrade postfix", app.ID)
	onServer := open("Patch the kernel", server.ID)
	onSpam := open("Retrain spamd", spam.ID)
	got, err := f.svc.Conflicts(f.ctx, onApp.ID)
	require.NoError(t, err)
	byKind := map[change.ConflictKind][]itil.ID{}
	for _, c := range got {
		byKind[c.Kind] = append(byKind[c.Kind], c.ChangeID)
	}
	assert.ElementsMatch(t, []itil.ID{onServer.ID}, byKind[change.ConflictRelatedCIScheduled], "the server postfix runs on")
	assert.ElementsMatch(t, []itil.ID{onServer.ID, onSpam.ID}, byKind[change.ConflictServiceAffected], "both affect Mail")

	// Servers are maintained on Sunday nights only.
	var week calendar.Week
	week[time.Sunday] = []calendar.Window{calendar.Hours(1, 0, 5, 0)}
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, change.ScheduleSpec{Name: "Server maintenance",
		Type: change.MaintenanceSchedule, Windows: calendar.Spec{Zone: "UTC", Week: week},
		Scope: change.Scope{Classes: []string{cmdb.ClassServer}}})
	require.NoError(t, err)
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	_, err = f.svc.EnforceSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	got, err = f.svc.Conflicts(f.ctx, onServer.ID)
	require.NoError(t, err)
	var outside []change.Conflict
	for _, c := range got {
		if c.Kind == change.ConflictOutsideMaintenanceWindow {
			outside = append(outside, c)
		}
	}
	if assert.Len(t, outside, 1) {
		assert.Equal(t, server.ID, outside[0].CIID)
		assert.Equal(t, sc.ID, outside[0].ScheduleID)
	}

	// Basic mode reads the primary CI only; relations can be turned off.
	basic := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm),
		change.WithConflictDetection(change.ConflictDetection{Basic: true, RelationDepth: -1}))
	both := open("Move the relay", spam.ID, server.ID)
	got, err = basic.svc.Conflicts(f.ctx, both.ID)
	require.NoError(t, err)
	for _, c := range got {
		assert.NotEqual(t, change.ConflictRelatedCIScheduled, c.Kind)
		assert.NotEqual(t, server.ID, c.CIID, "the second CI is not checked")
	}
	_, err = change.New(store, change.WithConflictDetection(change.ConflictDetection{RelationDepth: 9}))
	testkit.RequireFields(t, err, "conflict_detection.relation_depth")
}

// testStoredConflicts: a change keeps its conflicts, journaled, and the
// changes it meets are re-evaluated in the same transaction, both ways.
func testStoredConflicts(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db := itil.NewID()
	start := time.Date(2026, 9, 9, 21, 0, 0, 0, time.UTC)
	open := func(title string, from time.Time) *change.Change {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: title, AssignmentGroup: "messaging",
			CIID: db, PlannedStart: from, PlannedEnd: from.Add(2 * time.Hour)})
		require.NoError(t, err)
		return ch
	}
	numbers := func(id itil.ID) []string {
		var out []string
		for _, c := range f.get(id).Conflicts {
			out = append(out, c.Number)
		}
		return out
	}
	a := open("Patch the database", start)
	assert.Empty(t, a.Conflicts)
	b := open("Reindex the database", start.Add(time.Hour))
	assert.Equal(t, []string{a.Number}, numbers(b.ID))
	assert.Equal(t, []string{b.Number}, numbers(a.ID), "a was re-evaluated when b was opened")
	hist, err := f.svc.History(f.ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, change.EventConflictsChanged, hist[len(hist)-1].Type)
	assert.Contains(t, hist[len(hist)-1].Refs, b.ID)

	// Moved apart, both are clear; moved back, both conflict again.
	later, laterEnd := start.Add(5*time.Hour), start.Add(7*time.Hour)
	_, err = f.svc.Update(f.ctx, requester, b.ID, change.Patch{PlannedStart: &later, PlannedEnd: &laterEnd})
	require.NoError(t, err)
	assert.Empty(t, numbers(a.ID))
	assert.Empty(t, numbers(b.ID))
	back, backEnd := start.Add(time.Hour), start.Add(3*time.Hour)
	_, err = f.svc.Update(f.ctx, requester, b.ID, change.Patch{PlannedStart: &back, PlannedEnd: &backEnd})
	require.NoError(t, err)
	assert.Equal(t, []string{b.Number}, numbers(a.ID))

	// An ended change frees the others.
	_, err = f.svc.Cancel(f.ctx, requester, a.ID, "merged into b")
	require.NoError(t, err)
	assert.Empty(t, numbers(b.ID))
	assert.Empty(t, numbers(a.ID))
}

// testEnforcement: an enforced blackout blocks a change from entering
// Scheduled with a typed error listing the conflicts, and nothing is
// written; an override with a reason lets it through and stays on the
// change; rules can make other conflicts block.
func testEnforcement(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore, change.WithConflictRules(append(change.DefaultConflictRules(),
		change.ConflictRule{Model: change.ModelStandard, State: change.StateScheduled, Kinds: []change.ConflictKind{change.ConflictCIScheduled}})))
	db := itil.NewID()
	freeze := yearEndFreeze()
	freeze.Scope = change.Scope{CIs: []itil.ID{db}}
	sc := f.enforced(freeze)

	start := time.Date(2026, 12, 22, 22, 0, 0, 0, time.UTC) // inside the freeze
	ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Model: change.ModelEmergency, Title: "Replace the failed disk",
		AssignmentGroup: "messaging", CIID: db, PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, ch.Conflicts, 1, "advised at once")
	assert.Equal(t, change.ConflictBlackout, ch.Conflicts[0].Kind)
	f.move(ch.ID, change.MoveAuthorize, "approve:erin")
	n := testkit.JournalLen(t, f.store)
	_, err = f.svc.Move(f.ctx, requester, ch.ID, change.MoveSchedule)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	var ce *change.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, change.StateScheduled, ce.State)
	if assert.Len(t, ce.Conflicts, 1) {
		assert.Equal(t, sc.ID, ce.Conflicts[0].ScheduleID)
		assert.Equal(t, "CI "+db.String()+` is in the blackout "Year-end freeze" from 2026-12-22 22:00 to 2026-12-22 23:00 UTC`,
			ce.Conflicts[0].Explain())
	}
	assert.Contains(t, err.Error(), `the blackout "Year-end freeze"`)
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "a blocked move writes nothing")

	_, err = f.svc.OverrideConflicts(f.ctx, changeManager, ch.ID, " ")
	testkit.RequireFields(t, err, "reason")
	got, err := f.svc.OverrideConflicts(f.ctx, changeManager, ch.ID, "the disk has failed: the service is down without it")
	require.NoError(t, err)
	require.NotNil(t, got.ConflictOverride)
	assert.Equal(t, changeManager, got.ConflictOverride.By)
	got = f.move(ch.ID, change.MoveSchedule)
	assert.Equal(t, change.StateScheduled, got.State)
	assert.Equal(t, "the disk has failed: the service is down without it", got.ConflictOverride.Reason)

	// A rule of the standard model blocks two changes on one CI.
	calm := time.Date(2026, 11, 3, 22, 0, 0, 0, time.UTC)
	tp := f.tmplPublished(change.NewTemplate{Name: "Vacuum", Title: "Vacuum", Implementation: "vacuumdb",
		Backout: "none needed", AssignmentGroup: "messaging", PlannedDuration: time.Hour, CIID: db})
	first, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: calm})
	require.NoError(t, err)
	f.move(first.ID, change.MoveSchedule)
	second, err := f.svc.OpenFromTemplate(f.ctx, requester, tp.ID, change.FromTemplate{PlannedStart: calm.Add(30 * time.Minute)})
	require.NoError(t, err)
	_, err = f.svc.Move(f.ctx, requester, second.ID, change.MoveSchedule)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, first.Number, ce.Conflicts[0].Number)

	_, err = change.New(f.store, change.WithConflictRules([]change.ConflictRule{
		{Model: "nope", State: change.StateScheduled}, {State: "parked"}, {State: change.StateScheduled, Kinds: []change.ConflictKind{"meteor"}}}))
	testkit.RequireFields(t, err, "conflict_rules[0].model", "conflict_rules[1].state", "conflict_rules[2].kinds[0]")
}

// testTwoInstanceBlocking: two scheduled changes moved onto one CI at the
// same moment from two instances, under a rule that blocks CI conflicts
// in Scheduled: one moves, the other is refused with a *ConflictError
// (the claims make the checks meet); never both.
func testTwoInstanceBlocking(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	rules := change.WithConflictRules([]change.ConflictRule{{State: change.StateScheduled, Kinds: []change.ConflictKind{change.ConflictCIScheduled}}})
	a := setup(t, func(*testing.T) storage.Store { return s1 }, rules)
	b := setup(t, func(*testing.T) storage.Store { return s2 }, rules, change.WithClock(a.clock))
	start := time.Date(2026, 10, 7, 22, 0, 0, 0, time.UTC)
	for round := range 5 {
		db := itil.NewID()
		var ids []itil.ID
		for i := range 2 {
			ch, err := a.svc.Open(a.ctx, requester, change.NewChange{Model: change.ModelEmergency, Title: "Fix " + string(rune('A'+i)),
				AssignmentGroup: "messaging", CIID: itil.NewID(), PlannedStart: start, PlannedEnd: start.Add(time.Hour)})
			require.NoError(t, err)
			a.move(ch.ID, change.MoveAuthorize, "approve:erin", change.MoveSchedule)
			ids = append(ids, ch.ID)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, svc := range []*change.Service{a.svc, b.svc} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cis := []itil.ID{db}
				_, errs[i] = svc.Update(t.Context(), requester, ids[i], change.Patch{CIIDs: &cis})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			var ce *change.ConflictError
			require.ErrorAs(t, err, &ce, "round %d", round)
		}
		assert.Equal(t, 1, ok, "round %d: one change moves onto the CI, the other is refused", round)
		start = start.Add(24 * time.Hour)
	}
}

// testCalendar: the changes overlapping a range, by planned start, with
// filters; the windows in force beside them; bad ranges refused.
func testCalendar(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db, web := itil.NewID(), itil.NewID()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	open := func(title, group string, from time.Time, d time.Duration, ci itil.ID) *change.Change {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: title, AssignmentGroup: group,
			CIID: ci, PlannedStart: from, PlannedEnd: from.Add(d)})
		require.NoError(t, err)
		return ch
	}
	long := open("Migrate the storage", "storage", day.Add(-10*24*time.Hour), 12*24*time.Hour, db) // from 21 Nov to 3 Dec
	a := open("Patch the database", "messaging", day.Add(22*time.Hour), 2*time.Hour, db)
	b := open("Restart the web server", "web", day.Add(3*24*time.Hour), time.Hour, web)
	_ = open("Later", "web", day.Add(40*24*time.Hour), time.Hour, web)
	gone := open("Dropped", "web", day.Add(2*24*time.Hour), time.Hour, web)
	_, err := f.svc.Cancel(f.ctx, requester, gone.ID, "not needed")
	require.NoError(t, err)
	list := func(flt change.CalendarFilter) []string {
		var out []string
		for ch, err := range f.svc.Calendar(f.ctx, flt) {
			require.NoError(t, err)
			out = append(out, ch.Number)
		}
		return out
	}
	week := change.CalendarFilter{From: day, To: day.Add(7 * 24 * time.Hour)}
	assert.Equal(t, []string{long.Number, a.Number, gone.Number, b.Number}, list(week), "by planned start; the long one began before the range; ended ones too")
	active := week
	active.States = []change.State{change.StateNew}
	assert.Equal(t, []string{long.Number, a.Number, b.Number}, list(active))
	onDB := week
	onDB.CIID = db
	assert.Equal(t, []string{long.Number, a.Number}, list(onDB))
	web2 := week
	web2.AssignmentGroups = []string{"web"}
	assert.Equal(t, []string{gone.Number, b.Number}, list(web2))
	moved := day.Add(8 * 24 * time.Hour)
	movedEnd := moved.Add(time.Hour)
	_, err = f.svc.Update(f.ctx, requester, b.ID, change.Patch{PlannedStart: &moved, PlannedEnd: &movedEnd})
	require.NoError(t, err)
	assert.Equal(t, []string{long.Number, a.Number, gone.Number}, list(week), "moved out of the range")

	for _, err := range f.svc.Calendar(f.ctx, change.CalendarFilter{From: day, To: day.AddDate(10, 0, 0), Models: []string{"nope"}}) {
		testkit.RequireFields(t, err, "to", "models[0]")
	}

	freeze := yearEndFreeze()
	sc := f.enforced(freeze)
	windows := func(flt change.CalendarFilter) []change.WindowInForce {
		var out []change.WindowInForce
		for w, err := range f.svc.Windows(f.ctx, flt) {
			require.NoError(t, err)
			out = append(out, w)
		}
		return out
	}
	ws := windows(change.CalendarFilter{From: day, To: day.AddDate(0, 1, 0)})
	if assert.Len(t, ws, 1) {
		assert.Equal(t, sc.ID, ws[0].ScheduleID)
		assert.Equal(t, change.BlackoutSchedule, ws[0].Type)
	}
	assert.Empty(t, windows(change.CalendarFilter{From: day, To: day.AddDate(0, 1, 0), CIID: db}),
		"the freeze covers databases by class; without the CMDB db has none")
	for _, err := range f.svc.Windows(f.ctx, change.CalendarFilter{From: day, To: day}) {
		testkit.RequireFields(t, err, "to")
	}
	// Outside the schedule's years (1910 to 2189): refused, not guessed.
	old := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for _, err := range f.svc.Windows(f.ctx, change.CalendarFilter{From: old, To: old.AddDate(0, 1, 0)}) {
		testkit.RequireFields(t, err, "from", "to")
		n++
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, err := range f.svc.Calendar(f.ctx, change.CalendarFilter{From: far, To: far.AddDate(0, 1, 0)}) {
		testkit.RequireFields(t, err, "from", "to")
		n++
	}
	assert.Equal(t, 2, n, "one error each")
}

// testScheduleReevaluation: enforcing, moving and retiring a freeze judge
// again the changes it covers in its range, and only those.
func testScheduleReevaluation(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db, web := itil.NewID(), itil.NewID()
	open := func(title string, ci itil.ID, from time.Time) *change.Change {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: title, AssignmentGroup: "messaging",
			CIID: ci, PlannedStart: from, PlannedEnd: from.Add(time.Hour)})
		require.NoError(t, err)
		return ch
	}
	inside := open("Patch the database", db, time.Date(2026, 12, 22, 22, 0, 0, 0, time.UTC))
	otherCI := open("Patch the web server", web, time.Date(2026, 12, 22, 22, 0, 0, 0, time.UTC))
	outside := open("Patch the database in March", db, time.Date(2027, 3, 2, 22, 0, 0, 0, time.UTC))
	freeze := yearEndFreeze()
	freeze.Scope = change.Scope{CIs: []itil.ID{db}}
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, freeze)
	require.NoError(t, err)
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	assert.Empty(t, f.get(inside.ID).Conflicts, "approved is not enforced")
	_, err = f.svc.EnforceSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	got := f.get(inside.ID)
	if assert.Len(t, got.Conflicts, 1) {
		assert.Equal(t, change.ConflictBlackout, got.Conflicts[0].Kind)
	}
	hist, err := f.svc.History(f.ctx, inside.ID)
	require.NoError(t, err)
	assert.Contains(t, hist[len(hist)-1].Refs, sc.ID)
	assert.Equal(t, otherCI.Version, f.get(otherCI.ID).Version, "another CI: not touched")
	assert.Equal(t, outside.Version, f.get(outside.ID).Version, "outside the range: not touched")

	// Moved off the change's dates, the freeze no longer conflicts.
	moved := freeze
	moved.Ranges = []change.DateRange{{From: calendar.Date{Year: 2026, Month: 12, Day: 24}, To: calendar.Date{Year: 2027, Month: 1, Day: 3}}}
	_, err = f.svc.UpdateSchedule(f.ctx, changeManager, sc.ID, moved)
	require.NoError(t, err)
	assert.Empty(t, f.get(inside.ID).Conflicts)
	_, err = f.svc.UpdateSchedule(f.ctx, changeManager, sc.ID, freeze)
	require.NoError(t, err)
	assert.Len(t, f.get(inside.ID).Conflicts, 1)
	_, err = f.svc.RetireSchedule(f.ctx, changeManager, sc.ID, "lifted early")
	require.NoError(t, err)
	assert.Empty(t, f.get(inside.ID).Conflicts)
}

// testICalendar: the calendar as an iCalendar stream, read back by the
// same library: one event per change and per window in force.
func testICalendar(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	start := time.Date(2026, 12, 22, 22, 0, 0, 0, time.UTC)
	ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Patch the database; then, reboot", AssignmentGroup: "messaging",
		CIID: itil.NewID(), PlannedStart: start, PlannedEnd: start.Add(90 * time.Minute)})
	require.NoError(t, err)
	f.enforced(yearEndFreeze())
	var b strings.Builder
	require.NoError(t, f.svc.ICalendar(f.ctx, change.CalendarFilter{From: start.AddDate(0, 0, -7), To: start.AddDate(0, 0, 7)}, &b))
	assert.Contains(t, b.String(), "BEGIN:VCALENDAR")
	cal, err := ics.ParseCalendar(strings.NewReader(b.String()))
	require.NoError(t, err)
	evs := cal.Events()
	require.Len(t, evs, 1+10, "the change, and the freeze's days from 20 to 29 December (Paris)")
	byID := map[string]*ics.VEvent{}
	for _, e := range evs {
		byID[e.Id()] = e
	}
	// A day's window is the same event whatever range asks for it.
	var later strings.Builder
	require.NoError(t, f.svc.ICalendar(f.ctx, change.CalendarFilter{From: start.Add(-30 * time.Hour), To: start.AddDate(0, 0, 9)}, &later))
	cal2, err := ics.ParseCalendar(strings.NewReader(later.String()))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, e := range cal2.Events() {
		seen[e.Id()] = true
	}
	shared := 0
	for id := range byID {
		if strings.HasSuffix(id, "@schedule.itil") && seen[id] {
			shared++
		}
	}
	assert.Equal(t, 9, shared, "21 to 29 December in both")
	e := byID[ch.ID.String()+"@change.itil"]
	require.NotNil(t, e)
	assert.Equal(t, ch.Number+" Patch the database; then, reboot", e.GetProperty(ics.ComponentPropertySummary).Value)
	got, err := e.GetStartAt()
	require.NoError(t, err)
	assert.True(t, got.Equal(start))
	got, err = e.GetEndAt()
	require.NoError(t, err)
	assert.True(t, got.Equal(start.Add(90*time.Minute)))
	assert.Equal(t, "TENTATIVE", e.GetProperty(ics.ComponentPropertyStatus).Value)

	var bad strings.Builder
	err = f.svc.ICalendar(f.ctx, change.CalendarFilter{}, &bad)
	testkit.RequireFields(t, err, "from", "to")
	assert.Empty(t, bad.String(), "nothing written")
}

// testNextSlots: the earliest free slots inside the maintenance windows
// of the CIs and free of the other changes on them; for a change, its own
// booking aside; bad requests refused.
func testNextSlots(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	db := itil.NewID()
	maint := sundayMaintenance() // Sundays 01:00–05:00, Paris
	maint.Scope = change.Scope{CIs: []itil.ID{db}}
	f.enforced(maint)
	paris, _ := time.LoadLocation("Europe/Paris")
	sunday := time.Date(2026, 6, 7, 1, 0, 0, 0, paris)
	booked, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Patch", AssignmentGroup: "messaging",
		CIID: db, PlannedStart: sunday, PlannedEnd: sunday.Add(time.Hour)})
	require.NoError(t, err)

	got, err := f.svc.NextSlots(f.ctx, change.SlotRequest{CIIDs: []itil.ID{db}, Duration: 2 * time.Hour,
		NotBefore: time.Date(2026, 6, 1, 9, 0, 0, 0, paris), Count: 2})
	require.NoError(t, err)
	if assert.Len(t, got, 2) {
		assert.True(t, got[0].Start.Equal(sunday.Add(time.Hour)) && got[0].End.Equal(sunday.Add(4*time.Hour)), "after the booked hour, to the window's end: %v", got[0])
		next := time.Date(2026, 6, 14, 1, 0, 0, 0, paris)
		assert.True(t, got[1].Start.Equal(next) && got[1].End.Equal(next.Add(4*time.Hour)), "%v", got[1])
	}
	// For the booked change itself, its own hour is free.
	got, err = f.svc.NextSlots(f.ctx, change.SlotRequest{ChangeID: booked.ID, NotBefore: time.Date(2026, 6, 1, 9, 0, 0, 0, paris), Count: 1})
	require.NoError(t, err)
	if assert.Len(t, got, 1) {
		assert.True(t, got[0].Start.Equal(sunday), "%v", got[0])
	}

	_, err = f.svc.NextSlots(f.ctx, change.SlotRequest{})
	testkit.RequireFields(t, err, "ci_ids", "duration")
	_, err = f.svc.NextSlots(f.ctx, change.SlotRequest{CIIDs: []itil.ID{db}, Duration: -time.Hour, Within: 10 * 365 * 24 * time.Hour, Count: 101})
	testkit.RequireFields(t, err, "duration", "within", "count")
	_, err = f.svc.NextSlots(f.ctx, change.SlotRequest{ChangeID: booked.ID, CIIDs: []itil.ID{db}})
	testkit.RequireFields(t, err, "change_id")
	_, err = f.svc.NextSlots(f.ctx, change.SlotRequest{ChangeID: itil.NewID()})
	require.ErrorIs(t, err, itil.ErrNotFound)
}

// testFloatingWindows: a floating maintenance window is read in the zone
// of each CI's location (its time_zone attribute).
func testFloatingWindows(t *testing.T, newStore func(*testing.T) storage.Store) {
	store := newStore(t)
	cm, err := cmdb.New(store)
	require.NoError(t, err)
	ctx := t.Context()
	tokyo, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassLocation, Name: "Tokyo DC",
		Attributes: map[string]string{"time_zone": "Asia/Tokyo"}})
	require.NoError(t, err)
	srv, err := cm.CreateCI(ctx, requester, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "tyo-01",
		Attributes: map[string]string{"serial_number": "T1"}, LocationID: tokyo.ID})
	require.NoError(t, err)
	f := setup(t, func(*testing.T) storage.Store { return store }, change.WithCMDB(cm))
	var week calendar.Week
	for d := range 7 {
		week[d] = []calendar.Window{calendar.Hours(1, 0, 5, 0)}
	}
	sc, err := f.svc.CreateSchedule(f.ctx, changeManager, change.ScheduleSpec{Name: "Nights, local time", Type: change.MaintenanceSchedule,
		Floating: true, Windows: calendar.Spec{Zone: "Europe/Paris", Week: week}, Scope: change.Scope{Classes: []string{cmdb.ClassServer}}})
	require.NoError(t, err)
	_, err = f.svc.ApproveSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	_, err = f.svc.EnforceSchedule(f.ctx, changeManager, sc.ID)
	require.NoError(t, err)
	tz, _ := time.LoadLocation("Asia/Tokyo")
	paris, _ := time.LoadLocation("Europe/Paris")
	open := func(at time.Time) []change.Conflict {
		ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "Patch tyo-01", AssignmentGroup: "messaging",
			CIID: srv.ID, PlannedStart: at, PlannedEnd: at.Add(time.Hour)})
		require.NoError(t, err)
		return ch.Conflicts
	}
	assert.Empty(t, open(time.Date(2026, 6, 3, 2, 0, 0, 0, tz)), "02:00 in Tokyo: inside its night")
	got := open(time.Date(2026, 6, 10, 2, 0, 0, 0, paris))
	if assert.Len(t, got, 1, "02:00 in Paris is 09:00 in Tokyo") {
		assert.Equal(t, change.ConflictOutsideMaintenanceWindow, got[0].Kind)
	}
}

// testBasicMode: in basic mode conflicts are one-sided (a change lists
// another whose CIs hold its primary CI, not the other way round), and
// moving the other change still clears them.
func testBasicMode(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore, change.WithConflictDetection(change.ConflictDetection{Basic: true}))
	x, z := itil.NewID(), itil.NewID()
	start := time.Date(2026, 9, 16, 21, 0, 0, 0, time.UTC)
	a, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "A on x and z", CIID: x, CIIDs: []itil.ID{z},
		PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour)})
	require.NoError(t, err)
	b, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "B on z", CIID: z,
		PlannedStart: start.Add(time.Hour), PlannedEnd: start.Add(3 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, b.Conflicts, 1, "B's primary CI is in A")
	assert.Empty(t, f.get(a.ID).Conflicts, "A's primary CI is in no other change")
	later, laterEnd := start.Add(10*time.Hour), start.Add(12*time.Hour)
	_, err = f.svc.Update(f.ctx, requester, a.ID, change.Patch{PlannedStart: &later, PlannedEnd: &laterEnd})
	require.NoError(t, err)
	assert.Empty(t, f.get(b.ID).Conflicts, "A moved away: B was judged again though A did not list it")
}

// testTwoInstanceScheduleRace: a freeze enforced on one instance while a
// change moves into it on the other: whichever commits first, the change
// ends with the conflicts a fresh check finds.
func testTwoInstanceScheduleRace(t *testing.T, instances storagetest.Instances) {
	s1, s2 := instances(t)
	a := setup(t, func(*testing.T) storage.Store { return s1 })
	b := setup(t, func(*testing.T) storage.Store { return s2 }, change.WithClock(a.clock))
	for round := range 8 {
		db := itil.NewID()
		freeze := yearEndFreeze()
		freeze.Scope = change.Scope{CIs: []itil.ID{db}}
		sc, err := a.svc.CreateSchedule(a.ctx, changeManager, freeze)
		require.NoError(t, err)
		_, err = a.svc.ApproveSchedule(a.ctx, changeManager, sc.ID)
		require.NoError(t, err)
		march := time.Date(2027, 3, 2, 22, 0, 0, 0, time.UTC)
		ch, err := b.svc.Open(b.ctx, requester, change.NewChange{Title: "Patch", CIID: db, PlannedStart: march, PlannedEnd: march.Add(time.Hour)})
		require.NoError(t, err)
		into, intoEnd := time.Date(2026, 12, 22, 22, 0, 0, 0, time.UTC), time.Date(2026, 12, 22, 23, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[0] = a.svc.EnforceSchedule(t.Context(), changeManager, sc.ID)
		}()
		go func() {
			defer wg.Done()
			_, errs[1] = b.svc.Update(t.Context(), requester, ch.ID, change.Patch{PlannedStart: &into, PlannedEnd: &intoEnd})
		}()
		wg.Wait()
		require.NoError(t, errs[0], "round %d", round)
		require.NoError(t, errs[1], "round %d", round)
		fresh, err := a.svc.Conflicts(a.ctx, ch.ID)
		require.NoError(t, err)
		assert.Len(t, fresh, 1, "round %d: inside the freeze", round)
		assert.Len(t, a.get(ch.ID).Conflicts, len(fresh), "round %d: kept as a fresh check finds", round)
	}
}
