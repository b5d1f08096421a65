package storage_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

func checkID(i int) itil.ID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i), byte(i >> 8)}) }

func validEvent() itil.Event {
	return itil.Event{Kind: "relationship", SubjectID: checkID(0), SubjectVersion: 1,
		Actor: itil.Actor{ID: "alice"}, Time: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), Type: "related",
		Payload: json.RawMessage(`{"from":"a","to":"b","note":"\u00e9\n"}`), Refs: []itil.ID{checkID(1), checkID(2)}}
}

func TestCheckEventValid(t *testing.T) {
	ev := validEvent()
	require.NoError(t, storage.CheckEvent(ev))
	ev.Payload, ev.Refs = nil, nil
	require.NoError(t, storage.CheckEvent(ev))
	ev.Payload = json.RawMessage(` null `)
	require.NoError(t, storage.CheckEvent(ev))
	ev.Refs = make([]itil.ID, storage.MaxRefs)
	for i := range ev.Refs {
		ev.Refs[i] = checkID(i + 1)
	}
	require.NoError(t, storage.CheckEvent(ev), "MaxRefs refs")
}

func TestCheckEventDoesNotAllocate(t *testing.T) {
	ev := validEvent()
	ev.Refs = make([]itil.ID, storage.MaxRefs)
	for i := range ev.Refs {
		ev.Refs[i] = checkID(i + 1)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if storage.CheckEvent(ev) != nil {
			t.Fatal("valid event refused")
		}
	})
	require.Zero(t, allocs)
}

func TestCheckEventRefusesSchemaViolations(t *testing.T) {
	tooMany := make([]itil.ID, storage.MaxRefs+1)
	for i := range tooMany {
		tooMany[i] = checkID(i + 1)
	}
	for _, tc := range []struct {
		name   string
		edit   func(*itil.Event)
		fields []string
	}{
		{"payload not JSON", func(ev *itil.Event) { ev.Payload = json.RawMessage(`{"a":`) }, []string{"payload"}},
		{"payload blank", func(ev *itil.Event) { ev.Payload = json.RawMessage(" ") }, []string{"payload"}},
		{"payload raw control character", func(ev *itil.Event) { ev.Payload = json.RawMessage("\"a\x01b\"") }, []string{"payload"}},
		{"payload two values", func(ev *itil.Event) { ev.Payload = json.RawMessage(`{} {}`) }, []string{"payload"}},
		{"nil ref", func(ev *itil.Event) { ev.Refs = []itil.ID{checkID(1), itil.NilID} }, []string{"refs[1]"}},
		{"repeated ref", func(ev *itil.Event) { ev.Refs = []itil.ID{checkID(1), checkID(2), checkID(1)} }, []string{"refs[2]"}},
		{"ref is the subject", func(ev *itil.Event) { ev.Refs = []itil.ID{ev.SubjectID} }, []string{"refs[0]"}},
		{"too many refs", func(ev *itil.Event) { ev.Refs = tooMany }, []string{"refs"}},
		{"all at once", func(ev *itil.Event) {
			ev.Payload = json.RawMessage(`nope`)
			ev.Refs = []itil.ID{itil.NilID, ev.SubjectID, checkID(3), checkID(3)}
		}, []string{"payload", "refs[0]", "refs[1]", "refs[3]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := validEvent()
			tc.edit(&ev)
			err := storage.CheckEvent(ev)
			var v *itil.ValidationError
			require.ErrorAs(t, err, &v)
			for _, f := range tc.fields {
				require.True(t, v.Has(f), "%v should name %s", v, f)
			}
			require.Len(t, v.Fields, len(tc.fields), "%v", v)
		})
	}
}

func TestCheckJournalQuery(t *testing.T) {
	require.NoError(t, storage.CheckJournalQuery(storage.JournalQuery{Kinds: []string{"incident", "ci"}}))
	err := storage.CheckJournalQuery(storage.JournalQuery{After: -1, Limit: -1, Kinds: []string{"incident", "", "a\x00"}})
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range []string{"after", "limit", "kinds[1]", "kinds[2]"} {
		require.True(t, v.Has(f), "%v should name %s", v, f)
	}
	require.Len(t, v.Fields, 4)
}
