package jsonenc

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
)

type (
	level  int
	code   string
	flag   bool
	tiny   uint8
	inner  struct{ A, B string }
	person struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	}
)

// every has a field of each handled type and option, and keys encoding/json
// treats specially.
type every struct {
	S        string     `json:"s"`
	SE       string     `json:"se,omitempty"`
	SZ       code       `json:"sz,omitzero"`
	B        bool       `json:"b"`
	BE       flag       `json:"be,omitempty"`
	I        int        `json:"i"`
	IE       int        `json:"ie,omitempty"`
	I8       int8       `json:"i8"`
	I16      int16      `json:"i16,omitzero"`
	I32      int32      `json:"i32"`
	I64      int64      `json:"i64,omitempty,omitzero"`
	L        level      `json:"level,omitempty"`
	U        uint       `json:"u"`
	U8       tiny       `json:"u8,omitempty"`
	U16      uint16     `json:"u16"`
	U32      uint32     `json:"u32,omitzero"`
	U64      uint64     `json:"u64"`
	UP       uintptr    `json:"up"`
	ID       itil.ID    `json:"id"`
	IDZ      itil.ID    `json:"idz,omitzero"`
	IDE      itil.ID    `json:"ide,omitempty"`
	T        time.Time  `json:"t"`
	TZ       time.Time  `json:"tz,omitzero"`
	TE       time.Time  `json:"te,omitempty"`
	TP       *time.Time `json:"tp"`
	IDP      *itil.ID   `json:"idp,omitempty"`
	A        itil.Actor `json:"a"`
	P        *person    `json:"p,omitempty"`
	PP       **inner    `json:"pp"`
	In       inner
	Untagged string
	Punct    string `json:"<a&b>"` // escaped when escaping HTML

	// Tags staticcheck (SA5008) calls malformed, on purpose: the encoder
	// must read them as encoding/json does.
	//lint:ignore SA5008 invalid tag name: encoding/json uses the field name, and so must the encoder
	Bad string `json:"a\\b"`
	//lint:ignore SA5008 "-," names the field "-" in encoding/json, and so must it in the encoder
	Dash string `json:"-,"`

	Skipped  string `json:"-"`
	OnlyOpts string `json:",omitempty"`
	hidden   string
}

var text = rapid.OneOf(rapid.String(), rapid.StringOf(rapid.RuneFrom([]rune{0, 0x1f, 0x7f, '"', '\\', '<', '>', '&', 0x2028, 0x2029, 0xfffd, 0x10ffff, 'a', 'é'})),
	rapid.Custom(func(t *rapid.T) string { return string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")) }),
	rapid.Just(""))

func drawTime(t *rapid.T, label string) time.Time {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("x", 5*3600+1800), time.FixedZone("y", -(9*3600 + 59*60 + 59)),
		time.FixedZone("day", 24*3600), time.FixedZone("late", -(25 * 3600)), time.FixedZone("odd", 3600+7)}
	switch rapid.IntRange(0, 3).Draw(t, label+".kind") {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, 0).In(rapid.SampledFrom(zones).Draw(t, label+".zone")) // zero Unix time, not IsZero
	case 2: // any year, refused outside 0-9999
		return time.Unix(rapid.Int64Range(-70000000000, 320000000000).Draw(t, label+".far"), 0).In(rapid.SampledFrom(zones).Draw(t, label+".zone"))
	}
	return time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, label+".s"), rapid.Int64Range(0, 999999999).Draw(t, label+".ns")).
		In(rapid.SampledFrom(zones).Draw(t, label+".zone"))
}

func drawID(t *rapid.T, label string) itil.ID {
	var id itil.ID
	if rapid.Bool().Draw(t, label+".nil") {
		return id
	}
	copy(id[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label))
	return id
}

func drawEvery(t *rapid.T) *every {
	small := rapid.IntRange(-2, 2)
	num := func(label string) int64 {
		if rapid.Bool().Draw(t, label+".small") {
			return int64(small.Draw(t, label))
		}
		return rapid.Int64().Draw(t, label)
	}
	e := &every{
		S: text.Draw(t, "s"), SE: text.Draw(t, "se"), SZ: code(text.Draw(t, "sz")),
		B: rapid.Bool().Draw(t, "b"), BE: flag(rapid.Bool().Draw(t, "be")),
		I: int(num("i")), IE: int(num("ie")), I8: int8(num("i8")), I16: int16(num("i16")), I32: int32(num("i32")), I64: num("i64"),
		L: level(num("l")), U: uint(num("u")), U8: tiny(num("u8")), U16: uint16(num("u16")), U32: uint32(num("u32")), U64: uint64(num("u64")), UP: uintptr(num("up")),
		ID: drawID(t, "id"), IDZ: drawID(t, "idz"), IDE: drawID(t, "ide"),
		T: drawTime(t, "t"), TZ: drawTime(t, "tz"), TE: drawTime(t, "te"),
		A:  itil.Actor{ID: text.Draw(t, "a.id"), Name: text.Draw(t, "a.name")},
		In: inner{text.Draw(t, "in.a"), text.Draw(t, "in.b")}, Untagged: text.Draw(t, "untagged"),
		Bad: text.Draw(t, "bad"), Punct: text.Draw(t, "punct"), Dash: text.Draw(t, "dash"), Skipped: "x", OnlyOpts: text.Draw(t, "opts"), hidden: "y",
	}
	if rapid.Bool().Draw(t, "tp") {
		tm := drawTime(t, "tp.v")
		e.TP = &tm
	}
	if rapid.Bool().Draw(t, "idp") {
		id := drawID(t, "idp.v")
		e.IDP = &id
	}
	if rapid.Bool().Draw(t, "p") {
		e.P = &person{text.Draw(t, "p.id"), text.Draw(t, "p.name")}
	}
	if rapid.Bool().Draw(t, "pp") {
		var in *inner
		if rapid.Bool().Draw(t, "pp.inner") {
			in = &inner{text.Draw(t, "pp.a"), ""}
		}
		e.PP = &in
	}
	return e
}

// std encodes v as json.Marshal does (escapeHTML) or as a json.Encoder
// told not to escape HTML, without the Encoder's newline.
func std(v any, escapeHTML bool) ([]byte, error) {
	if escapeHTML {
		return json.Marshal(v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func TestForMatchesEncodingJSON(t *testing.T) {
	for _, html := range []bool{true, false} {
		enc, ok := For(reflect.TypeFor[every](), html)
		if !ok {
			t.Fatal("every is not handled")
		}
		rapid.Check(t, func(t *rapid.T) {
			v := drawEvery(t)
			got, gotErr := enc([]byte("prefix"), unsafe.Pointer(v))
			want, wantErr := std(v, html)
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("escapeHTML %v: error %v, encoding/json's %v", html, gotErr, wantErr)
			}
			if gotErr == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("escapeHTML %v:\ngot  %s\nwant prefix%s", html, got, want)
			}
		})
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := text.Draw(t, "s")
		for _, html := range []bool{true, false} {
			want, _ := std(s, html)
			if got := AppendString(nil, s, html); !bytes.Equal(got, want) {
				t.Fatalf("escapeHTML %v: got %s, want %s", html, got, want)
			}
		}
	})
}

func TestAppendIDIsString(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		id := drawID(t, "id")
		if got := string(AppendID([]byte("x"), id)); got != "x"+id.String() {
			t.Fatalf("got %s, want x%s", got, id)
		}
	})
}

type (
	withMap    struct{ M map[string]string }
	withSlice  struct{ L []string }
	withFloat  struct{ F float64 }
	withAny    struct{ X any }
	withQuoted struct {
		N int `json:"n,string"`
	}
	withEmbedded  struct{ inner }
	withDuplicate struct {
		A string `json:"X"`
		X string
	}
	withStructZero struct {
		In inner `json:"in,omitzero"`
	}
	withZeroer struct {
		Z zeroer `json:"z,omitzero"`
	}
	zeroer         string
	marshaler      struct{}
	textMarshaler  int
	withMarshaler  struct{ M marshaler }
	withPtrMarshal struct{ M *marshaler }
	withText       struct{ T textMarshaler }
	withNumber     struct{ N json.Number }
	recursive      struct{ Next *recursive }
)

func (zeroer) IsZero() bool                     { return true }
func (*marshaler) MarshalJSON() ([]byte, error) { return []byte(`"m"`), nil }
func (textMarshaler) MarshalText() ([]byte, error) {
	return []byte("t"), nil
}

// Types the package does not handle are reported, so that the caller uses
// encoding/json.
func TestForRefuses(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[withMap](), reflect.TypeFor[withSlice](), reflect.TypeFor[withFloat](), reflect.TypeFor[withAny](),
		reflect.TypeFor[withQuoted](), reflect.TypeFor[withEmbedded](), reflect.TypeFor[withDuplicate](),
		reflect.TypeFor[withStructZero](), reflect.TypeFor[withZeroer](), reflect.TypeFor[withMarshaler](),
		reflect.TypeFor[withPtrMarshal](), reflect.TypeFor[withText](), reflect.TypeFor[recursive](), reflect.TypeFor[[]byte](),
		reflect.TypeFor[withNumber](),
	} {
		if _, ok := For(typ, true); ok {
			t.Errorf("%s is handled", typ)
		}
	}
}

// AppendTime writes what time.Time.MarshalJSON writes, and fails where it
// fails, across the years it can write and beyond, in odd zones.
func TestAppendTimeMatchesMarshalJSON(t *testing.T) {
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 0), time.FixedZone("x", 5*3600+1800),
		time.FixedZone("y", -(9*3600 + 59*60 + 59)), time.FixedZone("s", -30), time.FixedZone("t", 59),
		time.FixedZone("day", 24*3600), time.FixedZone("under", 24*3600-1), time.FixedZone("late", -(24*3600 - 60)), time.FixedZone("far", -(25 * 3600))}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	edges := []int64{minUnix, minUnix - 1, minUnix + 86399, maxUnix, maxUnix - 1, maxUnix - 86400, 0, -1, 951782400, 4107542400}
	rapid.Check(t, func(t *rapid.T) {
		var sec int64
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			sec = rapid.SampledFrom(edges).Draw(t, "edge") + rapid.Int64Range(-90000, 90000).Draw(t, "near")
		case 1:
			sec = rapid.Int64Range(minUnix-200000, maxUnix+200000).Draw(t, "sec")
		default:
			sec = rapid.Int64().Draw(t, "any") / 4
		}
		ns := rapid.OneOf(rapid.Just(int64(0)), rapid.Int64Range(0, 999999999), rapid.SampledFrom([]int64{1, 10, 100000000, 120000000, 999999999, 500})).Draw(t, "ns")
		tm := time.Unix(sec, ns).In(rapid.SampledFrom(zones).Draw(t, "zone"))
		if rapid.Bool().Draw(t, "zero") {
			tm = time.Time{}
		}
		want, wantErr := tm.MarshalJSON()
		got, err := AppendTime([]byte("x"), tm)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%v: error %v, MarshalJSON's %v", tm, err, wantErr)
		}
		if err == nil && string(got) != "x"+string(want) {
			t.Fatalf("%v: got %s, want x%s", tm, got, want)
		}
	})
}
