package pipeline

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// field is one journaled field of an entity type: its JSON name and how to
// compare it cheaply.
type field struct {
	name string
	head string                         // {"field":name,"from":
	cmp  func(a, b unsafe.Pointer) bool // reports equality
	enc  valueEncoder
	off  uintptr
}

// fieldsOf lists the exported, JSON-named fields of struct type T, minus
// skip, with an equality test chosen once per field: memory comparison for
// types without pointers, string and time comparison, and reflect.DeepEqual
// for the rest (slices, maps, pointers).
func fieldsOf[T any](skip []string) []field {
	t := reflect.TypeFor[T]()
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			// encoding/json flattens embedded fields; the journal would
			// name them after their type, which Replay cannot apply.
			panic("pipeline: embedded field " + sf.Name + " of " + t.Name() + " is not supported: name the field")
		}
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if slices.Contains(skip, name) {
			continue
		}
		head := string(appendString([]byte(`{"field":`), name)) + `,"from":`
		out = append(out, field{name: name, head: head, off: sf.Offset, cmp: equality(sf.Type, nil), enc: encoderFor(sf.Type)})
	}
	return out
}

// equality picks how to compare values of t; building lists the struct
// types being compared field by field above this one, so that a type that
// refers to itself is compared with reflect.DeepEqual instead of recursing
// for ever.
func equality(t reflect.Type, building []reflect.Type) func(a, b unsafe.Pointer) bool {
	deep := func(a, b unsafe.Pointer) bool {
		return reflect.DeepEqual(reflect.NewAt(t, a).Elem().Interface(), reflect.NewAt(t, b).Elem().Interface())
	}
	if slices.Contains(building, t) {
		return deep
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		// Equal as the journal writes them: the same instant at the same
		// offset (== would also compare Location pointers).
		return func(a, b unsafe.Pointer) bool {
			ta, tb := *(*time.Time)(a), *(*time.Time)(b)
			if ta == tb {
				return true
			}
			_, oa := ta.Zone()
			_, ob := tb.Zone()
			return ta.Equal(tb) && oa == ob
		}
	case t.Kind() == reflect.String:
		return func(a, b unsafe.Pointer) bool { return *(*string)(a) == *(*string)(b) }
	case plain(t):
		size := t.Size()
		return func(a, b unsafe.Pointer) bool {
			return bytes.Equal(unsafe.Slice((*byte)(a), size), unsafe.Slice((*byte)(b), size))
		}
	case t.Kind() == reflect.Struct:
		// Field by field (an Actor, a small record), as == would.
		type part struct {
			off uintptr
			eq  func(a, b unsafe.Pointer) bool
		}
		parts := make([]part, t.NumField())
		building = append(building, t)
		for i := range parts {
			f := t.Field(i)
			parts[i] = part{f.Offset, equality(f.Type, building)}
		}
		return func(a, b unsafe.Pointer) bool {
			for _, p := range parts {
				if !p.eq(unsafe.Add(a, p.off), unsafe.Add(b, p.off)) {
					return false
				}
			}
			return true
		}
	case t.Kind() == reflect.Pointer:
		elem := equality(t.Elem(), append(building, t))
		return func(a, b unsafe.Pointer) bool {
			pa, pb := *(*unsafe.Pointer)(a), *(*unsafe.Pointer)(b)
			if pa == nil || pb == nil {
				return pa == pb
			}
			return elem(pa, pb)
		}
	default:
		return deep
	}
}

// plain reports whether values of t are equal exactly when their memory is:
// no pointers, strings, floats (NaN, -0) or padding-holding structs.
func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	case reflect.Array:
		return plain(t.Elem()) && t.Elem().Size()*uintptr(t.Len()) == t.Size()
	}
	return false
}

// appendDiff appends to b the "fields" member of a payload: the fields
// that differ between before and after, with their JSON values. It reports
// how many fields it listed.
func appendDiff[T any](b []byte, fields []field, before, after *T) ([]byte, int, error) {
	n := 0
	for _, f := range fields {
		pa := unsafe.Add(unsafe.Pointer(after), f.off)
		pb := unsafe.Add(unsafe.Pointer(before), f.off)
		if f.cmp(pa, pb) {
			continue
		}
		if n == 0 {
			b = append(b, `,"fields":[`...)
		} else {
			b = append(b, ',')
		}
		n++
		b = append(b, f.head...)
		var err error
		if b, err = f.enc(b, pb); err != nil {
			return nil, 0, unencodable(f.name, err)
		}
		b = append(b, `,"to":`...)
		if b, err = f.enc(b, pa); err != nil {
			return nil, 0, unencodable(f.name, err)
		}
		b = append(b, '}')
	}
	if n > 0 {
		b = append(b, ']')
	}
	return b, n, nil
}
