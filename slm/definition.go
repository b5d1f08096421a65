package slm

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// Type is the kind of agreement a definition measures.
type Type string

// Agreement types.
const (
	SLA Type = "sla" // service level agreement, with a customer
	OLA Type = "ola" // operational level agreement, between internal teams
	UC  Type = "uc"  // underpinning contract, with a supplier
)

// Metric is what a definition measures. Response and Resolution are the
// usual ones; any other non-empty name is a custom metric.
type Metric string

// Standard metrics.
const (
	Response   Metric = "response"
	Resolution Metric = "resolution"
)

// Selection says how a definition picks among targets that match.
type Selection string

// Target selections.
const (
	FirstMatch Selection = "first"     // the first matching target, in order
	Strictest  Selection = "strictest" // the matching target with the shortest duration
)

// field returns a named attribute: the fixed ones by name, then Fields.
// attr returns a named attribute of a snapshot: the fixed ones by name,
// then Fields.
func attr(s *itil.Snapshot, name string) string {
	switch name {
	case "state":
		return s.State
	case "priority":
		if s.Priority == 0 {
			return ""
		}
		return strconv.Itoa(int(s.Priority))
	case "service":
		return s.Service
	case "customer":
		return s.Customer
	}
	return s.Fields[name]
}

// Condition is a test on a subject snapshot. Every criterion that is set
// must hold (AND); a list holds when the subject's value is any of its
// entries (OR). The zero Condition holds for every snapshot.
type Condition struct {
	States     []string            `json:"states,omitempty"`
	Priorities []itil.Priority     `json:"priorities,omitempty"`
	Services   []string            `json:"services,omitempty"`
	Customers  []string            `json:"customers,omitempty"`
	Fields     map[string][]string `json:"fields,omitempty"`
	// Changed holds when any listed attribute (state, priority, service,
	// customer or a field name) differs from the previous snapshot. The
	// first snapshot of a subject changes every attribute that is set.
	Changed []string `json:"changed,omitempty"`
}

// Matches reports whether the condition holds for cur, whose previous
// snapshot was prev (nil for the first).
func (c *Condition) Matches(prev, cur *itil.Snapshot) bool {
	if c == nil {
		return false
	}
	if len(c.States) > 0 && !slices.Contains(c.States, cur.State) {
		return false
	}
	if len(c.Priorities) > 0 && !slices.Contains(c.Priorities, cur.Priority) {
		return false
	}
	if len(c.Services) > 0 && !slices.Contains(c.Services, cur.Service) {
		return false
	}
	if len(c.Customers) > 0 && !slices.Contains(c.Customers, cur.Customer) {
		return false
	}
	for name, values := range c.Fields {
		if !slices.Contains(values, attr(cur, name)) {
			return false
		}
	}
	if len(c.Changed) > 0 {
		changed := false
		for _, name := range c.Changed {
			before := ""
			if prev != nil {
				before = attr(prev, name)
			}
			if before != attr(cur, name) {
				changed = true
				break
			}
		}
		if !changed {
			return false
		}
	}
	return true
}

func (c *Condition) validate(v *itil.ValidationError, field string) {
	if c == nil {
		return
	}
	for _, list := range [][]string{c.States, c.Services, c.Customers, c.Changed} {
		for _, x := range list {
			text(v, field, x)
		}
	}
	for name, values := range c.Fields {
		text(v, field+".fields", name)
		for _, x := range values {
			text(v, field+".fields."+name, x)
		}
	}
	for i, p := range c.Priorities {
		if !p.Valid() {
			v.Add(fmt.Sprintf("%s.priorities[%d]", field, i), fmt.Sprintf("%d is not a priority from 1 to 5", p))
		}
	}
	for name, values := range c.Fields {
		if name == "" {
			v.Add(field+".fields", "has an empty field name")
		}
		if len(values) == 0 {
			v.Add(field+".fields."+name, "must list at least one value")
		}
	}
	for i, name := range c.Changed {
		if name == "" {
			v.Add(fmt.Sprintf("%s.changed[%d]", field, i), "must name an attribute")
		}
	}
}

// Target is the time allowed when its condition holds, such as 4 hours
// for P1 incidents.
type Target struct {
	Name     string        `json:"name"`
	When     Condition     `json:"when"`
	Duration time.Duration `json:"duration"`
}

// MaxTarget is the longest target duration a definition accepts (ten
// years of business time), so that every breach instant falls within the
// calendars' range.
const MaxTarget = 10 * 365 * 24 * time.Hour

// MaxSubjectKind is the longest subject kind in bytes: a definition's
// SubjectKind, a Filter's SubjectKinds and the Kind of a snapshot the
// engine observes. A subject kind is a record kind, so storage's limit on
// kinds (storage.MaxName) is its limit.
const MaxSubjectKind = storage.MaxName

// DefaultWarnings are the warning thresholds, in percent of the target,
// of a definition that sets none. 100% is always the breach.
var DefaultWarnings = []int{50, 75}

// Definition is a versioned SLA, OLA or underpinning contract: what is
// measured on which subjects, the targets, the business calendar, and the
// conditions that start, pause, resume, stop, cancel and reset its timers.
type Definition struct {
	ID       itil.ID `json:"id"`
	Revision int     `json:"revision"`
	// Name is required, at most 160 characters; definitions are listed
	// in its order.
	Name   string `json:"name"`
	Type   Type   `json:"type"`
	Metric Metric `json:"metric"`
	// SubjectKind is the kind of subject the definition applies to, such
	// as "incident": at most MaxSubjectKind bytes.
	SubjectKind string    `json:"subject_kind"`
	Targets     []Target  `json:"targets"`
	Selection   Selection `json:"selection"`
	// Calendar is when the clock runs; nil means 24×7.
	Calendar *calendar.Spec `json:"calendar,omitempty"`

	// Start is required: a subject that matches it and has no timer of
	// this definition gets one. Stop is required: it completes the timer.
	Start Condition  `json:"start"`
	Stop  *Condition `json:"stop"`
	// Pause holds the clock while it matches. Resume, when set, restarts
	// it; when nil the clock resumes as soon as Pause stops matching.
	Pause  *Condition `json:"pause,omitempty"`
	Resume *Condition `json:"resume,omitempty"`
	// Cancel ends the timer without a result (it counts neither as met
	// nor as breached). Reset ends the current cycle and starts a new one
	// (if Start matches); the old cycle is kept.
	Cancel *Condition `json:"cancel,omitempty"`
	Reset  *Condition `json:"reset,omitempty"`
	// StartFrom names a snapshot field holding an RFC 3339 time: the
	// first cycle starts then instead of at the snapshot's time
	// (retroactive start, such as from the incident's opening). Cycles
	// after a reset start at the reset.
	StartFrom string `json:"start_from,omitempty"`
	// Warnings are the warning thresholds in percent, each in (0, 100)
	// and ascending; nil means DefaultWarnings, an empty list none.
	Warnings []int `json:"warnings"`

	// EffectiveFrom is when the revision was defined; new timer cycles
	// start under the latest revision effective at their start.
	EffectiveFrom time.Time  `json:"effective_from"`
	DefinedBy     itil.Actor `json:"defined_by"`
	Version       int64      `json:"version"`
}

func (d *Definition) validate(v *itil.ValidationError) {
	check.Text(v, "name", d.Name, true, check.Short)
	if d.Metric != "" {
		check.Text(v, "metric", string(d.Metric), true, check.Short)
	}
	if d.SubjectKind != "" {
		check.Text(v, "subject_kind", d.SubjectKind, true, check.Short)
		check.Bytes(v, "subject_kind", d.SubjectKind, MaxSubjectKind)
	}
	text(v, "start_from", d.StartFrom)
	for i, t := range d.Targets {
		if t.Name != "" {
			check.Text(v, fmt.Sprintf("targets[%d].name", i), t.Name, true, check.Short)
		}
	}
	switch d.Type {
	case SLA, OLA, UC:
	default:
		v.Add("type", fmt.Sprintf("%q is not one of sla, ola, uc", d.Type))
	}
	if d.Metric == "" {
		v.Add("metric", "is required (response, resolution or a custom metric name)")
	}
	if d.SubjectKind == "" {
		v.Add("subject_kind", "is required, such as incident")
	}
	switch d.Selection {
	case FirstMatch, Strictest:
	default:
		v.Add("selection", fmt.Sprintf("%q is not first or strictest", d.Selection))
	}
	if len(d.Targets) == 0 {
		v.Add("targets", "must list at least one target")
	}
	for i, t := range d.Targets {
		f := fmt.Sprintf("targets[%d]", i)
		switch {
		case t.Duration <= 0:
			v.Add(f+".duration", "must be positive")
		case t.Duration > MaxTarget:
			v.Add(f+".duration", "must be at most ten years ("+MaxTarget.String()+")")
		}
		if t.Name == "" {
			v.Add(f+".name", "is required")
		}
		t.When.validate(v, f+".when")
		if len(t.When.Changed) > 0 {
			v.Add(f+".when.changed", "a target is chosen on the subject as it is, not on a change")
		}
	}
	if d.Calendar != nil {
		if _, err := calendar.New(*d.Calendar); err != nil {
			prefixed(v, "calendar", err)
		}
	}
	d.Start.validate(v, "start")
	if d.Stop == nil {
		v.Add("stop", "is required")
	}
	d.Stop.validate(v, "stop")
	d.Pause.validate(v, "pause")
	d.Resume.validate(v, "resume")
	if d.Resume != nil && d.Pause == nil {
		v.Add("resume", "needs a pause condition")
	}
	d.Cancel.validate(v, "cancel")
	d.Reset.validate(v, "reset")
	prev := 0
	for i, w := range d.Warnings {
		if w <= 0 || w >= 100 || w <= prev {
			v.Add(fmt.Sprintf("warnings[%d]", i), "must be in (0, 100) and above the previous threshold")
		}
		prev = w
	}
}

// text checks an optional text by the rule every package shares (valid
// UTF-8, which JSON would otherwise turn into U+FFFD so that what is stored
// differs from what was evaluated; no NUL; a length cap).
func text(v *itil.ValidationError, field, s string) { check.Text(v, field, s, false, check.Long) }

// validate checks a snapshot as a process hands it over.
func validateSnapshot(s *itil.Snapshot, v *itil.ValidationError) {
	if err := storage.CheckName("kind", s.Kind); err != nil {
		prefixed(v, "snapshot", err) // the kind is journaled as text
	}
	if s.ID == itil.NilID {
		v.Add("snapshot.id", "is required")
	}
	switch {
	case s.Time.IsZero():
		v.Add("snapshot.time", "is required")
	case s.Time.Before(calendar.Earliest) || !s.Time.Before(calendar.Latest):
		v.Add("snapshot.time", fmt.Sprintf("must be from %d to %d", calendar.Earliest.Year(), calendar.Latest.Year()-1))
	}
	text(v, "snapshot.state", s.State)
	text(v, "snapshot.service", s.Service)
	text(v, "snapshot.customer", s.Customer)
	for k, x := range s.Fields {
		text(v, "snapshot.fields", k)
		text(v, "snapshot.fields."+k, x)
	}
}

// prefixed adds the fields of a nested validation error under a prefix.
func prefixed(v *itil.ValidationError, prefix string, err error) {
	if ve, ok := errors.AsType[*itil.ValidationError](err); ok {
		for _, f := range ve.Fields {
			v.Add(prefix+"."+f.Field, f.Reason)
		}
		return
	}
	v.Add(prefix, err.Error())
}

// thresholds returns the warning thresholds and 100.
func (d *Definition) thresholds() []int {
	w := d.Warnings
	if w == nil {
		w = DefaultWarnings
	}
	return append(slices.Clone(w), 100)
}

// target selects the target for a snapshot; ok is false when none
// matches.
func (d *Definition) target(s *itil.Snapshot) (t Target, ok bool) {
	for _, c := range d.Targets {
		if !c.When.Matches(nil, s) {
			continue
		}
		if d.Selection == FirstMatch {
			return c, true
		}
		if !ok || c.Duration < t.Duration {
			t, ok = c, true
		}
	}
	return t, ok
}

func cloneDefinition(d *Definition) *Definition {
	c := *d
	c.Targets = slices.Clone(d.Targets)
	for i := range c.Targets {
		c.Targets[i].When = cloneCondition(d.Targets[i].When)
	}
	if d.Calendar != nil {
		s := d.Calendar.Clone()
		c.Calendar = &s
	}
	c.Start = cloneCondition(d.Start)
	for _, p := range []**Condition{&c.Stop, &c.Pause, &c.Resume, &c.Cancel, &c.Reset} {
		if *p != nil {
			x := cloneCondition(**p)
			*p = &x
		}
	}
	c.Warnings = slices.Clone(d.Warnings)
	return &c
}

func cloneCondition(c Condition) Condition {
	c.States = slices.Clone(c.States)
	c.Priorities = slices.Clone(c.Priorities)
	c.Services = slices.Clone(c.Services)
	c.Customers = slices.Clone(c.Customers)
	c.Changed = slices.Clone(c.Changed)
	if c.Fields != nil {
		f := make(map[string][]string, len(c.Fields))
		for k, v := range c.Fields {
			f[k] = slices.Clone(v)
		}
		c.Fields = f
	}
	return c
}

// UnmarshalJSON reads a definition; a bad value gives a
// *itil.ValidationError naming its path as well as encoding/json tells it
// ("targets.duration", "calendar.week.monday[0].start"; "definition"
// when it does not). The definition is checked when it is defined.
func (d *Definition) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	type plain Definition
	w := struct {
		*plain
		Calendar json.RawMessage `json:"calendar,omitempty"`
	}{plain: (*plain)(d)}
	var v itil.ValidationError
	addJSONError(&v, "", json.Unmarshal(b, &w))
	switch {
	case len(w.Calendar) == 0:
	case string(w.Calendar) == "null":
		d.Calendar = nil
	default:
		var s calendar.Spec
		if err := json.Unmarshal(w.Calendar, &s); err != nil {
			addJSONError(&v, "calendar", err)
		} else {
			d.Calendar = &s
		}
	}
	return v.Err()
}

// addJSONError adds err, from decoding the value at path, to v; the
// whole document's problems are named "definition".
func addJSONError(v *itil.ValidationError, path string, err error) {
	check.JSON(v, path, "definition", err)
}
