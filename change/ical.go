package change

import (
	"context"
	"io"
	"strconv"
	"strings"

	ics "github.com/arran4/golang-ical"
)

// ICalendar writes the change calendar f selects as an iCalendar stream
// (RFC 5545) to w, for people to subscribe to from their calendar apps:
// one VEVENT per change (UID: the change's ID; SUMMARY: its number and
// title; its planned window, state, model and group; TENTATIVE until it
// is scheduled, CONFIRMED from then on, CANCELLED when canceled), and one
// per interval of an enforced schedule in force over the range (those of
// the filter's CI when it names one; see Windows)
// (CATEGORIES maintenance or blackout; blackouts opaque, maintenance
// windows transparent). The stream is written by
// github.com/arran4/golang-ical, which folds lines and escapes text as
// the RFC says. A bad filter gives its *itil.ValidationError and writes
// nothing.
func (s *Service) ICalendar(ctx context.Context, f CalendarFilter, w io.Writer) error {
	var list []*Change
	for ch, err := range s.Calendar(ctx, f) {
		if err != nil {
			return err
		}
		list = append(list, ch)
	}
	var windows []WindowInForce
	for w, err := range s.windows(ctx, f, true) {
		if err != nil {
			return err
		}
		windows = append(windows, w)
	}
	now, err := s.run.Clock()
	if err != nil {
		return err
	}
	cal := ics.NewCalendarFor("itil change calendar")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName("Change calendar")
	for _, ch := range list {
		ev := cal.AddEvent(ch.ID.String() + "@change.itil")
		ev.SetDtStampTime(now)
		ev.SetModifiedAt(ch.UpdatedAt)
		ev.SetSequence(int(ch.Version))
		ev.SetStartAt(ch.PlannedStart)
		ev.SetEndAt(ch.PlannedEnd)
		ev.SetSummary(ch.Number + " " + ch.Title)
		var d strings.Builder
		d.WriteString("State: " + string(ch.State) + "\nModel: " + ch.Model)
		if ch.AssignmentGroup != "" {
			d.WriteString("\nAssignment group: " + ch.AssignmentGroup)
		}
		if ch.Risk != 0 {
			d.WriteString("\nRisk: " + ch.Risk.String())
		}
		if len(ch.Conflicts) > 0 {
			d.WriteString("\nConflicts: " + strconv.Itoa(len(ch.Conflicts)))
		}
		if ch.Description != "" {
			d.WriteString("\n\n" + ch.Description)
		}
		ev.SetDescription(d.String())
		ev.AddCategory("change")
		ev.AddCategory(ch.Model)
		ev.SetStatus(icalStatus(ch))
	}
	for _, win := range windows {
		// One event per day of a window, named by its start: the same
		// whatever range a subscription asks for.
		ev := cal.AddEvent(win.ScheduleID.String() + "-" + win.Start.UTC().Format("20060102T150405Z") + "@schedule.itil")
		ev.SetDtStampTime(now)
		ev.SetStartAt(win.Start)
		ev.SetEndAt(win.End)
		ev.SetSummary(string(win.Type) + ": " + win.Name)
		ev.AddCategory(string(win.Type))
		if win.Type == BlackoutSchedule {
			ev.SetTimeTransparency(ics.TransparencyOpaque)
		} else {
			ev.SetTimeTransparency(ics.TransparencyTransparent)
		}
	}
	return cal.SerializeTo(w)
}

func icalStatus(ch *Change) ics.ObjectStatus {
	switch {
	case ch.State == StateCanceled:
		return ics.ObjectStatusCancelled
	case ch.State == StateNew || ch.State == StateAssess || ch.State == StateAuthorize:
		return ics.ObjectStatusTentative
	}
	return ics.ObjectStatusConfirmed
}
