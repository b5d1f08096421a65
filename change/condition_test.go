package change_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
)

// sampleFacts is a normal change on a server and a database, with some of
// the application's own facts.
func sampleFacts() *change.Facts {
	return &change.Facts{
		Model: "normal", Type: "normal", State: "assess",
		AssignmentGroup: "network", RequestedBy: "ana",
		Risk: change.RiskModerate, Impact: 2,
		CIClasses: []string{"server", "database"}, CIs: 3, CICriticality: 2,
		AffectedServices: 0, PlannedDuration: 3 * time.Hour,
		Texts:   map[string]string{"u_region": "eu", "u_empty": ""},
		Numbers: map[string]float64{"u_cost": 1200.5, "u_zero": 0},
		Lists:   map[string][]string{"u_tags": {"pci", "gdpr"}},
	}
}

func cmp(field string, op change.Op, value any) change.Condition {
	return change.Condition{Field: field, Op: op, Value: value}
}

func TestConditionOps(t *testing.T) {
	yes, no := cmp("type", change.OpEq, "normal"), cmp("type", change.OpEq, "standard")
	tests := []struct {
		name string
		c    change.Condition
		want bool
	}{
		{"zero condition holds", change.Condition{}, true},

		{"text eq", cmp("type", change.OpEq, "normal"), true},
		{"text eq is exact", cmp("type", change.OpEq, "Normal"), false},
		{"text ne", cmp("assignment_group", change.OpNe, "database"), true},
		{"text ne same", cmp("assignment_group", change.OpNe, "network"), false},
		{"text in", cmp("state", change.OpIn, []string{"new", "assess"}), true},
		{"text in from JSON", cmp("state", change.OpIn, []any{"new", "authorize"}), false},
		{"text not_in", cmp("state", change.OpNotIn, []string{"new", "authorize"}), true},
		{"text exists", cmp("requested_by", change.OpExists, nil), true},
		{"absent text exists", cmp("assignee", change.OpExists, nil), false},
		{"absent text eq", cmp("assignee", change.OpEq, "bo"), false},
		{"absent text ne", cmp("assignee", change.OpNe, "bo"), true},
		{"absent text in", cmp("assignee", change.OpIn, []string{"bo"}), false},
		{"absent text not_in", cmp("assignee", change.OpNotIn, []string{"bo"}), true},

		{"list contains", cmp("ci_classes", change.OpContains, "database"), true},
		{"list contains not", cmp("ci_classes", change.OpContains, "network"), false},
		{"list exists", cmp("ci_classes", change.OpExists, nil), true},

		{"risk gte by name", cmp("risk", change.OpGte, "moderate"), true},
		{"risk gt by value", cmp("risk", change.OpGt, change.RiskModerate), false},
		{"risk lt", cmp("risk", change.OpLt, "very_high"), true},
		{"risk in", cmp("risk", change.OpIn, []any{"moderate", "high"}), true},
		{"risk in typed", cmp("risk", change.OpIn, []change.Risk{change.RiskHigh}), false},

		{"level lte", cmp("ci_criticality", change.OpLte, 2), true},
		{"level lt", cmp("ci_criticality", change.OpLt, 2), false},
		{"level eq from JSON", cmp("impact", change.OpEq, float64(2)), true},
		{"level gte", cmp("impact", change.OpGte, itil.Impact(3)), false},
		{"absent level lte", cmp("service_criticality", change.OpLte, 4), false},
		{"absent level lt", cmp("service_criticality", change.OpLt, 4), false},
		{"absent level gte", cmp("service_criticality", change.OpGte, 1), false},
		{"absent level ne", cmp("service_criticality", change.OpNe, 1), true},
		{"absent level exists", cmp("service_criticality", change.OpExists, nil), false},

		{"count eq zero", cmp("affected_services", change.OpEq, 0), true},
		{"count lt", cmp("affected_services", change.OpLt, 1), true},
		{"count gt", cmp("cis", change.OpGt, 2), true},
		{"count gte", cmp("cis", change.OpGte, 4), false},
		{"count lte", cmp("cis", change.OpLte, 3), true},
		{"count not_in", cmp("cis", change.OpNotIn, []int{1, 2}), true},
		{"count exists when zero", cmp("affected_services", change.OpExists, nil), true},

		{"duration gt", cmp("planned_duration", change.OpGt, "2h"), true},
		{"duration lte", cmp("planned_duration", change.OpLte, "180m"), true},
		{"duration lt", cmp("planned_duration", change.OpLt, "3h"), false},
		{"duration eq", cmp("planned_duration", change.OpEq, "3h0m0s"), true},

		{"custom text eq", cmp("u_region", change.OpEq, "eu"), true},
		{"custom text in", cmp("u_region", change.OpIn, []string{"us", "apac"}), false},
		{"custom empty text is absent", cmp("u_empty", change.OpExists, nil), false},
		{"custom missing text ne", cmp("u_other", change.OpNe, "x"), true},
		{"custom number gt", cmp("u_cost", change.OpGt, 1000), true},
		{"custom number lte", cmp("u_cost", change.OpLte, 1200.5), true},
		{"custom number eq zero", cmp("u_zero", change.OpEq, 0), true},
		{"custom zero number exists", cmp("u_zero", change.OpExists, nil), true},
		{"custom missing number lt", cmp("u_missing", change.OpLt, 5), false},
		{"custom missing number not_in", cmp("u_missing", change.OpNotIn, []float64{1}), true},
		{"custom number in", cmp("u_cost", change.OpIn, []any{1.0, 1200.5}), true},
		{"custom list contains", cmp("u_tags", change.OpContains, "gdpr"), true},
		{"custom list exists", cmp("u_tags", change.OpExists, nil), true},
		{"custom missing exists", cmp("u_nothing", change.OpExists, nil), false},

		{"text in a large set", cmp("state", change.OpIn, manyTexts("assess")), true},
		{"text not_in a large set", cmp("state", change.OpNotIn, manyTexts("new")), true},
		{"custom text in a large set", cmp("u_region", change.OpIn, manyTexts("eu")), true},
		{"custom text not_in a large set", cmp("u_region", change.OpNotIn, manyTexts("eu")), false},
		{"count in a large set", cmp("cis", change.OpIn, []int{0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 3}), true},

		{"all true", change.Condition{All: []change.Condition{yes, yes, yes}}, true},
		{"all one false", change.Condition{All: []change.Condition{yes, no}}, false},
		{"all single", change.Condition{All: []change.Condition{no}}, false},
		{"any one true", change.Condition{Any: []change.Condition{no, no, yes}}, true},
		{"any all false", change.Condition{Any: []change.Condition{no, no}}, false},
		{"not", change.Condition{Not: &no}, true},
		{"not not", change.Condition{Not: &change.Condition{Not: &no}}, false},
		{"not zero", change.Condition{Not: &change.Condition{}}, false},
		{"nested", change.Condition{All: []change.Condition{
			{Any: []change.Condition{no, cmp("ci_classes", change.OpContains, "database")}},
			{Not: &change.Condition{All: []change.Condition{yes, cmp("cis", change.OpGt, 10)}}},
		}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.c.Validate())
			match, err := tt.c.Compile()
			require.NoError(t, err)
			assert.Equal(t, tt.want, match(sampleFacts()))

			// The same condition read back from JSON means the same.
			data, err := json.Marshal(tt.c)
			require.NoError(t, err)
			var back change.Condition
			require.NoError(t, json.Unmarshal(data, &back))
			match, err = back.Compile()
			require.NoError(t, err, string(data))
			assert.Equal(t, tt.want, match(sampleFacts()), string(data))
		})
	}
}

// manyTexts returns 30 texts, the last one last.
func manyTexts(last string) []string {
	var out []string
	for i := range 29 {
		out = append(out, fmt.Sprintf("state-%d", i))
	}
	return append(out, last)
}

func TestConditionNilFacts(t *testing.T) {
	for _, c := range []change.Condition{
		cmp("type", change.OpNe, "normal"),
		cmp("u_x", change.OpNotIn, []string{"a"}),
		cmp("u_n", change.OpNe, 1),
		cmp("affected_services", change.OpEq, 0),
		{Not: &change.Condition{Field: "ci_classes", Op: change.OpExists}},
		{Not: &change.Condition{Field: "u_x", Op: change.OpExists}},
	} {
		match, err := c.Compile()
		require.NoError(t, err)
		assert.True(t, match(nil), "%+v", c)
	}
}

func TestConditionFromJSON(t *testing.T) {
	const doc = `{"all": [
		{"field": "type", "op": "eq", "value": "normal"},
		{"any": [
			{"field": "ci_criticality", "op": "lte", "value": 2},
			{"field": "planned_duration", "op": "gt", "value": "4h"}
		]},
		{"not": {"field": "risk", "op": "in", "value": ["high", "very_high"]}}
	]}`
	var c change.Condition
	require.NoError(t, json.Unmarshal([]byte(doc), &c))
	match, err := c.Compile()
	require.NoError(t, err)
	assert.True(t, match(sampleFacts()))
	f := sampleFacts()
	f.CICriticality = 3
	assert.False(t, match(f))
	f.PlannedDuration = 5 * time.Hour
	assert.True(t, match(f))
	f.Risk = change.RiskVeryHigh
	assert.False(t, match(f))
}

// fields returns the fields a *itil.ValidationError names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	ve, ok := errors.AsType[*itil.ValidationError](err)
	require.True(t, ok, "want a *itil.ValidationError, got %v", err)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestConditionValidate(t *testing.T) {
	deep := change.Condition{Field: "cis", Op: change.OpGt, Value: 1}
	for range 17 {
		inner := deep
		deep = change.Condition{Not: &inner}
	}
	many := change.Condition{}
	for range 1001 {
		many.Any = append(many.Any, cmp("cis", change.OpGt, 1))
	}
	tests := []struct {
		name   string
		c      change.Condition
		fields []string
	}{
		{"no field", change.Condition{Op: change.OpEq, Value: "x"}, []string{"field"}},
		{"no op", change.Condition{Field: "type", Value: "x"}, []string{"op"}},
		{"unknown op", cmp("type", "like", "x"), []string{"op"}},
		{"unknown fact", cmp("colour", change.OpEq, "x"), []string{"field"}},
		{"bare custom prefix", cmp("u_", change.OpEq, "x"), []string{"field"}},
		{"no value", cmp("type", change.OpEq, nil), []string{"value"}},
		{"value with exists", cmp("type", change.OpExists, "x"), []string{"value"}},
		{"order on a text", cmp("type", change.OpLt, "x"), []string{"op"}},
		{"contains on a text", cmp("type", change.OpContains, "x"), []string{"op"}},
		{"eq on a list", cmp("ci_classes", change.OpEq, "x"), []string{"op"}},
		{"number for a text", cmp("type", change.OpEq, 3), []string{"value"}},
		{"empty text", cmp("type", change.OpEq, ""), []string{"value"}},
		{"bad UTF-8", cmp("type", change.OpEq, "\xff"), []string{"value"}},
		{"list for eq", cmp("type", change.OpEq, []string{"a"}), []string{"value"}},
		{"text for in", cmp("type", change.OpIn, "a"), []string{"value"}},
		{"empty in", cmp("type", change.OpIn, []string{}), []string{"value"}},
		{"bad entry of in", cmp("type", change.OpIn, []any{"a", 2, "c", ""}), []string{"value[1]", "value[3]"}},
		{"fraction for a count", cmp("cis", change.OpGt, 1.5), []string{"value"}},
		{"text for a count", cmp("cis", change.OpGt, "1"), []string{"value"}},
		{"level out of range", cmp("ci_criticality", change.OpEq, 5), []string{"value"}},
		{"level zero", cmp("impact", change.OpEq, 0), []string{"value"}},
		{"unknown risk", cmp("risk", change.OpEq, "extreme"), []string{"value"}},
		{"risk as number", cmp("risk", change.OpEq, 3), []string{"value"}},
		{"duration as number", cmp("planned_duration", change.OpGt, 3600), []string{"value"}},
		{"duration as time.Duration", cmp("planned_duration", change.OpGt, time.Hour), []string{"value"}},
		{"zero duration", cmp("planned_duration", change.OpGt, "0s"), []string{"value"}},
		{"custom order on text", cmp("u_region", change.OpGt, "eu"), []string{"op"}},
		{"custom mixed in", cmp("u_n", change.OpIn, []any{1, "a"}), []string{"value[1]"}},
		{"custom contains number", cmp("u_tags", change.OpContains, 1), []string{"value"}},
		{"two forms", change.Condition{Field: "type", Op: change.OpEq, Value: "x",
			All: []change.Condition{{}}}, []string{"all"}},
		{"empty all", change.Condition{All: []change.Condition{}}, []string{"all"}},
		{"empty any", change.Condition{Any: []change.Condition{}}, []string{"any"}},
		{"nested paths", change.Condition{All: []change.Condition{
			cmp("type", change.OpEq, "normal"),
			{Any: []change.Condition{cmp("cis", change.OpGt, 1), cmp("nope", change.OpEq, "x")}},
			{Not: &change.Condition{Field: "risk", Op: change.OpGt}},
		}}, []string{"all[1].any[1].field", "all[2].not.value"}},
		{"too deep", deep, []string{"not.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not"}},
		{"too many parts", many, []string{"any"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			require.Error(t, err)
			assert.Equal(t, tt.fields, fields(t, err))
			_, err = tt.c.Compile()
			assert.Equal(t, tt.fields, fields(t, err))
		})
	}
}

// The property test: a compiled condition means what a naive interpreter,
// written from the documentation alone, says it means.

var (
	textFacts   = []string{"model", "type", "state", "assignment_group", "assignee", "requested_by", "u_text"}
	textValues  = []string{"a", "b", "c"}
	numberFacts = []string{"risk", "impact", "cis", "ci_criticality", "affected_services", "service_criticality", "planned_duration", "u_num"}
	listFacts   = []string{"ci_classes", "u_list"}
)

func drawFacts(t *rapid.T) *change.Facts {
	if rapid.IntRange(0, 20).Draw(t, "nil facts") == 0 {
		return nil
	}
	text := func(label string) string {
		return rapid.SampledFrom(append([]string{""}, textValues...)).Draw(t, label)
	}
	list := func(label string) []string {
		return rapid.SliceOfN(rapid.SampledFrom(textValues), 0, 3).Draw(t, label)
	}
	f := &change.Facts{
		Model: text("model"), Type: text("type"), State: text("state"),
		AssignmentGroup: text("group"), Assignee: text("assignee"), RequestedBy: text("requested_by"),
		Risk:               change.Risk(rapid.IntRange(0, 4).Draw(t, "risk")),
		Impact:             itil.Impact(rapid.IntRange(0, 4).Draw(t, "impact")),
		CIClasses:          list("ci_classes"),
		CIs:                rapid.IntRange(0, 4).Draw(t, "cis"),
		CICriticality:      cmdb.Criticality(rapid.IntRange(0, 4).Draw(t, "ci_criticality")),
		AffectedServices:   rapid.IntRange(0, 4).Draw(t, "affected_services"),
		ServiceCriticality: cmdb.Criticality(rapid.IntRange(0, 4).Draw(t, "service_criticality")),
		PlannedDuration:    time.Duration(rapid.IntRange(0, 4).Draw(t, "planned_duration")) * time.Hour,
	}
	if s := text("u_text"); s != "" || rapid.Bool().Draw(t, "u_text set") {
		f.Texts = map[string]string{"u_text": s}
	}
	if rapid.Bool().Draw(t, "u_num set") {
		f.Numbers = map[string]float64{"u_num": float64(rapid.IntRange(-1, 3).Draw(t, "u_num")) / 2}
	}
	if rapid.Bool().Draw(t, "u_list set") {
		f.Lists = map[string][]string{"u_list": list("u_list")}
	}
	return f
}

// numberValue draws a literal for a numeric fact, in one of the forms a
// Go caller or JSON may give it.
func numberValue(t *rapid.T, field string) any {
	n := rapid.IntRange(0, 4).Draw(t, "n")
	switch field {
	case "risk":
		if n == 0 {
			n = 1
		}
		if rapid.Bool().Draw(t, "typed") {
			return change.Risk(n)
		}
		return []string{"low", "moderate", "high", "very_high"}[n-1]
	case "impact", "ci_criticality", "service_criticality":
		if n == 0 {
			n = 1
		}
		return float64(n)
	case "planned_duration":
		if n == 0 {
			n = 1
		}
		return fmt.Sprintf("%dm", 60*n)
	case "u_num":
		return float64(n-2) / 2
	}
	if rapid.Bool().Draw(t, "json") {
		return float64(n)
	}
	return n
}

func drawCondition(t *rapid.T, depth int) change.Condition {
	form := rapid.IntRange(0, 9).Draw(t, "form")
	if depth >= 3 {
		form = rapid.IntRange(4, 9).Draw(t, "leaf form")
	}
	switch form {
	case 0, 1:
		n := rapid.IntRange(1, 3).Draw(t, "n")
		var cs []change.Condition
		for range n {
			cs = append(cs, drawCondition(t, depth+1))
		}
		if form == 0 {
			return change.Condition{All: cs}
		}
		return change.Condition{Any: cs}
	case 2:
		c := drawCondition(t, depth+1)
		return change.Condition{Not: &c}
	case 3:
		return change.Condition{}
	case 4, 5:
		field := rapid.SampledFrom(textFacts).Draw(t, "field")
		op := rapid.SampledFrom([]change.Op{change.OpEq, change.OpNe, change.OpIn, change.OpNotIn, change.OpExists}).Draw(t, "op")
		switch op {
		case change.OpExists:
			return change.Condition{Field: field, Op: op}
		case change.OpIn, change.OpNotIn:
			return cmp(field, op, rapid.SliceOfN(rapid.SampledFrom(textValues), 1, 3).Draw(t, "values"))
		}
		return cmp(field, op, rapid.SampledFrom(textValues).Draw(t, "value"))
	case 6, 7:
		field := rapid.SampledFrom(numberFacts).Draw(t, "field")
		op := rapid.SampledFrom([]change.Op{change.OpEq, change.OpNe, change.OpIn, change.OpNotIn,
			change.OpLt, change.OpLte, change.OpGt, change.OpGte, change.OpExists}).Draw(t, "op")
		switch op {
		case change.OpExists:
			return change.Condition{Field: field, Op: op}
		case change.OpIn, change.OpNotIn:
			var vs []any
			for range rapid.IntRange(1, 3).Draw(t, "values") {
				vs = append(vs, numberValue(t, field))
			}
			return cmp(field, op, vs)
		}
		return cmp(field, op, numberValue(t, field))
	}
	field := rapid.SampledFrom(listFacts).Draw(t, "field")
	if rapid.IntRange(0, 3).Draw(t, "exists") == 0 {
		return change.Condition{Field: field, Op: change.OpExists}
	}
	return cmp(field, change.OpContains, rapid.SampledFrom(textValues).Draw(t, "value"))
}

func TestConditionMatchesNaive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := drawCondition(t, 0)
		match, err := c.Compile()
		require.NoError(t, err)
		for i := range 4 {
			f := drawFacts(t)
			require.Equal(t, naiveMatch(c, f), match(f), "facts #%d: %+v", i, f)
		}
	})
}

// naiveMatch evaluates c on f straight from the documentation.
func naiveMatch(c change.Condition, f *change.Facts) bool {
	switch {
	case c.All != nil:
		for _, x := range c.All {
			if !naiveMatch(x, f) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for _, x := range c.Any {
			if naiveMatch(x, f) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !naiveMatch(*c.Not, f)
	case c.Field == "":
		return true
	}
	if f == nil {
		f = &change.Facts{}
	}
	v := naiveFact(f, c.Field, c.Op, c.Value)
	var values []any
	switch x := c.Value.(type) {
	case []any:
		values = x
	case []string:
		for _, s := range x {
			values = append(values, s)
		}
	default:
		values = []any{x}
	}
	equal := func(lit any) bool {
		if v.list != nil || !v.present {
			return false
		}
		if s, ok := lit.(string); ok && v.isText {
			return v.text == s
		}
		return !v.isText && v.number == naiveNumber(c.Field, lit)
	}
	switch c.Op {
	case change.OpExists:
		return v.present
	case change.OpContains:
		return slices.Contains(v.list, c.Value.(string))
	case change.OpEq:
		return equal(c.Value)
	case change.OpNe:
		return !equal(c.Value)
	case change.OpIn:
		return slices.ContainsFunc(values, equal)
	case change.OpNotIn:
		return !slices.ContainsFunc(values, equal)
	}
	if !v.present {
		return false
	}
	lit := naiveNumber(c.Field, c.Value)
	switch c.Op {
	case change.OpLt:
		return v.number < lit
	case change.OpLte:
		return v.number <= lit
	case change.OpGt:
		return v.number > lit
	case change.OpGte:
		return v.number >= lit
	}
	panic("unknown op " + c.Op)
}

type naiveValue struct {
	present bool
	isText  bool
	text    string
	number  float64
	list    []string
}

func naiveFact(f *change.Facts, name string, op change.Op, lit any) naiveValue {
	text := func(s string) naiveValue { return naiveValue{present: s != "", isText: true, text: s} }
	level := func(n float64) naiveValue { return naiveValue{present: n != 0, number: n} }
	list := func(l []string) naiveValue { return naiveValue{present: len(l) > 0, list: l} }
	switch name {
	case "model":
		return text(f.Model)
	case "type":
		return text(f.Type)
	case "state":
		return text(f.State)
	case "assignment_group":
		return text(f.AssignmentGroup)
	case "assignee":
		return text(f.Assignee)
	case "requested_by":
		return text(f.RequestedBy)
	case "risk":
		return level(float64(f.Risk))
	case "impact":
		return level(float64(f.Impact))
	case "ci_criticality":
		return level(float64(f.CICriticality))
	case "service_criticality":
		return level(float64(f.ServiceCriticality))
	case "planned_duration":
		return level(float64(f.PlannedDuration))
	case "cis":
		return naiveValue{present: true, number: float64(f.CIs)}
	case "affected_services":
		return naiveValue{present: true, number: float64(f.AffectedServices)}
	case "ci_classes":
		return list(f.CIClasses)
	}
	// The application's facts: the value says which map.
	n, isNum := f.Numbers[name]
	switch {
	case op == change.OpExists:
		return naiveValue{present: f.Texts[name] != "" || isNum || len(f.Lists[name]) > 0}
	case op == change.OpContains:
		return list(f.Lists[name])
	}
	first := lit
	if l, ok := lit.([]any); ok {
		first = l[0]
	}
	if l, ok := lit.([]string); ok {
		first = l[0]
	}
	if _, ok := first.(string); ok {
		return text(f.Texts[name])
	}
	return naiveValue{present: isNum, number: n}
}

func naiveNumber(field string, lit any) float64 {
	switch x := lit.(type) {
	case change.Risk:
		return float64(x)
	case string:
		if field == "risk" {
			return float64(slices.Index([]string{"low", "moderate", "high", "very_high"}, x) + 1)
		}
		d, err := time.ParseDuration(x)
		if err != nil {
			panic(err)
		}
		return float64(d)
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("literal %T", lit))
}

func TestFactsNamesDocumented(t *testing.T) {
	// Every fact the validator accepts is in the Facts documentation, and
	// the message for an unknown fact lists them.
	err := cmp("nope", change.OpExists, nil).Validate()
	require.Error(t, err)
	for _, name := range append(append(slices.Clone(textFacts[:6]), numberFacts[:7]...), listFacts[0]) {
		assert.Contains(t, err.Error(), name)
		require.NoError(t, cmp(name, change.OpExists, nil).Validate(), name)
	}
	assert.True(t, strings.Contains(err.Error(), "u_"))
}
