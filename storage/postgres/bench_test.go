package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/incident/incidenttest"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed/feedtest"
	"github.com/itilkit/itil/storage/internal/termlist"
	"github.com/itilkit/itil/storage/storagetest"
)

// The benchmarks run an operation through this backend beside the raw
// driver doing the same database work on the same row shape (the records,
// term rows, journal events and sequence bump the operation writes,
// recorded from one run of it on the memory backend), one transaction per
// transaction of the operation, each as one pipelined round trip, on the
// same server with the same durability. The raw driver bumps the sequence
// in every transaction that took a number; the backend reserves numbers
// in blocks (WithSequenceCache at its default), so most of its
// operations take no round trip for their number. Both are timed in one loop, so
// they see the same machine state. Each reports x-raw (its time divided
// by the raw driver's) and x-of-raw-throughput (the inverse):
//
//	ITIL_POSTGRES_DSN=... go test ./storage/postgres -run '^$' -bench . -benchtime 2s

// rawDriver replays recorded transactions with plain pgx statements in the
// tenant "raw": per transaction BEGIN, the sequence bump, each record's
// row and its term rows (old term rows deleted on update), the events
// with numbers from a counter, COMMIT, in one pipelined batch.
type rawDriver struct {
	conn *pgx.Conn
	seq  int64
}

func (r *rawDriver) run(ctx context.Context, txs []storagetest.Written, subject itil.ID) error {
	old := make(map[string]storage.Record)
	for _, t := range txs {
		var batch pgx.Batch
		batch.Queue(`BEGIN`)
		for _, name := range t.Seqs {
			batch.Queue(`INSERT INTO sequences AS s (tenant, name, value) VALUES ('raw', $1, 1)
				ON CONFLICT (tenant, name) DO UPDATE SET value = s.value + 1 RETURNING value`, name)
		}
		for _, p := range t.Puts {
			id := subject
			data := strings.ReplaceAll(p.Data, p.ID.String(), id.String())
			terms := termlist.Dedup(p.Terms)
			key := p.Kind + "/" + p.ID.String()
			if prev, ok := old[key]; ok {
				batch.Queue(`UPDATE records SET version = version + 1, rev = nextval('record_revs'), sort_key = $4, data = $5, terms = $6
					WHERE tenant = 'raw' AND kind = $1 AND id = $2 AND version = $3`,
					p.Kind, [16]byte(id), p.Version, []byte(p.SortKey), []byte(data), termlist.Encode(terms))
				var del, add []string
				termlist.Diff(prev.Terms, terms, func(t string) { del = append(del, t) }, func(t string) { add = append(add, t) })
				for _, t := range del {
					batch.Queue(`DELETE FROM record_terms WHERE tenant = 'raw' AND kind = $1 AND term = $2 AND sort_key = $3 AND id = $4`,
						p.Kind, []byte(t), []byte(prev.SortKey), [16]byte(id))
				}
				for _, t := range add {
					batch.Queue(`INSERT INTO record_terms (tenant, kind, term, sort_key, id) VALUES ('raw', $1, $2, $3, $4)`,
						p.Kind, []byte(t), []byte(p.SortKey), [16]byte(id))
				}
			} else {
				batch.Queue(`INSERT INTO records (tenant, kind, id, version, rev, sort_key, data, terms)
					VALUES ('raw', $1, $2, 1, nextval('record_revs'), $3, $4, $5)`,
					p.Kind, [16]byte(id), []byte(p.SortKey), []byte(data), termlist.Encode(terms))
				for _, t := range terms {
					batch.Queue(`INSERT INTO record_terms (tenant, kind, term, sort_key, id) VALUES ('raw', $1, $2, $3, $4)`,
						p.Kind, []byte(t), []byte(p.SortKey), [16]byte(id))
				}
			}
			p.Terms = terms
			old[key] = p
		}
		for _, ev := range t.Events {
			r.seq++
			batch.Queue(`INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload)
				VALUES ('raw', $1, $2, $3, $4, $5, $6, $7, 0, $8, $9)`,
				r.seq, ev.Kind, [16]byte(subject), ev.SubjectVersion, ev.Actor.ID, ev.Actor.Name, ev.Time, ev.Type, []byte(ev.Payload))
		}
		batch.Queue(`COMMIT`)
		if err := r.conn.SendBatch(ctx, &batch).Close(); err != nil {
			return err
		}
	}
	return nil
}

func benchBackend(b testing.TB) (*Backend, *rawDriver) {
	bk := newBackend(b)
	conn, err := bk.pool.Acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(conn.Release)
	return bk, &rawDriver{conn: conn.Conn()}
}

// BenchmarkOpenAndTransition: incident.Service opens an incident and
// assigns it (two transactions), beside the raw driver writing the same
// rows in two transactions.
func BenchmarkOpenAndTransition(b *testing.B) {
	ctx := context.Background()
	txs := incidenttest.Writes(b, incidenttest.OpenAndAssign)
	bk, raw := benchBackend(b)
	store := tenantOf(b, bk, "bench")
	svc, err := incident.New(store)
	if err != nil {
		b.Fatal(err)
	}
	var inRaw, inOurs time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := raw.run(ctx, txs, itil.NewID()); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := incidenttest.OpenAndAssign(ctx, svc); err != nil {
			b.Fatal(err)
		}
		inRaw += t1.Sub(t0)
		inOurs += time.Since(t1)
	}
	storagetest.ReportRatio(b, inOurs, inRaw)
}

// BenchmarkCreate100 creates 100 incident records with their events in one
// transaction through the storage contract (incident.Service has no batch
// command), beside the raw driver inserting the same 100 records, their
// term rows and 100 events with multi-row statements in one transaction.
func BenchmarkCreate100(b *testing.B) {
	const n = 100
	ctx := context.Background()
	txs := incidenttest.Writes(b, func(ctx context.Context, svc *incident.Service) error {
		_, err := svc.Open(ctx, incidenttest.BenchActor, incidenttest.BenchIncident)
		return err
	})
	rec, ev := txs[0].Puts[0], txs[0].Events[0]
	bk, raw := benchBackend(b)
	store := tenantOf(b, bk, "bench")
	terms := termlist.Dedup(rec.Terms)
	var inRaw, inOurs time.Duration
	b.ResetTimer()
	for range b.N {
		ids := make([]itil.ID, n)
		for i := range ids {
			ids[i] = itil.NewID()
		}
		t0 := time.Now()
		if err := raw.create(ctx, rec, terms, ev, ids); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			recs := make([]storage.Record, n)
			for i, id := range ids {
				r := rec
				r.ID = id
				r.Data = strings.ReplaceAll(rec.Data, rec.ID.String(), r.ID.String())
				recs[i] = r
			}
			for i, id := range ids {
				if _, err := tx.Put(ctx, recs[i]); err != nil {
					return err
				}
				e := ev
				e.SubjectID = id
				if err := tx.Append(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		inRaw += t1.Sub(t0)
		inOurs += time.Since(t1)
	}
	storagetest.ReportRatio(b, inOurs, inRaw)
}

func (r *rawDriver) create(ctx context.Context, rec storage.Record, terms []string, ev itil.Event, ids []itil.ID) error {
	n := len(ids)
	kinds, uids, sks, datas, tms := make([]string, n), make([][16]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
	var tKinds []string
	var tTerms, tSort [][]byte
	var tIDs [][16]byte
	seqs, evKinds, subj, types, payloads := make([]int64, n), make([]string, n), make([][16]byte, n), make([]string, n), make([][]byte, n)
	for i, id := range ids {
		kinds[i], uids[i], sks[i] = rec.Kind, id, []byte(rec.SortKey)
		datas[i] = []byte(strings.ReplaceAll(rec.Data, rec.ID.String(), id.String()))
		tms[i] = termlist.Encode(terms)
		for _, t := range terms {
			tKinds, tTerms, tSort, tIDs = append(tKinds, rec.Kind), append(tTerms, []byte(t)), append(tSort, sks[i]), append(tIDs, id)
		}
		r.seq++
		seqs[i], evKinds[i], subj[i], types[i], payloads[i] = r.seq, ev.Kind, id, ev.Type, ev.Payload
	}
	var batch pgx.Batch
	batch.Queue(`BEGIN`)
	batch.Queue(`INSERT INTO records (tenant, kind, id, version, rev, sort_key, data, terms)
		SELECT 'raw', k, i, 1, nextval('record_revs'), s, d, t FROM unnest($1::text[], $2::uuid[], $3::bytea[], $4::bytea[], $5::bytea[]) AS u(k, i, s, d, t)`,
		kinds, uids, sks, datas, tms)
	batch.Queue(`INSERT INTO record_terms (tenant, kind, term, sort_key, id)
		SELECT 'raw', * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::uuid[])`, tKinds, tTerms, tSort, tIDs)
	batch.Queue(`INSERT INTO journal (tenant, seq, kind, subject_id, subject_version, actor_id, actor_name, at, at_nanos, type, payload)
		SELECT 'raw', s, k, i, 1, $5, $6, $7, 0, t, p FROM unnest($1::bigint[], $2::text[], $3::uuid[], $4::text[], $8::bytea[]) AS u(s, k, i, t, p)`,
		seqs, evKinds, subj, types, ev.Actor.ID, ev.Actor.Name, ev.Time, payloads)
	batch.Queue(`COMMIT`)
	return r.conn.SendBatch(ctx, &batch).Close()
}

// BenchmarkOpenAndTransitionParallel is BenchmarkOpenAndTransition with
// 8 clients at once on each side (the raw driver on 8 connections of its
// own, the Service on a backend whose pool has 8): each iteration runs one
// operation per client on the raw side, waits, then on ours. The ratio is
// of throughput under concurrency, where commits share WAL flushes.
func BenchmarkOpenAndTransitionParallel(b *testing.B) {
	const clients = 8
	ctx := context.Background()
	txs := incidenttest.Writes(b, incidenttest.OpenAndAssign)
	dsn := freshSchema(b)
	bk := openIn(b, testkit.WithDSNParam(dsn, "pool_max_conns", "8"))
	svc, err := incident.New(tenantOf(b, bk, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	raws := make([]*rawDriver, clients)
	for i := range raws {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close(context.Background()) })
		raws[i] = &rawDriver{conn: conn, seq: int64(i) << 40}
	}
	phase := func(run func(i int) error) time.Duration {
		t0 := time.Now()
		errs := make(chan error, clients)
		for i := range clients {
			go func() { errs <- run(i) }()
		}
		for range clients {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	var inRaw, inOurs time.Duration
	b.ResetTimer()
	for range b.N {
		inRaw += phase(func(i int) error { return raws[i].run(ctx, txs, itil.NewID()) }) / clients
		inOurs += phase(func(int) error { return incidenttest.OpenAndAssign(ctx, svc) }) / clients
	}
	storagetest.ReportRatio(b, inOurs, inRaw)
}

// BenchmarkDrain: a feed consumer drains 100,000 events beside one
// transaction reading the journal through (see feedtest.BenchDrain):
//
//	ITIL_POSTGRES_DSN=... go test ./storage/postgres -run '^$' -bench Drain -benchtime 5x
func BenchmarkDrain(b *testing.B) {
	feedtest.BenchDrain(b, newStore(b))
}
