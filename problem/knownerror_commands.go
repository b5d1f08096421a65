package problem

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Command names of known errors, as an Authorizer receives them.
// PublishKnownError is authorized on the problem (the problem Service's
// Authorizer) and on the known error it makes (the known error
// Authorizer), both as CommandPublishKnownError. The known error
// Authorizer receives CommandResolveWithKnownError on the known error that
// Service.ResolveWithKnownError counts an incident on.
const (
	CommandCreateKnownError  = "create_known_error"
	CommandUpdateKnownError  = "update_known_error"
	CommandPublishKnownError = "publish_known_error"
	CommandRetireKnownError  = "retire_known_error"
)

// Journal event types of known errors (kind KindKnownError), and
// EventKnownErrorLinked of the problem PublishKnownError links.
const (
	EventKnownErrorCreated   = "problem.known_error_created"
	EventKnownErrorUpdated   = "problem.known_error_updated"
	EventKnownErrorPublished = "problem.known_error_published"
	EventKnownErrorRevised   = "problem.known_error_revised"
	EventKnownErrorRetired   = "problem.known_error_retired"
	EventKnownErrorCounted   = "problem.known_error_incidents_counted"
	EventKnownErrorLinked    = "problem.known_error_linked"
)

// WithKnownErrorAuthorizer installs a check run before every known error
// command, on a copy of the known error as loaded (for Create and
// PublishKnownError: as it would be created).
func WithKnownErrorAuthorizer(a itil.Authorizer[KnownError]) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("known_error_authorizer", "must not be nil")
		}
		cfg.keAuth = a
	}}
}

// KnownErrors runs the known error commands and queries of a problem
// Service, on its store, clock and (under In) transaction.
type KnownErrors struct {
	problems *Service
	run      pipeline.Runner[KnownError]
}

// KnownErrors returns the Service's known errors.
func (s *Service) KnownErrors() *KnownErrors {
	return &KnownErrors{problems: s, run: pipeline.Sibling(s.run, keSpec, s.cfg.keAuth, nil)}
}

// In returns the known error commands and queries bound to the caller's
// transaction, as Service.In.
func (k *KnownErrors) In(tx storage.Tx) *KnownErrors { return k.problems.In(tx).KnownErrors() }

// IfVersion returns the KnownErrors for one command that must find the
// known error at version v, as Service.IfVersion.
func (k *KnownErrors) IfVersion(v int64) *KnownErrors {
	return &KnownErrors{problems: k.problems, run: k.run.IfVersion(v)}
}

// NewKnownError is the input of KnownErrors.Create.
type NewKnownError struct {
	Title, Symptom, RootCause, Workaround, Solution, ErrorCode string
	Domain                                                     Domain
	Vendor, Model, ModelVersion                                string
	CIs                                                        []KnownErrorCI
	ServiceID                                                  itil.ID
	ValidTo                                                    time.Time
}

// KnownErrorPatch is the input of KnownErrors.Update: nil fields stay as
// they are.
type KnownErrorPatch struct {
	Title, Symptom, RootCause, Workaround, Solution, ErrorCode *string
	Domain                                                     *Domain
	Vendor, Model, ModelVersion                                *string
	// CIs, when not nil, replaces the list (an empty list clears it).
	CIs       *[]KnownErrorCI
	ServiceID *itil.ID
	// ValidTo, when not nil, sets the valid-to date (the zero time clears
	// it).
	ValidTo *time.Time
}

// FromProblem is the input of Service.PublishKnownError: what the problem
// does not say. The rest comes from the problem: its title, its cause
// notes as the root cause, its workaround, its fix notes as the solution,
// its CIs and its service.
type FromProblem struct {
	// Symptom is what users see; the problem's description when empty,
	// else its title.
	Symptom                     string
	ErrorCode                   string
	Domain                      Domain
	Vendor, Model, ModelVersion string
	// CIs, when not empty, replaces the problem's CIs (each otherwise
	// with the reason "named by PRB…").
	CIs     []KnownErrorCI
	ValidTo time.Time
	// Draft leaves the known error a draft, to be published later, instead
	// of publishing it at once.
	Draft bool
}

// Create records a known error written by hand, as a draft, and numbers
// it.
func (k *KnownErrors) Create(ctx context.Context, actor itil.Actor, in NewKnownError) (*KnownError, error) {
	tmpl := &KnownError{
		Title: in.Title, Symptom: in.Symptom, RootCause: in.RootCause, Workaround: in.Workaround,
		Solution: in.Solution, ErrorCode: in.ErrorCode, Domain: in.Domain, Vendor: in.Vendor,
		Model: in.Model, ModelVersion: in.ModelVersion, CIs: cloneCIs(in.CIs), ServiceID: in.ServiceID,
		ValidTo: in.ValidTo, State: KnownErrorDraft, CreatedBy: actor,
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	tmpl.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	tmpl.ID = itil.NewID()
	return k.run.Create(ctx, actor, CommandCreateKnownError, tmpl, func(c *keCmd, ke *KnownError) (event, error) {
		if err := ke.start(c); err != nil {
			return event{}, err
		}
		if err := k.problems.cfg.ke.classify(c.Ctx, c.Tx, ke); err != nil {
			return event{}, err
		}
		return event{Type: EventKnownErrorCreated, Summary: "created draft " + ke.Number + " " + strconv.Quote(ke.Title)}, nil
	})
}

type keCmd = pipeline.Cmd[KnownError]

// start numbers a new known error and sets its creation time.
func (ke *KnownError) start(c *keCmd) error {
	number, err := c.Number(KindKnownError, KnownErrorPrefix)
	if err != nil {
		return err
	}
	ke.Number, ke.CreatedAt = number, c.Now
	if !ke.ValidTo.IsZero() {
		ke.ValidTo = ke.ValidTo.UTC()
	}
	return nil
}

func cloneCIs(cis []KnownErrorCI) []KnownErrorCI {
	if len(cis) == 0 {
		return nil
	}
	return slices.Clone(cis)
}

// PublishKnownError writes the known error of a problem that is not final
// and links it as the problem's known error (KnownErrorID), in one
// transaction: title, cause notes (as root cause), workaround, fix notes
// (as solution), CIs and service come from the problem, the rest from in.
// It is published at once (it needs a workaround or fix notes) unless
// in.Draft. A problem whose known error is not retired gets no second
// one: edit that one (KnownErrors.Update); a retired one is replaced.
func (s *Service) PublishKnownError(ctx context.Context, actor itil.Actor, problemID itil.ID, in FromProblem) (*KnownError, error) {
	var v itil.ValidationError
	check.Text(&v, "symptom", in.Symptom, false, MaxSymptom)
	probe := &KnownError{Title: "-", Symptom: "-", ErrorCode: in.ErrorCode, Domain: in.Domain, Vendor: in.Vendor,
		Model: in.Model, ModelVersion: in.ModelVersion, CIs: in.CIs, ValidTo: in.ValidTo}
	probe.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	kr := s.KnownErrors().run
	var out *KnownError
	_, err := s.run.Run(ctx, actor, problemID, CommandPublishKnownError, func(c *cmd, p *Problem) (event, error) {
		if err := requireActive(p, "publish a known error for"); err != nil {
			return event{}, err
		}
		kc := pipeline.Other(c, kr)
		var replaced string
		if p.KnownErrorID != itil.NilID {
			old, err := kc.Load(p.KnownErrorID)
			if err != nil {
				return event{}, fmt.Errorf("known_error_id: %w", err)
			}
			if old.State != KnownErrorRetired {
				return event{}, fmt.Errorf("%w: problem %s already has known error %s (%s); edit it instead",
					itil.ErrInvalidTransition, p.Number, old.Number, old.State)
			}
			replaced = old.Number
		}
		ke := fromProblem(p, in, c.Actor)
		ke.ID = itil.NewID()
		var v itil.ValidationError
		if ke.State == KnownErrorPublished && check.Blank(ke.Workaround) && check.Blank(ke.Solution) {
			v.Add("workaround", "the problem has neither a workaround nor fix notes: record one (Update) or make a draft")
		}
		ke.validate(&v)
		if err := v.Err(); err != nil {
			return event{}, err
		}
		if err := kc.Authorize(CommandPublishKnownError, ke); err != nil {
			return event{}, err
		}
		if err := ke.start(kc); err != nil {
			return event{}, err
		}
		if err := s.cfg.ke.classify(c.Ctx, c.Tx, ke); err != nil {
			return event{}, err
		}
		summary := "created " + ke.Number + " from " + p.Number
		if ke.State == KnownErrorPublished {
			ke.Revision, ke.PublishedBy, ke.PublishedAt = 1, c.Actor, c.Now
			summary = "published " + ke.Number + " from " + p.Number
		}
		if err := kc.Save(ke, event{Type: EventKnownErrorCreated, Summary: summary, Refs: []itil.ID{p.ID}}); err != nil {
			return event{}, err
		}
		out = ke
		p.KnownErrorID = ke.ID
		linked := "known error " + ke.Number
		if replaced != "" {
			linked += " replaces retired " + replaced
		}
		return event{Type: EventKnownErrorLinked, Summary: linked, Refs: []itil.ID{ke.ID}}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fromProblem fills a known error from a problem and the caller's input.
func fromProblem(p *Problem, in FromProblem, actor itil.Actor) *KnownError {
	ke := &KnownError{
		Title: p.Title, Symptom: in.Symptom, RootCause: p.CauseNotes, Workaround: p.Workaround,
		Solution: p.FixNotes, ErrorCode: in.ErrorCode, Domain: in.Domain, Vendor: in.Vendor,
		Model: in.Model, ModelVersion: in.ModelVersion, CIs: cloneCIs(in.CIs),
		ServiceID: p.ServiceID, ProblemID: p.ID, ValidTo: in.ValidTo,
		State: KnownErrorPublished, CreatedBy: actor,
	}
	if in.Draft {
		ke.State = KnownErrorDraft
	}
	if ke.Symptom == "" {
		ke.Symptom = p.Description
		if check.Blank(ke.Symptom) || utf8.RuneCountInString(ke.Symptom) > MaxSymptom {
			ke.Symptom = p.Title
		}
	}
	if len(in.CIs) == 0 {
		for _, id := range p.CIIDs {
			ke.CIs = append(ke.CIs, KnownErrorCI{CIID: id, Reason: "named by " + p.Number})
		}
	}
	return ke
}

// Update edits a known error that is not retired. A draft just changes;
// a published known error gets a new revision (Revision raised, RevisedBy
// and RevisedAt set) and stays published, so it must keep a workaround or
// a solution. A patch that alters nothing is rejected.
func (k *KnownErrors) Update(ctx context.Context, actor itil.Actor, id itil.ID, patch KnownErrorPatch) (*KnownError, error) {
	return k.run.Run(ctx, actor, id, CommandUpdateKnownError, func(c *keCmd, ke *KnownError) (event, error) {
		if ke.State == KnownErrorRetired {
			return event{}, fmt.Errorf("%w: known error %s is retired", itil.ErrInvalidTransition, ke.Number)
		}
		var changed []string
		changed = pipeline.Set(changed, "title", &ke.Title, patch.Title)
		changed = pipeline.Set(changed, "symptom", &ke.Symptom, patch.Symptom)
		changed = pipeline.Set(changed, "root cause", &ke.RootCause, patch.RootCause)
		changed = pipeline.Set(changed, "workaround", &ke.Workaround, patch.Workaround)
		changed = pipeline.Set(changed, "solution", &ke.Solution, patch.Solution)
		changed = pipeline.Set(changed, "error code", &ke.ErrorCode, patch.ErrorCode)
		changed = pipeline.Set(changed, "domain", &ke.Domain, patch.Domain)
		changed = pipeline.Set(changed, "vendor", &ke.Vendor, patch.Vendor)
		changed = pipeline.Set(changed, "model", &ke.Model, patch.Model)
		changed = pipeline.Set(changed, "model version", &ke.ModelVersion, patch.ModelVersion)
		changed = pipeline.Set(changed, "service", &ke.ServiceID, patch.ServiceID)
		if patch.CIs != nil && !slices.EqualFunc(*patch.CIs, ke.CIs, func(a, b KnownErrorCI) bool { return a.named() == b.named() }) {
			ke.CIs = cloneCIs(*patch.CIs)
			changed = append(changed, "cis")
		}
		if patch.ValidTo != nil && !patch.ValidTo.Equal(ke.ValidTo) {
			ke.ValidTo = time.Time{}
			if !patch.ValidTo.IsZero() {
				ke.ValidTo = patch.ValidTo.UTC()
			}
			changed = append(changed, "valid to")
		}
		var v itil.ValidationError
		ke.validate(&v)
		if len(changed) == 0 {
			v.Add("patch", "nothing differs from the known error as it is")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		// Every edit refreshes the CIs' classification from the CMDB.
		if err := k.problems.cfg.ke.classify(c.Ctx, c.Tx, ke); err != nil {
			return event{}, err
		}
		if ke.State == KnownErrorDraft {
			return event{Type: EventKnownErrorUpdated, Summary: "updated " + strings.Join(changed, ", ")}, nil
		}
		if err := fireKE(ke, evKERevise, nil); err != nil {
			return event{}, err
		}
		ke.Revision++
		ke.RevisedBy, ke.RevisedAt = c.Actor, c.Now
		return event{Type: EventKnownErrorRevised, Summary: "revision " + strconv.Itoa(ke.Revision) + ": " + strings.Join(changed, ", ")}, nil
	})
}

// Publish publishes a draft known error (revision 1): service desk
// agents find it from then on. It needs a workaround or a solution.
func (k *KnownErrors) Publish(ctx context.Context, actor itil.Actor, id itil.ID) (*KnownError, error) {
	return k.run.Run(ctx, actor, id, CommandPublishKnownError, func(c *keCmd, ke *KnownError) (event, error) {
		if err := fireKE(ke, evKEPublish, func() error {
			var v itil.ValidationError
			ke.publishable(&v)
			return v.Err()
		}); err != nil {
			return event{}, err
		}
		if err := k.problems.cfg.ke.classify(c.Ctx, c.Tx, ke); err != nil {
			return event{}, err
		}
		ke.Revision, ke.PublishedBy, ke.PublishedAt = 1, c.Actor, c.Now
		return event{Type: EventKnownErrorPublished, Summary: "published " + ke.Number}, nil
	})
}

// Retire retires a draft or published known error, with a reason: search
// finds it only when asked for retired ones, and it is final.
func (k *KnownErrors) Retire(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*KnownError, error) {
	return k.run.Run(ctx, actor, id, CommandRetireKnownError, func(c *keCmd, ke *KnownError) (event, error) {
		if err := fireKE(ke, evKERetire, func() error { return check.Required("reason", reason) }); err != nil {
			return event{}, err
		}
		ke.RetiredAt, ke.RetiredReason = c.Now, reason
		return event{Type: EventKnownErrorRetired, Summary: "retired " + ke.Number, Reason: reason}, nil
	})
}

// countIncidents counts n more incidents resolved with a known error
// (KnownError.IncidentCount, which search ranks by), as
// CommandResolveWithKnownError. Only Service.ResolveWithKnownError calls
// it, in its transaction: the count is not an application's to set.
func (k *KnownErrors) countIncidents(ctx context.Context, actor itil.Actor, id itil.ID, n int) (*KnownError, error) {
	return k.run.Run(ctx, actor, id, CommandResolveWithKnownError, func(c *keCmd, ke *KnownError) (event, error) {
		if ke.IncidentCount > maxIncidentCount-n {
			return event{}, itil.Invalid("known_error_id", ke.Number+" counts more incidents than a known error can rank")
		}
		ke.IncidentCount += n
		return event{Type: EventKnownErrorCounted, Summary: strconv.Itoa(ke.IncidentCount) + " incidents resolved with it"}, nil
	})
}
