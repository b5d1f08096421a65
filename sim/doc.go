// Package sim runs a service desk on a clock it drives, to answer "what
// if": what if the network group worked 24×7, had two more agents, or the
// SLA's calendar changed? A Scenario says when incidents arrive (a rate
// per service and priority for each hour of the week), who handles them
// (groups of agents, each on its business calendar, each incident taking
// a handling time drawn from a distribution) and under which SLAs. Run
// plays it through the SDK's own services (incident, slm) on the memory
// backend: every incident is opened, assigned, worked and resolved by the
// real commands at its simulated time, and the SLA engine times it as it
// would in production. Changes to the services are planned by the change
// schedule itself into their first free slot (a freeze is a blackout), and
// a failed one opens an incident. The Report says what came of it: SLA
// compliance and breaches (by the hour of the week the incidents arrived,
// and the hour they breached), the backlog over time, time to resolve,
// availability and service credits, the changes, and the lifecycle
// package's KPIs. Compare puts two reports side by side.
//
// This is discrete-event simulation: nothing waits for the wall clock.
// The next thing to happen (an arrival, an agent finishing, a shift
// starting) is taken from a queue ordered by time, the clock is set to
// it, and it is done; a month of a busy desk takes seconds. The same
// Scenario with the same Seed gives the same Report.
package sim
