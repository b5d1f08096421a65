// Package xref lets one process's rules read another process's records
// inside a command's transaction without an import cycle. Package
// incident cannot import package problem (problem imports incident), yet
// an incident's hold "awaiting problem" must find its problem still
// worked on, read in the hold's own transaction. So problem registers the
// check here when it is initialized, and incident runs it: any program
// that can link an incident to a problem has imported problem, so the
// rule holds without wiring.
package xref

import (
	"context"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// ProblemAwaitable, when set, refuses (with a typed error) an incident's
// hold awaiting the problem id, read in tx, unless the problem is still
// worked on. Package problem sets it in an init function; it is not
// changed afterwards.
var ProblemAwaitable func(ctx context.Context, tx storage.Tx, id itil.ID) error

// ChangeAwaitable, when set, refuses (with a typed error) an incident's
// hold awaiting the change id, read in tx, unless the change has not
// ended. Package change sets it in an init function.
var ChangeAwaitable func(ctx context.Context, tx storage.Tx, id itil.ID) error
