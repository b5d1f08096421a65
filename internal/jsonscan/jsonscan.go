// Package jsonscan reads JSON without decoding it: it checks that bytes
// are one JSON value, exactly as encoding/json's Valid does, and walks an
// object's members or an array's elements as raw bytes, so that a reader
// that wants a few fields of a large payload takes them without decoding
// the rest. The storage backends check every journal payload with Valid;
// the KPI read model (package lifecycle) takes the fields it counts from
// each event with Members and Elements.
package jsonscan

import (
	"encoding/binary"
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
		return str(b, i+1)
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
			if i, ok = str(b, i+1); !ok {
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

// str validates a string whose opening quote is before b[i].
func str(b []byte, i int) (int, bool) {
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
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, false
					}
				}
				i += 5
			default:
				return i, false
			}
		default:
			i++ // any other byte, as encoding/json (it does not check UTF-8)
		}
	}
	return i, false
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

// Value returns the index after the JSON value that starts at b[i]
// (white space before it skipped), false when there is none or it is
// not valid JSON.
func Value(b []byte, i int) (int, bool) { return value(b, Space(b, i), 0) }

// Members calls fn with the raw key (between its quotes, escapes left as
// written) and raw value of each member of the object b holds, in order,
// until fn returns false. It returns false when b is not an object it
// can walk (with nothing but white space after it), checking the members
// up to where fn stopped.
func Members(b []byte, fn func(key, val []byte) bool) bool {
	i := Space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return Space(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		k, ok := str(b, i+1)
		if !ok {
			return false
		}
		key := b[i+1 : k-1]
		i = Space(b, k)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		start := Space(b, i+1)
		end, ok := value(b, start, 1)
		if !ok {
			return false
		}
		if !fn(key, b[start:end]) {
			return true
		}
		i = Space(b, end)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return Space(b, i+1) == len(b) // nothing after the object
		}
		if b[i] != ',' {
			return false
		}
		i = Space(b, i+1)
	}
}

// Elements calls fn with each element of the array b holds, raw, until
// fn returns false. It returns false when b is not an array it can walk.
func Elements(b []byte, fn func(val []byte) bool) bool {
	i := Space(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = Space(b, i+1)
	if i < len(b) && b[i] == ']' {
		return Space(b, i+1) == len(b)
	}
	for {
		end, ok := value(b, i, 1)
		if !ok {
			return false
		}
		if !fn(b[i:end]) {
			return true
		}
		i = Space(b, end)
		if i >= len(b) {
			return false
		}
		if b[i] == ']' {
			return Space(b, i+1) == len(b) // nothing after the array
		}
		if b[i] != ',' {
			return false
		}
		i = Space(b, i+1)
	}
}
