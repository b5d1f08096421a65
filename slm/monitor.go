package slm

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Thresholds is the payload of EventWarning and EventBreached: the
// thresholds one run of the monitor recorded for one subject (usually
// one). The event is EventBreached when any of them is the breach (100%).
type Thresholds struct {
	Summary string      `json:"summary"`
	Reached []Threshold `json:"reached"`
}

// Threshold is one threshold of one timer cycle, reached and recorded.
type Threshold struct {
	Timer      itil.ID   `json:"timer"`
	Definition itil.ID   `json:"definition"`
	Revision   int       `json:"revision"`
	Name       string    `json:"name"`
	Cycle      int       `json:"cycle"`
	Target     string    `json:"target"`
	Percent    int       `json:"percent"`
	ReachedAt  time.Time `json:"reached_at"`
	FiredAt    time.Time `json:"fired_at"`
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
// finished are never scanned. A now outside the years 1 to 9999 gives a
// *itil.ValidationError (for Fire too).
func (e *Engine) Due(ctx context.Context, now time.Time) ([]*Timer, error) {
	if err := checkTime("now", now); err != nil {
		return nil, err
	}
	var out []*Timer
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
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
// recorded, at most once per timer cycle, and journals them: one
// EventWarning, or EventBreached when a breach (100%) is among them, per
// subject written, with a Thresholds payload.
//
// The claim is the subject record itself: each subject is handled in its
// own transaction that reads the timers, writes the fired thresholds back
// at the version read and journals them. Two monitors running at once (on
// two application instances), or a monitor racing a subject change, meet
// at that version check on every backend: one commits, the other gets
// itil.ErrConflict and skips the subject (a later run finds whatever is
// still due). Running Fire twice records nothing the second time.
func (e *Engine) Fire(ctx context.Context, now time.Time) ([]Fired, error) {
	due, err := e.Due(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []Fired
	var errs []error
	var done []itil.ID
	for _, t := range due {
		if slices.Contains(done, t.SubjectID) {
			continue
		}
		done = append(done, t.SubjectID)
		if err := ctx.Err(); err != nil {
			return out, errors.Join(append(errs, err)...)
		}
		var fired []Fired
		err := e.write(ctx, func(ctx context.Context, tx storage.Tx) error {
			fired = nil
			sub, err := subjects.Get(ctx, tx, t.SubjectID)
			if err != nil {
				return err
			}
			lookup := e.lookup(ctx, tx)
			var p Thresholds
			typ := EventWarning
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
					for _, th := range r.thresholds {
						if !tm.fired(th) {
							pct = th
							break
						}
					}
					f := Firing{Percent: pct, ReachedAt: tm.DueAt, FiredAt: now.UTC()}
					sub.fire(r, tm.ID, f)
					line := tm.Name + " #" + itoa(tm.Cycle) + " reached " + itoa(pct) + "%"
					if pct == 100 {
						typ, line = EventBreached, tm.Name+" #"+itoa(tm.Cycle)+" breached"
					}
					if p.Summary != "" {
						p.Summary += "; "
					}
					p.Summary += line
					p.Reached = append(p.Reached, Threshold{
						Timer: tm.ID, Definition: tm.Definition, Revision: tm.Revision, Name: tm.Name,
						Cycle: tm.Cycle, Target: tm.Target, Percent: pct, ReachedAt: f.ReachedAt, FiredAt: f.FiredAt,
					})
					fired = append(fired, Fired{Timer: cloneTimer(tm), Percent: pct, ReachedAt: f.ReachedAt, Breach: pct == 100})
				}
			}
			if len(fired) == 0 {
				return nil
			}
			if err := subjects.Put(ctx, tx, sub); err != nil {
				return err
			}
			return pipeline.Journal(ctx, tx, itil.System, now.UTC(), KindSubject, sub.ID, sub.Version, pipeline.Event{Type: typ}, p)
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
