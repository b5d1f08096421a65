package main

import (
	"context"
	"net/http"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/examples/servicedesk/httpapi"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// defineSLA answers POST /sla/definitions: a new definition, or a new
// revision of one (its id set), as slm.Engine.Define takes it. The
// revision is the definition's ETag.
func (s *server) defineSLA(w http.ResponseWriter, r *http.Request) {
	d, body, ok := s.begin(w, r)
	if !ok {
		return
	}
	actor := principalActor(r)
	httpapi.Post(w, r, d.store, s.log, body, false, func(ctx context.Context, tx storage.Tx) (httpapi.Response, error) {
		var in slm.Definition
		if err := decode(body, &in); err != nil {
			return httpapi.Response{}, err
		}
		def, err := d.sla.In(tx).Define(ctx, actor, in)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusCreated, Version: int64(def.Revision), Location: "/sla/definitions/" + def.ID.String(), Body: def}, nil
	})
}

func (s *server) getSLA(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	def, err := d.sla.Definition(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, int64(def.Revision), def)
}

// listSLAs answers a page of definitions (subject_kind, type).
func (s *server) listSLAs(w http.ResponseWriter, r *http.Request) {
	d, err := s.deskOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	f := slm.Filter{SubjectKinds: q["subject_kind"]}
	for _, t := range q["type"] {
		f.Types = append(f.Types, slm.Type(t))
	}
	limit := queryInt(&v, q, "limit")
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, next, err := d.sla.ListPage(r.Context(), f, limit, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writePage(w, r, page, next)
}

// slaCompliance answers how a definition did over [from, to), running
// cycles judged now.
func (s *server) slaCompliance(w http.ResponseWriter, r *http.Request) {
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var v itil.ValidationError
	from, to := queryTime(&v, q, "from"), queryTime(&v, q, "to")
	if err := v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := d.sla.Compliance(r.Context(), id, from, to, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, 0, c)
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
	d, id, ok := s.target(w, r)
	if !ok {
		return
	}
	st, err := d.sla.Status(r.Context(), id, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]timerStatus, len(st))
	for i, x := range st {
		out[i] = timerStatus{Timer: x.Timer, Progress: x.Progress}
	}
	writeJSON(w, http.StatusOK, 0, out)
}
