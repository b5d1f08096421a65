// Package incident implements ITIL incident management: restoring normal
// service operation as quickly as possible after an unplanned interruption or
// a reduction in quality.
//
// An [Incident] is opened by a caller through a channel, categorized, given
// an impact and an urgency from which its priority is derived (see
// itil.PriorityMatrix), assigned to a group and an engineer, escalated
// functionally (to another group) or hierarchically (to management), put on
// hold while waiting for someone, resolved with a resolution code, and closed
// (by hand or by the [Service.AutoClose] sweep). A resolved incident can be
// reopened within a window. Major incidents and parent/child links let one
// resolution settle many reports of the same outage.
//
// The lifecycle is declared once as a looplab/fsm transition table (see
// [Lifecycle]) and drawn from it in lifecycle.md; a test keeps the drawing
// in step with the table. Closed and Canceled are final.
//
// Every command of a [Service] runs in one storage transaction: it loads the
// incident, checks the rules, fires the transition, saves the incident with
// its expected version and appends one journal event per changed incident.
// A command that fails writes nothing: it returns an error wrapping
// itil.ErrNotFound, itil.ErrConflict (another command changed an incident
// this one read or wrote; reload and retry), itil.ErrInvalidTransition or
// itil.ErrForbidden, a *itil.ValidationError naming every bad field, or
// the error of the context or the store (such as storage.ErrClosed).
//
// With [WithSLA], every change to an incident is also handed to a
// service level management engine (package slm) as a [Snapshot], in the
// same transaction: SLA timers start, pause On Hold, stop at the first
// response or the resolution and start a new cycle on reopen atomically
// with the incident ([SLADefinition] builds the usual definitions,
// [Service.Timers] shows them). Since the engine's breach monitor also
// writes the incident's SLA record, a command whose commit conflicts while
// its own incident did not change is run again (up to three times).
package incident
