package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/itilkit/itil"
)

// JSON adds err, from decoding the JSON value at path, to v, so that every
// decoding problem is a field of one *itil.ValidationError:
//   - a nested *itil.ValidationError's fields below path;
//   - encoding/json's type error at the field it names below path (a
//     leading "plain.", the alias type this module's UnmarshalJSON methods
//     decode through, dropped);
//   - malformed JSON, or anything else, at path itself.
//
// A problem with the whole document (path and field both "") is named
// whole.
func JSON(v *itil.ValidationError, path, whole string, err error) {
	if err == nil {
		return
	}
	under := func(field string) string {
		if f := JoinPath(path, field); f != "" {
			return f
		}
		return whole
	}
	var ve *itil.ValidationError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			v.Add(under(f.Field), f.Reason)
		}
	case errors.As(err, &te):
		v.Add(under(strings.TrimPrefix(te.Field, "plain.")),
			fmt.Sprintf("must not be a JSON %s (a %s is expected)", te.Value, jsonKind(te.Type)))
	case errors.As(err, &se):
		v.Add(under(""), fmt.Sprintf("is not valid JSON (at byte %d): %s", se.Offset, se.Error()))
	default:
		v.Add(under(""), err.Error())
	}
}

// JoinPath names field below path: "week" and "monday" give
// "week.monday", "monday" and "[0]" give "monday[0]".
func JoinPath(path, field string) string {
	switch {
	case field == "":
		return path
	case path == "":
		return field
	case strings.HasPrefix(field, "["):
		return path + field
	}
	return path + "." + field
}

// jsonKind says what JSON a Go type is read from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}
