package change

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/check"
)

// Facts are what a Condition tests: the facts of one change as the change
// package gathers them, plus any the application adds. A condition names
// a fact by its name:
//
//   - model, type, state: the change model's name, its type (normal,
//     standard or emergency) and the change's state;
//   - assignment_group, assignee, requested_by: who works on the change
//     and who asked for it;
//   - risk, impact: the change's current risk and impact;
//   - ci_classes: the distinct classes of the affected CIs (a list);
//     cis: how many CIs the change affects;
//   - ci_criticality: the highest criticality among the affected CIs;
//   - affected_services: how many services the change affects;
//     service_criticality: the highest criticality among them;
//   - planned_duration: planned end less planned start.
//
// A fact is absent when it holds its zero value (an empty text or list,
// a zero level, risk or duration); the counts cis and affected_services
// are always present, zero included. Criticality and impact count from 1,
// the highest: "the highest criticality" is the smallest non-zero level,
// and "high or more" is written as lte 2.
//
// Texts, Numbers and Lists are the application's own facts. Their names
// start with "u_" (ServiceNow's prefix for custom fields), so they never
// collide with a fact the package adds later; a condition's value says
// which map it reads: a text from Texts, a number from Numbers, contains
// from Lists (exists looks in all three). A text or list is absent when
// empty, a number when its name is not in Numbers. Express an
// application's durations as numbers in a unit of its choice.
type Facts struct {
	Model           string `json:"model,omitempty"`
	Type            string `json:"type,omitempty"`
	State           string `json:"state,omitempty"`
	AssignmentGroup string `json:"assignment_group,omitempty"`
	Assignee        string `json:"assignee,omitempty"`
	RequestedBy     string `json:"requested_by,omitempty"`

	Risk   Risk        `json:"risk,omitempty"`
	Impact itil.Impact `json:"impact,omitempty"`

	CIClasses          []string         `json:"ci_classes,omitempty"`
	CIs                int              `json:"cis"`
	CICriticality      cmdb.Criticality `json:"ci_criticality,omitempty"`
	AffectedServices   int              `json:"affected_services"`
	ServiceCriticality cmdb.Criticality `json:"service_criticality,omitempty"`
	PlannedDuration    time.Duration    `json:"planned_duration,omitempty"`

	Texts   map[string]string   `json:"texts,omitempty"`
	Numbers map[string]float64  `json:"numbers,omitempty"`
	Lists   map[string][]string `json:"lists,omitempty"`
}

// Op is the comparison a Condition makes between a fact and its value.
type Op string

// The comparisons. An absent fact (see Facts) fails every comparison but
// ne and not_in, which hold.
const (
	OpEq    Op = "eq"     // the fact equals the value
	OpNe    Op = "ne"     // not eq
	OpIn    Op = "in"     // the fact equals one of the values (a list)
	OpNotIn Op = "not_in" // not in
	// lt, lte, gt and gte order numbers, counts, levels, durations and
	// risks (low < moderate < high < very_high).
	OpLt  Op = "lt"
	OpLte Op = "lte"
	OpGt  Op = "gt"
	OpGte Op = "gte"
	// OpContains holds when a list fact (ci_classes, or one of Lists)
	// holds the value, a text.
	OpContains Op = "contains"
	// OpExists holds when the fact is present; it takes no value.
	OpExists Op = "exists"
)

// Condition is a test on the facts of a change, kept as data: risk
// conditions, approval decisions and CAB agendas are written with it. It
// is exactly one of:
//
//   - a comparison: Field names a fact, Op compares it with Value;
//   - All: every condition listed holds (at least one listed);
//   - Any: at least one condition listed holds (at least one listed);
//   - Not: the condition does not hold;
//   - the zero Condition, which always holds.
//
// Value is a JSON value: a text for a text fact or contains; an integer
// for cis, affected_services, impact (1..10) and the criticalities (1..4);
// a risk name ("high") or a Risk for risk; a duration written as text
// ("90m", "4h") for planned_duration, so that it reads the same from
// JSON; a number for an application's number; a list of these for in and
// not_in (at most 1000). Texts compare exactly (case counts).
//
// In JSON: {"all": [{"field": "type", "op": "eq", "value": "normal"},
// {"field": "ci_criticality", "op": "lte", "value": 2}]}. A condition
// nests at most 16 levels deep and has at most 1000 parts.
type Condition struct {
	Field string      `json:"field,omitempty"`
	Op    Op          `json:"op,omitempty"`
	Value any         `json:"value,omitempty"`
	All   []Condition `json:"all,omitempty"`
	Any   []Condition `json:"any,omitempty"`
	Not   *Condition  `json:"not,omitempty"`
}

// Validate returns a *itil.ValidationError naming every bad part of c by
// its path, such as "all[1].value", or nil.
func (c Condition) Validate() error {
	cc := compiler{}
	cc.compile(&c, "", 0)
	return cc.v.Err()
}

// Compile checks c as Validate does and returns a function that
// evaluates it, fast, on the facts of a change; a nil *Facts has every
// fact absent. The function is safe for concurrent use, keeps no
// reference to the facts it is given, and does not change when c does.
func (c Condition) Compile() (func(*Facts) bool, error) {
	cc := compiler{}
	n := cc.compile(&c, "", 0)
	if err := cc.v.Err(); err != nil {
		return nil, err
	}
	var p program
	entry := p.emit(n, labelTrue, labelFalse)
	return func(f *Facts) bool {
		var fr frame
		fr.load(f)
		return p.run(entry, &fr) == labelTrue
	}, nil
}

// Limits on a condition.
const (
	maxConditionDepth  = 16
	maxConditionParts  = 1000
	maxConditionValues = 1000
	customFactPrefix   = "u_"
	maxExactFloat      = 1 << 53
)

// factKind is how a fact is stored and compared.
type factKind uint8

const (
	kindText     factKind = iota + 1
	kindList              // a list of texts
	kindCount             // an integer, always present
	kindLevel             // an integer level 1..max, absent when 0
	kindRisk              // a Risk, absent when 0
	kindDuration          // a time.Duration, absent when 0
	kindNumber            // an application's number
	kindAny               // an application's fact tested with exists
)

// The slots of the built-in facts in a frame.
const (
	textModel = iota
	textType
	textState
	textGroup
	textAssignee
	textRequestedBy
	numTexts
)

const (
	intRisk = iota
	intImpact
	intCIs
	intCICriticality
	intServices
	intServiceCriticality
	intPlannedDuration
	numInts
)

const (
	listCIClasses = iota
	numLists
)

// fact describes a built-in fact.
type fact struct {
	kind factKind
	slot int
	max  int64 // the highest level of a kindLevel fact
}

var builtinFacts = map[string]fact{
	"model":               {kindText, textModel, 0},
	"type":                {kindText, textType, 0},
	"state":               {kindText, textState, 0},
	"assignment_group":    {kindText, textGroup, 0},
	"assignee":            {kindText, textAssignee, 0},
	"requested_by":        {kindText, textRequestedBy, 0},
	"risk":                {kindRisk, intRisk, 0},
	"impact":              {kindLevel, intImpact, maxImpactLevel},
	"ci_classes":          {kindList, listCIClasses, 0},
	"cis":                 {kindCount, intCIs, 0},
	"ci_criticality":      {kindLevel, intCICriticality, int64(cmdb.Low)},
	"affected_services":   {kindCount, intServices, 0},
	"service_criticality": {kindLevel, intServiceCriticality, int64(cmdb.Low)},
	"planned_duration":    {kindDuration, intPlannedDuration, 0},
}

// maxImpactLevel is the most impact levels an itil.PriorityMatrix has.
const maxImpactLevel = 10

// factNames lists the built-in facts for messages.
var factNames = func() string {
	names := make([]string, 0, len(builtinFacts))
	for n := range builtinFacts {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}()

// frame is the facts of one change laid out for compiled conditions: the
// built-in facts by slot, the application's through x.
type frame struct {
	text  [numTexts]string
	ints  [numInts]int64
	lists [numLists][]string
	x     *Facts
}

func (fr *frame) load(f *Facts) {
	if f == nil {
		return
	}
	fr.text = [numTexts]string{f.Model, f.Type, f.State, f.AssignmentGroup, f.Assignee, f.RequestedBy}
	fr.ints = [numInts]int64{int64(f.Risk), int64(f.Impact), int64(f.CIs), int64(f.CICriticality),
		int64(f.AffectedServices), int64(f.ServiceCriticality), int64(f.PlannedDuration)}
	fr.lists[listCIClasses] = f.CIClasses
	fr.x = f
}

func (f *Facts) text(name string) string {
	if f == nil {
		return ""
	}
	return f.Texts[name]
}

func (f *Facts) number(name string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	n, ok := f.Numbers[name]
	return n, ok
}

func (f *Facts) list(name string) []string {
	if f == nil {
		return nil
	}
	return f.Lists[name]
}

// compiler checks conditions, collecting every problem, and turns them
// into nodes for a program.
type compiler struct {
	v     itil.ValidationError
	parts int
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path, name string, i int) string {
	return join(path, name) + "[" + strconv.Itoa(i) + "]"
}

// nodeKind is the form of a checked condition.
type nodeKind uint8

const (
	nodeTrue nodeKind = iota // always holds
	nodeAll
	nodeAny
	nodeNot
	nodeTest // one comparison
)

// node is a checked condition.
type node struct {
	kind nodeKind
	kids []*node
	// test is the comparison of a nodeTest, without its jump targets;
	// negate swaps them (ne is eq negated, not_in is in negated).
	test   instr
	negate bool
}

var trueNode = &node{kind: nodeTrue}

// compile returns c's node; it is nil when c has problems, which are in
// cc.v.
func (cc *compiler) compile(c *Condition, path string, depth int) *node {
	cc.parts++
	if cc.parts == maxConditionParts+1 {
		cc.v.Add(pathOr(path), fmt.Sprintf("has more than %d parts", maxConditionParts))
	}
	if cc.parts > maxConditionParts {
		return nil
	}
	if depth > maxConditionDepth {
		cc.v.Add(pathOr(path), fmt.Sprintf("nests more than %d levels deep", maxConditionDepth))
		return nil
	}
	forms := 0
	for _, f := range []struct {
		set  bool
		name string
	}{
		{c.Field != "" || c.Op != "" || c.Value != nil, "field"},
		{c.All != nil, "all"},
		{c.Any != nil, "any"},
		{c.Not != nil, "not"},
	} {
		if !f.set {
			continue
		}
		if forms++; forms > 1 {
			cc.v.Add(join(path, f.name), "must not be combined with another form (a condition is one comparison, all, any or not)")
		}
	}
	switch {
	case c.All != nil:
		return cc.list(c.All, path, "all", depth, nodeAll)
	case c.Any != nil:
		return cc.list(c.Any, path, "any", depth, nodeAny)
	case c.Not != nil:
		n := cc.compile(c.Not, join(path, "not"), depth+1)
		if n == nil {
			return nil
		}
		return &node{kind: nodeNot, kids: []*node{n}}
	case forms == 0:
		return trueNode
	}
	return cc.leaf(c, path)
}

func pathOr(path string) string {
	if path == "" {
		return "condition"
	}
	return path
}

func (cc *compiler) list(cs []Condition, path, name string, depth int, kind nodeKind) *node {
	switch {
	case len(cs) == 0:
		cc.v.Add(join(path, name), "must list at least one condition (the empty condition always holds)")
		return nil
	case len(cs) > maxConditionParts:
		cc.v.Add(join(path, name), fmt.Sprintf("must list at most %d conditions", maxConditionParts))
		return nil
	}
	n := &node{kind: kind, kids: make([]*node, len(cs))}
	ok := true
	for i := range cs {
		n.kids[i] = cc.compile(&cs[i], index(path, name, i), depth+1)
		ok = ok && n.kids[i] != nil
	}
	if !ok {
		return nil
	}
	return n
}

// literal is a condition's value converted for its fact.
type literal struct {
	s  string
	i  int64
	f  float64
	ss []string
	is []int64
	fs []float64
}

// opsOf lists the comparisons each kind of fact allows.
func opsOf(k factKind) []Op {
	switch k {
	case kindText:
		return []Op{OpEq, OpNe, OpIn, OpNotIn, OpExists}
	case kindList:
		return []Op{OpContains, OpExists}
	case kindAny:
		return []Op{OpExists}
	}
	return []Op{OpEq, OpNe, OpIn, OpNotIn, OpLt, OpLte, OpGt, OpGte, OpExists}
}

var allOps = []Op{OpEq, OpNe, OpIn, OpNotIn, OpLt, OpLte, OpGt, OpGte, OpContains, OpExists}

func opNames(ops []Op) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

func (cc *compiler) leaf(c *Condition, path string) *node {
	fieldPath, opPath, valuePath := join(path, "field"), join(path, "op"), join(path, "value")
	bad := false
	if c.Field == "" {
		cc.v.Add(fieldPath, "is required: the name of a fact ("+factNames+", or the application's u_…)")
		bad = true
	} else if check.Text(&cc.v, fieldPath, c.Field, true, check.Short); cc.v.Has(fieldPath) {
		bad = true
	}
	if !slices.Contains(allOps, c.Op) {
		if c.Op == "" {
			cc.v.Add(opPath, "is required: one of "+opNames(allOps))
		} else {
			cc.v.Add(opPath, fmt.Sprintf("%q is not one of %s", c.Op, opNames(allOps)))
		}
		bad = true
	}
	if c.Op == OpExists && c.Value != nil {
		cc.v.Add(valuePath, "must be empty: exists takes no value")
		bad = true
	}
	if c.Op != OpExists && c.Op != "" && c.Value == nil {
		cc.v.Add(valuePath, "is required")
		bad = true
	}
	if bad {
		return nil
	}
	fd, builtin := builtinFacts[c.Field]
	if !builtin {
		if !strings.HasPrefix(c.Field, customFactPrefix) || len(c.Field) == len(customFactPrefix) {
			cc.v.Add(fieldPath, fmt.Sprintf("%q is not a fact: the change provides %s; an application's own facts start with %s", c.Field, factNames, customFactPrefix))
			return nil
		}
		fd = fact{kind: customKind(c), slot: -1}
	}
	if !slices.Contains(opsOf(fd.kind), c.Op) {
		cc.v.Add(opPath, fmt.Sprintf("%s does not apply to %s (%s takes %s)", c.Op, c.Field, kindName(fd.kind), opNames(opsOf(fd.kind))))
		return nil
	}
	var lit literal
	switch c.Op {
	case OpExists:
	case OpIn, OpNotIn:
		items, ok := listOf(c.Value)
		switch {
		case !ok:
			cc.v.Add(valuePath, string(c.Op)+" takes a list of values")
			return nil
		case len(items) == 0:
			cc.v.Add(valuePath, "must list at least one value")
			return nil
		case len(items) > maxConditionValues:
			cc.v.Add(valuePath, fmt.Sprintf("must list at most %d values", maxConditionValues))
			return nil
		}
		n := len(cc.v.Fields)
		for i, x := range items {
			one, ok := cc.scalar(fd, x, valuePath+"["+strconv.Itoa(i)+"]")
			if !ok {
				continue
			}
			switch fd.kind {
			case kindText:
				lit.ss = append(lit.ss, one.s)
			case kindNumber:
				lit.fs = append(lit.fs, one.f)
			default:
				lit.is = append(lit.is, one.i)
			}
		}
		if len(cc.v.Fields) > n {
			return nil
		}
	default:
		if _, isList := listOf(c.Value); isList {
			cc.v.Add(valuePath, "must be one value, not a list (in takes a list)")
			return nil
		}
		one, ok := cc.scalar(fd, c.Value, valuePath)
		if !ok {
			return nil
		}
		lit = one
	}
	n := &node{kind: nodeTest, negate: c.Op == OpNe || c.Op == OpNotIn}
	op := c.Op
	switch op {
	case OpNe:
		op = OpEq
	case OpNotIn:
		op = OpIn
	}
	if !builtin {
		n.test = instr{op: opCustom, custom: customTest(c.Field, fd.kind, op, lit)}
		return n
	}
	n.test = test(fd, op, lit)
	if n.test.op == 0 { // a count exists: always
		return trueNode
	}
	return n
}

// customKind infers the kind of an application's fact from the condition:
// contains reads Lists, a text value Texts, a number Numbers.
func customKind(c *Condition) factKind {
	switch c.Op {
	case OpExists:
		return kindAny
	case OpContains:
		return kindList
	}
	v := c.Value
	if items, ok := listOf(v); ok && len(items) > 0 {
		v = items[0]
	}
	if _, ok := v.(string); ok {
		return kindText
	}
	return kindNumber
}

func kindName(k factKind) string {
	switch k {
	case kindText:
		return "a text"
	case kindList:
		return "a list"
	case kindCount:
		return "a count"
	case kindLevel:
		return "a level"
	case kindRisk:
		return "a risk"
	case kindDuration:
		return "a duration"
	case kindNumber:
		return "a number"
	}
	return "an application's fact tested for presence"
}

// listOf returns the entries of a list value (a Go slice or array other
// than a text, or what encoding/json decodes: []any).
func listOf(v any) ([]any, bool) {
	switch x := v.(type) {
	case nil, string:
		return nil, false
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// integer returns v as an integer when it is one: a Go integer of any
// type, or a whole float64 (encoding/json decodes numbers so) within the
// range a float64 counts exactly.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxExactFloat {
			return int64(x), true
		}
		return 0, false
	case float32:
		return integer(float64(x))
	case time.Duration, Risk:
		return 0, false // kinds of their own, never plain integers
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u), true
		}
	}
	return 0, false
}

// scalar converts one value for a fact of kind fd, adding a problem under
// path when it does not fit.
func (cc *compiler) scalar(fd fact, v any, path string) (literal, bool) {
	var lit literal
	fail := func(reason string) (literal, bool) {
		cc.v.Add(path, reason)
		return lit, false
	}
	switch fd.kind {
	case kindText, kindList:
		s, ok := v.(string)
		if !ok {
			return fail("must be a text")
		}
		n := len(cc.v.Fields)
		check.Text(&cc.v, path, s, true, check.Name)
		lit.s = s
		return lit, len(cc.v.Fields) == n
	case kindCount:
		i, ok := integer(v)
		if !ok {
			return fail("must be a whole number")
		}
		lit.i = i
	case kindLevel:
		i, ok := integer(v)
		if !ok || i < 1 || i > fd.max {
			return fail(fmt.Sprintf("must be a level from 1 (the highest) to %d", fd.max))
		}
		lit.i = i
	case kindRisk:
		var r Risk
		switch x := v.(type) {
		case Risk:
			r = x
		case string:
			r, _ = parseRisk(x)
		}
		if !r.Valid() {
			return fail("must be a risk: low, moderate, high or very_high")
		}
		lit.i = int64(r)
	case kindDuration:
		s, ok := v.(string)
		if !ok {
			if _, isDur := v.(time.Duration); isDur {
				return fail("write a duration as text, such as \"4h\" (d.String()), so that it reads the same from JSON")
			}
			return fail("must be a duration written as text, such as \"90m\" or \"4h\"")
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fail("must be a positive duration written as text, such as \"90m\" or \"4h\"")
		}
		lit.i = int64(d)
	case kindNumber:
		switch x := v.(type) {
		case float64:
			lit.f = x
		case float32:
			lit.f = float64(x)
		default:
			i, ok := integer(v)
			if !ok {
				return fail("must be a number or a text, the same kind for every value")
			}
			lit.f = float64(i)
		}
		if math.IsNaN(lit.f) || math.IsInf(lit.f, 0) {
			return fail("must be a finite number")
		}
	}
	return lit, true
}

// smallSet is the size up to which in looks through a slice, not a map.
const smallSet = 16

// opcode is what an instruction tests.
type opcode uint8

const (
	opTextEq opcode = iota + 1
	opTextIn
	opTextInSet
	opTextExists
	opListContains
	opListExists
	opIntEq
	opIntIn
	opIntLt
	opIntLte
	opIntGt
	opIntGte
	opLevelLt  // lt on a fact absent when zero
	opLevelLte // lte on a fact absent when zero
	opIntNonZero
	opCustom
)

// instr is one comparison of a program: it tests a fact of the frame and
// goes on to t when the test holds, to f when not. A target below zero
// ends the run with that label.
type instr struct {
	op     opcode
	slot   uint8
	t, f   int32
	i      int64
	s      string
	ss     []string
	is     []int64
	set    map[string]struct{}
	custom func(*Facts) bool
}

// test returns the instruction of a built-in fact's comparison, with op
// eq, in or one that orders, contains or exists; op 0 when it always
// holds. A fact that is not always present is absent when zero; its
// values (levels, risks, durations) are at least 1, so eq, in, gt and gte
// fail on it without a test, and lt and lte test.
func test(fd fact, op Op, lit literal) instr {
	in := instr{slot: uint8(fd.slot), i: lit.i, s: lit.s, is: lit.is}
	switch fd.kind {
	case kindText:
		switch op {
		case OpEq:
			in.op = opTextEq
		case OpExists:
			in.op = opTextExists
		default:
			in.op = opTextIn
			in.ss = lit.ss
			if len(lit.ss) > smallSet {
				in.op, in.ss = opTextInSet, nil
				in.set = make(map[string]struct{}, len(lit.ss))
				for _, s := range lit.ss {
					in.set[s] = struct{}{}
				}
			}
		}
		return in
	case kindList:
		in.op = opListContains
		if op == OpExists {
			in.op = opListExists
		}
		return in
	}
	present := fd.kind == kindCount
	switch op {
	case OpEq:
		in.op = opIntEq
	case OpIn:
		in.op = opIntIn
	case OpGt:
		in.op = opIntGt
	case OpGte:
		in.op = opIntGte
	case OpLt:
		in.op = opLevelLt
		if present {
			in.op = opIntLt
		}
	case OpLte:
		in.op = opLevelLte
		if present {
			in.op = opIntLte
		}
	case OpExists:
		if !present {
			in.op = opIntNonZero
		}
	}
	return in
}

// customTest returns the test of an application's fact, with op eq, in
// or one that orders, contains or exists.
func customTest(name string, kind factKind, op Op, lit literal) func(*Facts) bool {
	switch kind {
	case kindAny:
		return func(f *Facts) bool {
			_, isNum := f.number(name)
			return f.text(name) != "" || isNum || len(f.list(name)) > 0
		}
	case kindList:
		s := lit.s
		return func(f *Facts) bool { return slices.Contains(f.list(name), s) }
	case kindText:
		if op == OpEq {
			s := lit.s
			return func(f *Facts) bool { return f.text(name) == s }
		}
		if len(lit.ss) <= smallSet {
			ss := lit.ss
			return func(f *Facts) bool { return slices.Contains(ss, f.text(name)) }
		}
		set := make(map[string]struct{}, len(lit.ss))
		for _, s := range lit.ss {
			set[s] = struct{}{}
		}
		return func(f *Facts) bool { _, ok := set[f.text(name)]; return ok }
	}
	x := lit.f
	var cmp func(float64) bool
	switch op {
	case OpEq:
		cmp = func(v float64) bool { return v == x }
	case OpIn:
		fs := lit.fs
		cmp = func(v float64) bool { return slices.Contains(fs, v) }
	case OpLt:
		cmp = func(v float64) bool { return v < x }
	case OpLte:
		cmp = func(v float64) bool { return v <= x }
	case OpGt:
		cmp = func(v float64) bool { return v > x }
	case OpGte:
		cmp = func(v float64) bool { return v >= x }
	}
	return func(f *Facts) bool { v, ok := f.number(name); return ok && cmp(v) }
}

// Labels that end a program's run. A risk model's program ends with
// matchLabel(k) when its condition k holds.
const (
	labelFalse int32 = -1
	labelTrue  int32 = -2
)

func matchLabel(k int) int32 { return labelTrue - int32(k) }

// program is compiled conditions as jumping code: every comparison is
// one instruction that says where to go on when it holds and when not,
// so that all, any and not cost no instruction of their own and a run is
// one loop without calls. It is immutable once emitted.
type program struct {
	code []instr
}

// emit appends the code of n, which goes to t when n holds and to f when
// not, and returns where it starts (t itself when n always holds). It
// emits the parts of all and any last to first, so that each part's
// targets are known when it is emitted.
func (p *program) emit(n *node, t, f int32) int32 {
	switch n.kind {
	case nodeTrue:
		return t
	case nodeNot:
		return p.emit(n.kids[0], f, t)
	case nodeAll:
		next := t
		for i := len(n.kids) - 1; i >= 0; i-- {
			next = p.emit(n.kids[i], next, f)
		}
		return next
	case nodeAny:
		next := f
		for i := len(n.kids) - 1; i >= 0; i-- {
			next = p.emit(n.kids[i], t, next)
		}
		return next
	}
	in := n.test
	in.t, in.f = t, f
	if n.negate {
		in.t, in.f = f, t
	}
	p.code = append(p.code, in)
	return int32(len(p.code) - 1)
}

// run runs the program from pc on fr and returns the label it ends with.
func (p *program) run(pc int32, fr *frame) int32 {
	code := p.code
	for pc >= 0 {
		in := &code[pc]
		var ok bool
		switch in.op {
		case opTextEq:
			ok = fr.text[in.slot] == in.s
		case opTextIn:
			ok = slices.Contains(in.ss, fr.text[in.slot])
		case opTextInSet:
			_, ok = in.set[fr.text[in.slot]]
		case opTextExists:
			ok = fr.text[in.slot] != ""
		case opListContains:
			ok = slices.Contains(fr.lists[in.slot], in.s)
		case opListExists:
			ok = len(fr.lists[in.slot]) > 0
		case opIntEq:
			ok = fr.ints[in.slot] == in.i
		case opIntIn:
			ok = slices.Contains(in.is, fr.ints[in.slot])
		case opIntLt:
			ok = fr.ints[in.slot] < in.i
		case opIntLte:
			ok = fr.ints[in.slot] <= in.i
		case opIntGt:
			ok = fr.ints[in.slot] > in.i
		case opIntGte:
			ok = fr.ints[in.slot] >= in.i
		case opLevelLt:
			v := fr.ints[in.slot]
			ok = v != 0 && v < in.i
		case opLevelLte:
			v := fr.ints[in.slot]
			ok = v != 0 && v <= in.i
		case opIntNonZero:
			ok = fr.ints[in.slot] != 0
		case opCustom:
			ok = in.custom(fr.x)
		}
		if ok {
			pc = in.t
		} else {
			pc = in.f
		}
	}
	return pc
}
