package termlist

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestEncodeDecode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := Dedup(rapid.SliceOf(rapid.String()).Draw(t, "terms"))
		out, err := Decode(Encode(in))
		require.NoError(t, err)
		if len(in) == 0 {
			require.Empty(t, out)
			return
		}
		require.Equal(t, in, out)
	})
	_, err := Decode([]byte{5, 'a'})
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestDiff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		old := Dedup(rapid.SliceOf(rapid.SampledFrom([]string{"a=1", "b=2", "c=3", "d=4"})).Draw(t, "old"))
		new := Dedup(rapid.SliceOf(rapid.SampledFrom([]string{"a=1", "b=2", "c=3", "d=4"})).Draw(t, "new"))
		var removed, added []string
		Diff(old, new, func(s string) { removed = append(removed, s) }, func(s string) { added = append(added, s) })
		for _, s := range old {
			require.Equal(t, !All(new, []string{s}), Any(removed, []string{s}), "%q", s)
		}
		for _, s := range new {
			require.Equal(t, !All(old, []string{s}), Any(added, []string{s}), "%q", s)
		}
		require.Len(t, removed, len(old)-(len(new)-len(added)))
	})
}
