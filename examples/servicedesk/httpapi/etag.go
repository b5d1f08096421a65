package httpapi

import (
	"net/http"
	"strconv"
	"strings"
)

// Every entity carries a version that each change increments; it is the
// entity's ETag, so that a client that read it can say which version it
// means to change (If-Match) and learn that someone changed it first
// (412) instead of overwriting their work.

// ETag returns the entity tag of version v: a strong tag, "v".
func ETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// SetETag sets the response's ETag to version v.
func SetETag(w http.ResponseWriter, v int64) { w.Header().Set("ETag", ETag(v)) }

// IfMatch returns the version the request's If-Match names. ok is false
// when the header is missing (the caller answers 428 Precondition
// Required: updates and commands need one); a header that names no
// single version of ours ("*", a weak tag, a list, garbage) gives
// version -1, which matches none, so the command fails as stale (412).
func IfMatch(r *http.Request) (version int64, ok bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, false
	}
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return -1, true
	}
	return ParseVersion(h[1 : len(h)-1]), true
}

// ParseVersion reads a version as a client names it (an ETag's inside, a
// form's field): one that names no version of ours gives -1, which
// matches none.
func ParseVersion(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return -1
	}
	return v
}

// RequirePrecondition writes 428 Precondition Required as problem
// details: the request changes an entity and did not say which version.
func RequirePrecondition(w http.ResponseWriter, r *http.Request) {
	p := Problem{Type: "urn:itil:problem:precondition-required", Title: "If-Match is required: send the ETag you read",
		Status: http.StatusPreconditionRequired, Instance: r.URL.Path}
	writeProblem(w, p)
}
