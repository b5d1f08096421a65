package slm_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

var rvAdmin = itil.Actor{ID: "admin"}

type rvClock struct{ now time.Time }

func rvEngine(t *testing.T, c *rvClock) *slm.Engine {
	e, err := slm.NewEngine(memory.NewStore(), slm.WithClock(itil.ClockFunc(func() time.Time { return c.now })))
	require.NoError(t, err)
	return e
}

func rvDef(goal time.Duration) slm.Definition {
	return slm.Definition{
		Name: "R", Type: slm.SLA, Metric: slm.Resolution, SubjectKind: "ticket", Selection: slm.FirstMatch,
		Targets: []slm.Target{{Name: "t", Duration: goal}},
		Start:   slm.Condition{States: []string{"open", "hold"}},
		Pause:   &slm.Condition{States: []string{"hold"}},
		Stop:    &slm.Condition{States: []string{"done"}},
	}
}

func rvObserve(t *testing.T, e *slm.Engine, s itil.Snapshot) ([]*slm.Timer, error) {
	var out []*slm.Timer
	err := e.Store().RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		if err := e.Observe(ctx, tx, rvAdmin, s); err != nil {
			return err
		}
		var err error
		out, err = e.In(tx).Timers(ctx, s.ID)
		return err
	})
	return out, err
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Regression: Goal*pct overflowed int64 for goals above ~2.9 years, so the
// 75% warning was due at the start and fired together with 50%.
func TestRegressionThresholdOverflow(t *testing.T) {
	c := &rvClock{t0}
	e := rvEngine(t, c)
	goal := 4 * 365 * 24 * time.Hour // a 4-year underpinning contract
	_, err := e.Define(t.Context(), rvAdmin, rvDef(goal))
	require.NoError(t, err)
	id := itil.NewID()
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, State: "open", Time: t0})
	require.NoError(t, err)
	fired, err := e.Fire(t.Context(), t0.Add(goal/2))
	require.NoError(t, err)
	var pcts []int
	for _, f := range fired {
		pcts = append(pcts, f.Percent)
	}
	require.Equal(t, []int{50}, pcts, "75%% fired at 50%% of the goal")
}

// Regression: Warnings: []int{} ("no warnings") was lost in JSON
// (omitempty) and became DefaultWarnings.
func TestRegressionEmptyWarnings(t *testing.T) {
	c := &rvClock{t0}
	e := rvEngine(t, c)
	d := rvDef(4 * time.Hour)
	d.Warnings = []int{}
	_, err := e.Define(t.Context(), rvAdmin, d)
	require.NoError(t, err)
	id := itil.NewID()
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, State: "open", Time: t0})
	require.NoError(t, err)
	fired, err := e.Fire(t.Context(), t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Empty(t, fired, "a definition with no warnings fired warnings")
}

// Regression: invalid UTF-8 in a snapshot field was matched on raw bytes
// live while the journal held U+FFFD, so Replay differed. It is rejected.
func TestRegressionInvalidUTF8ReplayDiffers(t *testing.T) {
	c := &rvClock{t0}
	e := rvEngine(t, c)
	d := rvDef(4 * time.Hour)
	d.Start = slm.Condition{Fields: map[string][]string{"category": {"\ufffd"}}}
	_, err := e.Define(t.Context(), rvAdmin, d)
	require.NoError(t, err)
	id := itil.NewID()
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, State: "open", Fields: map[string]string{"category": "\xff"}, Time: t0})
	var ve *itil.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("snapshot.fields.category"), "%v", err)
	ts, err := e.Timers(t.Context(), id)
	require.NoError(t, err)
	require.Empty(t, ts, "nothing is written")
	bad := rvDef(4 * time.Hour)
	bad.Stop = &slm.Condition{States: []string{"\xff"}}
	_, err = e.Define(t.Context(), rvAdmin, bad)
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("stop"), "%v", err)
}

// Regression: a snapshot older than the last one was accepted, and a pause
// that ended before it began counted business time twice. It is rejected.
func TestRegressionTimeGoesBackwards(t *testing.T) {
	c := &rvClock{t0}
	e := rvEngine(t, c)
	_, err := e.Define(t.Context(), rvAdmin, rvDef(10*time.Hour))
	require.NoError(t, err)
	id := itil.NewID()
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, State: "open", Time: t0})
	require.NoError(t, err)
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, State: "hold", Time: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, State: "open", Time: t0.Add(1 * time.Hour)})
	var ve *itil.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("snapshot.time"), "%v", err)
	st, err := e.Status(t.Context(), id, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, st[0].Progress.Elapsed, "still paused since t0+2h")
}

// Regression: snapshot times outside the calendars' range [1910, 2190)
// gave clamped breach instants (before the start) or, past year 9999, a
// JSON encoding error. They are a *itil.ValidationError.
func TestRegressionSnapshotYearOutOfRange(t *testing.T) {
	c := &rvClock{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := rvEngine(t, c)
	_, err := e.Define(t.Context(), rvAdmin, rvDef(4*time.Hour))
	require.NoError(t, err)
	at := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: itil.NewID(), State: "open", Time: at})
	var ve *itil.ValidationError
	require.ErrorAs(t, err, &ve, "a year past the calendars' range")
	require.True(t, ve.Has("snapshot.time"), "%v", err)
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: itil.NewID(), State: "open", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorAs(t, err, &ve, "got %T %v", err, err)
}

// Regression: a NUL byte in a snapshot's kind passed validation and was
// refused later by the journal (field "kind", or a driver error on
// PostgreSQL). It is rejected as snapshot.kind.
func TestRegressionSnapshotKindIsText(t *testing.T) {
	e := rvEngine(t, &rvClock{t0})
	_, err := e.Define(t.Context(), rvAdmin, rvDef(4*time.Hour))
	require.NoError(t, err)
	for _, kind := range []string{"", "tic\x00ket", "tic\xffket"} {
		_, err = rvObserve(t, e, itil.Snapshot{Kind: kind, ID: itil.NewID(), State: "open", Time: t0})
		var ve *itil.ValidationError
		require.ErrorAs(t, err, &ve, "kind %q", kind)
		require.True(t, ve.Has("snapshot.kind"), "%v", err)
	}
}

// Regression: an incident command that read its clock before another
// command on the same incident committed a later reading was refused with
// snapshot.time (the soak test saw it hundreds of times a minute), and so
// was every command of an instance whose clock is behind another's. A
// later version at an earlier time is now seen at the previous snapshot's
// time; a version the timers already saw is a conflict (the subject was
// read stale), which the pipeline retries.
func TestRegressionSkewedSnapshots(t *testing.T) {
	e := rvEngine(t, &rvClock{t0})
	_, err := e.Define(t.Context(), rvAdmin, rvDef(10*time.Hour))
	require.NoError(t, err)
	id := itil.NewID()
	_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, Version: 1, State: "open", Time: t0.Add(time.Hour)})
	require.NoError(t, err)
	ts, err := rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, Version: 2, State: "hold", Time: t0.Add(50 * time.Minute)})
	require.NoError(t, err, "a later version at an earlier time")
	require.Equal(t, slm.Paused, ts[0].State)
	st, err := e.Status(t.Context(), id, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, time.Duration(0), st[0].Progress.Elapsed, "paused at the previous snapshot's time, not before it")
	for _, v := range []int64{1, 2} {
		_, err = rvObserve(t, e, itil.Snapshot{Kind: "ticket", ID: id, Version: v, State: "open", Time: t0.Add(2 * time.Hour)})
		require.ErrorIs(t, err, itil.ErrConflict, "version %d was already observed", v)
	}
	replayed, err := e.Replay(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, ts, replayed)
}
