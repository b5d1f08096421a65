package incident

import (
	"strconv"
	"time"

	"github.com/itilkit/itil"
)

// Snapshot is the incident as hooks (such as slm.Engine) see it after a
// command wrote it. Besides state, priority, service and caller (as the
// customer), conditions can test these fields: phase ("running" while New
// or In Progress, "paused" while On Hold, "done" once Resolved or Closed,
// "canceled"), category, subcategory, channel, assignment_group, assignee,
// hold_reason, major ("true"/"false"), responded ("true" once the first
// response happened), reopen_count, escalation_level, and opened_at
// (RFC 3339, for a retroactive start). phase, responded, reopen_count and
// opened_at are the fields slm.StandardDefinition times.
func Snapshot(inc *Incident, at time.Time) itil.Snapshot {
	s := itil.Snapshot{
		Kind: Kind, ID: inc.ID, Version: inc.Version, State: string(inc.State),
		Priority: inc.Priority, Customer: inc.Caller.ID, Time: at,
		Fields: map[string]string{
			"phase":            phase(inc.State),
			"category":         inc.Category,
			"subcategory":      inc.Subcategory,
			"channel":          string(inc.Channel),
			"assignment_group": inc.AssignmentGroup,
			"assignee":         inc.Assignee,
			"hold_reason":      string(inc.HoldReason),
			"major":            strconv.FormatBool(inc.Major),
			"service_down":     strconv.FormatBool(inc.ServiceDown),
			"responded":        strconv.FormatBool(!inc.FirstRespondedAt.IsZero()),
			"reopen_count":     strconv.Itoa(inc.ReopenCount),
			"escalation_level": strconv.Itoa(inc.EscalationLevel),
			"opened_at":        inc.OpenedAt.UTC().Format(time.RFC3339Nano),
		},
	}
	if inc.ServiceID != itil.NilID {
		s.Service = inc.ServiceID.String()
	}
	return s
}

func phase(s State) string {
	switch s {
	case StateOnHold:
		return "paused"
	case StateResolved, StateClosed:
		return "done"
	case StateCanceled:
		return "canceled"
	}
	return "running"
}
