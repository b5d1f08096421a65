package itil_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
)

func TestDefaultMatrixIsTheITILTable(t *testing.T) {
	want := [3][3]itil.Priority{
		{itil.P1, itil.P2, itil.P3},
		{itil.P2, itil.P3, itil.P4},
		{itil.P3, itil.P4, itil.P5},
	}
	m := itil.DefaultPriorityMatrix()
	for i := range 3 {
		for u := range 3 {
			p, err := m.Priority(itil.Impact(i+1), itil.Urgency(u+1))
			require.NoError(t, err)
			assert.Equal(t, want[i][u], p, "impact %d urgency %d", i+1, u+1)
		}
	}
	for _, bad := range [][2]int{{0, 1}, {1, 0}, {4, 1}, {1, 4}, {-1, -1}} {
		_, err := m.Priority(itil.Impact(bad[0]), itil.Urgency(bad[1]))
		var v *itil.ValidationError
		assert.ErrorAs(t, err, &v, "%v", bad)
	}
}

func TestNewPriorityMatrixRejects(t *testing.T) {
	full := func() map[itil.Cell]itil.Priority {
		m := map[itil.Cell]itil.Priority{}
		for i := 1; i <= 2; i++ {
			for u := 1; u <= 2; u++ {
				m[itil.Cell{Impact: itil.Impact(i), Urgency: itil.Urgency(u)}] = itil.P3
			}
		}
		return m
	}
	cases := map[string]struct {
		levels [2]int
		edit   func(map[itil.Cell]itil.Priority)
		field  string
	}{
		"missing cell":    {[2]int{2, 2}, func(m map[itil.Cell]itil.Priority) { delete(m, itil.Cell{Impact: 2, Urgency: 1}) }, "cells[2/1]"},
		"unknown impact":  {[2]int{2, 2}, func(m map[itil.Cell]itil.Priority) { m[itil.Cell{Impact: 0, Urgency: 1}] = itil.P1 }, "cells[0/1]"},
		"unknown urgency": {[2]int{2, 2}, func(m map[itil.Cell]itil.Priority) { m[itil.Cell{Impact: 1, Urgency: 3}] = itil.P1 }, "cells[1/3]"},
		"bad priority":    {[2]int{2, 2}, func(m map[itil.Cell]itil.Priority) { m[itil.Cell{Impact: 1, Urgency: 1}] = 6 }, "cells[1/1]"},
		"no levels":       {[2]int{0, 2}, func(map[itil.Cell]itil.Priority) {}, "impact_levels"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cells := full()
			c.edit(cells)
			m, err := itil.NewPriorityMatrix(c.levels[0], c.levels[1], cells)
			assert.Nil(t, m)
			var v *itil.ValidationError
			require.ErrorAs(t, err, &v)
			assert.True(t, v.Has(c.field), "%v", v)
		})
	}
	m, err := itil.NewPriorityMatrix(2, 2, full())
	require.NoError(t, err)
	impacts, urgencies := m.Levels()
	assert.Equal(t, [2]int{2, 2}, [2]int{impacts, urgencies})
}

func TestNumbers(t *testing.T) {
	assert.Equal(t, "PRB0001001", itil.FormatNumber("PRB", 1))
	assert.Equal(t, "INC10001000", itil.FormatNumber("INC", 9999999+1))
	for _, n := range []int64{1, 2, 999, 8999999, 9000000, 123456789} {
		got, err := itil.ParseNumber("INC", itil.FormatNumber("INC", n))
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
	for _, bad := range []string{"", "INC", "CHG0001001", "INC00010x1", "INC0001000", "INC12"} {
		_, err := itil.ParseNumber("INC", bad)
		assert.Error(t, err, bad)
	}
}

func TestIDsAreTimeOrderedV7(t *testing.T) {
	a, b := itil.NewID(), itil.NewID()
	assert.Equal(t, 7, int(a.Version()))
	assert.Less(t, a.String(), b.String())
	id, err := itil.ParseID(a.String())
	require.NoError(t, err)
	assert.Equal(t, a, id)
	_, err = itil.ParseID("nope")
	var v *itil.ValidationError
	assert.ErrorAs(t, err, &v)
}

func TestValidationError(t *testing.T) {
	var v itil.ValidationError
	assert.NoError(t, v.Err())
	v.Add("title", "is required")
	v.Add("impact", "must be between 1 and 3")
	err := v.Err()
	assert.EqualError(t, err, "invalid input: title: is required; impact: must be between 1 and 3")
	var got *itil.ValidationError
	assert.True(t, errors.As(err, &got))
	assert.True(t, got.Has("impact"))
	assert.False(t, got.Has("urgency"))
}

func TestActorValidate(t *testing.T) {
	for _, tc := range []struct {
		actor  itil.Actor
		fields []string
	}{
		{itil.Actor{ID: "alice", Name: "Alice"}, nil},
		{itil.Actor{}, []string{"by.id"}},
		{itil.Actor{ID: "al\x00ice"}, []string{"by.id"}},
		{itil.Actor{ID: "alice", Name: "Al\x00ice"}, []string{"by.name"}},
		{itil.Actor{ID: "\xff", Name: "\xc3"}, []string{"by.id", "by.name"}},
		{itil.Actor{ID: strings.Repeat("a", 257)}, []string{"by.id"}},
	} {
		var v itil.ValidationError
		tc.actor.Validate("by", &v)
		var got []string
		for _, f := range v.Fields {
			got = append(got, f.Field)
		}
		if !slices.Equal(got, tc.fields) {
			t.Errorf("%q: fields %v, want %v", tc.actor, got, tc.fields)
		}
	}
}
