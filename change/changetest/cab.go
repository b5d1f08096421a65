package changetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

var cabManager = itil.Actor{ID: "carla", Name: "Carla CAB Manager"}

// cabBoard is a board that meets on Tuesdays and Thursdays at 10:00 in
// Paris for an hour, with a rolling window of a week and the agenda
// condition normal changes in Authorize of impact 2 or higher (impact
// rather than risk, so that a test sets it directly).
func cabBoard() change.NewBoard {
	return change.NewBoard{
		Name: "Weekly CAB", Manager: cabManager.ID, Delegates: []string{"dave"}, Members: []string{"mia", "nils"},
		Groups: []string{"network", "security"},
		Recurrence: change.Recurrence{Zone: "Europe/Paris", Weekdays: []time.Weekday{time.Tuesday, time.Thursday},
			Start: calendar.At(10, 0), Duration: time.Hour},
		Window: 7 * 24 * time.Hour,
		Agenda: change.Condition{All: []change.Condition{
			{Field: "model", Op: change.OpEq, Value: change.ModelNormal},
			{Field: "state", Op: change.OpEq, Value: string(change.StateAuthorize)},
			{Field: "impact", Op: change.OpLte, Value: 2},
		}},
	}
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func (f *fixture) board(in change.NewBoard) *change.Board {
	f.t.Helper()
	b, err := f.svc.CreateBoard(f.ctx, cabManager, in)
	require.NoError(f.t, err)
	return b
}

func (f *fixture) schedule(b *change.Board, from, to time.Time) []*change.Meeting {
	f.t.Helper()
	ms, err := f.svc.ScheduleMeetings(f.ctx, cabManager, b.ID, from, to)
	require.NoError(f.t, err)
	return ms
}

func starts(ms []*change.Meeting) []time.Time {
	out := make([]time.Time, len(ms))
	for i, m := range ms {
		out[i] = m.Start
	}
	return out
}

func numbers(m *change.Meeting) []string {
	out := make([]string, len(m.Items))
	for i, it := range m.Items {
		out[i] = it.Number
	}
	return out
}

// plannedChange opens a change of model with impact, planned to start at
// start for two hours, and makes the moves.
func (f *fixture) plannedChange(model string, impact itil.Impact, start time.Time, moves ...string) *change.Change {
	f.t.Helper()
	ch, err := f.svc.Open(f.ctx, requester, change.NewChange{Model: model, Title: "Change planned " + start.Format(time.RFC3339),
		Impact: impact, AssignmentGroup: "network", PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour)})
	require.NoError(f.t, err)
	for _, m := range moves {
		ch = f.move(ch.ID, m)
		if m == change.MoveAssess {
			ch = f.move(ch.ID, "approve:nia") // the network group's approval
		}
	}
	return ch
}

func (f *fixture) get(id itil.ID) *change.Change {
	f.t.Helper()
	ch, err := f.svc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return ch
}

// testCAB: boards, meetings on a recurrence with holidays, agendas built
// by condition and rolling window, CAB dates, minutes and decisions, and
// refusals that write nothing.
func testCAB(t *testing.T, instances storagetest.Instances) {
	newStore := func(t *testing.T) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("Recurrence", func(t *testing.T) { testCABRecurrence(t, newStore) })
	t.Run("TwoInstances", func(t *testing.T) { testCABTwoInstances(t, instances) })
	t.Run("Agenda", func(t *testing.T) { testCABAgenda(t, newStore) })
	t.Run("Refusals", func(t *testing.T) { testCABRefusals(t, newStore) })
	t.Run("Decides", func(t *testing.T) { testCABDecides(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { testCABAuthorizer(t, newStore) })
}

// testCABRecurrence: meetings fall on the recurrence's days at its wall
// clock time across a daylight-saving change; a holiday of the board's
// calendar (listed, or national) skips its meeting; scheduling again
// creates nothing.
func testCABRecurrence(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	in := cabBoard()
	in.Holidays = calendar.Spec{Country: "FR", Holidays: []calendar.Holiday{{Date: calendar.Date{Year: 2026, Month: time.March, Day: 5}, Name: "Board retreat"}}}
	b := f.board(in)
	got, err := f.svc.GetBoard(f.ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, b, got, "the board as created reads back the same")

	// Paris leaves CET (UTC+1) for CEST (UTC+2) on 29 March 2026.
	ms := f.schedule(b, utc(2026, 3, 2, 0, 0), utc(2026, 4, 3, 0, 0))
	want := []time.Time{
		utc(2026, 3, 3, 9, 0), // Thursday 5 March is the board's holiday
		utc(2026, 3, 10, 9, 0), utc(2026, 3, 12, 9, 0),
		utc(2026, 3, 17, 9, 0), utc(2026, 3, 19, 9, 0),
		utc(2026, 3, 24, 9, 0), utc(2026, 3, 26, 9, 0),
		utc(2026, 3, 31, 8, 0), utc(2026, 4, 2, 8, 0), // 10:00 CEST
	}
	assert.Equal(t, want, starts(ms))
	for _, m := range ms {
		assert.Equal(t, change.MeetingPending, m.State)
		assert.Equal(t, b.ID, m.BoardID)
		assert.Equal(t, time.Hour, m.End.Sub(m.Start))
		assert.Equal(t, change.MeetingID(b.ID, m.Start), m.ID)
	}
	// Fridays 1 and 8 May are national holidays in France.
	b, err = f.svc.UpdateBoard(f.ctx, cabManager, b.ID, change.BoardPatch{Recurrence: &change.Recurrence{
		Zone: "Europe/Paris", Weekdays: []time.Weekday{time.Friday}, Start: calendar.At(10, 0), Duration: time.Hour}})
	require.NoError(t, err)
	may := f.schedule(b, utc(2026, 4, 27, 0, 0), utc(2026, 5, 18, 0, 0))
	assert.Equal(t, []time.Time{utc(2026, 5, 15, 8, 0)}, starts(may), "1 and 8 May skipped")

	n := testkit.JournalLen(t, f.store)
	again := f.schedule(b, utc(2026, 4, 27, 0, 0), utc(2026, 5, 18, 0, 0))
	assert.Equal(t, may, again)
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "scheduling again writes nothing")

	var listed []time.Time
	for m, err := range f.svc.Meetings(f.ctx, change.MeetingFilter{BoardID: b.ID, From: utc(2026, 3, 20, 0, 0), To: utc(2026, 4, 1, 0, 0)}) {
		require.NoError(t, err)
		listed = append(listed, m.Start)
	}
	assert.Equal(t, want[5:8], listed)
	page := testkit.AllPages(t, func(token string) ([]*change.Meeting, string, error) {
		return f.svc.MeetingsPage(f.ctx, change.MeetingFilter{BoardID: b.ID}, 4, token)
	})
	assert.Equal(t, append(slices.Clone(want), starts(may)...), starts(page))
}

// testCABTwoInstances: two Services on one store schedule the same
// meetings at once; each meeting is created once and both see all.
func testCABTwoInstances(t *testing.T, instances storagetest.Instances) {
	first, second := instances(t)
	clock := testkit.NewClock()
	ctx := t.Context()
	s1, err := change.New(first, change.WithClock(clock))
	require.NoError(t, err)
	s2, err := change.New(second, change.WithClock(clock))
	require.NoError(t, err)
	b, err := s1.CreateBoard(ctx, cabManager, cabBoard())
	require.NoError(t, err)
	from := utc(2026, 3, 2, 0, 0)
	for round := range 4 {
		// Overlapping ranges: each round adds two weeks and repeats one.
		lo, hi := from.AddDate(0, 0, 7*round), from.AddDate(0, 0, 7*round+14)
		var res [2][]*change.Meeting
		var errs [2]error
		var wg sync.WaitGroup
		for i, svc := range []*change.Service{s1, s2} {
			wg.Go(func() { res[i], errs[i] = svc.ScheduleMeetings(ctx, cabManager, b.ID, lo, hi) })
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		require.Len(t, res[0], 4)
		for i := range res[0] {
			assert.Equal(t, res[0][i].ID, res[1][i].ID)
		}
	}
	const total = 10 // five weeks, two meetings each
	n := 0
	for m, err := range s2.Meetings(ctx, change.MeetingFilter{BoardID: b.ID}) {
		require.NoError(t, err)
		assert.Equal(t, int64(1), m.Version, "created once, never rewritten")
		n++
	}
	assert.Equal(t, total, n)
	scheduled := 0
	require.NoError(t, first.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			if err != nil {
				return err
			}
			if ev.Type == change.EventMeetingScheduled {
				scheduled++
			}
		}
		return nil
	}))
	assert.Equal(t, total, scheduled, "one creation event per meeting")
}

// testCABAgenda: BuildAgenda takes the changes that meet the condition
// within the rolling window, once; their CAB date is set with them;
// minutes and decisions are recorded and show in the change's history;
// undecided items are deferred and come back; canceling a meeting moves
// or clears the CAB dates that named it.
func testCABAgenda(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	b := f.board(cabBoard())
	ms := f.schedule(b, utc(2026, 3, 9, 0, 0), utc(2026, 3, 18, 0, 0))
	require.Len(t, ms, 3)
	m1, m2, m3 := ms[0], ms[1], ms[2] // Tue 10, Thu 12, Tue 17 March, 09:00 UTC
	require.Equal(t, utc(2026, 3, 10, 9, 0), m1.Start)

	auth := []string{change.MoveAssess, change.MoveAuthorize}
	g := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 11, 8, 0), auth...)
	a := f.plannedChange(change.ModelNormal, 1, utc(2026, 3, 11, 12, 0), auth...)
	h := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 13, 8, 0), auth...)
	i := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 13, 12, 0), auth...)
	low := f.plannedChange(change.ModelNormal, 3, utc(2026, 3, 11, 8, 0), auth...)                 // impact too low
	late := f.plannedChange(change.ModelNormal, 1, utc(2026, 3, 20, 8, 0), auth...)                // beyond the window
	early := f.plannedChange(change.ModelNormal, 1, utc(2026, 3, 9, 8, 0), auth...)                // before the meeting
	assessing := f.plannedChange(change.ModelNormal, 1, utc(2026, 3, 11, 8, 0), auth[0])           // not in Authorize
	urgent := f.plannedChange(change.ModelEmergency, 1, utc(2026, 3, 11, 8, 0), auth[1])           // not normal
	unplanned, err := f.svc.Open(f.ctx, requester, change.NewChange{Title: "No dates", Impact: 1}) // never matches the window
	require.NoError(t, err)
	_ = []*change.Change{low, early, assessing, urgent, unplanned}

	m1, err = f.svc.BuildAgenda(f.ctx, cabManager, m1.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{g.Number, a.Number, h.Number, i.Number}, numbers(m1), "by planned start")
	for k, it := range m1.Items {
		assert.Equal(t, k+1, it.Order)
		assert.Equal(t, change.DecisionNone, it.Decision)
		ch := f.get(it.ChangeID)
		assert.True(t, ch.CABRequired)
		assert.Equal(t, m1.Start, ch.CABDate, "the CAB date is the meeting's start")
	}
	assert.True(t, f.get(low.ID).CABDate.IsZero())
	hist, err := f.svc.History(f.ctx, g.ID)
	require.NoError(t, err)
	last := ofType(t, hist, change.EventCABScheduled)
	assert.Equal(t, change.Kind, last.Kind)
	assert.Equal(t, g.ID, last.SubjectID)
	assert.Contains(t, last.Refs, m1.ID)

	n := testkit.JournalLen(t, f.store)
	again, err := f.svc.BuildAgenda(f.ctx, cabManager, m1.ID)
	require.NoError(t, err)
	assert.Equal(t, m1, again)
	_, err = f.svc.BuildAgenda(f.ctx, cabManager, m2.ID)
	require.NoError(t, err)
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "h and i wait for m1, which is still to be held: nothing written")

	// The meeting: minutes and decisions, then completion.
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m1.ID, g.ID, "too early", change.DecisionApproved)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "the meeting has not started")
	_, err = f.svc.StartMeeting(f.ctx, cabManager, m1.ID)
	require.NoError(t, err)
	_, err = f.svc.SetAttendees(f.ctx, cabManager, m1.ID, []string{"carla", "mia", "nils"})
	require.NoError(t, err)
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.RecordMinutes(f.ctx, itil.Actor{ID: "mia", Name: "Mia"}, m1.ID, g.ID, "I approve", change.DecisionApproved)
	require.ErrorIs(t, err, itil.ErrForbidden, "a member decides nothing alone")
	assert.Equal(t, n, testkit.JournalLen(t, f.store))
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m1.ID, g.ID, "Risk understood; backout tested.", change.DecisionApproved)
	require.NoError(t, err)
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m1.ID, a.ID, "No backout plan.", change.DecisionRejected)
	require.NoError(t, err)
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m1.ID, i.ID, "", change.DecisionApproved)
	require.NoError(t, err)
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m1.ID, h.ID, "Vendor to confirm the firmware.", change.DecisionNone)
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	m1, err = f.svc.CompleteMeeting(f.ctx, cabManager, m1.ID)
	require.NoError(t, err)
	assert.Equal(t, change.MeetingComplete, m1.State)
	assert.Equal(t, []string{"carla", "mia", "nils"}, m1.Attendees)
	decisions := map[string]change.Decision{}
	for _, it := range m1.Items {
		decisions[it.Number] = it.Decision
		assert.Equal(t, cabManager, it.DecidedBy)
	}
	assert.Equal(t, map[string]change.Decision{g.Number: change.DecisionApproved, a.Number: change.DecisionRejected,
		h.Number: change.DecisionDeferred, i.Number: change.DecisionApproved}, decisions)
	assert.Equal(t, "Vendor to confirm the firmware.", m1.Items[2].Minutes)

	// The decision is on the change, naming the meeting, and in the
	// meeting's journal, naming the change.
	hist, err = f.svc.History(f.ctx, g.ID)
	require.NoError(t, err)
	var decided []itil.HistoryEntry
	for _, e := range hist {
		if e.Type == change.EventCABDecision {
			decided = append(decided, e)
		}
	}
	require.Len(t, decided, 2)
	assert.Equal(t, change.Kind, decided[0].Kind)
	assert.Equal(t, g.ID, decided[0].SubjectID)
	assert.Contains(t, decided[0].Refs, m1.ID)
	assert.Equal(t, change.KindMeeting, decided[1].Kind)
	assert.Equal(t, m1.ID, decided[1].SubjectID)
	assert.Contains(t, decided[1].Refs, g.ID)
	assert.Equal(t, "CAB decision on "+g.Number+": approved", decided[1].Payload.Summary)
	gotG := f.get(g.ID)
	assert.Equal(t, change.DecisionApproved, gotG.CABDecision)
	assert.Equal(t, m1.ID, gotG.CABMeetingID)
	reviews, err := f.svc.CABReviews(f.ctx, g.ID)
	require.NoError(t, err)
	require.Len(t, reviews, 1)
	assert.Equal(t, change.DecisionApproved, reviews[0].Decision)
	assert.Equal(t, m1.ID, reviews[0].MeetingID)
	assert.Equal(t, change.MeetingComplete, reviews[0].MeetingState)
	assert.Equal(t, "Risk understood; backout tested.", reviews[0].Minutes)

	// The deferred change comes back on the next agenda; the approved one
	// does not.
	m2, err = f.svc.BuildAgenda(f.ctx, cabManager, m2.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{h.Number}, numbers(m2))
	assert.Equal(t, m2.Start, f.get(h.ID).CABDate)

	// By hand: any change that has not ended, whatever the condition.
	m2, err = f.svc.AddToAgenda(f.ctx, cabManager, m2.ID, low.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{h.Number, low.Number}, numbers(m2))
	assert.Equal(t, m2.Start, f.get(low.ID).CABDate)
	m2, err = f.svc.RemoveFromAgenda(f.ctx, cabManager, m2.ID, low.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{h.Number}, numbers(m2))
	assert.True(t, f.get(low.ID).CABDate.IsZero(), "cleared: on no other agenda")
	assert.True(t, f.get(low.ID).CABRequired, "still needs a board")

	// The CAB date is that of the earliest meeting still to be held:
	// canceling m2 moves late's to m3, and clears h's.
	_, err = f.svc.AddToAgenda(f.ctx, cabManager, m3.ID, late.ID)
	require.NoError(t, err)
	assert.Equal(t, m3.Start, f.get(late.ID).CABDate)
	_, err = f.svc.AddToAgenda(f.ctx, cabManager, m2.ID, late.ID)
	require.NoError(t, err)
	assert.Equal(t, m2.Start, f.get(late.ID).CABDate, "m2 comes first")
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.RemoveFromAgenda(f.ctx, cabManager, m3.ID, late.ID)
	require.NoError(t, err)
	assert.Equal(t, n+1, testkit.JournalLen(t, f.store), "the meeting only: the CAB date names m2")
	_, err = f.svc.AddToAgenda(f.ctx, cabManager, m3.ID, late.ID)
	require.NoError(t, err)
	assert.Equal(t, m2.Start, f.get(late.ID).CABDate, "still m2")
	m2, err = f.svc.CancelMeeting(f.ctx, cabManager, m2.ID, "the board's quorum is at a conference")
	require.NoError(t, err)
	assert.Equal(t, change.MeetingCanceled, m2.State)
	assert.Equal(t, m3.Start, f.get(late.ID).CABDate)
	assert.True(t, f.get(h.ID).CABDate.IsZero())
	hist, err = f.svc.History(f.ctx, h.ID)
	require.NoError(t, err)
	last = ofType(t, hist, change.EventCABUnscheduled)
	assert.Equal(t, h.ID, last.SubjectID)
	assert.Contains(t, last.Refs, m2.ID)

	// An ended meeting's agenda and an ended change are not changed.
	_, err = f.svc.AddToAgenda(f.ctx, cabManager, m2.ID, low.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.Cancel(f.ctx, requester, low.ID, "withdrawn")
	require.NoError(t, err)
	_, err = f.svc.AddToAgenda(f.ctx, cabManager, m3.ID, low.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
}

// testCABRefusals: bad input, unknown IDs and wrong states are refused
// with typed errors, and nothing is written.
func testCABRefusals(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	n := testkit.JournalLen(t, f.store)
	bad := cabBoard()
	bad.Name, bad.Manager = " ", ""
	bad.Members = []string{"mia", "mia"}
	bad.Recurrence = change.Recurrence{Zone: "Mars/Olympus", Weekdays: []time.Weekday{9, time.Monday, time.Monday},
		Start: calendar.At(24, 0), Duration: 0}
	bad.Window = -time.Hour
	bad.Agenda = change.Condition{Field: "colour", Op: change.OpEq, Value: "red"}
	_, err := f.svc.CreateBoard(f.ctx, cabManager, bad)
	testkit.RequireFields(t, err, "name", "manager", "members[1]", "recurrence.zone", "recurrence.weekdays[0]",
		"recurrence.weekdays[2]", "recurrence.start", "recurrence.duration", "window", "agenda.field")
	bad = cabBoard()
	bad.Holidays = calendar.Spec{Country: "XX", Holidays: []calendar.Holiday{{Date: calendar.Date{Year: 2026, Month: 2, Day: 30}}}}
	_, err = f.svc.CreateBoard(f.ctx, cabManager, bad)
	testkit.RequireFields(t, err, "holidays.country", "holidays.holidays[0].date")
	_, err = f.svc.CreateBoard(f.ctx, itil.Actor{}, cabBoard())
	testkit.RequireInvalid(t, err, "actor.id")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "no board written")

	b := f.board(cabBoard())
	ms := f.schedule(b, utc(2026, 3, 9, 0, 0), utc(2026, 3, 11, 0, 0))
	require.Len(t, ms, 1)
	m := ms[0]
	ch := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 11, 8, 0), change.MoveAssess, change.MoveAuthorize)
	other := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 11, 8, 0))
	_, err = f.svc.AddToAgenda(f.ctx, cabManager, m.ID, ch.ID)
	require.NoError(t, err)
	n = testkit.JournalLen(t, f.store)

	refusals := []struct {
		name string
		run  func() error
		want func(t *testing.T, err error)
	}{
		{"board patch alters nothing", func() error {
			_, err := f.svc.UpdateBoard(f.ctx, cabManager, b.ID, change.BoardPatch{Name: &b.Name})
			return err
		}, fields("patch")},
		{"bad board patch", func() error {
			zero, blank := time.Duration(0), ""
			_, err := f.svc.UpdateBoard(f.ctx, cabManager, b.ID, change.BoardPatch{Window: &zero, Manager: &blank,
				Agenda: &change.Condition{Field: "risk", Op: change.OpGte, Value: "catastrophic"}})
			return err
		}, fields("window", "manager", "agenda.value")},
		{"unknown board", func() error {
			_, err := f.svc.UpdateBoard(f.ctx, cabManager, itil.NewID(), change.BoardPatch{Name: &b.Name})
			return err
		}, is(itil.ErrNotFound)},
		{"range backwards", func() error {
			_, err := f.svc.ScheduleMeetings(f.ctx, cabManager, b.ID, utc(2026, 4, 1, 0, 0), utc(2026, 3, 1, 0, 0))
			return err
		}, fields("to")},
		{"range too long", func() error {
			_, err := f.svc.ScheduleMeetings(f.ctx, cabManager, b.ID, utc(2026, 1, 1, 0, 0), utc(2028, 1, 1, 0, 0))
			return err
		}, fields("to")},
		{"range out of storage", func() error {
			_, err := f.svc.ScheduleMeetings(f.ctx, cabManager, b.ID, testkit.BadTimes[0].At, testkit.BadTimes[0].At.Add(time.Hour))
			return err
		}, fields("from", "to")},
		{"schedule for an unknown board", func() error {
			_, err := f.svc.ScheduleMeetings(f.ctx, cabManager, itil.NewID(), utc(2026, 3, 1, 0, 0), utc(2026, 4, 1, 0, 0))
			return err
		}, is(itil.ErrNotFound)},
		{"unknown meeting", func() error { _, err := f.svc.BuildAgenda(f.ctx, cabManager, itil.NewID()); return err }, is(itil.ErrNotFound)},
		{"unknown change", func() error { _, err := f.svc.AddToAgenda(f.ctx, cabManager, m.ID, itil.NewID()); return err }, is(itil.ErrNotFound)},
		{"nil change", func() error { _, err := f.svc.AddToAgenda(f.ctx, cabManager, m.ID, itil.NilID); return err }, fields("change_id")},
		{"on the agenda already", func() error { _, err := f.svc.AddToAgenda(f.ctx, cabManager, m.ID, ch.ID); return err }, fields("change_id")},
		{"remove what is not on the agenda", func() error {
			_, err := f.svc.RemoveFromAgenda(f.ctx, cabManager, m.ID, other.ID)
			return err
		}, fields("change_id")},
		{"complete a pending meeting", func() error { _, err := f.svc.CompleteMeeting(f.ctx, cabManager, m.ID); return err }, is(itil.ErrInvalidTransition)},
		{"minutes before the meeting", func() error {
			_, err := f.svc.RecordMinutes(f.ctx, cabManager, m.ID, ch.ID, "x", change.DecisionApproved)
			return err
		}, is(itil.ErrInvalidTransition)},
		{"bad minutes", func() error {
			_, err := f.svc.RecordMinutes(f.ctx, cabManager, m.ID, itil.NilID, "\x00", "maybe")
			return err
		}, fields("change_id", "minutes", "decision")},
		{"cancel without a reason", func() error { _, err := f.svc.CancelMeeting(f.ctx, cabManager, m.ID, " "); return err }, fields("reason")},
		{"bad attendees", func() error {
			_, err := f.svc.SetAttendees(f.ctx, cabManager, m.ID, []string{"mia", "", "mia"})
			return err
		}, fields("attendees[1]", "attendees[2]")},
		{"bad meeting filter", func() error {
			for _, err := range f.svc.Meetings(f.ctx, change.MeetingFilter{States: []change.MeetingState{"adjourned"},
				From: utc(2026, 4, 1, 0, 0), To: utc(2026, 3, 1, 0, 0)}) {
				return err
			}
			return nil
		}, fields("states[0]", "to")},
		{"unknown meeting read", func() error { _, err := f.svc.GetMeeting(f.ctx, itil.NewID()); return err }, is(itil.ErrNotFound)},
		{"unknown board read", func() error { _, err := f.svc.GetBoard(f.ctx, itil.NewID()); return err }, is(itil.ErrNotFound)},
		{"reviews of an unknown change", func() error { _, err := f.svc.CABReviews(f.ctx, itil.NewID()); return err }, is(itil.ErrNotFound)},
		{"the change's authorizer refuses", func() error {
			guarded, err := change.New(f.store, change.WithClock(f.clock), change.WithAuthorizer(
				func(_ context.Context, actor itil.Actor, command string, _ *change.Change) error {
					if command == change.CommandAddToAgenda && actor.ID != cabManager.ID {
						return itil.ErrForbidden
					}
					return nil
				}))
			require.NoError(t, err)
			_, err = guarded.AddToAgenda(f.ctx, requester, m.ID, other.ID)
			return err
		}, is(itil.ErrForbidden)},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			r.want(t, r.run())
			assert.Equal(t, n, testkit.JournalLen(t, f.store), "nothing written")
		})
	}

	// In progress: a decision on a change not on the agenda, a second
	// start, and a repeated record are refused too.
	_, err = f.svc.StartMeeting(f.ctx, cabManager, m.ID)
	require.NoError(t, err)
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, ch.ID, "Approved as planned.", change.DecisionApproved)
	require.NoError(t, err)
	n = testkit.JournalLen(t, f.store)
	_, err = f.svc.StartMeeting(f.ctx, cabManager, m.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, other.ID, "", change.DecisionApproved)
	testkit.RequireFields(t, err, "change_id")
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, ch.ID, "Approved as planned.", change.DecisionApproved)
	testkit.RequireFields(t, err, "minutes")
	_, err = f.svc.RemoveFromAgenda(f.ctx, cabManager, m.ID, ch.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition, "its decision is on record")
	assert.Equal(t, n, testkit.JournalLen(t, f.store), "nothing written")
}

func fields(names ...string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) { t.Helper(); testkit.RequireFields(t, err, names...) }
}

func is(target error) func(t *testing.T, err error) {
	return func(t *testing.T, err error) { t.Helper(); require.ErrorIs(t, err, target) }
}

// ofType returns the last history entry of the event type.
func ofType(t *testing.T, h []itil.HistoryEntry, typ string) itil.HistoryEntry {
	t.Helper()
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Type == typ {
			return h[i]
		}
	}
	require.FailNow(t, "no "+typ+" event")
	return itil.HistoryEntry{}
}

// testCABDecides: the board's decision decides the requests its groups
// were asked in the change's round: approved, the change moves on;
// rejected, it returns to New.
func testCABDecides(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	in := cabBoard()
	in.Groups, in.Delegates = []string{change.GroupCAB}, []string{"dave", requester.ID}
	b := f.board(in)
	ms := f.schedule(b, utc(2026, 3, 9, 0, 0), utc(2026, 3, 13, 0, 0))
	require.Len(t, ms, 2) // Tuesday 10 and Thursday 12 March
	auth := []string{change.MoveAssess, change.MoveAuthorize}
	yes := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 11, 8, 0), auth...)
	no := f.plannedChange(change.ModelNormal, 2, utc(2026, 3, 13, 12, 0), auth...)
	require.Equal(t, change.StateAuthorize, yes.State)
	require.Equal(t, change.VerdictWaiting, yes.Approval.Verdict, "the CAB is asked: risk moderate")
	m, err := f.svc.BuildAgenda(f.ctx, cabManager, ms[0].ID)
	require.NoError(t, err)
	require.Equal(t, []string{yes.Number, no.Number}, numbers(m))
	_, err = f.svc.StartMeeting(f.ctx, cabManager, m.ID)
	require.NoError(t, err)

	n := testkit.JournalLen(t, f.store)
	_, err = f.svc.RecordMinutes(f.ctx, requester, m.ID, yes.ID, "", change.DecisionApproved)
	require.ErrorIs(t, err, itil.ErrForbidden, "a delegate who requested the change does not decide it")
	assert.Equal(t, n, testkit.JournalLen(t, f.store))

	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, yes.ID, "Go.", change.DecisionApproved)
	require.NoError(t, err)
	got := f.get(yes.ID)
	assert.Equal(t, change.VerdictAccepted, got.Approval.Verdict)
	assert.Equal(t, change.StateAuthorize, got.State)
	recs, err := f.svc.Approvals(f.ctx, yes.ID)
	require.NoError(t, err)
	var byBoard int
	for _, a := range recs {
		if a.Round == got.Approval.Round && a.State == change.ApprovalApproved {
			assert.Equal(t, m.ID, a.MeetingID, "recorded as the board's decision")
			assert.Empty(t, a.Delegate)
			assert.Contains(t, a.Comment, "Weekly CAB")
			byBoard++
		}
	}
	assert.Positive(t, byBoard)
	f.move(yes.ID, change.MoveSchedule)

	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, no.ID, "Not this week.", change.DecisionRejected)
	require.NoError(t, err)
	got = f.get(no.ID)
	assert.Equal(t, change.StateNew, got.State, "a rejection returns the change to New")
	assert.Equal(t, change.DecisionRejected, got.CABDecision)
	recs, err = f.svc.Approvals(f.ctx, no.ID)
	require.NoError(t, err)
	for _, a := range recs {
		assert.NotEqual(t, change.ApprovalRequested, a.State, "nothing left open")
	}

	// The board's decision stands: the approvals followed it.
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, no.ID, "On second thoughts.", change.DecisionApproved)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.RecordMinutes(f.ctx, cabManager, m.ID, no.ID, "Not this week; backout untested.", change.DecisionRejected)
	require.NoError(t, err, "the minutes may still be edited")
	_, err = f.svc.CompleteMeeting(f.ctx, cabManager, m.ID)
	require.NoError(t, err)

	// Resubmitted, the change waits for the CAB in a new round, and the
	// next meeting reviews it again.
	back := f.move(no.ID, change.MoveAssess, "approve:nia", change.MoveAuthorize)
	assert.Equal(t, change.VerdictWaiting, back.Approval.Verdict)
	assert.Empty(t, back.CABDecision, "the earlier round's decision is not this round's")
	m2, err := f.svc.BuildAgenda(f.ctx, cabManager, ms[1].ID)
	require.NoError(t, err)
	assert.Equal(t, []string{no.Number}, numbers(m2))
}

// testCABAuthorizer: the Service's Authorizer is asked for every board and
// meeting command, with the zero Change; a refusal writes nothing.
func testCABAuthorizer(t *testing.T, newStore func(*testing.T) storage.Store) {
	var refuse string
	var asked []string
	f := setup(t, newStore, change.WithAuthorizer(func(_ context.Context, _ itil.Actor, command string, ch *change.Change) error {
		if ch.ID == itil.NilID {
			asked = append(asked, command)
		}
		if command == refuse {
			return itil.ErrForbidden
		}
		return nil
	}))
	b := f.board(cabBoard())
	ms := f.schedule(b, utc(2026, 3, 9, 0, 0), utc(2026, 3, 11, 0, 0))
	m := ms[0]
	for _, c := range []struct {
		command string
		do      func() error
	}{
		{change.CommandCreateBoard, func() error { _, err := f.svc.CreateBoard(f.ctx, cabManager, cabBoard()); return err }},
		{change.CommandUpdateBoard, func() error {
			name := "Renamed"
			_, err := f.svc.UpdateBoard(f.ctx, cabManager, b.ID, change.BoardPatch{Name: &name})
			return err
		}},
		{change.CommandScheduleMeetings, func() error {
			_, err := f.svc.ScheduleMeetings(f.ctx, cabManager, b.ID, utc(2026, 3, 11, 0, 0), utc(2026, 3, 20, 0, 0))
			return err
		}},
		{change.CommandBuildAgenda, func() error { _, err := f.svc.BuildAgenda(f.ctx, cabManager, m.ID); return err }},
		{change.CommandStartMeeting, func() error { _, err := f.svc.StartMeeting(f.ctx, cabManager, m.ID); return err }},
		{change.CommandCancelMeeting, func() error { _, err := f.svc.CancelMeeting(f.ctx, cabManager, m.ID, "no quorum"); return err }},
	} {
		refuse = c.command
		n := testkit.JournalLen(t, f.store)
		require.ErrorIs(t, c.do(), itil.ErrForbidden, c.command)
		assert.Equal(t, n, testkit.JournalLen(t, f.store), c.command)
		refuse = ""
	}
	assert.Contains(t, asked, change.CommandCreateBoard)
	assert.Contains(t, asked, change.CommandScheduleMeetings)
}
