package problem

import (
	"time"

	"github.com/itilkit/itil"
)

// Snapshot is the problem as hooks (such as slm.Engine) see it after a
// command wrote it. Besides state, priority and service, conditions can
// test these fields: phase ("running" while open, "done" once Resolved or
// Closed, "canceled"), category, assignment_group, assignee,
// resolution_code, and opened_at (RFC 3339).
func Snapshot(p *Problem, at time.Time) itil.Snapshot {
	s := itil.Snapshot{
		Kind: Kind, ID: p.ID, Version: p.Version, State: string(p.State),
		Priority: p.Priority, Time: at,
		Fields: map[string]string{
			"phase":            phase(p.State),
			"category":         p.Category,
			"assignment_group": p.AssignmentGroup,
			"assignee":         p.Assignee,
			"resolution_code":  string(p.ResolutionCode),
			"opened_at":        p.OpenedAt.UTC().Format(time.RFC3339Nano),
		},
	}
	if p.ServiceID != itil.NilID {
		s.Service = p.ServiceID.String()
	}
	return s
}

func phase(s State) string {
	switch s {
	case StateResolved, StateClosed:
		return "done"
	case StateCanceled:
		return "canceled"
	}
	return "running"
}
