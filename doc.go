// Package itil is an embeddable SDK for IT service management that follows
// ITIL, the IT Infrastructure Library.
//
// # The service lifecycle
//
// ITIL describes the life of an IT service in five stages. Each stage holds
// processes, and each process is (or will be: the module grows process by
// process) a package of this module with its own entities, state machine
// and rules, stored through the storage contract. Incident management and
// service level management are here today; the others are planned in the
// packages named:
//
//   - Service Strategy decides which services to offer and why: the service
//     portfolio, the service catalogue, financial management (what a service
//     costs and earns) and demand management. Package strategy.
//   - Service Design shapes a service so it can be run and measured: service
//     level management agrees SLAs, OLAs and underpinning contracts and
//     measures them on business calendars. Package slm.
//   - Service Transition moves new and changed services into operation
//     without breaking them: change enablement (types, risk, approvals,
//     schedule, conflicts) in package change, and service asset and
//     configuration management (CIs, relationships, impact analysis) in
//     package cmdb.
//   - Service Operation keeps the live service running: incident management
//     restores service as fast as possible (package incident), problem
//     management finds and removes the causes of incidents and keeps the
//     known error database (package problem).
//   - Continual Service Improvement measures every stage and records what to
//     improve in the CSI register. Package lifecycle wires the processes
//     together along the five stages.
//
// # This package
//
// The root package is the small kernel every process shares and nothing
// more: identifiers ([NewID], reference numbers such as INC0001001 via
// [FormatNumber]), the [Actor] who performs a command, [Impact], [Urgency],
// [Priority] and the configurable [PriorityMatrix], the injectable [Clock],
// the journal [Event], and the error vocabulary ([ErrNotFound],
// [ErrConflict], [ErrInvalidTransition], [ErrForbidden] and
// [*ValidationError]). It imports no process package.
//
// # Storage
//
// Process packages store their entities through package storage, a small
// record contract with typed collections on top. storage/memory is the
// zero-setup default, storage/sqlite keeps a tenant's data in one file
// (pure Go), and storage/postgres lets several application instances share
// one PostgreSQL database. Every backend proves itself against the shared
// conformance suite in storage/storagetest and the process suites
// (incident/incidenttest, slm/slmtest, cmdb/cmdbtest). storage/feed turns
// the journal into named consumers with durable cursors, for reactions
// and read models kept from committed history on any backend.
package itil
