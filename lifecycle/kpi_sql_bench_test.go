package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/itilkit/itil/internal/testkit"
)

// The issue asks for the KPIs' cost beside the same KPIs as SQL
// aggregates on PostgreSQL: the facts in plain tables, as a reporting
// database would hold them, and each KPI a GROUP BY over them. The SQL
// here is that peer; TestKPIsMatchSQL holds it to compute's answers, so
// that BenchmarkKPIs compares like with like.
//
// Times are timestamptz, which keeps microseconds: a fact's nanoseconds
// are truncated (pgx floors them). The periods' bounds are whole
// seconds, so a fact falls on the same side of every bound either way
// (t >= b and t < b hold of the nanoseconds exactly when they hold of
// the floored microseconds). Durations are bigint nanoseconds, as
// compute reads them.

// sqlDSNEnv names the variable the PostgreSQL peer reads its server from.
const sqlDSNEnv = "ITIL_POSTGRES_DSN"

// sqlDSN returns the server's DSN, or skips tb.
func sqlDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(sqlDSNEnv)
	if dsn == "" {
		tb.Skip(sqlDSNEnv + " is not set: to compare the KPIs with SQL on PostgreSQL, point it at a server where the user may " +
			"create schemas, e.g. " + sqlDSNEnv + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	}
	return dsn
}

// sqlFactsDDL holds the facts, one table per kind, keyed by the interned
// group, service and priority (kpiFacts' indexes; 0 is none). An
// interval still open has no open_to.
const sqlFactsDDL = `
CREATE TABLE resolutions (
	at timestamptz NOT NULL, took bigint NOT NULL,
	grp int NOT NULL, service int NOT NULL, priority smallint NOT NULL,
	first_assign boolean NOT NULL, reopened boolean NOT NULL, by_problem boolean NOT NULL);
CREATE TABLE responses (
	at timestamptz NOT NULL, took bigint NOT NULL,
	grp int NOT NULL, service int NOT NULL, priority smallint NOT NULL);
CREATE TABLE open_intervals (
	open_from timestamptz NOT NULL, open_to timestamptz,
	grp int NOT NULL, service int NOT NULL, priority smallint NOT NULL);
CREATE TABLE changes (
	at timestamptz NOT NULL,
	grp int NOT NULL, service int NOT NULL, priority smallint NOT NULL,
	emergency boolean NOT NULL, failed boolean NOT NULL);
`

// sqlFactsIndexes are what the queries use: the backlog's GiST index on
// each interval as a range (open_from, open_to] finds the intervals
// holding a period's end without reading the others (a tenth of the
// time of the join without it, on the benchmark's facts). An index on
// at would serve a query over a few days, not a year: a year reads
// every row, and the planner rightly scans the tables. (A range refuses
// an end before its start; the facts have none.)
const sqlFactsIndexes = `
CREATE INDEX open_intervals_span ON open_intervals USING gist (tstzrange(open_from, open_to, '(]'));
ANALYZE resolutions, responses, open_intervals, changes;
`

// sqlSession is how the peer's connection runs its reports, as a DBA
// would set a reporting role: memory enough to sort a month of
// durations without spilling to disk (the server's 4MB default spills
// them, though that costs little on a fast disk).
const sqlSession = `SET work_mem = '256MB'`

// loadSQLFacts creates the fact tables in a schema of their own on the
// server (dropped when tb ends), fills them with k's facts, and returns
// a connection to them, set for reporting, and how long filling took.
func loadSQLFacts(tb testing.TB, k *kpiFacts) (*pgx.Conn, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	dsn, _ := testkit.FreshSchema(tb, sqlDSN(tb), "kpisql")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(ctx) })
	start := time.Now()
	if err := fillSQLFacts(ctx, conn, k); err != nil {
		tb.Fatal(err)
	}
	took := time.Since(start)
	if _, err := conn.Exec(ctx, sqlSession); err != nil {
		tb.Fatal(err)
	}
	return conn, took
}

// fillSQLFacts creates the fact tables in conn's schema, copies k's
// facts into them, indexes and analyzes them.
func fillSQLFacts(ctx context.Context, conn *pgx.Conn, k *kpiFacts) error {
	if _, err := conn.Exec(ctx, sqlFactsDDL); err != nil {
		return err
	}
	ts := func(ns int64) time.Time { return time.Unix(0, ns).UTC() }
	copies := []struct {
		table string
		cols  []string
		n     int
		row   func(i int) []any
	}{
		{"resolutions", []string{"at", "took", "grp", "service", "priority", "first_assign", "reopened", "by_problem"}, len(k.resolutions),
			func(i int) []any {
				r := &k.resolutions[i]
				return []any{ts(r.at), r.took, r.d.group, r.d.service, int16(r.d.priority), r.firstAssign, r.reopened, r.byProblem}
			}},
		{"responses", []string{"at", "took", "grp", "service", "priority"}, len(k.responses),
			func(i int) []any {
				r := &k.responses[i]
				return []any{ts(r.at), r.took, r.d.group, r.d.service, int16(r.d.priority)}
			}},
		{"open_intervals", []string{"open_from", "open_to", "grp", "service", "priority"}, k.open.len(),
			func(i int) []any {
				o := k.open.at(i)
				var to *time.Time
				if o.to != stillOpen {
					t := ts(o.to)
					to = &t
				}
				return []any{ts(o.from), to, o.d.group, o.d.service, int16(o.d.priority)}
			}},
		{"changes", []string{"at", "grp", "service", "priority", "emergency", "failed"}, len(k.closed),
			func(i int) []any {
				c := &k.closed[i]
				return []any{ts(c.at), c.d.group, c.d.service, int16(c.d.priority), c.emergency, c.failed}
			}},
	}
	for _, c := range copies {
		n, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromSlice(c.n, func(i int) ([]any, error) { return c.row(i), nil }))
		if err != nil {
			return fmt.Errorf("%s: %w", c.table, err)
		}
		if n != int64(c.n) {
			return fmt.Errorf("%s: copied %d rows of %d", c.table, n, c.n)
		}
	}
	_, err := conn.Exec(ctx, sqlFactsIndexes)
	return err
}

// sqlKPIs computes q's KPIs over bounds (q.periods') in SQL, as compute
// does from the facts: four statements in one batch, every row read.
// Each period is date_trunc's in q's zone, and the backlog is counted
// at each period's end e, of the intervals with open_from < e <= open_to
// (compute's bounds), by joining the ends generate_series gives.
// The mean is the sum's integer quotient, truncated like Go's (the sum
// is numeric, so it does not wrap where compute's int64 sum would,
// past 292 years of durations in one cell); the percentiles are
// percentile_disc's, the smallest value whose rank is at least p·n,
// which is the nearest rank (rank) for every n up to 2M at least (the
// float product is never off by one there); the percents round half
// away from zero, like decimal.DivRound.
func sqlKPIs(ctx context.Context, conn *pgx.Conn, k *kpiFacts, q *KPIQuery, bounds []time.Time) ([]KPIPoint, error) {
	key, name := "0", func(int) string { return "" }
	switch q.By {
	case ByGroup:
		key, name = "grp", func(i int) string { return k.groups[i] }
	case ByService:
		key, name = "service", func(i int) string {
			if i == 0 {
				return ""
			}
			return k.services[i].String()
		}
	case ByPriority:
		key, name = "priority", func(i int) string {
			if i == 0 {
				return "" // none, as compute names it
			}
			return "P" + strconv.Itoa(i)
		}
	}
	zone := cmp.Or(q.Zone, "UTC")
	unit, step := string(q.Every), "1 "+string(q.Every)
	from, to := bounds[0], bounds[len(bounds)-1]
	period := `date_trunc($1, at, $2)`
	// ratios are a count and a percent of the rows for each condition.
	ratios := func(conds ...string) (s string) {
		for _, c := range conds {
			s += `, count(*) FILTER (WHERE ` + c + `), round(100.0 * count(*) FILTER (WHERE ` + c + `) / count(*), 2)::text`
		}
		return s
	}
	durations := func(table string, flags ...string) string {
		return `SELECT ` + period + `, ` + key + `, count(*), div(sum(took), count(*))::bigint,
			percentile_disc(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY took)` + ratios(flags...) + `
			FROM ` + table + ` WHERE at >= $3 AND at < $4 GROUP BY 1, 2`
	}
	var batch pgx.Batch
	batch.Queue(durations("resolutions", "first_assign", "reopened", "by_problem"), unit, zone, from, to)
	batch.Queue(durations("responses"), unit, zone, from, to)
	batch.Queue(`SELECT `+period+`, `+key+`, count(*)`+ratios("NOT failed", "emergency")+`
		FROM changes WHERE at >= $3 AND at < $4 GROUP BY 1, 2`, unit, zone, from, to)
	batch.Queue(`SELECT (e.local - $4::interval) AT TIME ZONE $1, `+key+`, count(*)
		FROM generate_series(($2::timestamptz AT TIME ZONE $1) + $4::interval, $3::timestamptz AT TIME ZONE $1, $4::interval) AS e(local)
		JOIN open_intervals ON tstzrange(open_from, open_to, '(]') @> (e.local AT TIME ZONE $1)
		GROUP BY 1, 2`, zone, from, to, step)
	res := conn.SendBatch(ctx, &batch)
	defer res.Close()

	var (
		out  []KPIPoint
		p    time.Time
		kk   int32
		n    int64
		mean int64
		pct  []int64
		hits [3]int64
		pcts [3]string
	)
	point := func(kpi string) KPIPoint {
		return KPIPoint{KPI: kpi, Period: p.UTC(), Key: name(int(kk)), Count: int(n)}
	}
	ratio := func(kpi string, i int) error {
		pt := point(kpi)
		pt.Hits = int(hits[i])
		var err error
		pt.Percent, err = decimal.NewFromString(pcts[i])
		out = append(out, pt)
		return err
	}
	read := func(what string, fill func() error, dest ...any) error {
		rows, err := res.Query()
		if err == nil {
			_, err = pgx.ForEachRow(rows, append([]any{&p, &kk, &n}, dest...), fill)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	resolve := func() error {
		pt := point(KPITimeToResolve)
		pt.Mean, pt.P50, pt.P90, pt.P95 = time.Duration(mean), time.Duration(pct[0]), time.Duration(pct[1]), time.Duration(pct[2])
		out = append(out, pt)
		return errors.Join(ratio(KPIFirstAssignmentResolved, 0), ratio(KPIReopenRate, 1), ratio(KPIResolvedByProblem, 2))
	}
	respond := func() error {
		pt := point(KPITimeToFirstResponse)
		pt.Mean, pt.P50, pt.P90, pt.P95 = time.Duration(mean), time.Duration(pct[0]), time.Duration(pct[1]), time.Duration(pct[2])
		out = append(out, pt)
		return nil
	}
	changes := func() error { return errors.Join(ratio(KPIChangeSuccess, 0), ratio(KPIEmergencyChanges, 1)) }
	backlog := func() error {
		out = append(out, point(KPIBacklog))
		return nil
	}
	if err := errors.Join(
		read("resolutions", resolve, &mean, &pct, &hits[0], &pcts[0], &hits[1], &pcts[1], &hits[2], &pcts[2]),
		read("responses", respond, &mean, &pct),
		read("changes", changes, &hits[0], &pcts[0], &hits[1], &pcts[1]),
		read("backlog", backlog),
	); err != nil {
		return nil, err
	}
	return out, res.Close()
}

// TestKPIsMatchSQL: the SQL peer gives compute's KPIs, point for point
// (count, mean, percentiles, hits, percent), on a small year of facts
// and facts on and beside a period's bounds, by month in every
// dimension, by day, and by week in another zone.
func TestKPIsMatchSQL(t *testing.T) {
	sqlDSN(t)
	k := benchFacts(2000, 300)
	// On and beside 1 March 2026 (a bound of the queries in UTC), and
	// the year's first and last instants.
	mar := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	y0, y1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	d := k.dimsOf(k.services[1], k.groups[1], 2)
	for i, at := range []int64{mar - 1, mar, mar + 1, y0 - 1, y0, y1 - 1, y1} {
		took := int64(3*time.Hour) + int64(i)*7
		k.resolutions = append(k.resolutions, resolutionFact{at: at, took: took, d: d, firstAssign: i%2 == 0, reopened: i%3 == 0, byProblem: true})
		k.responses = append(k.responses, responseFact{at: at, took: took / 3, d: d})
		k.closed = append(k.closed, changeFact{at: at, d: d, emergency: i%2 == 1, failed: i%3 == 1})
	}
	// Open at March's start exactly, or ended there, or ended just
	// before; and still open.
	for _, o := range [][2]int64{{mar, stillOpen}, {mar - 1, mar}, {mar - 2, mar - 1}, {mar - 1, mar + 1}, {mar - 1000, stillOpen}, {y0 - 1, stillOpen}} {
		k.open.add(openFact{from: o[0], to: o[1], d: d})
	}
	conn, _ := loadSQLFacts(t, k)
	ctx := context.Background()
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	queries := []KPIQuery{
		{From: year, To: year.AddDate(1, 0, 0), Every: Monthly},
		{From: year, To: year.AddDate(1, 0, 0), Every: Monthly, By: ByGroup},
		{From: year, To: year.AddDate(1, 0, 0), Every: Monthly, By: ByService},
		{From: year, To: year.AddDate(1, 0, 0), Every: Monthly, By: ByPriority},
		{From: year.AddDate(0, 2, -3), To: year.AddDate(0, 2, 4), Every: Daily, By: ByGroup},
	}
	if _, err := time.LoadLocation("Europe/Berlin"); err == nil {
		queries = append(queries, KPIQuery{From: year, To: year.AddDate(0, 4, 0), Every: Weekly, Zone: "Europe/Berlin", By: ByGroup})
	}
	for _, q := range queries {
		t.Run(fmt.Sprintf("%s-%s-%s", q.Every, cmp.Or(string(q.By), "none"), cmp.Or(q.Zone, "UTC")), func(t *testing.T) {
			bounds, err := q.periods()
			if err != nil {
				t.Fatal(err)
			}
			want := k.compute(&q, bounds)
			got, err := sqlKPIs(ctx, conn, k, &q, bounds)
			if err != nil {
				t.Fatal(err)
			}
			byPoint := func(a, b KPIPoint) int {
				return cmp.Or(cmp.Compare(a.KPI, b.KPI), a.Period.Compare(b.Period), cmp.Compare(a.Key, b.Key))
			}
			slices.SortFunc(got, byPoint)
			kpis := map[string]int{}
			for i := range max(len(got), len(want)) {
				if i >= len(got) || i >= len(want) || byPoint(got[i], want[i]) != 0 || !samePoint(got[i], want[i]) {
					var g, w any = "none", "none"
					if i < len(got) {
						g = got[i]
					}
					if i < len(want) {
						w = want[i]
					}
					t.Fatalf("point %d of %d (SQL) and %d (compute):\nSQL     %+v\ncompute %+v", i, len(got), len(want), g, w)
				}
				kpis[want[i].KPI]++
			}
			if len(kpis) != 8 {
				t.Fatalf("compared %v, not all eight KPIs", kpis)
			}
		})
	}
}

func samePoint(a, b KPIPoint) bool {
	return a.KPI == b.KPI && a.Period.Equal(b.Period) && a.Key == b.Key && a.Count == b.Count && a.Mean == b.Mean &&
		a.P50 == b.P50 && a.P90 == b.P90 && a.P95 == b.P95 && a.Hits == b.Hits && a.Percent.Equal(b.Percent)
}
