// Package jsonenc appends JSON by hand, exactly as encoding/json writes it,
// for the types the SDK's entities are made of: structs of strings, bools,
// integers, time.Time, itil.ID, nested structs and pointers to them. A
// type holding anything else (maps, slices, floats, interfaces, other
// marshalers, embedded fields, the ",string" option) is not handled: For
// reports it, and the caller uses encoding/json.
//
// encoding/json spends most of its time in reflection and in scanning what
// time.Time and itil.ID marshal to; a plan built once per type does
// without both. Storing an incident and journaling a command's changes
// both go through it. TestForMatchesEncodingJSON holds it to
// encoding/json's bytes and errors.
package jsonenc

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/itilkit/itil"
)

// Encoder appends the JSON of the value at p, a pointer to a value of the
// type it was built for. Its only error is that of a time encoding/json
// refuses (a year outside 0-9999, a zone offset of a day or more), with
// another text than encoding/json's: a caller that reports it encodes the
// value with encoding/json instead.
type Encoder func(b []byte, p unsafe.Pointer) ([]byte, error)

// For returns the encoder of t, or false when t holds a type the package
// does not handle. escapeHTML is encoding/json's option: json.Marshal
// escapes <, > and & (true), a json.Encoder may be told not to (false).
func For(t reflect.Type, escapeHTML bool) (Encoder, bool) {
	n := plan(t, map[reflect.Type]bool{})
	if n == nil {
		return nil, false
	}
	return func(b []byte, p unsafe.Pointer) ([]byte, error) { return n.append(b, p, escapeHTML) }, true
}

type op uint8

const (
	opString op = iota
	opBool
	opInt
	opInt8
	opInt16
	opInt32
	opInt64
	opUint
	opUint8
	opUint16
	opUint32
	opUint64
	opUintptr
	opTime
	opID
	opStruct
	opPointer
)

// node is the plan of one type.
type node struct {
	op     op
	fields []field // opStruct
	elem   *node   // opPointer
}

// field is a struct field as encoding/json writes it: its key, already
// quoted and escaped, then its value; or nothing when an omit option says
// so.
type field struct {
	key, keyHTML string // `"name":`, with <, > and & escaped in keyHTML
	off          uintptr
	node         *node
	omit         omit
}

// omit is when a field's omitempty or omitzero option leaves it out,
// decided once from the option and the field's type.
type omit uint8

const (
	keep       omit = iota // no option, or omitempty on a struct
	ifLen0                 // a string of length 0
	ifZero1                // memory all zero: bools, integers, pointers
	ifZero2                //
	ifZero4                //
	ifZero8                //
	ifNilID                // an itil.ID all zero (omitzero)
	ifTimeZero             // time.Time.IsZero (omitzero)
)

// omitFor is encoding/json's rule for the handled types: omitempty leaves
// out "", false, 0 and nil, never a struct (time.Time, itil.ID is an
// array of 16); omitzero leaves out the zero value, a time when IsZero.
// With both options the field is left out when either says so, which for
// these types is what omitzero says.
func omitFor(t reflect.Type, n *node, empty, zero bool) omit {
	if !empty && !zero {
		return keep
	}
	switch n.op {
	case opString:
		return ifLen0
	case opTime:
		if zero {
			return ifTimeZero
		}
		return keep
	case opID:
		if zero {
			return ifNilID
		}
		return keep
	case opStruct:
		return keep // omitempty; omitzero on a struct is refused
	}
	switch t.Size() {
	case 1:
		return ifZero1
	case 2:
		return ifZero2
	case 4:
		return ifZero4
	}
	return ifZero8
}

func (o omit) omits(p unsafe.Pointer) bool {
	switch o {
	case keep:
		return false
	case ifLen0:
		return len(*(*string)(p)) == 0
	case ifZero1:
		return *(*uint8)(p) == 0
	case ifZero2:
		return *(*uint16)(p) == 0
	case ifZero4:
		return *(*uint32)(p) == 0
	case ifZero8:
		return *(*uint64)(p) == 0
	case ifNilID:
		return *(*itil.ID)(p) == itil.NilID
	}
	return (*time.Time)(p).IsZero()
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	idType            = reflect.TypeFor[itil.ID]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

func marshals(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || pt.Implements(marshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType)
}

// plan returns the plan of t, or nil when t is not handled. busy holds the
// types being planned, so a recursive type is refused rather than looped
// on.
func plan(t reflect.Type, busy map[reflect.Type]bool) *node {
	switch t {
	case timeType:
		return &node{op: opTime}
	case idType:
		return &node{op: opID}
	}
	if t.Kind() == reflect.Pointer {
		if t.Implements(marshalerType) || t.Implements(textMarshalerType) {
			// Only through the element's methods, and only for the
			// element types handled above.
			if e := t.Elem(); e != timeType && e != idType {
				return nil
			}
		}
		if busy[t] {
			return nil
		}
		busy[t] = true
		defer delete(busy, t)
		elem := plan(t.Elem(), busy)
		if elem == nil {
			return nil
		}
		return &node{op: opPointer, elem: elem}
	}
	if marshals(t) || t == reflect.TypeFor[json.Number]() {
		return nil // encoding/json writes a json.Number as a number
	}
	switch t.Kind() {
	case reflect.String:
		return &node{op: opString}
	case reflect.Bool:
		return &node{op: opBool}
	case reflect.Int:
		return &node{op: opInt}
	case reflect.Int8:
		return &node{op: opInt8}
	case reflect.Int16:
		return &node{op: opInt16}
	case reflect.Int32:
		return &node{op: opInt32}
	case reflect.Int64:
		return &node{op: opInt64}
	case reflect.Uint:
		return &node{op: opUint}
	case reflect.Uint8:
		return &node{op: opUint8}
	case reflect.Uint16:
		return &node{op: opUint16}
	case reflect.Uint32:
		return &node{op: opUint32}
	case reflect.Uint64:
		return &node{op: opUint64}
	case reflect.Uintptr:
		return &node{op: opUintptr}
	case reflect.Struct:
		return planStruct(t, busy)
	}
	return nil
}

// planStruct follows encoding/json's typeFields for a struct without
// embedded fields: exported fields in order, named by a valid tag name or
// else the field name, "-" skipped; two fields of one name are refused.
func planStruct(t reflect.Type, busy map[reflect.Type]bool) *node {
	n := &node{op: opStruct}
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTag(name) {
			name = sf.Name
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		f := field{key: `"` + name + `":`, keyHTML: `"` + htmlEscape(name) + `":`, off: sf.Offset}
		var empty, zero bool
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			switch o {
			case "string":
				return nil
			case "omitempty":
				empty = true
			case "omitzero":
				zero = true
			}
		}
		if f.node = plan(sf.Type, busy); f.node == nil {
			return nil
		}
		if zero && !zeroKnown(sf.Type, f.node) {
			return nil
		}
		f.omit = omitFor(sf.Type, f.node, empty, zero)
		n.fields = append(n.fields, f)
	}
	return n
}

// htmlEscape escapes a key as encoding/json's appendHTMLEscape does.
func htmlEscape(s string) string {
	var b []byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' || c == '>' || c == '&' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			start = i + 1
		}
		if c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xa8 {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[s[i+2]&0xf])
			start = i + len("\u2029")
		}
	}
	return string(append(b, s[start:]...))
}

// zeroKnown reports whether omitzero can be decided for t without calling
// methods the package does not know: time.Time's IsZero is the only one.
func zeroKnown(t reflect.Type, n *node) bool {
	if t == timeType {
		return true
	}
	if t.Implements(isZeroerType) || reflect.PointerTo(t).Implements(isZeroerType) {
		return false
	}
	return n.op != opStruct
}

// validTag is encoding/json's isValidTag.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func (n *node) append(b []byte, p unsafe.Pointer, html bool) ([]byte, error) {
	switch n.op {
	case opString:
		return AppendString(b, *(*string)(p), html), nil
	case opBool:
		return strconv.AppendBool(b, *(*bool)(p)), nil
	case opInt:
		return strconv.AppendInt(b, int64(*(*int)(p)), 10), nil
	case opInt8:
		return strconv.AppendInt(b, int64(*(*int8)(p)), 10), nil
	case opInt16:
		return strconv.AppendInt(b, int64(*(*int16)(p)), 10), nil
	case opInt32:
		return strconv.AppendInt(b, int64(*(*int32)(p)), 10), nil
	case opInt64:
		return strconv.AppendInt(b, *(*int64)(p), 10), nil
	case opUint:
		return strconv.AppendUint(b, uint64(*(*uint)(p)), 10), nil
	case opUint8:
		return strconv.AppendUint(b, uint64(*(*uint8)(p)), 10), nil
	case opUint16:
		return strconv.AppendUint(b, uint64(*(*uint16)(p)), 10), nil
	case opUint32:
		return strconv.AppendUint(b, uint64(*(*uint32)(p)), 10), nil
	case opUint64:
		return strconv.AppendUint(b, *(*uint64)(p), 10), nil
	case opUintptr:
		return strconv.AppendUint(b, uint64(*(*uintptr)(p)), 10), nil
	case opTime:
		return AppendTime(b, *(*time.Time)(p))
	case opID:
		b = append(b, '"')
		b = AppendID(b, *(*itil.ID)(p))
		return append(b, '"'), nil
	case opPointer:
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return append(b, "null"...), nil
		}
		return n.elem.append(b, q, html)
	}
	b = append(b, '{')
	first := true
	for i := range n.fields {
		f := &n.fields[i]
		fp := unsafe.Add(p, f.off)
		if f.omit != keep && f.omit.omits(fp) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		if html {
			b = append(b, f.keyHTML...)
		} else {
			b = append(b, f.key...)
		}
		var err error
		if b, err = f.node.append(b, fp, html); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

var errTime = errors.New("jsonenc: time outside what RFC 3339 can write")

// AppendTime appends t as time.Time.MarshalJSON writes it (RFC 3339 with
// nanoseconds, quoted). It fails where MarshalJSON fails: a year outside
// 0-9999, a zone offset of 24 hours or more.
func AppendTime(b []byte, t time.Time) ([]byte, error) {
	if out, ok := appendRFC3339Nano(b, t); ok {
		return out, nil
	}
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	// The checks of time.Time.appendStrictRFC3339, on the same text.
	switch {
	case b[n0+len("9999")] != '-':
		return b, errTime
	case b[len(b)-1] != 'Z':
		c := b[len(b)-len("Z07:00")]
		h := b[len(b)-len("07:00"):]
		if '0' <= c && c <= '9' || 10*(h[0]-'0')+(h[1]-'0') >= 24 {
			return b, errTime
		}
	}
	return append(b, '"'), nil
}

// Unix seconds of 0000-01-01T00:00:00Z and of 10000-01-01T00:00:00Z.
const (
	minUnix = -62167219200
	maxUnix = 253402300800
)

// appendRFC3339Nano is time.Time.appendFormatRFC3339 with nanoseconds,
// quoted, for the times MarshalJSON accepts (years 0-9999 where written,
// zone offsets under 24 hours); it reports false for the others, which
// AppendTime formats with the time package. Every field has a fixed
// width, so it writes digits straight from a table.
func appendRFC3339Nano(b []byte, t time.Time) ([]byte, bool) {
	unix := t.Unix()
	if unix < minUnix-86400 || unix >= maxUnix+86400 {
		return b, false
	}
	_, offset := t.Zone()
	zone := offset / 60 // minutes, as the time package writes them
	if zone <= -24*60 || zone >= 24*60 {
		return b, false
	}
	sec := unix + int64(offset)
	if sec < minUnix || sec >= maxUnix {
		return b, false
	}
	// The civil date of sec's day (Howard Hinnant's days_from_civil,
	// inverted), counted from 0000-03-01 less 400 years so that every
	// quotient is of non-negative numbers.
	days := (sec-minUnix)/86400 - 60 + 146097 // 0000-01-01 is 60 days before 0000-03-01
	clock := int((sec - minUnix) % 86400)
	era := days / 146097
	doe := days - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := int(doy-(153*mp+2)/5) + 1
	month := int(mp) + 3
	year := int(yoe+era*400) - 400
	if month > 12 {
		month -= 12
		year++
	}
	var d [len(`"2006-01-02T15:04:05.999999999-07:00"`)]byte
	d[0] = '"'
	put2(d[1:], year/100)
	put2(d[3:], year%100)
	d[5] = '-'
	put2(d[6:], month)
	d[8] = '-'
	put2(d[9:], day)
	d[11] = 'T'
	put2(d[12:], clock/3600)
	d[14] = ':'
	put2(d[15:], clock/60%60)
	d[17] = ':'
	put2(d[18:], clock%60)
	n := 20
	if ns := t.Nanosecond(); ns != 0 {
		d[20] = '.'
		put2(d[21:], ns/10000000)
		put2(d[23:], ns/100000%100)
		put2(d[25:], ns/1000%100)
		put2(d[27:], ns/10%100)
		d[29] = byte('0' + ns%10)
		n = 30
		for d[n-1] == '0' {
			n--
		}
	}
	if offset == 0 {
		d[n] = 'Z'
		n++
	} else {
		if zone < 0 {
			d[n] = '-'
			zone = -zone
		} else {
			d[n] = '+'
		}
		put2(d[n+1:], zone/60)
		d[n+3] = ':'
		put2(d[n+4:], zone%60)
		n += 6
	}
	d[n] = '"'
	return append(b, d[:n+1]...), true
}

const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// put2 writes v, 0-99, as two digits.
func put2(d []byte, v int) {
	d[0], d[1] = digits2[2*v], digits2[2*v+1]
}

// AppendID appends the canonical text form of an ID, as id.String()
// returns it, without allocating.
func AppendID(b []byte, id itil.ID) []byte {
	const digits = "0123456789abcdef"
	var s [36]byte
	// Unrolled: constant indexes need no bounds checks.
	s[0], s[1], s[2], s[3] = digits[id[0]>>4], digits[id[0]&0xf], digits[id[1]>>4], digits[id[1]&0xf]
	s[4], s[5], s[6], s[7] = digits[id[2]>>4], digits[id[2]&0xf], digits[id[3]>>4], digits[id[3]&0xf]
	s[8] = '-'
	s[9], s[10], s[11], s[12] = digits[id[4]>>4], digits[id[4]&0xf], digits[id[5]>>4], digits[id[5]&0xf]
	s[13] = '-'
	s[14], s[15], s[16], s[17] = digits[id[6]>>4], digits[id[6]&0xf], digits[id[7]>>4], digits[id[7]&0xf]
	s[18] = '-'
	s[19], s[20], s[21], s[22] = digits[id[8]>>4], digits[id[8]&0xf], digits[id[9]>>4], digits[id[9]&0xf]
	s[23] = '-'
	s[24], s[25], s[26], s[27] = digits[id[10]>>4], digits[id[10]&0xf], digits[id[11]>>4], digits[id[11]&0xf]
	s[28], s[29], s[30], s[31] = digits[id[12]>>4], digits[id[12]&0xf], digits[id[13]>>4], digits[id[13]&0xf]
	s[32], s[33], s[34], s[35] = digits[id[14]>>4], digits[id[14]&0xf], digits[id[15]>>4], digits[id[15]&0xf]
	return append(b, s[:]...)
}

const hex = "0123456789abcdef"

// safe[c] is true for the ASCII bytes a JSON string holds as they are;
// htmlSafe also excludes <, > and &.
var safe, htmlSafe [utf8.RuneSelf]bool

func init() {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\'
		htmlSafe[c] = safe[c] && c != '<' && c != '>' && c != '&'
	}
}

// AppendString appends s as a JSON string, as encoding/json does: quotes,
// backslashes and control characters escaped (and <, > and & when
// escapeHTML), invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029
// escaped.
func AppendString(b []byte, s string, escapeHTML bool) []byte {
	ok := &safe
	if escapeHTML {
		ok = &htmlSafe
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if ok[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
