package storage_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// note is the entity of these tests. It survives a JSON round trip
// unchanged, as Schema.Clone requires.
type note struct {
	ID      itil.ID   `json:"id"`
	Version int64     `json:"version"`
	Queue   string    `json:"queue"`
	Labels  []string  `json:"labels,omitempty"`
	Opened  time.Time `json:"opened"`
}

func noteSchema() storage.Schema[note] {
	return storage.Schema[note]{
		Kind:    "note",
		ID:      func(n *note) itil.ID { return n.ID },
		Version: func(n *note) *int64 { return &n.Version },
		Terms: func(n *note, dst []string) []string {
			dst = append(dst, storage.Term("queue", n.Queue))
			for _, l := range n.Labels {
				dst = append(dst, storage.Term("label", l))
			}
			return dst
		},
		SortKey: func(n *note) string { return storage.TimeKey(n.Opened) },
	}
}

var (
	plainNotes  = storage.NewCollection(noteSchema())
	cachedNotes = func() *storage.Collection[note] {
		s := noteSchema()
		s.Clone = func(dst, src *note) {
			*dst = *src
			dst.Labels = slices.Clone(src.Labels)
		}
		return storage.NewCollection(s)
	}()
	errRollback = errors.New("rollback")
	opened      = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// eachCollection runs test for notes with and without the decode cache.
func eachCollection(t *testing.T, test func(t *testing.T, notes *storage.Collection[note])) {
	t.Run("Plain", func(t *testing.T) { test(t, plainNotes) })
	t.Run("Cached", func(t *testing.T) { test(t, cachedNotes) })
}

func newNote(queue string, hour int, labels ...string) *note {
	return &note{ID: itil.NewID(), Queue: queue, Labels: labels, Opened: opened.Add(time.Duration(hour) * time.Hour)}
}

func inTx(t *testing.T, s storage.Store, fn func(ctx context.Context, tx storage.Tx)) {
	t.Helper()
	require.NoError(t, s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		fn(ctx, tx)
		return nil
	}))
}

func put(t *testing.T, s storage.Store, c *storage.Collection[note], ns ...*note) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		for _, n := range ns {
			require.NoError(t, c.Put(ctx, tx, n))
		}
	})
}

func load(t *testing.T, s storage.Store, c *storage.Collection[note], id itil.ID) (n *note, err error) {
	t.Helper()
	inTx(t, s, func(ctx context.Context, tx storage.Tx) { n, err = c.Get(ctx, tx, id) })
	return n, err
}

func mustLoad(t *testing.T, s storage.Store, c *storage.Collection[note], id itil.ID) *note {
	t.Helper()
	n, err := load(t, s, c, id)
	require.NoError(t, err)
	return n
}

func all[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

func TestNewCollectionRequiresSchema(t *testing.T) {
	for name, drop := range map[string]func(*storage.Schema[note]){
		"Kind":    func(s *storage.Schema[note]) { s.Kind = "" },
		"ID":      func(s *storage.Schema[note]) { s.ID = nil },
		"Version": func(s *storage.Schema[note]) { s.Version = nil },
		"Terms":   func(s *storage.Schema[note]) { s.Terms = nil },
		"SortKey": func(s *storage.Schema[note]) { s.SortKey = nil },
	} {
		t.Run(name, func(t *testing.T) {
			s := noteSchema()
			drop(&s)
			assert.Panics(t, func() { storage.NewCollection(s) })
		})
	}
	assert.Equal(t, "note", plainNotes.Kind())
}

func TestCollectionPutAndGet(t *testing.T) {
	eachCollection(t, func(t *testing.T, notes *storage.Collection[note]) {
		s := memory.NewStore()
		n := newNote("desk", 0, "vip", "printer")
		put(t, s, notes, n)
		require.EqualValues(t, 1, n.Version, "Put raises the entity's version")
		require.Equal(t, n, mustLoad(t, s, notes, n.ID))

		n.Queue, n.Labels = "network", nil
		put(t, s, notes, n)
		require.EqualValues(t, 2, n.Version)
		require.Equal(t, n, mustLoad(t, s, notes, n.ID))

		// The record holds what the schema extracts.
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			rec, err := tx.Get(ctx, "note", n.ID)
			require.NoError(t, err)
			require.EqualValues(t, 2, rec.Version)
			require.Equal(t, []string{"queue=network"}, rec.Terms)
			require.Equal(t, storage.TimeKey(opened), rec.SortKey)
		})
	})
}

func TestCollectionPutConflictKeepsVersion(t *testing.T) {
	eachCollection(t, func(t *testing.T, notes *storage.Collection[note]) {
		s := memory.NewStore()
		n := newNote("desk", 0)
		put(t, s, notes, n)
		stale := *n
		n.Queue = "network"
		put(t, s, notes, n)

		stale.Queue = "stale"
		err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			return notes.Put(ctx, tx, &stale)
		})
		require.ErrorIs(t, err, itil.ErrConflict)
		require.EqualValues(t, 1, stale.Version, "a failed Put leaves the version alone")
		require.Equal(t, n, mustLoad(t, s, notes, n.ID))

		missing := newNote("desk", 0)
		missing.Version = 3
		err = s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
			return notes.Put(ctx, tx, missing)
		})
		require.ErrorIs(t, err, itil.ErrConflict)
		require.EqualValues(t, 3, missing.Version)
	})
}

func TestCollectionPutEncodeError(t *testing.T) {
	type odd struct {
		ID      itil.ID `json:"id"`
		Version int64   `json:"version"`
		Extra   any     `json:"extra"`
	}
	odds := storage.NewCollection(storage.Schema[odd]{
		Kind:    "odd",
		ID:      func(o *odd) itil.ID { return o.ID },
		Version: func(o *odd) *int64 { return &o.Version },
		Terms:   func(_ *odd, dst []string) []string { return dst },
		SortKey: func(*odd) string { return "" },
	})
	s := memory.NewStore()
	o := &odd{ID: itil.NewID(), Extra: make(chan int)}
	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error { return odds.Put(ctx, tx, o) })
	require.Error(t, err)
	require.NotErrorIs(t, err, itil.ErrConflict)
	require.Zero(t, o.Version, "a failed Put leaves the version alone")
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		_, err := tx.Get(ctx, "odd", o.ID)
		require.ErrorIs(t, err, itil.ErrNotFound, "a failed Put writes nothing")
	})
}

func TestCollectionDelete(t *testing.T) {
	eachCollection(t, func(t *testing.T, notes *storage.Collection[note]) {
		s := memory.NewStore()
		n := newNote("desk", 0)
		put(t, s, notes, n)
		stale := *n
		put(t, s, notes, n)

		err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error { return notes.Delete(ctx, tx, &stale) })
		require.ErrorIs(t, err, itil.ErrConflict)
		inTx(t, s, func(ctx context.Context, tx storage.Tx) { require.NoError(t, notes.Delete(ctx, tx, n)) })
		_, err = load(t, s, notes, n.ID)
		require.ErrorIs(t, err, itil.ErrNotFound)
	})
}

func TestCollectionQueryAndLookup(t *testing.T) {
	eachCollection(t, func(t *testing.T, notes *storage.Collection[note]) {
		s := memory.NewStore()
		// Opened out of creation order, so the sort key decides.
		desk := []*note{newNote("desk", 5, "vip"), newNote("desk", 1), newNote("desk", 3, "vip"), newNote("desk", 2), newNote("desk", 4)}
		other := newNote("network", 0, "vip")
		put(t, s, notes, append(slices.Clone(desk), other)...)
		byOpened := slices.Clone(desk)
		slices.SortFunc(byOpened, func(a, b *note) int { return a.Opened.Compare(b.Opened) })

		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			q := storage.Query{Kind: "ignored: the collection's kind is used", Terms: []string{"queue=desk"}}
			require.Equal(t, byOpened, all(t, notes.Query(ctx, tx, q)))
			q.Reverse, q.Limit = true, 2
			require.Equal(t, []*note{byOpened[4], byOpened[3]}, all(t, notes.Query(ctx, tx, q)))
			q = storage.Query{Min: storage.TimeKey(opened.Add(2 * time.Hour)), Max: storage.TimeKey(opened.Add(4 * time.Hour))}
			require.Equal(t, byOpened[1:3], all(t, notes.Query(ctx, tx, q)))

			vip := all(t, notes.Lookup(ctx, tx, []string{"label=vip", "queue=network"}))
			require.Equal(t, []*note{other, desk[2], desk[0]}, vip)
		})
	})
}

func TestCollectionPaginateWithPageTokens(t *testing.T) {
	s := memory.NewStore()
	var want []*note
	for i := range 9 {
		n := newNote("desk", i%3) // ties on the sort key, ordered by ID
		want = append(want, n)
	}
	put(t, s, plainNotes, want...)
	slices.SortFunc(want, func(a, b *note) int {
		if c := a.Opened.Compare(b.Opened); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})

	var got []*note
	token := ""
	for {
		q := storage.Query{Terms: []string{"queue=desk"}, Limit: 2}
		if token != "" {
			after, err := storage.ParseCursor(token)
			require.NoError(t, err)
			q.After = &after
		}
		var page []*note
		inTx(t, s, func(ctx context.Context, tx storage.Tx) { page = all(t, plainNotes.Query(ctx, tx, q)) })
		got = append(got, page...)
		if len(page) < q.Limit {
			break
		}
		token = plainNotes.CursorOf(page[len(page)-1]).String()
	}
	require.Equal(t, want, got)
}

func TestParseCursorRejectsGarbage(t *testing.T) {
	for _, token := range []string{"", "!!!", "c2hvcnQ"} {
		_, err := storage.ParseCursor(token)
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v, "token %q", token)
		require.True(t, v.Has("cursor"))
	}
}

func TestCollectionDecodeError(t *testing.T) {
	eachCollection(t, func(t *testing.T, notes *storage.Collection[note]) {
		s := memory.NewStore()
		// The broken record sorts first: its sort key is empty.
		broken := storage.Record{Kind: "note", ID: itil.NewID(), Data: "{", Terms: []string{"queue=desk"}}
		fine := newNote("desk", 0)
		put(t, s, notes, fine)
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			_, err := tx.Put(ctx, broken)
			require.NoError(t, err)
		})

		_, err := load(t, s, notes, broken.ID)
		require.Error(t, err)
		require.NotErrorIs(t, err, itil.ErrNotFound)

		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			for name, seq := range map[string]iter.Seq2[*note, error]{
				"Query":  notes.Query(ctx, tx, storage.Query{}),
				"Lookup": notes.Lookup(ctx, tx, []string{"queue=desk"}),
			} {
				yields := 0
				for v, err := range seq {
					yields++
					require.Error(t, err, name)
					require.Nil(t, v, name)
				}
				require.Equal(t, 1, yields, "%s stops at the first error", name)
			}
		})
	})
}

func TestCollectionVersionComesFromRecord(t *testing.T) {
	eachCollection(t, func(t *testing.T, notes *storage.Collection[note]) {
		s := memory.NewStore()
		id := itil.NewID()
		inTx(t, s, func(ctx context.Context, tx storage.Tx) {
			_, err := tx.Put(ctx, storage.Record{Kind: "note", ID: id, Data: `{"id":"` + id.String() + `","version":99}`})
			require.NoError(t, err)
		})
		require.EqualValues(t, 1, mustLoad(t, s, notes, id).Version)
	})
}

func TestCollectionQueryStopsWhenTheLoopBreaks(t *testing.T) {
	s := memory.NewStore()
	put(t, s, plainNotes, newNote("desk", 0), newNote("desk", 1))
	inTx(t, s, func(ctx context.Context, tx storage.Tx) {
		n := 0
		for _, err := range plainNotes.Query(ctx, tx, storage.Query{}) {
			require.NoError(t, err)
			n++
			break
		}
		require.Equal(t, 1, n)
	})
}

// The decode cache must be invisible: every entity handed out is the
// caller's own, and only bytes actually stored are ever served from it.
func TestCollectionCacheHandsOutCopies(t *testing.T) {
	s := memory.NewStore()
	n := newNote("desk", 0, "vip")
	put(t, s, cachedNotes, n)
	n.Labels[0], n.Queue = "changed after Put", "changed after Put"

	got := mustLoad(t, s, cachedNotes, n.ID)
	require.Equal(t, []string{"vip"}, got.Labels)
	require.Equal(t, "desk", got.Queue)
	got.Labels[0] = "changed after Get"
	require.Equal(t, []string{"vip"}, mustLoad(t, s, cachedNotes, n.ID).Labels)
}

func TestCollectionCacheIgnoresRolledBackPuts(t *testing.T) {
	s := memory.NewStore()
	n := newNote("desk", 0)
	put(t, s, cachedNotes, n)
	committed := *n

	err := s.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		n.Queue = "rolled back"
		require.NoError(t, cachedNotes.Put(ctx, tx, n))
		return errRollback
	})
	require.ErrorIs(t, err, errRollback)
	require.Equal(t, &committed, mustLoad(t, s, cachedNotes, n.ID))
}

func TestCollectionCacheKeepsTenantsApart(t *testing.T) {
	b := memory.New()
	t.Cleanup(func() { _ = b.Close() })
	a, err := b.Tenant("a")
	require.NoError(t, err)
	other, err := b.Tenant("b")
	require.NoError(t, err)

	na := newNote("desk", 0)
	nb := *na
	nb.Queue = "network"
	put(t, a, cachedNotes, na)
	put(t, other, cachedNotes, &nb)
	require.Equal(t, na, mustLoad(t, a, cachedNotes, na.ID))
	require.Equal(t, &nb, mustLoad(t, other, cachedNotes, na.ID))
	require.Equal(t, na, mustLoad(t, a, cachedNotes, na.ID))
}
