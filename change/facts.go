package change

import (
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
)

// factsOf gathers the Facts a Condition tests from the change alone: its
// model (and type, for the three default models, whose names are their
// types), state, people, risk, impact, how many CIs and affected services
// it names, the highest criticality among those services, and its planned
// duration: what risk conditions, approval rules and CAB agendas read.
// The facts that need the CMDB (ci_classes, ci_criticality) stay absent
// here.
func factsOf(ch *Change) *Facts {
	f := &Facts{
		Model: ch.Model, State: string(ch.State), AssignmentGroup: ch.AssignmentGroup, Assignee: ch.Assignee,
		RequestedBy: ch.RequestedBy.ID, Risk: ch.Risk, Impact: ch.Impact, AffectedServices: len(ch.AffectedServices),
	}
	if slices.Contains([]string{ModelNormal, ModelStandard, ModelEmergency}, ch.Model) {
		f.Type = ch.Model
	}
	if ch.CIID != itil.NilID {
		f.CIs++
	}
	f.CIs += len(ch.CIIDs)
	for _, s := range ch.AffectedServices {
		if s.Criticality > 0 && (f.ServiceCriticality == 0 || int(f.ServiceCriticality) > s.Criticality) {
			f.ServiceCriticality = cmdb.Criticality(s.Criticality)
		}
	}
	if !ch.PlannedStart.IsZero() && !ch.PlannedEnd.IsZero() {
		f.PlannedDuration = ch.PlannedEnd.Sub(ch.PlannedStart)
	}
	return f
}
