package problem

import (
	"fmt"
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

// KindKnownError is the storage kind and journal kind of known errors.
const KindKnownError = "problem.known_error"

// KnownErrorPrefix starts every known error's reference number
// (KE0001001), numbered per tenant.
const KnownErrorPrefix = "KE"

// Limits of a known error, in characters (it names at most MaxCIs
// configuration items, as a problem does). Symptom and workaround are
// indexed word by word for search, so they are shorter than the other
// long texts: a record's index stays within a few thousand terms.
const (
	MaxSymptom    = 4000
	MaxWorkaround = 8000
)

// KnownErrorState is where a known error is in its lifecycle.
type KnownErrorState string

// The known error states. A draft is being written; a published known
// error is what service desk agents find; a retired one is kept for its
// history and found only when asked for.
const (
	KnownErrorDraft     KnownErrorState = "draft"
	KnownErrorPublished KnownErrorState = "published"
	KnownErrorRetired   KnownErrorState = "retired"
)

var knownErrorStates = []KnownErrorState{KnownErrorDraft, KnownErrorPublished, KnownErrorRetired}

// KnownErrorStates returns every known error state in lifecycle order.
func KnownErrorStates() []KnownErrorState { return slices.Clone(knownErrorStates) }

// Domain is the technical domain of a known error, as iTop names them.
type Domain string

// The domains.
const (
	DomainNetwork     Domain = "network"
	DomainServer      Domain = "server"
	DomainApplication Domain = "application"
	DomainDesktop     Domain = "desktop"
	DomainOther       Domain = "other"
)

var domains = []Domain{DomainNetwork, DomainServer, DomainApplication, DomainDesktop, DomainOther}

// KnownErrorCI is a configuration item a known error concerns, with the
// reason (iTop's "reason" of the link): "runs the faulty firmware".
//
// ClassPath, Vendor and Model are how the CMDB (WithCMDB) classified the
// CI when the known error was last written: its class with its ancestors,
// root first ("hardware/server/linux_server"), and its vendor and model
// (see CIModel). The commands fill them in; what a caller sets there is
// ignored. They are empty without a CMDB and for a CI it does not hold.
type KnownErrorCI struct {
	CIID      itil.ID `json:"ci_id"`
	Reason    string  `json:"reason,omitempty"`
	ClassPath string  `json:"class_path,omitempty"`
	Vendor    string  `json:"vendor,omitempty"`
	Model     string  `json:"model,omitempty"`
}

// Class returns the CI's class as the CMDB recorded it ("" when unknown).
func (c KnownErrorCI) Class() string {
	return c.ClassPath[strings.LastIndexByte(c.ClassPath, '/')+1:]
}

// named is the CI as a caller names it: its ID and reason.
func (c KnownErrorCI) named() KnownErrorCI { return KnownErrorCI{CIID: c.CIID, Reason: c.Reason} }

// KnownError is a problem whose root cause or workaround is documented,
// written for the service desk: iTop's KnownError with ServiceNow's
// known-error article lifecycle. Known errors are created and changed only
// by KnownErrors' commands (and Service.PublishKnownError); the zero value
// is not a valid known error.
//
// Versions: a known error keeps its ID and number for life. Revision is 0
// while it was never published, 1 once published, and each edit of a
// published known error raises it by one; the journal holds the old and
// new value of every field of each revision (History, Revision). So the
// problem's KnownErrorID and every incident that cites a known error
// always lead to its current text, and its past texts stay readable.
type KnownError struct {
	ID      itil.ID `json:"id"`
	Version int64   `json:"version"`
	// Number is the human reference, such as KE0001001.
	Number   string          `json:"number"`
	Revision int             `json:"revision"`
	State    KnownErrorState `json:"state"`

	Title      string `json:"title"`
	Symptom    string `json:"symptom"`
	RootCause  string `json:"root_cause,omitempty"`
	Workaround string `json:"workaround,omitempty"`
	Solution   string `json:"solution,omitempty"`
	ErrorCode  string `json:"error_code,omitempty"`
	Domain     Domain `json:"domain,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	Model      string `json:"model,omitempty"`
	// ModelVersion is the version of the product the error is in (iTop's
	// "version"; Version is the record's).
	ModelVersion string         `json:"model_version,omitempty"`
	CIs          []KnownErrorCI `json:"cis,omitempty"`
	ServiceID    itil.ID        `json:"service_id,omitzero"`
	// ProblemID is the problem the known error came from, NilID when it
	// was written by hand.
	ProblemID itil.ID `json:"problem_id,omitzero"`
	// ValidTo, when set, is when the known error stops being valid:
	// search leaves it out from then on unless asked (IncludeExpired).
	ValidTo time.Time `json:"valid_to,omitzero"`
	// IncidentCount counts the incidents resolved with the known error
	// (Service.ResolveWithKnownError, the only way it rises); search ranks
	// by it. It is a use count, as ServiceNow counts an article's uses: an
	// incident reopened afterwards still counts, and one resolved with it
	// again counts again.
	IncidentCount int `json:"incident_count,omitempty"`

	CreatedBy     itil.Actor `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	PublishedBy   itil.Actor `json:"published_by,omitzero"`
	PublishedAt   time.Time  `json:"published_at,omitzero"`
	RevisedBy     itil.Actor `json:"revised_by,omitzero"`
	RevisedAt     time.Time  `json:"revised_at,omitzero"`
	RetiredAt     time.Time  `json:"retired_at,omitzero"`
	RetiredReason string     `json:"retired_reason,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func copyKnownError(dst, src *KnownError) {
	*dst = *src
	dst.CIs = slices.Clone(src.CIs)
}

func (k *KnownError) clone() *KnownError {
	c := new(KnownError)
	copyKnownError(c, k)
	return c
}

// CIIDs returns the IDs of the known error's configuration items.
func (k *KnownError) CIIDs() []itil.ID {
	out := make([]itil.ID, len(k.CIs))
	for i, c := range k.CIs {
		out[i] = c.CIID
	}
	return out
}

// Expired reports whether the known error is past its valid-to date at t.
func (k *KnownError) Expired(t time.Time) bool { return !k.ValidTo.IsZero() && !t.Before(k.ValidTo) }

// validate checks the fields every known error must satisfy.
func (k *KnownError) validate(v *itil.ValidationError) {
	check.Text(v, "title", k.Title, true, check.Short)
	check.Text(v, "symptom", k.Symptom, true, MaxSymptom)
	check.Text(v, "root_cause", k.RootCause, false, check.Long)
	check.Text(v, "workaround", k.Workaround, false, MaxWorkaround)
	check.Text(v, "solution", k.Solution, false, check.Long)
	check.Text(v, "error_code", k.ErrorCode, false, check.Short)
	check.Text(v, "vendor", k.Vendor, false, check.Short)
	check.Text(v, "model", k.Model, false, check.Short)
	check.Text(v, "model_version", k.ModelVersion, false, check.Short)
	if k.Domain != "" && !slices.Contains(domains, k.Domain) {
		v.Add("domain", fmt.Sprintf("unknown domain %q: one of network, server, application, desktop, other", k.Domain))
	}
	if len(k.CIs) > MaxCIs {
		v.Add("cis", "must list at most "+strconv.Itoa(MaxCIs)+" configuration items")
	}
	for i, c := range k.CIs {
		field := "cis[" + strconv.Itoa(i) + "]"
		if c.CIID == itil.NilID {
			v.Add(field+".ci_id", "must not be the nil ID")
		} else if slices.IndexFunc(k.CIs, func(o KnownErrorCI) bool { return o.CIID == c.CIID }) < i {
			v.Add(field+".ci_id", "lists "+c.CIID.String()+" twice")
		}
		check.Text(v, field+".reason", c.Reason, false, check.Short)
	}
	if !k.ValidTo.IsZero() {
		check.Time(v, "valid_to", k.ValidTo)
	}
	if k.State == KnownErrorPublished {
		k.publishable(v)
	}
}

// publishable: a published known error tells the service desk what to do.
func (k *KnownError) publishable(v *itil.ValidationError) {
	if check.Blank(k.Workaround) && check.Blank(k.Solution) && !v.Has("workaround") && !v.Has("solution") {
		v.Add("workaround", "a workaround or a solution is required to publish the known error")
	}
}

// Known error lifecycle events.
const (
	evKEPublish = "publish"
	evKERevise  = "revise"
	evKERetire  = "retire"
)

// knownErrorLifecycle: draft → published → retired; an edit of a
// published known error (revise) keeps it published under a new revision.
var knownErrorLifecycle = machine.New(KnownErrorDraft, []itil.Transition[KnownErrorState]{
	{Event: evKEPublish, From: []KnownErrorState{KnownErrorDraft}, To: KnownErrorPublished},
	{Event: evKERevise, From: []KnownErrorState{KnownErrorPublished}, To: KnownErrorPublished},
	{Event: evKERetire, From: []KnownErrorState{KnownErrorDraft, KnownErrorPublished}, To: KnownErrorRetired},
})

// KnownErrorLifecycle returns a copy of the known error lifecycle's
// transition table; KnownErrorDiagram draws it.
func KnownErrorLifecycle() []itil.Transition[KnownErrorState] {
	return knownErrorLifecycle.Transitions()
}

// KnownErrorDiagram returns the Mermaid state diagram of
// KnownErrorLifecycle, as committed in knownerror.md.
func KnownErrorDiagram() string { return knownErrorLifecycle.Diagram() }

func fireKE(k *KnownError, event string, guard func() error) error {
	return knownErrorLifecycle.Apply(&k.State, "known error "+k.Number, event, guard)
}

// knownErrors is how known errors are stored. The sort key ranks them as
// search returns them, read in reverse: most incidents resolved with them
// first, then newest.
var knownErrors = storage.NewCollection(storage.Schema[KnownError]{
	Kind:    KindKnownError,
	ID:      func(k *KnownError) itil.ID { return k.ID },
	Version: func(k *KnownError) *int64 { return &k.Version },
	SortKey: rankKey,
	Terms:   keTerms,
	Clone:   copyKnownError,
})

var keSpec = (&pipeline.Spec[KnownError]{
	Collection: knownErrors,
	Clone:      (*KnownError).clone,
	Touch:      func(k *KnownError, now time.Time) { k.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

// maxIncidentCount is the most incidents a known error counts: rankKey
// pads the count to ten digits.
const maxIncidentCount = 9_999_999_999

// rankKey is the incident count, zero-padded, then the creation time.
func rankKey(k *KnownError) string {
	n := strconv.Itoa(max(k.IncidentCount, 0))
	return "0000000000"[min(len(n), 10):] + n + "/" + storage.TimeKey(k.CreatedAt)
}

// keTerms: the known error's words ("w=..."), its folded error code,
// vendor and model, CIs and their classes and models (cmdbTerms),
// service, problem, domain, number and state.
func keTerms(k *KnownError, dst []string) []string {
	start := len(dst)
	for _, c := range k.CIs {
		dst = append(dst, storage.Term("ci", c.CIID.String()))
	}
	if k.ErrorCode != "" {
		dst = append(dst, storage.Term("code", cut(Fold(k.ErrorCode), maxKeyBytes)))
	}
	if k.Domain != "" {
		dst = append(dst, storage.Term("domain", string(k.Domain)))
	}
	if k.Model != "" {
		dst = append(dst, storage.Term("model", cut(Fold(k.Model), maxKeyBytes)))
	}
	dst = append(dst, storage.Term("number", k.Number))
	if k.ProblemID != itil.NilID {
		dst = append(dst, storage.Term("problem", k.ProblemID.String()))
	}
	if k.ServiceID != itil.NilID {
		dst = append(dst, storage.Term("service", k.ServiceID.String()))
	}
	dst = append(dst, storage.Term("state", string(k.State)))
	if k.Vendor != "" {
		dst = append(dst, storage.Term("vendor", cut(Fold(k.Vendor), maxKeyBytes)))
	}
	dst = cmdbTerms(k, dst)
	for _, w := range k.words() {
		dst = append(dst, storage.Term("w", cut(w, MaxWordBytes)))
	}
	slices.Sort(dst[start:])
	// Two long words may share their indexed prefix.
	return dst[:start+len(slices.Compact(dst[start:]))]
}

// words are the distinct folded words of the texts search looks at:
// title, symptom, workaround and error code.
func (k *KnownError) words() []string {
	return Words(k.Title + "\n" + k.Symptom + "\n" + k.Workaround + "\n" + k.ErrorCode)
}
