package slm_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

func TestDefinitionJSONErrorsAreTyped(t *testing.T) {
	for _, c := range []struct {
		json  string
		field string
	}{
		{`{"name":"x","calendar":{"zone":"UTC","week":{"monday":[{"start":"9:00","end":"17:00"}]}}}`, "calendar.week.monday[0].start"},
		{`{"name":"x","calendar":{"zone":"UTC","week":{"funday":[]}}}`, "calendar.week.funday"},
		{`{"name":7}`, "name"},
		{`{"targets":[{"name":"p1","duration":"4h"}]}`, "targets.duration"},
	} {
		var d slm.Definition
		testkit.RequireFields(t, json.Unmarshal([]byte(c.json), &d), c.field)
	}
	d := slm.StandardDefinition("Resolution", "incident", slm.SLA, slm.Resolution)
	spec := calendar.AlwaysOpen()
	d.Calendar = &spec
	b, err := json.Marshal(d)
	require.NoError(t, err)
	var back slm.Definition
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
}
