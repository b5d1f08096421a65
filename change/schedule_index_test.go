package change

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
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
				c.Kind, c.CIID = ConflictCI, ci
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
					c.Kind, c.CIID, c.RelatedCIID = ConflictRelatedCI, ci, r
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
				c.Kind, c.ServiceID = ConflictService, sv
				out = append(out, c)
			}
		}
		if p.Assignee != "" && p.Assignee == q.Assignee {
			c := base
			c.Kind, c.Assignee = ConflictAssignee, p.Assignee
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
		assert.Equal(t, ConflictCI, got[0].Kind)
		assert.Equal(t, "CHG0001001", got[0].Number)
		assert.True(t, got[0].Start.Equal(got[0].End), "they share an instant")
	}
	x.remove(idOf("change", 0))
	assert.Empty(t, x.conflicts(next, conflictOptions{touching: true}))
}
