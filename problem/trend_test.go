package problem_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/problem"
)

var trendBase = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// trendID returns a fixed ID for n, so that IDs order as n does.
func trendID(n int) itil.ID {
	var id itil.ID
	id[14], id[15] = byte(n>>8), byte(n)
	id[6], id[8] = 0x70, 0x80
	return id
}

var (
	ciA, ciB     = trendID(1001), trendID(1002)
	svcA, svcB   = trendID(2001), trendID(2002)
	ciRule24h    = problem.TrendRule{Name: "ci-24h", By: problem.TrendByCI, Threshold: 5, Window: 24 * time.Hour}
	svcCatRule7d = problem.TrendRule{Name: "service-category-7d", By: problem.TrendByService | problem.TrendByCategory, Threshold: 10, Window: 7 * 24 * time.Hour}
)

func fact(n int, at time.Duration, ci itil.ID, svc itil.ID, cat string) problem.TrendIncident {
	f := problem.TrendIncident{ID: trendID(n), OpenedAt: trendBase.Add(at), ServiceID: svc, Category: cat}
	if ci != itil.NilID {
		f.CIs = []itil.ID{ci}
	}
	return f
}

func ids(ns ...int) []itil.ID {
	out := make([]itil.ID, len(ns))
	for i, n := range ns {
		out[i] = trendID(n)
	}
	return out
}

// observeAll observes facts in order and returns, per fact, the rule
// names that crossed.
func observeAll(t *testing.T, d *problem.TrendDetector, facts []problem.TrendIncident) [][]string {
	t.Helper()
	out := make([][]string, len(facts))
	for i, f := range facts {
		cs, err := d.Observe(f)
		require.NoError(t, err)
		for _, c := range cs {
			out[i] = append(out[i], c.Rule)
		}
	}
	return out
}

func TestTrendTextbook(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name     string
		rules    []problem.TrendRule
		lateness time.Duration
		facts    []problem.TrendIncident
		crossed  [][]string // per fact
		asOf     time.Duration
		want     []problem.TrendCandidate
	}{{
		name:  "5 incidents on one CI in 24 h: the 5th crosses once, the 6th does not",
		rules: []problem.TrendRule{ciRule24h},
		facts: []problem.TrendIncident{
			fact(1, 0, ciA, svcA, "network"),
			fact(2, 4*h, ciA, svcA, "network"),
			fact(3, 5*h, ciB, svcA, "network"),
			fact(4, 8*h, ciA, svcA, "network"),
			fact(5, 12*h, ciA, svcA, "network"),
			fact(6, 23*h, ciA, svcA, "network"),
			fact(7, 23*h+30*time.Minute, ciA, svcA, "network"),
		},
		crossed: [][]string{nil, nil, nil, nil, nil, {"ci-24h"}, nil},
		asOf:    23*h + 30*time.Minute,
		want: []problem.TrendCandidate{{
			Rule: "ci-24h", Key: problem.TrendKey{CI: ciA}, Count: 6, Incidents: ids(1, 2, 4, 5, 6, 7),
			From: trendBase.Add(-30 * time.Minute), To: trendBase.Add(23*h + 30*time.Minute),
		}},
	}, {
		name:  "10 in one category and service in 7 days, whatever the CI",
		rules: []problem.TrendRule{svcCatRule7d},
		facts: func() []problem.TrendIncident {
			var fs []problem.TrendIncident
			for i := range 10 {
				fs = append(fs, fact(i+1, time.Duration(i)*14*h, trendID(3000+i), svcA, "email"))
				if i < 9 { // 9 in another category, 9 in another service
					fs = append(fs, fact(i+101, time.Duration(i)*14*h, ciA, svcA, "network"))
					fs = append(fs, fact(i+201, time.Duration(i)*14*h, ciA, svcB, "email"))
				}
			}
			fs = append(fs, fact(300, 120*h, ciA, itil.NilID, "email")) // no service: not counted
			return fs
		}(),
		crossed: func() [][]string {
			c := make([][]string, 29)
			c[27] = []string{"service-category-7d"}
			return c
		}(),
		asOf: 126 * h,
		want: []problem.TrendCandidate{{
			Rule: "service-category-7d", Key: problem.TrendKey{ServiceID: svcA, Category: "email"}, Count: 10,
			Incidents: ids(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), From: trendBase.Add(-42 * h), To: trendBase.Add(126 * h),
		}},
	}, {
		name:  "exactly one window apart: the first has left the window",
		rules: []problem.TrendRule{{Name: "two", By: problem.TrendByCI, Threshold: 2, Window: 24 * h}},
		facts: []problem.TrendIncident{
			fact(1, 0, ciA, itil.NilID, ""),
			fact(2, 24*h, ciA, itil.NilID, ""),
		},
		crossed: [][]string{nil, nil},
		asOf:    24 * h,
	}, {
		name:  "one nanosecond inside the window",
		rules: []problem.TrendRule{{Name: "two", By: problem.TrendByCI, Threshold: 2, Window: 24 * h}},
		facts: []problem.TrendIncident{
			fact(1, 0, ciA, itil.NilID, ""),
			fact(2, 24*h-1, ciA, itil.NilID, ""),
		},
		crossed: [][]string{nil, {"two"}},
		asOf:    24*h - 1,
		want: []problem.TrendCandidate{{
			Rule: "two", Key: problem.TrendKey{CI: ciA}, Count: 2, Incidents: ids(1, 2),
			From: trendBase.Add(-1), To: trendBase.Add(24*h - 1),
		}},
	}, {
		name:  "crosses again after falling below the threshold",
		rules: []problem.TrendRule{{Name: "two", By: problem.TrendByCI, Threshold: 2, Window: 10 * h}},
		facts: []problem.TrendIncident{
			fact(1, 0, ciA, itil.NilID, ""),
			fact(2, 1*h, ciA, itil.NilID, ""),  // crosses
			fact(3, 2*h, ciA, itil.NilID, ""),  // still above
			fact(4, 11*h, ciA, itil.NilID, ""), // 1 leaves as 4 arrives: no dip
			fact(5, 30*h, ciA, itil.NilID, ""), // alone
			fact(6, 31*h, ciA, itil.NilID, ""), // crosses again
		},
		crossed: [][]string{nil, {"two"}, nil, nil, nil, {"two"}},
		asOf:    31 * h,
		want: []problem.TrendCandidate{{
			Rule: "two", Key: problem.TrendKey{CI: ciA}, Count: 2, Incidents: ids(5, 6),
			From: trendBase.Add(21 * h), To: trendBase.Add(31 * h),
		}},
	}, {
		name:  "a redelivered incident and a repeated CI count once",
		rules: []problem.TrendRule{{Name: "two", By: problem.TrendByCI, Threshold: 2, Window: 10 * h}},
		facts: []problem.TrendIncident{
			{ID: trendID(1), OpenedAt: trendBase, CIs: []itil.ID{ciA, ciA, itil.NilID}},
			fact(1, 0, ciA, itil.NilID, ""),
			fact(2, h, ciB, itil.NilID, ""),
		},
		crossed: [][]string{nil, nil, nil},
		asOf:    h,
	}, {
		name:  "incidents at one instant are listed by ID whatever their arrival order",
		rules: []problem.TrendRule{{Name: "two", By: problem.TrendByService, Threshold: 2, Window: h}},
		facts: []problem.TrendIncident{
			fact(2, 0, itil.NilID, svcA, ""),
			fact(1, 0, itil.NilID, svcA, ""),
		},
		crossed: [][]string{nil, {"two"}},
		asOf:    0,
		want: []problem.TrendCandidate{{
			Rule: "two", Key: problem.TrendKey{ServiceID: svcA}, Count: 2, Incidents: ids(1, 2),
			From: trendBase.Add(-h), To: trendBase,
		}},
	}, {
		name:  "an incident on two CIs counts for each",
		rules: []problem.TrendRule{{Name: "one", By: problem.TrendByCI | problem.TrendByService, Threshold: 1, Window: h}},
		facts: []problem.TrendIncident{
			{ID: trendID(1), OpenedAt: trendBase, CIs: []itil.ID{ciB, ciA}, ServiceID: svcA},
		},
		crossed: [][]string{{"one", "one"}},
		asOf:    0,
		want: []problem.TrendCandidate{
			{Rule: "one", Key: problem.TrendKey{CI: ciA, ServiceID: svcA}, Count: 1, Incidents: ids(1), From: trendBase.Add(-h), To: trendBase},
			{Rule: "one", Key: problem.TrendKey{CI: ciB, ServiceID: svcA}, Count: 1, Incidents: ids(1), From: trendBase.Add(-h), To: trendBase},
		},
	}, {
		name:     "out of order: a late incident still inside the window counts, one outside it does not",
		rules:    []problem.TrendRule{{Name: "three", By: problem.TrendByCategory, Threshold: 3, Window: 10 * h}},
		lateness: 2 * h,
		facts: []problem.TrendIncident{
			fact(1, 20*h, itil.NilID, itil.NilID, "db"),
			fact(2, 11*h, itil.NilID, itil.NilID, "db"), // inside (10h, 20h]
			fact(3, 9*h, itil.NilID, itil.NilID, "db"),  // kept for the lateness, outside the current window
			fact(4, 5*h, itil.NilID, itil.NilID, "db"),  // dropped
			fact(5, 15*h, itil.NilID, itil.NilID, "db"), // crosses with 1 and 2
		},
		crossed: [][]string{nil, nil, nil, nil, {"three"}},
		asOf:    18 * h, // (8h, 18h]: 3, 2, 5
		want: []problem.TrendCandidate{{
			Rule: "three", Key: problem.TrendKey{Category: "db"}, Count: 3, Incidents: ids(3, 2, 5),
			From: trendBase.Add(8 * h), To: trendBase.Add(18 * h),
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := problem.NewTrendDetector(tt.rules, tt.lateness)
			require.NoError(t, err)
			assert.Equal(t, tt.crossed, observeAll(t, d, tt.facts))

			asOf := trendBase.Add(tt.asOf)
			got, err := d.Trends(asOf, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "incremental")

			batch, err := problem.DetectTrends(tt.rules, slices.Values(tt.facts), asOf, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, batch, "batch")
		})
	}
}

func TestTrendCrossingFields(t *testing.T) {
	d, err := problem.NewTrendDetector([]problem.TrendRule{ciRule24h}, 0)
	require.NoError(t, err)
	var got []problem.TrendCrossing
	for i := range 5 {
		cs, err := d.Observe(fact(i+1, time.Duration(i)*time.Hour, ciA, svcA, "network"))
		require.NoError(t, err)
		got = append(got, cs...)
	}
	want := []problem.TrendCrossing{{Rule: "ci-24h", Key: problem.TrendKey{CI: ciA}, At: trendBase.Add(4 * time.Hour), Incident: trendID(5)}}
	assert.Equal(t, want, got)
	latest, ok := d.Latest()
	assert.True(t, ok)
	assert.Equal(t, trendBase.Add(4*time.Hour), latest)

	var history []problem.TrendIncident
	for i := range 5 {
		history = append(history, fact(5-i, time.Duration(4-i)*time.Hour, ciA, svcA, "network"))
	}
	replayed, err := problem.ReplayTrends([]problem.TrendRule{ciRule24h}, history)
	require.NoError(t, err)
	assert.Equal(t, want, replayed)
}

func TestTrendCoverage(t *testing.T) {
	rules := []problem.TrendRule{{Name: "one", By: problem.TrendByCI, Threshold: 1, Window: time.Hour}}
	facts := []problem.TrendIncident{fact(1, 0, ciA, itil.NilID, ""), fact(2, 0, ciB, itil.NilID, "")}
	prb := trendID(9000)
	cover := func(r *problem.TrendRule, k problem.TrendKey) itil.ID {
		if r.Name == "one" && k.CI == ciB {
			return prb
		}
		return itil.NilID
	}
	d, err := problem.NewTrendDetector(rules, 0)
	require.NoError(t, err)
	observeAll(t, d, facts)
	got, err := d.Trends(trendBase, cover)
	require.NoError(t, err)
	batch, err := problem.DetectTrends(rules, slices.Values(facts), trendBase, cover)
	require.NoError(t, err)
	for _, cs := range [][]problem.TrendCandidate{got, batch} {
		require.Len(t, cs, 2)
		assert.Equal(t, itil.NilID, cs[0].CoveredBy)
		assert.Equal(t, prb, cs[1].CoveredBy)
	}
}

func TestTrendIncidentOf(t *testing.T) {
	inc := &incident.Incident{ID: trendID(1), OpenedAt: trendBase, CIID: ciA, ServiceID: svcA, Category: "network"}
	assert.Equal(t, problem.TrendIncident{ID: trendID(1), OpenedAt: trendBase, CIs: []itil.ID{ciA}, ServiceID: svcA, Category: "network"}, problem.TrendIncidentOf(inc))
	inc.CIID = itil.NilID
	assert.Nil(t, problem.TrendIncidentOf(inc).CIs)
}

func TestTrendBy(t *testing.T) {
	assert.Equal(t, "ci", problem.TrendByCI.String())
	assert.Equal(t, "service+category", (problem.TrendByService | problem.TrendByCategory).String())
	assert.Equal(t, "ci+0x10", (problem.TrendByCI | 16).String())
	assert.Equal(t, `ci=`+ciA.String()+` category="a b"`, problem.TrendKey{CI: ciA, Category: "a b"}.String())
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var v *itil.ValidationError
	require.True(t, errors.As(err, &v), "want a *itil.ValidationError, got %v", err)
	var out []string
	for _, f := range v.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestTrendValidation(t *testing.T) {
	good := ciRule24h
	assert.NoError(t, good.Validate())
	bad := problem.TrendRule{Name: " ", By: 0, Threshold: 0, Window: 0}
	assert.Equal(t, []string{"name", "by", "threshold", "window"}, fieldsOf(t, bad.Validate()))
	bad = problem.TrendRule{Name: "x\x00", By: 8, Threshold: -1, Window: problem.MaxTrendWindow + 1}
	assert.Equal(t, []string{"name", "by", "threshold", "window"}, fieldsOf(t, bad.Validate()))

	_, err := problem.NewTrendDetector(nil, 0)
	assert.Equal(t, []string{"rules"}, fieldsOf(t, err))
	_, err = problem.NewTrendDetector([]problem.TrendRule{good, {Name: "w", By: problem.TrendByCI, Threshold: 1}, good}, -1)
	assert.Equal(t, []string{"rules[1].window", "rules[2].name", "lateness"}, fieldsOf(t, err))

	d, err := problem.NewTrendDetector([]problem.TrendRule{good}, time.Hour)
	require.NoError(t, err)
	_, err = d.Observe(problem.TrendIncident{})
	assert.Equal(t, []string{"id", "opened_at"}, fieldsOf(t, err))
	_, err = d.Observe(problem.TrendIncident{ID: trendID(1), OpenedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.Equal(t, []string{"opened_at"}, fieldsOf(t, err))
	_, ok := d.Latest()
	assert.False(t, ok, "a refused incident changes nothing")

	_, err = d.Observe(fact(1, 10*time.Hour, ciA, svcA, "x"))
	require.NoError(t, err)
	_, err = d.Trends(trendBase.Add(9*time.Hour-1), nil)
	assert.Equal(t, []string{"as_of"}, fieldsOf(t, err))
	_, err = d.Trends(trendBase.Add(9*time.Hour), nil)
	assert.NoError(t, err, "the lateness allowed")

	_, err = problem.DetectTrends([]problem.TrendRule{good}, slices.Values([]problem.TrendIncident{fact(1, 0, ciA, svcA, ""), {ID: trendID(2)}}), trendBase, nil)
	assert.Equal(t, []string{"history[1].opened_at"}, fieldsOf(t, err))
	_, err = problem.ReplayTrends([]problem.TrendRule{good}, []problem.TrendIncident{{OpenedAt: trendBase}})
	assert.Equal(t, []string{"history[0].id"}, fieldsOf(t, err))
	_, err = problem.ReplayTrends([]problem.TrendRule{{}}, nil)
	assert.Equal(t, []string{"rules[0].name", "rules[0].by", "rules[0].threshold", "rules[0].window"}, fieldsOf(t, err))
}

// The extremes of the years storage accepts do not overflow the windows.
func TestTrendExtremeTimes(t *testing.T) {
	rules := []problem.TrendRule{{Name: "one", By: problem.TrendByCI, Threshold: 1, Window: problem.MaxTrendWindow}}
	d, err := problem.NewTrendDetector(rules, problem.MaxTrendWindow)
	require.NoError(t, err)
	first := problem.TrendIncident{ID: trendID(1), OpenedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), CIs: []itil.ID{ciA}}
	last := problem.TrendIncident{ID: trendID(2), OpenedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), CIs: []itil.ID{ciA}}
	for _, f := range []problem.TrendIncident{first, last} {
		cs, err := d.Observe(f)
		require.NoError(t, err)
		assert.Len(t, cs, 1)
	}
	got, err := d.Trends(last.OpenedAt, nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []itil.ID{trendID(2)}, got[0].Incidents)
	assert.Equal(t, last.OpenedAt.Add(-problem.MaxTrendWindow), got[0].From)
}
