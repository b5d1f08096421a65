// Package jsonscan reads JSON without decoding it: it checks that bytes
// are one JSON value, exactly as encoding/json's Valid does, and walks an
// object's members or an array's elements as raw bytes, so that a reader
// that wants a few fields of a large payload takes them without decoding
// the rest. The storage backends check every journal payload with Valid;
// the KPI read model (package lifecycle) takes the fields it counts from
// each event with a Cursor, and the trend watch (package problem), which
// may be given any bytes, those it reads with a checked Cursor.
package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
)

// Every event's payload is checked at Append. encoding/json's Valid ran
// at about 500 MB/s and cost an eighth of opening and assigning an
// incident on the memory backend (BenchmarkOpenAndTransition), so the
// check is a small single-pass validator of its own, held to accept
// exactly what json.Valid accepts by TestValidJSONMatchesEncodingJSON.

// maxDepth is encoding/json's nesting limit: deeper input is invalid.
const maxDepth = 10000

// Valid reports whether b is one JSON value with optional white space
// around it, as json.Valid does.
func Valid(b []byte) bool {
	i := Space(b, 0)
	i, ok := value(b, i, 0)
	if !ok {
		return false
	}
	return Space(b, i) == len(b)
}

// Space returns the index of the first byte at or after i that is not
// JSON white space.
func Space(b []byte, i int) int {
	// Most calls find no space: one comparison tells.
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// value validates the value at b[i:] and returns the index after it.
func value(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := str(b, i+1)
		return end, ok
	case c == '{':
		if depth+1 > maxDepth {
			return i, false
		}
		i = Space(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			var ok bool
			if i, _, ok = str(b, i+1); !ok {
				return i, false
			}
			i = Space(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			if i, ok = value(b, Space(b, i+1), depth+1); !ok {
				return i, false
			}
			i = Space(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == '}' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = Space(b, i+1)
		}
	case c == '[':
		if depth+1 > maxDepth {
			return i, false
		}
		i = Space(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = value(b, i, depth+1); !ok {
				return i, false
			}
			i = Space(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == ']' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = Space(b, i+1)
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return number(b, i)
	}
	return i, false
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// str validates a string whose opening quote is before b[i], and returns
// the index after it and whether it has an escape.
func str(b []byte, i int) (end int, escaped, ok bool) {
	for i < len(b) {
		// Payloads are mostly string bytes: skip eight at a time up to
		// the first that is a quote, a backslash or a control character.
		for i+8 <= len(b) {
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, true
		case c < 0x20:
			return i, false, false
		case c == '\\':
			i, escaped = i+1, true
			if i >= len(b) {
				return i, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					return i, false, false
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, false, false
					}
				}
				i += 5
			default:
				return i, false, false
			}
		default:
			i++ // any other byte, as encoding/json (it does not check UTF-8)
		}
	}
	return i, false, false
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special returns a word whose lowest set bit is the high bit of the first
// byte of w (in memory order) that is '"', '\\' or below 0x20, or 0 when
// there is none. Bits above that one may be set spuriously (borrows), so
// only the lowest counts.
func special(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s | (w-ones*0x20)&^w) & highs
}

func number(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}

// A Cursor walks one JSON document in a single pass: its reader takes
// each value as it comes, raw (Value) or, for an object or an array,
// member by member (Members) or element by element (Elements). It trusts
// the document to be valid JSON (Valid: storage checks every journal
// payload at Append), finding where each value ends without checking
// what is inside it; on other input its methods may return bytes that
// are not JSON, or false, but never read past the document. A checked
// Cursor (NewCheckedCursor) trusts nothing.
type Cursor struct {
	b     []byte
	i     int
	depth int // checked: how many objects and arrays the cursor is in
	check bool
	bad   bool
}

// NewCursor returns a Cursor at the start of b.
func NewCursor(b []byte) Cursor { return Cursor{b: b} }

// NewCheckedCursor returns a Cursor at the start of b that checks what it
// walks and skips as Valid does, so that End also reports whether b is
// valid JSON. A reader of bytes not known to be valid takes its fields in
// one pass over them, where Valid and then a Cursor take two.
func NewCheckedCursor(b []byte) Cursor { return Cursor{b: b, check: true} }

// Value returns the raw value at the cursor, and moves past it; nil when
// there is none.
func (c *Cursor) Value() []byte {
	i := Space(c.b, c.i)
	end := i
	if !c.check {
		end = skip(c.b, i)
	} else if e, ok := value(c.b, i, c.depth); ok {
		end = e
	}
	if end == i {
		c.bad = true
		return nil
	}
	c.i = end
	return c.b[i:end]
}

// Text returns the string at the cursor, decoded as encoding/json
// decodes it (its bytes as written when it has no escape), and moves past
// it; false when the value there is not a string.
func (c *Cursor) Text() ([]byte, bool) {
	i := Space(c.b, c.i)
	if i >= len(c.b) || c.b[i] != '"' {
		c.bad = true
		return nil, false
	}
	var end int
	var escaped bool
	if c.check {
		end, escaped = checkedString(c.b, i+1)
	} else {
		end, escaped = skipString(c.b, i+1)
	}
	if end > len(c.b) {
		c.bad = true
		return nil, false
	}
	c.i = end
	if !escaped {
		return c.b[i+1 : end-1], true
	}
	s := unquote(c.b[i:end])
	return s, s != nil
}

// Members calls fn with the key of each member of the object at the
// cursor (decoded, as encoding/json reads it), in order, until
// fn returns false. fn takes the member's value from the cursor (Value,
// Members or Elements); a value it leaves is skipped. Members returns
// false when the cursor is not at an object it can walk; when fn stopped
// it, true, with the cursor inside the object.
func (c *Cursor) Members(fn func(key []byte) bool) bool {
	b := c.b
	i := Space(b, c.i)
	if i >= len(b) || b[i] != '{' || !c.enter() {
		c.bad = true
		return false
	}
	if i = Space(b, i+1); i < len(b) && b[i] == '}' {
		c.i = i + 1
		c.leave()
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			c.bad = true
			return false
		}
		var k int
		var escaped bool
		if c.check {
			k, escaped = checkedString(b, i+1)
		} else {
			k, escaped = skipString(b, i+1)
		}
		if k > len(b) {
			c.bad = true
			return false
		}
		key := b[i+1 : k-1]
		if escaped {
			if key = unquote(b[i:k]); key == nil {
				c.bad = true
				return false
			}
		}
		if i = Space(b, k); i >= len(b) || b[i] != ':' {
			c.bad = true
			return false
		}
		c.i = i + 1
		if !fn(key) {
			return !c.bad
		}
		if c.i == i+1 {
			c.Value()
		}
		if c.bad {
			return false
		}
		if i = Space(b, c.i); i < len(b) && b[i] == '}' {
			c.i = i + 1
			c.leave()
			return true
		}
		if i >= len(b) || b[i] != ',' {
			c.bad = true
			return false
		}
		i = Space(b, i+1)
	}
}

// Elements calls fn for each element of the array at the cursor, in
// order, until fn returns false; fn takes the element from the cursor as
// Members' fn takes a value. It returns false when the cursor is not at
// an array it can walk.
func (c *Cursor) Elements(fn func() bool) bool {
	b := c.b
	i := Space(b, c.i)
	if i >= len(b) || b[i] != '[' || !c.enter() {
		c.bad = true
		return false
	}
	if i = Space(b, i+1); i < len(b) && b[i] == ']' {
		c.i = i + 1
		c.leave()
		return true
	}
	for {
		c.i = i
		if !fn() {
			return !c.bad
		}
		if c.i == i {
			c.Value()
		}
		if c.bad {
			return false
		}
		if i = Space(b, c.i); i < len(b) && b[i] == ']' {
			c.i = i + 1
			c.leave()
			return true
		}
		if i >= len(b) || b[i] != ',' {
			c.bad = true
			return false
		}
		i = Space(b, i+1)
	}
}

// End reports whether the walk found what it expected and reached the
// end of the document (white space aside); checked, whether it also
// found the document valid, having walked all of it (a walk that fn
// stopped leaves the cursor inside an object or array).
func (c *Cursor) End() bool {
	return !c.bad && c.depth == 0 && Space(c.b, c.i) == len(c.b)
}

// enter counts, checked, one more object or array the cursor is in;
// false when that is deeper than Valid lets JSON nest.
func (c *Cursor) enter() bool {
	if !c.check {
		return true
	}
	c.depth++
	return c.depth <= maxDepth
}

// leave counts, checked, one object or array less.
func (c *Cursor) leave() {
	if c.check {
		c.depth--
	}
}

// checkedString is skipString for a checked Cursor: past len(b) when the
// string is not valid.
func checkedString(b []byte, i int) (int, bool) {
	end, escaped, ok := str(b, i)
	if !ok {
		return len(b) + 1, false
	}
	return end, escaped
}

// Reading a journal payload is most of what the KPI read model pays per
// event (BenchmarkKPIApply in package lifecycle). Walking it with
// functions that validated each value to find its end went over the same
// bytes once per level of nesting; the Cursor goes over them once, and
// only finds ends, the payload having been validated at Append.

// skip returns the index after the value that starts at b[i], trusting
// it to be valid JSON; i when there is none.
func skip(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		end, _ := skipString(b, i+1)
		return min(end, len(b))
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = skipString(b, i+1)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	case '}', ']', ',', ':':
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] > ' ' {
		i++
	}
	return i
}

// skipString returns the index after the closing quote of the string
// whose opening quote is before b[i] (past len(b) when it has none), and
// whether the string has an escape.
func skipString(b []byte, i int) (int, bool) {
	escaped := false
	for i < len(b) {
		for i+8 <= len(b) {
			if m := quoteOrEscape(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			i, escaped = i+2, true
		default:
			i++
		}
	}
	return len(b) + 1, escaped
}

// unquote decodes the string s (quotes included) that has an escape;
// nil when it is not one.
func unquote(s []byte) []byte {
	var out string
	if json.Unmarshal(s, &out) != nil {
		return nil
	}
	return []byte(out)
}

// quoteOrEscape is special without the control characters.
func quoteOrEscape(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s) & highs
}
