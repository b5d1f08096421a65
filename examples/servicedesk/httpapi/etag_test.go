package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIfMatch(t *testing.T) {
	for _, c := range []struct {
		header  string
		version int64
		ok      bool
	}{
		{"", 0, false}, {`"7"`, 7, true}, {ETag(42), 42, true}, {` "3" `, 3, true},
		{"*", -1, true}, {`W/"7"`, -1, true}, {`"7", "8"`, -1, true}, {`"0"`, -1, true}, {`"x"`, -1, true}, {`"`, -1, true},
	} {
		r := httptest.NewRequest(http.MethodPost, "/incidents/1/resolve", nil)
		if c.header != "" {
			r.Header.Set("If-Match", c.header)
		}
		if v, ok := IfMatch(r); v != c.version || ok != c.ok {
			t.Errorf("If-Match %q: %d %v, want %d %v", c.header, v, ok, c.version, c.ok)
		}
	}
	rec := httptest.NewRecorder()
	RequirePrecondition(rec, httptest.NewRequest(http.MethodPost, "/incidents/1/resolve", nil))
	if rec.Code != http.StatusPreconditionRequired {
		t.Fatalf("%d", rec.Code)
	}
}
