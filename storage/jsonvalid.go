package storage

import "github.com/itilkit/itil/internal/jsonscan"

// validJSON reports whether b is one JSON value, as json.Valid does
// (jsonscan.Valid, a single-pass validator: see its package).
func validJSON(b []byte) bool { return jsonscan.Valid(b) }
