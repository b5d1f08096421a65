package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/itilkit/itil"
)

// TestProblemOf: each error of the SDK's vocabulary, wrapped as the
// processes wrap it, maps to its status; an unknown error to 500 without
// its text.
func TestProblemOf(t *testing.T) {
	var v itil.ValidationError
	v.Add("title", "is required")
	v.Add("impact", "must be 1 to 3")
	for _, c := range []struct {
		err    error
		status int
	}{
		{v.Err(), 422},
		{fmt.Errorf("incident %s: %w", "x", itil.ErrNotFound), 404},
		{fmt.Errorf("%w: resolved", itil.ErrInvalidTransition), 409},
		{itil.ErrConflict, 409},
		{fmt.Errorf("%w: incident x is at version 3, not 2", itil.ErrStale), 412},
		{fmt.Errorf("%w: desk may not close", itil.ErrForbidden), 403},
		{errors.New("connection reset by peer at 10.0.0.7"), 500},
	} {
		p := ProblemOf(c.err)
		if p.Status != c.status {
			t.Errorf("%v: %d, want %d", c.err, p.Status, c.status)
		}
		if c.status == 500 && p.Detail != "" {
			t.Errorf("an internal error tells its text: %q", p.Detail)
		}
	}
	if p := ProblemOf(v.Err()); len(p.Errors) != 2 || p.Errors[1].Field != "impact" {
		t.Fatalf("422 lists every field: %+v", p.Errors)
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodPost, "/incidents/42/resolve", nil), nil, itil.ErrNotFound)
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Instance != "/incidents/42/resolve" || p.Status != 404 {
		t.Fatalf("%+v %v", p, err)
	}
}
