package pipeline

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/itilkit/itil"
)

// Every command journals an itil.Payload with the old and new value of the
// fields it changed. Encoding it with encoding/json cost more than the
// rest of the pipeline together (BenchmarkOpenAndTransition: 7x the raw
// limit against 3x), so the payload and the common field types are
// appended by hand, exactly as encoding/json writes them without HTML
// escaping (TestEncodeMatchesEncodingJSON); other types fall back to
// encoding/json.

// valueEncoder appends the JSON of the field at p.
type valueEncoder func(b []byte, p unsafe.Pointer) ([]byte, error)

// encoderFor picks the encoder of a field type once.
func encoderFor(t reflect.Type) valueEncoder {
	// The types are looked up here, not in package variables: specs are
	// built during package initialisation, before those would be set.
	switch {
	case t == reflect.TypeFor[time.Time]():
		return func(b []byte, p unsafe.Pointer) ([]byte, error) {
			tm := *(*time.Time)(p)
			if y := tm.Year(); y < 0 || y > 9999 {
				return json.Marshal(tm) // reports the error encoding/json gives
			}
			b = append(b, '"')
			b = tm.AppendFormat(b, time.RFC3339Nano)
			return append(b, '"'), nil
		}
	case t == reflect.TypeFor[itil.Actor]():
		return func(b []byte, p unsafe.Pointer) ([]byte, error) {
			a := (*itil.Actor)(p)
			b = appendString(append(b, `{"id":`...), a.ID)
			if a.Name != "" {
				b = appendString(append(b, `,"name":`...), a.Name)
			}
			return append(b, '}'), nil
		}
	case t == reflect.TypeFor[itil.ID]():
		return func(b []byte, p unsafe.Pointer) ([]byte, error) {
			b = append(b, '"')
			b = AppendID(b, *(*itil.ID)(p))
			return append(b, '"'), nil
		}
	case reflect.PointerTo(t).Implements(reflect.TypeFor[json.Marshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextMarshaler]()):
		return fallback(t)
	}
	switch t.Kind() {
	case reflect.String:
		return func(b []byte, p unsafe.Pointer) ([]byte, error) { return appendString(b, *(*string)(p)), nil }
	case reflect.Bool:
		return func(b []byte, p unsafe.Pointer) ([]byte, error) { return strconv.AppendBool(b, *(*bool)(p)), nil }
	case reflect.Int:
		return func(b []byte, p unsafe.Pointer) ([]byte, error) {
			return strconv.AppendInt(b, int64(*(*int)(p)), 10), nil
		}
	case reflect.Int64:
		return func(b []byte, p unsafe.Pointer) ([]byte, error) { return strconv.AppendInt(b, *(*int64)(p), 10), nil }
	case reflect.Int32:
		return func(b []byte, p unsafe.Pointer) ([]byte, error) {
			return strconv.AppendInt(b, int64(*(*int32)(p)), 10), nil
		}
	}
	return fallback(t)
}

func fallback(t reflect.Type) valueEncoder {
	return func(b []byte, p unsafe.Pointer) ([]byte, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(reflect.NewAt(t, p).Elem().Interface()); err != nil {
			return nil, err
		}
		return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
	}
}

// appendPayloadHead starts a payload object with its summary.
func appendPayloadHead(b []byte, summary string) []byte {
	b = append(b, `{"summary":`...)
	return appendString(b, summary)
}

// appendPayloadTail ends a payload object with its reason.
func appendPayloadTail(b []byte, reason string) []byte {
	if reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, reason)
	}
	return append(b, '}')
}

// AppendID appends the canonical text form of an ID, as id.String()
// returns it, without allocating (index terms are built with it too).
func AppendID(b []byte, id itil.ID) []byte {
	const hexDigits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped, as encoding/json does without HTML escaping.
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
