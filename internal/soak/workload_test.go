package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
)

const (
	goroutines = 16 // command workers plus one feed consumer per instance
	consumers  = 2
	workers    = goroutines - consumers

	// The shared sets are small, so that commands contend.
	incidentPool = 12
	serials      = 12

	feedName  = "soak"
	seenKind  = "soak.seen" // the consumer's own records: one per event handled
	feedLease = 300 * time.Millisecond
)

var (
	setup = itil.Actor{ID: "soak-setup", Name: "Soak setup"}
	start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// clock is the shared fake clock: commands read it, monitor rounds move
// it forward. It is safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *clock) advance(d time.Duration) time.Time { return time.Unix(0, c.ns.Add(int64(d))).UTC() }

// instance is one application instance: its own services on its own
// handle of the store.
type instance struct {
	store storage.Store
	inc   *incident.Service
	cmdb  *cmdb.Service
	eng   *slm.Engine
	feed  *feed.Consumer
}

// outcome classifies how a command ended.
type outcome int

const (
	acked    outcome = iota
	conflict         // itil.ErrConflict: not acknowledged, must have written nothing
	refused          // a legitimate rule refusal: not acknowledged, must have written nothing
)

// expect is an event an acknowledged command must have journaled under
// its own actor: the record (kind, ID and, when known, version) and the
// event types it may have.
type expect struct {
	kind    string
	id      itil.ID
	version int64 // 0: any version
	types   []string
	// mayNoop: the command may have found nothing to write (Relate of an
	// existing relationship, an import of an unchanged CI); then the
	// record must be in the journal at that version under another actor.
	mayNoop bool
}

// op is one command run by a worker, under an actor of its own, so that
// the journal events it wrote can be told from every other command's.
type op struct {
	actor   string
	name    string
	outcome outcome
	expect  []expect
	// others are the kinds of the further events the command may have
	// written (hooks, cascades, notes).
	others []string
	// forbid: records of kind cmdb.ci the command must not have journaled
	// (an import's unchanged, rejected or duplicate records).
	forbid []itil.ID
	// partial: an import stopped by an error; its results so far are
	// acknowledged, the failed record must have written nothing.
	partial bool
}

// run is one soak run on one backend.
type run struct {
	t       *testing.T
	backend string
	clock   *clock
	inst    [2]*instance
	stop    atomic.Bool

	mu        sync.Mutex
	incidents []itil.ID // the shared incidents (the last incidentPool opened)
	apps      []itil.ID
	servers   []itil.ID
	rels      []itil.ID
	ops       []op // merged from the workers at the end
	fired     int  // thresholds Fire reported
	rounds    int
	failures  []string
	samples   map[string]string // a refusal of each command, for the log

	// The consumer's deliveries (at least once) and its effects (once).
	deliveries atomic.Int64
	stale      atomic.Int64
	pollConfl  atomic.Int64
	takeovers  atomic.Int64
}

func (r *run) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) < 50 {
		r.failures = append(r.failures, fmt.Sprintf(format, args...))
	}
}

func soak(t *testing.T, backend string, first, second storage.Store) {
	ctx := context.Background()
	r := &run{t: t, backend: backend, clock: newClock(start)}
	for i, s := range []storage.Store{first, second} {
		r.inst[i] = r.newInstance(s)
	}
	// The SLA definitions, defined once (on the first instance).
	eng := r.inst[0].eng
	for _, d := range []slm.Definition{
		slm.StandardDefinition("Response", incident.Kind, slm.SLA, slm.Response,
			slm.Target{Name: "P1 15m", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 15 * time.Minute},
			slm.Target{Name: "1h", Duration: time.Hour}),
		slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
			slm.Target{Name: "P1 4h", When: slm.Condition{Priorities: []itil.Priority{itil.P1}}, Duration: 4 * time.Hour},
			slm.Target{Name: "24h", Duration: 24 * time.Hour}),
	} {
		if _, err := eng.Define(ctx, setup, d); err != nil {
			t.Fatalf("define %s: %v", d.Name, err)
		}
	}

	began := time.Now()
	deadline := began.Add(runFor())
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	t.Logf("%s: seed %d, %d workers and %d consumers for %s", backend, seed, workers, consumers, runFor())
	for w := range workers {
		wg.Go(func() {
			w := &worker{r: r, id: w, in: r.inst[w%2], rng: rand.New(rand.NewPCG(seed, uint64(w)))}
			for time.Now().Before(deadline) && !r.stop.Load() {
				w.step(ctx)
			}
			r.mu.Lock()
			r.ops = append(r.ops, w.ops...)
			r.fired += w.fired
			r.rounds += w.rounds
			r.mu.Unlock()
		})
	}
	var cwg sync.WaitGroup
	for c := range consumers {
		cwg.Go(func() { r.consume(ctx, r.inst[c], rand.New(rand.NewPCG(seed, uint64(100+c))), deadline) })
	}
	wg.Wait()
	cwg.Wait()
	ran := time.Since(began)
	r.drain(ctx)

	st := r.check(ctx)
	st.duration = ran
	st.report(t, backend)
	for name, msg := range r.samples {
		t.Logf("a refusal of %s: %s", name, msg)
	}
	for _, f := range r.failures {
		t.Error(f)
	}
}

func (r *run) newInstance(s storage.Store) *instance {
	t := r.t
	eng, err := slm.NewEngine(s, slm.WithClock(r.clock))
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incident.New(s, incident.WithClock(r.clock), incident.WithHook(eng))
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cmdb.New(s, cmdb.WithClock(r.clock), cmdb.WithRelationshipRule(cmdb.Cascade))
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{store: s, inc: inc, cmdb: cm, eng: eng}
	in.feed, err = feed.New(s, feedName, r.handle, feed.WithLease(feedLease), feed.WithBatchSize(64))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// seenID is the ID of the consumer's record for the event seq.
func seenID(seq int64) itil.ID {
	return itil.ID{0xff, byte(seq >> 48), byte(seq >> 40), byte(seq >> 32), byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq), 1}
}

// handle is the consumer's handler: it counts the delivery and writes one
// record per event through the batch's transaction. An event whose record
// a committed batch already wrote is a stale batch: this one read the
// cursor before the other instance's batch committed (a transaction slower
// than the lease, on a loaded machine), and its commit would conflict; it
// says so at once. That every event's record is written exactly once is
// checked at the end.
func (r *run) handle(ctx context.Context, tx storage.Tx, ev itil.Event) error {
	r.deliveries.Add(1)
	id := seenID(ev.Seq)
	switch _, err := tx.Get(ctx, seenKind, id); {
	case err == nil:
		r.stale.Add(1)
		return fmt.Errorf("event %d: another instance's batch committed it: %w", ev.Seq, itil.ErrConflict)
	case !errors.Is(err, itil.ErrNotFound):
		return err
	}
	_, err := tx.Put(ctx, storage.Record{Kind: seenKind, ID: id, Data: strconv.FormatInt(ev.Seq, 10),
		SortKey: fmt.Sprintf("%020d", ev.Seq)})
	return err
}

// consume polls the feed on one instance until the deadline; now and then
// it pauses for longer than the lease, so that the other instance takes
// over.
func (r *run) consume(ctx context.Context, in *instance, rng *rand.Rand, deadline time.Time) {
	for time.Now().Before(deadline) && !r.stop.Load() {
		n, err := in.feed.Poll(ctx)
		switch {
		case err == nil:
		case errors.Is(err, itil.ErrConflict):
			r.pollConfl.Add(1)
		default:
			r.fail("%s: feed poll: %v", r.backend, err)
			r.stop.Store(true)
			return
		}
		switch {
		case rng.IntN(100) == 0:
			r.takeovers.Add(1)
			time.Sleep(feedLease + feedLease/2)
		case n == 0:
			time.Sleep(time.Duration(1+rng.IntN(10)) * time.Millisecond)
		}
	}
}

// drain brings the consumer to the journal's head once the workload has
// stopped: whichever instance holds the lease, or takes it when it
// expires.
func (r *run) drain(ctx context.Context) {
	var head int64
	err := r.inst[0].store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		head, err = tx.LastSeq(ctx)
		return err
	})
	if err != nil {
		r.fail("%s: last seq: %v", r.backend, err)
		return
	}
	// Give up when the consumer stops moving for a while (a lease held by
	// the other instance expires within feedLease).
	until, last := time.Now().Add(20*feedLease), int64(-1)
	for i := 0; ; i++ {
		in := r.inst[i%2]
		if _, err := in.feed.Drain(ctx); err != nil && !errors.Is(err, itil.ErrConflict) {
			r.fail("%s: feed drain: %v", r.backend, err)
			return
		}
		pos, err := in.feed.Position(ctx)
		if err != nil {
			r.fail("%s: feed position: %v", r.backend, err)
			return
		}
		if pos >= head {
			if pos != head {
				r.fail("%s: the consumer is at %d, past the journal's head %d", r.backend, pos, head)
			}
			return
		}
		if pos != last {
			until, last = time.Now().Add(20*feedLease), pos
		}
		if time.Now().After(until) {
			r.fail("%s: the consumer is stuck at %d, the journal's head is %d", r.backend, pos, head)
			return
		}
		time.Sleep(feedLease / 10)
	}
}

// worker runs commands on one instance.
type worker struct {
	r      *run
	id     int
	in     *instance
	rng    *rand.Rand
	n      int
	ops    []op
	fired  int
	rounds int
}

// actor returns a fresh actor for one command.
func (w *worker) actor() itil.Actor {
	w.n++
	return itil.Actor{ID: "w" + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.n)}
}

func pick[T any](r *run, rng *rand.Rand, from *[]T) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	if len(*from) == 0 {
		return zero, false
	}
	return (*from)[rng.IntN(len(*from))], true
}

func keep[T any](r *run, to *[]T, v T, max int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*to = append(*to, v)
	if len(*to) > max {
		*to = slices.Delete(*to, 0, len(*to)-max)
	}
}

func drop[T comparable](r *run, from *[]T, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*from = slices.DeleteFunc(*from, func(x T) bool { return x == v })
}

// classify records a command that ended with err. Conflicts and the
// refusals a concurrent workload makes legitimate are counted; anything
// else fails the run. validation lists the fields of a
// *itil.ValidationError that are such a refusal for this command.
func (w *worker) classify(o op, err error, validation ...string) {
	var ve *itil.ValidationError
	switch {
	case errors.Is(err, itil.ErrConflict):
		o.outcome = conflict
	case errors.Is(err, itil.ErrInvalidTransition):
		o.outcome = refused
	case errors.As(err, &ve) && len(validation) > 0 && allIn(ve, validation):
		o.outcome = refused
	default:
		w.r.fail("%s: %s by %s: unexpected error: %v", w.r.backend, o.name, o.actor, err)
		o.outcome = refused // its writes are still checked: none
	}
	if o.outcome != conflict {
		w.r.sample(o.name, err)
	}
	w.ops = append(w.ops, o)
}

// sample keeps the first error of each command for the log.
func (r *run) sample(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.samples == nil {
		r.samples = map[string]string{}
	}
	if _, ok := r.samples[name]; !ok {
		r.samples[name] = err.Error()
	}
}

func allIn(ve *itil.ValidationError, fields []string) bool {
	for _, f := range ve.Fields {
		if !slices.Contains(fields, f.Field) {
			return false
		}
	}
	return true
}

var (
	incidentKinds = []string{incident.Kind, slm.KindSubject, itil.KindNote} // Hold adds its comment as a note
	groups        = []string{"network", "desktop", "storage"}
	engineers     = []string{"", "ann", "bob", "cho"}
)

func (w *worker) step(ctx context.Context) {
	switch n := w.rng.IntN(100); {
	case n < 55:
		w.incident(ctx)
	case n < 88:
		w.cmdb(ctx)
	case n < 97:
		w.importBatch(ctx)
	default:
		w.monitor(ctx)
	}
}

func (w *worker) incident(ctx context.Context) {
	r, svc, rng := w.r, w.in.inc, w.rng
	a := w.actor()
	o := op{actor: a.ID, others: incidentKinds}
	id, ok := pick(r, rng, &r.incidents)
	if !ok || rng.IntN(12) == 0 {
		o.name = "incident.open"
		inc, err := svc.Open(ctx, a, incident.NewIncident{Title: "soak " + a.ID, Caller: itil.Actor{ID: "caller"},
			Channel: incident.Phone, Impact: itil.Impact(1 + rng.IntN(3)), Urgency: itil.Urgency(1 + rng.IntN(3))})
		if err != nil {
			w.classify(o, err)
			return
		}
		o.expect = []expect{{kind: incident.Kind, id: inc.ID, version: 1, types: []string{incident.EventOpened}}}
		w.ops = append(w.ops, o)
		keep(r, &r.incidents, inc.ID, incidentPool)
		return
	}
	var inc *incident.Incident
	var err error
	var valid []string
	var types []string
	switch n := rng.IntN(100); {
	case n < 18:
		o.name, valid, types = "incident.assign", []string{"group"}, []string{incident.EventAssigned}
		inc, err = svc.Assign(ctx, a, id, groups[rng.IntN(len(groups))], engineers[rng.IntN(len(engineers))])
	case n < 30:
		o.name = "incident.work_note"
		note, err := svc.WorkNote(ctx, a, id, "looked at it")
		if err != nil {
			w.classify(o, err)
			return
		}
		o.expect = []expect{{kind: itil.KindNote, id: note.ID, version: 1, types: []string{incident.EventWorkNoted}}}
		w.ops = append(w.ops, o)
		return
	case n < 38:
		o.name = "incident.comment"
		note, err := svc.Comment(ctx, a, id, "any news?")
		if err != nil {
			w.classify(o, err)
			return
		}
		o.expect = []expect{{kind: itil.KindNote, id: note.ID, version: 1, types: []string{incident.EventCommented}}}
		w.ops = append(w.ops, o)
		return
	case n < 48:
		o.name, valid, types = "incident.hold", []string{"hold_reason", "reason"}, []string{incident.EventHeld}
		reason := []incident.HoldReason{incident.AwaitingCaller, incident.AwaitingVendor}[rng.IntN(2)]
		inc, err = svc.Hold(ctx, a, id, reason, "please send the logs")
	case n < 56:
		o.name, types = "incident.resume", []string{incident.EventResumed}
		inc, err = svc.Resume(ctx, a, id)
	case n < 70:
		o.name, types = "incident.resolve", []string{incident.EventResolved}
		inc, err = svc.Resolve(ctx, a, id, "solution_provided", "restarted it")
	case n < 80:
		o.name, types = "incident.reopen", []string{incident.EventReopened}
		inc, err = svc.Reopen(ctx, a, id, "still broken")
	case n < 86:
		o.name, types = "incident.close", []string{incident.EventClosed}
		inc, err = svc.Close(ctx, a, id)
	case n < 90:
		o.name, types = "incident.cancel", []string{incident.EventCanceled}
		inc, err = svc.Cancel(ctx, a, id, "raised in error")
	default:
		o.name, types = "incident.link_child", []string{incident.EventLinked}
		valid = []string{"parent_id", "child_id"}
		parent, _ := pick(r, rng, &r.incidents)
		inc, err = svc.LinkChild(ctx, a, parent, id)
	}
	if err != nil {
		w.classify(o, err, valid...)
		return
	}
	o.expect = []expect{{kind: incident.Kind, id: inc.ID, version: inc.Version, types: types}}
	w.ops = append(w.ops, o)
	if inc.State.Final() {
		drop(r, &r.incidents, inc.ID) // it takes no more work
	}
}

var ciKinds = []string{cmdb.KindCI, cmdb.KindRelationship}

func (w *worker) cmdb(ctx context.Context) {
	r, svc, rng := w.r, w.in.cmdb, w.rng
	a := w.actor()
	o := op{actor: a.ID, others: ciKinds}
	n := rng.IntN(100)
	app, okApp := pick(r, rng, &r.apps)
	srv, okSrv := pick(r, rng, &r.servers)
	if !okApp || !okSrv {
		n = 0
	}
	switch {
	case n < 20:
		o.name = "cmdb.create_ci"
		in := cmdb.NewCI{Class: cmdb.ClassApplication, Name: "app-" + a.ID}
		server := rng.IntN(4) == 0
		if server {
			// Half of them take a serial number of the shared set, which
			// imports fill too (one CI per serial number, whoever wins);
			// the others one of their own, so that servers to work on
			// remain when those of the shared set are retired.
			sn, name := "SN-"+a.ID, "srv-"+a.ID
			if rng.IntN(2) == 0 {
				s := rng.IntN(serials)
				sn, name = serial(s), serverName(s)
			}
			in = cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: name, Attributes: map[string]string{"serial_number": sn}}
		}
		ci, err := svc.CreateCI(ctx, a, in)
		if err != nil {
			// The serial is unique: an import or another create may hold it.
			w.classify(o, err, "attributes.serial_number")
			return
		}
		o.expect = []expect{{kind: cmdb.KindCI, id: ci.ID, version: 1, types: []string{cmdb.EventCICreated}}}
		w.ops = append(w.ops, o)
		if server {
			keep(r, &r.servers, ci.ID, 3*serials)
		} else {
			keep(r, &r.apps, ci.ID, 24)
		}
	case n < 45:
		o.name = "cmdb.update_ci"
		id := app
		if rng.IntN(2) == 0 {
			id = srv
		}
		owner := []string{"ann", "bob", "cho", "dee"}[rng.IntN(4)]
		ci, err := svc.UpdateCI(ctx, a, id, cmdb.Patch{Owner: &owner})
		if err != nil {
			w.classify(o, err)
			return
		}
		o.expect = []expect{{kind: cmdb.KindCI, id: ci.ID, version: ci.Version, types: []string{cmdb.EventCIUpdated}, mayNoop: true}}
		w.ops = append(w.ops, o)
	case n < 60:
		o.name = "cmdb.set_state"
		id := app
		if rng.IntN(2) == 0 {
			id = srv
		}
		to := []cmdb.State{cmdb.InBuild, cmdb.Operational, cmdb.UnderMaintenance, cmdb.Operational, cmdb.Retired}[rng.IntN(5)]
		if to == cmdb.Retired && rng.IntN(4) != 0 {
			to = cmdb.InBuild // retire seldom: a retired CI takes no more work
		}
		ci, err := svc.SetState(ctx, a, id, to)
		if err != nil {
			w.classify(o, err)
			return
		}
		o.expect = []expect{{kind: cmdb.KindCI, id: ci.ID, version: ci.Version, types: []string{cmdb.EventCIStateChanged}, mayNoop: true}}
		w.ops = append(w.ops, o)
		if ci.State == cmdb.Retired {
			drop(r, &r.apps, id)
			drop(r, &r.servers, id)
		}
	case n < 85:
		o.name = "cmdb.relate"
		rel, err := svc.Relate(ctx, a, cmdb.RunsOn, app, srv)
		if err != nil {
			// Either end may have been retired meanwhile.
			w.classify(o, err, "parent", "child")
			return
		}
		o.expect = []expect{{kind: cmdb.KindRelationship, id: rel.ID, version: rel.Version, types: []string{cmdb.EventRelated}, mayNoop: true}}
		w.ops = append(w.ops, o)
		keep(r, &r.rels, rel.ID, 48)
	default:
		o.name = "cmdb.unrelate"
		id, ok := pick(r, rng, &r.rels)
		if !ok {
			return
		}
		err := svc.Unrelate(ctx, a, id)
		if errors.Is(err, itil.ErrNotFound) {
			o.outcome = refused // removed already (or by a retirement)
			w.ops = append(w.ops, o)
			return
		}
		if err != nil {
			w.classify(o, err)
			return
		}
		o.expect = []expect{{kind: cmdb.KindRelationship, id: id, types: []string{cmdb.EventUnrelated}}}
		w.ops = append(w.ops, o)
	}
}

func serial(i int) string     { return fmt.Sprintf("SN-%02d", i) }
func serverName(i int) string { return fmt.Sprintf("srv-%02d", i) }

// importBatch imports one to three servers from the shared set of serial
// numbers, and sometimes a database instance running on the first.
func (w *worker) importBatch(ctx context.Context) {
	r, rng := w.r, w.rng
	a := w.actor()
	o := op{actor: a.ID, name: "cmdb.import", others: ciKinds}
	var recs []cmdb.ImportRecord
	first := rng.IntN(serials)
	for i := range 1 + rng.IntN(3) {
		s := (first + i) % serials
		recs = append(recs, cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: serverName(s),
			Attributes: map[string]string{"serial_number": serial(s), "ip_address": fmt.Sprintf("10.0.0.%d", rng.IntN(4))}})
	}
	if rng.IntN(2) == 0 {
		recs = append(recs, cmdb.ImportRecord{Class: cmdb.ClassDatabaseInstance, Name: "db-" + serial(first),
			Attributes: map[string]string{"port": "5432"},
			Relationships: []cmdb.ImportRelationship{{Type: cmdb.RunsOn,
				To: cmdb.CIRef{Class: cmdb.ClassServer, Attributes: map[string]string{"serial_number": serial(first)}}}}})
	}
	res, err := w.in.cmdb.Import(ctx, a, cmdb.SourceDiscovery, recs)
	for _, x := range res {
		switch x.Outcome {
		case cmdb.Created:
			o.expect = append(o.expect, expect{kind: cmdb.KindCI, id: x.ID, version: 1, types: []string{cmdb.EventCICreated}})
			if recs[x.Index].Class == cmdb.ClassLinuxServer {
				keep(r, &r.servers, x.ID, 3*serials)
			}
		case cmdb.Updated:
			// An update may only add relationships: the CI's own event is
			// then missing, and its relationship refers to it.
			o.expect = append(o.expect, expect{kind: cmdb.KindCI, id: x.ID, types: []string{cmdb.EventCIUpdated}, mayNoop: true})
		case cmdb.Rejected:
			// A record that names a retired server, say.
			if x.ID != itil.NilID {
				o.forbid = append(o.forbid, x.ID)
			}
		case cmdb.DuplicateCandidate:
			r.fail("%s: import by %s: record %d matched several CIs %v: one serial number, several servers", r.backend, a.ID, x.Index, x.Candidates)
		default:
			if x.ID != itil.NilID {
				o.forbid = append(o.forbid, x.ID)
			}
		}
	}
	if err != nil {
		o.partial = true
		if !errors.Is(err, itil.ErrConflict) {
			r.fail("%s: import by %s: unexpected error: %v", r.backend, a.ID, err)
		}
	}
	w.ops = append(w.ops, o)
}

// monitor runs one monitor round: the clock moves on, and the engine
// records the thresholds reached.
func (w *worker) monitor(ctx context.Context) {
	now := w.r.clock.advance(time.Duration(1+w.rng.IntN(10)) * time.Minute)
	fired, err := w.in.eng.Fire(ctx, now)
	w.fired += len(fired)
	w.rounds++
	if err != nil {
		w.r.fail("%s: monitor round at %s: %v", w.r.backend, now.Format(time.RFC3339), err)
	}
}

// stats are the figures of one run.
type stats struct {
	duration   time.Duration
	acked      map[string]int
	conflicts  map[string]int
	refusals   map[string]int
	noops      int
	events     int
	deliveries int64
	effects    int
	fired      int
	rounds     int
	pollConfl  int64
	stale      int64
	takeovers  int64
}

func (s *stats) report(t *testing.T, backend string) {
	var ack, con, ref int
	var kinds []string
	for k, n := range s.acked {
		ack += n
		kinds = append(kinds, k)
	}
	for k := range s.conflicts {
		if s.acked[k] == 0 {
			kinds = append(kinds, k)
		}
	}
	for _, n := range s.conflicts {
		con += n
	}
	for _, n := range s.refusals {
		ref += n
	}
	sort.Strings(kinds)
	var per []string
	for _, k := range kinds {
		per = append(per, fmt.Sprintf("%s %d/%d/%d", strings.TrimPrefix(strings.TrimPrefix(k, "incident."), "cmdb."),
			s.acked[k], s.conflicts[k], s.refusals[k]))
	}
	line := fmt.Sprintf("soak %s: %s, %d commands acknowledged (%d without a write), %d conflicts, %d refusals, "+
		"%d events; consumer %d deliveries, %d effects, %d poll conflicts, %d stale deliveries, %d pauses; "+
		"monitor %d rounds, %d thresholds",
		backend, s.duration.Round(time.Millisecond), ack, s.noops, con, ref, s.events, s.deliveries, s.effects,
		s.pollConfl, s.stale, s.takeovers, s.rounds, s.fired)
	t.Log(line)
	t.Log("per command (acknowledged/conflicts/refusals): " + strings.Join(per, ", "))
	if *soakFor > 0 || testing.Verbose() {
		fmt.Println(line)
	}
}
