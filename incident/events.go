package incident

// Journal event types of incidents. Events of Kind "incident" name the
// incident written and carry an itil.Payload: a summary, the old and new
// value of every field the command changed, and the actor's reason.
// EventCommented and EventWorkNoted are journaled under the note's own
// record (kind "note", the incident in Refs), with the note's fields.
const (
	EventOpened           = "incident.opened"
	EventUpdated          = "incident.updated"
	EventAssigned         = "incident.assigned"
	EventEscalated        = "incident.escalated"
	EventHeld             = "incident.held"
	EventResumed          = "incident.resumed"
	EventCommented        = "incident.commented"
	EventWorkNoted        = "incident.work_noted"
	EventResponded        = "incident.responded"
	EventPriorityOverride = "incident.priority_overridden"
	EventPriorityRestored = "incident.priority_restored"
	EventPromoted         = "incident.promoted_major"
	EventLinked           = "incident.linked"
	EventChildLinked      = "incident.child_linked"
	EventResolved         = "incident.resolved"
	EventClosed           = "incident.closed"
	EventReopened         = "incident.reopened"
	EventCanceled         = "incident.canceled"
)
