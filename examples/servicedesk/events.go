package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/storage"
)

// The journal, as Server-Sent Events: each event's id is its Seq, so a
// browser's EventSource that reconnects sends it back as Last-Event-ID
// and resumes after it, missing nothing and repeating nothing. Each
// client keeps its own position; the journal is read directly, since
// storage/feed's durable cursors are for named consumers that must not
// lose their place across restarts, which a browser tab is not.

// eventsPoll is how often the stream looks for new events.
const eventsPoll = 250 * time.Millisecond

// eventsBatch bounds the events one read of the journal takes.
const eventsBatch = 500

// streamEvents answers GET /events: the tenant's journal after
// Last-Event-ID (or ?after=; from the start without either), then new
// events as they commit, until the client goes. ?kind= (repeatable)
// keeps those kinds.
func (s *server) streamEvents(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var after int64
	var v itil.ValidationError
	for name, raw := range map[string]string{"Last-Event-ID": r.Header.Get("Last-Event-ID"), "after": r.URL.Query().Get("after")} {
		if raw == "" {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 {
			v.Add(name, strconv.Quote(raw)+" is not an event's id")
		}
		after = max(after, n)
	}
	q := storage.JournalQuery{Kinds: r.URL.Query()["kind"], Limit: eventsBatch}
	for i, k := range q.Kinds {
		if err := storage.CheckName("kind["+strconv.Itoa(i)+"]", k); err != nil {
			var ve *itil.ValidationError
			if errors.As(err, &ve) {
				v.Fields = append(v.Fields, ve.Fields...)
			} else {
				v.Add("kind["+strconv.Itoa(i)+"]", err.Error())
			}
		}
	}
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		httpapi.WriteError(w, r, s.log, fmt.Errorf("servicedesk: the response cannot stream"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	ctx := r.Context()
	tick := time.NewTicker(eventsPoll)
	defer tick.Stop()
	for {
		q.After = after
		var batch []itil.Event
		err := d.store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
			batch = batch[:0]
			for ev, err := range tx.Journal(ctx, q) {
				if err != nil {
					return err
				}
				batch = append(batch, ev)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil && s.log != nil {
				s.log.ErrorContext(ctx, "event stream stopped", "id", httpapi.RequestIDOf(ctx), "error", err)
			}
			return
		}
		for _, ev := range batch {
			data, err := json.Marshal(ev)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data); err != nil {
				return // the client went
			}
			after = ev.Seq
		}
		flusher.Flush()
		if len(batch) == eventsBatch {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done: // the server shuts down
			return
		case <-tick.C:
		}
	}
}
