package storage

import (
	"context"

	"github.com/itilkit/itil"
)

// Hook reacts to a process command inside the command's transaction: the
// process hands it a snapshot of every entity the command wrote, after the
// write. Whatever the hook writes through tx commits or rolls back with the
// command, so a hook is how one process keeps state about another without
// importing it (slm.Engine keeps SLA timers so). A hook's error aborts the
// command, which returns it.
type Hook interface {
	Observe(ctx context.Context, tx Tx, actor itil.Actor, snap itil.Snapshot) error
}

// HookFunc adapts a function to Hook.
type HookFunc func(ctx context.Context, tx Tx, actor itil.Actor, snap itil.Snapshot) error

// Observe calls f.
func (f HookFunc) Observe(ctx context.Context, tx Tx, actor itil.Actor, snap itil.Snapshot) error {
	return f(ctx, tx, actor, snap)
}
