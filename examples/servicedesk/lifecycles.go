package main

import (
	"context"
	"net/http"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/storage"
)

// newLifecycle is POST /lifecycles's body.
type newLifecycle struct {
	EntryID itil.ID `json:"entry_id"`
}

// openLifecycle answers POST /lifecycles: the lifecycle record of the
// portfolio entry {"entry_id"}.
func (s *server) openLifecycle(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, lifecycleAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newLifecycle) (*lifecycle.Record, error) {
		return d.lifecycle.In(tx).Open(ctx, a, in.EntryID)
	})
}

func lifecycleAt(x *lifecycle.Record) (string, int64) {
	return "/lifecycles/" + x.ID.String(), x.Version
}

func (s *server) getLifecycle(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, lifecycleAt, func(ctx context.Context, d *desk, id itil.ID) (*lifecycle.Record, error) {
		return d.lifecycle.Get(ctx, id)
	})
}

// lifecycleGate answers a move's gate as judged now, without moving.
func (s *server) lifecycleGate(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, noVersion[lifecycle.Gate], func(ctx context.Context, d *desk, id itil.ID) (*lifecycle.Gate, error) {
		return d.lifecycle.Gate(ctx, id, r.PathValue("move"))
	})
}

// sectionInput is update_section's body.
type sectionInput struct {
	Section  string                  `json:"section"`
	Owner    *string                 `json:"owner"`
	State    *lifecycle.SectionState `json:"state"`
	Evidence *[]string               `json:"evidence"`
}

// lifecycleBodies are the bodies of the lifecycle commands that take
// other than commandInput.
var lifecycleBodies = bodies{"update_section": sectionInput{}}

func lifecycleCmd(f func(context.Context, *lifecycle.Service, itil.Actor, itil.ID, *commandInput) (*lifecycle.Record, error)) command[*lifecycle.Service] {
	return cmd(func(r *lifecycle.Record) int64 { return r.Version }, f)
}

// lifecycleCommands are a lifecycle record's commands: the stage moves
// (a reason overrides a gate that fails) and the design package's
// sections.
var lifecycleCommands = func() map[string]command[*lifecycle.Service] {
	m := map[string]command[*lifecycle.Service]{
		"update_section": lifecycleCmd(func(ctx context.Context, svc *lifecycle.Service, a itil.Actor, id itil.ID, in *commandInput) (*lifecycle.Record, error) {
			var sec sectionInput
			if err := decode(in.Extra, &sec); err != nil {
				return nil, err
			}
			return svc.UpdateSection(ctx, a, id, sec.Section, lifecycle.SectionPatch{Owner: sec.Owner, State: sec.State, Evidence: sec.Evidence})
		}),
	}
	for _, mv := range []string{lifecycle.MoveDesign, lifecycle.MoveTransition, lifecycle.MoveOperate, lifecycle.MoveRetire} {
		m[mv] = lifecycleCmd(func(ctx context.Context, svc *lifecycle.Service, a itil.Actor, id itil.ID, in *commandInput) (*lifecycle.Record, error) {
			return svc.Move(ctx, a, id, mv, in.Reason)
		})
	}
	return m
}()
