package lifecycle

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
)

// Continual improvement runs beside every stage: an initiative in the
// improvement register says what should get better (a KPI), from where
// (its base value) to where (its target) by when (its review date), and
// walks ITIL's improvement model as a checklist with evidence.

// KindInitiative is the storage and journal kind of improvement
// initiatives.
const KindInitiative = "lifecycle_initiative"

// InitiativePrefix starts an initiative's reference, as in CSI0001001.
const InitiativePrefix = "CSI"

// InitiativeState is where an initiative stands, as ServiceNow's
// improvement initiative states.
type InitiativeState string

const (
	InitiativeNew        InitiativeState = "new"
	InitiativeAccepted   InitiativeState = "accepted"
	InitiativeAssess     InitiativeState = "assess"
	InitiativeApproved   InitiativeState = "approved"
	InitiativeInProgress InitiativeState = "in_progress"
	InitiativeOnHold     InitiativeState = "on_hold"
	InitiativeReview     InitiativeState = "monitor_review"
	InitiativeClosed     InitiativeState = "closed"
	InitiativeCanceled   InitiativeState = "canceled"
)

// Initiative moves, the events of InitiativeLifecycle.
const (
	MoveAccept  = "accept"
	MoveAssess  = "assess"
	MoveApprove = "approve"
	MoveStart   = "start"
	MoveHold    = "hold"
	MoveResume  = "resume"
	MoveMonitor = "monitor"
	MoveClose   = "close"
	MoveCancel  = "cancel"
)

var initiatives = machine.New(InitiativeNew, []itil.Transition[InitiativeState]{
	{Event: MoveAccept, From: []InitiativeState{InitiativeNew}, To: InitiativeAccepted},
	{Event: MoveAssess, From: []InitiativeState{InitiativeAccepted}, To: InitiativeAssess},
	{Event: MoveApprove, From: []InitiativeState{InitiativeAssess}, To: InitiativeApproved},
	{Event: MoveStart, From: []InitiativeState{InitiativeApproved}, To: InitiativeInProgress},
	{Event: MoveHold, From: []InitiativeState{InitiativeInProgress}, To: InitiativeOnHold},
	{Event: MoveResume, From: []InitiativeState{InitiativeOnHold}, To: InitiativeInProgress},
	{Event: MoveMonitor, From: []InitiativeState{InitiativeInProgress}, To: InitiativeReview},
	{Event: MoveClose, From: []InitiativeState{InitiativeReview}, To: InitiativeClosed},
	{Event: MoveCancel, From: []InitiativeState{InitiativeNew, InitiativeAccepted, InitiativeAssess, InitiativeApproved,
		InitiativeInProgress, InitiativeOnHold, InitiativeReview}, To: InitiativeCanceled},
})

// InitiativeLifecycle returns a copy of the initiatives' transition
// table; InitiativeDiagram draws it, as committed in initiative.md.
func InitiativeLifecycle() []itil.Transition[InitiativeState] { return initiatives.Transitions() }

// InitiativeDiagram returns the Mermaid diagram of InitiativeLifecycle.
func InitiativeDiagram() string { return initiatives.Diagram() }

// Effort is an initiative's size, as ServiceNow's.
type Effort string

const (
	EffortS  Effort = "S"
	EffortM  Effort = "M"
	EffortL  Effort = "L"
	EffortXL Effort = "XL"
)

// ImprovementType says what an initiative changes.
type ImprovementType string

const (
	ImprovePeople     ImprovementType = "people"
	ImproveProcess    ImprovementType = "process"
	ImproveTechnology ImprovementType = "technology"
)

// The steps of ITIL's continual improvement model, in order. ITIL v3's
// seven-step improvement process (identify the strategy for
// improvement; define what you will measure; gather the data; process
// the data; analyse the information and data; present and use the
// information; implement the improvement) runs inside them: its first
// two steps are the vision and the baseline, the next four the
// measurement at each review, the last the action.
const (
	StepVision   = "vision"              // what is the vision?
	StepBaseline = "where_are_we_now"    // a KPI baseline
	StepTarget   = "where_do_we_want"    // a target
	StepPlan     = "how_do_we_get_there" // linked problems and changes
	StepAction   = "take_action"
	StepMeasured = "did_we_get_there" // the KPI measured at the review date
	StepMomentum = "keep_the_momentum"
)

// ImprovementSteps lists the model's steps in order.
func ImprovementSteps() []string {
	return []string{StepVision, StepBaseline, StepTarget, StepPlan, StepAction, StepMeasured, StepMomentum}
}

// Step is one step of the improvement model on an initiative: done or
// not, with evidence links and a note.
type Step struct {
	Name     string   `json:"name"`
	Done     bool     `json:"done"`
	Note     string   `json:"note,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

// step returns the improvement model's step name (one of
// ImprovementSteps) of in, adding it to an initiative stored before the
// step was one.
func (in *Initiative) step(name string) *Step {
	i := slices.IndexFunc(in.Steps, func(st Step) bool { return st.Name == name })
	if i < 0 {
		in.Steps, i = append(in.Steps, Step{Name: name}), len(in.Steps)
	}
	return &in.Steps[i]
}

// Initiative is an entry of the continual improvement register, with
// ServiceNow's fields.
type Initiative struct {
	ID      itil.ID         `json:"id"`
	Version int64           `json:"version"`
	Number  string          `json:"number"`
	Title   string          `json:"title"`
	State   InitiativeState `json:"state"`
	// EntryID is the service improved (a portfolio entry), when one is.
	EntryID       itil.ID         `json:"entry_id,omitzero"`
	Process       string          `json:"process,omitempty"`
	Coordinator   string          `json:"coordinator,omitempty"`
	Priority      itil.Priority   `json:"priority"`
	Effort        Effort          `json:"effort"`
	Type          ImprovementType `json:"type"`
	Benefits      string          `json:"benefits,omitempty"`
	Justification string          `json:"justification,omitempty"`
	// KPI is the indicator the initiative moves; Base its value when the
	// initiative was raised (the baseline), Target where it should be
	// at ReviewDate.
	KPI        string          `json:"kpi"`
	Base       decimal.Decimal `json:"base"`
	Target     decimal.Decimal `json:"target"`
	ReviewDate time.Time       `json:"review_date"`
	// Measured is the KPI as measured at a review, with when; set by
	// the review, never typed in.
	Measured   *decimal.Decimal `json:"measured,omitempty"`
	MeasuredAt time.Time        `json:"measured_at,omitzero"`
	// Problems and Changes are how the initiative gets there.
	Problems  []itil.ID  `json:"problems,omitempty"`
	Changes   []itil.ID  `json:"changes,omitempty"`
	Steps     []Step     `json:"steps"`
	RaisedBy  itil.Actor `json:"raised_by"`
	RaisedAt  time.Time  `json:"raised_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Improvement returns how far the KPI moved from the base toward the
// target, in percent of the way (100: the target reached; more: beyond
// it; negative: the wrong way), to two places; false before a
// measurement, or when base and target are equal.
func (in *Initiative) Improvement() (decimal.Decimal, bool) {
	if in.Measured == nil || in.Target.Equal(in.Base) {
		return decimal.Decimal{}, false
	}
	return in.Measured.Sub(in.Base).Mul(decimal.NewFromInt(100)).DivRound(in.Target.Sub(in.Base), 2), true
}

// Reached reports whether the measured KPI reached the target, in the
// direction from the base to the target.
func (in *Initiative) Reached() bool {
	if in.Measured == nil {
		return false
	}
	if in.Target.GreaterThanOrEqual(in.Base) {
		return in.Measured.GreaterThanOrEqual(in.Target)
	}
	return in.Measured.LessThanOrEqual(in.Target)
}

func (in *Initiative) clone() *Initiative {
	out := *in
	if in.Measured != nil {
		m := *in.Measured
		out.Measured = &m
	}
	out.Problems, out.Changes = slices.Clone(in.Problems), slices.Clone(in.Changes)
	out.Steps = make([]Step, len(in.Steps))
	for i, s := range in.Steps {
		s.Evidence = slices.Clone(s.Evidence)
		out.Steps[i] = s
	}
	return &out
}

// validate checks the initiative's fields, each named by its JSON name.
func (in *Initiative) validate(v *itil.ValidationError) {
	check.Text(v, "title", in.Title, true, check.Short)
	check.Text(v, "process", in.Process, false, check.Short)
	check.Text(v, "coordinator", in.Coordinator, false, check.Short)
	check.Text(v, "benefits", in.Benefits, false, check.Long)
	check.Text(v, "justification", in.Justification, false, check.Long)
	if !slices.Contains(KPINames(), in.KPI) {
		v.Add("kpi", fmt.Sprintf("%q is not a KPI the journal measures (see KPINames)", in.KPI))
	}
	if in.Priority < itil.P1 || in.Priority > itil.P5 {
		v.Add("priority", "must be a priority from 1 to 5")
	}
	switch in.Effort {
	case EffortS, EffortM, EffortL, EffortXL:
	default:
		v.Add("effort", "must be S, M, L or XL")
	}
	switch in.Type {
	case ImprovePeople, ImproveProcess, ImproveTechnology:
	default:
		v.Add("type", "must be people, process or technology")
	}
	switch {
	case in.ReviewDate.IsZero():
		v.Add("review_date", "is required")
	case !nanosOK(in.ReviewDate):
		v.Add("review_date", "must lie within the years 1900 to 2200")
	}
	for _, d := range []struct {
		field string
		x     decimal.Decimal
	}{{"base", in.Base}, {"target", in.Target}} {
		if check.Places(d.x) > 6 || d.x.Abs().GreaterThan(decimal.New(1, 15)) {
			v.Add(d.field, "must have at most 6 decimal places and be below 10^15")
		}
	}
	if len(in.Problems)+len(in.Changes) > MaxChanges {
		v.Add("changes", "link more than "+strconv.Itoa(MaxChanges)+" problems and changes")
	}
	for i, s := range in.Steps {
		f := "steps[" + strconv.Itoa(i) + "]"
		check.Text(v, f+".note", s.Note, false, check.Long)
		if len(s.Evidence) > MaxEvidence {
			v.Add(f+".evidence", "lists more than "+strconv.Itoa(MaxEvidence)+" links")
		}
		for j, e := range s.Evidence {
			check.Text(v, f+".evidence["+strconv.Itoa(j)+"]", e, true, maxLinkLength)
		}
	}
}
