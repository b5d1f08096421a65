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
// The lifecycle is declared once as transition data (see [Lifecycle]) and
// drawn from it in lifecycle.md; a test keeps the drawing in step with the
// table. Closed and Canceled are final.
//
// Every command of a [Service] takes the context, the actor and then the
// incident, and runs through the pipeline every process shares, in one
// storage transaction: it loads the incident, authorizes the actor
// ([WithAuthorizer]), checks the rules, fires the transition, saves the
// incident at its expected version, journals one event per record written
// (with the old and new value of every field it changed) and hands the
// incident to the hooks ([WithHook]). A command that fails writes nothing:
// it returns an error wrapping itil.ErrNotFound, itil.ErrConflict,
// itil.ErrInvalidTransition or itil.ErrForbidden, a *itil.ValidationError
// naming every bad field, or the error of the context or the store (such
// as storage.ErrClosed). A command that conflicts with a concurrent one is
// run again on the fresh incident a few times; [Service.IfVersion] makes
// it fail with itil.ErrConflict instead when the incident is no longer at
// the version the caller read, and [Service.In] runs it inside the
// caller's transaction (no retry: the caller owns the transaction).
//
// Comments and work notes are notes (itil.Note) kept apart from the
// incident, listed with [Service.Notes]: an incident's size, and the cost
// of a command on it, do not grow with them.
//
// With [WithHook](engine), every change to an incident is handed to a
// service level management engine (package slm) as a [Snapshot], in the
// same transaction: SLA timers start, pause On Hold, stop at the first
// response or the resolution and start a new cycle on reopen atomically
// with the incident (slm.StandardDefinition builds the usual definitions
// on the snapshot's standard fields; engine.Status shows the timers).
package incident
