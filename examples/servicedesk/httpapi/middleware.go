package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

type requestIDKey struct{}

// RequestIDOf returns the request's ID, as RequestLog set it.
func RequestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestLog gives each request an ID (the client's X-Request-ID when it
// sends a short one, else a new one), answers it in X-Request-ID, and
// logs the request when it ends: method, path, status, duration and ID,
// so that a caller's report and the server's log meet.
func RequestLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		if log != nil {
			log.InfoContext(r.Context(), "request", "id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start))
		}
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the writer underneath.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush lets a stream (Server-Sent Events) through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// NotFound answers a path the API does not have, as problem details.
func NotFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, Problem{Type: "urn:itil:problem:not-found", Title: "Not found", Status: http.StatusNotFound,
		Detail: "no such resource or command: see /openapi.json", Instance: r.URL.Path})
}
