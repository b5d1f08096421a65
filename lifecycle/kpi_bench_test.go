package lifecycle

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/itilkit/itil"
)

// benchFacts is a year of facts: n incidents opened evenly over 2026,
// each answered within hours and resolved within days (a tenth of them
// reassigned, a twentieth reopened first), in 40 groups and 1,000
// services; and m changes closed over the year, a tenth emergencies and
// a twentieth unsuccessful.
func benchFacts(n, m int) *kpiFacts {
	r := rand.New(rand.NewPCG(1, 2))
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int64(365 * 24 * time.Hour)
	services := make([]itil.ID, 1000)
	for i := range services {
		services[i] = itil.NewID()
	}
	groups := make([]string, 40)
	for i := range groups {
		groups[i] = "group-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	k := newKPIFacts()
	for range n {
		opened := year.Add(time.Duration(r.Int64N(span)))
		d := dims{service: services[r.IntN(len(services))], group: groups[r.IntN(len(groups))], priority: itil.Priority(1 + r.IntN(4))}
		resp := opened.Add(time.Duration(r.Int64N(int64(4 * time.Hour))))
		res := resp.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
		k.responses = append(k.responses, responseFact{at: resp, took: opened, d: d})
		k.resolutions = append(k.resolutions, resolutionFact{at: res, took: opened, d: d, firstAssign: r.IntN(10) != 0, reopened: r.IntN(20) == 0})
		k.open = append(k.open, openFact{from: opened, to: res, d: d})
	}
	for range m {
		k.closed = append(k.closed, changeFact{at: year.Add(time.Duration(r.Int64N(span))), d: dims{group: groups[r.IntN(len(groups))]},
			emergency: r.IntN(10) == 0, failed: r.IntN(20) == 0})
	}
	slices.SortFunc(k.resolutions, func(a, b resolutionFact) int { return a.at.Compare(b.at) })
	return k
}

// BenchmarkKPIs computes a year's KPIs by month over 1M incidents and
// 100k changes from the facts in memory (no journal read).
//
//	go test ./lifecycle -run '^$' -bench KPIs -benchtime 3x
func BenchmarkKPIs(b *testing.B) {
	k := benchFacts(1_000_000, 100_000)
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, by := range []Dimension{ByNone, ByGroup} {
		b.Run("by-"+string(by)+"none"[:4*boolInt(by == ByNone)], func(b *testing.B) {
			q := KPIQuery{From: year, To: year.AddDate(1, 0, 0), Every: Monthly, By: by}
			bounds, err := q.periods()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				k.compute(&q, slices.Clone(bounds))
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
