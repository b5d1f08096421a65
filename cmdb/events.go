package cmdb

// Record and journal kinds.
const (
	KindCI           = "cmdb.ci"
	KindRelationship = "cmdb.relationship"
	KindBaseline     = "cmdb.baseline"
)

// Journal event types. Every command journals one event per record it
// writes, and the event's Kind, SubjectID and SubjectVersion name that
// record; its payload is an itil.Payload:
//
//   - CI events (kind cmdb.ci) carry the CI as created, then the old and
//     new value of every field each later write changed; the deletion
//     event has Deleted set. A CI's history replays to the CI (AsOf).
//   - Relationship events (kind cmdb.relationship) name the relationship
//     at its version and list its parent and child CIs in Refs, in that
//     order, so that the history of either CI shows them. EventRelated
//     carries the relationship as created, EventUnrelated has Deleted set.
//   - EventBaselineTaken (kind cmdb.baseline) carries the baseline as
//     taken.
//
// Claims (see kindClaim) are records derived from the CIs and are not
// journaled.
const (
	EventCICreated      = "cmdb.ci_created"
	EventCIUpdated      = "cmdb.ci_updated"
	EventCIStateChanged = "cmdb.ci_state_changed"
	EventCIDeleted      = "cmdb.ci_deleted"
	EventRelated        = "cmdb.related"
	EventUnrelated      = "cmdb.unrelated"
	EventBaselineTaken  = "cmdb.baseline_taken"
)
