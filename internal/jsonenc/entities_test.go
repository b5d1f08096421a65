package jsonenc_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/jsonenc"
)

// The entities written on every command are encoded by hand: a field of a
// type the package does not handle would quietly send them back to
// encoding/json.
func TestEntitiesAreHandled(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 5, 49, 123456789, time.UTC)
	for _, v := range []any{
		&incident.Incident{ID: itil.NewID(), Version: 3, Number: "INC0000001", Title: "<mail> & \u2028 down", Caller: itil.Actor{ID: "c"},
			Channel: incident.Phone, CIID: itil.NewID(), Impact: 2, Urgency: 1, Priority: 2, State: incident.StateInProgress,
			Override: &incident.PriorityOverride{Priority: 1, Reason: "VIP", By: itil.Actor{ID: "a", Name: "A"}, At: now},
			Assignee: "alex", ReassignmentCount: 1, Major: true, OpenedBy: itil.Actor{ID: "a"}, OpenedAt: now, UpdatedAt: now.In(time.FixedZone("x", 3600))},
		&itil.Note{ID: itil.NewID(), Version: 1, SubjectKind: "incident", SubjectID: itil.NewID(), Visibility: "public",
			Author: itil.Actor{ID: "a"}, At: now, Text: "\"quoted\"\n"},
	} {
		enc, ok := jsonenc.For(reflect.TypeOf(v).Elem(), true)
		if !ok {
			t.Errorf("%T is not handled", v)
			continue
		}
		got, err := enc(nil, reflect.ValueOf(v).UnsafePointer())
		want, _ := json.Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Errorf("%T: got %s (%v), want %s", v, got, err, want)
		}
	}
}
