package change

import (
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/slm/calendar"
)

// Kind is the storage kind and journal kind of changes.
const Kind = "change"

// NumberPrefix starts every change reference number (CHG0001001).
const NumberPrefix = "CHG"

// MaxCIs is the most configuration items a change may name (its primary
// CI included), and MaxLinks the most problems it fixes or incidents it
// caused.
const (
	MaxCIs   = 100
	MaxLinks = 100
	// MaxPlannedWindow is the longest planned window.
	MaxPlannedWindow = 366 * 24 * time.Hour
)

// AffectedService is a business service a change affects, found through
// the CMDB's impact analysis when the change is assessed.
type AffectedService struct {
	ServiceID itil.ID `json:"service_id"`
	// Criticality is the service's, as the CMDB holds it (1 is the most
	// critical); 0 when the CMDB has none.
	Criticality int `json:"criticality,omitempty"`
}

// Change is a request for change and everything that happens to it: a
// move of one or more configuration items from one known state to
// another, assessed, approved, scheduled, implemented and reviewed as its
// model says.
type Change struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	// Number is the reference people use, such as CHG0001001.
	Number string `json:"number"`
	// Model names the change model (DefaultModels, or one given to the
	// Service) whose lifecycle and rules the change follows.
	Model string `json:"model"`
	State State  `json:"state"`

	Title          string `json:"title"`
	Description    string `json:"description,omitempty"`
	Justification  string `json:"justification,omitempty"`
	Implementation string `json:"implementation_plan,omitempty"`
	Backout        string `json:"backout_plan,omitempty"`
	TestPlan       string `json:"test_plan,omitempty"`

	RequestedBy     itil.Actor `json:"requested_by"`
	AssignmentGroup string     `json:"assignment_group,omitempty"`
	Assignee        string     `json:"assignee,omitempty"`

	// CIID is the primary configuration item; CIIDs the others the change
	// touches.
	CIID  itil.ID   `json:"ci_id,omitzero"`
	CIIDs []itil.ID `json:"ci_ids,omitempty"`
	// AffectedServices are the business services a failure of its CIs
	// affects, found with WithCMDB when the change is opened, updated or
	// assessed.
	AffectedServices []AffectedService `json:"affected_services,omitempty"`

	Impact itil.Impact `json:"impact,omitempty"`
	Risk   Risk        `json:"risk,omitempty"`
	// RiskExplanation says how the risk was reached: which condition
	// matched, which answers scored what, which lookup cell applied.
	RiskExplanation string `json:"risk_explanation,omitempty"`

	PlannedStart time.Time `json:"planned_start,omitzero"`
	PlannedEnd   time.Time `json:"planned_end,omitzero"`
	ActualStart  time.Time `json:"actual_start,omitzero"`
	ActualEnd    time.Time `json:"actual_end,omitzero"`

	// Approval is the round of approvals of the change's current or
	// last approval state; ApprovalRounds counts the rounds so far.
	Approval       *ApprovalRound `json:"approval,omitempty"`
	ApprovalRounds int            `json:"approval_rounds,omitempty"`

	// CABDecision is the last decision a CAB meeting recorded on the
	// change, and CABMeetingID that meeting.
	CABDecision  Decision `json:"cab_decision,omitempty"`
	CABMeetingID itil.ID  `json:"cab_meeting_id,omitzero"`

	CABRequired bool      `json:"cab_required,omitempty"`
	CABDate     time.Time `json:"cab_date,omitzero"`

	// Review is the post-implementation review (RecordReview).
	Review *Review `json:"review,omitempty"`

	CloseCode  CloseCode `json:"close_code,omitempty"`
	CloseNotes string    `json:"close_notes,omitempty"`
	// Unauthorized marks a change recorded after the fact: a CI changed
	// with no change on record to cover it.
	Unauthorized bool `json:"unauthorized,omitempty"`

	// TemplateID and TemplateVersion name the standard change template
	// the change was made from.
	TemplateID      itil.ID `json:"template_id,omitzero"`
	TemplateVersion int     `json:"template_version,omitempty"`

	// Fixes lists the problems the change fixes; CausedIncidents the
	// incidents it caused.
	Fixes           []itil.ID `json:"fixes,omitempty"`
	CausedIncidents []itil.ID `json:"caused_incidents,omitempty"`
	// IncidentCount counts the incidents awaiting the change
	// (LinkIncident); the change is written with every link, so that its
	// history shows them and a link never interleaves with its end.
	IncidentCount int `json:"incident_count,omitempty"`

	// Conflicts are what conflicted with the change's planned window when
	// it, or a change or schedule it meets, last changed (see Conflicts);
	// kept current in those commands' transactions, and journaled.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// ConflictOverride is the last acceptance of the change's conflicts
	// (OverrideConflicts), with its reason.
	ConflictOverride *ConflictOverride `json:"conflict_override,omitempty"`

	OpenedBy  itil.Actor `json:"opened_by"`
	OpenedAt  time.Time  `json:"opened_at"`
	ClosedAt  time.Time  `json:"closed_at,omitzero"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Final reports whether the change has ended: Closed or Canceled.
func (s State) Final() bool { return s == StateClosed || s == StateCanceled }

func (c *Change) clone() *Change {
	out := new(Change)
	copyChange(out, c)
	return out
}

// copyChange deep-copies src into dst: the collection's decode cache
// copies into a Change it has already, without a clone of its own to
// copy from.
func copyChange(dst, src *Change) {
	*dst = *src
	dst.CIIDs = slices.Clone(src.CIIDs)
	dst.AffectedServices = slices.Clone(src.AffectedServices)
	dst.Fixes = slices.Clone(src.Fixes)
	dst.CausedIncidents = slices.Clone(src.CausedIncidents)
	dst.Conflicts = slices.Clone(src.Conflicts)
	if src.ConflictOverride != nil {
		o := *src.ConflictOverride
		o.Conflicts = slices.Clone(src.ConflictOverride.Conflicts)
		dst.ConflictOverride = &o
	}
	dst.Approval = src.Approval.clone()
	if src.Review != nil {
		r := *src.Review
		r.FollowUps = slices.Clone(src.Review.FollowUps)
		dst.Review = &r
	}
}

// ids checks a list of IDs: none nil, none twice, at most max.
func ids(v *itil.ValidationError, field string, list []itil.ID, max int) {
	if len(list) > max {
		v.Add(field, "must list at most "+strconv.Itoa(max))
	}
	for i, id := range list {
		at := field + "[" + strconv.Itoa(i) + "]"
		if id == itil.NilID {
			v.Add(at, "must not be the nil ID")
		} else if slices.Index(list, id) < i {
			v.Add(at, "lists "+id.String()+" twice")
		}
	}
}

// validate checks the fields every change must satisfy, whatever its
// state; the model's rules (planned times, close code) are checked by the
// commands that enter a state.
func (c *Change) validate(v *itil.ValidationError) {
	check.Text(v, "title", c.Title, true, check.Short)
	for _, f := range []struct{ name, s string }{
		{"description", c.Description}, {"justification", c.Justification},
		{"implementation_plan", c.Implementation}, {"backout_plan", c.Backout},
		{"test_plan", c.TestPlan}, {"close_notes", c.CloseNotes}, {"risk_explanation", c.RiskExplanation},
	} {
		check.Text(v, f.name, f.s, false, check.Long)
	}
	check.Text(v, "assignment_group", c.AssignmentGroup, false, check.Short)
	check.Text(v, "assignee", c.Assignee, false, check.Short)
	ids(v, "ci_ids", c.CIIDs, MaxCIs-1)
	if c.CIID != itil.NilID && slices.Contains(c.CIIDs, c.CIID) {
		v.Add("ci_ids", "lists the primary CI "+c.CIID.String()+" again")
	}
	ids(v, "fixes", c.Fixes, MaxLinks)
	ids(v, "caused_incidents", c.CausedIncidents, MaxLinks)
	if c.Risk != 0 && !c.Risk.Valid() {
		v.Add("risk", "must be low, moderate, high or very_high")
	}
	if c.CloseCode != "" && !c.CloseCode.Valid() {
		v.Add("close_code", "must be successful, successful_with_issues or unsuccessful")
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"planned_start", c.PlannedStart}, {"planned_end", c.PlannedEnd}, {"actual_start", c.ActualStart},
		{"actual_end", c.ActualEnd}, {"cab_date", c.CABDate}} {
		if !t.at.IsZero() {
			check.Time(v, t.name, t.at)
		}
	}
	// The schedule computes planned windows exactly only within the
	// calendar's years, and a window of more than a year is not a change
	// but a programme.
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"planned_start", c.PlannedStart}, {"planned_end", c.PlannedEnd}} {
		if !t.at.IsZero() {
			inScheduleYears(v, t.name, t.at)
		}
	}
	switch {
	case !c.PlannedStart.IsZero() && !c.PlannedEnd.IsZero() && !c.PlannedEnd.After(c.PlannedStart):
		v.Add("planned_end", "must be after planned_start")
	case !c.PlannedStart.IsZero() && !c.PlannedEnd.IsZero() && c.PlannedEnd.Sub(c.PlannedStart) > MaxPlannedWindow:
		v.Add("planned_end", "the planned window is longer than a year and a day")
	}
	if !c.ActualStart.IsZero() && !c.ActualEnd.IsZero() && c.ActualEnd.Before(c.ActualStart) {
		v.Add("actual_end", "must not be before actual_start")
	}
}

// inScheduleYears names field in v when t, a valid time, lies outside the
// years the schedule computes exactly (the calendar's).
func inScheduleYears(v *itil.ValidationError, field string, t time.Time) {
	if check.TimeOK(t) && (t.Before(calendar.Earliest) || !t.Before(calendar.Latest)) {
		v.Add(field, "must lie from 1910 to 2189")
	}
}
