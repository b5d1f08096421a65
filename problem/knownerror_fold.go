package problem

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxWordBytes is how much of a folded word a known error's index holds:
// a longer word (a hex dump, a path) is indexed by its first
// MaxWordBytes bytes, cut at a character boundary, and a search for it
// checks the whole word on each record the index returns. So a long word
// is neither refused nor matched by its prefix alone, and the index terms
// stay far below storage.MaxTerm.
const MaxWordBytes = 64

// maxKeyBytes is how much of a folded error code, vendor or model an
// index term holds; as for words, a search checks the whole value.
const maxKeyBytes = 128

// foldSpecial maps the letters that Unicode does not decompose into a
// base letter and a mark, but that a person types as plain Latin letters
// on a keyboard without them. NFKD and dropping the marks handle the
// rest (é, ñ, ü, Å, the ligature ﬁ, full-width letters).
var foldSpecial = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ð': "d",
	'Ð': "d", 'þ': "th", 'Þ': "th", 'ı': "i", 'ħ': "h", 'Ħ': "h", 'ς': "σ",
}

// Fold returns s as known-error search compares it: compatibility
// decomposed (NFKD, golang.org/x/text/unicode/norm), without combining
// marks, lower case, and the few letters of foldSpecial spelled in plain
// Latin. "Überlastung", "uberlastung" and "ÜBERLASTUNG" fold alike.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if sp, ok := foldSpecial[r]; ok {
			b.WriteString(sp)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Words returns the distinct folded words of s, sorted: the runs of
// letters and digits, every other character separating them. It is how
// known errors are indexed and how a search's words are read.
func Words(s string) []string {
	f := Fold(s)
	var out []string
	for w := range strings.FieldsFuncSeq(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out = append(out, w)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// cut returns the first max bytes of s at most, cut at a character
// boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
