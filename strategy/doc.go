// Package strategy is ITIL service strategy: deciding which services to
// offer, to whom, at what cost, and whether they deliver value.
//
// # Financial management
//
// A service costs what its own cost items say plus its share of what it
// runs on: a server's cost reaches the applications on it, and theirs the
// business services that depend on them, by the units each uses.
// [Allocate] splits one period's costs along that graph, by either of
// ITIL's methods: [OverCapacity] (by the share of a provider's capacity
// each consumer uses, leaving the cost of idle capacity as overhead) or
// [OverUsage] (over the units actually used, recovering everything). The
// arithmetic is exact until the statement, and the statement's rounding
// is stated, so the books balance to the cent.
package strategy
