package check_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// TestLimitsFitStorage: a text at its limit in characters, each of
// utf8.UTFMax bytes, fits storage's byte limits where processes index it
// (the process suites store such texts on every backend).
func TestLimitsFitStorage(t *testing.T) {
	// The longest field prefix a process puts before a Short text: an
	// incident's assignee (the others are group=, name= and kind=).
	const prefix = len("assignee=")
	require.LessOrEqual(t, check.Name*utf8.UTFMax, storage.MaxSortKey, "a CI name is a sort key")
	require.LessOrEqual(t, check.Short*utf8.UTFMax+prefix, storage.MaxTerm, "a short text is a term's value")
	require.LessOrEqual(t, check.Short*utf8.UTFMax, storage.MaxSortKey, "a short text is a sort key")
}

func TestBytes(t *testing.T) {
	var v itil.ValidationError
	check.Bytes(&v, "kind", strings.Repeat("k", 128), 128)
	require.NoError(t, v.Err())
	check.Bytes(&v, "kind", strings.Repeat("é", 65), 128)
	require.Equal(t, []itil.FieldError{{Field: "kind", Reason: "must be at most 128 bytes"}}, v.Fields)

	v = itil.ValidationError{}
	s := strings.Repeat("é", 200)
	check.Text(&v, "kind", s, true, 160)
	check.Bytes(&v, "kind", s, 128)
	require.Len(t, v.Fields, 1, "one reason per field")
}
