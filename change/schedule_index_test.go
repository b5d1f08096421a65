package change

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm/calendar"
)

// naiveConflicts is the all-pairs oracle: every other change, every key.
func naiveConflicts(all map[itil.ID]*planned, p *planned, o conflictOptions) []Conflict {
	var out []Conflict
	cis := p.CIs
	if !o.advanced && len(cis) > 1 {
		cis = cis[:1]
	}
	var mine []itil.ID
	for _, c := range cis {
		if c != itil.NilID && !slices.Contains(mine, c) {
			mine = append(mine, c)
		}
	}
	for _, q := range all {
		if q.ID == p.ID || !p.Slot.overlaps(q.Slot, o.touching) {
			continue
		}
		s := time.Unix(0, max(p.Slot.start, q.Slot.start)).UTC()
		e := time.Unix(0, min(p.Slot.end, q.Slot.end)).UTC()
		base := Conflict{ChangeID: q.ID, Number: q.Number, Start: s, End: e}
		for _, ci := range mine {
			if slices.Contains(q.CIs, ci) {
				c := base
				c.Kind, c.CIID = ConflictCIScheduled, ci
				out = append(out, c)
			}
			if o.related == nil {
				continue
			}
			var rels []itil.ID
			for _, r := range o.related(ci) {
				if r != ci && !slices.Contains(rels, r) {
					rels = append(rels, r)
				}
			}
			for _, r := range rels {
				if slices.Contains(q.CIs, r) {
					c := base
					c.Kind, c.CIID, c.RelatedCIID = ConflictRelatedCIScheduled, ci, r
					out = append(out, c)
				}
			}
		}
		var svcs []itil.ID
		for _, sv := range p.Services {
			if sv != itil.NilID && !slices.Contains(svcs, sv) {
				svcs = append(svcs, sv)
			}
		}
		for _, sv := range svcs {
			if slices.Contains(q.Services, sv) {
				c := base
				c.Kind, c.ServiceID = ConflictServiceAffected, sv
				out = append(out, c)
			}
		}
		if p.Assignee != "" && p.Assignee == q.Assignee {
			c := base
			c.Kind, c.Assignee = ConflictAssigneeBooked, p.Assignee
			out = append(out, c)
		}
	}
	sortConflicts(out)
	return out
}

func idOf(space string, i int) itil.ID {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(space+"/"+string(rune('a'+i))))
}

// TestScheduleIndexMatchesNaive: on random schedules, the index finds
// exactly the conflicts the all-pairs oracle finds.
func TestScheduleIndexMatchesNaive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := newScheduleIndex()
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
		ci := rapid.Custom(func(t *rapid.T) itil.ID { return idOf("ci", rapid.IntRange(0, 5).Draw(t, "ci")) })
		svc := rapid.Custom(func(t *rapid.T) itil.ID { return idOf("svc", rapid.IntRange(0, 2).Draw(t, "svc")) })
		draw := func(t *rapid.T, label string) *planned {
			start := base + int64(rapid.IntRange(0, 40).Draw(t, "start"))*int64(15*time.Minute)
			length := int64(rapid.IntRange(0, 16).Draw(t, "length")) * int64(15*time.Minute)
			return &planned{
				ID:       idOf("change", rapid.IntRange(0, 7).Draw(t, label)),
				Number:   label,
				Slot:     slot{start, start + length},
				CIs:      rapid.SliceOfN(ci, 0, 4).Draw(t, "cis"),
				Services: rapid.SliceOfN(svc, 0, 2).Draw(t, "services"),
				Assignee: rapid.SampledFrom([]string{"", "ana", "bo"}).Draw(t, "assignee"),
			}
		}
		rel := map[itil.ID][]itil.ID{}
		for i := range 6 {
			rel[idOf("ci", i)] = rapid.SliceOfN(ci, 0, 3).Draw(t, "related")
		}
		o := conflictOptions{advanced: rapid.Bool().Draw(t, "advanced"), touching: rapid.Bool().Draw(t, "touching")}
		if rapid.Bool().Draw(t, "with relations") {
			o.related = func(id itil.ID) []itil.ID { return rel[id] }
		}
		t.Repeat(map[string]func(*rapid.T){
			"put": func(t *rapid.T) {
				p := draw(t, "change")
				p.Number = p.ID.String()
				x.put(p)
			},
			"remove": func(t *rapid.T) { x.remove(idOf("change", rapid.IntRange(0, 7).Draw(t, "change"))) },
			"": func(t *rapid.T) {
				p := draw(t, "probe")
				if q, ok := x.changes[p.ID]; ok {
					p.Number = q.Number
				}
				got, want := x.conflicts(p, o), naiveConflicts(x.changes, p, o)
				if !slices.EqualFunc(got, want, func(a, b Conflict) bool { return a == b }) {
					t.Fatalf("index %v\noracle %v", got, want)
				}
			},
		})
	})
}

func TestScheduleIndexTouching(t *testing.T) {
	x := newScheduleIndex()
	db := idOf("ci", 0)
	at := func(h int) int64 { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC).UnixNano() }
	x.put(&planned{ID: idOf("change", 0), Number: "CHG0001001", Slot: slot{at(22), at(23)}, CIs: []itil.ID{db}})
	next := &planned{ID: idOf("change", 1), Number: "CHG0001002", Slot: slot{at(23), at(24)}, CIs: []itil.ID{db}}
	assert.Empty(t, x.conflicts(next, conflictOptions{}), "touching ends are not overlaps")
	got := x.conflicts(next, conflictOptions{touching: true})
	if assert.Len(t, got, 1) {
		assert.Equal(t, ConflictCIScheduled, got[0].Kind)
		assert.Equal(t, "CHG0001001", got[0].Number)
		assert.True(t, got[0].Start.Equal(got[0].End), "they share an instant")
	}
	x.remove(idOf("change", 0))
	assert.Empty(t, x.conflicts(next, conflictOptions{touching: true}))
}

// oracleSlots steps minute by minute: a start is free when the window of
// length d from it has no conflict; a slot is a run of free starts.
func oracleSlots(x *scheduleIndex, p *planned, w *windowSet, d time.Duration, from, until time.Time, n int, o conflictOptions) []FreeSlot {
	var out []FreeSlot
	runStart, last := int64(-1), int64(0)
	flush := func() {
		if runStart >= 0 && len(out) < n {
			out = append(out, FreeSlot{time.Unix(0, runStart).UTC(), time.Unix(0, last+int64(d)).UTC()})
		}
		runStart = -1
	}
	for m := from.UnixNano(); m+int64(d) <= until.UnixNano(); m += int64(time.Minute) {
		if len(x.conflictsAt(p, w, slot{m, m + int64(d)}, o)) == 0 {
			if runStart < 0 {
				runStart = m
			}
			last = m
		} else {
			flush()
		}
	}
	flush()
	return out
}

// TestFreeSlotsMatchOracle: on random schedules, bookings and windows,
// the slots the search jumps to are those a minute-by-minute walk finds:
// each free, and no earlier free start missed.
func TestFreeSlotsMatchOracle(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	rapid.Check(t, func(t *rapid.T) {
		// Around the spring-forward or the fall-back night, in New York.
		base := time.Date(2026, 3, 7, 0, 0, 0, 0, ny)
		if rapid.Bool().Draw(t, "fall back") {
			base = time.Date(2026, 10, 31, 0, 0, 0, 0, ny)
		}
		x := newScheduleIndex()
		ci := rapid.Custom(func(t *rapid.T) itil.ID { return idOf("ci", rapid.IntRange(0, 3).Draw(t, "ci")) })
		for i := range rapid.IntRange(0, 8).Draw(t, "bookings") {
			start := base.Add(time.Duration(rapid.IntRange(0, 12*4*3).Draw(t, "start")) * 15 * time.Minute).UnixNano()
			x.put(&planned{ID: idOf("change", i+1), Number: "other",
				Slot: slot{start, start + int64(rapid.IntRange(1, 16).Draw(t, "length"))*int64(15*time.Minute)},
				CIs:  rapid.SliceOfN(ci, 1, 3).Draw(t, "cis"), Assignee: rapid.SampledFrom([]string{"", "ana"}).Draw(t, "assignee")})
		}
		w := &windowSet{}
		for i := range rapid.IntRange(0, 3).Draw(t, "schedules") {
			var week calendar.Week
			for day := range 7 {
				if rapid.Bool().Draw(t, "open day") {
					sh := rapid.IntRange(0, 23).Draw(t, "from hour")
					w := calendar.Window{Start: calendar.At(sh, 30*rapid.IntRange(0, 1).Draw(t, "half")),
						End: calendar.At(rapid.IntRange(0, 23).Draw(t, "to hour"), 0)}
					w.Overnight = w.End <= w.Start
					week[day] = []calendar.Window{w}
				}
			}
			spec := ScheduleSpec{Name: "s", Type: rapid.SampledFrom([]ScheduleType{MaintenanceSchedule, BlackoutSchedule}).Draw(t, "type"),
				Windows: calendar.Spec{Zone: "America/New_York", Week: week},
				Scope:   Scope{CIs: rapid.SliceOfN(ci, 1, 2).Draw(t, "scope")}}
			if rapid.Bool().Draw(t, "range") {
				d := calendar.DateOf(base.AddDate(0, 0, 1))
				spec.Ranges = []DateRange{{From: d, To: d}}
			}
			sc, err := compileSchedule(spec)
			if err != nil {
				continue // a week with no window and no range
			}
			w.schedules = append(w.schedules, scheduleRef{idOf("sched", i), sc})
		}
		rel := map[itil.ID][]itil.ID{}
		for i := range 4 {
			rel[idOf("ci", i)] = rapid.SliceOfN(ci, 0, 2).Draw(t, "related")
		}
		o := conflictOptions{advanced: rapid.Bool().Draw(t, "advanced")}
		if rapid.Bool().Draw(t, "with relations") {
			o.related = func(id itil.ID) []itil.ID { return rel[id] }
		}
		p := &planned{ID: idOf("change", 0), CIs: rapid.SliceOfN(ci, 1, 3).Draw(t, "mine"),
			Assignee: rapid.SampledFrom([]string{"", "ana"}).Draw(t, "my assignee")}
		d := time.Duration(rapid.IntRange(1, 8).Draw(t, "duration")) * 15 * time.Minute
		from := base.Add(time.Duration(rapid.IntRange(0, 24*60).Draw(t, "not before")) * time.Minute)
		until := base.Add(3 * 24 * time.Hour)
		n := rapid.IntRange(1, 6).Draw(t, "n")
		plain := &windowSet{schedules: w.schedules} // every schedule checked
		if rapid.Bool().Draw(t, "scope index") {
			w.scope = newScopeIndex(w.schedules)
		}
		got := x.freeSlots(p, w, d, from, until, n, o)
		want := oracleSlots(x, p, plain, d, from, until, n, o)
		if len(got) != len(want) {
			t.Fatalf("search %v\noracle %v", got, want)
		}
		for i := range got {
			if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
				t.Fatalf("slot %d: search %v, oracle %v\nall: %v\n%v", i, got[i], want[i], got, want)
			}
		}
	})
}
