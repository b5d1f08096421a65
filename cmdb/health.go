package cmdb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

func isNotFound(err error) bool { return errors.Is(err, itil.ErrNotFound) }

// DefaultStaleAfter is how long a discovered CI may go unseen before the
// health report calls it stale.
const DefaultStaleAfter = 60 * 24 * time.Hour

// Ref names a CI in a report.
type Ref struct {
	ID    itil.ID `json:"id"`
	Class string  `json:"class"`
	Name  string  `json:"name"`
}

func refOf(c *CI) Ref { return Ref{ID: c.ID, Class: c.Class, Name: c.Name} }

// Incomplete is a CI that lacks required attributes (required since it
// was recorded, or by a class changed later).
type Incomplete struct {
	Ref
	Missing []string `json:"missing"`
}

// Stale is a discovered CI that discovery has not seen for too long.
type Stale struct {
	Ref
	LastDiscovered time.Time `json:"last_discovered"`
}

// Duplicates are CIs of one class tree that share the values of one
// identification rule: candidates for a merge, which the report does not
// make.
type Duplicates struct {
	Rule   []string `json:"rule"`
	Values []string `json:"values"`
	CIs    []Ref    `json:"cis"`
}

// Health is the data quality of the CMDB at an instant. Retired CIs are
// left out.
type Health struct {
	At         time.Time    `json:"at"`
	CIs        int          `json:"cis"`
	Incomplete []Incomplete `json:"incomplete"`
	// Orphans are CIs without any relationship, except those of
	// standalone classes (such as locations).
	Orphans    []Ref        `json:"orphans"`
	Stale      []Stale      `json:"stale"`
	Duplicates []Duplicates `json:"duplicates"`
}

// Health reports completeness, orphans, stale CIs (discovered, and not
// seen for staleAfter; 0 means DefaultStaleAfter) and duplicate candidates.
// It reads every CI and relationship once.
func (s *Service) Health(ctx context.Context, staleAfter time.Duration) (*Health, error) {
	if staleAfter < 0 {
		return nil, itil.Invalid("stale_after", "must not be negative")
	}
	if staleAfter == 0 {
		staleAfter = DefaultStaleAfter
	}
	now, err := s.ci.Clock()
	if err != nil {
		return nil, err
	}
	h := &Health{At: now}
	err = s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		related := map[itil.ID]bool{}
		// The children of each CI by relationship type: a dependent class
		// is identified together with its host.
		children := map[itil.ID]map[string][]string{}
		for r, err := range relationships.Query(ctx, tx, storage.Query{}) {
			if err != nil {
				return err
			}
			related[r.Parent], related[r.Child] = true, true
			if children[r.Parent] == nil {
				children[r.Parent] = map[string][]string{}
			}
			children[r.Parent][r.Type] = append(children[r.Parent][r.Type], r.Child.String())
		}
		groups := map[string]*Duplicates{}
		var order []string
		for c, err := range cis.Query(ctx, tx, storage.Query{}) {
			if err != nil {
				return err
			}
			if c.State == Retired {
				continue
			}
			h.CIs++
			var missing []string
			for _, a := range s.cfg.classes.Attributes(c.Class) {
				if a.Required && c.Attributes[a.Name] == "" {
					missing = append(missing, a.Name)
				}
			}
			if len(missing) > 0 {
				h.Incomplete = append(h.Incomplete, Incomplete{Ref: refOf(c), Missing: missing})
			}
			if !related[c.ID] && !s.cfg.classes.standalone(c.Class) {
				h.Orphans = append(h.Orphans, refOf(c))
			}
			if !c.LastDiscovered.IsZero() && h.At.Sub(c.LastDiscovered) > staleAfter {
				h.Stale = append(h.Stale, Stale{Ref: refOf(c), LastDiscovered: c.LastDiscovered})
			}
			rules, dep := s.cfg.classes.rules(c.Class)
			for _, rule := range rules {
				vals, ok := identValues(c, rule)
				if !ok {
					continue
				}
				if dep != "" {
					hosts := slices.Sorted(slices.Values(children[c.ID][dep]))
					vals = append(vals, dep+"="+strings.Join(hosts, "+"))
				}
				// Grouped per rule-declaring tree root, so a server and a
				// switch with one serial number are candidates too.
				key := s.root(c.Class) + "\x00" + strings.Join(rule, ",") + "\x00" + strings.Join(vals, "\x00")
				g := groups[key]
				if g == nil {
					g = &Duplicates{Rule: rule, Values: vals}
					groups[key] = g
					order = append(order, key)
				}
				g.CIs = append(g.CIs, refOf(c))
				break // the first rule the CI fills identifies it
			}
		}
		for _, k := range order {
			if g := groups[k]; len(g.CIs) > 1 {
				h.Duplicates = append(h.Duplicates, *g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(h.Orphans, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	return h, nil
}

// identValues returns a CI's values for an identification rule; ok is
// false when the CI does not fill every attribute of it.
func identValues(c *CI, rule []string) ([]string, bool) {
	vals := make([]string, len(rule))
	for i, name := range rule {
		if name == "name" {
			vals[i] = c.Name
		} else {
			vals[i] = c.Attributes[name]
		}
		if vals[i] == "" {
			return nil, false
		}
	}
	return vals, true
}

// root returns the root of a class's tree.
func (s *Service) root(class string) string {
	c := s.cfg.classes.byName[class]
	for c != nil && c.Parent != "" {
		c = s.cfg.classes.byName[c.Parent]
	}
	if c == nil {
		return class
	}
	return c.Name
}
