package lifecycle

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// A baseline freezes a KPI's value over a span at the date it is taken:
// the journal never changes, but a baseline must not move even if the
// way a KPI is counted does, so the value is stored, not recomputed.
// A target says where the KPI should get to; Trend compares each
// period's value with both.

// KindBaseline is the storage and journal kind of KPI baselines.
const KindBaseline = "lifecycle_baseline"

// Commands and events of baselines.
const (
	CommandFreezeBaseline = "freeze_baseline"
	EventBaselineFrozen   = "lifecycle.baseline_frozen"
)

// Baseline is a KPI's value frozen at a date.
type Baseline struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	Name    string  `json:"name"`
	KPI     string  `json:"kpi"`
	// By and Key scope it, as a KPIPoint's (ByNone: everything).
	By  Dimension `json:"by,omitempty"`
	Key string    `json:"key,omitempty"`
	// From and To are the span measured; Value what it measured, read
	// as a review reads a KPI (see ReviewInitiative), at FrozenAt.
	From     time.Time       `json:"from"`
	To       time.Time       `json:"to"`
	Value    decimal.Decimal `json:"value"`
	Target   decimal.Decimal `json:"target"`
	FrozenBy itil.Actor      `json:"frozen_by"`
	FrozenAt time.Time       `json:"frozen_at"`
}

var baselines = storage.NewCollection(storage.Schema[Baseline]{
	Kind:    KindBaseline,
	ID:      func(b *Baseline) itil.ID { return b.ID },
	Version: func(b *Baseline) *int64 { return &b.Version },
	SortKey: func(b *Baseline) string { return storage.TimeKey(b.FrozenAt) },
	Terms:   func(b *Baseline, dst []string) []string { return append(dst, storage.Term("kpi", b.KPI)) },
	Clone:   func(dst, src *Baseline) { *dst = *src },
})

var baselineSpec = (&pipeline.Spec[Baseline]{
	Collection: baselines,
	Clone:      func(b *Baseline) *Baseline { c := *b; return &c },
	Skip:       []string{"version"},
}).Init()

func (s *Service) baselineRunner() pipeline.Runner[Baseline] {
	var auth itil.Authorizer[Baseline]
	if a := s.cfg.authorize; a != nil {
		auth = func(ctx context.Context, actor itil.Actor, command string, _ *Baseline) error {
			return a(ctx, actor, command, &Record{})
		}
	}
	return pipeline.Sibling(s.run, baselineSpec, auth, nil)
}

// NewBaseline is a baseline to freeze.
type NewBaseline struct {
	Name     string
	KPI      string
	By       Dimension
	Key      string
	From, To time.Time
	Target   decimal.Decimal
}

// FreezeBaseline measures the KPI over [From, To) from the journal, now,
// and stores the value. A bad field gives a *itil.ValidationError naming
// it, and so does a KPI that counted nothing over the span ("kpi").
func (s *Service) FreezeBaseline(ctx context.Context, actor itil.Actor, in NewBaseline) (*Baseline, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "name", in.Name, true, check.Short)
	if !slices.Contains(KPINames(), in.KPI) {
		v.Add("kpi", fmt.Sprintf("%q is not a KPI the journal measures (see KPINames)", in.KPI))
	}
	switch in.By {
	case ByNone, ByService, ByGroup, ByPriority:
	default:
		v.Add("by", "must be empty, service, group or priority")
	}
	check.Text(&v, "key", in.Key, false, check.Short)
	if in.By == ByNone && in.Key != "" {
		v.Add("key", "names a service, group or priority: set by")
	}
	for _, t := range []struct {
		field string
		t     time.Time
	}{{"from", in.From}, {"to", in.To}} {
		if !nanosOK(t.t) {
			v.Add(t.field, "must lie within the years 1900 to 2200")
		}
	}
	if !in.To.After(in.From) {
		v.Add("to", "must be after from")
	}
	if check.Places(in.Target) > 6 || in.Target.Abs().GreaterThan(decimal.New(1, 15)) {
		v.Add("target", "must have at most 6 decimal places and be below 10^15")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	b := &Baseline{ID: itil.NewID(), Name: in.Name, KPI: in.KPI, By: in.By, Key: in.Key, From: in.From.UTC(), To: in.To.UTC(),
		Target: in.Target, FrozenBy: actor}
	r := s.baselineRunner()
	return r.Create(ctx, actor, CommandFreezeBaseline, b, func(c *pipeline.Cmd[Baseline], b *Baseline) (event, error) {
		k, err := s.facts(c.Ctx, c.Tx)
		if err != nil {
			return event{}, err
		}
		k.mu.RLock()
		points := k.compute(&KPIQuery{By: b.By}, []time.Time{b.From, b.To})
		k.mu.RUnlock()
		m, ok := measured(points, b.KPI, b.Key)
		if !ok {
			return event{}, itil.Invalid("kpi", "nothing was counted for "+b.KPI+" over the span")
		}
		b.Value, b.FrozenAt = m, c.Now
		return event{Type: EventBaselineFrozen, Summary: b.Name + ": " + b.KPI + " = " + b.Value.String() + ", target " + b.Target.String()}, nil
	})
}

// GetBaseline returns the baseline id, or an error wrapping
// itil.ErrNotFound.
func (s *Service) GetBaseline(ctx context.Context, id itil.ID) (*Baseline, error) {
	return s.baselineRunner().Get(ctx, id)
}

// Baselines returns the baselines of the KPI ("" for all), oldest first.
func (s *Service) Baselines(ctx context.Context, kpi string) iter.Seq2[*Baseline, error] {
	q := pipeline.Query[Baseline]{}
	if kpi != "" {
		q.Terms = []string{storage.Term("kpi", kpi)}
	}
	return s.baselineRunner().List(ctx, q)
}

// TrendPoint is one period of a KPI against its baseline: the value, how
// far it moved from the baseline (Delta, in the KPI's unit) and, in
// percent of the way to the target, Progress (100: the target reached).
type TrendPoint struct {
	Period   time.Time       `json:"period"`
	Value    decimal.Decimal `json:"value"`
	Delta    decimal.Decimal `json:"delta"`
	Progress decimal.Decimal `json:"progress"`
	Reached  bool            `json:"reached"`
}

// Trend computes the baseline's KPI (and scope) per period of q (q's By
// is the baseline's) against the baseline and its target; periods where
// the KPI counted nothing are left out. A bad query gives a
// *itil.ValidationError; an unknown baseline itil.ErrNotFound.
func (s *Service) Trend(ctx context.Context, id itil.ID, q KPIQuery) ([]TrendPoint, error) {
	b, err := s.GetBaseline(ctx, id)
	if err != nil {
		return nil, err
	}
	q.By = b.By
	points, err := s.KPIs(ctx, q)
	if err != nil {
		return nil, err
	}
	way := b.Target.Sub(b.Value)
	var out []TrendPoint
	for i := range points {
		p := &points[i]
		if p.KPI != b.KPI || p.Key != b.Key {
			continue
		}
		v := valueOf(p)
		tp := TrendPoint{Period: p.Period, Value: v, Delta: v.Sub(b.Value)}
		if !way.IsZero() {
			tp.Progress = tp.Delta.Mul(decimal.NewFromInt(100)).DivRound(way, 2)
		}
		tp.Reached = way.Sign() >= 0 && v.GreaterThanOrEqual(b.Target) || way.Sign() < 0 && v.LessThanOrEqual(b.Target)
		out = append(out, tp)
	}
	return out, nil
}
