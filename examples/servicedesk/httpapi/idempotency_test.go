package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/sqlite"
)

// TestPostIdempotent: a POST retried with its Idempotency-Key opens one
// incident and answers the same twice, however the retries race; the key
// on another request is refused; without a key each POST runs. On memory
// and on a SQLite file, whose writers take turns.
func TestPostIdempotent(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testPostIdempotent(t, memory.NewStore()) })
	t.Run("sqlite", func(t *testing.T) {
		b, err := sqlite.Open(filepath.Join(t.TempDir(), "desk.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		store, err := b.Tenant("demo")
		if err != nil {
			t.Fatal(err)
		}
		testPostIdempotent(t, store)
	})
}

func testPostIdempotent(t *testing.T, store storage.Store) {
	svc, err := incident.New(store)
	if err != nil {
		t.Fatal(err)
	}
	desk := itil.Actor{ID: "desk"}
	handler := func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		Post(w, r, store, nil, buf.Bytes(), func(ctx context.Context, tx storage.Tx) (Response, error) {
			var in struct{ Title string }
			if err := json.Unmarshal(buf.Bytes(), &in); err != nil {
				return Response{}, err
			}
			inc, err := svc.In(tx).Open(ctx, desk, incident.NewIncident{Title: in.Title, Caller: itil.Actor{ID: "casey"},
				Channel: incident.Phone, Impact: 2, Urgency: 2})
			if err != nil {
				return Response{}, err
			}
			return Response{Status: http.StatusCreated, Version: inc.Version, Location: "/incidents/" + inc.ID.String(), Body: inc}, nil
		})
	}
	post := func(key, title string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/incidents", bytes.NewBufferString(`{"Title":"`+title+`"}`))
		if key != "" {
			r.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		handler(rec, r)
		return rec
	}
	count := func() int {
		n := 0
		for _, err := range svc.List(context.Background(), incident.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	first := post("k1", "Mail down")
	again := post("k1", "Mail down")
	if first.Code != 201 || again.Code != 201 || first.Body.String() != again.Body.String() ||
		first.Header().Get("Location") != again.Header().Get("Location") || again.Header().Get("ETag") != `"1"` {
		t.Fatalf("first %d %s\nagain %d %s", first.Code, first.Body, again.Code, again.Body)
	}
	if other := post("k1", "Printer jam"); other.Code != http.StatusUnprocessableEntity {
		t.Fatalf("the key on another request: %d %s", other.Code, other.Body)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d incidents", n)
	}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i] = post("k2", "VPN down").Code })
	}
	wg.Wait()
	for _, c := range codes {
		if c != 201 {
			t.Fatalf("racing retries: %v", codes)
		}
	}
	post("", "Slow")
	post("", "Slow")
	if n := count(); n != 4 {
		t.Fatalf("%d incidents, want 4 (k1, k2 and two without a key)", n)
	}
	// Past the window, the key is free again: the request runs as new,
	// and is remembered in its turn.
	now = func() time.Time { return time.Now().Add(IdempotencyWindow + time.Minute) }
	defer func() { now = time.Now }()
	if later := post("k1", "Printer jam"); later.Code != 201 || later.Header().Get("Location") == first.Header().Get("Location") {
		t.Fatalf("the key past its window: %d %s", later.Code, later.Body)
	}
	if again := post("k1", "Printer jam"); again.Code != 201 || count() != 5 {
		t.Fatalf("the key remembered again: %d, %d incidents", again.Code, count())
	}
	if bad := post("", ""); bad.Code != http.StatusUnprocessableEntity {
		t.Fatalf("an incident without a title: %d", bad.Code)
	}
}
