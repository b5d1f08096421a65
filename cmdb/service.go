package cmdb

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/follow"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Command names, as an Authorizer receives them. Every command is
// authorized on the CIs it concerns, each a copy as loaded (for
// CreateCI, and for CIs an import creates: as it would be created):
// Relate and Unrelate on the parent and on the child; Import on each CI
// it creates or changes and on the other end of each relationship it
// adds; TakeBaseline on every CI the baseline copies. Relationships
// removed in cascade (a CI deleted or retired under the Cascade rule) are
// covered by the command's authorization on that CI.
const (
	CommandCreateCI     = "create_ci"
	CommandUpdateCI     = "update_ci"
	CommandSetState     = "set_state"
	CommandDeleteCI     = "delete_ci"
	CommandRelate       = "relate"
	CommandUnrelate     = "unrelate"
	CommandImport       = "import"
	CommandTakeBaseline = "take_baseline"
)

// RelationshipRule says what retiring or deleting a CI does to its
// relationships.
type RelationshipRule string

// Relationship rules.
const (
	// Block refuses to retire or delete a CI that still has
	// relationships (itil.ErrInvalidTransition); remove them first.
	Block RelationshipRule = "block"
	// Cascade removes the CI's relationships in the same transaction.
	Cascade RelationshipRule = "cascade"
)

type config struct {
	clock     itil.Clock
	classes   *Classes
	relTypes  []RelType
	rule      RelationshipRule
	recon     reconciliation // import reconciliation rules (reconcile.go)
	authorize itil.Authorizer[CI]
}

// Option configures a Service; New reports every bad option together.
type Option struct {
	apply func(*config, *itil.ValidationError)
}

// WithClock sets where the Service reads the time (default: the system
// clock).
func WithClock(c itil.Clock) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		cfg.clock = c
	}}
}

// WithClasses replaces the class tree (default: DefaultClasses()).
func WithClasses(cs *Classes) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if cs == nil {
			v.Add("classes", "must not be nil")
		}
		cfg.classes = cs
	}}
}

// WithRelTypes replaces the relationship types (default:
// DefaultRelTypes()). New checks them against the class tree.
func WithRelTypes(types ...RelType) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if len(types) == 0 {
			v.Add("rel_types", "must list at least one relationship type")
		}
		cfg.relTypes = types
	}}
}

// WithRelationshipRule chooses what retiring or deleting a CI does to its
// relationships (default Block).
func WithRelationshipRule(r RelationshipRule) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if r != Block && r != Cascade {
			v.Add("relationship_rule", fmt.Sprintf("%q is not block or cascade", r))
		}
		cfg.rule = r
	}}
}

// WithAuthorizer installs a check run before every command, on a copy of
// each CI the command concerns (see the Command constants for which).
func WithAuthorizer(a itil.Authorizer[CI]) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if a == nil {
			v.Add("authorizer", "must not be nil")
		}
		cfg.authorize = a
	}}
}

// Service is configuration management on one store. It is safe for
// concurrent use, and several Services (in one process or many) may share
// a store: the impact index each keeps follows the journal, so every
// instance answers from the same committed relationships.
type Service struct {
	cfg   *config
	types *relTypes
	store storage.Store
	ci    pipeline.Runner[CI]
	rel   pipeline.Runner[Relationship]
	base  pipeline.Runner[Baseline]
	// idx is the impact index, shared by the copies In and IfVersion make.
	idx *follow.Index[adjIndex]
}

var cis = storage.NewCollection(storage.Schema[CI]{
	Kind:    KindCI,
	ID:      func(c *CI) itil.ID { return c.ID },
	Version: func(c *CI) *int64 { return &c.Version },
	SortKey: func(c *CI) string { return c.Name },
	Terms: func(c *CI, dst []string) []string {
		dst = append(dst, storage.Term("class", c.Class), storage.Term("state", string(c.State)))
		for _, k := range slices.Sorted(maps.Keys(c.Attributes)) {
			dst = append(dst, attrTerm(k, c.Attributes[k]))
		}
		return dst
	},
	Clone: cloneCI,
})

var ciSpec = (&pipeline.Spec[CI]{
	Collection: cis,
	Clone:      (*CI).clone,
	Touch:      touchCI,
	Skip:       []string{"version", "updated_at"},
}).Init()

// attrTerm is the index term of an attribute value, which identification,
// uniqueness and List's attribute filter look up.
func attrTerm(name, value string) string { return storage.Term("a."+name, value) }

var relationships = storage.NewCollection(storage.Schema[Relationship]{
	Kind:    KindRelationship,
	ID:      func(r *Relationship) itil.ID { return r.ID },
	Version: func(r *Relationship) *int64 { return &r.Version },
	SortKey: func(r *Relationship) string { return r.Type },
	Terms: func(r *Relationship, dst []string) []string {
		return append(dst, endTerm(r.Parent), endTerm(r.Child), storage.Term("type", r.Type))
	},
})

var relSpec = (&pipeline.Spec[Relationship]{
	Collection: relationships,
	Clone:      func(r *Relationship) *Relationship { c := *r; return &c },
	Skip:       []string{"version"},
}).Init()

// endTerm marks a relationship with each of its CIs, so that one batched
// Lookup returns every relationship touching a set of CIs.
func endTerm(id itil.ID) string { return storage.Term("ci", id.String()) }

// relationshipID is derived from the relationship's type and ends, so the
// same relationship is never stored twice, and a journal event names its
// relationship's type and ends by its subject and refs alone (see
// Index.apply).
func relationshipID(typ string, parent, child itil.ID) itil.ID {
	return uuid.NewSHA1(parent, append([]byte(typ+"\x00"), child[:]...))
}

var baselines = storage.NewCollection(storage.Schema[Baseline]{
	Kind:    KindBaseline,
	ID:      func(b *Baseline) itil.ID { return b.ID },
	Version: func(b *Baseline) *int64 { return &b.Version },
	SortKey: func(b *Baseline) string { return storage.TimeKey(b.TakenAt) },
	Terms:   func(b *Baseline, dst []string) []string { return append(dst, storage.Term("name", b.Name)) },
})

var baselineSpec = (&pipeline.Spec[Baseline]{
	Collection: baselines,
	Clone:      cloneBaseline,
	Skip:       []string{"version"},
}).Init()

// New returns a Service on store. Invalid options are reported together in
// a *itil.ValidationError.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := &config{clock: itil.SystemClock(), rule: Block}
	check.Options(&v, opts, func(o Option) bool {
		if o.apply == nil {
			return false
		}
		o.apply(cfg, &v)
		return true
	})
	if err := v.Err(); err != nil {
		return nil, err
	}
	if cfg.classes == nil {
		cfg.classes = DefaultClasses()
	}
	if cfg.relTypes == nil {
		cfg.relTypes = DefaultRelTypes()
	}
	types, err := newRelTypes(cfg.relTypes, cfg.classes)
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg: cfg, types: types, store: store,
		ci:   pipeline.New(ciSpec, store, cfg.clock, cfg.authorize, nil),
		rel:  pipeline.New(relSpec, store, cfg.clock, nil, nil),
		base: pipeline.New(baselineSpec, store, cfg.clock, nil, nil),
		idx:  &follow.Index[adjIndex]{},
	}, nil
}

// In returns the Service's commands and queries bound to the caller's
// transaction: they neither begin nor commit it and never retry, so that
// a flow across processes is all or nothing. Use it only inside the
// function tx was given to. Bound, Import runs every record in tx (a
// rejected record still writes nothing), and Impact and Propagate answer
// from tx's own view of the relationships (as NoIndex does), never from
// the shared index, which holds committed relationships only. A command that fails
// inside tx may have written part of its work there already (a cascade, a
// hook's records): abort the transaction then, by returning the error from
// the function tx was given to, as a database aborts a transaction after a
// failed statement.
func (s *Service) In(tx storage.Tx) *Service {
	c := *s
	c.ci, c.rel, c.base = s.ci.In(tx), s.rel.In(tx), s.base.In(tx)
	return &c
}

// IfVersion returns the Service for one command on a CI (UpdateCI,
// SetState, DeleteCI) that must find the CI at version v ("only if
// unchanged since I read it"): otherwise the command fails with an error
// wrapping itil.ErrStale (an itil.ErrConflict) and is not retried. Other
// commands (Relate, Unrelate, Import, TakeBaseline) check no version;
// through IfVersion they are not retried either. Without it, a command
// that conflicts with a concurrent one is run again on fresh state (its
// rules checked again), at most a few times.
func (s *Service) IfVersion(v int64) *Service {
	c := *s
	c.ci = s.ci.IfVersion(v)
	return &c
}

// Classes returns the Service's class tree.
func (s *Service) Classes() *Classes { return s.cfg.classes }

// RelTypes returns the Service's relationship types.
func (s *Service) RelTypes() []RelType { return slices.Clone(s.types.list) }
