package storage

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
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
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", s, got, want)
		}
	})
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if validJSON([]byte(deep)) != json.Valid([]byte(deep)) || validJSON([]byte("["+deep+"]")) != json.Valid([]byte("["+deep+"]")) {
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
