// Package httpapi is the HTTP glue a vendor writes once over the SDK:
// errors as RFC 9457 problem details, versions as ETags with If-Match,
// and JSON in and out. It knows the SDK's error vocabulary (package itil)
// and nothing of any one process.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/itilkit/itil"
)

// Problem is an RFC 9457 problem details object. Errors lists every bad
// field of a rejected input (422).
type Problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Errors   []itil.FieldError `json:"errors,omitempty"`
}

// ProblemOf maps an error of the SDK to its problem details: a
// *itil.ValidationError is 422 listing every field; itil.ErrNotFound 404;
// itil.ErrInvalidTransition 409; itil.ErrStale (the version the client's
// If-Match named is not the current one) 412; another itil.ErrConflict
// (a concurrent commit, a rule that found things changed meanwhile) 409;
// itil.ErrForbidden 403; anything else 500, without the error's text (it
// may hold internals: the caller logs it).
func ProblemOf(err error) Problem {
	var v *itil.ValidationError
	switch {
	case errors.As(err, &v):
		return Problem{Type: "urn:itil:problem:invalid", Title: "The input is invalid", Status: http.StatusUnprocessableEntity,
			Detail: v.Error(), Errors: v.Fields}
	case errors.Is(err, itil.ErrNotFound):
		return Problem{Type: "urn:itil:problem:not-found", Title: "Not found", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, itil.ErrForbidden):
		return Problem{Type: "urn:itil:problem:forbidden", Title: "Forbidden", Status: http.StatusForbidden, Detail: err.Error()}
	case errors.Is(err, itil.ErrStale):
		return Problem{Type: "urn:itil:problem:stale", Title: "The version in If-Match is not the current one",
			Status: http.StatusPreconditionFailed, Detail: err.Error()}
	case errors.Is(err, itil.ErrConflict):
		return Problem{Type: "urn:itil:problem:conflict", Title: "Changed concurrently: reload and retry", Status: http.StatusConflict,
			Detail: err.Error()}
	case errors.Is(err, itil.ErrInvalidTransition):
		return Problem{Type: "urn:itil:problem:invalid-transition", Title: "Not allowed in the record's state", Status: http.StatusConflict,
			Detail: err.Error()}
	}
	return Problem{Type: "urn:itil:problem:internal", Title: "Internal error", Status: http.StatusInternalServerError}
}

// WriteError writes err as problem details (see ProblemOf), logging it
// when it is an internal error.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := ProblemOf(err)
	p.Instance = r.URL.Path
	if p.Status == http.StatusInternalServerError && log != nil {
		log.ErrorContext(r.Context(), "request failed", "id", RequestIDOf(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
