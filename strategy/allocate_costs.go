package strategy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// CostAllocation asks AllocateCosts for one month's allocation.
type CostAllocation struct {
	// Month is any instant of the month (UTC).
	Month    time.Time
	Currency string
	Method   AllocationMethod
	// Usage gives the units a CI used in the month of a CI it depends on
	// (Consumer depends on Provider in the CMDB); a dependency not listed
	// counts one unit.
	Usage []Consumption
	// Capacity gives the units a CI can serve (OverCapacity divides by
	// it); a CI not listed can serve what its dependents use, so none of
	// its cost is idle.
	Capacity map[itil.ID]decimal.Decimal
}

// ErrNoCMDB is returned by AllocateCosts on a Service without WithCMDB.
var ErrNoCMDB = errors.New("strategy: cost allocation needs a CMDB (WithCMDB)")

// AllocateCosts allocates the month's costs entered against CIs along
// the CMDB's dependencies, by Allocate's rules and rounding: a CI's cost
// goes to the CIs that depend on it (those its failure affects, along
// every relationship type that propagates impact), in proportion to the
// units they use, until it reaches the business-service CIs of the
// portfolio's services (those not retired), which keep it. What reaches
// a CI nothing depends on that is not such a service, and under
// OverCapacity the share of idle capacity, is overhead.
//
// The costs entered against a service or a cost centre are not
// allocated, and not in the Allocation's Total (Variance adds a service's
// own to it). The CMDB's graph is read as
// its index holds it when the call starts; bound to a caller's
// transaction (In), as that transaction sees it.
//
// It returns ErrNoCMDB without WithCMDB; a *itil.ValidationError naming
// the field for a bad method, currency or month, a cost in another
// currency (costs), a usage that is not a dependency in the CMDB or has
// units that are not positive or listed twice (usage[i]), a capacity that is negative or
// smaller than what OverCapacity splits (capacity[ID]), and a dependency
// cycle (the CMDB's relationships).
func (s *Service) AllocateCosts(ctx context.Context, req CostAllocation) (*Allocation, error) {
	var v itil.ValidationError
	checkMethod(&v, req.Method, req.Currency)
	if req.Month.IsZero() {
		v.Add("month", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.cfg.cmdb == nil {
		return nil, ErrNoCMDB
	}
	m := monthOf(req.Month)
	var graph *cmdb.DependencyGraph
	if !s.run.Bound() {
		var err error
		if graph, err = s.cfg.cmdb.DependencyGraph(ctx); err != nil {
			return nil, err
		}
	}
	var in costInput
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		in = costInput{cost: map[itil.ID]decimal.Decimal{}}
		other, first := 0, (*CostItem)(nil)
		if s.run.Bound() {
			var err error
			if graph, err = s.cfg.cmdb.In(tx).DependencyGraph(ctx); err != nil {
				return err
			}
		}
		for e, err := range entries.Query(ctx, tx, storage.Query{Kind: Kind}) {
			if err != nil {
				return err
			}
			if e.ServiceCIID != itil.NilID && e.Phase() != PhaseRetired {
				in.final = append(in.final, e.ServiceCIID)
			}
		}
		for c, err := range costs.Query(ctx, tx, storage.Query{Kind: KindCost, Min: storage.TimeKey(m), Max: storage.TimeKey(m.AddDate(0, 1, 0))}) {
			if err != nil {
				return err
			}
			if !c.Month.Equal(m) || c.Object.Kind != ObjectCI {
				continue
			}
			if c.Amount.Currency != req.Currency {
				if other++; other == 1 {
					first = c
				}
				continue
			}
			id, err := itil.ParseID(c.Object.ID)
			if err != nil {
				continue // RecordCost parses CI IDs: not reached
			}
			in.cost[id] = in.cost[id].Add(c.Amount.Amount)
		}
		if other > 0 {
			var v itil.ValidationError
			v.Add("costs", fmt.Sprintf("%d of the month's costs are not in %s (the first: cost %s, in %s)",
				other, req.Currency, first.ID, first.Amount.Currency))
			return v.Err()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	g, err := compileCosts(graph, &in, &req)
	if err != nil {
		return nil, err
	}
	out, cycle := g.run()
	if cycle >= 0 {
		return nil, itil.Invalid("cmdb", "the dependencies form a cycle through CI "+g.ids[cycle].String()+": its cost would reach itself")
	}
	out.Month = m
	return out, nil
}

// costInput is what AllocateCosts read from storage: the month's cost per
// CI and the portfolio's service CIs.
type costInput struct {
	cost  map[itil.ID]decimal.Decimal
	final []itil.ID
}

// compileCosts puts the CMDB's graph, the costs and the request in dense
// form. The CIs with a cost, a capacity or a service that are not in the
// graph are inserted in ID order (without dependents). Each CI named is
// looked up in the graph once.
func compileCosts(graph *cmdb.DependencyGraph, in *costInput, req *CostAllocation) (*dense, error) {
	var v itil.ValidationError
	// at is a CI's node in the graph, or -1 - its place among the extra
	// CIs, until the extra ones are numbered.
	type named struct {
		id itil.ID
		at int32
	}
	var extra []itil.ID
	resolve := func(id itil.ID) named {
		k, ok := graph.Node(id)
		if !ok {
			extra = append(extra, id)
			return named{id, -int32(len(extra))}
		}
		return named{id, k}
	}
	type costOf struct {
		named
		amount decimal.Decimal
	}
	seen := map[int32]bool{} // usage edges given
	costs := make([]costOf, 0, len(in.cost))
	for id, d := range in.cost {
		costs = append(costs, costOf{resolve(id), d})
	}
	finals := make([]named, 0, len(in.final))
	for _, id := range in.final {
		finals = append(finals, resolve(id))
	}
	caps := make([]costOf, 0, len(req.Capacity))
	for id, d := range req.Capacity {
		caps = append(caps, costOf{resolve(id), d})
	}
	byID := func(a, b itil.ID) int { return bytes.Compare(a[:], b[:]) }
	sortedExtra := slices.SortedFunc(slices.Values(extra), byID)
	sortedExtra = slices.Compact(sortedExtra)
	n := len(graph.IDs) + len(sortedExtra)
	if n > MaxAllocationNodes {
		return nil, itil.Invalid("cmdb", "holds more than "+strconv.Itoa(MaxAllocationNodes)+" CIs with costs or dependencies")
	}
	g := &dense{method: req.Method, currency: req.Currency, ids: graph.IDs, off: graph.Offsets, cons: graph.Dependents}
	node := func(x named) int32 { return x.at }
	if len(sortedExtra) > 0 {
		// Merge: renumber the graph's nodes around the extra ones.
		ids := make([]itil.ID, 0, n)
		renum := make([]int32, len(graph.IDs))
		off := make([]int32, 1, n+1)
		i, k := 0, 0
		for i < len(graph.IDs) || k < len(sortedExtra) {
			if k == len(sortedExtra) || (i < len(graph.IDs) && byID(graph.IDs[i], sortedExtra[k]) < 0) {
				renum[i] = int32(len(ids))
				ids = append(ids, graph.IDs[i])
				off = append(off, off[len(off)-1]+graph.Offsets[i+1]-graph.Offsets[i])
				i++
			} else {
				ids = append(ids, sortedExtra[k])
				off = append(off, off[len(off)-1])
				k++
			}
		}
		cons := make([]int32, len(graph.Dependents))
		for e, c := range graph.Dependents {
			cons[e] = renum[c] // renumbering keeps each row's order
		}
		g.ids, g.off, g.cons = ids, off, cons
		node = func(x named) int32 {
			if x.at >= 0 {
				return renum[x.at]
			}
			k, _ := slices.BinarySearchFunc(ids, x.id, byID)
			return int32(k)
		}
	}

	g.final = make([]bool, n)
	for _, f := range finals {
		g.final[node(f)] = true
	}
	adder := costAdder{places: slm.MinorUnits(req.Currency) + FineDigits}
	g.cost = make([]int64, n)
	for _, c := range costs {
		x, ok := adder.add(&v, "costs["+c.id.String()+"]", c.amount)
		if !ok {
			return nil, v.Err()
		}
		g.cost[node(c.named)] = x
	}
	g.total = adder.total()

	// Units: one per dependency, unless the usage is given, or a capacity
	// in a finer scale.
	us := unitScale{}
	for _, u := range req.Usage {
		us.places = max(us.places, check.Places(u.Units))
	}
	if req.Method == OverCapacity { // capacities count for nothing else
		for _, c := range caps {
			us.places = max(us.places, check.Places(c.amount))
		}
	}
	us.places = min(us.places, MaxUnitPlaces)
	edge := func(p, c int32) (int32, bool) {
		row := g.cons[g.off[p]:g.off[p+1]]
		e, ok := slices.BinarySearch(row, c)
		return g.off[p] + int32(e), ok
	}
	lookup := func(id itil.ID) (int32, bool) {
		k, ok := slices.BinarySearchFunc(g.ids, id, byID)
		return int32(k), ok
	}
	if len(req.Usage) > 0 || us.places > 0 {
		one := uint64(pow10[us.places])
		g.units = make([]uint64, len(g.cons))
		for e := range g.units {
			g.units[e] = one
		}
		for i, u := range req.Usage {
			field := "usage[" + strconv.Itoa(i) + "]"
			p, okP := lookup(u.Provider)
			c, okC := lookup(u.Consumer)
			e, ok := int32(0), false
			if okP && okC {
				e, ok = edge(p, c)
			}
			if !ok {
				v.Add(field, fmt.Sprintf("CI %s does not depend on CI %s in the CMDB", u.Consumer, u.Provider))
				continue
			}
			if seen[e] {
				v.Add(field, fmt.Sprintf("lists CI %s using CI %s again", u.Consumer, u.Provider))
				continue
			}
			seen[e] = true
			if u.Units.Sign() <= 0 {
				v.Add(field+".units", "must be positive")
				continue
			}
			g.units[e] = us.scaled(&v, field+".units", u.Units)
		}
		g.used = make([]uint64, n)
		for p := range n {
			for _, x := range g.units[g.off[p]:g.off[p+1]] {
				if !addUnits(&g.used[p], x) {
					v.Add("usage", "brings the units used of CI "+g.ids[p].String()+" past what one allocation holds")
					break
				}
			}
		}
	}
	if req.Method == OverCapacity && len(caps) > 0 {
		g.capacity = make([]uint64, n)
		for _, c := range caps {
			field := func() string { return "capacity[" + c.id.String() + "]" }
			if c.amount.Sign() < 0 {
				v.Add(field(), "must not be negative")
				continue
			}
			k := node(c.named)
			x, exact := scaleInt(c.amount, us.places)
			if !exact || x > 1e15 {
				us.scaled(&v, field(), c.amount) // says why
				continue
			}
			used := uint64(g.off[k+1] - g.off[k])
			if g.used != nil {
				used = g.used[k]
			}
			if uint64(x) < used {
				v.Add(field(), fmt.Sprintf("is %s units, less than the %s its dependents use", c.amount, decimal.New(int64(used), -us.places)))
			}
			g.capacity[k] = uint64(x)
		}
		for k := range g.capacity { // not given: what is used
			if g.capacity[k] == 0 && g.used != nil {
				g.capacity[k] = g.used[k]
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if g.units != nil && g.method == OverCapacity && g.capacity == nil {
		g.capacity = g.used
	}
	return g, nil
}
