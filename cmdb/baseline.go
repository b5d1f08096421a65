package cmdb

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Scope selects the CIs a baseline covers: the listed CIs and every CI of
// the listed classes (with their subclasses). Relationships between two
// CIs of the scope are covered too.
type Scope struct {
	IDs     []itil.ID `json:"ids,omitempty"`
	Classes []string  `json:"classes,omitempty"`
}

// Baseline is a named snapshot of a set of CIs and their relationships.
type Baseline struct {
	ID            itil.ID        `json:"id"`
	Version       int64          `json:"version"`
	Name          string         `json:"name"`
	Scope         Scope          `json:"scope"`
	TakenAt       time.Time      `json:"taken_at"`
	TakenBy       itil.Actor     `json:"taken_by"`
	CIs           []CI           `json:"cis"`
	Relationships []Relationship `json:"relationships"`
}

// snapshot reads the CIs and relationships of a scope, as they are now.
func (s *Service) snapshot(ctx context.Context, tx storage.Tx, sc Scope) ([]CI, []Relationship, error) {
	in := map[itil.ID]CI{}
	for _, id := range sc.IDs {
		c, err := cis.Get(ctx, tx, id)
		if err == nil {
			in[id] = *c
		} else if !isNotFound(err) {
			return nil, nil, err
		}
	}
	if len(sc.Classes) > 0 {
		for c, err := range cis.Query(ctx, tx, storage.Query{}) {
			if err != nil {
				return nil, nil, err
			}
			for _, cl := range sc.Classes {
				if s.cfg.classes.IsA(c.Class, cl) {
					in[c.ID] = *c
					break
				}
			}
		}
	}
	ids := slices.SortedFunc(maps.Keys(in), compareID)
	rels, err := s.relationsIn(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}
	var rs []Relationship
	for _, r := range rels {
		_, p := in[r.Parent]
		_, c := in[r.Child]
		if p && c {
			rs = append(rs, *r)
		}
	}
	slices.SortFunc(rs, func(a, b Relationship) int { return compareID(a.ID, b.ID) })
	out := make([]CI, 0, len(ids))
	for _, id := range ids {
		out = append(out, in[id])
	}
	return out, rs, nil
}

func compareID(a, b itil.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// TakeBaseline stores a named snapshot of the scope's CIs and
// relationships as they are now, journaled whole (EventBaselineTaken). It
// is authorized on every CI it copies. An empty or blank name, an empty
// scope, or an unknown class gives a *itil.ValidationError.
func (s *Service) TakeBaseline(ctx context.Context, actor itil.Actor, name string, sc Scope) (*Baseline, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "name", name, true, check.Short)
	if len(sc.IDs) == 0 && len(sc.Classes) == 0 {
		v.Add("scope", "must list CIs or classes")
	}
	for i, c := range sc.Classes {
		if _, ok := s.cfg.classes.byName[c]; !ok {
			v.Add("scope.classes["+strconv.Itoa(i)+"]", fmt.Sprintf("class %q does not exist", c))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Baseline
	err := s.ci.Do(ctx, actor, func(c *cmd) error {
		b := &Baseline{ID: itil.NewID(), Name: name, Scope: Scope{IDs: slices.Clone(sc.IDs), Classes: slices.Clone(sc.Classes)},
			TakenAt: c.Now, TakenBy: c.Actor}
		var err error
		if b.CIs, b.Relationships, err = s.snapshot(c.Ctx, c.Tx, sc); err != nil {
			return err
		}
		for i := range b.CIs {
			if err := c.Authorize(CommandTakeBaseline, &b.CIs[i]); err != nil {
				return err
			}
		}
		summary := fmt.Sprintf("baseline %s of %d CIs and %d relationships", strconv.Quote(name), len(b.CIs), len(b.Relationships))
		if err := pipeline.Other(c, s.base).Save(b, event{Type: EventBaselineTaken, Summary: summary}); err != nil {
			return err
		}
		out = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Baseline returns a stored baseline, or an error wrapping
// itil.ErrNotFound.
func (s *Service) Baseline(ctx context.Context, id itil.ID) (*Baseline, error) {
	return s.base.Get(ctx, id)
}

// Baselines returns the baselines named name (every baseline when name is
// ""), oldest first. A name no baseline can have (invalid text, longer
// than TakeBaseline allows) is yielded as a *itil.ValidationError.
func (s *Service) Baselines(ctx context.Context, name string) iter.Seq2[*Baseline, error] {
	var v itil.ValidationError
	check.Text(&v, "name", name, false, check.Short)
	var q pipeline.Query[Baseline]
	if name != "" {
		q.Terms = []string{storage.Term("name", name)}
	}
	return s.base.ListQuery(ctx, q, v.Err())
}

// FieldChange is one field of a CI that differs between two snapshots.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// CIChange lists how one CI differs.
type CIChange struct {
	ID      itil.ID       `json:"id"`
	Name    string        `json:"name"`
	Changes []FieldChange `json:"changes"`
}

// Diff is how a later snapshot differs from an earlier one.
type Diff struct {
	Added, Removed                           []CI
	Changed                                  []CIChange
	AddedRelationships, RemovedRelationships []Relationship
}

// Empty reports whether nothing differs.
func (d *Diff) Empty() bool {
	return len(d.Added)+len(d.Removed)+len(d.Changed)+len(d.AddedRelationships)+len(d.RemovedRelationships) == 0
}

// DiffNow compares a baseline with its scope as it is now.
func (s *Service) DiffNow(ctx context.Context, baseline itil.ID) (*Diff, error) {
	var d *Diff
	err := s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		b, err := baselines.Get(ctx, tx, baseline)
		if err != nil {
			return err
		}
		now, rels, err := s.snapshot(ctx, tx, b.Scope)
		if err != nil {
			return err
		}
		d = DiffBaselines(b, &Baseline{CIs: now, Relationships: rels})
		return nil
	})
	return d, err
}

// DiffBaselines compares two snapshots: what was added, removed and
// changed from a to b. Changes compare the name, state, criticality,
// owner, support group, location and every attribute; versions and
// timestamps are not compared.
func DiffBaselines(a, b *Baseline) *Diff {
	d := &Diff{}
	before := map[itil.ID]CI{}
	for _, c := range a.CIs {
		before[c.ID] = c
	}
	after := map[itil.ID]bool{}
	for _, c := range b.CIs {
		after[c.ID] = true
		old, ok := before[c.ID]
		if !ok {
			d.Added = append(d.Added, c)
			continue
		}
		if ch := fieldChanges(&old, &c); len(ch) > 0 {
			d.Changed = append(d.Changed, CIChange{ID: c.ID, Name: c.Name, Changes: ch})
		}
	}
	for _, c := range a.CIs {
		if !after[c.ID] {
			d.Removed = append(d.Removed, c)
		}
	}
	rb := map[itil.ID]bool{}
	for _, r := range a.Relationships {
		rb[r.ID] = true
	}
	ra := map[itil.ID]bool{}
	for _, r := range b.Relationships {
		ra[r.ID] = true
		if !rb[r.ID] {
			d.AddedRelationships = append(d.AddedRelationships, r)
		}
	}
	for _, r := range a.Relationships {
		if !ra[r.ID] {
			d.RemovedRelationships = append(d.RemovedRelationships, r)
		}
	}
	return d
}

func fieldChanges(a, b *CI) []FieldChange {
	var out []FieldChange
	add := func(field, from, to string) {
		if from != to {
			out = append(out, FieldChange{field, from, to})
		}
	}
	add("name", a.Name, b.Name)
	add("class", a.Class, b.Class)
	add("state", string(a.State), string(b.State))
	add("criticality", strconv.Itoa(int(a.Criticality)), strconv.Itoa(int(b.Criticality)))
	add("owner", a.Owner, b.Owner)
	add("support_group", a.SupportGroup, b.SupportGroup)
	add("location_id", idText(a.LocationID), idText(b.LocationID))
	keys := map[string]bool{}
	for k := range a.Attributes {
		keys[k] = true
	}
	for k := range b.Attributes {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		add("attributes."+k, a.Attributes[k], b.Attributes[k])
	}
	return out
}

func idText(id itil.ID) string {
	if id == itil.NilID {
		return ""
	}
	return id.String()
}
