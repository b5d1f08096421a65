package lifecycletest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy"
)

// testKPIModel: on random histories made on two instances (incidents,
// standard changes closed successful or not, satisfaction surveys), the
// KPIs one instance keeps current, caught up as it goes, equal those a
// fresh Service computes from the whole journal at once; and both equal
// a model that counts what the actions did: the resolutions (with their
// times and whether the incident had been reassigned or reopened) and
// the incidents open at each day's end, in all and by group, the changes
// closed and failed, and the surveys' mean score, each day. The kept
// and the batch KPIs are compared broken down every way, in zones whose
// days are not UTC's.
func testKPIModel(t *testing.T, instances storagetest.Instances) {
	rapid.Check(t, func(rt *rapid.T) {
		s1, s2 := instances(t)
		day0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		clock := testkit.ClockAt(day0)
		a, b := setup(t, s1, clock), setup(t, s2, clock)
		type model struct {
			id                   itil.ID
			opened               time.Time
			group                string
			open, resolved       bool
			reassigned, reopened bool
		}
		var incs []*model
		type res struct {
			at, opened           time.Time
			reassigned, reopened bool
		}
		var resolutions []res
		type closedChange struct {
			day    int
			failed bool
		}
		var closed []closedChange
		surveys := map[int][]int{} // day → scores (answers on a 0-4 scale, times 25)
		var entry *strategy.Entry
		openAt := map[int]int{}                 // day → incidents open at its end
		openByGroup := map[int]map[string]int{} // day → group → incidents open at its end
		q := lifecycle.KPIQuery{From: day0, To: day0.AddDate(0, 0, 7), Every: lifecycle.Daily}
		pick := func(label string, keep func(*model) bool) *model {
			var c []*model
			for _, m := range incs {
				if keep(m) {
					c = append(c, m)
				}
			}
			if len(c) == 0 {
				return nil
			}
			return rapid.SampledFrom(c).Draw(rt, label)
		}
		svcOf := func() *fixture { return rapid.SampledFrom([]*fixture{a, b}).Draw(rt, "instance") }
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for range steps {
			clock.Advance(time.Duration(rapid.IntRange(1, 12*60).Draw(rt, "minutes")) * time.Minute)
			if !clock.Now().Before(q.To) {
				break
			}
			f := svcOf()
			switch rapid.IntRange(0, 6).Draw(rt, "action") {
			case 5:
				failed := rapid.Bool().Draw(rt, "failed")
				code := change.Successful
				if failed {
					code = change.Unsuccessful
				}
				f.closeChange(f.standardChange().ID, code)
				closed = append(closed, closedChange{day: int(clock.Now().Sub(day0) / (24 * time.Hour)), failed: failed})
			case 6:
				if entry == nil {
					entry, _, _ = a.proposed()
					_, err := a.portfolio.AddCustomer(a.ctx, planner, "acme", "Acme", nil)
					require.NoError(rt, err)
				}
				answer := rapid.IntRange(0, 4).Draw(rt, "answer")
				_, err := f.portfolio.RecordSurvey(f.ctx, planner, entry.ID, "acme", clock.Now(),
					[]strategy.Question{{Text: "How satisfied are you?", Min: 0, Max: 4}}, []int{answer})
				require.NoError(rt, err)
				d := int(clock.Now().Sub(day0) / (24 * time.Hour))
				surveys[d] = append(surveys[d], answer*25)
			case 0:
				inc, err := f.incidents.Open(f.ctx, desk, incident.NewIncident{Title: "x", Caller: caller, Channel: incident.Phone,
					Impact: itil.Impact(rapid.IntRange(1, 3).Draw(rt, "impact")), Urgency: itil.Urgency(rapid.IntRange(1, 3).Draw(rt, "urgency"))})
				require.NoError(rt, err)
				incs = append(incs, &model{id: inc.ID, opened: clock.Now(), open: true})
			case 1:
				if m := pick("assign", func(m *model) bool { return m.open }); m != nil {
					g := rapid.SampledFrom([]string{"network", "messaging"}).Draw(rt, "group")
					if g != m.group {
						_, err := f.incidents.Assign(f.ctx, desk, m.id, g, "sam")
						require.NoError(rt, err)
						if m.group != "" {
							m.reassigned = true
						}
						m.group = g
					}
				}
			case 2:
				if m := pick("resolve", func(m *model) bool { return m.open && m.group != "" }); m != nil {
					_, err := f.incidents.Resolve(f.ctx, desk, m.id, "solution_provided", "fixed")
					require.NoError(rt, err)
					m.open, m.resolved = false, true
					resolutions = append(resolutions, res{at: clock.Now(), opened: m.opened, reassigned: m.reassigned, reopened: m.reopened})
				}
			case 3:
				if m := pick("reopen", func(m *model) bool { return m.resolved }); m != nil {
					_, err := f.incidents.Reopen(f.ctx, caller, m.id, "again")
					require.NoError(rt, err)
					m.open, m.resolved, m.reopened = true, false, true
				}
			case 4:
				// A read on the first instance: it catches up.
				_, err := a.svc.KPIs(a.ctx, q)
				require.NoError(rt, err)
			}
			day := int(clock.Now().Sub(day0) / (24 * time.Hour))
			n, byGroup := 0, map[string]int{}
			for _, m := range incs {
				if m.open {
					n++
					byGroup[m.group]++
				}
			}
			for d := day; d < 7; d++ {
				openAt[d], openByGroup[d] = n, byGroup // until something changes, the same at each later day's end
			}
		}
		kept, err := a.svc.KPIs(a.ctx, q)
		require.NoError(rt, err)
		fresh := setup(t, s2, clock)
		batch, err := fresh.svc.KPIs(fresh.ctx, q)
		require.NoError(rt, err)
		require.Equal(rt, batch, kept, "kept current = computed at once")
		for _, by := range []lifecycle.Dimension{lifecycle.ByGroup, lifecycle.ByPriority, lifecycle.ByService} {
			for _, every := range []lifecycle.Granularity{lifecycle.Daily, lifecycle.Weekly, lifecycle.Monthly} {
				other := lifecycle.KPIQuery{From: q.From, To: q.To, Every: every, By: by,
					Zone: rapid.SampledFrom([]string{"", "America/New_York", "Asia/Kolkata"}).Draw(rt, "zone")}
				kept, err := a.svc.KPIs(a.ctx, other)
				require.NoError(rt, err)
				batch, err := fresh.svc.KPIs(fresh.ctx, other)
				require.NoError(rt, err)
				require.Equal(rt, batch, kept, "kept current = computed at once, %+v", other)
			}
		}
		byGroup, err := a.svc.KPIs(a.ctx, lifecycle.KPIQuery{From: q.From, To: q.To, Every: lifecycle.Daily, By: lifecycle.ByGroup})
		require.NoError(rt, err)
		gotByGroup := map[int]map[string]int{}
		for _, p := range byGroup {
			if p.KPI == lifecycle.KPIBacklog {
				d := int(p.Period.Sub(day0) / (24 * time.Hour))
				if gotByGroup[d] == nil {
					gotByGroup[d] = map[string]int{}
				}
				gotByGroup[d][p.Key] = p.Count
			}
		}
		for d := range 7 {
			want := map[string]int{}
			for g, n := range openByGroup[d] {
				if n > 0 {
					want[g] = n
				}
			}
			if gotByGroup[d] == nil {
				gotByGroup[d] = map[string]int{}
			}
			require.Equal(rt, want, gotByGroup[d], "backlog by group at the end of day %d", d)
		}

		// The model's resolutions and backlog.
		type cell struct {
			kpi string
			day int
		}
		got := map[cell]lifecycle.KPIPoint{}
		for _, p := range kept {
			got[cell{p.KPI, int(p.Period.Sub(day0) / (24 * time.Hour))}] = p
		}
		perDay := map[int][]res{}
		for _, r := range resolutions {
			d := int(r.at.Sub(day0) / (24 * time.Hour))
			perDay[d] = append(perDay[d], r)
		}
		for d := range 7 {
			rs := perDay[d]
			p := got[cell{lifecycle.KPITimeToResolve, d}]
			require.Equal(rt, len(rs), p.Count, "resolutions on day %d", d)
			if len(rs) > 0 {
				var sum time.Duration
				far, reopened := 0, 0
				for _, r := range rs {
					sum += r.at.Sub(r.opened)
					if !r.reassigned {
						far++
					}
					if r.reopened {
						reopened++
					}
				}
				require.Equal(rt, sum/time.Duration(len(rs)), p.Mean, "mean time to resolve on day %d", d)
				require.Equal(rt, far, got[cell{lifecycle.KPIFirstAssignmentResolved, d}].Hits, "day %d", d)
				require.Equal(rt, reopened, got[cell{lifecycle.KPIReopenRate, d}].Hits, "day %d", d)
			}
			require.Equal(rt, openAt[d], got[cell{lifecycle.KPIBacklog, d}].Count, "backlog at the end of day %d", d)
			n, failed := 0, 0
			for _, c := range closed {
				if c.day == d {
					n++
					if c.failed {
						failed++
					}
				}
			}
			require.Equal(rt, n, got[cell{lifecycle.KPIChangeSuccess, d}].Count, "changes closed on day %d", d)
			require.Equal(rt, n-failed, got[cell{lifecycle.KPIChangeSuccess, d}].Hits, "changes closed successful on day %d", d)
			if sc := surveys[d]; len(sc) > 0 {
				sum := 0
				for _, x := range sc {
					sum += x
				}
				want := decimal.NewFromInt(int64(sum)).DivRound(decimal.NewFromInt(int64(len(sc))), 2)
				require.True(rt, want.Equal(got[cell{lifecycle.KPICustomerSatisfaction, d}].Percent), "satisfaction on day %d: %s, want %s",
					d, got[cell{lifecycle.KPICustomerSatisfaction, d}].Percent, want)
			} else {
				require.Zero(rt, got[cell{lifecycle.KPICustomerSatisfaction, d}].Count, "no survey on day %d", d)
			}
		}
	})
}
