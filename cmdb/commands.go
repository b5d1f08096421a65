package cmdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

type (
	cmd   = pipeline.Cmd[CI]
	event = pipeline.Event
)

// validate checks a CI's fields against the class tree and puts its
// attributes in canonical form.
func (s *Service) validate(c *CI, v *itil.ValidationError) {
	if _, ok := s.cfg.classes.byName[c.Class]; !ok {
		v.Add("class", fmt.Sprintf("class %q does not exist", c.Class))
	} else {
		c.Attributes = s.cfg.classes.validateAttributes(c.Class, c.Attributes, v)
	}
	check.Text(v, "name", c.Name, true, check.Name)
	check.Text(v, "owner", c.Owner, false, check.Name)
	check.Text(v, "support_group", c.SupportGroup, false, check.Name)
	check.Text(v, "source", c.Source, false, check.Name)
	if !c.State.valid() {
		v.Add("state", fmt.Sprintf("%q is not a CI state", c.State))
	}
	if c.Criticality < 0 || c.Criticality > Low {
		v.Add("criticality", "must be 1 (mission critical) to 4 (low), or 0 for none")
	}
}

// checkRefs rejects values of unique attributes another CI of the
// declaring class's subtree already holds, and references to CIs that do
// not exist. Call watch first (see kindClaim).
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

// checkStored validates a CI about to be written inside tx: its fields,
// then (after watching its claims) its references and unique values, all
// into v, so that one error names every bad field.
func (s *Service) checkStored(ctx context.Context, tx storage.Tx, c *CI, v *itil.ValidationError) error {
	s.validate(c, v)
	normalize(c)
	if err := s.watch(ctx, tx, c); err != nil {
		return err
	}
	if err := s.checkRefs(ctx, tx, c, v); err != nil {
		return err
	}
	return v.Err()
}

// CreateCI records a new CI, in state Planned unless in.State says
// otherwise. Invalid input gives a *itil.ValidationError naming every bad
// field, and nothing is written. A creation that loses a race on a claim
// (a concurrent creation or import of a CI with the same identification
// or unique values) is run again by the pipeline's retry rule, and then
// names the clash of a unique attribute; two CIs created by hand may
// share identification values.
func (s *Service) CreateCI(ctx context.Context, actor itil.Actor, in NewCI) (*CI, error) {
	tmpl := &CI{Class: in.Class, Name: in.Name, Attributes: maps.Clone(in.Attributes),
		State: in.State, Criticality: in.Criticality, Owner: in.Owner, SupportGroup: in.SupportGroup,
		LocationID: in.LocationID, Source: in.Source}
	if tmpl.State == "" {
		tmpl.State = Planned
	}
	if tmpl.Source == "" {
		tmpl.Source = SourceManual
	}
	var v itil.ValidationError
	if actor.Validate("actor", &v); v.Err() != nil {
		// Rejected before anything is read, with the input's own
		// problems.
		s.validate(tmpl.clone(), &v)
		return nil, v.Err()
	}
	tmpl.ID = itil.NewID()
	return s.ci.Create(ctx, actor, CommandCreateCI, tmpl, func(c *cmd, ci *CI) (event, error) {
		ci.CreatedAt, ci.UpdatedAt = c.Now, c.Now
		var v itil.ValidationError
		if err := s.checkStored(c.Ctx, c.Tx, ci, &v); err != nil {
			return event{}, err
		}
		for k := range ci.Attributes {
			if ci.AttrSources == nil {
				ci.AttrSources = make(map[string]string, len(ci.Attributes))
			}
			ci.AttrSources[k] = ci.Source
		}
		if err := s.claim(c.Ctx, c.Tx, ci); err != nil {
			return event{}, err
		}
		return event{Type: EventCICreated, Summary: "created " + ci.Class + " " + strconv.Quote(ci.Name)}, nil
	})
}

// UpdateCI changes a CI: as a person's edit, attributes it sets are
// recorded as written by SourceManual. A patch that changes nothing
// writes nothing. It returns an error wrapping itil.ErrNotFound for an
// unknown CI, itil.ErrInvalidTransition for a retired one, or a
// *itil.ValidationError.
func (s *Service) UpdateCI(ctx context.Context, actor itil.Actor, id itil.ID, p Patch) (*CI, error) {
	return s.ci.Run(ctx, actor, id, CommandUpdateCI, func(c *cmd, ci *CI) (event, error) {
		if ci.State == Retired {
			return event{}, fmt.Errorf("%w: CI %s is retired", itil.ErrInvalidTransition, ci.Name)
		}
		var changed []string
		changed = pipeline.Set(changed, "name", &ci.Name, p.Name)
		for _, k := range slices.Sorted(maps.Keys(p.Attributes)) {
			val := p.Attributes[k]
			if val == "" {
				if _, ok := ci.Attributes[k]; ok {
					changed = append(changed, "attributes."+k)
				}
				delete(ci.Attributes, k)
				delete(ci.AttrSources, k)
				continue
			}
			if ci.Attributes == nil {
				ci.Attributes = map[string]string{}
			}
			if ci.Attributes[k] != val {
				changed = append(changed, "attributes."+k)
			}
			ci.Attributes[k] = val
			if ci.AttrSources == nil {
				ci.AttrSources = map[string]string{}
			}
			ci.AttrSources[k] = SourceManual
		}
		changed = pipeline.Set(changed, "criticality", &ci.Criticality, p.Criticality)
		changed = pipeline.Set(changed, "owner", &ci.Owner, p.Owner)
		changed = pipeline.Set(changed, "support_group", &ci.SupportGroup, p.SupportGroup)
		changed = pipeline.Set(changed, "location_id", &ci.LocationID, p.LocationID)
		var v itil.ValidationError
		if err := s.checkStored(c.Ctx, c.Tx, ci, &v); err != nil {
			return event{}, err
		}
		if err := s.claim(c.Ctx, c.Tx, ci); err != nil {
			return event{}, err
		}
		return event{Type: EventCIUpdated, Summary: summarize("updated", changed)}, nil
	})
}

func summarize(verb string, changed []string) string {
	if len(changed) == 0 {
		return verb
	}
	out := verb + " "
	for i, f := range changed {
		if i > 0 {
			out += ", "
		}
		out += f
	}
	return out
}

// SetState moves a CI along its lifecycle (see Lifecycle). Retiring a CI
// with relationships follows the Service's RelationshipRule. A move the
// lifecycle does not allow gives itil.ErrInvalidTransition, an unknown
// state a *itil.ValidationError.
func (s *Service) SetState(ctx context.Context, actor itil.Actor, id itil.ID, to State) (*CI, error) {
	if !to.valid() {
		return nil, itil.Invalid("state", fmt.Sprintf("%q is not a CI state", to))
	}
	return s.ci.Run(ctx, actor, id, CommandSetState, func(c *cmd, ci *CI) (event, error) {
		from := ci.State
		if _, err := canMove(ci, to); err != nil {
			return event{}, err
		}
		if to == Retired {
			if err := s.detach(c, ci, "retire"); err != nil {
				return event{}, err
			}
		}
		if err := move(ci, to); err != nil {
			return event{}, err
		}
		return event{Type: EventCIStateChanged, Summary: string(from) + " → " + string(to)}, nil
	})
}

// DeleteCI removes a CI. Its relationships follow the Service's
// RelationshipRule. The CI's history stays in the journal (see History
// and AsOf).
func (s *Service) DeleteCI(ctx context.Context, actor itil.Actor, id itil.ID) error {
	return s.ci.Delete(ctx, actor, id, CommandDeleteCI, func(c *cmd, ci *CI) (event, error) {
		if err := s.detach(c, ci, "delete"); err != nil {
			return event{}, err
		}
		return event{Type: EventCIDeleted, Summary: "deleted " + ci.Class + " " + strconv.Quote(ci.Name)}, nil
	})
}

// detach applies the relationship rule to a CI being retired or deleted.
func (s *Service) detach(c *cmd, ci *CI, verb string) error {
	rels, err := s.relationsIn(c.Ctx, c.Tx, []itil.ID{ci.ID})
	if err != nil || len(rels) == 0 {
		return err
	}
	if s.cfg.rule == Block {
		return fmt.Errorf("%w: cannot %s CI %s: it has %d relationships (remove them first, or use the cascade rule)",
			itil.ErrInvalidTransition, verb, ci.Name, len(rels))
	}
	rc := pipeline.Other(c, s.rel)
	for _, r := range rels {
		if err := rc.Delete(r, unrelated(r, "removed with CI "+ci.Name+" ("+verb+")")); err != nil {
			if isNotFound(err) {
				// A concurrent Unrelate (or cascade) removed it after the
				// lookup found it: this transaction read stale state, as a
				// conflict at commit would say. The pipeline runs the
				// command again on fresh state.
				return fmt.Errorf("%w: relationship %s of CI %s was removed meanwhile", itil.ErrConflict, r.ID, ci.Name)
			}
			return err
		}
	}
	return nil
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

// related and unrelated are the journal events of a relationship's
// creation and removal: the relationship's own record, its ends in Refs
// (parent first).
func related(r *Relationship, summary string) event {
	return event{Type: EventRelated, Summary: summary, Refs: []itil.ID{r.Parent, r.Child}}
}

func unrelated(r *Relationship, summary string) event {
	return event{Type: EventUnrelated, Summary: summary, Refs: []itil.ID{r.Parent, r.Child}}
}

// Relate links the CI parentID to the CI childID with a relationship of
// the named type ("parent runs on child"). The type must allow the two
// classes, neither CI may be retired, and a CI cannot relate to itself.
// An identical relationship is not stored twice: Relate returns the
// existing one and writes nothing. The command is authorized on both CIs.
func (s *Service) Relate(ctx context.Context, actor itil.Actor, typ string, parentID, childID itil.ID) (*Relationship, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	s.checkLink(&v, "", typ, parentID, childID)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Relationship
	err := s.ci.Do(ctx, actor, func(c *cmd) error {
		var v itil.ValidationError
		p, err := s.end(c, &v, "parent", parentID)
		if err != nil {
			return err
		}
		ch, err := s.end(c, &v, "child", childID)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		for _, end := range []*CI{p, ch} {
			if err := c.Authorize(CommandRelate, end); err != nil {
				return err
			}
		}
		out, err = s.relate(c, typ, p, ch, SourceManual, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkLink checks what a relationship needs before anything is read:
// a known type and two different CIs. field prefixes the names.
func (s *Service) checkLink(v *itil.ValidationError, field, typ string, parent, child itil.ID) {
	if _, ok := s.types.byName[typ]; !ok {
		v.Add(field+"type", fmt.Sprintf("%q is not a relationship type", typ))
	}
	if parent == itil.NilID {
		v.Add(field+"parent", "is required")
	}
	if child == itil.NilID {
		v.Add(field+"child", "is required")
	}
	if parent == child && parent != itil.NilID {
		v.Add(field+"child", "a CI cannot relate to itself")
	}
}

// end loads one end of a relationship, adding a problem named field to v
// when it does not exist.
func (s *Service) end(c *cmd, v *itil.ValidationError, field string, id itil.ID) (*CI, error) {
	ci, err := cis.Get(c.Ctx, c.Tx, id)
	if isNotFound(err) {
		v.Add(field, "CI "+id.String()+" does not exist")
		return nil, nil
	}
	return ci, err
}

// checkRelate checks a relationship of a known type between two CIs: the
// type allows their classes and neither is retired. field prefixes the
// names.
func (s *Service) checkRelate(v *itil.ValidationError, field, typ string, p, c *CI) {
	t := s.types.list[s.types.byName[typ]]
	if !s.types.allows(s.cfg.classes, t, p.Class, c.Class) {
		v.Add(field+"type", fmt.Sprintf("%s does not allow %s (%s) %s %s (%s)", t.Name, p.Name, p.Class, t.ParentLabel, c.Name, c.Class))
	}
	if p.State == Retired {
		v.Add(field+"parent", "CI "+p.Name+" is retired")
	}
	if c.State == Retired {
		v.Add(field+"child", "CI "+c.Name+" is retired")
	}
}

// relate stores a relationship of a known type between two CIs the
// command loaded (and authorized), unless it exists: then it returns the
// existing one. field prefixes the names of validation problems.
func (s *Service) relate(c *cmd, typ string, p, ch *CI, source, field string) (*Relationship, error) {
	var v itil.ValidationError
	s.checkRelate(&v, field, typ, p, ch)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, found, err := s.existing(c, typ, p.ID, ch.ID)
	if err != nil || found {
		return r, err
	}
	r = &Relationship{ID: relationshipID(typ, p.ID, ch.ID), Type: typ, Parent: p.ID, Child: ch.ID, Source: source, CreatedAt: c.Now}
	t := s.types.list[s.types.byName[typ]]
	if err := pipeline.Other(c, s.rel).Save(r, related(r, p.Name+" "+strings.ToLower(t.ParentLabel)+" "+ch.Name)); err != nil {
		return nil, err
	}
	return r, nil
}

// existing returns the stored relationship of the type between the CIs.
func (s *Service) existing(c *cmd, typ string, parent, child itil.ID) (*Relationship, bool, error) {
	r, err := relationships.Get(c.Ctx, c.Tx, relationshipID(typ, parent, child))
	switch {
	case err == nil:
		return r, true, nil
	case isNotFound(err):
		return nil, false, nil
	}
	return nil, false, err
}

// Unrelate removes the relationship relID (Relationship.ID). An unknown
// ID gives an error wrapping itil.ErrNotFound. The command is authorized
// on both CIs.
func (s *Service) Unrelate(ctx context.Context, actor itil.Actor, relID itil.ID) error {
	return s.ci.Do(ctx, actor, func(c *cmd) error {
		rc := pipeline.Other(c, s.rel)
		r, err := rc.Load(relID)
		if err != nil {
			return err
		}
		p, err := cis.Get(c.Ctx, c.Tx, r.Parent)
		if err != nil {
			return err
		}
		ch, err := cis.Get(c.Ctx, c.Tx, r.Child)
		if err != nil {
			return err
		}
		for _, end := range []*CI{p, ch} {
			if err := c.Authorize(CommandUnrelate, end); err != nil {
				return err
			}
		}
		t := r.Type
		if i, ok := s.types.byName[r.Type]; ok {
			t = strings.ToLower(s.types.list[i].ParentLabel)
		}
		return rc.Delete(r, unrelated(r, p.Name+" no longer "+t+" "+ch.Name))
	})
}
