package main

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// defineSLA answers POST /sla/definitions: a new definition, as
// slm.Engine.Define takes it. A body with an id is refused: a revision
// is a PUT of the definition, on the version its If-Match names.
func (s *server) defineSLA(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, definitionAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in slm.Definition) (*slm.Definition, error) {
		if in.ID != itil.NilID {
			return nil, itil.Invalid("id", "is given by the server: to revise definition "+in.ID.String()+
				", PUT it to /sla/definitions/"+in.ID.String()+" with the If-Match of its ETag")
		}
		return d.sla.In(tx).Define(ctx, a, in)
	})
}

// definitionAt is a definition's path and ETag: its version, the one
// Define checks (Definition.Version), not its revision.
func definitionAt(x *slm.Definition) (string, int64) {
	return "/sla/definitions/" + x.ID.String(), x.Version
}

// definitions is the SLA engine as a command route runs it: bound to the
// request's transaction and to the version If-Match names. The engine
// has no IfVersion: Define reads the version expected from the
// definition itself (Definition.Version), which reviseSLA sets.
type definitions struct {
	engine  *slm.Engine
	version int64
}

func (x definitions) In(tx storage.Tx) definitions  { return definitions{x.engine.In(tx), x.version} }
func (x definitions) IfVersion(v int64) definitions { return definitions{x.engine, v} }

// reviseSLA answers PUT /sla/definitions/{id}: the definition's next
// revision, the body, on the version If-Match names (428 without, 412
// when stale). Its ID is the path's (a body naming another is refused)
// and its version If-Match's, whatever the body says; the engine sets
// its revision, effective time and author.
func (s *server) reviseSLA(w http.ResponseWriter, r *http.Request) {
	runCommand(s, w, r, func(d *desk) definitions { return definitions{engine: d.sla} },
		cmd(func(x *slm.Definition) int64 { return x.Version },
			func(ctx context.Context, svc definitions, a itil.Actor, id itil.ID, in *commandInput) (*slm.Definition, error) {
				var def slm.Definition
				if err := decode(in.Extra, &def); err != nil {
					return nil, err
				}
				if def.ID != itil.NilID && def.ID != id {
					return nil, itil.Invalid("id", "is "+def.ID.String()+", not the path's "+id.String())
				}
				def.ID, def.Version = id, svc.version
				return svc.engine.Define(ctx, a, def)
			}))
}

func (s *server) getSLA(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, definitionAt, func(ctx context.Context, d *desk, id itil.ID) (*slm.Definition, error) {
		return d.sla.Definition(ctx, id)
	})
}

// listSLAs answers a page of definitions (subject_kind, type).
func (s *server) listSLAs(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*slm.Definition, string, error) {
		var v itil.ValidationError
		f := slm.Filter{SubjectKinds: q["subject_kind"]}
		for _, t := range q["type"] {
			f.Types = append(f.Types, slm.Type(t))
		}
		limit := queryInt(&v, q, "limit")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		return d.sla.ListPage(ctx, f, limit, q.Get("cursor"))
	})
}

// slaCompliance answers how a definition did over [from, to), running
// cycles judged now.
func (s *server) slaCompliance(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, noVersion[slm.Compliance], func(ctx context.Context, d *desk, id itil.ID) (*slm.Compliance, error) {
		q := r.URL.Query()
		var v itil.ValidationError
		from, to := queryTime(&v, q, "from"), queryTime(&v, q, "to")
		if err := v.Err(); err != nil {
			return nil, err
		}
		return d.sla.Compliance(ctx, id, from, to, time.Now())
	})
}

// timerStatus is one SLA timer of a record and where it stands now: what
// a queue's SLA bar shows (time left, paused, breached).
type timerStatus struct {
	Timer    *slm.Timer   `json:"timer"`
	Progress slm.Progress `json:"progress"`
}

// recordTimers answers the SLA timers of the incident {id} with their
// progress now.
func (s *server) recordTimers(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]timerStatus, error) {
		if _, err := d.incidents.Get(ctx, id); err != nil {
			return nil, err // an unknown incident is not found, not an incident without timers
		}
		st, err := d.sla.Status(ctx, id, time.Now())
		out := make([]timerStatus, len(st))
		for i, x := range st {
			out[i] = timerStatus{Timer: x.Timer, Progress: x.Progress}
		}
		return out, err
	})
}
