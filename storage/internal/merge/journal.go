package merge

import (
	"fmt"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Journal is the journal read loop of every backend: it validates q, then
// hands yield the events page returns, page by page, from q.After up to
// q.Limit. page reads up to n committed events after the given seq (of
// q's subject, when it names one); check runs before each page and each
// event, and its error ends the loop, as does page's.
func Journal(q storage.JournalQuery, pageSize int, check func() error,
	page func(after int64, n int) ([]itil.Event, error), yield func(itil.Event, error) bool) {
	if err := storage.CheckJournalQuery(q); err != nil {
		yield(itil.Event{}, err)
		return
	}
	after, emitted := q.After, 0
	for {
		if err := check(); err != nil {
			yield(itil.Event{}, err)
			return
		}
		n := pageSize
		if q.Limit > 0 {
			n = min(n, q.Limit-emitted)
		}
		batch, err := page(after, n)
		if err != nil {
			yield(itil.Event{}, err)
			return
		}
		for _, ev := range batch {
			if err := check(); err != nil {
				yield(itil.Event{}, err)
				return
			}
			emitted++
			if !yield(ev, nil) {
				return
			}
			after = ev.Seq
		}
		if len(batch) < n || (q.Limit > 0 && emitted >= q.Limit) {
			return
		}
	}
}

// EncodeRefs returns refs as the SQL backends store them: the 16-byte
// IDs one after the other, in order; nil for none (NULL in the database).
func EncodeRefs(refs []itil.ID) []byte {
	if len(refs) == 0 {
		return nil
	}
	b := make([]byte, 0, 16*len(refs))
	for _, r := range refs {
		b = append(b, r[:]...)
	}
	return b
}

// DecodeRefs reverses EncodeRefs: nil for none, an error for a length
// that is not a whole number of IDs.
func DecodeRefs(b []byte) ([]itil.ID, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("refs of %d bytes, not a whole number of IDs", len(b))
	}
	refs := make([]itil.ID, len(b)/16)
	for i := range refs {
		copy(refs[i][:], b[16*i:])
	}
	return refs, nil
}
