package problem

// Journal event types of problems. Events of Kind "problem" name the
// problem written and carry an itil.Payload: a summary, the old and new
// value of every field the command changed, and the actor's reason.
// EventCommented and EventWorkNoted are journaled under the note's own
// record (kind "note", the problem in Refs), with the note's fields.
const (
	EventOpened          = "problem.opened"
	EventUpdated         = "problem.updated"
	EventAssigned        = "problem.assigned"
	EventCommented       = "problem.commented"
	EventWorkNoted       = "problem.work_noted"
	EventAssessed        = "problem.assessed"
	EventConfirmed       = "problem.confirmed"
	EventMarkedDuplicate = "problem.marked_duplicate"
	EventDuplicateLinked = "problem.duplicate_linked"
	EventCanceled        = "problem.canceled"
	EventFixStarted      = "problem.fix_started"
	EventRiskAccepted    = "problem.risk_accepted"
	EventReanalyzed      = "problem.reanalyzed"
	EventResolved        = "problem.resolved"
	EventCompleted       = "problem.completed"
)
