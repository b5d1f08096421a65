package sim

import (
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// Changes is a stream of changes to a service: PerWeek requested a week
// on average, at uniform instants; each planned into the first slot of
// Duration that the change schedule leaves free (no other change on the
// service then, no freeze), implemented then, and failing with chance
// Failure, which opens an incident of Impact and Urgency on the service
// (taking it down when ServiceDown).
type Changes struct {
	Service         string
	PerWeek         float64
	Duration        time.Duration
	Failure         float64
	Impact          itil.Impact
	Urgency         itil.Urgency
	ServiceDown     bool
	AssignmentGroup string
}

// Freeze is a change freeze: no change is implemented from From to To,
// whole days in the scenario's zone.
type Freeze struct {
	Name     string
	From, To calendar.Date
}

// routine is the change model the simulation's changes follow: the
// standard model's path (scheduled, implemented, reviewed, closed) and
// no approvals, without the template a standard change is made from.
func routine() change.Model {
	for _, m := range change.DefaultModels() {
		if m.Name == change.ModelStandard {
			m.Name, m.Description, m.TemplateOnly = "routine", "A pre-approved change of the simulation.", false
			return m
		}
	}
	panic("sim: the change package has no standard model") // the SDK's own models: a bug
}

// setupChanges wires the CMDB and change services for the scenario's
// changes: a CI per service that changes, and the freezes as one
// enforced blackout over them.
func (r *run) setupChanges(store storage.Store) error {
	if len(r.s.Changes) == 0 {
		return nil
	}
	cis, err := cmdb.New(store, cmdb.WithClock(r.clk))
	if err != nil {
		return err
	}
	if r.changes, err = change.New(store, change.WithClock(r.clk), change.WithCMDB(cis), change.WithIncidents(r.incs),
		change.WithModels(append(change.DefaultModels(), routine())...)); err != nil {
		return err
	}
	r.ci = map[string]itil.ID{}
	var all []itil.ID
	for _, c := range r.s.Changes {
		if _, ok := r.ci[c.Service]; ok {
			continue
		}
		ci, err := cis.CreateCI(r.ctx, desk, cmdb.NewCI{Class: cmdb.ClassApplication, Name: c.Service, State: cmdb.Operational})
		if err != nil {
			return fmt.Errorf("sim: the CI of %s: %w", c.Service, err)
		}
		r.ci[c.Service] = ci.ID
		all = append(all, ci.ID)
	}
	// Each freeze is a blackout of its own over the services' CIs, enforced.
	for i, f := range r.s.Freezes {
		sc, err := r.changes.CreateSchedule(r.ctx, desk, change.ScheduleSpec{Name: f.Name, Type: change.BlackoutSchedule,
			Windows: calendar.Spec{Zone: r.zone.String()}, Ranges: []change.DateRange{{From: f.From, To: f.To}}, Scope: change.Scope{CIs: all}})
		if err == nil {
			_, err = r.changes.ApproveSchedule(r.ctx, desk, sc.ID)
		}
		if err == nil {
			_, err = r.changes.EnforceSchedule(r.ctx, desk, sc.ID)
		}
		if err != nil {
			var v itil.ValidationError
			nest(&v, fmt.Sprintf("freezes[%d]", i), err)
			return v.Err()
		}
	}
	return nil
}

// requestChange plans the change requested now into the first free slot
// and schedules its start.
func (r *run) requestChange(ci int) error {
	c := r.s.Changes[ci]
	now := r.clk.now
	slots, err := r.changes.NextSlots(r.ctx, change.SlotRequest{CIIDs: []itil.ID{r.ci[c.Service]}, Duration: c.Duration, NotBefore: now, Count: 1})
	if err != nil {
		return fmt.Errorf("sim: a slot for a change to %s: %w", c.Service, err)
	}
	if len(slots) == 0 {
		r.unplanned++
		return nil
	}
	start := slots[0].Start
	ch, err := r.changes.Open(r.ctx, desk, change.NewChange{Model: "routine", Title: "Change to " + c.Service,
		Implementation: "as planned", Backout: "as planned", AssignmentGroup: c.AssignmentGroup, CIID: r.ci[c.Service], Impact: 3,
		PlannedStart: start, PlannedEnd: start.Add(c.Duration)})
	if err != nil {
		return fmt.Errorf("sim: open a change to %s: %w", c.Service, err)
	}
	if _, err := r.changes.Move(r.ctx, desk, ch.ID, change.MoveSchedule); err != nil {
		return fmt.Errorf("sim: schedule %s: %w", ch.Number, err)
	}
	r.requested++
	r.delays = append(r.delays, start.Sub(now))
	r.schedule(event{at: start, kind: changeStart, change: ch.ID, stream: ci})
	return nil
}

// startChange implements the change and schedules its end.
func (r *run) startChange(e event) error {
	if _, err := r.changes.Move(r.ctx, desk, e.change, change.MoveImplement); err != nil {
		return fmt.Errorf("sim: implement: %w", err)
	}
	r.schedule(event{at: r.clk.now.Add(r.s.Changes[e.stream].Duration), kind: changeEnd, change: e.change, stream: e.stream})
	return nil
}

// endChange reviews and closes the change; a failed one opens its
// incident.
func (r *run) endChange(e event) error {
	c := r.s.Changes[e.stream]
	if _, err := r.changes.Move(r.ctx, desk, e.change, change.MoveReview); err != nil {
		return fmt.Errorf("sim: review: %w", err)
	}
	code, notes := change.Successful, "done as planned"
	if r.failures.Float64() < c.Failure {
		code, notes = change.Unsuccessful, "failed: an incident followed"
		if _, err := r.changes.RecordReview(r.ctx, desk, e.change, change.ReviewInput{WhatHappened: notes}); err != nil {
			return fmt.Errorf("sim: review: %w", err)
		}
		r.failed++
		if err := r.openIncident(r.serviceIndex[c.Service], c.Impact, c.Urgency, c.ServiceDown); err != nil {
			return err
		}
	}
	if _, err := r.changes.Close(r.ctx, desk, e.change, code, notes); err != nil {
		return fmt.Errorf("sim: close: %w", err)
	}
	r.done++
	return nil
}
