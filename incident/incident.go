package incident

import (
	"slices"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Kind is the storage kind and journal kind of incidents.
const Kind = "incident"

// NumberPrefix starts every incident reference number (INC0001001).
const NumberPrefix = "INC"

// State is where an incident is in its lifecycle.
type State string

// The incident states.
const (
	StateNew        State = "new"
	StateInProgress State = "in_progress"
	StateOnHold     State = "on_hold"
	StateResolved   State = "resolved"
	StateClosed     State = "closed"
	StateCanceled   State = "canceled"
)

var states = []State{StateNew, StateInProgress, StateOnHold, StateResolved, StateClosed, StateCanceled}

// States returns every state in lifecycle order.
func States() []State { return slices.Clone(states) }

// Open reports whether work on the incident is still going on: New, In
// Progress or On Hold.
func (s State) Open() bool { return s == StateNew || s == StateInProgress || s == StateOnHold }

// Final reports whether the state can never change again.
func (s State) Final() bool { return lifecycle.Final(s) }

// HoldReason says whom an On Hold incident is waiting for.
type HoldReason string

// The hold reasons.
const (
	AwaitingCaller  HoldReason = "awaiting_caller"
	AwaitingChange  HoldReason = "awaiting_change"
	AwaitingProblem HoldReason = "awaiting_problem"
	AwaitingVendor  HoldReason = "awaiting_vendor"
)

func (r HoldReason) valid() bool {
	switch r {
	case AwaitingCaller, AwaitingChange, AwaitingProblem, AwaitingVendor:
		return true
	}
	return false
}

// Channel is how the incident was reported.
type Channel string

// The reporting channels.
const (
	Phone      Channel = "phone"
	Email      Channel = "email"
	Portal     Channel = "portal"
	Chat       Channel = "chat"
	Monitoring Channel = "monitoring"
	WalkIn     Channel = "walk_in"
)

func (c Channel) valid() bool {
	switch c {
	case Phone, Email, Portal, Chat, Monitoring, WalkIn:
		return true
	}
	return false
}

// DefaultResolutionCodes returns the resolution codes accepted unless the
// Service is configured with WithResolutionCodes.
func DefaultResolutionCodes() []string {
	return []string{
		"solution_provided", "workaround_provided", "resolved_by_caller",
		"resolved_by_change", "resolved_by_problem", "known_error",
		"duplicate", "user_error", "no_resolution_provided",
	}
}

// PriorityOverride records a priority set by hand instead of by the matrix.
type PriorityOverride struct {
	Priority itil.Priority `json:"priority"`
	Reason   string        `json:"reason"`
	By       itil.Actor    `json:"by"`
	At       time.Time     `json:"at"`
}

// Incident is an unplanned interruption to an IT service or a reduction in
// its quality. Incidents are created by Service.Open and changed only by the
// Service's commands; the zero value is not a valid incident.
type Incident struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	// Number is the human reference, such as INC0001001.
	Number      string     `json:"number"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Caller      itil.Actor `json:"caller"`
	Category    string     `json:"category,omitempty"`
	Subcategory string     `json:"subcategory,omitempty"`
	Channel     Channel    `json:"channel"`
	// ServiceID and CIID point at the affected service and configuration
	// item; NilID when unknown.
	ServiceID itil.ID `json:"service_id,omitzero"`
	CIID      itil.ID `json:"ci_id,omitzero"`

	Impact  itil.Impact  `json:"impact"`
	Urgency itil.Urgency `json:"urgency"`
	// Priority is derived from Impact and Urgency by the priority matrix,
	// unless Override is set.
	Priority itil.Priority     `json:"priority"`
	Override *PriorityOverride `json:"priority_override,omitempty"`

	State      State      `json:"state"`
	HoldReason HoldReason `json:"hold_reason,omitempty"`

	AssignmentGroup string `json:"assignment_group,omitempty"`
	Assignee        string `json:"assignee,omitempty"`
	// ReassignmentCount counts changes of assignment group after the first
	// assignment (functional escalations).
	ReassignmentCount int `json:"reassignment_count,omitempty"`
	// EscalationLevel is the hierarchical escalation level, 0 when none.
	EscalationLevel int `json:"escalation_level,omitempty"`

	// ServiceDown says the service (ServiceID, or the CI) was down, not
	// merely degraded: from opening to resolution the incident is an
	// outage, as service value assessments read it.
	ServiceDown bool `json:"service_down,omitempty"`

	Major       bool    `json:"major,omitempty"`
	MajorReason string  `json:"major_reason,omitempty"`
	ParentID    itil.ID `json:"parent_id,omitzero"`
	// ChildCount counts the incidents linked as children of this one.
	ChildCount int `json:"child_count,omitempty"`
	// ProblemID is the problem the incident belongs to (at most one),
	// NilID when none; set by SetProblem.
	ProblemID itil.ID `json:"problem_id,omitzero"`
	// ChangeID is the change the incident awaits, whose implementation
	// should restore the service (ServiceNow's "Change Request"), NilID
	// when none; set by SetChange. An incident On Hold awaiting change
	// names it, and resumes when it ends.
	ChangeID itil.ID `json:"change_id,omitzero"`
	// CausedBy is the change that caused the incident, NilID when none;
	// set by SetCausedBy. It counts against the change's success score.
	CausedBy itil.ID `json:"caused_by,omitzero"`

	ResolutionCode  string `json:"resolution_code,omitempty"`
	ResolutionNotes string `json:"resolution_notes,omitempty"`
	// KnownErrorID is the published known error an incident resolved with
	// KnownErrorCode names (set by ResolveKnownError, through
	// problem.Service.ResolveWithKnownError), NilID otherwise; reopening
	// clears it.
	KnownErrorID itil.ID `json:"known_error_id,omitzero"`
	ReopenCount  int     `json:"reopen_count,omitempty"`

	OpenedBy itil.Actor `json:"opened_by"`
	OpenedAt time.Time  `json:"opened_at"`
	// FirstRespondedAt is when someone other than the caller (and other
	// than itil.System) first acted on the incident in a way the caller
	// sees: assigned an engineer, commented, put it on hold, resumed it or
	// resolved it. Cascades from a parent and cancellations do not count.
	FirstRespondedAt time.Time `json:"first_responded_at,omitzero"`
	ResolvedAt       time.Time `json:"resolved_at,omitzero"`
	ClosedAt         time.Time `json:"closed_at,omitzero"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// copyIncident deep-copies src into dst.
func copyIncident(dst, src *Incident) {
	*dst = *src
	if src.Override != nil {
		o := *src.Override
		dst.Override = &o
	}
}

// clone returns a deep copy of inc.
func (inc *Incident) clone() *Incident {
	c := new(Incident)
	copyIncident(c, inc)
	return c
}

// NewIncident is the input of Service.Open.
type NewIncident struct {
	Title       string
	Description string
	Caller      itil.Actor
	Category    string
	Subcategory string
	Channel     Channel
	ServiceID   itil.ID
	CIID        itil.ID
	ServiceDown bool
	Impact      itil.Impact
	Urgency     itil.Urgency
}

// Patch is the input of Service.Update: nil fields stay as they are.
type Patch struct {
	Title       *string
	Description *string
	Category    *string
	Subcategory *string
	ServiceID   *itil.ID
	CIID        *itil.ID
	ServiceDown *bool
	Impact      *itil.Impact
	Urgency     *itil.Urgency
}

// validate checks the descriptive fields every incident must satisfy.
func (inc *Incident) validate(m *itil.PriorityMatrix, v *itil.ValidationError) {
	check.Text(v, "title", inc.Title, true, check.Short)
	check.Text(v, "description", inc.Description, false, check.Long)
	check.Text(v, "category", inc.Category, false, check.Short)
	check.Text(v, "subcategory", inc.Subcategory, false, check.Short)
	if inc.Subcategory != "" && inc.Category == "" {
		v.Add("subcategory", "needs a category")
	}
	inc.Caller.Validate("caller", v)
	if !inc.Channel.valid() {
		v.Add("channel", "must be one of phone, email, portal, chat, monitoring, walk_in")
	}
	if inc.Impact == 0 {
		v.Add("impact", "is required")
	} else {
		m.CheckImpact("impact", inc.Impact, v)
	}
	if inc.Urgency == 0 {
		v.Add("urgency", "is required")
	} else {
		m.CheckUrgency("urgency", inc.Urgency, v)
	}
}

// derivePriority sets Priority from the matrix unless an override holds.
func (inc *Incident) derivePriority(m *itil.PriorityMatrix) error {
	if inc.Override != nil {
		inc.Priority = inc.Override.Priority
		return nil
	}
	p, err := m.Priority(inc.Impact, inc.Urgency)
	if err != nil {
		return err
	}
	inc.Priority = p
	return nil
}

// respond records the first response: the first visible action of someone
// other than the caller and the SDK itself.
func (inc *Incident) respond(actor itil.Actor, now time.Time) {
	if inc.FirstRespondedAt.IsZero() && actor.ID != inc.Caller.ID && actor.ID != itil.System.ID {
		inc.FirstRespondedAt = now
	}
}
