package problem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/itilkit/itil"
)

// openedFacts reads the trend facts of an incident.opened event: the
// fields of the incident as created that TrendIncidentOf reads. A scan
// made for the payloads the pipeline writes (scanOpened) reads most
// payloads; encoding/json reads the others (openedFactsJSON), so that
// any payload reads as encoding/json reads it.
func openedFacts(ev *itil.Event) (TrendIncident, error) {
	if c, ok := scanOpened(ev.Payload); ok {
		return c.facts(), nil
	}
	return openedFactsJSON(ev)
}

// openedFactsJSON decodes the payload once with encoding/json into
// openedPayload, skipping the fields it does not hold.
func openedFactsJSON(ev *itil.Event) (TrendIncident, error) {
	var p openedPayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return TrendIncident{}, fmt.Errorf("journal event %d (%s): %w", ev.Seq, ev.Type, err)
	}
	if p.Created == nil {
		return TrendIncident{}, fmt.Errorf("journal event %d (%s): no incident in its payload", ev.Seq, ev.Type)
	}
	return p.Created.facts(), nil
}

// openedPayload is the part of an itil.Payload that openedFacts reads.
type openedPayload struct {
	Created *openedIncident `json:"created"`
}

// openedIncident holds the fields of an incident.Incident (under its JSON
// names) that TrendIncidentOf reads.
type openedIncident struct {
	ID        itil.ID   `json:"id"`
	OpenedAt  time.Time `json:"opened_at"`
	ServiceID itil.ID   `json:"service_id"`
	CIID      itil.ID   `json:"ci_id"`
	Category  string    `json:"category"`
}

// facts returns the trend facts, as TrendIncidentOf returns them.
func (c *openedIncident) facts() TrendIncident {
	f := TrendIncident{ID: c.ID, OpenedAt: c.OpenedAt, ServiceID: c.ServiceID, Category: c.Category}
	if c.CIID != itil.NilID {
		f.CIs = []itil.ID{c.CIID}
	}
	return f
}

// openedFields are openedIncident's JSON names, in the order of the bits
// scanOpened keeps of the fields it has read, and openedFolded the same
// as foldKey writes them.
var (
	openedFields = [...]string{"id", "opened_at", "service_id", "ci_id", "category"}
	openedFolded = [...]string{"id", "openedat", "serviceid", "ciid", "category"}
)

// scanOpened reads an incident.opened payload into an openedIncident
// without reflection, validating the whole payload as JSON as it goes.
// It reads only what it reads exactly as json.Unmarshal into
// openedPayload would, and returns false for anything else: a payload
// that is not valid JSON or not an object, a created that is not an
// object, a field of openedIncident whose value is not a string or does
// not read, an object key with an escape or a byte outside ASCII, a key
// that is the name of created or of a field in other case or with other
// "_" and "-" (which encoding/json may match to it), created or a field
// given twice, and nesting deeper than maxScanDepth. The values are read by the methods
// json.Unmarshal calls: itil.ID's UnmarshalText, time.Time's
// UnmarshalJSON; a category with escapes or invalid UTF-8 by
// json.Unmarshal itself.
func scanOpened(b []byte) (openedIncident, bool) {
	var c openedIncident
	s := jsonScan{b: b}
	if s.next() != '{' {
		return c, false
	}
	s.i++
	created := false
	for first := true; ; first = false {
		if first && s.next() == '}' {
			return c, false // no created: encoding/json says so
		}
		key, ok := s.key()
		if !ok {
			return c, false
		}
		var buf [16]byte
		switch {
		case string(key) == "created":
			if created || !s.created(&c) {
				return c, false
			}
			created = true
		case string(foldKey(buf[:0], key)) == "created" || !s.skip(1):
			return c, false // "Created" and such: encoding/json may take it for created
		}
		switch s.next() {
		case ',':
			s.i++
			continue
		case '}':
			s.i++
		default:
			return c, false
		}
		break
	}
	s.ws()
	return c, created && s.i == len(s.b)
}

// created reads the object of the payload's created into c.
func (s *jsonScan) created(c *openedIncident) bool {
	if s.next() != '{' {
		return false
	}
	s.i++
	var seen uint8
	for first := true; ; first = false {
		if first && s.next() == '}' {
			s.i++
			return true
		}
		key, ok := s.key()
		if !ok {
			return false
		}
		field := -1
		var buf [16]byte
		folded := foldKey(buf[:0], key)
		for i, name := range openedFolded {
			if string(folded) == name {
				if string(key) != openedFields[i] {
					return false // "ID" and such: encoding/json may take it for the field
				}
				field = i
			}
		}
		if field < 0 {
			if !s.skip(2) {
				return false
			}
		} else {
			if seen&(1<<field) != 0 || s.next() != '"' {
				return false
			}
			seen |= 1 << field
			start := s.i
			raw, plain, ok := s.str()
			if !ok {
				return false
			}
			tok := s.b[start:s.i]
			switch field {
			case 0:
				ok = plain && c.ID.UnmarshalText(raw) == nil
			case 1:
				ok = c.OpenedAt.UnmarshalJSON(tok) == nil
			case 2:
				ok = plain && c.ServiceID.UnmarshalText(raw) == nil
			case 3:
				ok = plain && c.CIID.UnmarshalText(raw) == nil
			case 4:
				if plain || !bytes.ContainsRune(raw, '\\') && utf8.Valid(raw) {
					c.Category = string(raw) // as encoding/json unquotes it
				} else {
					ok = json.Unmarshal(tok, &c.Category) == nil
				}
			}
			if !ok {
				return false
			}
		}
		switch s.next() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// foldKey appends key (ASCII) to dst in lower case, without the
// characters "_" and "-": a key that encoding/json may match to a field
// of openedIncident (ignoring case, and "_" and "-" when it is built on
// encoding/json/v2) folds as the field's name does.
func foldKey(dst, key []byte) []byte {
	for _, c := range key {
		switch {
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// maxScanDepth bounds the nesting jsonScan reads; encoding/json reads
// deeper payloads.
const maxScanDepth = 64

// jsonScan reads JSON text (RFC 8259) from b[i:], as encoding/json's
// scanner accepts it; each method returns false on what it does not
// accept.
type jsonScan struct {
	b []byte
	i int
}

// ws skips whitespace.
func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte, or 0 at the end (a
// byte no JSON value starts or goes on with).
func (s *jsonScan) next() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// key reads an object's key and the colon after it. The key must be a
// string without escapes, of ASCII characters.
func (s *jsonScan) key() ([]byte, bool) {
	if s.next() != '"' {
		return nil, false
	}
	raw, plain, ok := s.str()
	if !ok || !plain || s.next() != ':' {
		return nil, false
	}
	s.i++
	return raw, true
}

// str reads a string at b[i] == '"' and returns what is between the
// quotes; plain says it has no escapes and only ASCII characters.
func (s *jsonScan) str() (raw []byte, plain, ok bool) {
	b := s.b
	start := s.i + 1
	plain = true
	for i := start; i < len(b); {
		c := b[i]
		if plainByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.i = i + 1
			return b[start:i], plain, true
		case c == '\\':
			plain = false
			if i+1 == len(b) {
				return nil, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return nil, false, false
				}
				i += 6
			default:
				return nil, false, false
			}
		case c < 0x20:
			return nil, false, false
		default:
			if c >= utf8.RuneSelf {
				plain = false
			}
			i++
		}
	}
	return nil, false, false
}

// plainByte says which bytes stand for themselves in a JSON string:
// ASCII, but for the quote, the backslash and control characters.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skip reads a value nested depth deep.
func (s *jsonScan) skip(depth int) bool {
	switch c := s.next(); c {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{', '[':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if s.next() == end {
			s.i++
			return true
		}
		for {
			if c == '{' {
				if _, ok := s.key(); !ok {
					return false
				}
			}
			if !s.skip(depth + 1) {
				return false
			}
			switch s.next() {
			case ',':
				s.i++
			case end:
				s.i++
				return true
			default:
				return false
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

func (s *jsonScan) literal(lit string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return false
	}
	s.i += len(lit)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; what
// follows it is for the caller to check.
func (s *jsonScan) number() bool {
	b, i := s.b, s.i
	digits := func() bool {
		n := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}
