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

// defineSLA answers POST /sla/definitions: a new definition, or a new
// revision of one (its id set), as slm.Engine.Define takes it. The
// revision is the definition's ETag.
func (s *server) defineSLA(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, definitionAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in slm.Definition) (*slm.Definition, error) {
		return d.sla.In(tx).Define(ctx, a, in)
	})
}

func definitionAt(x *slm.Definition) (string, int64) {
	return "/sla/definitions/" + x.ID.String(), int64(x.Revision)
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

// recordTimers answers the SLA timers of the record {id} (an incident, a
// problem, a change) with their progress now.
func (s *server) recordTimers(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, _ url.Values) ([]timerStatus, error) {
		st, err := d.sla.Status(ctx, id, time.Now())
		out := make([]timerStatus, len(st))
		for i, x := range st {
			out[i] = timerStatus{Timer: x.Timer, Progress: x.Progress}
		}
		return out, err
	})
}
