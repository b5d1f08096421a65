package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/jsonenc"
)

// Schema declares, once per entity type, how a collection stores T: its
// kind, where its ID and version live, and which index terms and sort key it
// exposes to queries.
type Schema[T any] struct {
	// Kind is the record kind, such as "incident".
	Kind string
	// ID returns the entity's ID.
	ID func(*T) itil.ID
	// Version returns a pointer to the entity's version field, which the
	// collection reads as the expected version on Put and updates.
	Version func(*T) *int64
	// Terms appends the entity's index terms to dst and returns it.
	Terms func(v *T, dst []string) []string
	// SortKey returns the key query results are ordered by.
	SortKey func(*T) string
	// Clone, when set, deep-copies src into dst (dst then shares no slice,
	// map or pointer with src) and turns on the decode cache:
	// entities this process has just encoded or decoded are handed out as
	// clones instead of being decoded again, when the stored bytes are
	// exactly those they were encoded to or decoded from. Setting Clone
	// asserts that T survives a JSON round trip unchanged; test that for
	// the entity.
	Clone func(dst, src *T)
}

// Collection is typed access to one kind of record. Entities are encoded as
// JSON. A Collection is safe for concurrent use and may serve any number of
// stores and tenants: besides its schema it holds only the decode cache
// (when Schema.Clone is set), whose hits need byte-identical stored data.
type Collection[T any] struct {
	s     Schema[T]
	cache *decodeCache[T]
	enc   jsonenc.Encoder // nil: T is encoded with encoding/json
}

// NewCollection returns a collection for the schema. It panics when the
// schema lacks a kind or a function: that is a programming error, found at
// start-up.
func NewCollection[T any](s Schema[T]) *Collection[T] {
	if CheckName("kind", s.Kind) != nil || s.ID == nil || s.Version == nil || s.Terms == nil || s.SortKey == nil {
		panic("storage: NewCollection needs a Kind (valid UTF-8 without NUL), ID, Version, Terms and SortKey")
	}
	c := &Collection[T]{s: s}
	c.enc, _ = jsonenc.For(reflect.TypeFor[T](), true)
	if s.Clone != nil {
		c.cache = &decodeCache[T]{clone: s.Clone}
	}
	return c
}

// Kind returns the record kind of the collection.
func (c *Collection[T]) Kind() string { return c.s.Kind }

// IDOf returns v's ID, as the schema reads it.
func (c *Collection[T]) IDOf(v *T) itil.ID { return c.s.ID(v) }

// TermsOf appends v's index terms to dst, as the schema extracts them.
func (c *Collection[T]) TermsOf(v *T, dst []string) []string { return c.s.Terms(v, dst) }

// VersionOf returns v's version, as the schema reads it.
func (c *Collection[T]) VersionOf(v *T) int64 { return *c.s.Version(v) }

// Get loads the entity with the given ID, or returns an error wrapping
// itil.ErrNotFound.
func (c *Collection[T]) Get(ctx context.Context, tx Tx, id itil.ID) (*T, error) {
	rec, err := tx.Get(ctx, c.s.Kind, id)
	if err != nil {
		return nil, err
	}
	return c.decode(rec)
}

// GetBase is Get that also returns base, the entity as stored, for a
// caller that compares its changes with it (a journal diff). base comes
// from the decode cache and is shared: it MUST NOT be changed. It is nil
// when the collection has no decode cache (Schema.Clone unset); the
// caller then copies v itself.
func (c *Collection[T]) GetBase(ctx context.Context, tx Tx, id itil.ID) (v, base *T, err error) {
	rec, err := tx.Get(ctx, c.s.Kind, id)
	if err != nil {
		return nil, nil, err
	}
	return c.decodeBase(rec)
}

// Put stores v, checking that the stored version still equals v's version
// field (0 for a new entity). On success v's version is raised by one; on
// failure v is unchanged and the error wraps itil.ErrConflict for a stale
// version.
func (c *Collection[T]) Put(ctx context.Context, tx Tx, v *T) error {
	_, err := c.PutJSON(ctx, tx, v)
	return err
}

// PutJSON is Put that also returns the JSON the entity was stored as (its
// version field already raised), for a caller that journals it.
func (c *Collection[T]) PutJSON(ctx context.Context, tx Tx, v *T) (string, error) {
	ver := c.s.Version(v)
	expected := *ver
	*ver = expected + 1
	data, err := c.encode(v)
	if err != nil {
		*ver = expected
		return "", fmt.Errorf("storage: encode %s: %w", c.s.Kind, err)
	}
	rec := Record{
		Kind:    c.s.Kind,
		ID:      c.s.ID(v),
		Version: expected,
		Data:    data,
		Terms:   c.s.Terms(v, nil),
		SortKey: c.s.SortKey(v),
	}
	if _, err := tx.Put(ctx, rec); err != nil {
		*ver = expected
		return "", err
	}
	if c.cache != nil {
		c.cache.store(rec.ID, rec.Data, v)
	}
	return rec.Data, nil
}

// encode returns v's JSON exactly as json.Marshal writes it: by hand when
// jsonenc handles T (a few times faster), else with encoding/json, which
// also reports the error of a value the hand encoder refuses.
func (c *Collection[T]) encode(v *T) (string, error) {
	if c.enc != nil {
		buf := encodeBuffers.Get().(*[]byte)
		b, err := c.enc((*buf)[:0], unsafe.Pointer(v))
		var data string
		if err == nil {
			data = string(b)
		}
		if cap(b) <= 64<<10 {
			*buf = b
			encodeBuffers.Put(buf)
		}
		if err == nil {
			return data, nil
		}
	}
	// data is ours alone and never changed after this, so the record's
	// string can share its bytes instead of copying them.
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return unsafe.String(unsafe.SliceData(data), len(data)), nil
}

// encodeBuffers hold the hand encoder's output until it is copied into the
// record's string.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// Delete removes v at its current version.
func (c *Collection[T]) Delete(ctx context.Context, tx Tx, v *T) error {
	return tx.Delete(ctx, c.s.Kind, c.s.ID(v), *c.s.Version(v))
}

// Query returns the entities matching q; q.Kind is set to the collection's.
func (c *Collection[T]) Query(ctx context.Context, tx Tx, q Query) iter.Seq2[*T, error] {
	q.Kind = c.s.Kind
	return c.decodeAll(tx.Query(ctx, q))
}

// Lookup returns the entities having any of terms.
func (c *Collection[T]) Lookup(ctx context.Context, tx Tx, terms []string) iter.Seq2[*T, error] {
	return c.decodeAll(tx.Lookup(ctx, c.s.Kind, terms))
}

// CursorOf returns the cursor of v, for keyset pagination.
func (c *Collection[T]) CursorOf(v *T) Cursor {
	return Cursor{SortKey: c.s.SortKey(v), ID: c.s.ID(v)}
}

func (c *Collection[T]) decodeAll(seq iter.Seq2[Record, error]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for rec, err := range seq {
			if err != nil {
				yield(nil, err)
				return
			}
			v, err := c.decode(rec)
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

func (c *Collection[T]) decode(rec Record) (*T, error) {
	v, _, err := c.decodeBase(rec)
	return v, err
}

// decodeBase decodes rec and returns, besides, the cache entry's copy of
// it (nil without a cache).
func (c *Collection[T]) decodeBase(rec Record) (v, base *T, err error) {
	if c.cache != nil {
		if e := c.cache.lookup(rec.ID, rec.Data); e != nil {
			v = new(T)
			c.cache.clone(v, &e.value)
			*c.s.Version(v) = rec.Version
			return v, &e.value, nil
		}
	}
	v = new(T)
	if err := json.Unmarshal([]byte(rec.Data), v); err != nil {
		return nil, nil, fmt.Errorf("storage: decode %s %s: %w", c.s.Kind, rec.ID, err)
	}
	*c.s.Version(v) = rec.Version
	if c.cache != nil {
		base = &c.cache.store(rec.ID, rec.Data, v).value
	}
	return v, base, nil
}

// decodeCache remembers, per ID slot, the bytes last encoded or decoded and
// the entity they stand for. A hit needs byte-for-byte equal data, so a
// stale or foreign entry (another tenant, another version) can never be
// returned; it only costs a decode. Entries are immutable and swapped
// atomically, so readers need no lock.
type decodeCache[T any] struct {
	clone func(dst, src *T)
	slots [cacheSlots]atomic.Pointer[cached[T]]
}

const cacheSlots = 1024

type cached[T any] struct {
	id    itil.ID
	data  string
	value T
}

func slot(id itil.ID) int {
	// IDs are random in their low bytes (UUID v7 random bits).
	return int(binary.LittleEndian.Uint16(id[14:]) % cacheSlots)
}

// lookup returns the cache entry for exactly these bytes, or nil. The
// entry is immutable: callers copy its value before changing it.
func (c *decodeCache[T]) lookup(id itil.ID, data string) *cached[T] {
	e := c.slots[slot(id)].Load()
	if e == nil || e.id != id || e.data != data {
		return nil
	}
	return e
}

// store caches a copy of v as the entity data stands for and returns the
// new entry.
func (c *decodeCache[T]) store(id itil.ID, data string, v *T) *cached[T] {
	e := &cached[T]{id: id, data: data}
	c.clone(&e.value, v)
	c.slots[slot(id)].Store(e)
	return e
}
