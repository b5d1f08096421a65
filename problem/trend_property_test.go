package problem_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/problem"
)

// trendGen draws rules and a history of incidents whose keys are skewed
// toward a few values and whose times tie often.
type trendGen struct {
	rules    []problem.TrendRule
	lateness time.Duration
	history  []problem.TrendIncident
}

func drawTrend(t *rapid.T) trendGen {
	var g trendGen
	for i := range rapid.IntRange(1, 3).Draw(t, "rules") {
		g.rules = append(g.rules, problem.TrendRule{
			Name:      fmt.Sprintf("r%d", i),
			By:        problem.TrendBy(rapid.IntRange(1, 7).Draw(t, "by")),
			Threshold: rapid.IntRange(1, 5).Draw(t, "threshold"),
			Window:    time.Duration(rapid.IntRange(1, 12).Draw(t, "window")) * time.Minute,
		})
	}
	g.lateness = time.Duration(rapid.SampledFrom([]int{0, 0, 3, 10}).Draw(t, "lateness")) * time.Minute
	// skewed picks index 0 most, then 1, and so on.
	skewed := func(n int, label string) int {
		a := rapid.IntRange(0, n-1).Draw(t, label)
		return rapid.IntRange(0, a).Draw(t, label)
	}
	cis := []itil.ID{itil.NilID, trendID(1001), trendID(1002), trendID(1003)}
	svcs := []itil.ID{trendID(2001), trendID(2002), itil.NilID}
	cats := []string{"network", "email", ""}
	for i := range rapid.IntRange(0, 40).Draw(t, "incidents") {
		f := problem.TrendIncident{
			ID: trendID(i + 1),
			OpenedAt: trendBase.Add(time.Duration(rapid.IntRange(0, 40).Draw(t, "minute"))*time.Minute +
				time.Duration(rapid.SampledFrom([]int{0, 0, 0, 30}).Draw(t, "second"))*time.Second),
			ServiceID: svcs[skewed(len(svcs), "service")],
			Category:  cats[skewed(len(cats), "category")],
		}
		for range rapid.IntRange(0, 2).Draw(t, "cis") {
			f.CIs = append(f.CIs, cis[skewed(len(cis), "ci")])
		}
		g.history = append(g.history, f)
	}
	return g
}

// modelKeys lists the distinct key values of f under r, in the order of
// f's CIs.
func modelKeys(r problem.TrendRule, f problem.TrendIncident) []problem.TrendKey {
	var k problem.TrendKey
	if r.By&problem.TrendByService != 0 {
		if f.ServiceID == itil.NilID {
			return nil
		}
		k.ServiceID = f.ServiceID
	}
	if r.By&problem.TrendByCategory != 0 {
		if f.Category == "" {
			return nil
		}
		k.Category = f.Category
	}
	if r.By&problem.TrendByCI == 0 {
		return []problem.TrendKey{k}
	}
	var out []problem.TrendKey
	for _, ci := range f.CIs {
		k.CI = ci
		if ci != itil.NilID && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

type modelEntry struct {
	at time.Time
	id itil.ID
}

// countIn counts the distinct entries in (from, to], or [from, to) when
// closedLeft.
func countIn(es []modelEntry, from, to time.Time, closedLeft bool) int {
	n := 0
	for _, e := range es {
		in := e.at.After(from) && !e.at.After(to)
		if closedLeft {
			in = !e.at.Before(from) && e.at.Before(to)
		}
		if in {
			n++
		}
	}
	return n
}

// modelKey is the model's state of one rule and key value.
type modelKey struct {
	entries []modelEntry
	on      bool
	checked time.Time
	touched bool
}

// trendModel is the naive detector: it keeps every incident and counts
// from scratch, and it finds dips by evaluating the count at every
// instant the count can change.
type trendModel struct {
	rules    []problem.TrendRule
	lateness time.Duration
	latest   time.Time
	keys     []map[problem.TrendKey]*modelKey
}

func newTrendModel(rules []problem.TrendRule, lateness time.Duration) *trendModel {
	m := &trendModel{rules: rules, lateness: lateness}
	for range rules {
		m.keys = append(m.keys, make(map[problem.TrendKey]*modelKey))
	}
	return m
}

func (m *trendModel) count(r problem.TrendRule, es []modelEntry, asOf time.Time) int {
	return countIn(es, asOf.Add(-r.Window), asOf, false)
}

func (m *trendModel) observe(f problem.TrendIncident) []problem.TrendCrossing {
	if f.OpenedAt.After(m.latest) {
		m.latest = f.OpenedAt
	}
	var out []problem.TrendCrossing
	for i, r := range m.rules {
		if f.OpenedAt.Before(m.latest.Add(-r.Window - m.lateness)) {
			continue
		}
		for _, k := range modelKeys(r, f) {
			s := m.keys[i][k]
			if s == nil {
				s = new(modelKey)
				m.keys[i][k] = s
			}
			if !s.touched || s.checked.Before(m.latest) {
				// Every instant in [checked, latest) where the count may be
				// least: the start, each instant an incident leaves, and
				// just before latest.
				instants := []time.Time{m.latest.Add(-1)}
				if s.touched {
					instants = append(instants, s.checked)
				}
				for _, e := range s.entries {
					if l := e.at.Add(r.Window); !l.Before(s.checked) && l.Before(m.latest) {
						instants = append(instants, l)
					}
				}
				for _, at := range instants {
					if m.count(r, s.entries, at) < r.Threshold {
						s.on = false
					}
				}
				s.checked, s.touched = m.latest, true
			}
			e := modelEntry{f.OpenedAt, f.ID}
			if slices.Contains(s.entries, e) {
				continue
			}
			s.entries = append(s.entries, e)
			if !s.on && m.count(r, s.entries, m.latest) >= r.Threshold && f.OpenedAt.After(m.latest.Add(-r.Window)) {
				s.on = true
				out = append(out, problem.TrendCrossing{Rule: r.Name, Key: k, At: m.latest, Incident: f.ID})
			}
		}
	}
	return out
}

// TestTrendIncrementalEqualsBatch observes random histories in random
// arrival order, with redeliveries, and checks after every step that the
// detector's crossings are the model's, and at random steps that its
// candidates are DetectTrends' over the incidents observed so far.
func TestTrendIncrementalEqualsBatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawTrend(t)
		arrivals := rapid.Permutation(g.history).Draw(t, "arrivals")
		for i := range rapid.IntRange(0, 5).Draw(t, "redeliveries") {
			if len(arrivals) > 0 {
				j := rapid.IntRange(0, len(arrivals)-1).Draw(t, "redelivered")
				at := rapid.IntRange(j, len(arrivals)).Draw(t, "redelivered at")
				arrivals = slices.Insert(arrivals, at, arrivals[j])
			}
			_ = i
		}
		d, err := problem.NewTrendDetector(g.rules, g.lateness)
		require.NoError(t, err)
		m := newTrendModel(g.rules, g.lateness)
		for i, f := range arrivals {
			got, err := d.Observe(f)
			require.NoError(t, err)
			require.Equal(t, m.observe(f), got, "crossings at arrival %d", i)
			if i == len(arrivals)-1 || rapid.IntRange(0, 4).Draw(t, "check") == 0 {
				checkTrends(t, d, g, arrivals[:i+1], m.latest)
			}
		}
	})
}

func checkTrends(t *rapid.T, d *problem.TrendDetector, g trendGen, observed []problem.TrendIncident, latest time.Time) {
	asOfs := []time.Time{latest, latest.Add(-g.lateness), latest.Add(time.Duration(rapid.IntRange(0, 15).Draw(t, "later")) * time.Minute)}
	for _, asOf := range asOfs {
		got, err := d.Trends(asOf, nil)
		require.NoError(t, err)
		want, err := problem.DetectTrends(g.rules, slices.Values(observed), asOf, nil)
		require.NoError(t, err)
		require.Equal(t, want, got, "as of %s", asOf)
	}
	if g.lateness > 0 {
		_, err := d.Trends(latest.Add(-g.lateness-1), nil)
		require.Error(t, err)
	}
}

// TestTrendReplay checks ReplayTrends on histories in any order against
// the definition: a key crosses at an instant t when its count over
// [t-window, t), just before t, is below the threshold and its count over
// (t-window, t] reaches it.
func TestTrendReplay(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawTrend(t)
		got, err := problem.ReplayTrends(g.rules, g.history)
		require.NoError(t, err)

		var want []problem.TrendCrossing
		for _, r := range g.rules {
			byKey := make(map[problem.TrendKey][]modelEntry)
			for _, f := range g.history {
				for _, k := range modelKeys(r, f) {
					byKey[k] = append(byKey[k], modelEntry{f.OpenedAt, f.ID})
				}
			}
			for k, es := range byKey {
				var instants []time.Time
				for _, e := range es {
					if !slices.ContainsFunc(instants, e.at.Equal) {
						instants = append(instants, e.at)
					}
				}
				for _, at := range instants {
					before := countIn(es, at.Add(-r.Window), at, true)
					after := countIn(es, at.Add(-r.Window), at, false)
					if before < r.Threshold && after >= r.Threshold {
						want = append(want, problem.TrendCrossing{Rule: r.Name, Key: k, At: at})
					}
				}
			}
		}
		for i := range got {
			got[i].Incident = itil.NilID // which of the incidents at one instant completes it depends on their order
		}
		order := func(a, b problem.TrendCrossing) int {
			return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Key.String(), b.Key.String()))
		}
		slices.SortFunc(got, order)
		slices.SortFunc(want, order)
		require.Equal(t, want, got)
	})
}
