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
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
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
	// Currency is the allocation's; Month the month AllocateCosts
	// allocated (zero from Allocate).
	Currency string    `json:"currency"`
	Month    time.Time `json:"month,omitzero"`
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
	g, err := compileInput(in)
	if err != nil {
		return nil, err
	}
	out, cycle := g.run()
	if cycle >= 0 {
		return nil, itil.Invalid("uses", "form a cycle through "+g.ids[cycle].String()+": a node cannot consume itself through others")
	}
	return out, nil
}

// dense is an allocation in arrays, the form both Allocate and
// AllocateCosts run: node i is ids[i], IDs sorted, so a node's number
// orders like its ID and ties go by number; node p's consumers are
// cons[off[p]:off[p+1]] (CSR), each row sorted, with the units they use
// (units; nil when each uses one). Amounts are in millionths of the
// minor unit, units and capacities scaled to integers.
type dense struct {
	method   AllocationMethod
	currency string
	ids      []itil.ID
	final    []bool
	off      []int32
	cons     []int32
	units    []uint64
	capacity []uint64 // OverCapacity: what node p can serve (≥ used)
	used     []uint64 // what p's consumers use; nil when units is nil (the row's length)
	cost     []int64
	total    decimal.Decimal // the costs entered, exactly
}

// unitScale is the one integer scale of a set of units and capacities:
// the finest places any is written in (trailing zeros aside), at most
// MaxUnitPlaces; scaled converts into it, adding to v what it refuses.
type unitScale struct{ places int32 }

func (u unitScale) scaled(v *itil.ValidationError, field string, d decimal.Decimal) uint64 {
	x, exact := scaleInt(d, u.places)
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

// addUnits adds x (at most 10^15, scaled) to the units used of a
// provider, false past 2^62: what the splits' 128-bit products hold.
func addUnits(used *uint64, x uint64) bool {
	*used += x
	return *used <= 1<<62
}

// costAdder sums costs in millionths of the minor unit, refusing one
// finer than that and a sum past what an int64 holds.
type costAdder struct {
	places    int32
	magnitude int64
	sum       int64 // exact: every cost is a whole number of millionths
}

// total is the sum of the costs added, exactly.
func (a *costAdder) total() decimal.Decimal { return decimal.New(a.sum, -a.places) }

func (a *costAdder) add(v *itil.ValidationError, field string, d decimal.Decimal) (int64, bool) {
	c, exact := scaleInt(d, a.places)
	if !exact {
		v.Add(field, "is finer than a millionth of the minor unit, or too large to hold")
		return 0, false
	}
	if c < 0 {
		a.magnitude -= c
	} else {
		a.magnitude += c
	}
	if c < -math.MaxInt64/2 || c > math.MaxInt64/2 || a.magnitude > math.MaxInt64/2 || a.magnitude < 0 {
		v.Add(field, "brings the costs past what one allocation holds (see FineDigits)")
		return 0, false
	}
	a.sum += c
	return c, true
}

func checkMethod(v *itil.ValidationError, method AllocationMethod, currency string) {
	if method != OverCapacity && method != OverUsage {
		v.Add("method", fmt.Sprintf("%q is not an allocation method (capacity or usage)", method))
	}
	checkCurrency(v, "currency", currency)
}

// compileInput checks an AllocationInput and puts it in dense form.
func compileInput(in AllocationInput) (*dense, error) {
	var v itil.ValidationError
	checkMethod(&v, in.Method, in.Currency)
	if len(in.Nodes) > MaxAllocationNodes {
		v.Add("nodes", "lists more than "+strconv.Itoa(MaxAllocationNodes)+" nodes")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	n := len(in.Nodes)
	// Nodes in ID order; at[i] is the input's node i's number.
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return bytes.Compare(in.Nodes[a].ID[:], in.Nodes[b].ID[:]) })
	g := &dense{method: in.Method, currency: in.Currency, ids: make([]itil.ID, n), final: make([]bool, n),
		capacity: make([]uint64, n), used: make([]uint64, n), cost: make([]int64, n)}
	at := make([]int32, n)
	for k, i := range perm {
		at[i] = int32(k)
		g.ids[k], g.final[k] = in.Nodes[i].ID, in.Nodes[i].Final
		if k > 0 && g.ids[k] == g.ids[k-1] && g.ids[k] != itil.NilID {
			v.Add("nodes["+strconv.Itoa(int(i))+"].id", "lists "+g.ids[k].String()+" twice")
		}
	}
	index := func(id itil.ID) (int32, bool) {
		k, ok := slices.BinarySearchFunc(g.ids, id, func(a, b itil.ID) int { return bytes.Compare(a[:], b[:]) })
		return int32(k), ok && id != itil.NilID
	}

	us := unitScale{}
	for _, nd := range in.Nodes {
		us.places = max(us.places, check.Places(nd.Capacity))
	}
	for _, u := range in.Uses {
		us.places = max(us.places, check.Places(u.Units))
	}
	us.places = min(us.places, MaxUnitPlaces)
	costs := costAdder{places: slm.MinorUnits(in.Currency) + FineDigits}
	for i, nd := range in.Nodes {
		field := "nodes[" + strconv.Itoa(i) + "]"
		if nd.ID == itil.NilID {
			v.Add(field+".id", "is required")
		}
		if nd.Capacity.Sign() < 0 {
			v.Add(field+".capacity", "must not be negative")
		} else {
			g.capacity[at[i]] = us.scaled(&v, field+".capacity", nd.Capacity)
		}
		c, ok := costs.add(&v, field+".cost", nd.Cost)
		if !ok && costs.magnitude > math.MaxInt64/2 {
			return nil, v.Err()
		}
		g.cost[at[i]] = c
	}
	g.total = costs.total()
	g.off = make([]int32, n+1)
	type use struct{ p, c int32 }
	uses := make([]use, len(in.Uses))
	for i, u := range in.Uses {
		field := "uses[" + strconv.Itoa(i) + "]"
		p, okP := index(u.Provider)
		c, okC := index(u.Consumer)
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
		} else if units := us.scaled(&v, field+".units", u.Units); okP && units > 0 && !addUnits(&g.used[p], units) {
			v.Add(field+".units", "bring the units used of the provider past what one allocation holds")
		}
		uses[i] = use{p, c}
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
	next := slices.Clone(g.off[:n])
	for i, u := range uses {
		g.cons[next[u.p]], g.units[next[u.p]] = u.c, us.scaled(&v, "", in.Uses[i].Units)
		next[u.p]++
	}
	// Each row by consumer, so that a split's ties go the same way
	// whatever the order of the uses; a pair listed twice is refused.
	type edge struct {
		c int32
		u uint64
	}
	var row []edge
	for p := range n {
		lo, hi := g.off[p], g.off[p+1]
		if hi-lo < 2 {
			continue
		}
		row = row[:0]
		for e := lo; e < hi; e++ {
			row = append(row, edge{g.cons[e], g.units[e]})
		}
		slices.SortFunc(row, func(a, b edge) int { return cmp.Compare(a.c, b.c) })
		for k, x := range row {
			if k > 0 && row[k-1].c == x.c {
				v.Add("uses", "list "+g.ids[x.c].String()+" using "+g.ids[p].String()+" twice")
				return nil, v.Err()
			}
			g.cons[lo+int32(k)], g.units[lo+int32(k)] = x.c, x.u
		}
	}
	if in.Method == OverCapacity {
		for i := range in.Nodes {
			if k := at[i]; g.off[k+1] > g.off[k] && g.capacity[k] < g.used[k] {
				v.Add("nodes["+strconv.Itoa(i)+"].capacity", fmt.Sprintf("is %s units, less than the %s its consumers use",
					in.Nodes[i].Capacity, decimal.New(int64(g.used[k]), -us.places)))
			}
		}
	}
	return g, v.Err()
}

// run allocates in topological order, Kahn's algorithm and the splits in
// one pass: a node is split once every provider has handed it its share.
// It returns the allocation rounded for the statement, or, when the uses
// form a cycle, a node on one (cycle ≥ 0). It uses g.cost in place: a
// dense input is run once.
func (g *dense) run() (out *Allocation, cycle int32) {
	n := len(g.ids)
	held := g.cost // what reached a node, then what stays with it once it is split
	indeg := make([]int32, n)
	for _, c := range g.cons {
		indeg[c]++
	}
	queue := make([]int32, 0, n)
	for i := range indeg {
		if indeg[i] == 0 {
			queue = append(queue, int32(i))
		}
	}
	var sp splitter
	for h := 0; h < len(queue); h++ {
		p := queue[h]
		lo, hi := g.off[p], g.off[p+1]
		row := g.cons[lo:hi]
		if c := held[p]; c != 0 && lo < hi {
			var shares []int64
			if g.units != nil {
				div, idle := g.used[p], uint64(0)
				if g.method == OverCapacity {
					div, idle = g.capacity[p], g.capacity[p]-g.used[p]
				}
				shares = sp.split(c, g.units[lo:hi], idle, div)
			} else {
				// One unit each (most graphs): split's rule in closed form.
				// Every consumer's share has the same remainder, so the first
				// (by ID) take the cents left, after the idle units' share
				// when its remainder is larger.
				idle := uint64(0)
				if g.method == OverCapacity && g.capacity != nil && g.capacity[p] > uint64(len(row)) {
					idle = g.capacity[p] - uint64(len(row))
				}
				q, more, rest := onesSplit(c, len(row), idle)
				for k, cn := range row {
					held[cn] += q
					if k < more {
						held[cn] += int64(cmp.Compare(c, 0))
					}
					if indeg[cn]--; indeg[cn] == 0 {
						queue = append(queue, cn)
					}
				}
				held[p] = rest
				continue
			}
			for k, cn := range row {
				held[cn] += shares[k]
				if indeg[cn]--; indeg[cn] == 0 {
					queue = append(queue, cn)
				}
			}
			held[p] = shares[len(row)]
			continue
		}
		for _, cn := range row {
			if indeg[cn]--; indeg[cn] == 0 {
				queue = append(queue, cn)
			}
		}
	}
	if len(queue) < n {
		return nil, int32(slices.IndexFunc(indeg, func(d int32) bool { return d > 0 }))
	}
	return g.statement(held), -1
}

// splitter apportions amounts, reusing its buffers.
type splitter struct {
	shares []int64
	rems   []uint64
	byRem  []int
}

// onesSplit is split of c over k weights of one unit and idle idle
// units, in closed form: each of the k shares is q, and one more (in c's
// sign) for the first more of them; the idle units' share is rest.
func onesSplit(c int64, k int, idle uint64) (q int64, more int, rest int64) {
	m, sign := uint64(c), int64(1)
	if c < 0 {
		m, sign = uint64(-c), -1
	}
	if idle == 0 { // equal shares, no idle one: the first m mod k take one more
		return sign * int64(m/uint64(k)), int(m % uint64(k)), 0
	}
	div := uint64(k) + idle
	q1, r1 := m/div, m%div
	hi, lo := bits.Mul64(m, idle)
	qi, ri := bits.Div64(hi, lo, div) // hi < div: idle < div
	left := m - uint64(k)*q1 - qi     // at most k: each of k+1 shares lost less than one
	if left > 0 && ri > r1 {          // the idle share's remainder ranks first
		qi, left = qi+1, left-1
	}
	return sign * int64(q1), int(left), sign * int64(qi)
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

// statement rounds what stayed with each node to the minor unit by the
// largest remainder method (see Allocate): a final node that nothing
// consumes keeps an allocated amount, any other node overhead.
//
// The cents left after rounding down go to the largest remainders, ties
// by ID (node order). Rather than sort the remainders, it finds the
// remainder of the last one to take by two histograms (of the
// remainder's thousands, then of its units within that thousand): three
// passes over the nodes whatever their number.
func (g *dense) statement(held []int64) *Allocation {
	cur := g.currency
	places := slm.MinorUnits(cur)
	const perMinor = 1_000_000 // 10^FineDigits
	split := func(x int64) (fl, rem int64) {
		fl, rem = x/perMinor, x%perMinor
		if rem < 0 { // round toward minus infinity
			fl, rem = fl-1, rem+perMinor
		}
		return fl, rem
	}
	rounded := slm.Money{Amount: g.total, Currency: cur}.Round()
	var hist [1000]int32
	var sumFloor int64
	items, finals := 0, 0
	for p := range held {
		if held[p] == 0 {
			continue
		}
		fl, rem := split(held[p])
		sumFloor += fl
		if rem > 0 {
			hist[rem/1000]++
		}
		if items++; g.final[p] && g.off[p] == g.off[p+1] {
			finals++
		}
	}
	// The nodes with a remainder above thr take one more cent, and the
	// first take of those with a remainder of thr.
	left := rounded.Amount.Shift(places).IntPart() - sumFloor // 0 ≤ left ≤ the nodes with a remainder
	thr, take := int64(perMinor), int64(0)
	if left > 0 {
		b, acc := 999, int64(0)
		for ; acc+int64(hist[b]) < left; b-- {
			acc += int64(hist[b])
		}
		hist = [1000]int32{}
		for p := range held {
			if held[p] == 0 {
				continue
			}
			if _, rem := split(held[p]); rem > 0 && rem/1000 == int64(b) {
				hist[rem%1000]++
			}
		}
		j := 999
		for ; acc+int64(hist[j]) < left; j-- {
			acc += int64(hist[j])
		}
		thr, take = int64(b)*1000+int64(j), left-acc
	}
	out := &Allocation{Method: g.method, Currency: cur, Total: rounded,
		Allocated: make([]Allocated, 0, finals), Overhead: make([]Allocated, 0, items-finals)}
	for p := range held {
		if held[p] == 0 {
			continue
		}
		fl, rem := split(held[p])
		if rem > thr || (rem == thr && take > 0) {
			if rem == thr {
				take--
			}
			fl++
		}
		if fl == 0 {
			continue
		}
		a := Allocated{ID: g.ids[p], Amount: slm.Money{Amount: decimal.New(fl, -places), Currency: cur}}
		if g.final[p] && g.off[p] == g.off[p+1] {
			out.Allocated = append(out.Allocated, a)
		} else {
			out.Overhead = append(out.Overhead, a)
		}
	}
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
