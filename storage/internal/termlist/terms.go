// Package termlist holds what every backend does with a record's index terms:
// the sorted list without repeats it keeps, the byte encoding the SQL
// backends store it in, the difference between two lists an update
// applies, and the matching reads do.
package termlist

import (
	"encoding/binary"
	"errors"
	"slices"
)

// Dedup returns a sorted copy of terms without repeats.
func Dedup(terms []string) []string {
	out := slices.Clone(terms)
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return slices.Compact(out)
}

// Encode packs a list as each term's length (uvarint) and then its bytes.
func Encode(terms []string) []byte {
	n := 0
	for _, t := range terms {
		n += binary.MaxVarintLen32 + len(t)
	}
	b := make([]byte, 0, n)
	for _, t := range terms {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return b
}

// ErrCorrupt is returned by Decode for bytes Encode did not write.
var ErrCorrupt = errors.New("corrupt term list")

// Decode unpacks what Encode wrote.
func Decode(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	// One string for all terms, cut into pieces: one allocation.
	all := string(b)
	var out []string
	for i := 0; i < len(all); {
		n, w := binary.Uvarint(b[i:])
		if w <= 0 || uint64(len(all)-i-w) < n {
			return nil, ErrCorrupt
		}
		i += w
		out = append(out, all[i:i+int(n)])
		i += int(n)
	}
	return out, nil
}

// Diff calls removed for each term of old not in new and added for each
// term of new not in old; both lists are sorted.
func Diff(old, new []string, removed, added func(string)) {
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i] < new[j]):
			removed(old[i])
			i++
		case i == len(old) || new[j] < old[i]:
			added(new[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
}

// All reports whether the sorted list has holds every term of want.
func All(has, want []string) bool {
	for _, t := range want {
		if _, ok := slices.BinarySearch(has, t); !ok {
			return false
		}
	}
	return true
}

// Any reports whether the sorted list has holds a term of want.
func Any(has, want []string) bool {
	for _, t := range want {
		if _, ok := slices.BinarySearch(has, t); ok {
			return true
		}
	}
	return false
}
