package slm_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/slm/calendar"
)

// requireFields asserts a *itil.ValidationError naming exactly fields.
func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	var got []string
	for _, f := range v.Fields {
		got = append(got, f.Field)
	}
	assert.ElementsMatch(t, fields, got, "%v", v)
}

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
		requireFields(t, json.Unmarshal([]byte(c.json), &d), c.field)
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
