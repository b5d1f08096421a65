package problem_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage/memory"
)

// The known error search benchmarks run over 10k published known errors
// on the memory backend, each naming one to three of 2k CIs (six classes,
// 40 vendor and model pairs) with Zipf-distributed words:
//
//	go test ./problem -run '^$' -bench KnownErrorSearch -benchmem
//
// Each sub-benchmark runs a search through the index and, in the same
// run, a naive scan of the same records (every published known error
// read in rank order and filtered in Go, the CIs' class and model taken
// from a map of the CMDB, as a query-time lookup would at best), and
// reports x-scan: the search's time over the scan's.

const (
	benchKEs   = 10_000
	benchKECIs = 2_000
)

type benchKE struct {
	svc  *problem.Service
	cm   *cmdb.Service
	cis  []itil.ID
	info map[itil.ID]benchCI
	cls  *cmdb.Classes
	// words: two words that occur together in some known errors.
	words string
}

type benchCI struct{ class, model string }

var benchKEClasses = []string{"switch", "firewall", cmdb.ClassLinuxServer, "blade", cmdb.ClassWindowsServer, cmdb.ClassStorageDevice}

var benchKEData = sync.OnceValues(func() (*benchKE, error) {
	ctx := context.Background()
	store := memory.NewStore()
	cs := cmdb.DefaultClasses()
	for _, c := range []cmdb.Class{
		{Name: "switch", Parent: cmdb.ClassNetworkDevice},
		{Name: "firewall", Parent: cmdb.ClassNetworkDevice},
		{Name: "blade", Parent: cmdb.ClassLinuxServer},
		{Name: "modelled", Parent: cmdb.ClassHardware},
	} {
		c.Attributes = []cmdb.Attribute{{Name: "model", Type: cmdb.String}}
		if err := cs.Add(c); err != nil {
			return nil, err
		}
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tick int64
	clock := itil.ClockFunc(func() time.Time { tick++; return start.Add(time.Duration(tick) * time.Millisecond) })
	cm, err := cmdb.New(store, cmdb.WithClasses(cs), cmdb.WithClock(clock))
	if err != nil {
		return nil, err
	}
	svc, err := problem.New(store, problem.WithClock(clock), problem.WithCMDB(cm))
	if err != nil {
		return nil, err
	}
	actor := itil.Actor{ID: "bench"}
	r := rand.New(rand.NewSource(14))
	b := &benchKE{svc: svc, cm: cm, info: map[itil.ID]benchCI{}, cls: cs}
	for i := range benchKECIs {
		class := benchKEClasses[r.Intn(len(benchKEClasses))]
		attrs := map[string]string{"manufacturer": fmt.Sprintf("Vendor%d", r.Intn(8))}
		model := ""
		if class == "switch" || class == "firewall" || class == "blade" {
			model = fmt.Sprintf("M%d", r.Intn(5))
			attrs["model"] = model
		}
		ci, err := cm.CreateCI(ctx, actor, cmdb.NewCI{Class: class, Name: fmt.Sprintf("ci%05d", i), Attributes: attrs})
		if err != nil {
			return nil, err
		}
		b.cis = append(b.cis, ci.ID)
		key := ""
		if model != "" {
			key = attrs["manufacturer"] + "/" + model
		}
		b.info[ci.ID] = benchCI{class, key}
	}
	zipf := rand.NewZipf(r, 1.1, 1, 1999)
	word := func() string { return fmt.Sprintf("w%d", zipf.Uint64()) }
	text := func(n int) string {
		s := word()
		for range n - 1 {
			s += " " + word()
		}
		return s
	}
	ks := svc.KnownErrors()
	for range benchKEs {
		in := problem.NewKnownError{Title: text(5), Symptom: text(20), Workaround: text(10), ErrorCode: fmt.Sprintf("E%d", r.Intn(500))}
		for _, j := range r.Perm(benchKECIs)[:1+r.Intn(3)] {
			in.CIs = append(in.CIs, problem.KnownErrorCI{CIID: b.cis[j]})
		}
		k, err := ks.Create(ctx, actor, in)
		if err != nil {
			return nil, err
		}
		if _, err := ks.Publish(ctx, actor, k.ID); err != nil {
			return nil, err
		}
	}
	b.words = "w20 w31"
	return b, nil
})

func benchKEFixture(b *testing.B) *benchKE {
	d, err := benchKEData()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// scanKEs reads every published known error in rank order and counts
// those keep accepts, stopping at limit (0: no limit).
func scanKEs(b *testing.B, ks *problem.KnownErrors, limit int, keep func(*problem.KnownError) bool) int {
	n := 0
	for k, err := range ks.Search(b.Context(), problem.KnownErrorQuery{}) {
		if err != nil {
			b.Fatal(err)
		}
		if keep(k) {
			n++
			if n == limit {
				break
			}
		}
	}
	return n
}

// benchSearch times search b.N times, then scan a few times, checks that
// they agree on the count and reports x-scan.
func benchSearch(b *testing.B, search func() int, scan func() int) {
	b.ReportAllocs()
	want := scan()
	b.ResetTimer()
	got := 0
	for b.Loop() {
		got = search()
	}
	b.StopTimer()
	if got != want {
		b.Fatalf("search found %d, scan %d", got, want)
	}
	per := b.Elapsed().Seconds() / float64(b.N)
	best := 0.0
	for range 3 {
		t0 := time.Now()
		scan()
		if s := time.Since(t0).Seconds(); best == 0 || s < best {
			best = s
		}
	}
	b.ReportMetric(float64(want), "found")
	b.ReportMetric(per/best, "x-scan")
}

func BenchmarkKnownErrorSearch(b *testing.B) {
	d := benchKEFixture(b)
	ks := d.svc.KnownErrors()
	ctx := context.Background()
	count := func(q problem.KnownErrorQuery) int {
		n := 0
		for _, err := range ks.Search(ctx, q) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		return n
	}
	page := func(q problem.KnownErrorQuery) int {
		items, _, err := ks.SearchPage(ctx, q, 50, "")
		if err != nil {
			b.Fatal(err)
		}
		return len(items)
	}
	want := problem.Words(d.words)
	hasWords := func(k *problem.KnownError) bool {
		have := problem.Words(k.Title + " " + k.Symptom + " " + k.Workaround + " " + k.ErrorCode)
		for _, w := range want {
			if _, ok := slices.BinarySearch(have, w); !ok {
				return false
			}
		}
		return true
	}
	target := d.cis[slices.IndexFunc(d.cis, func(id itil.ID) bool { return d.info[id].model != "" })]
	ti := d.info[target]
	alike := func(k *problem.KnownError) bool {
		for _, c := range k.CIs {
			ci := d.info[c.CIID]
			if c.CIID == target || d.cls.IsA(ci.class, ti.class) || (ti.model != "" && ci.model == ti.model) {
				return true
			}
		}
		return false
	}
	b.Run("words", func(b *testing.B) {
		benchSearch(b, func() int { return count(problem.KnownErrorQuery{Words: d.words}) },
			func() int { return scanKEs(b, ks, 0, hasWords) })
	})
	b.Run("like-ci", func(b *testing.B) {
		benchSearch(b, func() int { return count(problem.KnownErrorQuery{LikeCI: target}) },
			func() int { return scanKEs(b, ks, 0, alike) })
	})
	b.Run("like-model", func(b *testing.B) {
		sameModel := func(k *problem.KnownError) bool {
			for _, c := range k.CIs {
				if c.CIID == target || (ti.model != "" && d.info[c.CIID].model == ti.model) {
					return true
				}
			}
			return false
		}
		benchSearch(b, func() int { return count(problem.KnownErrorQuery{LikeCI: target, LikeBy: problem.LikeModel}) },
			func() int { return scanKEs(b, ks, 0, sameModel) })
	})
	b.Run("like-ci-page", func(b *testing.B) {
		benchSearch(b, func() int { return page(problem.KnownErrorQuery{LikeCI: target}) },
			func() int { return scanKEs(b, ks, 50, alike) })
	})
	b.Run("like-ci-words", func(b *testing.B) {
		benchSearch(b, func() int { return count(problem.KnownErrorQuery{LikeCI: target, Words: "w3"}) },
			func() int {
				return scanKEs(b, ks, 0, func(k *problem.KnownError) bool { return alike(k) && hasWords1(k, "w3") })
			})
	})
}

func hasWords1(k *problem.KnownError, w string) bool {
	_, ok := slices.BinarySearch(problem.Words(k.Title+" "+k.Symptom+" "+k.Workaround+" "+k.ErrorCode), w)
	return ok
}
