package change

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// KindApproval is the storage kind and journal kind of approval records.
const KindApproval = "change_approval"

// Command names of approving, as an Authorizer receives them (on the
// change).
const (
	CommandApprove = "approve"
	CommandReject  = "reject"
)

// Journal event types of approving. The records' events (kind
// KindApproval) name the change in Refs.
const (
	EventApprovalRequested = "change.approval_requested"
	EventApprovalDecided   = "change.approval_decided"
	EventApproved          = "change.approved"
	EventRejected          = "change.rejected"
)

// ApprovalRule says which approvals a change needs in one approval state
// of its model: when its condition holds on the change's facts, the
// change waits for its policy there.
type ApprovalRule struct {
	// Name identifies the rule; steps of the approvals it asks for are
	// named "<rule>/<step>".
	Name string `json:"name"`
	// State is the approval state the rule applies in (a state of a
	// model's ApprovalStates).
	State State `json:"state"`
	// When is the condition on the change's facts (see Facts); the zero
	// Condition always holds.
	When   Condition      `json:"when,omitzero"`
	Policy ApprovalPolicy `json:"policy"`
}

// ApprovalRules are the approval policies of a Service, as data.
type ApprovalRules struct {
	// Rules are tried in order.
	Rules []ApprovalRule `json:"rules"`
	// AllMatches runs every rule whose condition holds, their steps in
	// rule order; otherwise the first one only.
	AllMatches bool `json:"all_matches,omitempty"`
}

// The groups the default rules ask.
const (
	GroupCAB          = "cab"
	GroupEmergencyCAB = "ecab"
)

// DefaultApprovalRules returns ServiceNow's default policies: a normal
// change is approved by a member of its assignment group in Assess, and
// by half of the CAB (group GroupCAB) in Authorize when its risk is
// moderate or higher; an emergency change by a member of the emergency
// CAB (GroupEmergencyCAB) in Authorize. A change no rule applies to in an
// approval state needs no approval there.
func DefaultApprovalRules() ApprovalRules {
	model := func(m string) Condition { return Condition{Field: "model", Op: OpEq, Value: m} }
	return ApprovalRules{Rules: []ApprovalRule{
		{Name: "group", State: StateAssess, When: model(ModelNormal), Policy: ApprovalPolicy{Name: "assignment group",
			Steps: []ApprovalStep{{Name: "group", Field: "assignment_group", WaitFor: WaitFor{Rule: WaitFirst}, OnReject: RejectAtOnce}}}},
		{Name: "cab", State: StateAuthorize,
			When: Condition{All: []Condition{model(ModelNormal), {Field: "risk", Op: OpGte, Value: "moderate"}}},
			Policy: ApprovalPolicy{Name: "change advisory board",
				Steps: []ApprovalStep{{Name: "cab", Groups: []string{GroupCAB}, WaitFor: WaitFor{Rule: WaitPercent, Percent: 50}, OnReject: RejectWaitForRest}}}},
		{Name: "ecab", State: StateAuthorize, When: model(ModelEmergency), Policy: ApprovalPolicy{Name: "emergency change advisory board",
			Steps: []ApprovalStep{{Name: "ecab", Groups: []string{GroupEmergencyCAB}, WaitFor: WaitFor{Rule: WaitFirst}, OnReject: RejectAtOnce}}}},
	}}
}

// Validate returns a *itil.ValidationError naming every bad field
// ("rules[1].policy.steps[0].wait_for.rule", "rules[2].when.field").
func (r ApprovalRules) Validate() error {
	var v itil.ValidationError
	for i, rule := range r.Rules {
		at := "rules[" + strconv.Itoa(i) + "]."
		identifier(&v, at+"name", rule.Name)
		identifier(&v, at+"state", string(rule.State))
		if err := rule.When.Validate(); err != nil {
			nest(&v, at+"when.", err)
		}
		if err := rule.Policy.Validate(); err != nil {
			nest(&v, at+"policy.", err)
		}
		for j := range i {
			if r.Rules[j].Name == rule.Name && !v.Has(at+"name") {
				v.Add(at+"name", "repeats the name of rules["+strconv.Itoa(j)+"]")
			}
		}
	}
	return v.Err()
}

// nest adds err's fields to v under prefix.
func nest(v *itil.ValidationError, prefix string, err error) {
	if ve, ok := err.(*itil.ValidationError); ok {
		for _, f := range ve.Fields {
			v.Add(prefix+f.Field, f.Reason)
		}
		return
	}
	v.Add(prefix[:len(prefix)-1], err.Error())
}

// setRules installs r (valid) with its conditions compiled once.
func (cfg *config) setRules(r ApprovalRules) {
	cfg.rules, cfg.ruleWhen = r, make([]func(*Facts) bool, len(r.Rules))
	for i, rule := range r.Rules {
		when, err := rule.When.Compile()
		if err != nil {
			panic(err) // Validate compiled it
		}
		cfg.ruleWhen[i] = when
	}
}

// Directory resolves approver groups into their members' user IDs (as
// itil.Actor.ID). An unknown group has no members.
type Directory interface {
	Members(ctx context.Context, group string) ([]string, error)
}

// DirectoryMap is a Directory held in memory: group name → members.
type DirectoryMap map[string][]string

// Members returns the group's members.
func (d DirectoryMap) Members(_ context.Context, group string) ([]string, error) {
	return slices.Clone(d[group]), nil
}

// WithDirectory sets where approver groups are resolved (default: no
// group has members, so only steps naming users can be approved).
func WithDirectory(d Directory) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if d == nil {
			v.Add("directory", "must not be nil")
		}
		cfg.directory = d
	}}
}

// WithApprovalRules replaces DefaultApprovalRules. Bad rules are named
// under "approval_rules.".
func WithApprovalRules(r ApprovalRules) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if err := r.Validate(); err != nil {
			nest(v, "approval_rules.", err)
			return
		}
		cfg.setRules(r)
	}}
}

// WithoutSegregationOfDuties lets a change's requester and assignee
// approve it. Segregation of duties is on by default: they are not
// counted, and one person counts once however many of a step's groups
// they belong to. The assignee is the implementer: the change's implement
// task is assigned to them; a change is not reassigned while it waits for
// approvals, nor afterwards to someone who approved it (Assign refuses),
// so whoever implements a change did not approve it.
func WithoutSegregationOfDuties() Option {
	return Option{func(cfg *config, _ *itil.ValidationError) { cfg.noSoD = true }}
}

// ApprovalRound is what a change waits for in its current approval state:
// the policy its matching rules made, the approvers resolved when it was
// asked, and the verdict so far. Rounds are numbered per change; a
// rejection ends one, and a change that comes back starts the next.
type ApprovalRound struct {
	Round   int            `json:"round"`
	State   State          `json:"state"`
	Verdict Verdict        `json:"verdict"`
	Policy  ApprovalPolicy `json:"policy"`
	// Facts are the resolved approvers and the users segregation of
	// duties excludes (the records are stored apart: Approvals).
	Facts ApprovalFacts `json:"facts"`
}

func (r *ApprovalRound) clone() *ApprovalRound {
	if r == nil {
		return nil
	}
	c := *r
	c.Policy.Steps = slices.Clone(r.Policy.Steps)
	for i := range c.Policy.Steps {
		c.Policy.Steps[i].Users = slices.Clone(c.Policy.Steps[i].Users)
		c.Policy.Steps[i].Groups = slices.Clone(c.Policy.Steps[i].Groups)
	}
	c.Facts.Members = cloneMap(r.Facts.Members)
	c.Facts.Fields = cloneMap(r.Facts.Fields)
	c.Facts.Excluded = slices.Clone(r.Facts.Excluded)
	c.Facts.Approvals = nil
	return &c
}

func cloneMap(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

var approvals = storage.NewCollection(storage.Schema[Approval]{
	Kind:    KindApproval,
	ID:      func(a *Approval) itil.ID { return a.ID },
	Version: func(a *Approval) *int64 { return &a.Version },
	SortKey: func(a *Approval) string { return a.ChangeID.String() + "/" + fmt.Sprintf("%06d", a.Round) },
	Terms: func(a *Approval, dst []string) []string {
		return append(dst, storage.Term("approver", a.Approver), storage.Term("change", a.ChangeID.String()),
			storage.Term("round", a.ChangeID.String()+"/"+strconv.Itoa(a.Round)), storage.Term("state", string(a.State)))
	},
	Clone: func(dst, src *Approval) { *dst = *src; dst.Groups = slices.Clone(src.Groups) },
})

var approvalSpec = (&pipeline.Spec[Approval]{
	Collection: approvals,
	Clone:      func(a *Approval) *Approval { c := *a; c.Groups = slices.Clone(a.Groups); return &c },
	Skip:       []string{"version"},
}).Init()

func (s *Service) approvalRunner() pipeline.Runner[Approval] {
	return pipeline.Sibling(s.run, approvalSpec, nil, nil)
}

// approvedBy reports whether user approved ch in any round: as the
// approver, or as the delegate who decided in an approver's name.
func (s *Service) approvedBy(c *cmd, ch *Change, user string) (bool, error) {
	ac := pipeline.Other(c, s.approvalRunner())
	recs, err := ac.Query(storage.Query{Terms: []string{storage.Term("change", ch.ID.String()), storage.Term("state", string(ApprovalApproved))}})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(recs, func(a *Approval) bool {
		return a.Delegate == user || (a.Approver == user && a.Delegate == "")
	}), nil
}

// roundRecords reads the approval records of ch's current round in the
// command's transaction.
func (s *Service) roundRecords(c *cmd, ch *Change) ([]*Approval, error) {
	ac := pipeline.Other(c, s.approvalRunner())
	return ac.Query(storage.Query{Terms: []string{storage.Term("round", ch.ID.String()+"/"+strconv.Itoa(ch.Approval.Round))}})
}

// requestApprovals starts the round of the approval state ch has just
// entered: the rules matching its facts make the policy, groups and
// fields are resolved, and a record is requested of every approver who
// counts. A policy that nobody can approve refuses the move (a
// *itil.ValidationError naming approvals), so that the change does not
// wait for ever. A state no rule applies to is approved at once.
func (s *Service) requestApprovals(c *cmd, ch *Change) error {
	facts, err := s.facts(c, ch) // cmdb.go
	if err != nil {
		return err
	}
	policy := ApprovalPolicy{Name: string(ch.State)}
	for i, rule := range s.cfg.rules.Rules {
		if rule.State != ch.State || !s.cfg.ruleWhen[i](facts) {
			continue
		}
		for _, st := range rule.Policy.Steps {
			st.Name = rule.Name + "/" + st.Name
			policy.Steps = append(policy.Steps, st)
		}
		if !s.cfg.rules.AllMatches {
			break
		}
	}
	ch.ApprovalRounds++
	// A CAB decision settled an earlier round: the new one is decided
	// afresh.
	ch.CABDecision, ch.CABMeetingID = "", itil.NilID
	round := &ApprovalRound{Round: ch.ApprovalRounds, State: ch.State, Policy: policy}
	ch.Approval = round
	if len(policy.Steps) == 0 {
		round.Verdict = VerdictAccepted
		return nil
	}
	f := &round.Facts
	f.Members, f.Fields = map[string][]string{}, map[string][]string{}
	members := func(group string) ([]string, error) {
		if s.cfg.directory == nil || group == "" {
			return nil, nil
		}
		return s.cfg.directory.Members(c.Ctx, group)
	}
	for _, st := range policy.Steps {
		for _, g := range st.Groups {
			if _, ok := f.Members[g]; ok {
				continue
			}
			m, err := members(g)
			if err != nil {
				return fmt.Errorf("members of %s: %w", g, err)
			}
			f.Members[g] = m
		}
		if st.Field != "" {
			if _, ok := f.Fields[st.Field]; ok {
				continue
			}
			var users []string
			switch st.Field {
			case "assignment_group":
				m, err := members(ch.AssignmentGroup)
				if err != nil {
					return fmt.Errorf("members of %s: %w", ch.AssignmentGroup, err)
				}
				users = m
			case "assignee":
				if ch.Assignee != "" {
					users = []string{ch.Assignee}
				}
			case "requested_by":
				users = []string{ch.RequestedBy.ID}
			}
			f.Fields[st.Field] = users
		}
	}
	if !s.cfg.noSoD {
		f.Excluded = slices.DeleteFunc([]string{ch.RequestedBy.ID, ch.Assignee}, func(u string) bool { return u == "" })
	}
	res := policy.Evaluate(*f)
	if res.Verdict == VerdictRefused {
		var v itil.ValidationError
		for _, r := range res.Steps {
			if r.Verdict == VerdictRefused {
				v.Add("approvals", "step "+r.Step+" has nobody who may approve it ("+r.Reason+")")
			}
		}
		return v.Err()
	}
	round.Verdict = res.Verdict
	return s.askNext(c, ch, round, res, nil)
}

// askNext requests the approvers of the first step of round r still
// waiting, unless they were asked already (asked lists the round's
// records): steps are asked in order, each once the ones before it are
// decided. People not asked yet count as pending, so the verdict does not
// change with the asking.
func (s *Service) askNext(c *cmd, ch *Change, r *ApprovalRound, res ApprovalResult, asked []*Approval) error {
	for i, sr := range res.Steps {
		if sr.Verdict != VerdictWaiting {
			continue
		}
		st := r.Policy.Steps[i]
		if slices.ContainsFunc(asked, func(a *Approval) bool { return a.Step == st.Name }) {
			return nil
		}
		ac := pipeline.Other(c, s.approvalRunner())
		for _, a := range stepApprovers(st, &r.Facts) {
			rec := &Approval{ID: itil.NewID(), ChangeID: ch.ID, Round: r.Round, Step: st.Name, Approver: a.user,
				Groups: a.groups, State: ApprovalRequested}
			if err := ac.Save(rec, event{Type: EventApprovalRequested, Summary: "asked " + a.user + " (" + st.Name + ")",
				Refs: []itil.ID{ch.ID}}); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// mayDelegateIn reports whether user's decision as a delegate counts in
// the step named step of round r: user is not excluded by segregation of
// duties and not counted in the step already (one person, one vote).
func mayDelegateIn(r *ApprovalRound, step, user string) bool {
	if slices.Contains(r.Facts.Excluded, user) {
		return false
	}
	for _, st := range r.Policy.Steps {
		if st.Name == step {
			return !slices.ContainsFunc(stepApprovers(st, &r.Facts), func(a stepApprover) bool { return a.user == user })
		}
	}
	return false
}

type stepApprover struct {
	user   string
	groups []string
}

// stepApprovers lists the distinct users a step asks, with the groups
// through which, less the excluded ones.
func stepApprovers(st ApprovalStep, f *ApprovalFacts) []stepApprover {
	var out []stepApprover
	at := map[string]int{}
	add := func(u, group string) {
		if u == "" || slices.Contains(f.Excluded, u) {
			return
		}
		i, ok := at[u]
		if !ok {
			i = len(out)
			at[u] = i
			out = append(out, stepApprover{user: u})
		}
		if group != "" && !slices.Contains(out[i].groups, group) {
			out[i].groups = append(out[i].groups, group)
		}
	}
	for _, u := range st.Users {
		add(u, "")
	}
	for _, g := range st.Groups {
		for _, u := range f.Members[g] {
			add(u, g)
		}
	}
	for _, u := range f.Fields[st.Field] {
		add(u, "")
	}
	return out
}

// Approve records the actor's approval on every step of the change's
// current round that asks them, or asks someone who named them delegate
// for now (see Delegate; the record keeps who decided); Reject their
// rejection, with a comment
// (required). When the policy is then accepted, the change may move on
// (the requests still open are no longer required); when it is refused,
// the change returns to New and the requests still open are canceled.
// An actor of whom nothing is asked gets an error wrapping
// itil.ErrForbidden; a change that waits for no approval one wrapping
// itil.ErrInvalidTransition.
func (s *Service) Approve(ctx context.Context, actor itil.Actor, id itil.ID, comment string) (*Change, error) {
	return s.decide(ctx, actor, id, CommandApprove, ApprovalApproved, comment)
}

// Reject records the actor's rejection: see Approve.
func (s *Service) Reject(ctx context.Context, actor itil.Actor, id itil.ID, comment string) (*Change, error) {
	return s.decide(ctx, actor, id, CommandReject, ApprovalRejected, comment)
}

func (s *Service) decide(ctx context.Context, actor itil.Actor, id itil.ID, command string, to ApprovalState, comment string) (*Change, error) {
	return s.run.Run(ctx, actor, id, command, func(c *cmd, ch *Change) (event, error) {
		var v itil.ValidationError
		check.Text(&v, "comment", comment, to == ApprovalRejected, check.Long)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		r := ch.Approval
		if r == nil || r.State != ch.State || r.Verdict != VerdictWaiting {
			return event{}, itilTransition("change %s waits for no approval", ch.Number)
		}
		recs, err := s.roundRecords(c, ch)
		if err != nil {
			return event{}, err
		}
		ds, err := s.delegationsTo(c, c.Actor.ID) // delegation.go
		if err != nil {
			return event{}, err
		}
		ac := pipeline.Other(c, s.approvalRunner())
		// One person, one vote: as a delegate, the actor decides one
		// request per step (the least approver's), and none in a step
		// where they decided one already.
		voted := map[string]string{} // step -> the approver the actor decides for
		for _, rec := range recs {
			if rec.Delegate == c.Actor.ID && rec.State != ApprovalRequested {
				voted[rec.Step] = ""
			}
		}
		for _, rec := range recs {
			if rec.State != ApprovalRequested || rec.Approver == c.Actor.ID || !MayActFor(c.Actor.ID, rec.Approver, c.Now, ds) ||
				!mayDelegateIn(r, rec.Step, c.Actor.ID) {
				continue
			}
			if cur, ok := voted[rec.Step]; !ok || (cur != "" && rec.Approver < cur) {
				voted[rec.Step] = rec.Approver
			}
		}
		mine := 0
		for _, rec := range recs {
			if rec.State != ApprovalRequested || !MayActFor(c.Actor.ID, rec.Approver, c.Now, ds) {
				continue
			}
			if rec.Approver != c.Actor.ID && (!mayDelegateIn(r, rec.Step, c.Actor.ID) || voted[rec.Step] != rec.Approver) {
				continue // a decision evaluation would not count: leave the request to its approver
			}
			if rec.Approver != c.Actor.ID {
				rec.Delegate = c.Actor.ID
			}
			rec.State, rec.DecidedAt, rec.Comment = to, c.Now, comment
			if err := ac.Save(rec, event{Type: EventApprovalDecided, Summary: string(to) + " (" + rec.Step + ")",
				Reason: comment, Refs: []itil.ID{ch.ID}}); err != nil {
				return event{}, err
			}
			mine++
		}
		if mine == 0 {
			// A record of the round ended with it while the change read
			// still waits: the round ended in a transaction that committed
			// after the change was read and before the records were. Run
			// again, the command sees it ended.
			if slices.ContainsFunc(recs, func(a *Approval) bool {
				return a.State == ApprovalNotRequired || a.State == ApprovalCanceled
			}) {
				return event{}, fmt.Errorf("%w: the approvals of change %s were decided meanwhile", itil.ErrConflict, ch.Number)
			}
			return event{}, fmt.Errorf("%w: no approval of change %s is asked of %s", itil.ErrForbidden, ch.Number, c.Actor.ID)
		}
		return s.evaluateRound(c, ch, recs, to, comment)
	})
}

// evaluateRound evaluates the current round of ch once decisions have been
// recorded on recs (the round's records) and applies the verdict: still
// waiting, the next step is asked; accepted, the requests still open are
// no longer required; refused, the change returns to New and they are
// canceled. It returns the change's event; to and comment are the
// decision's.
func (s *Service) evaluateRound(c *cmd, ch *Change, recs []*Approval, to ApprovalState, comment string) (event, error) {
	r := ch.Approval
	ac := pipeline.Other(c, s.approvalRunner())
	facts := r.Facts
	for _, rec := range recs {
		facts.Approvals = append(facts.Approvals, *rec)
	}
	res := r.Policy.Evaluate(facts)
	if res.Verdict == VerdictWaiting {
		if err := s.askNext(c, ch, r, res, recs); err != nil {
			return event{}, err
		}
		return event{Type: EventApprovalDecided, Summary: string(to) + " by " + c.Actor.ID + "; waiting"}, nil
	}
	r.Verdict = res.Verdict
	left := ApprovalNotRequired
	typ, summary := EventApproved, "approved in "+string(ch.State)
	if res.Verdict == VerdictRefused {
		left, typ, summary = ApprovalCanceled, EventRejected, "rejected in "+string(ch.State)+": back to new"
		if err := s.fire(ch, MoveRevert, nil); err != nil {
			return event{}, err
		}
	}
	for _, rec := range recs {
		if rec.State != ApprovalRequested {
			continue
		}
		rec.State, rec.DecidedAt = left, c.Now
		if err := ac.Save(rec, event{Type: EventApprovalDecided, Summary: string(left) + " (" + rec.Step + ")",
			Refs: []itil.ID{ch.ID}}); err != nil {
			return event{}, err
		}
	}
	return event{Type: typ, Summary: summary, Reason: comment}, nil
}

// leaveApprovalState checks that ch may leave its approval state by move:
// forward only once approved; returning to New or canceling at any time,
// which cancels the requests still open.
func (s *Service) leaveApprovalState(c *cmd, ch *Change, move string, m *compiled) error {
	if !slices.Contains(m.ApprovalStates, ch.State) {
		return nil
	}
	r := ch.Approval
	if move == MoveRevert || move == MoveCancel {
		if r == nil || r.State != ch.State || r.Verdict != VerdictWaiting {
			return nil
		}
		r.Verdict = VerdictRefused
		recs, err := s.roundRecords(c, ch)
		if err != nil {
			return err
		}
		ac := pipeline.Other(c, s.approvalRunner())
		for _, rec := range recs {
			if rec.State == ApprovalRequested {
				rec.State, rec.DecidedAt = ApprovalCanceled, c.Now
				if err := ac.Save(rec, event{Type: EventApprovalDecided, Summary: "canceled (" + rec.Step + ")",
					Refs: []itil.ID{ch.ID}}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if r == nil || r.State != ch.State || r.Verdict != VerdictAccepted {
		return itilTransition("change %s waits for its approvals in %s", ch.Number, ch.State)
	}
	return nil
}

// Approvals returns the approval records of the change id, every round,
// in round order.
func (s *Service) Approvals(ctx context.Context, id itil.ID) ([]*Approval, error) {
	var out []*Approval
	for a, err := range s.approvalRunner().List(ctx, pipeline.Query[Approval]{Terms: []string{storage.Term("change", id.String())}}) {
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
