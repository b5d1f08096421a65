package change

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/itilkit/itil"
)

// BenchmarkConflictCheckPostgres runs the conflict check of
// BenchmarkConflictCheck's probe against PostgreSQL on the same year: a
// table of planned windows as tstzrange with a GiST index and CI and
// service arrays with GIN indexes, one query for the CIs', the services'
// and the assignee's overlapping bookings; it reports PostgreSQL's time as a multiple of the index's
// (pg/index). It runs only with ITIL_POSTGRES_DSN set:
//
//	ITIL_POSTGRES_DSN=... go test ./change -run '^$' -bench ConflictCheckPostgres -benchtime 200x
func BenchmarkConflictCheckPostgres(b *testing.B) {
	dsn := os.Getenv("ITIL_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("ITIL_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	y := genYear()
	p := y.probe()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := "bench_conflicts_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	for _, q := range []string{
		"CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".bookings (id uuid PRIMARY KEY, span tstzrange NOT NULL, cis uuid[] NOT NULL, services uuid[] NOT NULL, assignee text NOT NULL)",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
	rows := make([][]any, 0, len(y.all))
	for _, q := range y.all {
		rows = append(rows, []any{[16]byte(q.ID), pgtype.Range[time.Time]{
			Lower: time.Unix(0, q.Slot.start).UTC(), Upper: time.Unix(0, q.Slot.end).UTC(),
			LowerType: pgtype.Inclusive, UpperType: pgtype.Exclusive, Valid: true}, uuids(q.CIs), uuids(q.Services), q.Assignee})
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{schema, "bookings"}, []string{"id", "span", "cis", "services", "assignee"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		"CREATE INDEX ON " + schema + ".bookings USING gist (span)",
		"CREATE INDEX ON " + schema + ".bookings USING gin (cis)",
		"CREATE INDEX ON " + schema + ".bookings USING gin (services)",
		"CREATE INDEX ON " + schema + ".bookings (assignee)",
		"ANALYZE " + schema + ".bookings",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	cis, services := uuids(p.CIs), uuids(p.Services)
	query := "SELECT id FROM " + schema + ".bookings WHERE span && tstzrange($1, $2) AND (cis && $3 OR services && $4 OR assignee = $5)"
	start, end := time.Unix(0, p.Slot.start).UTC(), time.Unix(0, p.Slot.end).UTC()
	o := conflictOptions{advanced: true}
	var pg, idx float64
	for b.Loop() {
		t0 := time.Now()
		r, err := conn.Query(ctx, query, start, end, cis, services, p.Assignee)
		if err != nil {
			b.Fatal(err)
		}
		for r.Next() {
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		pg += float64(time.Since(t0).Nanoseconds())
		t0 = time.Now()
		for range 100 {
			_ = y.x.conflicts(p, o)
		}
		idx += float64(time.Since(t0).Nanoseconds()) / 100
	}
	b.ReportMetric(pg/float64(b.N), "pg-ns/op")
	b.ReportMetric(idx/float64(b.N), "index-ns/op")
	b.ReportMetric(pg/idx, "pg/index")
}

// uuids converts IDs for pgx.
func uuids(ids []itil.ID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
