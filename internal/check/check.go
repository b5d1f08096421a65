// Package check holds the input rules every process applies the same way:
// texts, times and option lists.
package check

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itilkit/itil"
)

// Length limits shared by every process, in characters. A text that
// storage indexes (an index term or sort key) fits its byte limits even
// when every character takes utf8.UTFMax bytes: Name as a sort key
// (storage.MaxSortKey), Short as a term with its field prefix
// (storage.MaxTerm); a test says so. Storage names (kinds and the like)
// are shorter: check them with Bytes as well.
const (
	// Short texts: titles, names, codes, groups, categories.
	Short = 160
	// Name is for identifiers people type (CI names, owners): 256.
	Name = 256
	// Long texts: descriptions, notes, reasons.
	Long = 32000
)

// Text adds a problem with s under field to v: a required text must not
// be empty or only white space; every text must be valid UTF-8 without
// NUL bytes and at most max characters long.
func Text(v *itil.ValidationError, field, s string, required bool, max int) {
	switch {
	case s == "" && required:
		v.Add(field, "is required")
	case required && Blank(s):
		v.Add(field, "must not be blank")
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		v.Add(field, "must not contain NUL bytes")
	case len(s) > max && utf8.RuneCountInString(s) > max:
		v.Add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}

// Blank reports whether s holds nothing but white space.
func Blank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

// Required checks a required long text a command takes, such as a
// reason, and returns the *itil.ValidationError naming field, or nil.
func Required(field, s string) error {
	var v itil.ValidationError
	Text(&v, field, s, true, Long)
	return v.Err()
}

// Cut returns s when it has at most max characters (max ≥ 1), else its
// first max-1 characters and "…": for a text built from checked ones (a
// prefix and a note) that must itself meet a limit.
func Cut(s string, max int) string {
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Bytes adds a problem with s under field to v when s is longer than max
// bytes and v names field for no other reason yet. It is for texts that
// storage indexes or keys on, whose limits (storage.MaxName and the
// others) count bytes: call it after Text, whose limits count
// characters.
func Bytes(v *itil.ValidationError, field, s string, max int) {
	if len(s) > max && !v.Has(field) {
		v.Add(field, fmt.Sprintf("must be at most %d bytes", max))
	}
}

// Options applies each option's apply function to v, naming a missing
// (nil) option by its position, so that every package's New reports bad
// options the same way.
func Options[O any](v *itil.ValidationError, opts []O, apply func(O) bool) {
	for i, o := range opts {
		if !apply(o) {
			v.Add("options["+strconv.Itoa(i)+"]", "must not be nil")
		}
	}
}

// Time adds a problem with t under field to v unless TimeOK(t): every
// time a caller passes (and every clock reading) must be one that storage,
// RFC 3339 and encoding/json can write.
func Time(v *itil.ValidationError, field string, t time.Time) {
	if !TimeOK(t) {
		v.Add(field, TimeReason(t))
	}
}

// TimeOK reports whether t lies within the years 1 to 9999 both where it
// was written and in UTC (a backend may return either; storage.CheckEvent
// checks event times the same way), with a zone offset of less than a day
// (RFC 3339 cannot write more).
func TimeOK(t time.Time) bool {
	y, u := t.Year(), t.UTC().Year()
	_, off := t.Zone()
	return y >= 1 && y <= 9999 && u >= 1 && u <= 9999 && off > -24*3600 && off < 24*3600
}

// TimeReason says why t is refused ("" when TimeOK(t)).
func TimeReason(t time.Time) string {
	if TimeOK(t) {
		return ""
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		return "must have a zone offset of less than 24 hours"
	}
	return fmt.Sprintf("must lie within the years 1 to 9999 (it is in the year %d)", yearOutside(t))
}

// yearOutside is the year of t that is out of range: where it was
// written, else in UTC.
func yearOutside(t time.Time) int {
	if y := t.Year(); y < 1 || y > 9999 {
		return y
	}
	return t.UTC().Year()
}

// Rename returns err as the caller of a command on another process's
// record sees it, naming the record by the caller's field to: a
// *itil.ValidationError has its field from renamed to (the other
// command's refusal names its own field, the link's), and any other
// error is wrapped as "to: err" (itil.ErrNotFound for an unknown record).
func Rename(err error, from, to string) error {
	var v *itil.ValidationError
	if errors.As(err, &v) {
		out := &itil.ValidationError{Fields: slices.Clone(v.Fields)}
		for i := range out.Fields {
			if out.Fields[i].Field == from {
				out.Fields[i].Field = to
			}
		}
		return out
	}
	return fmt.Errorf("%s: %w", to, err)
}

// Option is the apply function of a process's functional option that
// sets one dependency: it refuses a nil one (ok false), naming field,
// and otherwise sets it with set.
func Option[C any](field string, ok bool, set func(*C)) func(*C, *itil.ValidationError) {
	return func(cfg *C, v *itil.ValidationError) {
		if !ok {
			v.Add(field, "must not be nil")
		}
		set(cfg)
	}
}

// Zone loads the IANA time zone name, adding a problem with it under
// field to v when it is none: empty (when required; otherwise the zone
// is UTC), unknown, or "Local", which differs from machine to machine.
// It returns nil after a problem.
func Zone(v *itil.ValidationError, field, name string, required bool) *time.Location {
	if name == "" {
		if required {
			v.Add(field, "is required (an IANA name such as Europe/Paris, or UTC)")
			return nil
		}
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		v.Add(field, strconv.Quote(name)+" is not a known IANA time zone")
		return nil
	}
	return loc
}
