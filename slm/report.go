package slm

import (
	"context"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/stats"
	"github.com/itilkit/itil/storage"
)

// Compliance is how one definition did over a period: the timer cycles
// that started in [From, To), with running ones judged at At.
type Compliance struct {
	Definition itil.ID
	Name       string
	From, To   time.Time
	At         time.Time

	// Met counts completed cycles that stopped before the target was used
	// up; Breached counts cycles that used it up, completed or not;
	// InProgress counts running or paused cycles not yet breached;
	// Canceled counts canceled cycles that had not breached (they count
	// neither way).
	Met, Breached, InProgress, Canceled int
	// MetPercent is Met / (Met + Breached) × 100, for display; 100 when
	// nothing was decided.
	MetPercent float64
	// Elapsed statistics of the completed cycles (business time).
	MeanElapsed                        time.Duration
	P50Elapsed, P90Elapsed, P95Elapsed time.Duration
}

// Compliance reports on the cycles of a definition that started in
// [from, to), as they stand: stopped cycles by their outcome, running and
// paused ones by the business time used at now. (A report is not a
// reconstruction of the past: a cycle that stopped after now counts as
// stopped.) It
// reads the subjects the definition has timers on through an index, not
// every subject. An unknown definition gives an error wrapping
// itil.ErrNotFound; to before from, or a time outside the years 1 to 9999,
// a *itil.ValidationError.
func (e *Engine) Compliance(ctx context.Context, def itil.ID, from, to, now time.Time) (*Compliance, error) {
	var v itil.ValidationError
	check.Time(&v, "from", from)
	check.Time(&v, "to", to)
	check.Time(&v, "now", now)
	if !from.Before(to) {
		v.Add("to", "must be after from")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Compliance
	err := e.run(ctx, func(ctx context.Context, tx storage.Tx) error {
		d, err := definitions.Get(ctx, tx, def)
		if err != nil {
			return err
		}
		c := &Compliance{Definition: def, Name: d.Name, From: from, To: to, At: now}
		lookup := e.lookup(ctx, tx)
		var done []time.Duration
		q := storage.Query{Terms: []string{storage.Term("definition", def.String())}}
		for sub, err := range subjects.Query(ctx, tx, q) {
			if err != nil {
				return err
			}
			for _, t := range sub.Timers {
				if t.Definition != def || t.StartedAt.Before(from) || !t.StartedAt.Before(to) {
					continue
				}
				r, err := lookup(t.Definition, t.Revision)
				if err != nil {
					return err
				}
				p := t.ProgressAt(r.cal, now)
				switch {
				case t.State == Completed && p.Breached:
					c.Breached++
					done = append(done, p.Elapsed)
				case t.State == Completed:
					c.Met++
					done = append(done, p.Elapsed)
				case p.Breached:
					c.Breached++
				case t.State == Canceled:
					c.Canceled++
				default:
					c.InProgress++
				}
			}
		}
		c.MetPercent = 100
		if n := c.Met + c.Breached; n > 0 {
			c.MetPercent = float64(c.Met) / float64(n) * 100
		}
		if len(done) > 0 {
			c.MeanElapsed = stats.Mean(done)
			c.P50Elapsed, c.P90Elapsed, c.P95Elapsed = stats.Percentiles(done)
		}
		out = c
		return nil
	})
	return out, err
}
