package merge

import (
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
