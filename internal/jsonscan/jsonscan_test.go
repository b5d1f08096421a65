package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// jsonish draws byte strings close to JSON: valid documents, their
// mutations, and fragments of the grammar glued together.
var jsonish = rapid.OneOf(
	rapid.Custom(func(t *rapid.T) string {
		v := rapid.OneOf(rapid.Just[any](nil), rapid.Map(rapid.Float64(), func(f float64) any { return f }),
			rapid.Map(rapid.String(), func(s string) any { return s }),
			rapid.Map(rapid.SliceOf(rapid.String()), func(s []string) any { return s }),
			rapid.Map(rapid.MapOf(rapid.String(), rapid.Int()), func(m map[string]int) any { return m })).Draw(t, "value")
		b, _ := json.Marshal(v)
		s := string(b)
		if len(s) > 0 && rapid.Bool().Draw(t, "mutate") {
			at := rapid.IntRange(0, len(s)-1).Draw(t, "at")
			s = s[:at] + rapid.SampledFrom([]string{"", "\\", "\"", "}", "]", ",", ":", "\x01", "\xff", "e", "-", "0", ".", " "}).Draw(t, "with") + s[at+1:]
		}
		return s
	}),
	rapid.Custom(func(t *rapid.T) string {
		parts := rapid.SliceOf(rapid.SampledFrom([]string{"{", "}", "[", "]", ",", ":", "\"a\"", "\"\\u00e9\"", "\"\\u12g4\"",
			"\"\\x\"", "1", "-0", "01", "1.", "1.5e+3", "2E", "true", "tru", "null", "false", " ", "\n", "\"\t\"", "\"\xc3\xa9\"", "\"\xff\""})).Draw(t, "parts")
		return strings.Join(parts, "")
	}),
	rapid.String(),
	// Long strings, whose bytes the validator takes eight at a time.
	rapid.Custom(func(t *rapid.T) string {
		body := rapid.SliceOf(rapid.SampledFrom([]string{"a", "é", " ", "\"", "\\", "\\n", "\\u00e9", "\x00", "\x1f", "\x7f", "\x80", "\xff", "!", "#", "\\x"})).Draw(t, "body")
		return `{"k":"` + strings.Join(body, "") + `"}`
	}),
)

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := jsonish.Draw(t, "input")
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", s, got, want)
		}
	})
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if Valid([]byte(deep)) != json.Valid([]byte(deep)) || Valid([]byte("["+deep+"]")) != json.Valid([]byte("["+deep+"]")) {
		t.Fatal("nesting limit differs from encoding/json")
	}
}

func TestSpecialFindsTheFirstByte(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b [8]byte
		for i := range b {
			b[i] = rapid.OneOf(rapid.Byte(), rapid.SampledFrom([]byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xff, '!', '#', ']'})).Draw(t, "byte")
		}
		want := -1
		for i, c := range b {
			if c == '"' || c == '\\' || c < 0x20 {
				want = i
				break
			}
		}
		got := -1
		if m := special(binary.LittleEndian.Uint64(b[:])); m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if got != want {
			t.Fatalf("special(%q) finds byte %d, want %d", b[:], got, want)
		}
	})
}

// TestMembersMatchDecoding: walking an object's members and an array's
// elements gives back what encoding/json decodes, member by member.
func TestMembersMatchDecoding(t *testing.T) {
	leaf := rapid.OneOf(rapid.Just[any](nil), rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(rapid.Float64Range(-1e6, 1e6), func(f float64) any { return f }),
		rapid.Map(rapid.String(), func(s string) any { return s }))
	value := rapid.OneOf(leaf, rapid.Map(rapid.SliceOfN(leaf, 0, 4), func(xs []any) any { return xs }),
		rapid.Map(rapid.MapOfN(rapid.StringMatching(`[a-z_]{1,8}`), leaf, 0, 4), func(m map[string]any) any { return m }))
	rapid.Check(t, func(t *rapid.T) {
		obj := rapid.MapOfN(rapid.StringMatching(`[a-z_]{1,12}`), value, 0, 8).Draw(t, "object")
		b, err := json.MarshalIndent(obj, "", rapid.SampledFrom([]string{"", " ", "\t"}).Draw(t, "indent"))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]any{}
		if !Members(b, func(key, val []byte) bool {
			var v any
			if err := json.Unmarshal(val, &v); err != nil {
				t.Fatalf("member %s: %q: %v", key, val, err)
			}
			seen[string(key)] = v
			return true
		}) {
			t.Fatalf("Members refused %s", b)
		}
		var want map[string]any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(want, seen) {
			t.Fatalf("members %v, decoded %v", seen, want)
		}
		var elems []any
		list, _ := json.Marshal([]any{obj, 1, "x"})
		if !Elements(list, func(val []byte) bool {
			var v any
			if err := json.Unmarshal(val, &v); err != nil {
				t.Fatalf("element %q: %v", val, err)
			}
			elems = append(elems, v)
			return true
		}) || len(elems) != 3 {
			t.Fatalf("Elements of %s: %v", list, elems)
		}
	})
	if Members([]byte(`[1]`), func([]byte, []byte) bool { return true }) || Elements([]byte(`{}`), func([]byte) bool { return true }) {
		t.Fatal("an array is no object, nor an object an array")
	}
	for _, b := range []string{`{"a":1} garbage`, `{"a":1}}`, `{} x`, `{`, `{"a":}`} {
		if Members([]byte(b), func([]byte, []byte) bool { return true }) {
			t.Fatalf("Members accepts %s", b)
		}
	}
	for _, b := range []string{`[1]]`, `[] x`, `[1,]`} {
		if Elements([]byte(b), func([]byte) bool { return true }) {
			t.Fatalf("Elements accepts %s", b)
		}
	}
}
