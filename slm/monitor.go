package slm

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// firingEvent is the payload of EventWarning and EventBreached.
type firingEvent struct {
	Timer      itil.ID   `json:"timer"`
	Definition itil.ID   `json:"definition"`
	Revision   int       `json:"revision"`
	Name       string    `json:"name"`
	Cycle      int       `json:"cycle"`
	Target     string    `json:"target"`
	Percent    int       `json:"percent"`
	ReachedAt  time.Time `json:"reached_at"`
	FiredAt    time.Time `json:"fired_at"`
	Summary    string    `json:"summary"`
}

// Fired is one threshold the monitor recorded.
type Fired struct {
	Timer     *Timer
	Percent   int
	ReachedAt time.Time
	// Breach is true for the 100% threshold.
	Breach bool
}

// Due returns the timers whose next threshold or breach instant is at or
// before now and is not yet fired. It reads only the subjects the deadline
// index holds at or before now: timers due later, paused with time left or
// finished are never scanned.
func (e *Engine) Due(ctx context.Context, now time.Time) ([]*Timer, error) {
	var out []*Timer
	err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		q := storage.Query{Terms: []string{"due=yes"}, Max: storage.TimeKey(now) + "\x00"}
		for sub, err := range subjects.Query(ctx, tx, q) {
			if err != nil {
				return err
			}
			for _, t := range sub.Timers {
				if !t.DueAt.IsZero() && !t.DueAt.After(now) {
					out = append(out, t)
				}
			}
		}
		return nil
	})
	return out, err
}

// Fire records every threshold reached at or before now and not yet
// recorded, as one EventWarning (below 100%) or EventBreached (100%)
// journal event per threshold, at most once per timer cycle.
//
// The claim is the subject record itself: each subject is handled in its
// own transaction that reads the timer, appends the events and writes the
// fired thresholds back at the version read. Two monitors running at once,
// or a monitor racing a subject change, meet at that version check: one
// commits, the other gets itil.ErrConflict and skips the subject (a later
// run finds whatever is still due). A SQL backend gives the same outcome
// by locking the subject row (SELECT … FOR UPDATE): the second monitor
// waits, then finds the thresholds recorded. Running Fire twice records
// nothing the second time.
func (e *Engine) Fire(ctx context.Context, now time.Time) ([]Fired, error) {
	due, err := e.Due(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []Fired
	var errs []error
	var done []itil.ID
	for _, t := range due {
		if containsID(done, t.SubjectID) {
			continue
		}
		done = append(done, t.SubjectID)
		if err := ctx.Err(); err != nil {
			return out, errors.Join(append(errs, err)...)
		}
		var fired []Fired
		err := e.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			fired = nil
			sub, err := subjects.Get(ctx, tx, t.SubjectID)
			if err != nil {
				return err
			}
			lookup := e.lookup(ctx, tx)
			for _, tm := range sub.Timers {
				if tm.DueAt.IsZero() || tm.DueAt.After(now) {
					continue
				}
				r, err := lookup(tm.Definition, tm.Revision)
				if err != nil {
					return err
				}
				for !tm.DueAt.IsZero() && !tm.DueAt.After(now) {
					pct := 0
					for _, p := range r.thresholds {
						if !tm.fired(p) {
							pct = p
							break
						}
					}
					f := Firing{Percent: pct, ReachedAt: tm.DueAt, FiredAt: now.UTC()}
					sub.fire(r, tm.ID, f)
					typ, summary := EventWarning, tm.Name+" #"+itoa(tm.Cycle)+" reached "+itoa(pct)+"%"
					if pct == 100 {
						typ, summary = EventBreached, tm.Name+" #"+itoa(tm.Cycle)+" breached"
					}
					payload, err := json.Marshal(firingEvent{
						Timer: tm.ID, Definition: tm.Definition, Revision: tm.Revision, Name: tm.Name,
						Cycle: tm.Cycle, Target: tm.Target, Percent: pct, ReachedAt: f.ReachedAt,
						FiredAt: f.FiredAt, Summary: summary,
					})
					if err != nil {
						return err
					}
					if err := tx.Append(ctx, itil.Event{
						Kind: sub.Kind, SubjectID: sub.ID, Actor: itil.System, Time: f.FiredAt,
						Type: typ, Payload: payload,
					}); err != nil {
						return err
					}
					fired = append(fired, Fired{Timer: cloneTimer(tm), Percent: pct, ReachedAt: f.ReachedAt, Breach: pct == 100})
				}
			}
			if len(fired) == 0 {
				return nil
			}
			return subjects.Put(ctx, tx, sub)
		})
		switch {
		case err == nil:
			out = append(out, fired...)
		case errors.Is(err, itil.ErrConflict), errors.Is(err, itil.ErrNotFound):
		default:
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func containsID(ids []itil.ID, id itil.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
