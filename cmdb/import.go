package cmdb

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// ImportRecord is one CI as a data source reports it.
//
// In JSON (see ParseJSON):
//
//	{"class": "linux_server", "name": "db01",
//	 "attributes": {"serial_number": "SN-1", "ip_address": "10.0.0.5", "cpu_count": 8},
//	 "state": "operational", "discovered_at": "2026-03-02T08:00:00Z"}
//
//	{"class": "database_instance", "name": "postgres", "attributes": {"port": 5432},
//	 "relationships": [{"type": "runs_on", "to": {"class": "linux_server",
//	                     "attributes": {"serial_number": "SN-1"}}}]}
type ImportRecord struct {
	Class string `json:"class"`
	Name  string `json:"name"`
	// Attributes are the values the source reports. An empty value means
	// "not reported": an import never removes an attribute.
	Attributes map[string]string `json:"attributes,omitempty"`
	// State is the lifecycle state of a CI the import creates (default
	// Planned). An import does not move an existing CI along its
	// lifecycle: a different state is reported as skipped (use SetState).
	State State `json:"state,omitempty"`
	// Relationships link the record's CI to other CIs, which must exist
	// (possibly created by an earlier record of the same batch). The
	// relationship of the class's dependent type (runs_on for a software
	// instance) also identifies the CI.
	Relationships []ImportRelationship `json:"relationships,omitempty"`
	// DiscoveredAt is when the source observed the CI. Only imports by
	// SourceDiscovery read it: CI.LastDiscovered becomes the latest
	// observation (see Import). It may not be more than five minutes
	// ahead of the Service's clock, and must lie within the years 1 to
	// 9999.
	DiscoveredAt time.Time `json:"discovered_at,omitzero"`
}

// ImportRelationship is a relationship of an imported record's CI.
type ImportRelationship struct {
	// Type is the relationship type, such as runs_on.
	Type string `json:"type"`
	// By default the record's CI is the relationship's parent ("postgres
	// runs on db01"); Reverse makes it the child ("DC1 contains db01" on
	// db01's record).
	Reverse bool `json:"reverse,omitempty"`
	// To is the other CI.
	To CIRef `json:"to"`
}

// CIRef names an existing CI: by ID, or by its class and the values its
// class's identification rules need (such as the serial number of a
// server), which must match exactly one CI. A CI of a dependent class
// (such as a software instance) can only be named by ID.
type CIRef struct {
	ID         itil.ID           `json:"id,omitzero"`
	Class      string            `json:"class,omitempty"`
	Name       string            `json:"name,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Outcome is what an import did with a record.
type Outcome string

// Import outcomes.
const (
	// Created: no CI matched; the record created one.
	Created Outcome = "created"
	// Updated: the record matched one CI and changed it (attributes,
	// which source holds them, LastDiscovered, or new relationships).
	Updated Outcome = "updated"
	// Unchanged: the record matched one CI and changed nothing; nothing
	// was written.
	Unchanged Outcome = "unchanged"
	// DuplicateCandidate: several CIs matched; the import wrote nothing
	// and never merges them. ImportResult.Candidates lists them.
	DuplicateCandidate Outcome = "duplicate_candidate"
	// Rejected: the record is invalid; nothing of it was written.
	// ImportResult.Reasons says why.
	Rejected Outcome = "rejected"
)

// Skipped is a value of a record that the import did not write, and why:
// a reconciliation rule (a source that may not write the attribute, or a
// value held by a source of higher precedence), or a field an import does
// not change on an existing CI (its name or state). Field is named as in
// validation errors: "attributes.ip_address", "name", "state".
type Skipped struct {
	Field string `json:"field"`
	Value string `json:"value"`
	// Holder is the source that last wrote the current value, if known.
	Holder string `json:"holder,omitempty"`
	Reason string `json:"reason"`
}

// ImportResult is the outcome of one record.
type ImportResult struct {
	// Index is the record's position in the batch.
	Index   int     `json:"index"`
	Outcome Outcome `json:"outcome"`
	// ID is the CI created, updated or left unchanged (and the identified
	// CI of a record rejected after identification).
	ID itil.ID `json:"id,omitzero"`
	// Reasons are the fields of the *itil.ValidationError a rejected
	// record gave.
	Reasons []itil.FieldError `json:"reasons,omitempty"`
	// Candidates are the CIs a duplicate candidate matched.
	Candidates []itil.ID `json:"candidates,omitempty"`
	// Skipped lists the values the import did not write.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// maxDiscoveredSkew is how far discovered_at may lie ahead of the clock.
const maxDiscoveredSkew = 5 * time.Minute

// Import identifies and reconciles records from a data source, each in a
// transaction of its own and in order, so a record may relate to a CI an
// earlier record created. It returns one result per record.
//
// Identification follows the class's identification rules (see
// Class.Identify and DependsOn): no match creates a CI, one match updates
// it, several are reported as duplicate candidates and never merged.
// Values are written as the Service's reconciliation rules allow
// (WithReconciliation; without rules the last writer wins); values the
// rules hold back are reported as skipped. An invalid record is rejected
// alone, with nothing of it written: every check runs before the record's
// first write, and a record that storage still refuses at a write (a
// *itil.ValidationError from the backend, or a value that cannot be
// written as JSON) is rejected alone too, its writes rolled back. A rule
// a record fills with values that match nothing gives way to the next
// rule, but never to a CI whose values for that rule differ.
//
// Imports are idempotent: importing the same records again writes
// nothing and reports them unchanged (no new versions, no journal
// events). For source "discovery", CI.LastDiscovered is the latest
// observation: the record's discovered_at when it carries one, else the
// import's time. The import's time only refreshes it on an otherwise
// unchanged CI when LastDiscovered is older than the discovery refresh
// interval (WithDiscoveryRefresh, default a day), so repeating a payload
// without discovered_at within that interval changes nothing, while
// payloads with discovered_at are idempotent at any time.
//
// Concurrent imports (and CreateCI) of records with the same
// identification values create one CI: the others find it (a record
// runs again when it lost a race on a claim).
//
// Import is authorized (CommandImport) on each CI it creates or changes
// and on the other end of each relationship it adds. An invalid actor or
// source, or a clock reading outside the years 1 to 9999 ("clock"), gives
// a *itil.ValidationError and imports nothing. A storage
// error (such as a conflict that persists after retries) or an
// authorizer's refusal stops the import: Import returns the results so
// far and the error; the failed record wrote nothing.
func (s *Service) Import(ctx context.Context, actor itil.Actor, source string, records []ImportRecord) ([]ImportResult, error) {
	var v itil.ValidationError
	actor.Validate("actor", &v)
	check.Text(&v, "source", source, true, check.Name)
	if _, err := s.ci.Clock(); err != nil {
		if cv, ok := errors.AsType[*itil.ValidationError](err); ok {
			v.Fields = append(v.Fields, cv.Fields...)
		} else {
			return nil, err
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := make([]ImportResult, 0, len(records))
	for i := range records {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res, err := s.importOne(ctx, actor, source, &records[i])
		if err != nil {
			return out, fmt.Errorf("cmdb: import record %d: %w", i, err)
		}
		res.Index = i
		out = append(out, res)
	}
	return out, nil
}

// importAttempts bounds how often a record whose new CI met a concurrent
// one is identified again.
const importAttempts = 3

// importOne runs one record through the pipeline. The pipeline's retry
// rule re-runs a record that conflicts with a concurrent writer (it lost
// a race on a claim, say) on fresh state. One case is not a conflict and
// is re-run here: the checks of the CI a record would create name a
// unique value a CI committed since identification holds (its claim makes
// this rare); identifying again finds that CI. Bound to a caller's
// transaction (In), neither re-runs.
func (s *Service) importOne(ctx context.Context, actor itil.Actor, source string, rec *ImportRecord) (ImportResult, error) {
	for attempt := 1; ; attempt++ {
		var res ImportResult
		var creating bool
		err := s.ci.Do(ctx, actor, func(c *cmd) error {
			res, creating = ImportResult{}, false
			return s.importRecord(c, source, rec, &res, &creating)
		})
		var ve *itil.ValidationError
		switch {
		case err == nil:
			return res, nil
		case errors.As(err, &ve) && ve.Has("clock"):
			return ImportResult{}, err // the import's, not the record's
		case errors.As(err, &ve) && creating && attempt < importAttempts && !s.ci.Bound() && ctx.Err() == nil:
			continue
		case errors.As(err, &ve):
			return ImportResult{Outcome: Rejected, ID: res.ID, Reasons: slices.Clone(ve.Fields), Skipped: res.Skipped}, nil
		case errors.Is(err, itil.ErrInvalidTransition):
			return ImportResult{Outcome: Rejected, ID: res.ID, Reasons: []itil.FieldError{{Field: "state", Reason: err.Error()}},
				Skipped: res.Skipped}, nil
		default:
			return ImportResult{}, err
		}
	}
}

// resolved is a record's relationship with its other end found.
type resolved struct {
	ImportRelationship
	other itil.ID
}

// link is a relationship an import adds: its type and ends, one of them
// the record's CI and the other one other.
type link struct {
	typ                  string
	parent, child, other *CI
}

// importRecord identifies one record and plans its writes, then makes
// them. Nothing is written before every check passed, so that a rejected
// record writes nothing even inside a caller's transaction. creating is
// set while the checks of a CI the record would create run.
func (s *Service) importRecord(c *cmd, source string, rec *ImportRecord, res *ImportResult, creating *bool) error {
	ctx, tx := c.Ctx, c.Tx
	var v itil.ValidationError
	cs := s.cfg.classes
	if _, ok := cs.byName[rec.Class]; !ok {
		v.Add("class", fmt.Sprintf("class %q does not exist", rec.Class))
		return &v
	}
	check.Text(&v, "name", rec.Name, true, check.Name)
	attrs := s.canonicalAttrs(rec.Class, rec.Attributes, "attributes.", &v)
	if rec.State != "" && !rec.State.valid() {
		v.Add("state", fmt.Sprintf("%q is not a CI state", rec.State))
	}
	switch {
	case rec.DiscoveredAt.IsZero():
	case !check.TimeOK(rec.DiscoveredAt):
		check.Time(&v, "discovered_at", rec.DiscoveredAt)
	case rec.DiscoveredAt.After(c.Now.Add(maxDiscoveredSkew)):
		v.Add("discovered_at", "lies in the future")
	}
	rels, err := s.resolveRelationships(ctx, tx, rec.Relationships, &v)
	if err != nil {
		return err
	}
	_, dep := cs.rules(rec.Class)
	id := identity{class: rec.Class, probe: &CI{Name: rec.Name, Attributes: attrs}, dep: dep}
	if dep != "" {
		named := 0
		for _, r := range rec.Relationships {
			if r.Type == dep && !r.Reverse {
				named++
			}
		}
		if named != 1 {
			v.Add("relationships", fmt.Sprintf("a %s is identified together with the CI it %s: the record must name exactly one %s relationship (it names %d)",
				rec.Class, dep, dep, named))
		}
		for _, r := range rels {
			if r.Type == dep && !r.Reverse {
				id.host = r.other // unresolved, the record is rejected already
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.watch(ctx, tx, &CI{Class: rec.Class, Name: rec.Name, Attributes: attrs}); err != nil {
		return err
	}
	matches, err := s.identify(ctx, tx, id)
	switch {
	case errors.Is(err, errNoRule):
		return itil.Invalid("attributes", fmt.Sprintf("the record fills none of the identification rules of class %s (%s)",
			rec.Class, describeRules(s.identRules(rec.Class))))
	case err != nil:
		return err
	case len(matches) > 1:
		res.Outcome = DuplicateCandidate
		for _, m := range matches {
			res.Candidates = append(res.Candidates, m.ID)
		}
		return nil
	case len(matches) == 1:
		return s.importUpdate(c, source, rec, attrs, rels, matches[0].ID, res)
	}

	// No match: create.
	ci := &CI{ID: itil.NewID(), Class: rec.Class, Name: rec.Name, State: rec.State, Source: source,
		AttrSources: map[string]string{}, CreatedAt: c.Now, UpdatedAt: c.Now}
	if ci.State == "" {
		ci.State = Planned
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if ok, why := s.cfg.recon.may(k, source, ""); !ok {
			res.Skipped = append(res.Skipped, Skipped{Field: "attributes." + k, Value: attrs[k], Reason: why})
			continue
		}
		if ci.Attributes == nil {
			ci.Attributes = map[string]string{}
		}
		ci.Attributes[k] = attrs[k]
		ci.AttrSources[k] = source
	}
	// The new CI must hold the values of the first rule the record fills,
	// or the same record could never identify it again.
	for _, rule := range s.identRules(rec.Class) {
		want, ok := identValues(id.probe, rule)
		if !ok {
			continue
		}
		if have, ok := identValues(ci, rule); !ok || !slices.Equal(have, want) {
			return itil.Invalid("attributes", fmt.Sprintf("source %q may not write %s, which identify the new CI",
				source, strings.Join(rule, " + ")))
		}
		break
	}
	if source == SourceDiscovery {
		ci.LastDiscovered = observed(rec, c.Now)
	}
	*creating = true
	if err := s.checkStored(ctx, tx, ci, &v); err != nil {
		return err
	}
	*creating = false
	links, err := s.importLinks(c, ci, rels)
	if err != nil {
		return err
	}
	// Checked: write.
	if err := c.Authorize(CommandImport, ci); err != nil {
		return err
	}
	if err := s.claim(ctx, tx, ci); err != nil {
		return err
	}
	if err := c.Save(ci, event{Type: EventCICreated, Summary: "created " + ci.Class + " " + strconv.Quote(ci.Name) + " from " + source}); err != nil {
		return err
	}
	if err := s.importRelate(c, source, links); err != nil {
		return err
	}
	res.Outcome, res.ID = Created, ci.ID
	return nil
}

// importUpdate reconciles a record with the one CI it identified.
func (s *Service) importUpdate(c *cmd, source string, rec *ImportRecord,
	attrs map[string]string, rels []resolved, id itil.ID, res *ImportResult) error {
	res.ID = id
	ci, err := c.Load(id)
	if err != nil {
		return err
	}
	if ci.Class != rec.Class {
		return itil.Invalid("class", fmt.Sprintf("the record identifies CI %s (%s) of class %s; an import does not change a CI's class",
			ci.Name, ci.ID, ci.Class))
	}
	changed := false
	if rec.Name != ci.Name {
		res.Skipped = append(res.Skipped, Skipped{Field: "name", Value: rec.Name,
			Reason: fmt.Sprintf("an import does not rename a CI (it is %q)", ci.Name)})
	}
	if rec.State != "" && rec.State != ci.State {
		res.Skipped = append(res.Skipped, Skipped{Field: "state", Value: string(rec.State),
			Reason: fmt.Sprintf("an import sets the state of new CIs only (it is %s); use SetState", ci.State)})
	}
	if ci.AttrSources == nil {
		ci.AttrSources = map[string]string{} // stored as none when it stays empty
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		val, holder := attrs[k], ci.AttrSources[k]
		if cur, ok := ci.Attributes[k]; ok && cur == val {
			// Confirmed: a source of higher precedence takes the value over,
			// so that lower ones may no longer change it.
			if s.cfg.recon.outranks(k, source, holder) {
				ci.AttrSources[k] = source
				changed = true
			}
			continue
		}
		if ok, why := s.cfg.recon.may(k, source, holder); !ok {
			res.Skipped = append(res.Skipped, Skipped{Field: "attributes." + k, Value: val, Holder: holder, Reason: why})
			continue
		}
		if ci.Attributes == nil {
			ci.Attributes = map[string]string{}
		}
		ci.Attributes[k], ci.AttrSources[k] = val, source
		changed = true
	}
	links, err := s.importLinks(c, ci, rels)
	if err != nil {
		return err
	}
	if source == SourceDiscovery {
		seen := observed(rec, c.Now)
		if seen.After(ci.LastDiscovered) &&
			(!rec.DiscoveredAt.IsZero() || changed || seen.Sub(ci.LastDiscovered) >= s.cfg.recon.refreshEvery()) {
			ci.LastDiscovered = seen
			changed = true
		}
	}
	if !changed && len(links) == 0 {
		res.Outcome = Unchanged
		return nil
	}
	if changed {
		if ci.State == Retired {
			return fmt.Errorf("%w: CI %s is retired", itil.ErrInvalidTransition, ci.Name)
		}
		ci.Source = source
		var v itil.ValidationError
		if err := s.checkStored(c.Ctx, c.Tx, ci, &v); err != nil {
			return err
		}
	}
	// Checked: write.
	if err := c.Authorize(CommandImport, ci); err != nil {
		return err
	}
	if changed {
		if err := s.claim(c.Ctx, c.Tx, ci); err != nil {
			return err
		}
		if err := c.Save(ci, event{Type: EventCIUpdated, Summary: "reconciled from " + source}); err != nil {
			return err
		}
	}
	if err := s.importRelate(c, source, links); err != nil {
		return err
	}
	res.Outcome = Updated
	return nil
}

// observed is when a discovery record saw its CI.
func observed(rec *ImportRecord, now time.Time) time.Time {
	if rec.DiscoveredAt.IsZero() {
		return now
	}
	return rec.DiscoveredAt.UTC()
}

// importLinks checks the record's relationships against its CI (as it
// will be stored) and returns those that do not exist yet.
func (s *Service) importLinks(c *cmd, ci *CI, rels []resolved) ([]link, error) {
	var out []link
	var v itil.ValidationError
	for i, r := range rels {
		f := fmt.Sprintf("relationships[%d].", i)
		var one itil.ValidationError
		if s.checkLink(&one, f, r.Type, ci.ID, r.other); one.Err() != nil {
			v.Fields = append(v.Fields, one.Fields...)
			continue
		}
		other, err := cis.Get(c.Ctx, c.Tx, r.other)
		if err != nil {
			return nil, err
		}
		l := link{typ: r.Type, parent: ci, child: other, other: other}
		if r.Reverse {
			l.parent, l.child = other, ci
		}
		s.checkRelate(&v, f, l.typ, l.parent, l.child)
		_, found, err := s.existing(c, l.typ, l.parent.ID, l.child.ID)
		if err != nil {
			return nil, err
		}
		if !found && !slices.ContainsFunc(out, func(x link) bool {
			return x.typ == l.typ && x.parent.ID == l.parent.ID && x.child.ID == l.child.ID
		}) {
			out = append(out, l)
		}
	}
	return out, v.Err()
}

// importRelate authorizes and stores the relationships importLinks
// planned.
func (s *Service) importRelate(c *cmd, source string, links []link) error {
	for _, l := range links {
		if err := c.Authorize(CommandImport, l.other); err != nil {
			return err
		}
		if _, err := s.relate(c, l.typ, l.parent, l.child, source, ""); err != nil {
			return err
		}
	}
	return nil
}

// canonicalAttrs puts reported values in canonical form, leaving out empty
// ones. Required attributes are checked later, on the merged CI.
func (s *Service) canonicalAttrs(class string, in map[string]string, field string, v *itil.ValidationError) map[string]string {
	var out map[string]string
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if in[k] == "" {
			continue
		}
		a, _, ok := s.cfg.classes.attribute(class, k)
		if !ok {
			v.Add(field+k, fmt.Sprintf("is not an attribute of class %s", class))
			continue
		}
		val, reason := canonical(a, in[k])
		if reason != "" {
			v.Add(field+k, reason)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = val
	}
	return out
}

// resolveRelationships finds the other end of each relationship.
func (s *Service) resolveRelationships(ctx context.Context, tx storage.Tx, rels []ImportRelationship, v *itil.ValidationError) ([]resolved, error) {
	out := make([]resolved, 0, len(rels))
	for i, r := range rels {
		f := fmt.Sprintf("relationships[%d]", i)
		if _, ok := s.types.byName[r.Type]; !ok {
			v.Add(f+".type", fmt.Sprintf("%q is not a relationship type", r.Type))
		}
		id, err := s.resolveRef(ctx, tx, r.To, f+".to", v)
		if err != nil {
			return nil, err
		}
		if id != itil.NilID {
			out = append(out, resolved{ImportRelationship: r, other: id})
		}
	}
	return out, nil
}

// resolveRef finds the CI a reference names; it returns NilID (and adds
// the reason to v) when there is not exactly one.
func (s *Service) resolveRef(ctx context.Context, tx storage.Tx, ref CIRef, field string, v *itil.ValidationError) (itil.ID, error) {
	if ref.ID != itil.NilID {
		if ref.Class != "" || ref.Name != "" || len(ref.Attributes) > 0 {
			v.Add(field, "give either an id or identification values, not both")
			return itil.NilID, nil
		}
		_, err := cis.Get(ctx, tx, ref.ID)
		if isNotFound(err) {
			v.Add(field+".id", "CI "+ref.ID.String()+" does not exist")
			return itil.NilID, nil
		}
		return ref.ID, err
	}
	var sub itil.ValidationError
	check.Text(&sub, field+".name", ref.Name, false, check.Name)
	if err := sub.Err(); err != nil {
		v.Fields = append(v.Fields, sub.Fields...)
		return itil.NilID, nil
	}
	if _, ok := s.cfg.classes.byName[ref.Class]; !ok {
		v.Add(field+".class", fmt.Sprintf("class %q does not exist (name the CI by id, or by class and identification values)", ref.Class))
		return itil.NilID, nil
	}
	if _, dep := s.cfg.classes.rules(ref.Class); dep != "" {
		v.Add(field, fmt.Sprintf("a %s is identified together with the CI it %s: refer to it by id", ref.Class, dep))
		return itil.NilID, nil
	}
	attrs := s.canonicalAttrs(ref.Class, ref.Attributes, field+".attributes.", &sub)
	if err := sub.Err(); err != nil {
		v.Fields = append(v.Fields, sub.Fields...)
		return itil.NilID, nil
	}
	matches, err := s.identify(ctx, tx, identity{class: ref.Class, probe: &CI{Name: ref.Name, Attributes: attrs}})
	switch {
	case errors.Is(err, errNoRule):
		v.Add(field, fmt.Sprintf("fills none of the identification rules of class %s (%s)", ref.Class, describeRules(s.identRules(ref.Class))))
	case err != nil:
		return itil.NilID, err
	case len(matches) == 0:
		v.Add(field, "matches no CI")
	case len(matches) > 1:
		ids := make([]string, len(matches))
		for i, c := range matches {
			ids[i] = c.ID.String()
		}
		v.Add(field, "matches several CIs: "+strings.Join(ids, ", "))
	default:
		return matches[0].ID, nil
	}
	return itil.NilID, nil
}

// Parsers.

// ParseJSON reads a JSON array of import records (see ImportRecord).
// Attribute values may be JSON strings, numbers or booleans (null means
// not reported). Unknown fields are errors, so that a misspelt field is
// not silently dropped. Malformed input gives a *itil.ValidationError
// naming the record ("records[3]").
func ParseJSON(r io.Reader) ([]ImportRecord, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, itil.Invalid("records", "is not JSON: "+err.Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, itil.Invalid("records", "must be a JSON array of records")
	}
	var out []ImportRecord
	for i := 0; dec.More(); i++ {
		f := fmt.Sprintf("records[%d]", i)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, itil.Invalid(f, "is not JSON: "+err.Error())
		}
		rec, err := decodeRecord(raw)
		if err != nil {
			return nil, itil.Invalid(f, err.Error())
		}
		out = append(out, rec)
	}
	if _, err := dec.Token(); err != nil {
		return nil, itil.Invalid("records", "is not JSON: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, itil.Invalid("records", "has data after the array")
	}
	return out, nil
}

type wireRef struct {
	ID         itil.ID                    `json:"id,omitzero"`
	Class      string                     `json:"class,omitempty"`
	Name       string                     `json:"name,omitempty"`
	Attributes map[string]json.RawMessage `json:"attributes,omitempty"`
}

type wireRecord struct {
	Class         string                     `json:"class"`
	Name          string                     `json:"name"`
	Attributes    map[string]json.RawMessage `json:"attributes,omitempty"`
	State         State                      `json:"state,omitempty"`
	Relationships []struct {
		Type    string  `json:"type"`
		Reverse bool    `json:"reverse,omitempty"`
		To      wireRef `json:"to"`
	} `json:"relationships,omitempty"`
	DiscoveredAt time.Time `json:"discovered_at,omitzero"`
}

func decodeRecord(raw json.RawMessage) (ImportRecord, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return ImportRecord{}, err
	}
	rec := ImportRecord{Class: w.Class, Name: w.Name, State: w.State, DiscoveredAt: w.DiscoveredAt}
	var err error
	if rec.Attributes, err = scalars(w.Attributes); err != nil {
		return ImportRecord{}, err
	}
	for _, r := range w.Relationships {
		attrs, err := scalars(r.To.Attributes)
		if err != nil {
			return ImportRecord{}, err
		}
		rec.Relationships = append(rec.Relationships, ImportRelationship{Type: r.Type, Reverse: r.Reverse,
			To: CIRef{ID: r.To.ID, Class: r.To.Class, Name: r.To.Name, Attributes: attrs}})
	}
	return rec, nil
}

// scalars turns JSON attribute values into their text.
func scalars(in map[string]json.RawMessage) (map[string]string, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for k, raw := range in {
		var x any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&x); err != nil {
			return nil, err
		}
		switch x := x.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			return nil, fmt.Errorf("attribute %q must be a string, number or boolean", k)
		}
	}
	return out, nil
}

// ParseCSV reads flat records of one class: a header row of "name" and
// attribute names, then one row per CI. Empty cells are not reported
// values. A leading UTF-8 byte order mark is ignored. Malformed input
// gives a *itil.ValidationError ("header", or "line 7"). Attribute names
// are checked against the class when the records are imported.
func ParseCSV(r io.Reader, class string) ([]ImportRecord, error) {
	if class == "" {
		return nil, itil.Invalid("class", "is required")
	}
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, itil.Invalid("header", "is missing")
	}
	if err != nil {
		return nil, csvError(err)
	}
	nameCol := -1
	var v itil.ValidationError
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		header[i] = h
		switch {
		case h == "":
			v.Add("header", fmt.Sprintf("column %d has no name", i+1))
		case seen[h]:
			v.Add("header", fmt.Sprintf("column %q is listed twice", h))
		case h == "name":
			nameCol = i
		}
		seen[h] = true
	}
	if nameCol < 0 {
		v.Add("header", `must have a "name" column`)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out []ImportRecord
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		rec := ImportRecord{Class: class, Name: row[nameCol]}
		for i, cell := range row {
			if i == nameCol || cell == "" {
				continue
			}
			if rec.Attributes == nil {
				rec.Attributes = map[string]string{}
			}
			rec.Attributes[header[i]] = cell
		}
		out = append(out, rec)
	}
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return itil.Invalid("line "+strconv.Itoa(pe.Line), pe.Err.Error())
	}
	return err
}
