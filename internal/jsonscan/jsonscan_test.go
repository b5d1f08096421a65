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

// TestCursorMatchesDecoding: a Cursor, checked or not, walks a valid
// document's members and elements, at any depth, as encoding/json
// decodes them.
func TestCursorMatchesDecoding(t *testing.T) {
	leaf := rapid.OneOf(rapid.Just[any](nil), rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Map(rapid.Float64Range(-1e6, 1e6), func(f float64) any { return f }),
		rapid.Map(rapid.String(), func(s string) any { return s }))
	value := rapid.OneOf(leaf, rapid.Map(rapid.SliceOfN(leaf, 0, 4), func(xs []any) any { return xs }),
		rapid.Map(rapid.MapOfN(rapid.StringMatching(`[a-z_"\\\\]{1,8}`), leaf, 0, 4), func(m map[string]any) any { return m }))
	rapid.Check(t, func(t *rapid.T) {
		obj := rapid.MapOfN(rapid.StringMatching(`[a-z_]{1,12}`), value, 0, 8).Draw(t, "object")
		doc := []any{obj, 1, "x", []any{obj}}
		b, err := json.MarshalIndent(doc, "", rapid.SampledFrom([]string{"", " ", "\t"}).Draw(t, "indent"))
		if err != nil {
			t.Fatal(err)
		}
		// decode rebuilds the value at the cursor, descending into objects
		// and arrays with Members and Elements or taking it whole with
		// Value, as drawn.
		var decode func(c *Cursor) any
		decode = func(c *Cursor) any {
			raw := c.b[Space(c.b, c.i):]
			switch {
			case raw[0] == '{' && rapid.Bool().Draw(t, "descend"):
				m := map[string]any{}
				if !c.Members(func(key []byte) bool {
					k := string(key)
					if rapid.Bool().Draw(t, "leave") {
						return true // left: skipped
					}
					m[k] = decode(c)
					return true
				}) {
					t.Fatalf("Members refused %s", raw)
				}
				return m
			case raw[0] == '[' && rapid.Bool().Draw(t, "descend"):
				xs := []any{}
				if !c.Elements(func() bool {
					xs = append(xs, decode(c))
					return true
				}) {
					t.Fatalf("Elements refused %s", raw)
				}
				return xs
			case raw[0] == '"' && rapid.Bool().Draw(t, "text"):
				text, ok := c.Text()
				if !ok {
					t.Fatalf("Text refused %s", raw)
				}
				return string(text)
			}
			val := c.Value()
			var v any
			if err := json.Unmarshal(val, &v); err != nil {
				t.Fatalf("value %q: %v", val, err)
			}
			return v
		}
		c := NewCursor(b)
		if rapid.Bool().Draw(t, "checked") {
			c = NewCheckedCursor(b)
		}
		got := decode(&c)
		if !c.End() {
			t.Fatalf("the cursor did not end at the end of %s", b)
		}
		var want any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		// Members left unread are missing from got: drop them from want.
		var prune func(w, g any) any
		prune = func(w, g any) any {
			switch w := w.(type) {
			case map[string]any:
				gm, ok := g.(map[string]any)
				if !ok {
					return w
				}
				out := map[string]any{}
				for k, x := range w {
					if gx, ok := gm[k]; ok {
						out[k] = prune(x, gx)
					}
				}
				return out
			case []any:
				gs, ok := g.([]any)
				if !ok || len(gs) != len(w) {
					return w
				}
				out := make([]any, len(w))
				for i := range w {
					out[i] = prune(w[i], gs[i])
				}
				return out
			}
			return w
		}
		if want = prune(want, got); !reflect.DeepEqual(want, got) {
			t.Fatalf("walked %v, decoded %v", got, want)
		}
	})
}

// TestCursorNeverReadsPast: on bytes that are not JSON, a Cursor's walk,
// checked or not, ends, with false or bytes that are not JSON, and never
// panics.
func TestCursorNeverReadsPast(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := []byte(jsonish.Draw(t, "bytes"))
		var walk func(c *Cursor, depth int)
		walk = func(c *Cursor, depth int) {
			switch {
			case depth < 4 && rapid.Bool().Draw(t, "members"):
				c.Members(func([]byte) bool { walk(c, depth+1); return rapid.Bool().Draw(t, "go on") })
			case depth < 4 && rapid.Bool().Draw(t, "elements"):
				c.Elements(func() bool { walk(c, depth+1); return rapid.Bool().Draw(t, "go on") })
			default:
				c.Value()
			}
		}
		c := NewCursor(b)
		if rapid.Bool().Draw(t, "checked") {
			c = NewCheckedCursor(b)
		}
		walk(&c, 0)
		c.End()
	})
	for _, b := range []string{`[1]`, `{`, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `{"a`} {
		c := NewCursor([]byte(b))
		if c.Members(func([]byte) bool { return true }) {
			t.Fatalf("Members walks %s", b)
		}
	}
	for _, b := range []string{`{}`, `[1,]`, `[1 2]`, `[`} {
		c := NewCursor([]byte(b))
		if c.Elements(func() bool { return true }) {
			t.Fatalf("Elements walks %s", b)
		}
	}
	for _, b := range []string{`{"a":1} x`, `{}}`} {
		c := NewCursor([]byte(b))
		if c.Members(func([]byte) bool { return true }); c.End() {
			t.Fatalf("End after %s", b)
		}
	}
}

// TestCursorCheckedMatchesValid: a checked Cursor that walks bytes to their
// end, descending where they let it, ends on exactly the documents
// json.Valid accepts, nested to encoding/json's limit and no deeper.
func TestCursorCheckedMatchesValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := []byte(jsonish.Draw(t, "bytes"))
		var walk func(c *Cursor)
		walk = func(c *Cursor) {
			var at byte
			if i := Space(c.b, c.i); i < len(c.b) {
				at = c.b[i]
			}
			switch {
			case at == '{' && rapid.Bool().Draw(t, "members"):
				c.Members(func([]byte) bool { walk(c); return true })
			case at == '[' && rapid.Bool().Draw(t, "elements"):
				c.Elements(func() bool { walk(c); return true })
			case at == '"' && rapid.Bool().Draw(t, "text"):
				c.Text()
			default:
				c.Value()
			}
		}
		c := NewCheckedCursor(b)
		walk(&c)
		if got, want := c.End(), json.Valid(b); got != want {
			t.Fatalf("checked walk of %q ends %v, json.Valid = %v", b, got, want)
		}
	})
	// descend walks d arrays deep, then takes the value there whole.
	var descend func(c *Cursor, d int)
	descend = func(c *Cursor, d int) {
		if d == 0 {
			c.Value()
			return
		}
		c.Elements(func() bool { descend(c, d-1); return true })
	}
	for _, n := range []int{maxDepth, maxDepth + 1} {
		b := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		for _, d := range []int{0, n / 2, n} {
			c := NewCheckedCursor(b)
			if descend(&c, d); c.End() != (n <= maxDepth) {
				t.Fatalf("%d arrays deep, walked %d deep: End() = %v", n, d, c.End())
			}
		}
	}
	// A walk that goes on where fn stopped does not vouch for the bytes.
	for _, b := range []string{`{"a":{"x":1,"y":2}}`, `{"a":{"x":1,"y":2}`} {
		c := NewCheckedCursor([]byte(b))
		c.Members(func(key []byte) bool {
			if string(key) == "a" {
				c.Members(func([]byte) bool { c.Value(); return false })
			}
			return true
		})
		if c.End() {
			t.Fatalf("End after a stopped walk of %s", b)
		}
	}
}
