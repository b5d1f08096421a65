package change_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/internal/testkit"
)

// TestModelDiagramsInSync fails when a default model's committed diagram,
// or the README's copy, no longer matches it. Run `go test ./change
// -update` to regenerate them.
func TestModelDiagramsInSync(t *testing.T) {
	for _, m := range change.DefaultModels() {
		d, err := m.Diagram()
		require.NoError(t, err)
		machinetest.InSync(t, machinetest.Diagram{File: "lifecycle-" + m.Name + ".md", Title: "Change model: " + m.Name,
			Source: "change.DefaultModels()", Package: "./change", Mermaid: d, README: "change-" + m.Name})
	}
	machinetest.InSync(t, machinetest.Diagram{File: "task.md", Title: "Change task lifecycle",
		Source: "change.TaskLifecycle()", Package: "./change", Mermaid: change.TaskDiagram()})
	machinetest.InSync(t, machinetest.Diagram{File: "schedule.md", Title: "Maintenance and blackout schedule lifecycle",
		Source: "change.ScheduleDiagram()", Package: "./change", Mermaid: change.ScheduleDiagram()})
}

func TestDefaultModels(t *testing.T) {
	want := map[string][]change.State{
		change.ModelNormal: {change.StateNew, change.StateAssess, change.StateAuthorize, change.StateScheduled,
			change.StateImplement, change.StateReview, change.StateClosed, change.StateCanceled},
		change.ModelStandard: {change.StateNew, change.StateScheduled, change.StateImplement, change.StateReview,
			change.StateClosed, change.StateCanceled},
		change.ModelEmergency: {change.StateNew, change.StateAuthorize, change.StateScheduled, change.StateImplement,
			change.StateReview, change.StateClosed, change.StateCanceled},
	}
	models := change.DefaultModels()
	require.Len(t, models, len(want))
	for _, m := range models {
		require.NoError(t, m.Validate(), m.Name)
		require.ElementsMatch(t, want[m.Name], m.States(), m.Name)
	}
	// A copy each time.
	models[0].Transitions[0].To = "elsewhere"
	require.NotEqual(t, change.State("elsewhere"), change.DefaultModels()[0].Transitions[0].To)
}

// iTop's routine change: no approval at all.
func routine() change.Model {
	return change.Model{Name: "routine", Transitions: []itil.Transition[change.State]{
		{Event: change.MoveSchedule, From: []change.State{change.StateNew}, To: change.StateScheduled},
		{Event: change.MoveImplement, From: []change.State{change.StateScheduled}, To: change.StateImplement},
		{Event: change.MoveClose, From: []change.State{change.StateImplement}, To: change.StateClosed},
		{Event: change.MoveCancel, From: []change.State{change.StateNew, change.StateScheduled}, To: change.StateCanceled},
	}, PlannedStates: []change.State{change.StateScheduled}, CIChangeStates: []change.State{change.StateImplement}}
}

func TestModelValidate(t *testing.T) {
	require.NoError(t, routine().Validate())
	bad := []struct {
		name   string
		edit   func(m *change.Model)
		fields []string
	}{
		{"no name", func(m *change.Model) { m.Name = "" }, []string{"name"}},
		{"name not an identifier", func(m *change.Model) { m.Name = "Routine Change" }, []string{"name"}},
		{"no transitions", func(m *change.Model) { m.Transitions = nil }, []string{"transitions"}},
		{"event with two targets", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: change.MoveSchedule,
				From: []change.State{change.StateImplement}, To: change.StateReview})
		}, []string{"transitions[4].to"}},
		{"no sources", func(m *change.Model) { m.Transitions[1].From = nil }, []string{"transitions[1].from"}},
		{"bad state name", func(m *change.Model) { m.Transitions[1].To = "Implement!" }, []string{"transitions[1].to"}},
		{"a move twice", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: "go",
				From: []change.State{change.StateNew}, To: change.StateScheduled})
		}, []string{"transitions[4].from[0]"}},
		{"unreachable state", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: change.MoveClose,
				From: []change.State{"audit"}, To: change.StateClosed})
		}, []string{"transitions"}},
		{"close by another name", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: "done",
				From: []change.State{change.StateScheduled}, To: change.StateClosed})
		}, []string{"transitions[4].event"}},
		{"cancel by another name", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: "drop",
				From: []change.State{change.StateImplement}, To: change.StateCanceled})
		}, []string{"transitions[4].event"}},
		{"a rejection by another name", func(m *change.Model) {
			m.ApprovalStates = []change.State{change.StateScheduled}
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: "rework",
				From: []change.State{change.StateScheduled}, To: change.StateNew})
		}, []string{"approval_states[0]"}},
		{"closed not final", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: "reopen",
				From: []change.State{change.StateClosed}, To: change.StateImplement})
		}, []string{"transitions"}},
		{"closed unreachable", func(m *change.Model) { m.Transitions = m.Transitions[:2] }, []string{"transitions", "transitions"}}, // and implement has no way out
		{"a dead end", func(m *change.Model) {
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{Event: "park",
				From: []change.State{change.StateScheduled}, To: "parked"})
		}, []string{"transitions"}},
		{"unknown listed state", func(m *change.Model) { m.PlannedStates = []change.State{change.StateReview} }, []string{"planned_states[0]"}},
		{"approvals with no way back", func(m *change.Model) { m.ApprovalStates = []change.State{change.StateScheduled} }, []string{"approval_states[0]"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			m := routine()
			c.edit(&m)
			testkit.RequireFields(t, m.Validate(), c.fields...)
			_, err := m.Diagram()
			testkit.RequireFields(t, err, c.fields...)
			require.Nil(t, m.States())
		})
	}
}

// Any model Validate accepts compiles: the state machine never panics on
// a model an application supplies.
func TestModelValidateGuardsCompile(t *testing.T) {
	states := []change.State{change.StateNew, change.StateAssess, change.StateScheduled, change.StateImplement,
		change.StateClosed, change.StateCanceled, "x"}
	rapid.Check(t, func(t *rapid.T) {
		var m change.Model
		m.Name = "m"
		for i := range rapid.IntRange(0, 8).Draw(t, "transitions") {
			from := rapid.SliceOfNDistinct(rapid.SampledFrom(states), 0, 3, func(s change.State) change.State { return s }).Draw(t, "from")
			m.Transitions = append(m.Transitions, itil.Transition[change.State]{
				Event: rapid.SampledFrom([]string{"a", "b", "c", "e" + strconv.Itoa(i)}).Draw(t, "event"),
				From:  from, To: rapid.SampledFrom(states).Draw(t, "to")})
		}
		m.ApprovalStates = rapid.SliceOfN(rapid.SampledFrom(states), 0, 2).Draw(t, "approvals")
		if m.Validate() != nil {
			return
		}
		d, err := m.Diagram()
		require.NoError(t, err)
		require.NotEmpty(t, d)
		require.Equal(t, change.StateNew, m.States()[0])
	})
}
