package strategy

import (
	"bytes"
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
)

// AllocationMethod says how a provider's cost is split among the nodes
// that consume it.
type AllocationMethod string

const (
	// OverCapacity splits a provider's cost by the share of its capacity
	// each consumer uses; the share of unused capacity stays with the
	// provider as overhead. It shows what idle capacity costs.
	OverCapacity AllocationMethod = "capacity"
	// OverUsage splits a provider's cost over the units its consumers
	// use, whatever its capacity: the whole cost is recovered.
	OverUsage AllocationMethod = "usage"
)

// CostNode is one cost object of an allocation: a CI (a server, an
// application, a business service) or a cost centre, with the direct
// cost entered against it for the period and the units it can serve.
type CostNode struct {
	ID itil.ID `json:"id"`
	// Cost is the direct cost entered against the node for the period,
	// exact, in the allocation's currency; it may be zero or negative (a
	// credit).
	Cost decimal.Decimal `json:"cost"`
	// Capacity is the number of units the node can serve (OverCapacity
	// divides by it); zero when it serves none or is not measured.
	Capacity decimal.Decimal `json:"capacity"`
	// Final marks the nodes costs are allocated to, such as business
	// services: a final node with no consumer keeps what reaches it. A
	// node with no consumer that is not final leaves its cost as
	// overhead.
	Final bool `json:"final,omitempty"`
}

// Consumption says that Consumer uses Units of Provider (an application
// runs on a server, a business service depends on an application).
type Consumption struct {
	Consumer itil.ID         `json:"consumer"`
	Provider itil.ID         `json:"provider"`
	Units    decimal.Decimal `json:"units"`
}

// AllocationInput is one period's costs and the graph they flow along.
type AllocationInput struct {
	Currency string           `json:"currency"`
	Method   AllocationMethod `json:"method"`
	Nodes    []CostNode       `json:"nodes"`
	Uses     []Consumption    `json:"uses"`
}

// Allocated is what reached a node: the cost allocated to a final node,
// or the overhead left with a node (its unused capacity's share, or a
// cost nothing consumes).
type Allocated struct {
	ID     itil.ID   `json:"id"`
	Amount slm.Money `json:"amount"`
}

// Allocation is one period's costs allocated: to the final nodes, and
// the overhead left with the others. Amounts are rounded for the
// statement by the rule Allocate states, so that Allocated plus Overhead
// sum to Total exactly.
type Allocation struct {
	Method AllocationMethod `json:"method"`
	// Total is the sum of the costs entered, rounded to the currency's
	// minor unit half away from zero (slm.Money.Round).
	Total slm.Money `json:"total"`
	// Allocated are the final nodes' costs and Overhead the others',
	// each by ID, none zero.
	Allocated []Allocated `json:"allocated"`
	Overhead  []Allocated `json:"overhead"`
}

// Limits of an allocation.
const (
	// MaxAllocationNodes bounds the nodes of one allocation.
	MaxAllocationNodes = 5_000_000
)

// Allocate allocates the period's costs along the consumption graph:
// each node's cost (its own plus what reached it from its providers)
// goes to its consumers in proportion to the units they use, by the
// method; what reaches a final node that nothing consumes stays there,
// and what cannot go further (unused capacity under OverCapacity, a node
// that nothing consumes and is not final, a provider whose consumers use
// no unit) is overhead.
//
// The arithmetic is exact (rational) until the statement. Then the total
// of the costs entered is rounded to the currency's minor unit, half away
// from zero, and shared out by the largest remainder method: each amount
// gets its exact value rounded down to the minor unit, and the minor
// units left go one each to the largest remainders (ties by ID). So the
// allocated amounts and the overhead sum to the total to the cent,
// whatever the graph.
//
// A bad input (an unknown method or currency, a node listed twice, a use
// of an unknown node or with units that are not positive, a cycle, a
// capacity that is negative, or smaller than what OverCapacity splits)
// gives a *itil.ValidationError naming the field.
func Allocate(in AllocationInput) (*Allocation, error) {
	g, err := compileGraph(in)
	if err != nil {
		return nil, err
	}
	return g.allocate(), nil
}

// graph is an allocation input in dense arrays: nodes numbered in
// topological order (providers before consumers), each node's consumers
// with their units as a CSR row.
type graph struct {
	in       *AllocationInput
	order    []int32 // topological: providers first
	off      []int32 // consumers of node i: cons[off[i]:off[i+1]]
	cons     []int32
	units    []*big.Rat
	cost     []*big.Rat
	capacity []*big.Rat
	used     []*big.Rat // total units each node's consumers use
}

func compileGraph(in AllocationInput) (*graph, error) {
	var v itil.ValidationError
	if in.Method != OverCapacity && in.Method != OverUsage {
		v.Add("method", fmt.Sprintf("%q is not an allocation method (capacity or usage)", in.Method))
	}
	if _, err := slm.NewMoney("0", in.Currency); err != nil {
		v.Add("currency", fmt.Sprintf("%q is not an ISO 4217 currency code (three upper-case letters)", in.Currency))
	}
	if len(in.Nodes) > MaxAllocationNodes {
		v.Add("nodes", "lists more than "+strconv.Itoa(MaxAllocationNodes)+" nodes")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	n := len(in.Nodes)
	index := make(map[itil.ID]int32, n)
	g := &graph{in: &in, cost: make([]*big.Rat, n), capacity: make([]*big.Rat, n), used: make([]*big.Rat, n)}
	for i, nd := range in.Nodes {
		field := "nodes[" + strconv.Itoa(i) + "]"
		if nd.ID == itil.NilID {
			v.Add(field+".id", "is required")
		} else if _, dup := index[nd.ID]; dup {
			v.Add(field+".id", "lists "+nd.ID.String()+" twice")
		} else {
			index[nd.ID] = int32(i)
		}
		if nd.Capacity.Sign() < 0 {
			v.Add(field+".capacity", "must not be negative")
		}
		g.cost[i], g.capacity[i], g.used[i] = nd.Cost.Rat(), nd.Capacity.Rat(), new(big.Rat)
	}
	// Consumers per provider, counted then placed (CSR).
	g.off = make([]int32, n+1)
	type edge struct{ p, c int32 }
	edges := make([]edge, 0, len(in.Uses))
	for i, u := range in.Uses {
		field := "uses[" + strconv.Itoa(i) + "]"
		p, okP := index[u.Provider]
		c, okC := index[u.Consumer]
		if !okP {
			v.Add(field+".provider", "is not one of the nodes")
		}
		if !okC {
			v.Add(field+".consumer", "is not one of the nodes")
		}
		if okP && okC && p == c {
			v.Add(field+".consumer", "is its own provider")
		}
		if u.Units.Sign() <= 0 {
			v.Add(field+".units", "must be positive")
		}
		if okP && okC && p != c {
			edges = append(edges, edge{p, c})
			g.off[p+1]++
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for i := range n {
		g.off[i+1] += g.off[i]
	}
	g.cons = make([]int32, len(edges))
	g.units = make([]*big.Rat, len(edges))
	at := slices.Clone(g.off[:n])
	for _, u := range in.Uses {
		p, c := index[u.Provider], index[u.Consumer]
		g.cons[at[p]], g.units[at[p]] = c, u.Units.Rat()
		g.used[p].Add(g.used[p], g.units[at[p]])
		at[p]++
	}
	// Kahn's algorithm from the nodes nothing provides to: a provider
	// comes before its consumers.
	indeg := make([]int32, n)
	for _, c := range g.cons {
		indeg[c]++
	}
	queue := make([]int32, 0, n)
	for i := range n {
		if indeg[i] == 0 {
			queue = append(queue, int32(i))
		}
	}
	for h := 0; h < len(queue); h++ {
		p := queue[h]
		for _, c := range g.cons[g.off[p]:g.off[p+1]] {
			if indeg[c]--; indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if len(queue) < n {
		for i := range n {
			if indeg[i] > 0 {
				v.Add("uses", "form a cycle through "+in.Nodes[i].ID.String()+": a node cannot consume itself through others")
				return nil, v.Err()
			}
		}
	}
	g.order = queue
	if in.Method == OverCapacity {
		for i := range n {
			if g.off[i+1] > g.off[i] && g.capacity[i].Cmp(g.used[i]) < 0 {
				v.Add("nodes["+strconv.Itoa(i)+"].capacity", fmt.Sprintf("is %s units, less than the %s its consumers use",
					in.Nodes[i].Capacity, g.used[i].FloatString(6)))
			}
		}
	}
	return g, v.Err()
}

// allocate runs the exact allocation, then rounds it for the statement.
func (g *graph) allocate() *Allocation {
	n := len(g.in.Nodes)
	var total decimal.Decimal   // exact: decimals add exactly
	held := make([]*big.Rat, n) // what reaches each node: its cost, then what its providers pass on
	for i := range n {
		held[i] = new(big.Rat).Set(g.cost[i])
		total = total.Add(g.in.Nodes[i].Cost)
	}
	final := make([]*big.Rat, n)
	overhead := make([]*big.Rat, n)
	share := new(big.Rat)
	for _, p := range g.order {
		c := held[p]
		lo, hi := g.off[p], g.off[p+1]
		switch {
		case lo == hi && g.in.Nodes[p].Final:
			final[p] = c
			continue
		case lo == hi, g.used[p].Sign() == 0:
			overhead[p] = c
			continue
		}
		div := g.used[p]
		if g.in.Method == OverCapacity {
			div = g.capacity[p]
		}
		passed := new(big.Rat)
		for e := lo; e < hi; e++ {
			share.Mul(c, g.units[e])
			share.Quo(share, div)
			held[g.cons[e]].Add(held[g.cons[e]], share)
			passed.Add(passed, share)
		}
		if rest := new(big.Rat).Sub(c, passed); rest.Sign() != 0 {
			overhead[p] = rest // unused capacity's share
		}
	}
	return g.statement(total, final, overhead)
}

// statement rounds the exact amounts by the largest remainder method (see
// Allocate).
func (g *graph) statement(total decimal.Decimal, final, overhead []*big.Rat) *Allocation {
	cur := g.in.Currency
	places := slm.MinorUnits(cur)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil))
	type item struct {
		node     int32
		overhead bool
		floor    *big.Int // in minor units
		rem      *big.Rat // in [0, 1)
	}
	var items []item
	sumFloor := new(big.Int)
	for k, kind := range [2][]*big.Rat{final, overhead} {
		for i, x := range kind {
			if x == nil || x.Sign() == 0 {
				continue
			}
			m := new(big.Rat).Mul(x, scale)
			fl := floorRat(m)
			rem := new(big.Rat).Sub(m, new(big.Rat).SetInt(fl))
			items = append(items, item{node: int32(i), overhead: k == 1, floor: fl, rem: rem})
			sumFloor.Add(sumFloor, fl)
		}
	}
	rounded := slm.Money{Amount: total, Currency: cur}.Round()
	totalMinor := rounded.Amount.Shift(places).BigInt()
	left := new(big.Int).Sub(totalMinor, sumFloor).Int64() // 0 ≤ left ≤ len(items): see Allocate
	if left > 0 {
		byRem := make([]int, len(items))
		for i := range byRem {
			byRem[i] = i
		}
		slices.SortFunc(byRem, func(a, b int) int {
			if c := items[b].rem.Cmp(items[a].rem); c != 0 {
				return c
			}
			return bytes.Compare(g.in.Nodes[items[a].node].ID[:], g.in.Nodes[items[b].node].ID[:])
		})
		for _, i := range byRem[:left] {
			items[i].floor.Add(items[i].floor, big.NewInt(1))
		}
	}
	out := &Allocation{Method: g.in.Method, Total: rounded}
	for _, it := range items {
		if it.floor.Sign() == 0 {
			continue
		}
		a := Allocated{ID: g.in.Nodes[it.node].ID, Amount: slm.Money{Amount: decimal.NewFromBigInt(it.floor, -places), Currency: cur}}
		if it.overhead {
			out.Overhead = append(out.Overhead, a)
		} else {
			out.Allocated = append(out.Allocated, a)
		}
	}
	byID := func(a, b Allocated) int { return cmp.Compare(a.ID.String(), b.ID.String()) }
	slices.SortFunc(out.Allocated, byID)
	slices.SortFunc(out.Overhead, byID)
	return out
}

// floorRat returns the largest integer not above x.
func floorRat(x *big.Rat) *big.Int {
	// Euclidean division: the remainder is not negative, the denominator
	// positive, so the quotient is the floor.
	q, _ := new(big.Int).DivMod(x.Num(), x.Denom(), new(big.Int))
	return q
}
