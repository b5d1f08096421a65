// Package check holds the input rules every process applies the same way:
// texts and option lists.
package check

import (
	"fmt"
	"strconv"
	"strings"
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
	case required && strings.TrimFunc(s, unicode.IsSpace) == "":
		v.Add(field, "must not be blank")
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		v.Add(field, "must not contain NUL bytes")
	case len(s) > max && utf8.RuneCountInString(s) > max:
		v.Add(field, fmt.Sprintf("must be at most %d characters", max))
	}
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
