package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"sync"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

var notes = storage.NewCollection(storage.Schema[itil.Note]{
	Kind:    itil.KindNote,
	ID:      func(n *itil.Note) itil.ID { return n.ID },
	Version: func(n *itil.Note) *int64 { return &n.Version },
	SortKey: func(n *itil.Note) string { return storage.TimeKey(n.At) },
	Terms: func(n *itil.Note, dst []string) []string {
		return append(dst, storage.Term("subject", n.SubjectID.String()), storage.Term("visibility", string(n.Visibility)))
	},
})

var noteSpec = (&Spec[itil.Note]{
	Collection: notes,
	Clone:      func(n *itil.Note) *itil.Note { c := *n; return &c },
	Skip:       []string{"version"},
}).Init()

// AddNote stores a note on subject (an entity of the runner's kind) and
// journals it under its own record, with the subject in Refs, so the
// subject's history shows it and the subject itself is not rewritten.
func (c *Cmd[T]) AddNote(subject itil.ID, vis itil.Visibility, text, eventType, summary string) (*itil.Note, error) {
	n := &itil.Note{ID: itil.NewID(), SubjectKind: c.r.spec.Collection.Kind(), SubjectID: subject,
		Visibility: vis, Author: c.Actor, At: c.Now, Text: text}
	data, err := notes.PutJSON(c.Ctx, c.Tx, n)
	if err != nil {
		return nil, err
	}
	payload := append(append(appendPayloadHead(nil, summary), `,"created":`...), data...)
	if err := c.Tx.Append(c.Ctx, itil.Event{Kind: itil.KindNote, SubjectID: n.ID, SubjectVersion: n.Version, Actor: c.Actor,
		Time: c.Now, Type: eventType, Payload: appendPayloadTail(payload, ""), Refs: []itil.ID{subject}}); err != nil {
		return nil, err
	}
	return n, nil
}

// Notes lists the notes on subject with one of the visibilities (all when
// none is given), oldest first.
func (r Runner[T]) Notes(ctx context.Context, subject itil.ID, vis ...itil.Visibility) iter.Seq2[*itil.Note, error] {
	nr := Runner[itil.Note]{spec: noteSpec, store: r.store, tx: r.tx, clock: r.clock}
	q := Query[itil.Note]{Terms: []string{storage.Term("subject", subject.String())}}
	if len(vis) > 0 {
		g := make([]string, len(vis))
		for i, v := range vis {
			g[i] = storage.Term("visibility", string(v))
		}
		q.AnyOf = [][]string{g}
	}
	return nr.List(ctx, q)
}

// NotesPage is Notes (of every visibility) in the page-token form of
// ListPage.
func (r Runner[T]) NotesPage(ctx context.Context, subject itil.ID, limit int, token string) ([]*itil.Note, string, error) {
	nr := Runner[itil.Note]{spec: noteSpec, store: r.store, tx: r.tx, clock: r.clock}
	return nr.ListPage(ctx, Query[itil.Note]{Terms: []string{storage.Term("subject", subject.String())}}, nil, limit, token)
}

// History returns the journal of entity id, oldest first: its own events
// and those of other records that name it in Refs. An unknown entity gives
// an error wrapping itil.ErrNotFound.
func (r Runner[T]) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	var out []itil.HistoryEntry
	err := r.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = nil
		if _, err := tx.Get(ctx, r.spec.Collection.Kind(), id); err != nil {
			return err
		}
		var err error
		out, err = History(ctx, tx, id)
		return err
	})
	return out, err
}

// History reads the journal of any subject within tx, each event's payload
// decoded as an itil.Payload (payloads of other shapes keep their summary).
func History(ctx context.Context, tx storage.Tx, id itil.ID) ([]itil.HistoryEntry, error) {
	var out []itil.HistoryEntry
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{SubjectID: id}) {
		if err != nil {
			return nil, err
		}
		e := itil.HistoryEntry{Seq: ev.Seq, Kind: ev.Kind, SubjectID: ev.SubjectID, Version: ev.SubjectVersion,
			Time: ev.Time, Actor: ev.Actor, Type: ev.Type, Refs: ev.Refs}
		if len(ev.Payload) > 0 {
			if err := json.Unmarshal(ev.Payload, &e.Payload); err != nil {
				return nil, fmt.Errorf("journal event %d of %s: %w", ev.Seq, id, err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// ApplyEvent is Apply of the journal event ev's payload (decoded; an
// event without one changes nothing): what the in-memory indexes that
// follow the journal (the change schedule, the KPI facts) fold each event
// with.
func ApplyEvent[T any](v *T, ev *itil.Event) (next *T, changed bool, err error) {
	if len(ev.Payload) == 0 {
		return v, false, nil
	}
	var pl itil.Payload
	if err := json.Unmarshal(ev.Payload, &pl); err != nil {
		return v, false, fmt.Errorf("journal event %d: %w", ev.Seq, err)
	}
	return Apply(v, &pl)
}

// Apply returns v as one journal event with payload pl leaves it, by the
// rule Replay applies: the entity as created, or v with the new values of
// the fields the event changed; nil after a deletion. T is an entity type
// or a projection of one (a struct of some of its JSON fields, as an
// in-memory index keeps): fields T does not have are ignored. changed
// reports whether the event created, deleted or set a field T has; when
// it did not, v itself is returned. An event on an entity v does not hold
// (nil) that does not create it returns nil, false.
func Apply[T any](v *T, pl *itil.Payload) (next *T, changed bool, err error) {
	switch {
	case pl == nil:
		return v, false, nil
	case pl.Deleted:
		return nil, true, nil
	case pl.Created != nil:
		out := new(T)
		if err := json.Unmarshal(pl.Created, out); err != nil {
			return nil, false, fmt.Errorf("apply %T: %w", out, err)
		}
		return out, true, nil
	case v == nil:
		return nil, false, nil
	}
	names := jsonNames[T]()
	var obj map[string]json.RawMessage
	for _, f := range pl.Fields {
		if !names[f.Field] {
			continue
		}
		if obj == nil {
			data, err := json.Marshal(v)
			if err != nil {
				return nil, false, fmt.Errorf("apply %T: %w", v, err)
			}
			if err := json.Unmarshal(data, &obj); err != nil {
				return nil, false, fmt.Errorf("apply %T: %w", v, err)
			}
		}
		obj[f.Field] = f.To
	}
	if obj == nil {
		return v, false, nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, false, fmt.Errorf("apply %T: %w", v, err)
	}
	out := new(T) // fresh: a null To leaves the zero value, as Replay does
	if err := json.Unmarshal(data, out); err != nil {
		return nil, false, fmt.Errorf("apply %T: %w", out, err)
	}
	return out, true, nil
}

// jsonNameSets caches, per type, the JSON names of its fields.
var jsonNameSets sync.Map // reflect.Type → map[string]bool

func jsonNames[T any]() map[string]bool {
	t := reflect.TypeFor[T]()
	if m, ok := jsonNameSets.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		m[name] = true
	}
	jsonNameSets.Store(t, m)
	return m
}

// Replay rebuilds an entity of the kind from its history: the entity as
// created, then the new values of the fields of its later events, applied
// in order, up to and including the event at version upTo (every event when
// upTo is 0). Fields the journal does not track (Spec.Skip) keep their
// value at creation.
func Replay[T any](kind string, id itil.ID, history []itil.HistoryEntry, upTo int64) (*T, error) {
	obj := map[string]json.RawMessage{}
	found := false
	for _, e := range history {
		if e.Kind != kind || e.SubjectID != id || (upTo != 0 && e.Version > upTo) {
			continue
		}
		if e.Deleted {
			found = false
			clear(obj)
			continue
		}
		if e.Created != nil {
			clear(obj)
			if err := json.Unmarshal(e.Created, &obj); err != nil {
				return nil, fmt.Errorf("replay %s %s: %w", kind, id, err)
			}
		}
		found = true
		for _, f := range e.Fields {
			obj[f.Field] = f.To
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: no history of %s %s", itil.ErrNotFound, kind, id)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("replay %s %s: %w", kind, id, err)
	}
	return v, nil
}
