package change

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// KindTemplate is the storage kind and journal kind of standard change
// templates.
const KindTemplate = "change_template"

// TemplateNumberPrefix starts every template's reference number
// (STDCHG0001001, as ServiceNow numbers standard change proposals). All
// the versions of a template share its number; each version is a record
// of its own, with its own ID.
const TemplateNumberPrefix = "STDCHG"

// MaxTemplateDuration is the longest planned duration a template may fix.
const MaxTemplateDuration = 31 * 24 * time.Hour

// TemplateState is where a standard change template is in its lifecycle.
type TemplateState string

// The template states, ServiceNow's: a proposal waits for change
// management; once approved it is a draft, edited freely; a requested
// template waits to be published (or is rejected back to draft); a
// published template is the one changes are made from; a retired one is
// kept for its history and its usage counts.
const (
	TemplateProposed  TemplateState = "proposed"
	TemplateDraft     TemplateState = "draft"
	TemplateRequested TemplateState = "requested"
	TemplatePublished TemplateState = "published"
	TemplateRetired   TemplateState = "retired"
)

var templateStates = []TemplateState{TemplateProposed, TemplateDraft, TemplateRequested, TemplatePublished, TemplateRetired}

// TemplateStates returns every template state in lifecycle order.
func TemplateStates() []TemplateState { return slices.Clone(templateStates) }

// Template lifecycle events, the names of the transitions in
// TemplateLifecycle.
const (
	templateApprove = "approve"
	templateRequest = "request"
	templatePublish = "publish"
	templateReject  = "reject"
	templateRetire  = "retire"
)

// templateLifecycle: proposed → draft (approved by change management) →
// requested → published → retired; a rejection returns a requested
// template to draft; a template is retired from any state but retired (a
// proposal declined, a draft abandoned, a published template withdrawn or
// superseded by its next version). A next version starts as a draft.
var templateLifecycle = machine.New(TemplateProposed, []itil.Transition[TemplateState]{
	{Event: templateApprove, From: []TemplateState{TemplateProposed}, To: TemplateDraft},
	{Event: templateRequest, From: []TemplateState{TemplateDraft}, To: TemplateRequested},
	{Event: templatePublish, From: []TemplateState{TemplateRequested}, To: TemplatePublished},
	{Event: templateReject, From: []TemplateState{TemplateRequested}, To: TemplateDraft},
	{Event: templateRetire, From: []TemplateState{TemplateProposed, TemplateDraft, TemplateRequested, TemplatePublished}, To: TemplateRetired},
})

// TemplateLifecycle returns a copy of the template lifecycle's table.
func TemplateLifecycle() []itil.Transition[TemplateState] { return templateLifecycle.Transitions() }

// TemplateDiagram returns the Mermaid state diagram of TemplateLifecycle,
// as committed in template.md.
func TemplateDiagram() string { return templateLifecycle.Diagram() }

// TemplateUsage counts the changes made from one version of a template
// and how they ended.
type TemplateUsage struct {
	// Opened counts the changes made from the version (OpenFromTemplate).
	Opened int `json:"opened,omitempty"`
	// Successful, SuccessfulWithIssues and Unsuccessful count those that
	// closed with each close code, Canceled those canceled.
	Successful           int `json:"successful,omitempty"`
	SuccessfulWithIssues int `json:"successful_with_issues,omitempty"`
	Unsuccessful         int `json:"unsuccessful,omitempty"`
	Canceled             int `json:"canceled,omitempty"`
}

// Closed counts the changes that closed, whatever their close code.
func (u TemplateUsage) Closed() int { return u.Successful + u.SuccessfulWithIssues + u.Unsuccessful }

// SuccessRate is the share of closed changes that closed successful
// (with no issues), from 0 to 1, and false when none has closed.
func (u TemplateUsage) SuccessRate() (float64, bool) {
	if u.Closed() == 0 {
		return 0, false
	}
	return float64(u.Successful) / float64(u.Closed()), true
}

// Template is one version of a standard change template: a low-risk,
// well-known change described once, approved once, and then made as
// often as needed, pre-approved (OpenFromTemplate). It fixes the fields
// of the changes made from it: title, description, implementation,
// backout and test plans, assignment group, primary CI, impact and
// planned duration; on such a change they are read-only.
//
// Versions: only a draft is edited. Editing a published template
// (UpdateTemplate) makes a copy, the next version: a new record with its
// own ID, the same Number, Revision one more, PreviousID naming the
// published one (whose NextID names the copy), starting as a draft. The
// published version stays published, and changes are still made from it,
// until the copy is published: that retires it. So changes name the very
// version they were made from (Change.TemplateID is the version's ID,
// Change.TemplateVersion its Revision), and each version counts its own
// usage.
type Template struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	// Number is the reference people use, such as STDCHG0001001, shared by
	// all the versions of the template.
	Number string `json:"number"`
	// Revision is the template's version number: 1 for the first, one
	// more for each next version. (Version is the record's storage
	// version, as on every record.)
	Revision int           `json:"revision"`
	State    TemplateState `json:"state"`

	// Name is the template's name in the catalogue, such as "Restart a
	// web server"; ShortDescription says when to use it.
	Name             string `json:"name"`
	ShortDescription string `json:"short_description,omitempty"`
	// Model is the change model of the changes made from it: ModelStandard,
	// or another of the Service's models with no approval states.
	Model string `json:"model"`

	// The fields a change made from the template gets, read-only.
	Title           string        `json:"title,omitempty"`
	Description     string        `json:"description,omitempty"`
	Implementation  string        `json:"implementation_plan,omitempty"`
	Backout         string        `json:"backout_plan,omitempty"`
	TestPlan        string        `json:"test_plan,omitempty"`
	AssignmentGroup string        `json:"assignment_group,omitempty"`
	CIID            itil.ID       `json:"ci_id,omitzero"`
	Impact          itil.Impact   `json:"impact,omitempty"`
	PlannedDuration time.Duration `json:"planned_duration,omitempty"`

	// PreviousID is the published version this one was copied from
	// (NilID for the first); NextID the latest copy made from this one.
	PreviousID itil.ID `json:"previous_id,omitzero"`
	NextID     itil.ID `json:"next_id,omitzero"`

	// Usage counts the changes made from this version and how they ended.
	Usage TemplateUsage `json:"usage,omitzero"`

	// CreatedBy proposed the template (or, for a next version, made the
	// copy); ApprovedBy approved the proposal, and later versions keep it.
	CreatedBy     itil.Actor `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	ApprovedBy    itil.Actor `json:"approved_by,omitzero"`
	ApprovedAt    time.Time  `json:"approved_at,omitzero"`
	PublishedBy   itil.Actor `json:"published_by,omitzero"`
	PublishedAt   time.Time  `json:"published_at,omitzero"`
	RetiredAt     time.Time  `json:"retired_at,omitzero"`
	RetiredReason string     `json:"retired_reason,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func (t *Template) clone() *Template { c := *t; return &c }

// label names a version in messages: "STDCHG0001001 v2".
func (t *Template) label() string { return t.Number + " v" + strconv.Itoa(t.Revision) }

// change is the change the template describes, as the change Authorizer
// sees a template command's subject: the fixed fields, the model, and
// TemplateID and TemplateVersion naming the version; no ID or number.
func (t *Template) change() *Change {
	return &Change{
		Model: t.Model, State: StateNew, Title: t.Title, Description: t.Description,
		Implementation: t.Implementation, Backout: t.Backout, TestPlan: t.TestPlan,
		AssignmentGroup: t.AssignmentGroup, CIID: t.CIID, Impact: t.Impact,
		TemplateID: t.ID, TemplateVersion: t.Revision,
	}
}

// validate checks the fields every template must satisfy, whatever its
// state; Service.templateModel checks its model against the Service's.
func (t *Template) validate(v *itil.ValidationError) {
	check.Text(v, "name", t.Name, true, check.Short)
	check.Text(v, "short_description", t.ShortDescription, false, check.Long)
	identifier(v, "model", t.Model)
	check.Text(v, "title", t.Title, false, check.Short)
	for _, f := range []struct{ name, s string }{
		{"description", t.Description}, {"implementation_plan", t.Implementation},
		{"backout_plan", t.Backout}, {"test_plan", t.TestPlan},
	} {
		check.Text(v, f.name, f.s, false, check.Long)
	}
	check.Text(v, "assignment_group", t.AssignmentGroup, false, check.Short)
	if t.Impact != 0 {
		itil.DefaultPriorityMatrix().CheckImpact("impact", t.Impact, v)
	}
	if t.PlannedDuration < 0 || t.PlannedDuration > MaxTemplateDuration {
		v.Add("planned_duration", "must be from 0 to "+MaxTemplateDuration.String())
	}
}

// publishable: a template is requested and published only when it says
// enough for a change to be pre-approved on it: a title, implementation
// and backout plans, and a planned duration.
func (t *Template) publishable(v *itil.ValidationError) {
	for _, f := range []struct{ name, s string }{
		{"title", t.Title}, {"implementation_plan", t.Implementation}, {"backout_plan", t.Backout},
	} {
		if check.Blank(f.s) && !v.Has(f.name) {
			v.Add(f.name, "is required to request or publish the template")
		}
	}
	if t.PlannedDuration == 0 && !v.Has("planned_duration") {
		v.Add("planned_duration", "is required to request or publish the template")
	}
}

// templateModel checks that model is one of the Service's models with no
// approval states: a change made from a template is pre-approved.
func (s *Service) templateModel(v *itil.ValidationError, model string) {
	if v.Has("model") {
		return
	}
	m, ok := s.cfg.models[model]
	switch {
	case !ok:
		v.Add("model", fmt.Sprintf("%q is not one of the Service's models (%v)", model, s.Models()))
	case len(m.ApprovalStates) > 0:
		v.Add("model", fmt.Sprintf("%s waits for approvals (in %v); a template's changes are pre-approved, so its model must have no approval states", model, m.ApprovalStates))
	}
}

// templates is how templates are stored, in creation order.
var templates = storage.NewCollection(storage.Schema[Template]{
	Kind:    KindTemplate,
	ID:      func(t *Template) itil.ID { return t.ID },
	Version: func(t *Template) *int64 { return &t.Version },
	SortKey: func(t *Template) string { return storage.TimeKey(t.CreatedAt) },
	Terms:   templateTerms,
	Clone:   func(dst, src *Template) { *dst = *src },
})

var templateSpec = (&pipeline.Spec[Template]{
	Collection: templates,
	Clone:      (*Template).clone,
	Touch:      func(t *Template, now time.Time) { t.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

// foldName is a template name as the index holds it: lower case (one rune
// for one rune, so a checked name stays within a term).
func foldName(s string) string { return strings.ToLower(s) }

// templateTerms: group, model, name (folded), number and state, sorted.
func templateTerms(t *Template, dst []string) []string {
	start := len(dst)
	if t.AssignmentGroup != "" {
		dst = append(dst, storage.Term("group", t.AssignmentGroup))
	}
	dst = append(dst, storage.Term("model", t.Model), storage.Term("name", foldName(t.Name)),
		storage.Term("number", t.Number), storage.Term("state", string(t.State)))
	slices.Sort(dst[start:])
	return dst
}

// templateRunner runs template commands on the Service's store, clock and
// bound transaction. The change Authorizer, which sees changes, is asked
// about each template command on the change the template describes (see
// Template.change and the template Command constants).
func (s *Service) templateRunner() pipeline.Runner[Template] {
	var auth itil.Authorizer[Template]
	if a := s.cfg.authorize; a != nil {
		auth = func(ctx context.Context, actor itil.Actor, command string, t *Template) error {
			return a(ctx, actor, command, t.change())
		}
	}
	return pipeline.Sibling(s.run, templateSpec, auth, nil)
}

// GetTemplate returns the template version with the given ID, or an error
// wrapping itil.ErrNotFound.
func (s *Service) GetTemplate(ctx context.Context, id itil.ID) (*Template, error) {
	return s.templateRunner().Get(ctx, id)
}

// TemplateFilter selects templates for Templates. Empty fields do not
// filter; a list matches any of its values, and the fields together must
// all match.
type TemplateFilter struct {
	States []TemplateState
	// Names keeps the templates with any of these names, case aside.
	Names []string
	// Numbers keeps the versions of these templates (STDCHG0001001).
	Numbers []string
	Models  []string
}

// Templates returns every template version matching f, in creation order
// (a template's versions in revision order). A bad filter is yielded as a
// *itil.ValidationError. To find the version changes are made from now,
// ask for TemplatePublished: a template has at most one published
// version.
func (s *Service) Templates(ctx context.Context, f TemplateFilter) iter.Seq2[*Template, error] {
	b := pipeline.NewFilter[Template](false)
	pipeline.States(b, templateStates, f.States)
	names := make([]string, len(f.Names))
	for i, n := range f.Names {
		names[i] = foldName(n)
	}
	b.Texts("names", "name", names)
	b.Texts("numbers", "number", f.Numbers)
	b.Texts("models", "model", f.Models)
	q, err := b.Query()
	return s.templateRunner().ListQuery(ctx, q, err)
}

// TemplateHistory returns the journal of a template version, oldest
// first, with the old and new value of every field each event changed,
// and the events of the changes made from it (which name it in their
// Refs). An unknown template gives an error wrapping itil.ErrNotFound.
func (s *Service) TemplateHistory(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return s.templateRunner().History(ctx, id)
}
