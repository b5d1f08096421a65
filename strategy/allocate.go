package strategy

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"math/bits"
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
	// overhead. A node with consumers hands its cost on, final or not.
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
	// FineDigits is the resolution of the arithmetic: every amount is
	// held in millionths of the currency's minor unit (of a cent, for
	// EUR), in 64 bits, so the costs of one allocation may add up to
	// about 46 billion EUR in magnitude; a cost finer than a millionth
	// of the minor unit is refused.
	FineDigits = 6
	// MaxUnitPlaces is the finest units and capacities may be given in:
	// six decimal places.
	MaxUnitPlaces = 6
)

// Allocate allocates the period's costs along the consumption graph:
// each node's cost (its own plus what reached it from its providers)
// goes to its consumers in proportion to the units they use, by the
// method; what reaches a final node that nothing consumes stays there,
// and what cannot go further (unused capacity under OverCapacity, a node
// that nothing consumes and is not final) is overhead.
//
// Rounding, stated: amounts are held in millionths of the minor unit
// (FineDigits). Each split of a node's cost is apportioned by the largest
// remainder method at that resolution (each share its exact value
// rounded down, the millionths left one each to the largest remainders,
// the idle capacity's share among them), so every split hands on exactly
// what the node held. The statement then rounds the total of the costs
// entered to the minor unit, half away from zero (slm.Money.Round), and
// apportions it over the allocated amounts and the overhead by the same
// method in minor units (ties by ID). So the allocated amounts and the
// overhead sum to the total to the cent, whatever the graph, and each is
// within a cent of its exact share.
//
// A bad input (an unknown method or currency, a node listed twice, a use
// of an unknown node or with units that are not positive, a cycle, a
// capacity that is negative, or smaller than what OverCapacity splits, a
// cost finer than FineDigits or costs too large to hold) gives a
// *itil.ValidationError naming the field.
func Allocate(in AllocationInput) (*Allocation, error) {
	g, err := compileGraph(in)
	if err != nil {
		return nil, err
	}
	return g.allocate(), nil
}

// graph is an allocation input in dense arrays: node i's consumers with
// the units they use are cons[off[i]:off[i+1]] (CSR), amounts are in
// millionths of the minor unit, units scaled to integers.
type graph struct {
	in       *AllocationInput
	order    []int32 // topological: providers first
	off      []int32
	cons     []int32
	units    []uint64
	cost     []int64
	capacity []uint64
	used     []uint64
	total    decimal.Decimal // the costs entered, exactly
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
	g := &graph{in: &in, cost: make([]int64, n), capacity: make([]uint64, n), used: make([]uint64, n)}

	// Units and capacities in one integer scale: the finest given.
	// The finest places written, trailing zeros aside ("1.000000" is 1).
	places := int32(0)
	for _, nd := range in.Nodes {
		places = max(places, placesOf(nd.Capacity))
	}
	for _, u := range in.Uses {
		places = max(places, placesOf(u.Units))
	}
	places = min(places, MaxUnitPlaces)
	scaled := func(field string, d decimal.Decimal) uint64 {
		x, exact := scaleInt(d, places)
		switch {
		case !exact:
			v.Add(field, "is finer than "+strconv.Itoa(MaxUnitPlaces)+" decimal places")
		case x > 1e15 || x < 0:
			v.Add(field, "is too large: units and capacities, scaled to the finest places any is given in, must stay under 10^15")
		default:
			return uint64(x)
		}
		return 0
	}

	index := make(map[itil.ID]int32, n)
	var magnitude int64 // of the costs, in millionths of the minor unit
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
		} else {
			g.capacity[i] = scaled(field+".capacity", nd.Capacity)
		}
		c, exact := scaleInt(nd.Cost, slm.MinorUnits(in.Currency)+FineDigits)
		if !exact {
			v.Add(field+".cost", "is finer than a millionth of the minor unit, or too large to hold")
			continue
		}
		if c < 0 {
			magnitude -= c
		} else {
			magnitude += c
		}
		if c < -math.MaxInt64/2 || c > math.MaxInt64/2 || magnitude > math.MaxInt64/2 {
			v.Add(field+".cost", "brings the costs past what one allocation holds (see FineDigits)")
			return nil, v.Err()
		}
		g.total = g.total.Add(nd.Cost)
		g.cost[i] = c
	}
	g.off = make([]int32, n+1)
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
		} else if units := scaled(field+".units", u.Units); okP && units > 0 {
			if g.used[p] += units; g.used[p] > 1<<62 {
				v.Add(field+".units", "bring the units used of the provider past what one allocation holds")
			}
		}
		if okP && okC && p != c {
			g.off[p+1]++
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	for i := range n {
		g.off[i+1] += g.off[i]
	}
	g.cons = make([]int32, g.off[n])
	g.units = make([]uint64, g.off[n])
	at := slices.Clone(g.off[:n])
	for _, u := range in.Uses {
		p, c := index[u.Provider], index[u.Consumer]
		g.cons[at[p]], g.units[at[p]] = c, scaled("", u.Units)
		at[p]++
	}
	// Each row by consumer ID, so that a split's ties go the same way
	// whatever the order of the uses; a pair listed twice is refused.
	type use struct {
		c int32
		u uint64
	}
	var row []use
	for p := range n {
		lo, hi := g.off[p], g.off[p+1]
		if hi-lo < 2 {
			continue
		}
		row = row[:0]
		for e := lo; e < hi; e++ {
			row = append(row, use{g.cons[e], g.units[e]})
		}
		slices.SortFunc(row, func(a, b use) int { return bytes.Compare(in.Nodes[a.c].ID[:], in.Nodes[b.c].ID[:]) })
		for k, x := range row {
			if k > 0 && row[k-1].c == x.c {
				v.Add("uses", "list "+in.Nodes[x.c].ID.String()+" using "+in.Nodes[p].ID.String()+" twice")
				return nil, v.Err()
			}
			g.cons[lo+int32(k)], g.units[lo+int32(k)] = x.c, x.u
		}
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
			if g.off[i+1] > g.off[i] && g.capacity[i] < g.used[i] {
				v.Add("nodes["+strconv.Itoa(i)+"].capacity", fmt.Sprintf("is %s units, less than the %s its consumers use",
					in.Nodes[i].Capacity, decimal.New(int64(g.used[i]), -places)))
			}
		}
	}
	return g, v.Err()
}

// allocate runs the allocation, then rounds it for the statement.
func (g *graph) allocate() *Allocation {
	n := len(g.in.Nodes)
	held := slices.Clone(g.cost) // what reaches each node: its cost, then what its providers hand on
	final := make([]int64, n)
	overhead := make([]int64, n)
	var sp splitter
	for _, p := range g.order {
		c := held[p]
		lo, hi := g.off[p], g.off[p+1]
		switch {
		case lo == hi && g.in.Nodes[p].Final:
			final[p] = c
			continue
		case lo == hi:
			overhead[p] = c
			continue
		case c == 0:
			continue
		}
		div, idle := g.used[p], uint64(0)
		if g.in.Method == OverCapacity {
			div, idle = g.capacity[p], g.capacity[p]-g.used[p]
		}
		shares := sp.split(c, g.units[lo:hi], idle, div)
		for k, e := 0, lo; e < hi; k, e = k+1, e+1 {
			held[g.cons[e]] += shares[k]
		}
		overhead[p] = shares[hi-lo] // the idle capacity's
	}
	return g.statement(final, overhead)
}

// splitter apportions amounts, reusing its buffers.
type splitter struct {
	shares []int64
	rems   []uint64
	byRem  []int
}

// split apportions c over the weights ws and idle (the last share) out of
// div (which must equal their sum), by the largest remainder method in
// the amounts' unit: the shares sum to c exactly. Ties go to the earlier
// weight (rows are sorted by consumer ID).
func (sp *splitter) split(c int64, ws []uint64, idle, div uint64) []int64 {
	m := uint64(c)
	if c < 0 {
		m = uint64(-c)
	}
	k := len(ws) + 1
	sp.shares, sp.rems = slices.Grow(sp.shares[:0], k)[:k], slices.Grow(sp.rems[:0], k)[:k]
	var sum uint64
	for i := range k {
		w := idle
		if i < len(ws) {
			w = ws[i]
		}
		hi, lo := bits.Mul64(m, w)
		q, r := bits.Div64(hi, lo, div) // hi < div: w ≤ div, so m·w < 2^64·div
		sp.shares[i], sp.rems[i] = int64(q), r
		sum += q
	}
	if left := m - sum; left > 0 { // fewer than k: each share lost less than one
		sp.byRem = slices.Grow(sp.byRem[:0], k)[:k]
		for i := range k {
			sp.byRem[i] = i
		}
		slices.SortStableFunc(sp.byRem, func(a, b int) int { return cmp.Compare(sp.rems[b], sp.rems[a]) })
		for _, i := range sp.byRem[:left] {
			sp.shares[i]++
		}
	}
	if c < 0 {
		for i := range sp.shares {
			sp.shares[i] = -sp.shares[i]
		}
	}
	return sp.shares
}

// statement rounds the amounts to the minor unit by the largest remainder
// method (see Allocate).
func (g *graph) statement(final, overhead []int64) *Allocation {
	cur := g.in.Currency
	places := slm.MinorUnits(cur)
	const perMinor = 1_000_000 // 10^FineDigits
	type item struct {
		node     int32
		overhead bool
		floor    int64 // in minor units
		rem      int64 // in millionths, in [0, perMinor)
	}
	var items []item
	var sumFloor int64
	for k, kind := range [2][]int64{final, overhead} {
		for i, x := range kind {
			if x == 0 {
				continue
			}
			fl, rem := x/perMinor, x%perMinor
			if rem < 0 { // round toward minus infinity
				fl, rem = fl-1, rem+perMinor
			}
			items = append(items, item{node: int32(i), overhead: k == 1, floor: fl, rem: rem})
			sumFloor += fl
		}
	}
	rounded := slm.Money{Amount: g.total, Currency: cur}.Round()
	left := rounded.Amount.Shift(places).IntPart() - sumFloor // 0 ≤ left ≤ len(items)
	if left > 0 {
		byRem := make([]int, len(items))
		for i := range byRem {
			byRem[i] = i
		}
		slices.SortFunc(byRem, func(a, b int) int {
			if c := cmp.Compare(items[b].rem, items[a].rem); c != 0 {
				return c
			}
			return bytes.Compare(g.in.Nodes[items[a].node].ID[:], g.in.Nodes[items[b].node].ID[:])
		})
		for _, i := range byRem[:left] {
			items[i].floor++
		}
	}
	out := &Allocation{Method: g.in.Method, Total: rounded}
	for _, it := range items {
		if it.floor == 0 {
			continue
		}
		a := Allocated{ID: g.in.Nodes[it.node].ID, Amount: slm.Money{Amount: decimal.New(it.floor, -places), Currency: cur}}
		if it.overhead {
			out.Overhead = append(out.Overhead, a)
		} else {
			out.Allocated = append(out.Allocated, a)
		}
	}
	byID := func(a, b Allocated) int { return bytes.Compare(a.ID[:], b.ID[:]) }
	slices.SortFunc(out.Allocated, byID)
	slices.SortFunc(out.Overhead, byID)
	return out
}

// pow10 are the powers of ten an int64 holds.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// scaleInt returns d × 10^places as an int64; exact is false when that is
// not a whole number or does not fit. It reads the decimal's coefficient
// and exponent rather than multiplying decimals: the allocation converts
// millions of them.
func scaleInt(d decimal.Decimal, places int32) (x int64, exact bool) {
	c, e := d.Coefficient(), d.Exponent()+places
	if !c.IsInt64() {
		// Trailing zeros written out ("0.10000000000000000000"): drop them.
		ten, r := big.NewInt(10), new(big.Int)
		for c.Sign() != 0 {
			q, m := new(big.Int).QuoRem(c, ten, r)
			if m.Sign() != 0 {
				break
			}
			c, e = q, e+1
		}
		if !c.IsInt64() {
			return 0, false
		}
	}
	v := c.Int64()
	switch {
	case v == 0:
		return 0, true
	case e >= int32(len(pow10)):
		return 0, false
	case e >= 0:
		hi, lo := bits.Mul64(uint64(max(v, -v)), uint64(pow10[e]))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		if v < 0 {
			return -int64(lo), true
		}
		return int64(lo), true
	case -e >= int32(len(pow10)):
		return 0, false // finer than the scale, v being non-zero
	default:
		if v%pow10[-e] != 0 {
			return 0, false
		}
		return v / pow10[-e], true
	}
}

// placesOf returns the decimal places d has, trailing zeros aside.
func placesOf(d decimal.Decimal) int32 {
	if d.IsZero() {
		return 0
	}
	p := -d.Exponent()
	if p > 40 {
		return p // far finer than any scale: refused anyway
	}
	for p > 0 && d.Round(p-1).Equal(d) {
		p--
	}
	return max(p, 0)
}
