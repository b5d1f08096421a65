package cmdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Well-known data sources. Any other non-empty name is a source too (a
// CSV feed, an asset tool); only "discovery" has a meaning of its own: its
// imports keep CI.LastDiscovered current.
const (
	// SourceManual is a person: CreateCI and UpdateCI write as it, and
	// reconciliation rules usually give it the highest precedence.
	SourceManual = "manual"
	// SourceDiscovery is automated discovery.
	SourceDiscovery = "discovery"
)

// AllAttributes is the attribute name of a ReconciliationRule that covers
// every attribute without a rule of its own.
const AllAttributes = "*"

// DefaultDiscoveryRefresh is how stale CI.LastDiscovered may become before
// a discovery import whose records carry no discovered_at refreshes it on a
// CI it does not otherwise change (see Import).
const DefaultDiscoveryRefresh = 24 * time.Hour

// ReconciliationRule says which data sources may write an attribute and
// which of them wins: Sources lists them highest precedence first.
//
// A source that is not listed may not write the attribute at all. A listed
// source may not overwrite a value last written by a source listed before
// it (a higher precedence). A value last written by a source the rule does
// not list (or by nobody known) may be overwritten by any listed source.
//
// Attribute is an attribute name, or AllAttributes ("*") for every
// attribute that has no rule of its own. Without any rule for an
// attribute, every source may write it and the last writer wins.
//
// Rules govern imports only: UpdateCI is a person's edit and always
// writes (as SourceManual).
type ReconciliationRule struct {
	Attribute string   `json:"attribute"`
	Sources   []string `json:"sources"`
}

// reconciliation is the Service's compiled reconciliation configuration.
type reconciliation struct {
	rank    map[string]map[string]int // attribute → source → precedence (0 is highest)
	rules   map[string]ReconciliationRule
	refresh time.Duration // 0 means DefaultDiscoveryRefresh
}

// WithReconciliation sets the reconciliation rules imports obey (see
// ReconciliationRule). Without rules, any source writes anything and the
// last writer wins. Each attribute (and "*") may have one rule; the option
// may be given several times to add rules.
func WithReconciliation(rules ...ReconciliationRule) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		r := &cfg.recon
		if r.rank == nil {
			r.rank = map[string]map[string]int{}
			r.rules = map[string]ReconciliationRule{}
		}
		for i, rule := range rules {
			f := fmt.Sprintf("reconciliation[%d]", i)
			switch {
			case rule.Attribute != AllAttributes && !validName(rule.Attribute):
				v.Add(f+".attribute", `must be an attribute name or "*"`)
				continue
			case r.rank[rule.Attribute] != nil:
				v.Add(f+".attribute", fmt.Sprintf("%q has a rule already", rule.Attribute))
				continue
			case len(rule.Sources) == 0:
				v.Add(f+".sources", "must list at least one source")
				continue
			}
			ranks := make(map[string]int, len(rule.Sources))
			for j, src := range rule.Sources {
				field := fmt.Sprintf("%s.sources[%d]", f, j)
				if _, dup := ranks[src]; dup {
					v.Add(field, fmt.Sprintf("%q is listed twice", src))
					continue
				}
				n := len(v.Fields)
				if check.Text(v, field, src, true, check.Name); len(v.Fields) > n {
					continue
				}
				ranks[src] = j
			}
			r.rank[rule.Attribute] = ranks
			rule.Sources = slices.Clone(rule.Sources)
			r.rules[rule.Attribute] = rule
		}
	}}
}

// WithDiscoveryRefresh sets how stale CI.LastDiscovered may become before
// a discovery import without discovered_at refreshes it on a CI it does
// not otherwise change (default DefaultDiscoveryRefresh). Importing the
// same payload again within this interval changes nothing.
func WithDiscoveryRefresh(d time.Duration) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if d <= 0 {
			v.Add("discovery_refresh", "must be positive")
		}
		cfg.recon.refresh = d
	}}
}

// ReconciliationRules returns the Service's rules, "*" last and the others
// by attribute name.
func (s *Service) ReconciliationRules() []ReconciliationRule {
	var out []ReconciliationRule
	for _, a := range slices.Sorted(maps.Keys(s.cfg.recon.rules)) {
		if a != AllAttributes {
			out = append(out, s.cfg.recon.rules[a])
		}
	}
	if r, ok := s.cfg.recon.rules[AllAttributes]; ok {
		out = append(out, r)
	}
	for i := range out {
		out[i].Sources = slices.Clone(out[i].Sources)
	}
	return out
}

func (r *reconciliation) ranks(attr string) map[string]int {
	if m, ok := r.rank[attr]; ok {
		return m
	}
	return r.rank[AllAttributes]
}

// may reports whether source may overwrite the value holder last wrote,
// and why not.
func (r *reconciliation) may(attr, source, holder string) (bool, string) {
	ranks := r.ranks(attr)
	if ranks == nil {
		return true, "" // no rule: last writer wins
	}
	mine, ok := ranks[source]
	if !ok {
		return false, fmt.Sprintf("source %q may not write it (allowed: %s)", source, strings.Join(r.sourcesOf(attr), ", "))
	}
	if theirs, ok := ranks[holder]; ok && theirs < mine {
		return false, fmt.Sprintf("last written by %q, which takes precedence over %q", holder, source)
	}
	return true, ""
}

// outranks reports whether source, confirming the value holder wrote,
// takes the value over: a rule lists source and ranks it above holder (or
// does not list holder).
func (r *reconciliation) outranks(attr, source, holder string) bool {
	ranks := r.ranks(attr)
	if ranks == nil || source == holder {
		return false
	}
	mine, ok := ranks[source]
	if !ok {
		return false
	}
	theirs, ok := ranks[holder]
	return !ok || mine < theirs
}

func (r *reconciliation) sourcesOf(attr string) []string {
	if rule, ok := r.rules[attr]; ok {
		return rule.Sources
	}
	return r.rules[AllAttributes].Sources
}

func (r *reconciliation) refreshEvery() time.Duration {
	if r.refresh > 0 {
		return r.refresh
	}
	return DefaultDiscoveryRefresh
}

// Identification.
//
// A record is matched against existing CIs with the identification rules
// of its class (Classes.rules): the rules are tried in order, skipping the
// ones the record does not fill completely; the first rule that matches any
// CI decides. One match identifies the CI, several are duplicate
// candidates. A CI that fills an earlier rule the record also fills, with
// other values, never matches a later rule: a server with another serial
// number is another server, however its host name reads. Candidates are
// the CIs of the record's class tree (the root of its class, as the health
// report groups duplicates). A class without rules is identified by name.
// A dependent class (Class.DependsOn) matches only CIs that have a
// relationship of that type to the record's host.

// identity is what a record or reference identifies a CI by.
type identity struct {
	class string
	probe *CI     // Name and canonical Attributes
	dep   string  // dependent relationship type, or ""
	host  itil.ID // the CI the dependent relationship points to
}

// errNoRule: the record fills none of its class's identification rules.
var errNoRule = errors.New("fills none of the identification rules")

func (s *Service) identRules(class string) [][]string {
	rules, _ := s.cfg.classes.rules(class)
	if len(rules) == 0 {
		return [][]string{{"name"}}
	}
	return rules
}

// describeRules renders identification rules for messages:
// "serial_number; host_name + domain; mac_address".
func describeRules(rules [][]string) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = strings.Join(r, " + ")
	}
	return strings.Join(parts, "; ")
}

// identify returns the CIs the identity matches: none, one, or several
// (duplicate candidates). It returns errNoRule when the identity fills no
// rule.
func (s *Service) identify(ctx context.Context, tx storage.Tx, id identity) ([]*CI, error) {
	var filled [][]string // earlier rules the record fills, which matched nothing
	for _, rule := range s.identRules(id.class) {
		vals, ok := identValues(id.probe, rule)
		if !ok {
			continue
		}
		cands, err := s.candidates(ctx, tx, id.class, rule, vals)
		if err != nil {
			return nil, err
		}
		var keep []*CI
		for _, c := range cands {
			if conflicts(c, id.probe, filled) {
				continue
			}
			if id.dep != "" {
				_, err := relationships.Get(ctx, tx, relationshipID(id.dep, c.ID, id.host))
				if isNotFound(err) {
					continue
				} else if err != nil {
					return nil, err
				}
			}
			keep = append(keep, c)
		}
		if len(keep) > 0 {
			return keep, nil
		}
		filled = append(filled, rule)
	}
	if len(filled) == 0 {
		return nil, errNoRule
	}
	return nil, nil
}

// conflicts reports whether c fills one of the rules with values other
// than the probe's.
func conflicts(c, probe *CI, rules [][]string) bool {
	for _, rule := range rules {
		have, ok := identValues(c, rule)
		if !ok {
			continue
		}
		want, _ := identValues(probe, rule)
		if !slices.Equal(have, want) {
			return true
		}
	}
	return false
}

// candidates returns the CIs of class's tree whose values for rule are
// vals. Attribute values are looked up by their index terms; a rule of the
// name alone reads each class of the tree in the name's sort-key range
// (CIs have no name term).
func (s *Service) candidates(ctx context.Context, tx storage.Tx, class string, rule, vals []string) ([]*CI, error) {
	root := s.root(class)
	var terms []string
	name, byName := "", false
	for i, a := range rule {
		if a == "name" {
			name, byName = vals[i], true
			continue
		}
		terms = append(terms, attrTerm(a, vals[i]))
	}
	var queries []storage.Query
	if len(terms) > 0 {
		q := storage.Query{Terms: terms}
		if byName {
			q.Min, q.Max = name, name+"\x00"
		}
		queries = append(queries, q)
	} else {
		for _, cn := range s.cfg.classes.order {
			if s.root(cn) == root {
				queries = append(queries, storage.Query{Terms: []string{storage.Term("class", cn)}, Min: name, Max: name + "\x00"})
			}
		}
	}
	var out []*CI
	for _, q := range queries {
		for c, err := range cis.Query(ctx, tx, q) {
			if err != nil {
				return nil, err
			}
			if s.root(c.Class) != root {
				continue
			}
			if have, ok := identValues(c, rule); !ok || !slices.Equal(have, vals) {
				continue
			}
			out = append(out, c)
		}
	}
	return out, nil
}
