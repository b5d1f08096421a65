package change_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// TestMeetingDiagramInSync fails when cab.md no longer matches the
// meeting lifecycle. Run `go test ./change -update` to regenerate.
func TestMeetingDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "cab.md", Title: "CAB meeting lifecycle",
		Source: "change.MeetingLifecycle()", Package: "./change", Mermaid: change.MeetingDiagram()})
}

func utcAt(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func startsOf(ivs []calendar.Interval) []time.Time {
	var out []time.Time
	for _, iv := range ivs {
		out = append(out, iv.Start.UTC())
	}
	return out
}

func day(y int, m time.Month, d int) calendar.Date { return calendar.Date{Year: y, Month: m, Day: d} }

// Board.Occurrences: the recurrence in its zone, the range half-open, and
// the holiday calendar's closures, partial ones and hours included.
func TestBoardOccurrences(t *testing.T) {
	daily := func(start calendar.TimeOfDay, hol calendar.Spec) *change.Board {
		return &change.Board{Recurrence: change.Recurrence{Zone: "Europe/Paris", Start: start, Duration: time.Hour,
			Weekdays: []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}},
			Holidays: hol}
	}
	cases := []struct {
		name     string
		board    *change.Board
		from, to time.Time
		want     []time.Time
	}{
		{"fall back: 10:00 is 08:00 UTC, then 09:00", daily(calendar.At(10, 0), calendar.Spec{}),
			utcAt(2026, 10, 24, 0, 0), utcAt(2026, 10, 27, 0, 0),
			[]time.Time{utcAt(2026, 10, 24, 8, 0), utcAt(2026, 10, 25, 9, 0), utcAt(2026, 10, 26, 9, 0)}},
		{"spring forward: 02:30 does not exist and reads as 03:30 CEST", daily(calendar.At(2, 30), calendar.Spec{}),
			utcAt(2026, 3, 29, 0, 0), utcAt(2026, 3, 30, 0, 0), []time.Time{utcAt(2026, 3, 29, 1, 30)}},
		{"from is included, to is not", daily(calendar.At(10, 0), calendar.Spec{}),
			utcAt(2026, 6, 1, 8, 0), utcAt(2026, 6, 3, 8, 0), []time.Time{utcAt(2026, 6, 1, 8, 0), utcAt(2026, 6, 2, 8, 0)}},
		{"a holiday closed all day", daily(calendar.At(10, 0), calendar.Spec{Holidays: []calendar.Holiday{{Date: day(2026, 6, 2)}}}),
			utcAt(2026, 6, 1, 0, 0), utcAt(2026, 6, 4, 0, 0), []time.Time{utcAt(2026, 6, 1, 8, 0), utcAt(2026, 6, 3, 8, 0)}},
		{"a morning closure skips a morning meeting", daily(calendar.At(10, 0), calendar.Spec{Holidays: []calendar.Holiday{
			{Date: day(2026, 6, 2), Closed: []calendar.Window{calendar.Hours(8, 0, 12, 0)}}}}),
			utcAt(2026, 6, 2, 0, 0), utcAt(2026, 6, 3, 0, 0), nil},
		{"an afternoon closure does not", daily(calendar.At(10, 0), calendar.Spec{Holidays: []calendar.Holiday{
			{Date: day(2026, 6, 2), Closed: []calendar.Window{calendar.Hours(14, 0, 18, 0)}}}}),
			utcAt(2026, 6, 2, 0, 0), utcAt(2026, 6, 3, 0, 0), []time.Time{utcAt(2026, 6, 2, 8, 0)}},
		{"a meeting that would run past the meeting hours", daily(calendar.At(16, 30), calendar.Spec{
			Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0))}),
			utcAt(2026, 6, 5, 0, 0), utcAt(2026, 6, 6, 0, 0), nil},
		{"meeting hours: weekdays only", daily(calendar.At(10, 0), calendar.Spec{
			Week: calendar.MondayToFriday(calendar.Hours(9, 0, 17, 0))}),
			utcAt(2026, 6, 5, 0, 0), utcAt(2026, 6, 8, 0, 0), []time.Time{utcAt(2026, 6, 5, 8, 0)}},
		{"a national holiday, and one worked through as an extra day", daily(calendar.At(10, 0), calendar.Spec{Country: "FR",
			ExtraDays: []calendar.Day{{Date: day(2026, 5, 8), Windows: []calendar.Window{calendar.Hours(0, 0, 24, 0)}}}}),
			utcAt(2026, 5, 1, 0, 0), utcAt(2026, 5, 2, 0, 0).AddDate(0, 0, 7), []time.Time{
				utcAt(2026, 5, 2, 8, 0), utcAt(2026, 5, 3, 8, 0), utcAt(2026, 5, 4, 8, 0), utcAt(2026, 5, 5, 8, 0),
				utcAt(2026, 5, 6, 8, 0), utcAt(2026, 5, 7, 8, 0), utcAt(2026, 5, 8, 8, 0)}},
		{"a calendar in another zone closes its own dates", daily(calendar.At(10, 0), calendar.Spec{Zone: "Pacific/Auckland",
			Holidays: []calendar.Holiday{{Date: day(2026, 6, 2)}}}),
			utcAt(2026, 6, 1, 0, 0), utcAt(2026, 6, 3, 0, 0), []time.Time{utcAt(2026, 6, 1, 8, 0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.board.Occurrences(tc.from, tc.to)
			require.NoError(t, err)
			assert.Equal(t, tc.want, startsOf(got))
			for _, iv := range got {
				assert.Equal(t, time.Hour, iv.Duration())
				assert.Equal(t, "Europe/Paris", iv.Start.Location().String())
			}
		})
	}
}

// raceTx runs before once, ahead of the first meeting the transaction
// writes.
type raceTx struct {
	storage.Tx
	before func()
}

func (x raceTx) Put(ctx context.Context, rec storage.Record) (int64, error) {
	if rec.Kind == change.KindMeeting {
		x.before()
	}
	return x.Tx.Put(ctx, rec)
}

// Two instances schedule the same meetings: the one whose commit comes
// second conflicts, runs again, finds the meetings and creates none.
func TestScheduleMeetingsConflict(t *testing.T) {
	ctx := t.Context()
	store := memory.NewStore()
	clock := testkit.NewClock()
	other, err := change.New(store, change.WithClock(clock))
	require.NoError(t, err)
	actor := itil.Actor{ID: "carla"}
	b, err := other.CreateBoard(ctx, actor, change.NewBoard{Name: "CAB", Manager: "carla", Window: 7 * 24 * time.Hour,
		Recurrence: change.Recurrence{Zone: "UTC", Weekdays: []time.Weekday{time.Tuesday}, Start: calendar.At(10, 0), Duration: time.Hour}})
	require.NoError(t, err)
	from, to := utcAt(2026, 3, 2, 0, 0), utcAt(2026, 3, 30, 0, 0)

	var once sync.Once
	var attempts atomic.Int32
	racing := testkit.WrapTx(store, func(tx storage.Tx) storage.Tx {
		attempts.Add(1)
		return raceTx{Tx: tx, before: func() {
			once.Do(func() {
				_, err := other.ScheduleMeetings(ctx, actor, b.ID, from, to)
				require.NoError(t, err)
			})
		}}
	})
	svc, err := change.New(racing, change.WithClock(clock))
	require.NoError(t, err)
	ms, err := svc.ScheduleMeetings(ctx, actor, b.ID, from, to)
	require.NoError(t, err)
	require.Len(t, ms, 4)
	assert.Equal(t, int32(2), attempts.Load(), "one conflict, one retry")
	for _, m := range ms {
		assert.Equal(t, int64(1), m.Version)
		h, err := svc.MeetingHistory(ctx, m.ID)
		require.NoError(t, err)
		assert.Len(t, h, 1, "created once")
	}
}
