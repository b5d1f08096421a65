package incident

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends c as JSON, exactly as encoding/json would without HTML
// escaping. Every command journals a Change; encoding it by hand keeps
// reflection off the command path.
func (c Change) appendJSON(b []byte) []byte {
	b = slices.Grow(b, 80+len(c.Summary)+len(c.Reason))
	b = append(b, `{"summary":`...)
	b = appendString(b, c.Summary)
	if c.From != "" {
		b = append(b, `,"from":`...)
		b = appendString(b, string(c.From))
	}
	b = append(b, `,"state":`...)
	b = appendString(b, string(c.State))
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, int64(c.Priority), 10)
	if c.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, c.Reason)
	}
	return append(b, '}')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
