package storage_test

import (
	"encoding/json"
	"strconv"
	"strings"
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

// TestCheckLimits: each check accepts a value at its limit and names the
// field of one a byte longer, with the limit in the reason.
func TestCheckLimits(t *testing.T) {
	name, term, key := strings.Repeat("n", storage.MaxName), "t="+strings.Repeat("v", storage.MaxTerm-2), strings.Repeat("k", storage.MaxSortKey)
	rec := storage.Record{Kind: name, ID: checkID(1), Terms: []string{"a=1", term}, SortKey: key}
	ev := validEvent()
	ev.Kind, ev.Type = name, name
	require.NoError(t, storage.CheckName("tenant", name))
	require.NoError(t, storage.CheckRecord(rec))
	require.NoError(t, storage.CheckQuery(storage.Query{Kind: name, Terms: rec.Terms}))
	require.NoError(t, storage.CheckLookup(name, rec.Terms))
	require.NoError(t, storage.CheckJournalQuery(storage.JournalQuery{Kinds: []string{name}}))
	require.NoError(t, storage.CheckEvent(ev))

	tooLong := func(err error, field string, limit int) {
		t.Helper()
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v)
		require.Equal(t, []itil.FieldError{{Field: field, Reason: "must be at most " + strconv.Itoa(limit) + " bytes"}}, v.Fields)
	}
	tooLong(storage.CheckName("tenant", name+"x"), "tenant", storage.MaxName)
	long := rec
	long.Kind = name + "x"
	tooLong(storage.CheckRecord(long), "kind", storage.MaxName)
	long = rec
	long.Terms = []string{"a=1", term + "x"}
	tooLong(storage.CheckRecord(long), "terms[1]", storage.MaxTerm)
	long = rec
	long.SortKey = key + "x"
	tooLong(storage.CheckRecord(long), "sort_key", storage.MaxSortKey)
	tooLong(storage.CheckQuery(storage.Query{Kind: "k", Terms: []string{term + "x"}}), "terms[0]", storage.MaxTerm)
	tooLong(storage.CheckLookup("k", []string{"a=1", term + "x"}), "terms[1]", storage.MaxTerm)
	tooLong(storage.CheckLookup(name+"x", nil), "kind", storage.MaxName)
	tooLong(storage.CheckJournalQuery(storage.JournalQuery{Kinds: []string{name + "x"}}), "kinds[0]", storage.MaxName)
	ev.Type = name + "x"
	tooLong(storage.CheckEvent(ev), "type", storage.MaxName)
}

func TestCheckLookupForm(t *testing.T) {
	err := storage.CheckLookup("", []string{"a=1", "=x", "novalue"})
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range []string{"kind", "terms[1]", "terms[2]"} {
		require.True(t, v.Has(f), "%v should name %s", v, f)
	}
}

func TestChecksDoNotAllocate(t *testing.T) {
	name, term, key := strings.Repeat("n", storage.MaxName), "t="+strings.Repeat("v", storage.MaxTerm-2), strings.Repeat("k", storage.MaxSortKey)
	rec := storage.Record{Kind: name, ID: checkID(1), Terms: []string{"a=1", term}, SortKey: key}
	q := storage.Query{Kind: name, Terms: rec.Terms}
	allocs := testing.AllocsPerRun(100, func() {
		if storage.CheckName("tenant", name) != nil || storage.CheckRecord(rec) != nil || storage.CheckQuery(q) != nil ||
			storage.CheckLookup(name, rec.Terms) != nil {
			t.Fatal("valid input refused")
		}
	})
	require.Zero(t, allocs)
}
