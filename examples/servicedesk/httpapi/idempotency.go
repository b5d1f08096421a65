package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// A client whose connection dropped before the answer retries its POST
// with the same Idempotency-Key, and gets the first answer again instead
// of a second incident. The key's record is written in the transaction of
// the command it answers, so the two commit together or not at all, on
// every backend and across instances: a retry racing the first attempt
// conflicts on the record and then reads it.

// KindIdempotency is the storage kind of remembered POST answers.
const KindIdempotency = "servicedesk_idempotency"

// MaxIdempotencyKey bounds an Idempotency-Key.
const MaxIdempotencyKey = 255

// IdempotencyWindow is how long a key's answer is remembered: a retry
// within it gets the first answer; after it, the key is free again and
// the request runs as new (a client retries within minutes, not days).
// The records stay in the store until their key is used again; a vendor
// with many keys sweeps them (their sort key is their time).
const IdempotencyWindow = 24 * time.Hour

// now is the clock of the window (a test moves it).
var now = time.Now

// Response is what a POST answers: the status, the entity's version as
// its ETag (0: none), where it lives (Location, for a creation) and the
// JSON body.
type Response struct {
	Status   int
	Version  int64
	Location string
	Body     any
}

type remembered struct {
	ID       itil.ID         `json:"id"`
	Version  int64           `json:"-"`
	Key      string          `json:"key"`
	Digest   string          `json:"digest"` // of the method, path and body
	Status   int             `json:"status"`
	ETag     int64           `json:"etag,omitempty"`
	Location string          `json:"location,omitempty"`
	Body     json.RawMessage `json:"body"`
	At       time.Time       `json:"at"`
}

var answers = storage.NewCollection(storage.Schema[remembered]{
	Kind:    KindIdempotency,
	ID:      func(a *remembered) itil.ID { return a.ID },
	Version: func(a *remembered) *int64 { return &a.Version },
	Terms:   func(_ *remembered, dst []string) []string { return dst },
	SortKey: func(a *remembered) string { return storage.TimeKey(a.At) },
})

var keyNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/examples/servicedesk#idempotency"))

// Post runs a POST's work in one writing transaction of store and writes
// its answer. With an Idempotency-Key, the answer is remembered under
// the key (per principal) in the same transaction; a retry with the same
// key and the same request gets it again without running anything, and
// the same key on another request is refused (422). A key is remembered
// for IdempotencyWindow. Errors are written as
// problem details (see ProblemOf).
func Post(w http.ResponseWriter, r *http.Request, store storage.Store, log *slog.Logger, body []byte,
	run func(ctx context.Context, tx storage.Tx) (Response, error)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		var resp Response
		err := store.RunInTx(storage.Writing(r.Context()), func(ctx context.Context, tx storage.Tx) error {
			var err error
			resp, err = run(ctx, tx)
			return err
		})
		if err != nil {
			WriteError(w, r, log, err)
			return
		}
		writeResponse(w, resp.Status, resp.Version, resp.Location, mustJSON(resp.Body))
		return
	}
	if len(key) > MaxIdempotencyKey {
		var v itil.ValidationError
		v.Add("Idempotency-Key", "is longer than 255 bytes")
		WriteError(w, r, log, v.Err())
		return
	}
	principal := ""
	if p, ok := PrincipalOf(r.Context()); ok {
		principal = p.Actor.ID
	}
	id := uuid.NewSHA1(keyNamespace, []byte(principal+"\x00"+key))
	// The request is its method, path, If-Match and body: the same key on a
	// command at another version is another request.
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\x00"+r.Header.Get("If-Match")+"\x00"), body...))
	digest := hex.EncodeToString(sum[:])
	var got *remembered
	attempt := func() error {
		return store.RunInTx(storage.Writing(r.Context()), func(ctx context.Context, tx storage.Tx) error {
			prev, err := answers.Get(ctx, tx, id)
			var version int64 // of a record past the window, which this one replaces
			switch {
			case err == nil && now().Sub(prev.At) < IdempotencyWindow:
				got = prev
				return nil
			case err == nil:
				version = prev.Version
			case !errors.Is(err, itil.ErrNotFound):
				return err
			}
			resp, err := run(ctx, tx)
			if err != nil {
				return err
			}
			a := &remembered{ID: id, Version: version, Key: key, Digest: digest, Status: resp.Status, ETag: resp.Version, Location: resp.Location,
				Body: mustJSON(resp.Body), At: now().UTC()}
			if err := answers.Put(ctx, tx, a); err != nil {
				return err
			}
			got = a
			return nil
		})
	}
	err := attempt()
	if errors.Is(err, itil.ErrConflict) && !errors.Is(err, itil.ErrStale) {
		err = attempt() // another attempt with the key committed first: read its answer
	}
	switch {
	case err != nil:
		WriteError(w, r, log, err)
	case got.Digest != digest:
		var v itil.ValidationError
		v.Add("Idempotency-Key", "was used for another request")
		WriteError(w, r, log, v.Err())
	default:
		writeResponse(w, got.Status, got.ETag, got.Location, got.Body)
	}
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		panic(err) // the entities' own types: a bug, not input
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func writeResponse(w http.ResponseWriter, status int, version int64, location string, body []byte) {
	if version > 0 {
		SetETag(w, version)
	}
	if location != "" {
		w.Header().Set("Location", location)
	}
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
