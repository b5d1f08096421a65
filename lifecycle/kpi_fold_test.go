package lifecycle

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/pipeline"
)

// TestFoldIncidentIsApply: the fold's payload scan leaves the incident
// view as pipeline.Apply does, for creations (with fields the view does
// not have), changes of any of its fields and others, and deletions.
func TestFoldIncidentIsApply(t *testing.T) {
	view := rapid.Custom(func(t *rapid.T) *incidentView {
		at := func(label string) time.Time {
			if rapid.Bool().Draw(t, label+"?") {
				return time.Time{}
			}
			return time.Unix(rapid.Int64Range(1e9, 2e9).Draw(t, label), rapid.Int64Range(0, 999999999).Draw(t, label+"ns")).UTC()
		}
		id := func(label string) itil.ID {
			if rapid.Bool().Draw(t, label) {
				return itil.NilID
			}
			return itil.NewID()
		}
		return &incidentView{
			State:             rapid.SampledFrom([]incident.State{incident.StateNew, incident.StateInProgress, incident.StateResolved}).Draw(t, "state"),
			Priority:          itil.Priority(rapid.IntRange(0, 5).Draw(t, "priority")),
			AssignmentGroup:   rapid.SampledFrom([]string{"", "network", `quo"ted`, "ünï"}).Draw(t, "group"),
			ServiceID:         id("service"),
			CIID:              id("ci"),
			ReassignmentCount: rapid.IntRange(0, 9).Draw(t, "reassigned"),
			ReopenCount:       rapid.IntRange(0, 9).Draw(t, "reopened"),
			ResolutionCode:    rapid.SampledFrom([]string{"", "solution_provided", "resolved_by_problem"}).Draw(t, "code"),
			OpenedAt:          at("opened"),
			FirstRespondedAt:  at("responded"),
		}
	})
	names := []string{"state", "priority", "assignment_group", "service_id", "ci_id", "reassignment_count", "reopen_count", "problem_id",
		"resolution_code", "opened_at", "first_responded_at", "title", "assignee"}
	rapid.Check(t, func(t *rapid.T) {
		before := view.Draw(t, "before")
		if rapid.Bool().Draw(t, "unknown") {
			before = nil
		}
		var pl itil.Payload
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			created := view.Draw(t, "created")
			raw, _ := json.Marshal(created)
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			m["title"], m["notes"] = "Mail down", []any{map[string]any{"x": 1}}
			pl.Created, _ = json.Marshal(m)
		case 1:
			next := view.Draw(t, "next")
			nraw, _ := json.Marshal(next)
			var nm map[string]json.RawMessage
			_ = json.Unmarshal(nraw, &nm)
			for _, name := range rapid.SliceOfNDistinct(rapid.SampledFrom(names), 1, 5, func(s string) string { return s }).Draw(t, "fields") {
				to := nm[name]
				if to == nil || rapid.Bool().Draw(t, "null") {
					to = json.RawMessage(`null`)
				}
				pl.Fields = append(pl.Fields, itil.FieldChange{Field: name, From: json.RawMessage(`null`), To: to})
			}
		default:
			pl.Deleted = true
		}
		raw, err := json.Marshal(pl)
		if err != nil {
			t.Fatal(err)
		}
		want, wantChanged, err := pipeline.Apply(before, &pl)
		if err != nil {
			t.Fatal(err)
		}
		if before != nil {
			c := *before // the fold changes its view in place
			before = &c
		}
		k := newKPIFacts(nil)
		if before != nil {
			before.service, before.ci, before.group = k.internService(before.ServiceID), k.internService(before.CIID), k.internGroup(before.AssignmentGroup)
		}
		got, gotChanged, err := k.foldIncident(before, raw)
		if err != nil {
			t.Fatalf("fold %s: %v", raw, err)
		}
		if got != nil {
			// The interned service, CI and group are the view's own.
			if k.services[got.service] != got.ServiceID || (got.ci != 0 && k.services[got.ci] != got.CIID) || k.groups[got.group] != got.AssignmentGroup {
				t.Fatalf("payload %s: interned %d %d %d for %+v", raw, got.service, got.ci, got.group, got)
			}
			c := *got
			c.service, c.ci, c.group = 0, 0, 0
			got = &c
		}
		if gotChanged != wantChanged || !reflect.DeepEqual(got, want) {
			t.Fatalf("payload %s\nfold  %+v %v\napply %+v %v", raw, got, gotChanged, want, wantChanged)
		}
	})
}

// TestFoldRefusesWhatIsNoPayload: a payload the fold cannot read is an
// error, and the view is left as it was.
func TestFoldRefusesWhatIsNoPayload(t *testing.T) {
	for _, pl := range []string{
		`{"fields":[{"field":"state"}]}`,                 // no "to"
		`{"fields":[{"to":"resolved"}]}`,                 // no "field"
		`{"fields":[{"field":"state","to":"resolved"}`,   // cut short
		`{"fields":{"field":"state","to":"resolved"}}`,   // not a list
		`{"fields":[{"field":"opened_at","to":"soon"}]}`, // not a time
		`{"fields":[{"field":"priority","to":"high"}]}`,  // not a number
		`{"fields":[{"field":"state","to":"resolved"}]} x`,
		`["fields"]`,
	} {
		k := newKPIFacts(nil)
		v := &incidentView{State: incident.StateInProgress, Priority: 3, AssignmentGroup: "network"}
		was := *v
		got, changed, err := k.foldIncident(v, []byte(pl))
		if err == nil || changed || got != v || *v != was {
			t.Errorf("%s: %v, changed %v, view %+v", pl, err, changed, *v)
		}
	}
	// Keys and values with escapes are read as JSON reads them.
	k := newKPIFacts(nil)
	v := &incidentView{State: incident.StateInProgress}
	got, changed, err := k.foldIncident(v, []byte(`{"summary":"a \"quoted\" \\ summary","fields":[{"field":"assignment_group","from":"","to":"net\"work"},{"field":"st\u0061te","to":"resolved"}]}`))
	if err != nil || !changed || got.AssignmentGroup != `net"work` || got.State != incident.StateResolved {
		t.Fatalf("escapes: %v, changed %v, view %+v", err, changed, got)
	}
}
