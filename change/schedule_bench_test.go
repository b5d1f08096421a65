package change

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
)

// A generated year: 100k changes, each on 1 to 20 CIs drawn (Zipf) from an
// estate of 1M CIs, planned over a year for 1 to 8 hours, with one of 200
// assignees.
const (
	benchChanges   = 100_000
	benchCIs       = 1_000_000
	benchAssignees = 200
)

type benchYear struct {
	x     *scheduleIndex
	all   []*planned
	cis   []itil.ID
	start int64
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
	zipf := rand.NewZipf(r, 1.2, 1, benchCIs-1)
	year := int64(365 * 24 * time.Hour)
	for i := range benchChanges {
		var id uuid.UUID
		id[8], id[9], id[10], id[11] = 0x80, byte(i>>16), byte(i>>8), byte(i)
		n := 1 + r.IntN(20)
		cis := make([]itil.ID, n)
		for k := range cis {
			cis[k] = y.cis[zipf.Uint64()]
		}
		start := y.start + r.Int64N(year)/int64(15*time.Minute)*int64(15*time.Minute)
		p := &planned{ID: id, Number: "CHG", Slot: slot{start, start + int64(1+r.IntN(8))*int64(time.Hour)}, CIs: cis,
			Assignee: "agent" + string(rune('A'+r.IntN(benchAssignees)%26)) + string(rune('a'+r.IntN(benchAssignees)/26))}
		y.all = append(y.all, p)
		y.x.put(p)
	}
	benchYearData = y
	return y
}

// probe is a change on 20 CIs (from rank 50 into the tail) for 4 hours in
// the middle of the year.
func (y *benchYear) probe() *planned {
	cis := make([]itil.ID, 20)
	for i := range cis {
		cis[i] = y.cis[50+i*4999]
	}
	start := y.start + int64(182*24*time.Hour)
	return &planned{ID: itil.NewID(), Slot: slot{start, start + int64(4*time.Hour)}, CIs: cis, Assignee: "agentBa"}
}

// limitIndex is the hand-written limit: per CI (and assignee), the
// bookings sorted by start, and a binary search each; it only collects
// the other changes' IDs.
type limitIndex struct {
	byCI       map[itil.ID][]booking
	byAssignee map[string][]booking
	longest    int64
}

func buildLimit(all []*planned) *limitIndex {
	l := &limitIndex{byCI: map[itil.ID][]booking{}, byAssignee: map[string][]booking{}}
	for _, p := range all {
		for _, ci := range p.CIs {
			l.byCI[ci] = append(l.byCI[ci], booking{p.Slot, p.ID})
		}
		l.byAssignee[p.Assignee] = append(l.byAssignee[p.Assignee], booking{p.Slot, p.ID})
		l.longest = max(l.longest, p.Slot.end-p.Slot.start)
	}
	sortAll := func(b []booking) { slices.SortFunc(b, func(a, c booking) int { return cmp.Compare(a.start, c.start) }) }
	for _, b := range l.byCI {
		sortAll(b)
	}
	for _, b := range l.byAssignee {
		sortAll(b)
	}
	return l
}

func (l *limitIndex) hits(bs []booking, s slot, out []itil.ID) []itil.ID {
	i, _ := slices.BinarySearchFunc(bs, s.start-l.longest, func(b booking, t int64) int { return cmp.Compare(b.start, t) })
	for ; i < len(bs) && bs[i].start < s.end; i++ {
		if bs[i].end > s.start {
			out = append(out, bs[i].change)
		}
	}
	return out
}

func (l *limitIndex) conflicts(p *planned, out []itil.ID) []itil.ID {
	for _, ci := range p.CIs {
		out = l.hits(l.byCI[ci], p.Slot, out)
	}
	return l.hits(l.byAssignee[p.Assignee], p.Slot, out)
}

// scanConflicts is the peer: every change, every CI.
func scanConflicts(all []*planned, p *planned, out []itil.ID) []itil.ID {
	for _, q := range all {
		if !q.Slot.overlaps(p.Slot, false) {
			continue
		}
		for _, ci := range p.CIs {
			if slices.Contains(q.CIs, ci) {
				out = append(out, q.ID)
			}
		}
		if q.Assignee == p.Assignee {
			out = append(out, q.ID)
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
	var ids []itil.ID
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
		lim += timeIt(func() { ids = limit.conflicts(p, ids[:0]) })
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
