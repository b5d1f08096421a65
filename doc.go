// Package itil is an embeddable SDK for IT service management that follows
// ITIL, the IT Infrastructure Library.
//
// # The service lifecycle
//
// ITIL describes the life of an IT service in five stages. Each stage holds
// processes, and each process is a package of this module with its own
// entities, state machine and rules, stored through the storage contract:
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
//     improve: package lifecycle keeps the improvement register and
//     computes KPIs from the journal, which never changes. It also wires
//     the processes together along the stages: a service's lifecycle record
//     passes a gate at each hand-over (chartered in strategy; a complete
//     service design package, SLAs and CIs out of design; successful
//     changes, met acceptance criteria and a quiet early life out of
//     transition), each gate reading the other packages.
//
// Package sim plays a service desk on a clock it drives, through these
// packages' own rules, to answer "what if" questions; examples/walkthrough
// tells one service's way through the five stages, for students.
//
// # This package
//
// The root package is the small kernel every process shares and nothing
// more: identifiers ([NewID], reference numbers such as INC0001001 via
// [FormatNumber]), the [Actor] who performs a command, [Impact], [Urgency],
// [Priority] and the configurable [PriorityMatrix], the injectable [Clock],
// lifecycles declared as [Transition] data, the [Authorizer] every process
// accepts, the journal [Event] with its [Payload] (old and new value of
// every changed field) as [HistoryEntry] shows it, the [Note] (comments
// and work notes, kept apart from their entity), the [Snapshot] a process
// hands to hooks such as SLA timers, and the error vocabulary
// ([ErrNotFound], [ErrConflict], [ErrInvalidTransition], [ErrForbidden]
// and [*ValidationError]). It imports no process package.
//
// # How every process works
//
// Every process package has the same shape: a Service (slm: an Engine)
// built with options (a clock, an Authorizer, and where other processes
// hook in, WithHook), commands that take (ctx, actor,
// subject ID, ...) and run in one transaction through the same pipeline
// (load, authorize, lifecycle guard, the command's rules, a
// version-checked write, one journal event per record written, hooks),
// queries that return iter.Seq2 with multi-value filters plus a
// page-token form, History, and In(tx) to run the same commands inside a
// caller's transaction, so that a flow across processes is all or nothing
// (a command that fails there leaves the transaction to be aborted).
// A command that conflicts with a concurrent one is run again on fresh
// state a few times; IfVersion(v) makes it fail with ErrStale (an
// ErrConflict) instead when the subject is no longer at the version the
// caller read.
//
// # Storage
//
// Process packages store their entities through package storage, a small
// record contract with typed collections on top. storage/memory is the
// zero-setup default, storage/sqlite keeps a tenant's data in one file
// (pure Go), and storage/postgres lets several application instances share
// one PostgreSQL database. Every backend proves itself against the shared
// conformance suite in storage/storagetest and the process suites
// (incident/incidenttest, slm/slmtest, cmdb/cmdbtest).
//
// The journal is also a change feed: package storage/feed gives named
// consumers a durable cursor in the tenant's store, advanced in the same
// transaction as the consumer's own writes, for reactions and read models
// kept from committed history on any backend.
package itil
