package cmdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Record kinds and journal event types.
const (
	KindCI           = "cmdb.ci"
	KindRelationship = "cmdb.relationship"

	EventCICreated   = "cmdb.ci_created"
	EventCIUpdated   = "cmdb.ci_updated"
	EventCIDeleted   = "cmdb.ci_deleted"
	EventRelated     = "cmdb.related"
	EventUnrelated   = "cmdb.unrelated"
	maxNameLen       = 256
	maxAttributeName = 64
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
	clock    itil.Clock
	classes  *Classes
	relTypes []RelType
	rule     RelationshipRule
	recon    reconciliation // import reconciliation rules (reconcile.go)
}

// Option configures a Service.
type Option func(*config, *itil.ValidationError)

// WithClock sets where the Service reads the time.
func WithClock(c itil.Clock) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("clock", "must not be nil")
		}
		cfg.clock = c
	}
}

// WithClasses replaces the class tree (default: DefaultClasses()).
func WithClasses(cs *Classes) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if cs == nil {
			v.Add("classes", "must not be nil")
		}
		cfg.classes = cs
	}
}

// WithRelTypes replaces the relationship types (default:
// DefaultRelTypes()).
func WithRelTypes(types ...RelType) Option {
	return func(cfg *config, v *itil.ValidationError) { cfg.relTypes = types }
}

// WithRelationshipRule chooses what retiring or deleting a CI does to its
// relationships (default Block).
func WithRelationshipRule(r RelationshipRule) Option {
	return func(cfg *config, v *itil.ValidationError) {
		if r != Block && r != Cascade {
			v.Add("relationship_rule", fmt.Sprintf("%q is not block or cascade", r))
		}
		cfg.rule = r
	}
}

// Service is configuration management on one store. It is safe for
// concurrent use.
type Service struct {
	store storage.Store
	cfg   config
	types *relTypes

	mu  sync.Mutex
	idx *Index // the impact fast path, built on first use
}

var cis = storage.NewCollection(storage.Schema[CI]{
	Kind:    KindCI,
	ID:      func(c *CI) itil.ID { return c.ID },
	Version: func(c *CI) *int64 { return &c.Version },
	SortKey: func(c *CI) string { return c.Name },
	Terms: func(c *CI, dst []string) []string {
		dst = append(dst, storage.Term("class", c.Class), storage.Term("status", string(c.Status)))
		for _, k := range slices.Sorted(maps.Keys(c.Attributes)) {
			dst = append(dst, attrTerm(k, c.Attributes[k]))
		}
		return dst
	},
	Clone: cloneCI,
})

// attrTerm is the index term of an attribute value, which identification
// and uniqueness look up.
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

// endTerm marks a relationship with each of its CIs, so that one batched
// Lookup returns every relationship touching a set of CIs.
func endTerm(id itil.ID) string { return storage.Term("ci", id.String()) }

// relationshipID is derived from the relationship's type and ends, so the
// same relationship is never stored twice.
func relationshipID(typ string, parent, child itil.ID) itil.ID {
	return uuid.NewSHA1(parent, append([]byte(typ+"\x00"), child[:]...))
}

// New returns a Service on store. Invalid options give a
// *itil.ValidationError.
func New(store storage.Store, opts ...Option) (*Service, error) {
	var v itil.ValidationError
	if store == nil {
		v.Add("store", "must not be nil")
	}
	cfg := config{clock: itil.SystemClock(), rule: Block}
	for i, o := range opts {
		if o == nil {
			v.Add("options["+strconv.Itoa(i)+"]", "must not be nil")
			continue
		}
		o(&cfg, &v)
	}
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
	return &Service{store: store, cfg: cfg, types: types}, nil
}

// Classes returns the Service's class tree.
func (s *Service) Classes() *Classes { return s.cfg.classes }

// RelTypes returns the Service's relationship types.
func (s *Service) RelTypes() []RelType { return slices.Clone(s.types.list) }

func (s *Service) now() time.Time { return s.cfg.clock.Now().UTC() }

// NewCI is the input of CreateCI.
type NewCI struct {
	Class        string
	Name         string
	Attributes   map[string]string
	Status       Status // default Planned
	Criticality  Criticality
	Owner        string
	SupportGroup string
	LocationID   itil.ID
	Source       string // default "manual"
}

func checkText(v *itil.ValidationError, field, s string, required bool) {
	switch {
	case required && s == "":
		v.Add(field, "is required")
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case len(s) > maxNameLen:
		v.Add(field, fmt.Sprintf("must be at most %d bytes", maxNameLen))
	}
}

// validate checks a CI's fields against the class tree and puts its
// attributes in canonical form.
func (s *Service) validate(c *CI, v *itil.ValidationError) {
	if _, ok := s.cfg.classes.byName[c.Class]; !ok {
		v.Add("class", fmt.Sprintf("class %q does not exist", c.Class))
	} else {
		c.Attributes = s.cfg.classes.validateAttributes(c.Class, c.Attributes, v)
	}
	checkText(v, "name", c.Name, true)
	checkText(v, "owner", c.Owner, false)
	checkText(v, "support_group", c.SupportGroup, false)
	checkText(v, "source", c.Source, false)
	switch c.Status {
	case Planned, InBuild, Operational, UnderMaintenance, Retired:
	default:
		v.Add("status", fmt.Sprintf("%q is not a CI status", c.Status))
	}
	if c.Criticality < 0 || c.Criticality > Low {
		v.Add("criticality", "must be 1 (mission critical) to 4 (low), or 0 for none")
	}
}

// checkUnique rejects values of unique attributes another CI of the
// declaring class's subtree already holds, and references to CIs that do
// not exist.
func (s *Service) checkRefs(ctx context.Context, tx storage.Tx, c *CI, v *itil.ValidationError) error {
	for _, name := range slices.Sorted(maps.Keys(c.Attributes)) {
		a, owner, _ := s.cfg.classes.attribute(c.Class, name)
		val := c.Attributes[name]
		if a.Type == Reference {
			id, _ := itil.ParseID(val)
			if _, err := tx.Get(ctx, KindCI, id); errors.Is(err, itil.ErrNotFound) {
				v.Add("attributes."+name, "refers to a CI that does not exist")
			} else if err != nil {
				return err
			}
		}
		if !a.Unique {
			continue
		}
		for rec, err := range tx.Lookup(ctx, KindCI, []string{attrTerm(name, val)}) {
			if err != nil {
				return err
			}
			if rec.ID == c.ID {
				continue
			}
			other, err := cis.Get(ctx, tx, rec.ID)
			if err != nil {
				return err
			}
			if s.cfg.classes.IsA(other.Class, owner) {
				v.Add("attributes."+name, fmt.Sprintf("%q is already held by CI %s (%s)", val, other.Name, other.ID))
			}
		}
	}
	if c.LocationID != itil.NilID {
		loc, err := cis.Get(ctx, tx, c.LocationID)
		switch {
		case errors.Is(err, itil.ErrNotFound):
			v.Add("location_id", "refers to a CI that does not exist")
		case err != nil:
			return err
		case !s.cfg.classes.IsA(loc.Class, ClassLocation):
			v.Add("location_id", fmt.Sprintf("refers to a %s, not a location", loc.Class))
		}
	}
	return nil
}

// CreateCI records a new CI. Invalid input gives a *itil.ValidationError
// naming every bad field, and nothing is written.
func (s *Service) CreateCI(ctx context.Context, actor itil.Actor, in NewCI) (*CI, error) {
	c := &CI{ID: itil.NewID(), Class: in.Class, Name: in.Name, Attributes: maps.Clone(in.Attributes),
		Status: in.Status, Criticality: in.Criticality, Owner: in.Owner, SupportGroup: in.SupportGroup,
		LocationID: in.LocationID, Source: in.Source}
	if c.Status == "" {
		c.Status = Planned
	}
	if c.Source == "" {
		c.Source = "manual"
	}
	var out *CI
	// A conflict on a claim means another CI took one of this one's keys
	// meanwhile: running again sees it (and names the clash of a unique
	// attribute); two CIs may share identification values when created
	// by hand.
	for attempt := 1; ; attempt++ {
		err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			x := *c
			x.Attributes = maps.Clone(c.Attributes)
			created, err := s.create(ctx, tx, actor, &x)
			out = created
			return err
		})
		if errors.Is(err, itil.ErrConflict) && attempt < 3 && ctx.Err() == nil {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// create validates and stores a new CI inside tx.
func (s *Service) create(ctx context.Context, tx storage.Tx, actor itil.Actor, c *CI) (*CI, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	s.validate(c, &v)
	// References and uniqueness are checked too, so that one error names
	// every bad field.
	if err := s.watch(ctx, tx, c); err != nil {
		return nil, err
	}
	if err := s.checkRefs(ctx, tx, c, &v); err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	c.CreatedAt, c.UpdatedAt = now, now
	if c.AttrSources == nil && len(c.Attributes) > 0 {
		c.AttrSources = make(map[string]string, len(c.Attributes))
		for k := range c.Attributes {
			c.AttrSources[k] = c.Source
		}
	}
	if err := s.saveCI(ctx, tx, actor, c, EventCICreated, now); err != nil {
		return nil, err
	}
	return c, nil
}

// saveCI stores a CI and journals it whole, so AsOf can read it back.
func (s *Service) saveCI(ctx context.Context, tx storage.Tx, actor itil.Actor, c *CI, typ string, now time.Time) error {
	c.UpdatedAt = now
	if len(c.AttrSources) == 0 {
		c.AttrSources = nil // as JSON gives it back
	}
	if err := s.claim(ctx, tx, c); err != nil {
		return err
	}
	if err := cis.Put(ctx, tx, c); err != nil {
		return err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Append(ctx, itil.Event{Kind: KindCI, SubjectID: c.ID, SubjectVersion: c.Version,
		Actor: actor, Time: now, Type: typ, Payload: payload})
}

// Changes is the input of UpdateCI: nil fields stay as they are. In
// Attributes, a value sets the attribute and an empty string removes it.
type Changes struct {
	Name         *string
	Attributes   map[string]string
	Criticality  *Criticality
	Owner        *string
	SupportGroup *string
	LocationID   *itil.ID
}

// UpdateCI changes a CI. It returns an error wrapping itil.ErrNotFound for
// an unknown CI, itil.ErrInvalidTransition for a retired one, or a
// *itil.ValidationError.
func (s *Service) UpdateCI(ctx context.Context, actor itil.Actor, id itil.ID, ch Changes) (*CI, error) {
	return s.mutate(ctx, actor, id, func(ctx context.Context, tx storage.Tx, c *CI) (string, error) {
		if c.Status == Retired {
			return "", fmt.Errorf("%w: CI %s is retired", itil.ErrInvalidTransition, c.Name)
		}
		if ch.Name != nil {
			c.Name = *ch.Name
		}
		for k, val := range ch.Attributes {
			if val == "" {
				delete(c.Attributes, k)
				delete(c.AttrSources, k)
				continue
			}
			if c.Attributes == nil {
				c.Attributes = map[string]string{}
			}
			c.Attributes[k] = val
			if c.AttrSources == nil {
				c.AttrSources = map[string]string{}
			}
			c.AttrSources[k] = "manual"
		}
		if ch.Criticality != nil {
			c.Criticality = *ch.Criticality
		}
		if ch.Owner != nil {
			c.Owner = *ch.Owner
		}
		if ch.SupportGroup != nil {
			c.SupportGroup = *ch.SupportGroup
		}
		if ch.LocationID != nil {
			c.LocationID = *ch.LocationID
		}
		return EventCIUpdated, nil
	})
}

// mutate loads a CI, applies fn, validates and saves it in one
// transaction.
func (s *Service) mutate(ctx context.Context, actor itil.Actor, id itil.ID, fn func(context.Context, storage.Tx, *CI) (string, error)) (*CI, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *CI
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		c, err := cis.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		typ, err := fn(ctx, tx, c)
		if err != nil {
			return err
		}
		var v itil.ValidationError
		s.validate(c, &v)
		if err := s.watch(ctx, tx, c); err != nil {
			return err
		}
		if err := s.checkRefs(ctx, tx, c, &v); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := s.saveCI(ctx, tx, actor, c, typ, s.now()); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetStatus moves a CI along its lifecycle (see Lifecycle). Retiring a CI
// with relationships follows the Service's RelationshipRule. A move the
// lifecycle does not allow gives itil.ErrInvalidTransition.
func (s *Service) SetStatus(ctx context.Context, actor itil.Actor, id itil.ID, to Status) (*CI, error) {
	var removed []*Relationship
	out, err := s.mutate(ctx, actor, id, func(ctx context.Context, tx storage.Tx, c *CI) (string, error) {
		removed = nil
		if !canMove(c.Status, to) {
			return "", fmt.Errorf("%w: CI %s cannot move from %s to %s", itil.ErrInvalidTransition, c.Name, c.Status, to)
		}
		if to == Retired {
			var err error
			if removed, err = s.detach(ctx, tx, actor, c, "retire"); err != nil {
				return "", err
			}
		}
		c.Status = to
		return EventCIUpdated, nil
	})
	if err == nil {
		s.indexRemove(removed...)
	}
	return out, err
}

// DeleteCI removes a CI. Its relationships follow the Service's
// RelationshipRule. The CI's history stays in the journal.
func (s *Service) DeleteCI(ctx context.Context, actor itil.Actor, id itil.ID) error {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return err
	}
	var removed []*Relationship
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		removed = nil
		c, err := cis.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		if removed, err = s.detach(ctx, tx, actor, c, "delete"); err != nil {
			return err
		}
		if err := cis.Delete(ctx, tx, c); err != nil {
			return err
		}
		now := s.now()
		payload, _ := json.Marshal(c)
		return tx.Append(ctx, itil.Event{Kind: KindCI, SubjectID: c.ID, SubjectVersion: c.Version + 1,
			Actor: actor, Time: now, Type: EventCIDeleted, Payload: payload})
	})
	if err == nil {
		s.indexRemove(removed...)
		s.indexForget(id)
	}
	return err
}

// detach applies the relationship rule to a CI being retired or deleted.
func (s *Service) detach(ctx context.Context, tx storage.Tx, actor itil.Actor, c *CI, verb string) ([]*Relationship, error) {
	rels, err := s.relationsIn(ctx, tx, []itil.ID{c.ID})
	if err != nil || len(rels) == 0 {
		return nil, err
	}
	if s.cfg.rule == Block {
		return nil, fmt.Errorf("%w: cannot %s CI %s: it has %d relationships (remove them first, or use the cascade rule)",
			itil.ErrInvalidTransition, verb, c.Name, len(rels))
	}
	for _, r := range rels {
		if err := s.unrelate(ctx, tx, actor, r); err != nil {
			return nil, err
		}
	}
	return rels, nil
}

// relationsIn returns every relationship touching any of the CIs, with one
// batched lookup.
func (s *Service) relationsIn(ctx context.Context, tx storage.Tx, ids []itil.ID) ([]*Relationship, error) {
	terms := make([]string, len(ids))
	for i, id := range ids {
		terms[i] = endTerm(id)
	}
	var out []*Relationship
	for r, err := range relationships.Lookup(ctx, tx, terms) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Relate links parent to child with a relationship of the named type. The
// type must allow the two classes, neither CI may be retired, and a CI
// cannot relate to itself. An identical relationship is not stored twice:
// Relate returns the existing one.
func (s *Service) Relate(ctx context.Context, actor itil.Actor, typ string, parent, child itil.ID) (*Relationship, error) {
	var out *Relationship
	created := false
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, created, err = s.relate(ctx, tx, actor, typ, parent, child, "manual")
		return err
	})
	if err != nil {
		return nil, err
	}
	if created {
		s.indexAdd(out)
	}
	return out, nil
}

func (s *Service) relate(ctx context.Context, tx storage.Tx, actor itil.Actor, typ string, parent, child itil.ID, source string) (*Relationship, bool, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	ti, ok := s.types.byName[typ]
	if !ok {
		v.Add("type", fmt.Sprintf("%q is not a relationship type", typ))
	}
	if parent == child {
		v.Add("child", "a CI cannot relate to itself")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	p, err := cis.Get(ctx, tx, parent)
	if errors.Is(err, itil.ErrNotFound) {
		v.Add("parent", "CI "+parent.String()+" does not exist")
	} else if err != nil {
		return nil, false, err
	}
	c, err := cis.Get(ctx, tx, child)
	if errors.Is(err, itil.ErrNotFound) {
		v.Add("child", "CI "+child.String()+" does not exist")
	} else if err != nil {
		return nil, false, err
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	t := s.types.list[ti]
	if !s.types.allows(s.cfg.classes, t, p.Class, c.Class) {
		v.Add("type", fmt.Sprintf("%s does not allow %s (%s) %s %s (%s)", t.Name, p.Name, p.Class, t.ParentLabel, c.Name, c.Class))
	}
	if p.Status == Retired {
		v.Add("parent", "CI "+p.Name+" is retired")
	}
	if c.Status == Retired {
		v.Add("child", "CI "+c.Name+" is retired")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	id := relationshipID(typ, parent, child)
	if existing, err := relationships.Get(ctx, tx, id); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, itil.ErrNotFound) {
		return nil, false, err
	}
	now := s.now()
	r := &Relationship{ID: id, Type: typ, Parent: parent, Child: child, Source: source, CreatedAt: now}
	if err := relationships.Put(ctx, tx, r); err != nil {
		return nil, false, err
	}
	payload, _ := json.Marshal(r)
	for _, end := range []itil.ID{parent, child} {
		// Journaled under both CIs, so each one's history shows it.
		if err := tx.Append(ctx, itil.Event{Kind: KindRelationship, SubjectID: end, SubjectVersion: r.Version,
			Actor: actor, Time: now, Type: EventRelated, Payload: payload}); err != nil {
			return nil, false, err
		}
	}
	return r, true, nil
}

// Unrelate removes a relationship. An unknown ID gives an error wrapping
// itil.ErrNotFound.
func (s *Service) Unrelate(ctx context.Context, actor itil.Actor, id itil.ID) error {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	if err := v.Err(); err != nil {
		return err
	}
	var r *Relationship
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		if r, err = relationships.Get(ctx, tx, id); err != nil {
			return err
		}
		return s.unrelate(ctx, tx, actor, r)
	})
	if err == nil {
		s.indexRemove(r)
	}
	return err
}

func (s *Service) unrelate(ctx context.Context, tx storage.Tx, actor itil.Actor, r *Relationship) error {
	if err := relationships.Delete(ctx, tx, r); err != nil {
		return err
	}
	now := s.now()
	payload, _ := json.Marshal(r)
	for _, end := range []itil.ID{r.Parent, r.Child} {
		if err := tx.Append(ctx, itil.Event{Kind: KindRelationship, SubjectID: end, SubjectVersion: r.Version + 1,
			Actor: actor, Time: now, Type: EventUnrelated, Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

// Get returns a CI, or an error wrapping itil.ErrNotFound.
func (s *Service) Get(ctx context.Context, id itil.ID) (*CI, error) {
	var out *CI
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		c, err := cis.Get(ctx, tx, id)
		out = c
		return err
	})
	return out, err
}

// Relationships returns every relationship of a CI (as parent or child).
func (s *Service) Relationships(ctx context.Context, id itil.ID) ([]*Relationship, error) {
	var out []*Relationship
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		out, err = s.relationsIn(ctx, tx, []itil.ID{id})
		return err
	})
	return out, err
}

// Change is one entry of a CI's history: the CI as it was after a change,
// or a relationship added or removed.
type Change struct {
	Time         time.Time     `json:"time"`
	Actor        itil.Actor    `json:"actor"`
	Type         string        `json:"type"`
	CI           *CI           `json:"ci,omitempty"`
	Relationship *Relationship `json:"relationship,omitempty"`
}

// History returns every change of a CI and its relationships, oldest
// first.
func (s *Service) History(ctx context.Context, id itil.ID) ([]Change, error) {
	var out []Change
	err := s.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: id}) {
			if err != nil {
				return err
			}
			ch := Change{Time: ev.Time, Actor: ev.Actor, Type: ev.Type}
			switch ev.Kind {
			case KindCI:
				ch.CI = new(CI)
				if err := json.Unmarshal(ev.Payload, ch.CI); err != nil {
					return fmt.Errorf("cmdb: CI %s event %d: %w", id, ev.Seq, err)
				}
			case KindRelationship:
				ch.Relationship = new(Relationship)
				if err := json.Unmarshal(ev.Payload, ch.Relationship); err != nil {
					return fmt.Errorf("cmdb: CI %s event %d: %w", id, ev.Seq, err)
				}
			default:
				continue
			}
			out = append(out, ch)
		}
		return nil
	})
	return out, err
}

// AsOf returns the CI as it was at t: the state after its last change at
// or before t. It returns an error wrapping itil.ErrNotFound when the CI
// did not exist then (not yet created, or already deleted).
func (s *Service) AsOf(ctx context.Context, id itil.ID, t time.Time) (*CI, error) {
	hist, err := s.History(ctx, id)
	if err != nil {
		return nil, err
	}
	var out *CI
	for _, ch := range hist {
		if ch.Time.After(t) {
			break
		}
		switch ch.Type {
		case EventCICreated, EventCIUpdated:
			out = ch.CI
		case EventCIDeleted:
			out = nil
		}
	}
	if out == nil {
		return nil, fmt.Errorf("%w: CI %s did not exist at %s", itil.ErrNotFound, id, t.Format(time.RFC3339))
	}
	return out, nil
}
