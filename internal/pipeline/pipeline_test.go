package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// widget is a toy entity for the pipeline's own tests.
type widget struct {
	ID      itil.ID    `json:"id"`
	Version int64      `json:"version"`
	Name    string     `json:"name"`
	Color   string     `json:"color"`
	Count   int        `json:"count"`
	Owner   itil.Actor `json:"owner"`
	At      time.Time  `json:"at"`
	Parts   []string   `json:"parts"`
	Updated time.Time  `json:"updated_at"`
}

var widgets = storage.NewCollection(storage.Schema[widget]{
	Kind:    "widget",
	ID:      func(w *widget) itil.ID { return w.ID },
	Version: func(w *widget) *int64 { return &w.Version },
	SortKey: func(w *widget) string { return w.Name },
	Terms: func(w *widget, dst []string) []string {
		dst = append(dst, storage.Term("color", w.Color))
		for _, p := range w.Parts {
			dst = append(dst, storage.Term("part", p))
		}
		return dst
	},
})

var widgetSpec = (&Spec[widget]{
	Collection: widgets,
	Clone:      func(w *widget) *widget { c := *w; c.Parts = slices.Clone(w.Parts); return &c },
	Touch:      func(w *widget, now time.Time) { w.Updated = now },
	Snapshot: func(w *widget, now time.Time) itil.Snapshot {
		return itil.Snapshot{Kind: "widget", ID: w.ID, Version: w.Version, State: w.Color, Time: now}
	},
	Skip: []string{"version", "updated_at"},
}).Init()

var tester = itil.Actor{ID: "tester"}

func newRunner(t *testing.T, store storage.Store, auth itil.Authorizer[widget], hooks ...storage.Hook) *Runner[widget] {
	t.Helper()
	clock := itil.ClockFunc(func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) })
	r := New(widgetSpec, store, clock, auth, hooks)
	return &r
}

func create(t *testing.T, r *Runner[widget], name, color string) *widget {
	t.Helper()
	w, err := r.Create(t.Context(), tester, "create", &widget{ID: itil.NewID(), Name: name, Color: color}, func(c *Cmd[widget], w *widget) (Event, error) {
		w.Owner = c.Actor
		return Event{Type: "widget.created", Summary: "created " + name}, nil
	})
	require.NoError(t, err)
	return w
}

func paint(r *Runner[widget], ctx context.Context, id itil.ID, color string) (*widget, error) {
	return r.Run(ctx, tester, id, "paint", func(c *Cmd[widget], w *widget) (Event, error) {
		w.Color = color
		return Event{Type: "widget.painted", Summary: "painted " + color}, nil
	})
}

func TestRunJournalsFieldChangesAndReplays(t *testing.T) {
	store := memory.NewStore()
	r := newRunner(t, store, nil)
	w := create(t, r, "gear", "red")
	_, err := paint(r, t.Context(), w.ID, "blue")
	require.NoError(t, err)
	// A command that changes nothing writes nothing.
	got, err := paint(r, t.Context(), w.ID, "blue")
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)

	h, err := r.History(t.Context(), w.ID)
	require.NoError(t, err)
	require.Len(t, h, 2)
	assert.NotEmpty(t, h[0].Created)
	assert.Equal(t, []itil.FieldChange{{Field: "color", From: []byte(`"red"`), To: []byte(`"blue"`)}}, h[1].Fields)
	replayed, err := Replay[widget]("widget", w.ID, h, 0)
	require.NoError(t, err)
	assert.Equal(t, "blue", replayed.Color)
	first, err := Replay[widget]("widget", w.ID, h, 1)
	require.NoError(t, err)
	assert.Equal(t, "red", first.Color, "replay up to a version")
}

func TestConflictsAreRetriedUnlessAVersionIsExpected(t *testing.T) {
	store := memory.NewStore()
	r := newRunner(t, store, nil)
	w := create(t, r, "gear", "red")
	// The first run of the body lets another command commit between its
	// read and its commit: the command must run again on the fresh widget.
	runs := 0
	got, err := r.Run(t.Context(), tester, w.ID, "count", func(c *Cmd[widget], v *widget) (Event, error) {
		runs++
		if runs == 1 {
			if _, err := paint(r, t.Context(), w.ID, "blue"); err != nil {
				return Event{}, err
			}
		}
		v.Count++
		return Event{Type: "widget.counted", Summary: "counted"}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, runs, "the conflicting attempt was run again")
	assert.Equal(t, "blue", got.Color, "on the fresh state")
	assert.Equal(t, 1, got.Count)

	// Under load no acknowledged change is lost.
	const writers, each = 4, 25
	var wg sync.WaitGroup
	var done atomic.Int64
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := r.Run(t.Context(), tester, w.ID, "count", func(c *Cmd[widget], w *widget) (Event, error) {
					w.Count++
					return Event{Type: "widget.counted", Summary: "counted"}, nil
				})
				switch {
				case err == nil:
					done.Add(1)
				case !errors.Is(err, itil.ErrConflict):
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, err = r.Get(t.Context(), w.ID)
	require.NoError(t, err)
	assert.Equal(t, 1+int(done.Load()), got.Count, "every acknowledged increment counted once, none lost")

	// With an expected version there is no retry.
	runs = 0
	stale := r.IfVersion(got.Version)
	_, err = stale.Run(t.Context(), tester, w.ID, "count", func(c *Cmd[widget], v *widget) (Event, error) {
		runs++
		if _, err := paint(r, t.Context(), w.ID, "green"); err != nil {
			return Event{}, err
		}
		v.Count++
		return Event{Type: "widget.counted", Summary: "counted"}, nil
	})
	require.ErrorIs(t, err, itil.ErrConflict)
	assert.Equal(t, 1, runs, "no retry when the caller expected a version")
	old := r.IfVersion(1)
	_, err = paint(&old, t.Context(), w.ID, "black")
	require.ErrorIs(t, err, itil.ErrConflict, "the widget is no longer at version 1")
}

func TestInTxIsAllOrNothing(t *testing.T) {
	store := memory.NewStore()
	r := newRunner(t, store, nil)
	w := create(t, r, "gear", "red")
	errStop := errors.New("stop")
	err := store.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		in := r.In(tx)
		if _, err := paint(&in, ctx, w.ID, "blue"); err != nil {
			return err
		}
		return errStop
	})
	require.ErrorIs(t, err, errStop)
	got, err := r.Get(t.Context(), w.ID)
	require.NoError(t, err)
	assert.Equal(t, "red", got.Color)
	h, err := r.History(t.Context(), w.ID)
	require.NoError(t, err)
	assert.Len(t, h, 1, "nothing journaled")
}

func TestAuthorizerAndHooks(t *testing.T) {
	store := memory.NewStore()
	var seen []itil.Snapshot
	hook := storage.HookFunc(func(_ context.Context, _ storage.Tx, _ itil.Actor, s itil.Snapshot) error {
		seen = append(seen, s)
		if s.State == "black" {
			return errors.New("no black widgets")
		}
		return nil
	})
	auth := func(_ context.Context, _ itil.Actor, command string, w *widget) error {
		if command == "paint" && w.Name == "locked" {
			return errors.New("locked")
		}
		w.Name = "changed by the authorizer" // a copy: no effect
		return nil
	}
	r := newRunner(t, store, auth, hook)
	w := create(t, r, "gear", "red")
	assert.Equal(t, "gear", w.Name)
	locked := create(t, r, "locked", "red")
	_, err := paint(r, t.Context(), locked.ID, "blue")
	require.ErrorIs(t, err, itil.ErrForbidden)
	_, err = paint(r, t.Context(), w.ID, "black")
	require.EqualError(t, err, "no black widgets", "a hook's error aborts the command")
	got, err := r.Get(t.Context(), w.ID)
	require.NoError(t, err)
	assert.Equal(t, "red", got.Color)
	require.Len(t, seen, 3)
	assert.Equal(t, "black", seen[2].State)

	_, err = r.Run(t.Context(), itil.Actor{}, w.ID, "paint", nil)
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	assert.True(t, v.Has("actor.id"))
}

func TestDeleteEndsTheHistory(t *testing.T) {
	store := memory.NewStore()
	r := newRunner(t, store, nil)
	w := create(t, r, "gear", "red")
	err := r.Do(t.Context(), tester, func(c *Cmd[widget]) error {
		v, err := c.Load(w.ID)
		if err != nil {
			return err
		}
		return c.Delete(v, Event{Type: "widget.deleted", Summary: "scrapped"})
	})
	require.NoError(t, err)
	_, err = r.Get(t.Context(), w.ID)
	require.ErrorIs(t, err, itil.ErrNotFound)
	var h []itil.HistoryEntry
	require.NoError(t, store.RunInTx(t.Context(), func(ctx context.Context, tx storage.Tx) error {
		var err error
		h, err = History(ctx, tx, w.ID)
		return err
	}))
	require.Len(t, h, 2)
	assert.True(t, h[1].Deleted)
	assert.Equal(t, int64(2), h[1].Version)
	_, err = Replay[widget]("widget", w.ID, h, 0)
	require.ErrorIs(t, err, itil.ErrNotFound)
}

func TestListMergesMultiValueFiltersInOrder(t *testing.T) {
	store := memory.NewStore()
	r := newRunner(t, store, nil)
	colors := []string{"red", "green", "blue"}
	for i := range 30 {
		create(t, r, fmt.Sprintf("w%02d", i), colors[i%3])
	}
	q := Query[widget]{AnyOf: [][]string{{"color=red", "color=blue"}}, Keep: func(w *widget) bool { return w.Name != "w03" }}
	var names []string
	for w, err := range r.List(t.Context(), q) {
		require.NoError(t, err)
		names = append(names, w.Name)
	}
	var want []string
	for i := range 30 {
		if i%3 != 1 && i != 3 {
			want = append(want, fmt.Sprintf("w%02d", i))
		}
	}
	assert.Equal(t, want, names)

	var paged []string
	var after *storage.Cursor
	for {
		items, next, err := r.Page(t.Context(), q, 4, after)
		require.NoError(t, err)
		for _, w := range items {
			paged = append(paged, w.Name)
		}
		if next == nil {
			break
		}
		after = next
	}
	assert.Equal(t, want, paged)
	q.Reverse = true
	var reversed []string
	after = nil
	for {
		items, next, err := r.Page(t.Context(), q, 3, after)
		require.NoError(t, err)
		for _, w := range items {
			reversed = append(reversed, w.Name)
		}
		if next == nil {
			break
		}
		after = next
	}
	slices.Reverse(reversed)
	assert.Equal(t, want, reversed, "newest first, page by page")

	// A value repeated in a filter returns each entity once.
	q = Query[widget]{AnyOf: [][]string{{"color=red", "color=red"}}}
	n := 0
	for _, err := range r.List(t.Context(), q) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 10, n)
}

// A time set to the same instant at the same offset in another Location
// writes the same JSON: no change, no write.
func TestSameInstantElsewhereIsNoChange(t *testing.T) {
	r := newRunner(t, memory.NewStore(), nil)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("A", 3600))
	w, err := r.Create(t.Context(), tester, "create", &widget{ID: itil.NewID(), Name: "g", At: at}, func(c *Cmd[widget], v *widget) (Event, error) {
		return Event{Type: "widget.created", Summary: "created"}, nil
	})
	require.NoError(t, err)
	got, err := r.Run(t.Context(), tester, w.ID, "set", func(c *Cmd[widget], v *widget) (Event, error) {
		v.At = at.In(time.FixedZone("B", 3600))
		return Event{Type: "widget.set", Summary: "set"}, nil
	})
	require.NoError(t, err)
	assert.EqualValues(t, 1, got.Version)
	h, err := r.History(t.Context(), w.ID)
	require.NoError(t, err)
	assert.Len(t, h, 1, "nothing journaled")
}

// The authorizer runs before anything stored shows through: before the
// version a caller expects is compared, and before a creation's build
// reads the store or takes a number.
func TestAuthorizationComesFirst(t *testing.T) {
	store := memory.NewStore()
	open := newRunner(t, store, nil)
	w := create(t, open, "gear", "red")
	refuse := func(context.Context, itil.Actor, string, *widget) error { return errors.New("no") }
	closed := newRunner(t, store, refuse)
	stale := closed.IfVersion(w.Version + 5)
	_, err := paint(&stale, t.Context(), w.ID, "blue")
	require.ErrorIs(t, err, itil.ErrForbidden, "not ErrConflict: the version is the entity's state")

	built := false
	_, err = closed.Create(t.Context(), tester, "create", &widget{ID: itil.NewID(), Name: "x"}, func(c *Cmd[widget], v *widget) (Event, error) {
		built = true
		_, err := c.Tx.NextSeq(c.Ctx, "widget")
		return Event{Type: "widget.created", Summary: "created"}, err
	})
	require.ErrorIs(t, err, itil.ErrForbidden)
	assert.False(t, built, "a refused creation reads nothing and takes no number")
}

// Each attempt of a creation starts from the candidate afresh: what a
// conflicting attempt built is gone, the caller's candidate is untouched,
// and the authorizer sees the candidate each time.
func TestCreateAttemptsStartAfresh(t *testing.T) {
	store := memory.NewStore()
	var seen []int
	auth := func(_ context.Context, _ itil.Actor, command string, w *widget) error {
		if command == "create" && w.Name == "new" {
			seen = append(seen, len(w.Parts))
		}
		return nil
	}
	r := newRunner(t, store, auth)
	other := create(t, r, "other", "red")
	candidate := &widget{ID: itil.NewID(), Name: "new", Parts: []string{"base"}}
	attempts := 0
	got, err := r.Create(t.Context(), tester, "create", candidate, func(c *Cmd[widget], v *widget) (Event, error) {
		attempts++
		v.Parts = append(v.Parts, "added")
		v.Count++
		if _, err := c.Load(other.ID); err != nil {
			return Event{}, err
		}
		if attempts == 1 { // another command commits what this one read
			if _, err := paint(r, t.Context(), other.ID, "blue"); err != nil {
				return Event{}, err
			}
		}
		return Event{Type: "widget.created", Summary: "created"}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	assert.Equal(t, []string{"base", "added"}, got.Parts)
	assert.Equal(t, 1, got.Count)
	assert.Equal(t, []string{"base"}, candidate.Parts, "the caller's candidate is not changed")
	assert.Equal(t, []int{1, 1}, seen, "the authorizer saw the candidate on each attempt")
	stored, err := r.Get(t.Context(), got.ID)
	require.NoError(t, err)
	assert.Equal(t, got.Parts, stored.Parts)
}

// TestAnyOfYieldsOnce: an entity holding several terms of the first group
// is returned once, in order, by List and by pages.
func TestAnyOfYieldsOnce(t *testing.T) {
	r := newRunner(t, memory.NewStore(), nil)
	for _, w := range []struct {
		name  string
		parts []string
	}{{"w1", []string{"a", "b"}}, {"w2", []string{"b"}}, {"w3", []string{"c"}}, {"w4", []string{"a", "b", "c"}}} {
		_, err := r.Create(t.Context(), tester, "create", &widget{ID: itil.NewID(), Name: w.name, Parts: w.parts},
			func(c *Cmd[widget], w *widget) (Event, error) {
				return Event{Type: "widget.created", Summary: "created"}, nil
			})
		require.NoError(t, err)
	}
	q := Query[widget]{AnyOf: [][]string{{"part=a", "part=b", "part=c"}}}
	var names []string
	for w, err := range r.List(t.Context(), q) {
		require.NoError(t, err)
		names = append(names, w.Name)
	}
	assert.Equal(t, []string{"w1", "w2", "w3", "w4"}, names)
	names = nil
	var after *storage.Cursor
	for {
		items, next, err := r.Page(t.Context(), q, 1, after)
		require.NoError(t, err)
		for _, w := range items {
			names = append(names, w.Name)
		}
		if next == nil {
			break
		}
		after = next
	}
	assert.Equal(t, []string{"w1", "w2", "w3", "w4"}, names)
	q.Reverse = true
	names = nil
	for w, err := range r.List(t.Context(), q) {
		require.NoError(t, err)
		names = append(names, w.Name)
	}
	assert.Equal(t, []string{"w4", "w3", "w2", "w1"}, names)
}

// TestApplyFollowsReplay: folding a widget's journal with Apply, into the
// widget or into a projection of some of its fields, gives what Replay
// gives; an event that sets no field of the projection changes nothing;
// a null clears a field; a deletion removes the value.
func TestApplyFollowsReplay(t *testing.T) {
	type colour struct {
		Color string   `json:"color"`
		Parts []string `json:"parts"`
	}
	store := memory.NewStore()
	r := newRunner(t, store, nil)
	w := create(t, r, "gear", "red")
	_, err := paint(r, t.Context(), w.ID, "blue")
	require.NoError(t, err)
	_, err = r.Run(t.Context(), tester, w.ID, "rename", func(c *Cmd[widget], v *widget) (Event, error) {
		v.Name = "cog"
		return Event{Type: "widget.renamed", Summary: "renamed"}, nil
	})
	require.NoError(t, err)
	h, err := r.History(t.Context(), w.ID)
	require.NoError(t, err)
	require.Len(t, h, 3)
	var full *widget
	var proj *colour
	var changed []bool
	for _, e := range h {
		var ch bool
		full, _, err = Apply(full, &e.Payload)
		require.NoError(t, err)
		proj, ch, err = Apply(proj, &e.Payload)
		require.NoError(t, err)
		changed = append(changed, ch)
	}
	replayed, err := Replay[widget]("widget", w.ID, h, 0)
	require.NoError(t, err)
	assert.Equal(t, replayed, full)
	assert.Equal(t, &colour{Color: "blue"}, proj)
	assert.Equal(t, []bool{true, true, false}, changed, "the rename sets no field of the projection")

	proj, ch, err := Apply(proj, &itil.Payload{Fields: []itil.FieldChange{{Field: "color", To: []byte("null")}}})
	require.NoError(t, err)
	assert.True(t, ch)
	assert.Equal(t, &colour{}, proj, "a null clears")
	proj, ch, err = Apply(proj, &itil.Payload{Deleted: true})
	require.NoError(t, err)
	assert.True(t, ch)
	assert.Nil(t, proj)
	none, ch, err := Apply[colour](nil, &itil.Payload{Fields: []itil.FieldChange{{Field: "color", To: []byte(`"red"`)}}})
	require.NoError(t, err)
	assert.False(t, ch)
	assert.Nil(t, none, "an entity the fold does not hold stays unheld")
}
