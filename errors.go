package itil

import (
	"errors"
	"fmt"
	"strings"
)

// The error vocabulary shared by every process and backend. Callers test for
// them with errors.Is; implementations wrap them with %w and add context.
var (
	// ErrNotFound: the requested record does not exist (in this tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record changed since it was read (a stale version),
	// or a concurrent transaction committed first. Nothing was written; the
	// caller may reload and retry.
	ErrConflict = errors.New("conflict: record was changed concurrently")
	// ErrStale: the record is not at the version the caller named
	// (IfVersion): it changed since the caller read it. It wraps
	// ErrConflict, so a caller testing for that sees it too; one that tells
	// them apart (an HTTP layer answering 412 Precondition Failed, and 409
	// to the other conflicts) tests for ErrStale first.
	ErrStale = fmt.Errorf("%w: not at the version named", ErrConflict)
	// ErrInvalidTransition: the command is not allowed in the current state
	// or a lifecycle rule forbids it.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrForbidden: the actor may not perform the command.
	ErrForbidden = errors.New("forbidden")
)

// FieldError names one bad field and why it was rejected.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every bad field of a rejected input. A command that
// returns it has written nothing.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

// Add records a bad field.
func (v *ValidationError) Add(field, reason string) {
	v.Fields = append(v.Fields, FieldError{Field: field, Reason: reason})
}

// Err returns v when it holds at least one field and nil otherwise, so
// validators can collect problems and return v.Err().
func (v *ValidationError) Err() error {
	if v == nil || len(v.Fields) == 0 {
		return nil
	}
	return v
}

// Has reports whether field was rejected.
func (v *ValidationError) Has(field string) bool {
	for _, f := range v.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func (v *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid input: ")
	for i, f := range v.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Reason)
	}
	return b.String()
}

// Invalid returns a ValidationError for a single field.
func Invalid(field, reason string) *ValidationError {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason}}}
}
