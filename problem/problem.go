package problem

import (
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Kind is the storage kind and journal kind of problems.
const Kind = "problem"

// NumberPrefix starts every problem reference number (PRB0001001).
const NumberPrefix = "PRB"

// MaxCIs is the most configuration items a problem or a known error may
// name.
const MaxCIs = 50

// State is where a problem is in its lifecycle.
type State string

// The problem states, as ServiceNow names them.
const (
	StateNew               State = "new"
	StateAssess            State = "assess"
	StateRootCauseAnalysis State = "root_cause_analysis"
	StateFixInProgress     State = "fix_in_progress"
	StateResolved          State = "resolved"
	StateClosed            State = "closed"
	StateCanceled          State = "canceled"
)

var states = []State{StateNew, StateAssess, StateRootCauseAnalysis, StateFixInProgress,
	StateResolved, StateClosed, StateCanceled}

// States returns every state in lifecycle order.
func States() []State { return slices.Clone(states) }

// Open reports whether work on the problem is still going on: New, Assess,
// Root Cause Analysis or Fix in Progress.
func (s State) Open() bool {
	return s == StateNew || s == StateAssess || s == StateRootCauseAnalysis || s == StateFixInProgress
}

// Final reports whether the state is an end state: Closed or Canceled. No
// command changes a final problem, except Reanalyze of a Closed one when
// the Authorizer allows CommandReanalyzeClosed.
func (s State) Final() bool { return s == StateClosed || s == StateCanceled }

// ResolutionCode says how a problem ended.
type ResolutionCode string

// The resolution codes, set by the commands that end a problem.
const (
	// FixApplied: Resolve; the root cause was removed.
	FixApplied ResolutionCode = "fix_applied"
	// RiskAccepted: AcceptRisk; the cause stays, the risk is accepted.
	RiskAccepted ResolutionCode = "risk_accepted"
	// Duplicate: MarkDuplicate; another problem carries the work.
	Duplicate ResolutionCode = "duplicate"
	// Canceled: Cancel; the problem needs no more work.
	Canceled ResolutionCode = "canceled"
)

// FixState is where a fix record is.
type FixState string

// The fix record states.
const (
	FixOpen     FixState = "open"
	FixComplete FixState = "complete"
	FixCanceled FixState = "canceled"
)

// FixRecord names a record that carries (part of) a problem's fix, such as
// a change: its kind ("change"), its ID and its state.
type FixRecord struct {
	Kind  string   `json:"kind"`
	ID    itil.ID  `json:"id"`
	State FixState `json:"state"`
}

// Problem is the cause, or potential cause, of one or more incidents.
// Problems are created by Service.Open and changed only by the Service's
// commands; the zero value is not a valid problem.
type Problem struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	// Number is the human reference, such as PRB0001001.
	Number      string `json:"number"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category,omitempty"`
	// ServiceID is the affected service and CIIDs the affected
	// configuration items; NilID and empty when unknown.
	ServiceID itil.ID   `json:"service_id,omitzero"`
	CIIDs     []itil.ID `json:"ci_ids,omitempty"`

	// Impact and Urgency are both set or both zero (not yet assessed);
	// Priority is derived from them by the priority matrix, zero until
	// they are set.
	Impact   itil.Impact   `json:"impact,omitempty"`
	Urgency  itil.Urgency  `json:"urgency,omitempty"`
	Priority itil.Priority `json:"priority,omitempty"`

	State State `json:"state"`

	AssignmentGroup string `json:"assignment_group,omitempty"`
	Assignee        string `json:"assignee,omitempty"`

	// Workaround is how to restore service while the cause remains;
	// CauseNotes the root cause found; FixNotes the fix applied.
	Workaround string `json:"workaround,omitempty"`
	CauseNotes string `json:"cause_notes,omitempty"`
	FixNotes   string `json:"fix_notes,omitempty"`

	ResolutionCode ResolutionCode `json:"resolution_code,omitempty"`
	// DuplicateOf is the surviving problem of a duplicate.
	DuplicateOf itil.ID `json:"duplicate_of,omitzero"`
	// DuplicateCount counts the problems marked duplicates of this one.
	DuplicateCount     int    `json:"duplicate_count,omitempty"`
	RiskAcceptedReason string `json:"risk_accepted_reason,omitempty"`
	// IncidentCount counts the incidents that belong to the problem
	// (incident.Incident.ProblemID; LinkIncident, UnlinkIncident).
	IncidentCount int `json:"incident_count,omitempty"`

	ConfirmedBy  itil.Actor `json:"confirmed_by,omitzero"`
	ConfirmedAt  time.Time  `json:"confirmed_at,omitzero"`
	FixStartedBy itil.Actor `json:"fix_started_by,omitzero"`
	FixStartedAt time.Time  `json:"fix_started_at,omitzero"`

	// KnownErrorID links the problem's primary known error, NilID when
	// none.
	KnownErrorID itil.ID `json:"known_error_id,omitzero"`
	// FixRecords lists the records that carry the fix.
	FixRecords []FixRecord `json:"fix_records,omitempty"`

	OpenedBy   itil.Actor `json:"opened_by"`
	OpenedAt   time.Time  `json:"opened_at"`
	ResolvedAt time.Time  `json:"resolved_at,omitzero"`
	// ClosedAt is when the problem became final: Closed (completed, risk
	// accepted, a duplicate) or Canceled.
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

// copyProblem deep-copies src into dst.
func copyProblem(dst, src *Problem) {
	*dst = *src
	dst.CIIDs = slices.Clone(src.CIIDs)
	dst.FixRecords = slices.Clone(src.FixRecords)
}

// clone returns a deep copy of p.
func (p *Problem) clone() *Problem {
	c := new(Problem)
	copyProblem(c, p)
	return c
}

// NewProblem is the input of Service.Open. Impact and Urgency may be left
// zero until the problem is assessed; Confirm needs them.
type NewProblem struct {
	Title       string
	Description string
	Category    string
	ServiceID   itil.ID
	CIIDs       []itil.ID
	Impact      itil.Impact
	Urgency     itil.Urgency
	Workaround  string
}

// Patch is the input of Service.Update: nil fields stay as they are.
type Patch struct {
	Title       *string
	Description *string
	Category    *string
	ServiceID   *itil.ID
	// CIIDs, when not nil, replaces the list (an empty list clears it).
	CIIDs      *[]itil.ID
	Impact     *itil.Impact
	Urgency    *itil.Urgency
	Workaround *string
	CauseNotes *string
	FixNotes   *string
}

// validate checks the descriptive fields every problem must satisfy in its
// state.
func (p *Problem) validate(m *itil.PriorityMatrix, v *itil.ValidationError) {
	check.Text(v, "title", p.Title, true, check.Short)
	check.Text(v, "description", p.Description, false, check.Long)
	check.Text(v, "category", p.Category, false, check.Short)
	check.Text(v, "workaround", p.Workaround, false, check.Long)
	check.Text(v, "cause_notes", p.CauseNotes, false, check.Long)
	check.Text(v, "fix_notes", p.FixNotes, false, check.Long)
	if len(p.CIIDs) > MaxCIs {
		v.Add("ci_ids", "must list at most "+strconv.Itoa(MaxCIs)+" configuration items")
	}
	for i, id := range p.CIIDs {
		field := "ci_ids[" + strconv.Itoa(i) + "]"
		if id == itil.NilID {
			v.Add(field, "must not be the nil ID")
		} else if slices.Index(p.CIIDs, id) < i {
			v.Add(field, "lists "+id.String()+" twice")
		}
	}
	switch {
	case p.Impact == 0 && p.Urgency == 0:
		if p.State != StateNew && p.State != StateAssess {
			v.Add("impact", "is required once the problem is confirmed")
			v.Add("urgency", "is required once the problem is confirmed")
		}
	case p.Impact == 0:
		v.Add("impact", "is required with an urgency")
	case p.Urgency == 0:
		v.Add("urgency", "is required with an impact")
	default:
		m.CheckImpact("impact", p.Impact, v)
		m.CheckUrgency("urgency", p.Urgency, v)
	}
	// What a state was entered with stays.
	if p.State == StateFixInProgress || p.State == StateResolved {
		if check.Blank(p.CauseNotes) && !v.Has("cause_notes") {
			v.Add("cause_notes", "is required while a fix is in progress or resolved")
		}
	}
	if p.State == StateResolved && check.Blank(p.FixNotes) && !v.Has("fix_notes") {
		v.Add("fix_notes", "is required while the problem is resolved")
	}
}

// derivePriority sets Priority from the matrix, or clears it while impact
// and urgency are unset.
func (p *Problem) derivePriority(m *itil.PriorityMatrix) error {
	if p.Impact == 0 || p.Urgency == 0 {
		p.Priority = 0
		return nil
	}
	pr, err := m.Priority(p.Impact, p.Urgency)
	if err != nil {
		return err
	}
	p.Priority = pr
	return nil
}
