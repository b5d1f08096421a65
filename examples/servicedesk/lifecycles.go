package main

import (
	"context"
	"net/http"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/storage"
)

// openLifecycle answers POST /lifecycles: the lifecycle record of the
// portfolio entry {"entry_id"}.
func (s *server) openLifecycle(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in struct {
			EntryID itil.ID `json:"entry_id"`
		}
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		rec, err := d.lifecycle.In(tx).Open(ctx, actor, in.EntryID)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: rec.Version, Location: "/lifecycles/" + rec.ID.String(), Body: rec}, nil
	})
}

func (s *server) getLifecycle(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	rec, err := d.lifecycle.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rec.Version, rec)
}

// lifecycleGate answers a move's gate as judged now, without moving.
func (s *server) lifecycleGate(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	g, err := d.lifecycle.Gate(r.Context(), id, r.PathValue("move"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, g)
}

// sectionInput is update_section's body.
type sectionInput struct {
	Section  string                  `json:"section"`
	Owner    *string                 `json:"owner"`
	State    *lifecycle.SectionState `json:"state"`
	Evidence *[]string               `json:"evidence"`
}

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
