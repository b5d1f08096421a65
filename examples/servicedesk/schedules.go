package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/storage"
)

// Maintenance and blackout schedules: drafted, approved, then enforced,
// and only then do they count in a change's conflicts and in the windows
// the change calendar shows.

func (s *server) createSchedule(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, scheduleAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in change.ScheduleSpec) (*change.Schedule, error) {
		return d.changes.In(tx).CreateSchedule(ctx, a, in)
	})
}

func scheduleAt(x *change.Schedule) (string, int64) { return "/schedules/" + x.ID.String(), x.Version }

func (s *server) getSchedule(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, scheduleAt, func(ctx context.Context, d *desk, id itil.ID) (*change.Schedule, error) {
		return d.changes.GetSchedule(ctx, id)
	})
}

// listSchedules answers the schedules the query's filters keep (type,
// state; each repeatable), in creation order. The change package reads
// schedules whole, not by page.
func (s *server) listSchedules(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*change.Schedule, string, error) {
		var f change.ScheduleFilter
		for _, t := range q["type"] {
			f.Types = append(f.Types, change.ScheduleType(t))
		}
		for _, st := range q["state"] {
			f.States = append(f.States, change.ScheduleState(st))
		}
		out, err := collect(d.changes.Schedules(ctx, f))
		return out, "", err
	})
}

// updateSchedule answers PUT /schedules/{id}: the schedule's spec
// replaced by the body, on the If-Match version.
func (s *server) updateSchedule(w http.ResponseWriter, r *http.Request) {
	runCommand(s, w, r, changesOf,
		scheduleCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Schedule, error) {
			var spec change.ScheduleSpec
			if err := decode(in.Extra, &spec); err != nil {
				return nil, err
			}
			return svc.UpdateSchedule(ctx, a, id, spec)
		}))
}

// scheduleCommands are a schedule's commands, by the name in the path.
var scheduleCommands = map[string]command[*change.Service]{
	"approve": scheduleCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, _ *commandInput) (*change.Schedule, error) {
		return svc.ApproveSchedule(ctx, a, id)
	}),
	"enforce": scheduleCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, _ *commandInput) (*change.Schedule, error) {
		return svc.EnforceSchedule(ctx, a, id)
	}),
	"retire": scheduleCmd(func(ctx context.Context, svc *change.Service, a itil.Actor, id itil.ID, in *commandInput) (*change.Schedule, error) {
		return svc.RetireSchedule(ctx, a, id, in.Reason)
	}),
}

// scheduleCmd makes a route's command of a schedule command; IfVersion
// names the schedule's version for them.
func scheduleCmd(f func(context.Context, *change.Service, itil.Actor, itil.ID, *commandInput) (*change.Schedule, error)) command[*change.Service] {
	return cmd(func(sc *change.Schedule) int64 { return sc.Version }, f)
}

// changeWindows answers the intervals of [from, to) (RFC 3339) in which
// enforced schedules are in force, by start: the windows the change
// calendar shows beside the changes. ci_id keeps the schedules that
// cover the CI (related=true: the maintenance windows of its related CIs
// too).
func (s *server) changeWindows(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]change.WindowInForce, string, error) {
		var v itil.ValidationError
		f := change.CalendarFilter{From: queryTime(&v, q, "from"), To: queryTime(&v, q, "to"), CIID: queryID(&v, q, "ci_id"),
			Related: q.Get("related") == "true"}
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		out, err := collect(d.changes.Windows(ctx, f))
		return out, "", err
	})
}

// changeSlots answers the earliest free slots for the change's planned
// window: duration (a Go duration such as 2h30m; default the change's
// planned window's length), not_before (RFC 3339; default now), within
// (how far from not_before to look, a Go duration; default 90 days) and
// count (default 10).
func (s *server) changeSlots(w http.ResponseWriter, r *http.Request) {
	listOf(s, w, r, func(ctx context.Context, d *desk, id itil.ID, q url.Values) ([]change.FreeSlot, error) {
		var v itil.ValidationError
		req := change.SlotRequest{ChangeID: id, Duration: queryDuration(&v, q, "duration"), NotBefore: queryTime(&v, q, "not_before"),
			Within: queryDuration(&v, q, "within"), Count: queryInt(&v, q, "count")}
		if err := v.Err(); err != nil {
			return nil, err
		}
		return d.changes.NextSlots(ctx, req)
	})
}

// queryDuration reads the query's Go duration name, such as 90m (zero
// when absent).
func queryDuration(v *itil.ValidationError, q url.Values, name string) time.Duration {
	s := q.Get(name)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		v.Add(name, strconv.Quote(s)+" is not a duration such as 2h30m")
	}
	return d
}
