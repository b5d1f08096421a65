package change

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// A generated year: 100k changes, each on 1 to 20 CIs drawn (Zipf) from an
// estate of 1M CIs, each CI supporting one of 5k business services (the
// precomputed CI-to-services map a change keeps as its affected
// services), planned over a year for 1 to 8 hours, with one of 200
// assignees.
const (
	benchChanges   = 100_000
	benchCIs       = 1_000_000
	benchServices  = 5_000
	benchAssignees = 200
)

type benchYear struct {
	x        *scheduleIndex
	all      []*planned
	cis      []itil.ID
	services []itil.ID // of cis[k]: services[serviceOf(k)]
	start    int64
}

// serviceOf spreads the CIs over the services by a hash of their rank
// (splitmix64's finalizer), so that a service's CIs are of every rank,
// hot and cold.
func serviceOf(k uint64) uint64 {
	k = (k ^ k>>30) * 0xbf58476d1ce4e5b9
	k = (k ^ k>>27) * 0x94d049bb133111eb
	return (k ^ k>>31) % benchServices
}

// servicesOf returns the distinct services of the CIs cis[k] for k in ks.
func (y *benchYear) servicesOf(ks []uint64) []itil.ID {
	var out []itil.ID
	for _, k := range ks {
		if s := y.services[serviceOf(k)]; !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

var benchYearData *benchYear

func genYear() *benchYear {
	if benchYearData != nil {
		return benchYearData
	}
	r := rand.New(rand.NewPCG(1, 2))
	y := &benchYear{x: newScheduleIndex(), start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
	y.cis = make([]itil.ID, benchCIs)
	for i := range y.cis {
		var id uuid.UUID
		id[0], id[1], id[2], id[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		id[6] = 0x40
		y.cis[i] = id
	}
	y.services = make([]itil.ID, benchServices)
	for i := range y.services {
		var id uuid.UUID
		id[4], id[5] = byte(i>>8), byte(i)
		id[6], id[15] = 0x40, 0x5e
		y.services[i] = id
	}
	zipf := rand.NewZipf(r, 1.2, 1, benchCIs-1)
	year := int64(365 * 24 * time.Hour)
	for i := range benchChanges {
		var id uuid.UUID
		id[8], id[9], id[10], id[11] = 0x80, byte(i>>16), byte(i>>8), byte(i)
		n := 1 + r.IntN(20)
		cis := make([]itil.ID, n)
		ks := make([]uint64, n)
		for k := range cis {
			ks[k] = zipf.Uint64()
			cis[k] = y.cis[ks[k]]
		}
		start := y.start + r.Int64N(year)/int64(15*time.Minute)*int64(15*time.Minute)
		p := &planned{ID: id, Number: "CHG", Slot: slot{start, start + int64(1+r.IntN(8))*int64(time.Hour)}, CIs: cis, Services: y.servicesOf(ks),
			Assignee: "agent" + string(rune('A'+r.IntN(benchAssignees)%26)) + string(rune('a'+r.IntN(benchAssignees)/26))}
		y.all = append(y.all, p)
	}
	y.x.load(y.all)
	benchYearData = y
	return y
}

// probe is a change on 20 CIs (from rank 50 into the tail) for 4 hours in
// the middle of the year.
func (y *benchYear) probe() *planned {
	cis := make([]itil.ID, 20)
	ks := make([]uint64, 20)
	for i := range cis {
		ks[i] = uint64(50 + i*4999)
		cis[i] = y.cis[ks[i]]
	}
	start := y.start + int64(182*24*time.Hour)
	return &planned{ID: itil.NewID(), Slot: slot{start, start + int64(4*time.Hour)}, CIs: cis, Services: y.servicesOf(ks),
		Assignee: "agentBa"}
}

// limitIndex is the hand-written limit: per CI, service and assignee, the
// bookings sorted by start, and a binary search each; it only collects
// the other changes' IDs.
type limitIndex struct {
	byCI       map[itil.ID][]booking
	byService  map[itil.ID][]booking
	byAssignee map[string][]booking
	longest    int64
}

func buildLimit(all []*planned) *limitIndex {
	l := &limitIndex{byCI: map[itil.ID][]booking{}, byService: map[itil.ID][]booking{}, byAssignee: map[string][]booking{}}
	for _, p := range all {
		for _, ci := range p.CIs {
			l.byCI[ci] = append(l.byCI[ci], booking{p.Slot, p.ID})
		}
		for _, svc := range p.Services {
			l.byService[svc] = append(l.byService[svc], booking{p.Slot, p.ID})
		}
		l.byAssignee[p.Assignee] = append(l.byAssignee[p.Assignee], booking{p.Slot, p.ID})
		l.longest = max(l.longest, p.Slot.end-p.Slot.start)
	}
	sortAll := func(b []booking) { slices.SortFunc(b, func(a, c booking) int { return cmp.Compare(a.start, c.start) }) }
	for _, b := range l.byCI {
		sortAll(b)
	}
	for _, b := range l.byService {
		sortAll(b)
	}
	for _, b := range l.byAssignee {
		sortAll(b)
	}
	return l
}

// found appends the conflict of p with the booking q, on the key.
func found(out []Conflict, kind ConflictKind, p *planned, q booking, ci, svc itil.ID, assignee string) []Conflict {
	return append(out, Conflict{Kind: kind, ChangeID: q.change, CIID: ci, ServiceID: svc, Assignee: assignee,
		Start: time.Unix(0, max(p.Slot.start, q.start)).UTC(), End: time.Unix(0, min(p.Slot.end, q.end)).UTC()})
}

func (l *limitIndex) hits(bs []booking, p *planned, kind ConflictKind, ci, svc itil.ID, assignee string, out []Conflict) []Conflict {
	s := p.Slot
	i, _ := slices.BinarySearchFunc(bs, s.start-l.longest, func(b booking, t int64) int { return cmp.Compare(b.start, t) })
	for ; i < len(bs) && bs[i].start < s.end; i++ {
		if bs[i].end > s.start && bs[i].change != p.ID {
			out = found(out, kind, p, bs[i], ci, svc, assignee)
		}
	}
	return out
}

// conflicts finds the same conflicts as the index (for CIs, services and
// the assignee), typed, in the order found: no sort, no numbers.
func (l *limitIndex) conflicts(p *planned, out []Conflict) []Conflict {
	for _, ci := range p.CIs {
		out = l.hits(l.byCI[ci], p, ConflictCIScheduled, ci, itil.NilID, "", out)
	}
	for _, svc := range p.Services {
		out = l.hits(l.byService[svc], p, ConflictServiceAffected, itil.NilID, svc, "", out)
	}
	return l.hits(l.byAssignee[p.Assignee], p, ConflictAssigneeBooked, itil.NilID, itil.NilID, p.Assignee, out)
}

// scanConflicts is the peer: every change, every key.
func scanConflicts(all []*planned, p *planned, out []Conflict) []Conflict {
	for _, q := range all {
		if q.ID == p.ID || !q.Slot.overlaps(p.Slot, false) {
			continue
		}
		bk := booking{q.Slot, q.ID}
		for _, ci := range p.CIs {
			if slices.Contains(q.CIs, ci) {
				out = found(out, ConflictCIScheduled, p, bk, ci, itil.NilID, "")
			}
		}
		for _, svc := range p.Services {
			if slices.Contains(q.Services, svc) {
				out = found(out, ConflictServiceAffected, p, bk, itil.NilID, svc, "")
			}
		}
		if q.Assignee == p.Assignee {
			out = found(out, ConflictAssigneeBooked, p, bk, itil.NilID, itil.NilID, p.Assignee)
		}
	}
	return out
}

// BenchmarkConflictCheck times a conflict check of a change on 20 CIs in
// advanced mode against the year, beside the hand-written limit (per-CI
// sorted arrays, a binary search each) and a scan of all changes:
//
//	go test ./change -run '^$' -bench ConflictCheck -benchtime 2s
func BenchmarkConflictCheck(b *testing.B) {
	y := genYear()
	p := y.probe()
	limit := buildLimit(y.all)
	o := conflictOptions{advanced: true}
	var ids []Conflict
	timeIt := func(f func()) float64 {
		const n = 200
		t0 := time.Now()
		for range n {
			f()
		}
		return float64(time.Since(t0).Nanoseconds()) / n
	}
	var idx, lim, scan float64
	for b.Loop() {
		idx += timeIt(func() { _ = y.x.conflicts(p, o) })
		lim += timeIt(func() { ids = limit.conflicts(p, nil) })
		t0 := time.Now()
		ids = scanConflicts(y.all, p, ids[:0])
		scan += float64(time.Since(t0).Nanoseconds())
	}
	b.ReportMetric(idx/float64(b.N), "index-ns/op")
	b.ReportMetric(lim/float64(b.N), "limit-ns/op")
	b.ReportMetric(idx/lim, "x-limit")
	b.ReportMetric(scan/idx, "scan/index")
}

// BenchmarkFreeSlots times the search for the next 10 free slots of 4
// hours on 20 CIs over 90 days, beside stepping through the 90 days 15
// minutes at a time with a conflict check at each step (what schedulers
// do), and reports it as a multiple of one conflict check too:
//
//	go test ./change -run '^$' -bench FreeSlots -benchtime 20x
func BenchmarkFreeSlots(b *testing.B) {
	y := genYear()
	p := y.probe()
	o := conflictOptions{advanced: true}
	from := time.Unix(0, y.start+int64(150*24*time.Hour)).UTC()
	until := from.Add(DefaultSearchWindow)
	d := 4 * time.Hour
	var search, step, check float64
	for b.Loop() {
		t0 := time.Now()
		got := y.x.freeSlots(p, nil, d, from, until, DefaultSlots, o)
		search += float64(time.Since(t0).Nanoseconds())
		if len(got) == 0 {
			b.Fatal("no free slot")
		}
		t0 = time.Now()
		found, free := 0, false
		for s := from.UnixNano(); s+int64(d) <= until.UnixNano() && found < DefaultSlots; s += int64(15 * time.Minute) {
			ok := len(y.x.conflictsAt(p, nil, slot{s, s + int64(d)}, o)) == 0
			if ok && !free {
				found++ // a slot begins
			}
			free = ok
		}
		step += float64(time.Since(t0).Nanoseconds())
		t0 = time.Now()
		for range 100 {
			_ = y.x.conflictsAt(p, nil, slot{from.UnixNano(), from.UnixNano() + int64(d)}, o)
		}
		check += float64(time.Since(t0).Nanoseconds()) / 100
	}
	b.ReportMetric(search/float64(b.N), "search-ns/op")
	b.ReportMetric(step/search, "step/search")
	b.ReportMetric(search/check, "x-check")
}

// serviceYear is the generated year opened through a Service on the
// memory backend, and the probe opened last.
type serviceYear struct {
	svc   *Service
	probe *Change
}

var serviceYearData *serviceYear

// benchSchedules is how many schedules the year has: four maintenance
// schedules (a weekly overnight window, on 1 to 20 CIs, in one of three
// zones) to one blackout (1 to 14 days, on 1 to 100 CIs). The first
// maintenance schedule covers the probe's first CI, and the first
// blackout its second CI over the probe's days.
const benchSchedules = 1000

func (y *benchYear) schedules() []ScheduleSpec {
	r := rand.New(rand.NewPCG(3, 4))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York"}
	probe := y.probe()
	pick := func(n int) []itil.ID {
		out := make([]itil.ID, 0, n)
		for range n {
			if id := y.cis[r.IntN(len(y.cis))]; !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		return out
	}
	var out []ScheduleSpec
	for i := range benchSchedules {
		if i%5 != 4 {
			var week calendar.Week
			week[time.Saturday] = []calendar.Window{{Start: calendar.At(22, 0), End: calendar.At(6, 0), Overnight: true}}
			spec := ScheduleSpec{Name: fmt.Sprint("maintenance ", i), Type: MaintenanceSchedule,
				Windows: calendar.Spec{Zone: zones[r.IntN(len(zones))], Week: week}, Scope: Scope{CIs: pick(1 + r.IntN(20))}}
			if i == 0 {
				spec.Scope.CIs = append(spec.Scope.CIs, probe.CIs[0])
			}
			out = append(out, spec)
			continue
		}
		from := time.Unix(0, y.start).UTC().AddDate(0, 0, r.IntN(365))
		if i == 4 {
			from = time.Unix(0, probe.Slot.start).UTC().AddDate(0, 0, -1)
		}
		spec := ScheduleSpec{Name: fmt.Sprint("freeze ", i), Type: BlackoutSchedule, Windows: calendar.Spec{Zone: "UTC"},
			Ranges: []DateRange{{From: calendar.DateOf(from), To: calendar.DateOf(from.AddDate(0, 0, r.IntN(14)))}},
			Scope:  Scope{CIs: pick(1 + r.IntN(100))}}
		if i == 4 {
			spec.Scope.CIs = append(spec.Scope.CIs, probe.CIs[1])
		}
		out = append(out, spec)
	}
	return out
}

// genServiceYear stores the year's changes and the probe (in New,
// scheduled, with their affected services), their calendar slots and the
// schedules, with their creation events, straight into a memory store, as
// Open and CreateSchedule would have journaled them, but without each
// Open's rebooking of the changes it conflicts with: on this estate most
// changes share the hottest CI, so every Open would judge again the fifty
// or so it overlaps.
func genServiceYear(b *testing.B, y *benchYear) *serviceYear {
	if serviceYearData != nil {
		return serviceYearData
	}
	ctx := context.Background()
	now := time.Unix(0, y.start).UTC().Add(-24 * time.Hour)
	store := memory.NewStore()
	svc, err := New(store, WithClock(itil.ClockFunc(func() time.Time { return now })))
	if err != nil {
		b.Fatal(err)
	}
	actor := itil.Actor{ID: "bench"}
	distinctCIs := func(p *planned) []itil.ID {
		var cis []itil.ID // Zipf draws a CI more than once
		for _, id := range p.CIs {
			if !slices.Contains(cis, id) {
				cis = append(cis, id)
			}
		}
		return cis
	}
	all := append(slices.Clone(y.all), y.probe()) // the probe last
	for from := 0; from < len(all); from += 5000 {
		err := store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			for i, p := range all[from:min(from+5000, len(all))] {
				cis := distinctCIs(p)
				var services []AffectedService
				for _, id := range p.Services {
					services = append(services, AffectedService{ServiceID: id})
				}
				ch := &Change{ID: p.ID, Number: fmt.Sprintf("CHG%07d", from+i+1), Model: ModelNormal, State: StateNew,
					Title: "generated", RequestedBy: actor, Assignee: p.Assignee, CIID: cis[0], CIIDs: cis[1:],
					AffectedServices: services, PlannedStart: time.Unix(0, p.Slot.start).UTC(),
					PlannedEnd: time.Unix(0, p.Slot.end).UTC(), OpenedAt: now}
				if err := storeCreated(ctx, tx, changes, ch, ch.ID, &ch.Version, Kind, EventOpened, actor, now); err != nil {
					return err
				}
				if err := putSlot(ctx, tx, ch); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	err = store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		for _, spec := range y.schedules() {
			sc := &Schedule{ID: itil.NewID(), Spec: spec, State: ScheduleEnforced, CreatedBy: actor, CreatedAt: now,
				EnforcedBy: actor, EnforcedAt: now, UpdatedAt: now}
			if err := storeCreated(ctx, tx, schedules, sc, sc.ID, &sc.Version, KindSchedule, EventScheduleEnforced, actor, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	probe, err := svc.Get(ctx, all[len(all)-1].ID)
	if err != nil {
		b.Fatal(err)
	}
	serviceYearData = &serviceYear{svc: svc, probe: probe}
	return serviceYearData
}

// storeCreated puts v and journals its creation as a command would
// (pipeline.Journal, the entity as created in the payload).
func storeCreated[T any](ctx context.Context, tx storage.Tx, c *storage.Collection[T], v *T, id itil.ID, version *int64,
	kind, typ string, actor itil.Actor, now time.Time) error {
	data, err := c.PutJSON(ctx, tx, v)
	if err != nil {
		return err
	}
	return pipeline.Journal(ctx, tx, actor, now, kind, id, *version, pipeline.Event{Type: typ},
		itil.Payload{Summary: "created", Created: json.RawMessage(data)})
}

// BenchmarkConflictCheckService times Service.Conflicts for the probe
// (20 CIs, advanced mode) on the generated year stored through a Service
// on the memory backend: a read transaction, the change read, the
// schedule index caught up, the schedules read, and the check. Beside it,
// on the same data: Service.Get of the probe (the floor of any call that
// reads the change), the hand-written limit, the pure index and the scan
// of all changes:
//
//	go test ./change -run '^$' -bench ConflictCheckService -benchtime 2000x
func BenchmarkConflictCheckService(b *testing.B) {
	y := genYear()
	sy := genServiceYear(b, y)
	p := plannedOf(sy.probe)
	limit := buildLimit(y.all)
	ctx := context.Background()
	var ids []Conflict
	var svcNs, get, lim, idx, scan float64
	timeIt := func(n int, f func()) float64 { // n in a row, per call
		t0 := time.Now()
		for range n {
			f()
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(n)
	}
	// The first check builds the Service's index from the journal.
	if _, err := sy.svc.Conflicts(ctx, sy.probe.ID); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		svcNs += timeIt(20, func() {
			if _, err := sy.svc.Conflicts(ctx, sy.probe.ID); err != nil {
				b.Fatal(err)
			}
		})
		get += timeIt(20, func() {
			if _, err := sy.svc.Get(ctx, sy.probe.ID); err != nil {
				b.Fatal(err)
			}
		})
		lim += timeIt(20, func() { ids = limit.conflicts(p, nil) })
		idx += timeIt(20, func() { _ = y.x.conflicts(p, conflictOptions{advanced: true}) })
		scan += timeIt(1, func() { ids = scanConflicts(y.all, p, ids[:0]) })
	}
	b.ReportMetric(svcNs/float64(b.N), "service-ns/op")
	b.ReportMetric(get/float64(b.N), "get-ns/op")
	b.ReportMetric(svcNs/get, "service/get")
	b.ReportMetric(svcNs/lim, "service/limit")
	b.ReportMetric(svcNs/idx, "service/index")
	b.ReportMetric(scan/svcNs, "scan/service")
}

// BenchmarkMoveBlackout moves an enforced seven-day blackout on 100 CIs
// (the hottest among them) by a week and back, on the generated year
// stored through a Service: each move judges again, in its transaction,
// the changes in the old and new dates on the CIs it covers, and no
// others. It reports the changes the move read and judged against all
// changes:
//
//	go test ./change -run '^$' -bench MoveBlackout -benchtime 6x
func BenchmarkMoveBlackout(b *testing.B) {
	y := genYear()
	sy := genServiceYear(b, y)
	ctx := context.Background()
	actor := itil.Actor{ID: "bench"}
	cis := []itil.ID{y.cis[0]}
	for i := 1; len(cis) < 100; i++ {
		cis = append(cis, y.cis[i*9973])
	}
	week := func(n int) ScheduleSpec {
		from := time.Unix(0, y.start).UTC().AddDate(0, 0, 7*n)
		return ScheduleSpec{Name: "moved freeze", Type: BlackoutSchedule, Windows: calendar.Spec{Zone: "UTC"},
			Ranges: []DateRange{{From: calendar.DateOf(from), To: calendar.DateOf(from.AddDate(0, 0, 6))}}, Scope: Scope{CIs: cis}}
	}
	sc, err := sy.svc.CreateSchedule(ctx, actor, week(20))
	if err == nil {
		_, err = sy.svc.ApproveSchedule(ctx, actor, sc.ID)
	}
	if err == nil {
		_, err = sy.svc.EnforceSchedule(ctx, actor, sc.ID)
	}
	if err != nil {
		b.Fatal(err)
	}
	var read, judged int
	onScheduleJudged = func(r, j int) { read, judged = read+r, judged+j }
	defer func() { onScheduleJudged = nil }()
	n := 0
	for b.Loop() {
		n++
		if _, err := sy.svc.UpdateSchedule(ctx, actor, sc.ID, week(20+n%2)); err != nil {
			b.Fatal(err)
		}
	}
	all := float64(len(y.all) + 1)
	b.ReportMetric(float64(read)/float64(n), "read/op")
	b.ReportMetric(float64(judged)/float64(n), "judged/op")
	b.ReportMetric(float64(read)/float64(n)/all, "read/all")
	b.ReportMetric(float64(judged)/float64(n)/all, "judged/all")
}
