package lifecycle

import (
	"cmp"
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	k := newKPIFacts(nil)
	y := year.UnixNano()
	for range n {
		opened := y + r.Int64N(span)
		d := k.dimsOf(services[r.IntN(len(services))], groups[r.IntN(len(groups))], itil.Priority(1+r.IntN(4)))
		resp := opened + r.Int64N(int64(4*time.Hour))
		res := resp + r.Int64N(int64(72*time.Hour))
		k.responses = append(k.responses, responseFact{at: resp, took: resp - opened, d: d})
		k.resolutions = append(k.resolutions, resolutionFact{at: res, took: res - opened, d: d, firstAssign: r.IntN(10) != 0, reopened: r.IntN(20) == 0})
		k.open.add(openFact{from: opened, to: res, d: d})
	}
	for range m {
		k.closed = append(k.closed, changeFact{at: y + r.Int64N(span), d: k.dimsOf(itil.NilID, groups[r.IntN(len(groups))], 0),
			emergency: r.IntN(10) == 0, failed: r.IntN(20) == 0})
	}
	slices.SortFunc(k.resolutions, func(a, b resolutionFact) int { return cmp.Compare(a.at, b.at) })
	return k
}

// BenchmarkKPIs computes a year's KPIs by month over 1M incidents and
// 100k changes from the facts in memory (no journal read), beside the
// limit (x-limit: the KPIs' time over the limit's). With
// ITIL_POSTGRES_DSN set it also runs the same KPIs as SQL aggregates on
// PostgreSQL over the same facts in tables (kpi_sql_bench_test.go) and
// reports x-sql, the KPIs' time over the SQL's (below 1: the read model
// is faster), sql-ms the SQL's time per op, and load-s how long loading
// the tables took, once, outside the timing.
//
//	go test ./lifecycle -run '^$' -bench 'KPIs$' -benchtime 3x
//	ITIL_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test ./lifecycle -run '^$' -bench 'KPIs$' -benchtime 3x
func BenchmarkKPIs(b *testing.B) {
	k := benchFacts(1_000_000, 100_000)
	var conn *pgx.Conn
	var load time.Duration
	if os.Getenv(sqlDSNEnv) != "" {
		conn, load = loadSQLFacts(b, k)
	}
	ctx := context.Background()
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, by := range []Dimension{ByNone, ByGroup} {
		b.Run("by-"+string(by)+"none"[:4*boolInt(by == ByNone)], func(b *testing.B) {
			q := KPIQuery{From: year, To: year.AddDate(1, 0, 0), Every: Monthly, By: by}
			bounds, err := q.periods()
			if err != nil {
				b.Fatal(err)
			}
			// The limit: the same facts as plain arrays (times, durations,
			// flags), one pass each into per-period counts and sums; no
			// percentiles, which no single pass gives.
			lim := limitArrays(k)
			bn := make([]int64, len(bounds))
			for i, t := range bounds {
				bn[i] = t.UnixNano()
			}
			var ours, limit, sql time.Duration
			for b.Loop() {
				t0 := time.Now()
				k.compute(&q, bounds)
				t1 := time.Now()
				lim.pass(bn)
				t2 := time.Now()
				ours, limit = ours+t1.Sub(t0), limit+t2.Sub(t1)
				if conn != nil {
					if _, err := sqlKPIs(ctx, conn, k, &q, bounds); err != nil {
						b.Fatal(err)
					}
					sql += time.Since(t2)
				}
			}
			b.ReportMetric(float64(ours)/float64(limit), "x-limit")
			if conn != nil {
				b.ReportMetric(float64(ours)/float64(sql), "x-sql")
				b.ReportMetric(float64(sql)/float64(time.Millisecond)/float64(b.N), "sql-ms/op")
				b.ReportMetric(load.Seconds(), "load-s")
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

// limitFacts is the facts as the limit reads them: one array per field.
type limitFacts struct {
	resAt, resTook, respAt, respTook, openFrom, openTo, chAt []int64
	resFlags, chFlags                                        []uint8
}

func limitArrays(k *kpiFacts) *limitFacts {
	l := &limitFacts{}
	for _, r := range k.resolutions {
		l.resAt, l.resTook = append(l.resAt, r.at), append(l.resTook, r.took)
		l.resFlags = append(l.resFlags, uint8(boolInt(r.firstAssign))|uint8(boolInt(r.reopened))<<1|uint8(boolInt(r.byProblem))<<2)
	}
	for _, r := range k.responses {
		l.respAt, l.respTook = append(l.respAt, r.at), append(l.respTook, r.took)
	}
	for o := range k.open.all() {
		l.openFrom, l.openTo = append(l.openFrom, o.from), append(l.openTo, o.to)
	}
	for _, c := range k.closed {
		l.chAt = append(l.chAt, c.at)
		l.chFlags = append(l.chFlags, uint8(boolInt(c.emergency))|uint8(boolInt(c.failed))<<1)
	}
	return l
}

// pass counts and sums every KPI per period in one pass over each array.
func (l *limitFacts) pass(b []int64) {
	np := len(b) - 1
	period := func(t int64) int {
		i, found := slices.BinarySearch(b, t)
		if !found {
			i--
		}
		if i < 0 || i >= np {
			return -1
		}
		return i
	}
	n, sum, far, reopen, byProblem := make([]int64, np), make([]int64, np), make([]int64, np), make([]int64, np), make([]int64, np)
	for i, t := range l.resAt {
		if p := period(t); p >= 0 {
			n[p]++
			sum[p] += l.resTook[i]
			f := l.resFlags[i]
			far[p] += int64(f & 1)
			reopen[p] += int64(f >> 1 & 1)
			byProblem[p] += int64(f >> 2 & 1)
		}
	}
	rn, rsum := make([]int64, np), make([]int64, np)
	for i, t := range l.respAt {
		if p := period(t); p >= 0 {
			rn[p]++
			rsum[p] += l.respTook[i]
		}
	}
	diff := make([]int64, np+1)
	for i, from := range l.openFrom {
		first, _ := slices.BinarySearch(b[1:], from+1)
		last := np
		if to := l.openTo[i]; to != stillOpen {
			last, _ = slices.BinarySearch(b[1:], to+1)
		}
		if first < last {
			diff[first]++
			diff[last]--
		}
	}
	cn, em, fail := make([]int64, np), make([]int64, np), make([]int64, np)
	for i, t := range l.chAt {
		if p := period(t); p >= 0 {
			cn[p]++
			em[p] += int64(l.chFlags[i] & 1)
			fail[p] += int64(l.chFlags[i] >> 1)
		}
	}
	sinkLimit = n[0] + sum[0] + far[0] + reopen[0] + byProblem[0] + rn[0] + rsum[0] + diff[0] + cn[0] + em[0] + fail[0]
}

var sinkLimit int64
