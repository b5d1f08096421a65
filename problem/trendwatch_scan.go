package problem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/jsonscan"
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
// as foldKey writes them; createdFields and createdFolded are
// openedPayload's.
var (
	openedFields  = []string{"id", "opened_at", "service_id", "ci_id", "category"}
	openedFolded  = []string{"id", "openedat", "serviceid", "ciid", "category"}
	createdFields = []string{"created"}
	createdFolded = []string{"created"}
)

// scanOpened reads an incident.opened payload into an openedIncident
// without reflection, in one pass with a checked jsonscan.Cursor: it
// takes created's fields, skips the rest, and checks the whole payload as
// json.Unmarshal would (openedFacts may be given any bytes, not only the
// journal's, which are valid). It reads only what it reads exactly as
// json.Unmarshal into openedPayload would, and returns false for anything
// else: a payload that is not valid JSON or not an object, a created that
// is not an object, a field of openedIncident whose value is not a string
// or does not read, a key that encoding/json may match to created or to a
// field though it is not its name (matchKey), and created or a field
// given twice (encoding/json would merge the two, or keep the last). The
// values are read by the methods json.Unmarshal calls: itil.ID's
// UnmarshalText on the string decoded, time.Time's UnmarshalJSON on the
// string as written; a category with escapes or invalid UTF-8 by
// json.Unmarshal itself.
func scanOpened(b []byte) (openedIncident, bool) {
	var c openedIncident
	cur := jsonscan.NewCheckedCursor(b)
	created, ok := false, true
	walked := cur.Members(func(key []byte) bool {
		switch i, known := matchKey(key, createdFields, createdFolded); {
		case !known || i == 0 && created:
			ok = false
		case i == 0:
			created = true
			ok = scanCreated(&cur, &c)
		}
		return ok // any other member the cursor skips
	})
	return c, walked && ok && created && cur.End()
}

// scanCreated reads the object at cur, the payload's created, into c.
func scanCreated(cur *jsonscan.Cursor, c *openedIncident) bool {
	var seen uint8
	ok := true
	walked := cur.Members(func(key []byte) bool {
		field, known := matchKey(key, openedFields, openedFolded)
		switch {
		case !known || field >= 0 && seen&(1<<field) != 0:
			ok = false
			return false
		case field < 0:
			return true // the cursor skips it
		}
		seen |= 1 << field
		switch field {
		case 0:
			ok = scanID(cur, &c.ID)
		case 1:
			raw := cur.Value()
			ok = len(raw) > 0 && raw[0] == '"' && c.OpenedAt.UnmarshalJSON(raw) == nil
		case 2:
			ok = scanID(cur, &c.ServiceID)
		case 3:
			ok = scanID(cur, &c.CIID)
		case 4:
			raw := cur.Value()
			if ok = len(raw) > 0 && raw[0] == '"'; !ok {
				break
			}
			if s := raw[1 : len(raw)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
				c.Category = string(s) // as encoding/json unquotes it
			} else {
				ok = json.Unmarshal(raw, &c.Category) == nil
			}
		}
		return ok
	})
	return walked && ok
}

// scanID reads the string at cur into id as encoding/json does: decoded,
// then given to UnmarshalText. A string with invalid UTF-8 is left to
// encoding/json: Text gives it as written where encoding/json writes
// U+FFFD for each bad byte, and UnmarshalText does not look at the first
// and last of 38 bytes (the braces of "{...}"), so the two may differ.
func scanID(cur *jsonscan.Cursor, id *itil.ID) bool {
	s, ok := cur.Text()
	return ok && utf8.Valid(s) && id.UnmarshalText(s) == nil
}

// matchKey returns the index in names of key, or -1 when key is none of
// them; known is false when encoding/json may match key to one of them
// all the same: when foldKey does not fold key, or folds it as it folds
// a name (folded: names as foldKey writes them). Keys come decoded from
// the Cursor, as encoding/json matches them.
func matchKey(key []byte, names, folded []string) (i int, known bool) {
	var buf [16]byte
	k, ok := foldKey(&buf, key)
	if !ok {
		return -1, false
	}
	for i, name := range folded {
		if string(k) == name {
			if string(key) != names[i] {
				return -1, false // "ID" and such
			}
			return i, true
		}
	}
	return -1, true
}

// foldKey writes key to buf in lower case, without the characters "_"
// and "-": a key that encoding/json may match to a field of
// openedIncident (ignoring case, and "_" and "-" when it is built on
// encoding/json/v2) folds as the field's name does. It returns false for
// a key with a byte outside ASCII, which encoding/json folds as Unicode
// ("ſ" as "s", "K" as "k"), and no bytes for one that folds longer than
// buf, and so than any name.
func foldKey(buf *[16]byte, key []byte) ([]byte, bool) {
	n := 0
	for _, c := range key {
		switch {
		case c >= utf8.RuneSelf:
			return nil, false
		case c == '_' || c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n < len(buf) {
			buf[n] = c
		}
		n++
	}
	if n > len(buf) {
		return nil, true
	}
	return buf[:n], true
}
