package calendar

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// Decoding JSON with errors that name their path: each level decodes its
// fields one by one (decodeAt), so a bad value deep in a spec is reported
// as "week.monday[0].start", not as encoding/json's untyped error.

// decodeAt decodes raw (when present) into dst, adding any problem to v
// under path: a nested *itil.ValidationError's fields below path, any
// other error at path itself.
func decodeAt(v *itil.ValidationError, path string, raw json.RawMessage, dst any) {
	if len(raw) == 0 {
		return
	}
	addJSONError(v, path, json.Unmarshal(raw, dst))
}

// decodeStruct decodes the JSON object b into the struct dst points to,
// field by field (slices of elements element by element), and returns
// every problem as one *itil.ValidationError. Unknown keys are ignored,
// and keys match field names as encoding/json matches them.
func decodeStruct(b []byte, dst any) error {
	if string(b) == "null" {
		return nil
	}
	var v itil.ValidationError
	var m map[string]json.RawMessage
	if decodeAt(&v, "", b, &m); v.Err() != nil {
		return &v
	}
	rv := reflect.ValueOf(dst).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		raw, ok := m[name]
		if !ok {
			for k, r := range m {
				if strings.EqualFold(k, name) {
					raw, ok = r, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		fv := rv.Field(i)
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && string(raw) != "null" {
			var elems []json.RawMessage
			if decodeAt(&v, name, raw, &elems); v.Has(name) {
				continue
			}
			s := reflect.MakeSlice(fv.Type(), len(elems), len(elems))
			for j, e := range elems {
				decodeAt(&v, name+"["+strconv.Itoa(j)+"]", e, s.Index(j).Addr().Interface())
			}
			fv.Set(s)
			continue
		}
		decodeAt(&v, name, raw, fv.Addr().Interface())
	}
	return v.Err()
}

// addJSONError adds err, from decoding the value at path, to v; the
// whole document's problems stay under "" until named names them.
func addJSONError(v *itil.ValidationError, path string, err error) {
	check.JSON(v, path, "", err)
}

// named names the whole document's problems (field "") "calendar".
func named(err error) error {
	var ve *itil.ValidationError
	if errors.As(err, &ve) {
		for i := range ve.Fields {
			if ve.Fields[i].Field == "" {
				ve.Fields[i].Field = "calendar"
			}
		}
	}
	return err
}
