// Package problem implements ITIL problem management: finding the causes
// of incidents, and removing them or living with them knowingly, so that
// the same incidents stop coming back.
//
// # Problems, incidents and known errors
//
// Incident management restores service; problem management asks why
// service was lost. An incident is one interruption, closed as soon as
// the user works again. A [Problem] is the cause, or potential cause, of
// one or more incidents, and stays open until that cause is removed or
// its risk accepted. A known error ([KnownError]) is a problem whose root
// cause or workaround is documented, written for the service desk: the
// next time the symptom is reported, the agent finds the record and
// restores service from it at once.
//
// Problem management is reactive when it starts from incidents that
// happened (a major incident, or the same incident recurring) and
// proactive when it starts before anyone is hurt: from trends in the
// incident history, from monitoring, from a supplier's warning. Both open
// a problem with [Service.Open]; [TrendWatch] finds the trends.
//
// While the cause is being found, a workaround (Problem.Workaround) may
// restore service faster; it is not a fix, and the incidents it helps
// keep their problem. The permanent fix usually changes the
// infrastructure, so it goes through change management: the problem lists
// the changes that carry it as fix records ([FixRecord]). Or the fix costs
// more than the incidents, and the risk is accepted.
//
// # The lifecycle
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
// Canceled are otherwise final. The texts of the investigation
// (workaround, cause notes, fix notes) are set with [Service.Update].
//
// The lifecycle is declared once as transition data (see [Lifecycle]) and
// drawn from it in lifecycle.md; a test keeps the drawing in step with the
// table.
//
// # Problems and their incidents
//
// A Service made [WithIncidents] reaches incidents through the incident
// Service on the same store, inside the problem command's own transaction,
// so a problem command and what it does to incidents commit together or
// not at all. [Service.LinkIncident] and [Service.UnlinkIncident] link an
// incident to its one problem (incident.Incident.ProblemID);
// [Service.Incidents] lists them. An incident the desk puts On Hold
// awaiting the problem (incident.AwaitingProblem) must belong to one.
// [Service.CommunicateWorkaround] and [Service.CommunicateFix] add the
// problem's workaround or fix notes as a comment to every linked incident
// still open.
//
// The cascade: [Service.Resolve] resolves, in its transaction, the linked
// incidents On Hold awaiting the problem (with the resolution code
// [ResolvedByProblem] and the fix notes; every open linked incident with
// [WithResolveAllLinked]), and adds a work note to the others.
// [Service.AcceptRisk] and [Service.Cancel] resolve none: they add a work
// note to each open linked incident, and resume (In Progress) those On
// Hold awaiting the problem, since no fix is coming for them to wait for.
// [Service.MarkDuplicate] moves the duplicate's incidents to the
// surviving problem.
//
// # Known errors
//
// [Service.PublishKnownError] writes a problem's known error from its
// title, cause notes, workaround, fix notes, CIs and service, publishes it
// and links it (Problem.KnownErrorID), in one transaction. [KnownErrors]
// ([Service.KnownErrors]) creates known errors by hand, publishes, edits
// (an edit of a published known error is a new revision under the same
// number) and retires them; their lifecycle is draft → published →
// retired (see [KnownErrorLifecycle], drawn in knownerror.md).
// [KnownErrors.Search] is what a desk agent uses: every word of the query
// in the title, symptom, workaround or error code, case and accents
// folded ([Fold]), or by error code, CI, service, vendor or model, ranked
// by the incidents resolved with each ([KnownError.IncidentCount], which
// only [Service.ResolveWithKnownError] raises) and then newest, alike on
// every backend.
//
// # Fixes through changes
//
// [Service.AddFixRecord] lists a record (kind "change" and its ID) as
// carrying the fix; [Service.CompleteFixRecord] and
// [Service.CancelFixRecord] settle it when the change closes. When no fix
// record is open and one is complete, [Problem.FixReady] is true and the
// command journals [EventFixReady]: the problem is ready to resolve.
//
// # Trend detection
//
// A [TrendRule] says when incidents that share a key (CI, service,
// category, or a combination: [TrendBy]) make a trend: at least Threshold
// of them opened within Window. [TrendDetector] keeps the counters as
// incidents are observed (amortized constant time per incident and rule),
// and [DetectTrends] and
// [ReplayTrends] are its batch forms over a history, with the same
// answers. [TrendWatch] keeps a detector current from the journal's
// incident.opened events: [TrendWatch.Trends] returns the candidates
// ([TrendCandidate]: the key, the count, the incidents, the window) with
// the open problem that already covers each, and [TrendWatch.Open] and
// [TrendWatch.OpenUncovered] open a problem for a candidate, at most once
// per rule and key while that problem is open, however many application
// instances try, linking the candidate's incidents to it in the same
// transaction.
//
// # Commands
//
// Every command of a [Service] takes the context, the actor and then the
// problem, and runs through the pipeline every process shares, in one
// storage transaction: it loads the problem, authorizes the actor
// ([WithAuthorizer]), checks the rules, fires the transition, saves the
// problem at its expected version, journals one event per record written
// (with the old and new value of every field it changed) and hands the
// problem to the hooks ([WithHook]: SLA timers such as time to root cause
// attach this way). A command that fails writes nothing: it returns an
// error wrapping itil.ErrNotFound, itil.ErrConflict,
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
