package pipeline

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
)

// sample has a field of every type the hand encoder handles, and some it
// leaves to encoding/json.
type sample struct {
	S  string            `json:"s"`
	B  bool              `json:"b"`
	I  int               `json:"i"`
	I6 int64             `json:"i6"`
	I3 int32             `json:"i3"`
	P  itil.Priority     `json:"p"`
	ID itil.ID           `json:"id"`
	T  time.Time         `json:"t"`
	A  itil.Actor        `json:"a"`
	M  map[string]string `json:"m"`
	L  []string          `json:"l"`
}

var text = rapid.OneOf(rapid.String(), rapid.StringOf(rapid.RuneFrom([]rune{0, 0x1f, 0x7f, '"', '\\', '<', '&', 0x2028, 0x2029, 0xfffd, 0x10ffff})),
	rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) }))

func drawSample(t *rapid.T, label string) *sample {
	var id itil.ID
	copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label+".id"))
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+1800)}
	return &sample{
		S: text.Draw(t, label+".s"), B: rapid.Bool().Draw(t, label+".b"), I: rapid.Int().Draw(t, label+".i"),
		I6: rapid.Int64().Draw(t, label+".i6"), I3: rapid.Int32().Draw(t, label+".i3"),
		P: itil.Priority(rapid.IntRange(-3, 9).Draw(t, label+".p")), ID: id,
		T: time.Unix(rapid.Int64Range(-62135596800+86400, 253402300799-86400).Draw(t, label+".t"), rapid.Int64Range(0, 999999999).Draw(t, label+".ns")).
			In(rapid.SampledFrom(zones).Draw(t, label+".zone")),
		A: itil.Actor{ID: text.Draw(t, label+".a")},
		M: rapid.MapOf(text, text).Draw(t, label+".m"),
		L: rapid.SliceOf(text).Draw(t, label+".l"),
	}
}

// The payload written by hand must be exactly what encoding/json writes
// (HTML escaping off) for the same itil.Payload.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	fields := fieldsOf[sample](nil)
	rapid.Check(t, func(t *rapid.T) {
		a, b := drawSample(t, "a"), drawSample(t, "b")
		if rapid.Bool().Draw(t, "same strings") {
			b.S = a.S
		}
		before := a
		summary, reason := text.Draw(t, "summary"), text.Draw(t, "reason")
		got, _, err := appendDiff(appendPayloadHead(nil, summary), fields, before, b)
		if err != nil {
			t.Fatal(err)
		}
		got = appendPayloadTail(got, reason)

		want := itil.Payload{Summary: summary, Reason: reason}
		old := before
		ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(b).Elem()
		for i := range ov.NumField() {
			if reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
				continue
			}
			ch := itil.FieldChange{Field: fields[i].name, From: encodeStd(t, ov.Field(i).Interface()), To: encodeStd(t, nv.Field(i).Interface())}
			want.Fields = append(want.Fields, ch)
		}
		if !bytes.Equal(got, encodeStd(t, want)) {
			t.Fatalf("got  %s\nwant %s", got, encodeStd(t, want))
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON %s", got)
		}
	})
}

func encodeStd(t *rapid.T, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Fields compare equal exactly when reflect.DeepEqual says so.
func TestEqualityMatchesDeepEqual(t *testing.T) {
	fields := fieldsOf[sample](nil)
	rapid.Check(t, func(t *rapid.T) {
		a, b := drawSample(t, "a"), drawSample(t, "b")
		if rapid.Bool().Draw(t, "copy") {
			*b = *a
		}
		ov, nv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
		for i, f := range fields {
			want := reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface())
			got := f.cmp(unsafe.Add(unsafe.Pointer(a), f.off), unsafe.Add(unsafe.Pointer(b), f.off))
			if got != want {
				t.Fatalf("field %s: equal %v, DeepEqual %v", f.name, got, want)
			}
		}
	})
}
