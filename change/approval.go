package change

import (
	"fmt"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Limits of a policy's definition, the same on every backend.
const (
	maxApprovalSteps  = 50
	maxStepUsers      = 1000
	maxStepGroups     = 50 // with the users and the field, a step has at most 64 units
	maxActorIDBytes   = 256
	maxApprovalGroups = 64
)

// WaitRule says which responses an approval step waits for.
type WaitRule string

// The wait rules.
const (
	// WaitFirst: one approval accepts the step.
	WaitFirst WaitRule = "first"
	// WaitAll: every person counted must approve.
	WaitAll WaitRule = "all"
	// WaitPercent: a share of the people counted must approve; see
	// WaitFor.Percent.
	WaitPercent WaitRule = "percent"
	// WaitEachGroup: each of the step's approver sets (each group, the
	// named users together, the field's users) must have an approval from
	// one of its members, a different person for each set.
	WaitEachGroup WaitRule = "each_group"
	// WaitAnyGroup: an approval from a member of any one approver set
	// accepts the step.
	WaitAnyGroup WaitRule = "any_group"
)

func (r WaitRule) valid() bool {
	switch r {
	case WaitFirst, WaitAll, WaitPercent, WaitEachGroup, WaitAnyGroup:
		return true
	}
	return false
}

func (r WaitRule) byGroup() bool { return r == WaitEachGroup || r == WaitAnyGroup }

// WaitFor is a step's wait rule with its parameter.
type WaitFor struct {
	Rule WaitRule `json:"rule"`
	// Percent is read by WaitPercent only (and must be 0 otherwise): the
	// share, in whole percent from 0 to 100, of the n people counted that
	// must approve. The required number is pct×n/100 rounded half up, and
	// at least 1: 50 % of 3 is 2, 33 % of 3 is 1. A Percent of 0 or less
	// reads as WaitFirst, one of 100 or more as WaitAll.
	Percent int `json:"percent,omitempty"`
}

// OnReject says what a counted rejection does to an approval step.
type OnReject string

// The rejection rules.
const (
	// RejectAtOnce: any counted rejection refuses the step.
	RejectAtOnce OnReject = "reject"
	// RejectWaitForRest: a rejection refuses the step only once the
	// approvals still possible can no longer reach the required number.
	RejectWaitForRest OnReject = "wait"
)

func (o OnReject) valid() bool { return o == RejectAtOnce || o == RejectWaitForRest }

// ApprovalStep is one step of an approval policy: whom it asks and which
// of their responses it waits for.
type ApprovalStep struct {
	// Name identifies the step within its policy, and approval records
	// name their step by it; a required short text (check.Short).
	Name string `json:"name"`
	// Optional steps do not refuse the policy when they are refused; the
	// zero value is a mandatory step. The policy still waits for them.
	Optional bool `json:"optional,omitempty"`
	// Users are approvers named directly, by user ID (as itil.Actor.ID).
	Users []string `json:"users,omitempty"`
	// Groups are approver groups, by name; the caller resolves their
	// members (ApprovalFacts.Members).
	Groups []string `json:"groups,omitempty"`
	// Field names a field of the change that the caller resolves into
	// users (ApprovalFacts.Fields), such as "assignment_group".
	Field string `json:"field,omitempty"`
	// A step names at least one of Users, Groups and Field.
	WaitFor  WaitFor  `json:"wait_for"`
	OnReject OnReject `json:"on_reject"`
}

// Validate returns a *itil.ValidationError naming every bad field of s
// ("name", "users[2]", "wait_for.percent", ...), or nil: a required name;
// at least one approver; user IDs of 1 to 256 bytes of valid UTF-8, at
// most 1000 and none repeated; group names short texts, at most 50 and
// none repeated; a known wait rule, with a percent from 0 to 100 under
// WaitPercent and none under the other rules; a known OnReject.
func (s ApprovalStep) Validate() error {
	var v itil.ValidationError
	s.validate(&v, "")
	return v.Err()
}

func (s ApprovalStep) validate(v *itil.ValidationError, prefix string) {
	check.Text(v, prefix+"name", s.Name, true, check.Short)
	if len(s.Users) == 0 && len(s.Groups) == 0 && s.Field == "" {
		v.Add(prefix+"users", "a step must name at least one of users, groups and field")
	}
	if len(s.Users) > maxStepUsers {
		v.Add(prefix+"users", fmt.Sprintf("must hold at most %d users", maxStepUsers))
	} else {
		seen := make(map[string]int, len(s.Users))
		for i, u := range s.Users {
			f := prefix + "users[" + strconv.Itoa(i) + "]"
			userID(v, f, u)
			if j, ok := seen[u]; ok && !v.Has(f) {
				v.Add(f, fmt.Sprintf("repeats users[%d]", j))
			} else if !ok {
				seen[u] = i
			}
		}
	}
	if len(s.Groups) > maxStepGroups {
		v.Add(prefix+"groups", fmt.Sprintf("must hold at most %d groups", maxStepGroups))
	} else {
		for i, g := range s.Groups {
			f := prefix + "groups[" + strconv.Itoa(i) + "]"
			check.Text(v, f, g, true, check.Short)
			for j := range i {
				if s.Groups[j] == g && !v.Has(f) {
					v.Add(f, fmt.Sprintf("repeats groups[%d]", j))
					break
				}
			}
		}
	}
	if s.Field != "" {
		check.Text(v, prefix+"field", s.Field, true, check.Short)
	}
	switch {
	case !s.WaitFor.Rule.valid():
		v.Add(prefix+"wait_for.rule", "must be one of first, all, percent, each_group, any_group")
	case s.WaitFor.Rule == WaitPercent:
		if s.WaitFor.Percent < 0 || s.WaitFor.Percent > 100 {
			v.Add(prefix+"wait_for.percent", "must be between 0 and 100")
		}
	case s.WaitFor.Percent != 0:
		v.Add(prefix+"wait_for.percent", "is read by the percent rule only and must be 0 under "+string(s.WaitFor.Rule))
	}
	if !s.OnReject.valid() {
		v.Add(prefix+"on_reject", "must be one of reject, wait")
	}
}

// userID checks a user ID as itil.Actor checks its ID, refusing blank
// ones too.
func userID(v *itil.ValidationError, field, id string) {
	check.Text(v, field, id, true, check.Name)
	check.Bytes(v, field, id, maxActorIDBytes)
}

// ApprovalPolicy is an ordered list of approval steps: a group approval in
// Assess, the change advisory board in Authorize, say. Steps are asked in
// order (the command layer asks a step once the steps before it are
// decided); the verdict reads all of them. The policy and the responses
// are plain data, and Evaluate turns them into a verdict without reading
// storage or the clock, so the same answer comes out on every backend
// and in every replay.
//
// The rules, GLPI's generalized:
//
//   - A step counts units. For the rules first, all and percent a unit is
//     a person: the distinct users the step names directly, through its
//     groups and through its field, less the excluded ones. For the rules
//     each_group and any_group a unit is one of the step's approver sets:
//     each group, the directly named users together, and the users the
//     field resolves to.
//   - One person counts once, however many of the step's groups they are
//     in: under a group rule one person's approval covers one unit only
//     (counts are a maximum matching of units to distinct people).
//   - Segregation of duties: the excluded users (the change's requester
//     and its assignee, who implements it: the implement task is theirs;
//     unless the application turns it off) are
//     not counted at all, and no decision they make, for themselves or as
//     a delegate, counts.
//   - A step is accepted when its accepted units reach the required
//     number, waiting while accepted plus pending could still reach it,
//     and refused otherwise. With RejectAtOnce, any counted rejection
//     refuses the step, whatever else it holds.
//   - A policy is refused when a mandatory step is refused, else waiting
//     while any step waits, else accepted. A refused optional step does
//     not refuse the policy.
//
// Responses form a set: the verdict does not depend on their order. A
// response from an approver whose request is still open leaves an
// accepted step accepted or (a rejection under RejectAtOnce) refuses it;
// it never makes the step wait again. Who counts is fixed by the
// resolved approvers, not by the records: a canceled request, or one no
// longer required, still counts its approver, who can no longer answer.
type ApprovalPolicy struct {
	// Name identifies the policy; a required short text (check.Short).
	Name  string         `json:"name"`
	Steps []ApprovalStep `json:"steps"`
}

// Validate returns a *itil.ValidationError naming every bad field of p
// ("name", "steps", "steps[2].wait_for.percent", ...), or nil: a required
// name, 1 to 50 steps, each valid (see ApprovalStep.Validate) and named
// differently from the others.
func (p ApprovalPolicy) Validate() error {
	var v itil.ValidationError
	check.Text(&v, "name", p.Name, true, check.Short)
	switch {
	case len(p.Steps) == 0:
		v.Add("steps", "must hold at least one step")
	case len(p.Steps) > maxApprovalSteps:
		v.Add("steps", fmt.Sprintf("must hold at most %d steps", maxApprovalSteps))
	}
	for i, s := range p.Steps {
		prefix := "steps[" + strconv.Itoa(i) + "]."
		s.validate(&v, prefix)
		for j := range i {
			if p.Steps[j].Name == s.Name && !v.Has(prefix+"name") {
				v.Add(prefix+"name", fmt.Sprintf("repeats the name of steps[%d]", j))
				break
			}
		}
	}
	return v.Err()
}

// ApprovalState is the state of one approval record.
type ApprovalState string

// The states of an approval record. Requested is the only open one.
const (
	// ApprovalRequested: the approver is asked and has not answered.
	ApprovalRequested ApprovalState = "requested"
	// ApprovalApproved: the approver (or their delegate) approved.
	ApprovalApproved ApprovalState = "approved"
	// ApprovalRejected: the approver (or their delegate) rejected, with a
	// comment.
	ApprovalRejected ApprovalState = "rejected"
	// ApprovalCanceled: the request was withdrawn without an answer (the
	// change was canceled or sent back to New). The approver still counts
	// in the step and can no longer approve.
	ApprovalCanceled ApprovalState = "canceled"
	// ApprovalNotRequired: the approver's answer is no longer needed (the
	// step or the change was decided without it). For evaluation it is
	// the same as canceled: the approver still counts in the step and can
	// no longer answer. To stop counting someone (an approver who left),
	// leave them out of the resolved approvers instead.
	ApprovalNotRequired ApprovalState = "not_required"
)

func (s ApprovalState) valid() bool {
	switch s {
	case ApprovalRequested, ApprovalApproved, ApprovalRejected, ApprovalCanceled, ApprovalNotRequired:
		return true
	}
	return false
}

// Approval is one approver's record on one step of a change's policy.
type Approval struct {
	ID       itil.ID `json:"id"`
	Version  int64   `json:"version"`
	ChangeID itil.ID `json:"change_id"`
	// Round is the change's approval round the record belongs to (see
	// ApprovalRound).
	Round int `json:"round,omitempty"`
	// Step is the name of the policy's step that asks.
	Step string `json:"step"`
	// Approver is the user asked (as itil.Actor.ID); the decision counts
	// as theirs.
	Approver string `json:"approver"`
	// Groups are the step's groups through which the approver was asked,
	// for the record (evaluation reads memberships from ApprovalFacts);
	// empty when the step names the approver directly.
	Groups []string      `json:"groups,omitempty"`
	State  ApprovalState `json:"state"`
	// DecidedAt is when the record left ApprovalRequested; zero while it
	// is requested.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	// Comment is the approver's; required to reject.
	Comment string `json:"comment,omitempty"`
	// Delegate is the user who decided on the approver's behalf under a
	// Delegation (see MayActFor); empty when the approver decided.
	Delegate string `json:"delegate,omitempty"`
	// MeetingID names the CAB meeting whose decision this is: the board
	// decided for its groups' members (RecordMinutes), recorded by its
	// manager or a delegate, whom the meeting's item names.
	MeetingID itil.ID `json:"meeting_id,omitzero"`
}

// Validate returns a *itil.ValidationError naming every bad field of a
// ("id", "comment", ...), or nil: IDs, step and approver required; a
// known state; a decision time exactly when the state is not requested;
// a comment (at most check.Long characters) required to reject; groups
// short texts, at most 64, none repeated; a delegate other than the
// approver. It checks the record alone: whether the delegate may act for
// the approver then is MayActFor's question.
func (a Approval) Validate() error {
	var v itil.ValidationError
	if a.ID == itil.NilID {
		v.Add("id", "is required")
	}
	if a.ChangeID == itil.NilID {
		v.Add("change_id", "is required")
	}
	check.Text(&v, "step", a.Step, true, check.Short)
	userID(&v, "approver", a.Approver)
	if len(a.Groups) > maxApprovalGroups {
		v.Add("groups", fmt.Sprintf("must hold at most %d groups", maxApprovalGroups))
	} else {
		for i, g := range a.Groups {
			f := "groups[" + strconv.Itoa(i) + "]"
			check.Text(&v, f, g, true, check.Short)
			for j := range i {
				if a.Groups[j] == g && !v.Has(f) {
					v.Add(f, fmt.Sprintf("repeats groups[%d]", j))
					break
				}
			}
		}
	}
	switch {
	case !a.State.valid():
		v.Add("state", "must be one of requested, approved, rejected, canceled, not_required")
	case a.State == ApprovalRequested:
		if !a.DecidedAt.IsZero() {
			v.Add("decided_at", "must be empty while the approval is requested")
		}
	case a.DecidedAt.IsZero():
		v.Add("decided_at", "is required once the approval is "+string(a.State))
	default:
		check.Time(&v, "decided_at", a.DecidedAt)
	}
	check.Text(&v, "comment", a.Comment, a.State == ApprovalRejected, check.Long)
	if a.Delegate != "" {
		userID(&v, "delegate", a.Delegate)
		if a.Delegate == a.Approver && !v.Has("delegate") {
			v.Add("delegate", "must differ from the approver")
		}
	}
	return v.Err()
}

// Delegation lets To decide approvals asked of From from Start until End.
// A delegate cannot pass the delegation on: MayActFor follows one link.
type Delegation struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Start is when the delegation begins (required); End is when it ends
	// (exclusive), zero for no end.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Validate returns a *itil.ValidationError naming every bad field of d
// ("from", "to", "start", "end"), or nil: two different user IDs, a
// start, and an end, if any, after the start.
func (d Delegation) Validate() error {
	var v itil.ValidationError
	userID(&v, "from", d.From)
	userID(&v, "to", d.To)
	if d.To == d.From && !v.Has("to") {
		v.Add("to", "must differ from from")
	}
	if d.Start.IsZero() {
		v.Add("start", "is required")
	} else {
		check.Time(&v, "start", d.Start)
	}
	if !d.End.IsZero() {
		check.Time(&v, "end", d.End)
		if !v.Has("end") && !d.Start.IsZero() && !d.End.After(d.Start) {
			v.Add("end", "must be after start")
		}
	}
	return v.Err()
}

// MayActFor reports whether user may decide an approval asked of approver
// at time t: user is the approver, or one of ds delegates from approver
// to user over an interval [Start, End) holding t (an End of zero never
// ends it). It does not follow chains of delegations, and it does not
// know segregation of duties: evaluation discounts a decision by an
// excluded delegate on its own.
func MayActFor(user, approver string, t time.Time, ds []Delegation) bool {
	if user == approver {
		return user != ""
	}
	for i := range ds {
		d := &ds[i]
		if d.From == approver && d.To == user && !t.Before(d.Start) && (d.End.IsZero() || t.Before(d.End)) {
			return true
		}
	}
	return false
}
