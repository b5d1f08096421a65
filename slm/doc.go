// Package slm is service level management: SLA, OLA and underpinning
// contract definitions, the timers that measure them on subjects such as
// incidents, the monitor that records warnings and breaches, and the
// reports that come out of them (compliance, availability, service
// credits). Business time comes from package slm/calendar.
//
// # Subjects and snapshots
//
// slm does not know incidents. A process hands the Engine an
// itil.Snapshot of a subject — kind, ID, state, priority, service,
// customer, fields and time — inside its own transaction, through the
// in-transaction hook every process offers (the Engine is a storage.Hook:
// incident.WithHook(engine) wires incidents in, and problems, changes and
// requests are timed the same way). The engine applies the definitions'
// conditions to it, the way SLA conditions are written against ticket
// fields elsewhere; StandardDefinition builds the usual definitions on the
// standard snapshot fields.
//
// # Definitions
//
// A Definition measures one metric (response, resolution or a custom one)
// on one subject kind: targets chosen by conditions (first match or
// strictest), a calendar (nil: 24×7), and start, pause, resume, stop,
// cancel and reset conditions. Definitions are versioned: Define stores a
// new revision; a running timer keeps the revision it started under.
//
// # Timers
//
// A Timer is one cycle of one definition on one subject. Its states are
// in progress, paused, completed and canceled (see lifecycle.md); a reset
// ends a cycle and starts the next, keeping the old one. A timer keeps its
// business time used, its pause intervals, its original and current breach
// instants and the thresholds fired. Its progress at any instant
// (Timer.ProgressAt) costs one calendar lookup.
//
// A timer is a pure function of the subject's snapshots, the definition
// revision and its calendar: every snapshot is journaled (EventObserved),
// and Engine.Replay folds the journal again to rebuild exactly the live
// timers; Engine.Repair stores the rebuilt ones.
//
// A target is breached when the business time used reaches it: a ticket
// solved with 3h59m59s used of a 4 h target met it, one solved at 4 h did
// not. Comparisons are made on durations, never on rounded percentages.
//
// # Monitoring
//
// Engine.Due finds the timers whose next threshold (50% and 75% by default,
// then 100%, the breach) is reached, through an index on that instant;
// Engine.Fire journals each threshold once per cycle (EventWarning,
// EventBreached), however many monitors run, on any backend: the subject
// record is the claim, and a monitor that loses the race conflicts and
// skips it.
package slm
