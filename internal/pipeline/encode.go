package pipeline

import (
	"bytes"
	"encoding/json"
	"reflect"
	"unsafe"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/jsonenc"
)

// Every command journals an itil.Payload with the old and new value of the
// fields it changed. Encoding it with encoding/json cost more than the
// rest of the pipeline together (BenchmarkOpenAndTransition: 7x the raw
// limit against 3x), so the payload is appended by hand, and so are the
// field types internal/jsonenc knows, exactly as encoding/json writes them
// without HTML escaping (TestEncodeMatchesEncodingJSON); other types fall
// back to encoding/json.

// valueEncoder appends the JSON of the field at p.
type valueEncoder func(b []byte, p unsafe.Pointer) ([]byte, error)

// encoderFor picks the encoder of a field type once.
func encoderFor(t reflect.Type) valueEncoder {
	enc, ok := jsonenc.For(t, false)
	if !ok {
		return fallback(t)
	}
	// A value jsonenc refuses (a time out of RFC 3339's range) gets
	// encoding/json's error.
	std := fallback(t)
	return func(b []byte, p unsafe.Pointer) ([]byte, error) {
		out, err := enc(b, p)
		if err != nil {
			return std(b, p)
		}
		return out, nil
	}
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
func AppendID(b []byte, id itil.ID) []byte { return jsonenc.AppendID(b, id) }

// appendString appends s as a JSON string, as encoding/json does without
// HTML escaping.
func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s, false) }
