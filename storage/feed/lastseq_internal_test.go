package feed

import (
	"context"
	"iter"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// sparseJournal is a Tx whose journal holds events at the given Seq
// values; it counts the reads. Its other methods are not used.
type sparseJournal struct {
	storage.Tx
	seqs  []int64 // increasing
	reads int
}

func (j *sparseJournal) Journal(_ context.Context, q storage.JournalQuery) iter.Seq2[itil.Event, error] {
	j.reads++
	return func(yield func(itil.Event, error) bool) {
		i := sort.Search(len(j.seqs), func(i int) bool { return j.seqs[i] > q.After })
		for n := 0; i < len(j.seqs) && (q.Limit == 0 || n < q.Limit); i, n = i+1, n+1 {
			if !yield(itil.Event{Seq: j.seqs[i]}, nil) {
				return
			}
		}
	}
}

// TestLastSeq: the probing search finds the last Seq of journals of any
// length with any gaps, in a number of one-event reads logarithmic in the
// last Seq.
func TestLastSeq(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gaps := rapid.SliceOfN(rapid.Int64Range(1, 1<<rapid.IntRange(0, 40).Draw(t, "scale")), 0, 200).Draw(t, "gaps")
		j := &sparseJournal{}
		var seq int64
		for _, g := range gaps {
			seq += g
			j.seqs = append(j.seqs, seq)
		}
		got, err := lastSeq(context.Background(), j)
		require.NoError(t, err)
		require.Equal(t, seq, got)
		bound := 3
		for s := seq; s > 0; s >>= 1 {
			bound += 2
		}
		require.LessOrEqual(t, j.reads, bound, "reads for last Seq %d", seq)
	})
}

func TestLastSeqLargest(t *testing.T) {
	const maxSeq = 1<<63 - 1
	j := &sparseJournal{seqs: []int64{5, maxSeq - 1, maxSeq}}
	got, err := lastSeq(context.Background(), j)
	require.NoError(t, err)
	require.Equal(t, int64(maxSeq), got)
}
