package change

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
)

func TestFactsOf(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	services := []AffectedService{{ServiceID: itil.NewID(), Criticality: 3}, {ServiceID: itil.NewID()}, {ServiceID: itil.NewID(), Criticality: 2}}
	ch := &Change{Model: ModelNormal, State: StateAuthorize, AssignmentGroup: "network", Assignee: "nia",
		RequestedBy: itil.Actor{ID: "rita"}, Risk: RiskModerate, Impact: 2, CIID: itil.NewID(), CIIDs: []itil.ID{itil.NewID(), itil.NewID()},
		AffectedServices: services, PlannedStart: start, PlannedEnd: start.Add(90 * time.Minute)}
	assert.Equal(t, &Facts{Model: ModelNormal, Type: ModelNormal, State: "authorize", AssignmentGroup: "network", Assignee: "nia",
		RequestedBy: "rita", Risk: RiskModerate, Impact: 2, CIs: 3, AffectedServices: 3, ServiceCriticality: cmdb.High,
		PlannedDuration: 90 * time.Minute}, factsOf(ch))

	// An application's model has no type; the unplanned have no duration.
	assert.Equal(t, &Facts{Model: "routine", State: "new"}, factsOf(&Change{Model: "routine", State: StateNew}))

	match, err := Condition{All: []Condition{
		{Field: "type", Op: OpEq, Value: "normal"}, {Field: "risk", Op: OpGte, Value: "moderate"},
		{Field: "state", Op: OpEq, Value: "authorize"}}}.Compile()
	assert.NoError(t, err)
	assert.True(t, match(factsOf(ch)), "ServiceNow's default agenda")
	ch.Risk = RiskLow
	assert.False(t, match(factsOf(ch)))
}
