// Package problem implements ITIL problem management: finding the causes
// of incidents, and removing them or living with them knowingly, so that
// the same incidents stop coming back.
//
// Incident management restores service; problem management asks why
// service was lost. A [Problem] is the cause, or potential cause, of one
// or more incidents. It is opened reactively, after incidents (one major
// incident, or the same incident recurring), or proactively, before
// anyone is hurt: from trends in the incident history, from monitoring,
// from a supplier's warning. While the cause is being found a
// workaround may restore service faster; once the cause is known and
// documented with its workaround, the problem is a known error (a record
// the service desk searches, so that the next incident is resolved from
// it at once). The problem is then fixed (usually through a change), or
// its risk is accepted when a fix costs more than the incidents.
//
// The lifecycle follows ServiceNow's problem states, the ones
// practitioners know: New → Assess → Root Cause Analysis → Fix in
// Progress → Resolved → Closed, and Canceled. [Service.Assess] starts the
// assessment; [Service.Confirm] accepts the problem for analysis once it
// has an assignment group and a priority (from impact and urgency, through
// the same itil.PriorityMatrix as incidents); [Service.MarkDuplicate] and
// [Service.Cancel] end it early; [Service.Fix] starts a fix once the cause
// notes say what the root cause is; [Service.AcceptRisk] closes it without
// a fix, with the reason; [Service.Resolve] records the fix applied (the
// fix notes say what it was) and [Service.Complete] closes it.
// [Service.Reanalyze] returns it to Root Cause Analysis when a fix did not
// hold, even from Closed when the Authorizer allows
// CommandReanalyzeClosed (a problem manager's decision). Closed and
// Canceled are otherwise final.
//
// The lifecycle is declared once as transition data (see [Lifecycle]) and
// drawn from it in lifecycle.md; a test keeps the drawing in step with the
// table.
//
// Every command of a [Service] takes the context, the actor and then the
// problem, and runs through the pipeline every process shares, in one
// storage transaction: it loads the problem, authorizes the actor
// ([WithAuthorizer]), checks the rules, fires the transition, saves the
// problem at its expected version, journals one event per record written
// (with the old and new value of every field it changed) and hands the
// problem to the hooks ([WithHook]). A command that fails writes nothing:
// it returns an error wrapping itil.ErrNotFound, itil.ErrConflict,
// itil.ErrInvalidTransition or itil.ErrForbidden, a *itil.ValidationError
// naming every bad field, or the error of the context or the store. A
// command that conflicts with a concurrent one is run again on the fresh
// problem a few times; [Service.IfVersion] makes it fail with
// itil.ErrConflict instead, and [Service.In] runs it inside the caller's
// transaction.
//
// Comments and work notes are notes (itil.Note) kept apart from the
// problem, listed with [Service.Notes].
package problem
