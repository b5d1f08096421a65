package pipeline

import (
	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// Sibling returns a runner for a second entity kind of a process (a
// problem's known errors) on r's store, clock and bound transaction, so
// that a Service bound by In serves both kinds in the caller's
// transaction. It keeps r's IfVersion, which names the version of the
// entity the next command runs on, whatever its kind: a command on a
// change task checks the task's version (Run checks it for the runner's
// own commands; one that loads its subject through Other calls Expect).
// It does not keep Once.
func Sibling[U, T any](r Runner[T], spec *Spec[U], authorize itil.Authorizer[U], hooks []storage.Hook) Runner[U] {
	return Runner[U]{spec: spec, store: r.store, tx: r.tx, clock: r.clock, authorize: authorize, hooks: hooks, expect: r.expect}
}
