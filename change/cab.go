package change

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/machine"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// The change advisory board (CAB): a Board meets on a weekly recurrence
// in its zone, skipping the meetings its holiday calendar closes; each
// Meeting has an agenda of changes, built from the board's agenda
// condition and rolling window or by hand, with minutes and a decision
// per change. Putting a change on an agenda sets its CAB date in the same
// transaction. A decision is recorded and exposed (Meeting.Items,
// CABReviews, the journal): turning it into approval records is the
// approval engine's business, not the meeting's.

// The storage and journal kinds of boards and meetings.
const (
	KindBoard   = "change_board"
	KindMeeting = "change_meeting"
)

// Limits of boards and meetings.
const (
	// MaxBoardPeople bounds each of a board's lists: delegates, members,
	// groups, and a meeting's attendees.
	MaxBoardPeople = 200
	// MaxAgendaItems is the most changes one meeting's agenda lists: a
	// board with more narrows its agenda condition or meets more often.
	MaxAgendaItems = 50
	// MaxMinutes is the longest minutes text of an agenda item, in
	// characters.
	MaxMinutes = 4000
	// MaxMeetingDuration is the longest meeting a recurrence may give.
	MaxMeetingDuration = 24 * time.Hour
	// MaxRollingWindow is the longest rolling window of a board.
	MaxRollingWindow = 366 * 24 * time.Hour
	// MaxScheduleSpan is the longest range ScheduleMeetings covers at once.
	MaxScheduleSpan = 366 * 24 * time.Hour
)

// Board is a change advisory board: who sits on it, when it meets, and
// which changes its agendas take.
type Board struct {
	ID          itil.ID `json:"id"`
	Version     int64   `json:"version"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	// Manager runs the board's meetings; Delegates may stand in for the
	// manager. Members are the users who sit on the board, Groups the
	// groups whose members do (user IDs and group names, as changes name
	// assignees and assignment groups).
	Manager   string   `json:"manager"`
	Delegates []string `json:"delegates,omitempty"`
	Members   []string `json:"members,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	// Recurrence is when the board meets.
	Recurrence Recurrence `json:"recurrence"`
	// Holidays, when not the zero Spec, is the calendar of the days the
	// board does not meet: a meeting is held only when the calendar is
	// open for the whole of it, and skipped (not moved) otherwise. A Spec
	// without weekly windows is open around the clock except on its
	// holidays (listed, or its Country's national set); one with windows
	// also says at which hours the board may meet. A Spec without a zone
	// takes the recurrence's. To hold a meeting on a holiday anyway, list
	// the date in ExtraDays.
	Holidays calendar.Spec `json:"holidays,omitzero"`
	// Window is the rolling window of the agenda: BuildAgenda takes the
	// changes planned to start within Window of the meeting's start.
	Window time.Duration `json:"window"`
	// Agenda is the condition a change must meet for BuildAgenda to put
	// it on an agenda, evaluated on the change's Facts: for ServiceNow's
	// default, model = normal, risk ≥ moderate and state = authorize. The
	// zero Condition takes every change planned within the window.
	Agenda Condition `json:"agenda,omitzero"`

	CreatedBy itil.Actor `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func (b *Board) clone() *Board {
	out := *b
	out.Delegates = slices.Clone(b.Delegates)
	out.Members = slices.Clone(b.Members)
	out.Groups = slices.Clone(b.Groups)
	out.Recurrence.Weekdays = slices.Clone(b.Recurrence.Weekdays)
	out.Holidays = b.Holidays.Clone()
	out.Agenda = cloneCondition(b.Agenda)
	return &out
}

// cloneCondition deep-copies c: its lists, and a list value.
func cloneCondition(c Condition) Condition {
	if list, ok := c.Value.([]any); ok {
		c.Value = slices.Clone(list)
	}
	if c.All != nil {
		all := make([]Condition, len(c.All))
		for i := range c.All {
			all[i] = cloneCondition(c.All[i])
		}
		c.All = all
	}
	if c.Any != nil {
		anyOf := make([]Condition, len(c.Any))
		for i := range c.Any {
			anyOf[i] = cloneCondition(c.Any[i])
		}
		c.Any = anyOf
	}
	if c.Not != nil {
		not := cloneCondition(*c.Not)
		c.Not = &not
	}
	return c
}

// normalCondition returns c as it reads back from storage (a JSON round
// trip: numbers become float64, lists []any), so that a board a command
// returns equals the board Get returns.
func normalCondition(c Condition) (Condition, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return Condition{}, itil.Invalid("agenda", "cannot be written as JSON: "+err.Error())
	}
	var out Condition
	if err := json.Unmarshal(data, &out); err != nil {
		return Condition{}, itil.Invalid("agenda", "does not read back from JSON: "+err.Error())
	}
	return out, nil
}

// people checks a list of user IDs or group names: each a short text,
// none twice, at most MaxBoardPeople.
func people(v *itil.ValidationError, field string, list []string) {
	if len(list) > MaxBoardPeople {
		v.Add(field, "must list at most "+strconv.Itoa(MaxBoardPeople))
		return
	}
	for i, p := range list {
		at := field + "[" + strconv.Itoa(i) + "]"
		check.Text(v, at, p, true, check.Short)
		if !v.Has(at) && slices.Index(list, p) < i {
			v.Add(at, strconv.Quote(p)+" is listed twice")
		}
	}
}

// validate checks every field of the board.
func (b *Board) validate(v *itil.ValidationError) {
	check.Text(v, "name", b.Name, true, check.Short)
	check.Text(v, "description", b.Description, false, check.Long)
	check.Text(v, "manager", b.Manager, true, check.Short)
	people(v, "delegates", b.Delegates)
	people(v, "members", b.Members)
	people(v, "groups", b.Groups)
	b.Recurrence.validate(v)
	if !v.Has("recurrence.zone") {
		if _, err := b.holidayCalendar(); err != nil {
			var in *itil.ValidationError
			if errors.As(err, &in) {
				v.Fields = append(v.Fields, in.Fields...)
			} else {
				v.Add("holidays", err.Error())
			}
		}
	}
	if b.Window <= 0 || b.Window > MaxRollingWindow {
		v.Add("window", "must be more than 0 and at most "+MaxRollingWindow.String())
	}
	if err := b.Agenda.Validate(); err != nil {
		var in *itil.ValidationError
		if errors.As(err, &in) {
			for _, f := range in.Fields {
				field := "agenda"
				if f.Field != "condition" {
					field += "." + f.Field
				}
				v.Add(field, f.Reason)
			}
		}
	}
}

// MeetingState is where a CAB meeting is: Pending, In Progress, then
// Complete, or Canceled.
type MeetingState string

// The meeting states.
const (
	MeetingPending    MeetingState = "pending"
	MeetingInProgress MeetingState = "in_progress"
	MeetingComplete   MeetingState = "complete"
	MeetingCanceled   MeetingState = "canceled"
)

// The moves of the meeting lifecycle.
const (
	meetingStart    = "start"
	meetingComplete = "complete"
	meetingCancel   = "cancel"
)

var meetingLifecycle = machine.New(MeetingPending, []itil.Transition[MeetingState]{
	{Event: meetingStart, From: []MeetingState{MeetingPending}, To: MeetingInProgress},
	{Event: meetingComplete, From: []MeetingState{MeetingInProgress}, To: MeetingComplete},
	{Event: meetingCancel, From: []MeetingState{MeetingPending, MeetingInProgress}, To: MeetingCanceled},
})

// MeetingLifecycle returns a copy of the CAB meeting lifecycle's table.
func MeetingLifecycle() []itil.Transition[MeetingState] { return meetingLifecycle.Transitions() }

// MeetingDiagram returns the Mermaid state diagram of MeetingLifecycle.
func MeetingDiagram() string { return meetingLifecycle.Diagram() }

// Decision is what a CAB decided on a change on its agenda.
type Decision string

// The decisions. An item starts with DecisionNone; completing a meeting
// defers the items it left undecided.
const (
	DecisionNone     Decision = "none"
	DecisionApproved Decision = "approved"
	DecisionRejected Decision = "rejected"
	DecisionDeferred Decision = "deferred"
)

// Valid reports whether d is one of the decisions.
func (d Decision) Valid() bool {
	return d == DecisionNone || d == DecisionApproved || d == DecisionRejected || d == DecisionDeferred
}

// decided reports whether d settles the change for the board: approved or
// rejected (a deferred change comes back on a later agenda).
func (d Decision) decided() bool { return d == DecisionApproved || d == DecisionRejected }

// AgendaItem is one change on a meeting's agenda, with what the meeting
// said and decided about it.
type AgendaItem struct {
	ChangeID itil.ID `json:"change_id"`
	// Number is the change's reference number, for people.
	Number string `json:"number"`
	// Order is the item's place on the agenda, from 1.
	Order int `json:"order"`
	// Round is the change's approval round the decision was recorded in
	// (Change.ApprovalRounds): it settles that round only, so a change
	// that comes back after a rejection is reviewed again.
	Round    int      `json:"round,omitempty"`
	Minutes  string   `json:"minutes,omitempty"`
	Decision Decision `json:"decision"`
	// DecidedBy and DecidedAt say who recorded the decision, and when.
	DecidedBy itil.Actor `json:"decided_by,omitzero"`
	DecidedAt time.Time  `json:"decided_at,omitzero"`
}

// Meeting is one meeting of a board: its time, its agenda, who attended,
// and where it is in its lifecycle.
type Meeting struct {
	ID      itil.ID      `json:"id"`
	Version int64        `json:"version"`
	BoardID itil.ID      `json:"board_id"`
	Start   time.Time    `json:"start"`
	End     time.Time    `json:"end"`
	State   MeetingState `json:"state"`
	// Items is the agenda, in Order.
	Items []AgendaItem `json:"items,omitempty"`
	// Attendees are the users who attended.
	Attendees    []string `json:"attendees,omitempty"`
	CancelReason string   `json:"cancel_reason,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// EndedAt is when the meeting was completed or canceled.
	EndedAt   time.Time `json:"ended_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (m *Meeting) clone() *Meeting {
	out := *m
	out.Items = slices.Clone(m.Items)
	out.Attendees = slices.Clone(m.Attendees)
	return &out
}

// item returns the index of the change's agenda item, or -1.
func (m *Meeting) item(changeID itil.ID) int {
	return slices.IndexFunc(m.Items, func(it AgendaItem) bool { return it.ChangeID == changeID })
}

// Journal event types of boards (KindBoard) and meetings (KindMeeting),
// and of the changes their commands write (Kind).
const (
	EventBoardCreated = "change.board_created"
	EventBoardUpdated = "change.board_updated"

	EventMeetingScheduled = "change.meeting_scheduled"
	EventMeetingStarted   = "change.meeting_started"
	EventMeetingCompleted = "change.meeting_completed"
	EventMeetingCanceled  = "change.meeting_canceled"
	EventAttendeesSet     = "change.meeting_attendees"
	EventAgendaChanged    = "change.agenda_changed"
	EventMinutesRecorded  = "change.minutes_recorded"
	// EventCABDecision is the meeting's event that records a decision on
	// a change: its Refs name the change and the board, so the change's
	// History shows it.
	EventCABDecision = "change.cab_decision"

	// EventCABScheduled and EventCABUnscheduled are the change's events
	// when an agenda sets or clears its CAB date; Refs name the meeting
	// and the board.
	EventCABScheduled   = "change.cab_scheduled"
	EventCABUnscheduled = "change.cab_unscheduled"
)

// Command names of the CAB commands that write changes, as an Authorizer
// of changes receives them (on each change written).
const (
	CommandAddToAgenda      = "add_to_agenda"
	CommandRemoveFromAgenda = "remove_from_agenda"
	// CommandCABReschedule is asked for each change whose CAB date moves
	// because its meeting was canceled.
	CommandCABReschedule = "cab_reschedule"
)

// Command names of the board and meeting commands, as the Service's
// Authorizer receives them, with the zero Change: they concern no one
// change (those that write changes ask for CommandAddToAgenda,
// CommandRemoveFromAgenda or CommandCABReschedule on each change too).
const (
	CommandCreateBoard      = "create_board"
	CommandUpdateBoard      = "update_board"
	CommandScheduleMeetings = "schedule_meetings"
	CommandBuildAgenda      = "build_agenda"
	CommandStartMeeting     = "start_meeting"
	CommandSetAttendees     = "set_attendees"
	CommandRecordMinutes    = "record_minutes"
	CommandCompleteMeeting  = "complete_meeting"
	CommandCancelMeeting    = "cancel_meeting"
)

var boards = storage.NewCollection(storage.Schema[Board]{
	Kind:    KindBoard,
	ID:      func(b *Board) itil.ID { return b.ID },
	Version: func(b *Board) *int64 { return &b.Version },
	SortKey: func(b *Board) string { return storage.TimeKey(b.CreatedAt) },
	Terms: func(b *Board, dst []string) []string {
		return append(dst, storage.Term("manager", b.Manager), storage.Term("name", b.Name))
	},
})

var boardSpec = (&pipeline.Spec[Board]{
	Collection: boards,
	Clone:      (*Board).clone,
	Touch:      func(b *Board, now time.Time) { b.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

var meetings = storage.NewCollection(storage.Schema[Meeting]{
	Kind:    KindMeeting,
	ID:      func(m *Meeting) itil.ID { return m.ID },
	Version: func(m *Meeting) *int64 { return &m.Version },
	SortKey: func(m *Meeting) string { return storage.TimeKey(m.Start) },
	Terms: func(m *Meeting, dst []string) []string {
		dst = append(dst, storage.Term("board", m.BoardID.String()), storage.Term("state", string(m.State)))
		for _, it := range m.Items {
			dst = append(dst, storage.Term("change", it.ChangeID.String()))
		}
		return dst
	},
})

var meetingSpec = (&pipeline.Spec[Meeting]{
	Collection: meetings,
	Clone:      (*Meeting).clone,
	Touch:      func(m *Meeting, now time.Time) { m.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

func (s *Service) boardRunner() pipeline.Runner[Board] {
	return pipeline.Sibling(s.run, boardSpec, zeroChange[Board](s.cfg.authorize), nil)
}

func (s *Service) meetingRunner() pipeline.Runner[Meeting] {
	return pipeline.Sibling(s.run, meetingSpec, zeroChange[Meeting](s.cfg.authorize), nil)
}

// zeroChange makes the Service's Authorizer that of records which concern
// no one change (boards, meetings): it is asked with the command and the
// zero Change.
func zeroChange[T any](a itil.Authorizer[Change]) itil.Authorizer[T] {
	if a == nil {
		return nil
	}
	return func(ctx context.Context, actor itil.Actor, command string, _ *T) error {
		return a(ctx, actor, command, &Change{})
	}
}

// NewBoard is what CreateBoard needs to record a board.
type NewBoard struct {
	Name        string
	Description string
	Manager     string
	Delegates   []string
	Members     []string
	Groups      []string
	Recurrence  Recurrence
	// Holidays is the board's holiday calendar (see Board.Holidays); the
	// zero Spec for none.
	Holidays calendar.Spec
	Window   time.Duration
	Agenda   Condition
}

// nilIfEmpty keeps "no list" one value, nil, as JSON reads it back.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// CreateBoard records a change advisory board. Bad fields give a
// *itil.ValidationError naming each ("recurrence.zone",
// "holidays.holidays[0].date", "agenda.all[1].value").
func (s *Service) CreateBoard(ctx context.Context, actor itil.Actor, in NewBoard) (*Board, error) {
	b := &Board{
		Name: in.Name, Description: in.Description, Manager: in.Manager, Delegates: nilIfEmpty(in.Delegates),
		Members: nilIfEmpty(in.Members), Groups: nilIfEmpty(in.Groups), Window: in.Window, CreatedBy: actor,
		Recurrence: Recurrence{Zone: in.Recurrence.Zone, Weekdays: nilIfEmpty(in.Recurrence.Weekdays),
			Start: in.Recurrence.Start, Duration: in.Recurrence.Duration},
		Holidays: in.Holidays.Clone(),
	}
	var v itil.ValidationError
	actor.Validate("actor", &v)
	b.Agenda = in.Agenda
	b.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var err error
	if b.Agenda, err = normalCondition(in.Agenda); err != nil {
		return nil, err
	}
	b.ID = itil.NewID()
	r := s.boardRunner()
	return r.Create(ctx, actor, CommandCreateBoard, b, func(c *pipeline.Cmd[Board], b *Board) (event, error) {
		b.CreatedAt = c.Now
		return event{Type: EventBoardCreated, Summary: "created board " + strconv.Quote(b.Name)}, nil
	})
}

// BoardPatch is the input of UpdateBoard: nil fields stay as they are; a
// list given replaces the list (empty clears it).
type BoardPatch struct {
	Name, Description, Manager *string
	Delegates, Members, Groups *[]string
	Recurrence                 *Recurrence
	// Holidays replaces the holiday calendar; a zero Spec removes it.
	Holidays *calendar.Spec
	Window   *time.Duration
	Agenda   *Condition
}

// UpdateBoard changes a board. A patch that alters nothing, or bad fields,
// give a *itil.ValidationError; an unknown board an error wrapping
// itil.ErrNotFound. Meetings already scheduled keep their times: cancel
// those a new recurrence no longer gives.
func (s *Service) UpdateBoard(ctx context.Context, actor itil.Actor, id itil.ID, patch BoardPatch) (*Board, error) {
	var agenda *Condition
	if patch.Agenda != nil {
		if err := patch.Agenda.Validate(); err == nil {
			a, err := normalCondition(*patch.Agenda)
			if err != nil {
				return nil, err
			}
			agenda = &a
		} else {
			a := cloneCondition(*patch.Agenda) // validate names its problems
			agenda = &a
		}
	}
	r := s.boardRunner()
	out, err := r.Run(ctx, actor, id, CommandUpdateBoard, func(c *pipeline.Cmd[Board], b *Board) (event, error) {
		before := b.clone()
		var changed []string
		changed = pipeline.Set(changed, "name", &b.Name, patch.Name)
		changed = pipeline.Set(changed, "description", &b.Description, patch.Description)
		changed = pipeline.Set(changed, "manager", &b.Manager, patch.Manager)
		for _, l := range []struct {
			name  string
			field *[]string
			to    *[]string
		}{{"delegates", &b.Delegates, patch.Delegates}, {"members", &b.Members, patch.Members}, {"groups", &b.Groups, patch.Groups}} {
			if l.to != nil && !slices.Equal(*l.to, *l.field) {
				*l.field = nilIfEmpty(*l.to)
				changed = append(changed, l.name)
			}
		}
		if patch.Recurrence != nil {
			rec := *patch.Recurrence
			rec.Weekdays = nilIfEmpty(rec.Weekdays)
			if rec.Zone != b.Recurrence.Zone || rec.Start != b.Recurrence.Start || rec.Duration != b.Recurrence.Duration ||
				!slices.Equal(rec.Weekdays, b.Recurrence.Weekdays) {
				b.Recurrence = rec
				changed = append(changed, "recurrence")
			}
		}
		if patch.Holidays != nil {
			b.Holidays = patch.Holidays.Clone()
			if !specEqual(&b.Holidays, &before.Holidays) {
				changed = append(changed, "holidays")
			}
		}
		changed = pipeline.Set(changed, "window", &b.Window, patch.Window)
		if agenda != nil && !conditionEqual(*agenda, b.Agenda) {
			b.Agenda = *agenda
			changed = append(changed, "agenda")
		}
		var v itil.ValidationError
		b.validate(&v)
		if len(changed) == 0 {
			v.Add("patch", "nothing differs from the board as it is")
		}
		if err := v.Err(); err != nil {
			return event{}, err
		}
		return event{Type: EventBoardUpdated, Summary: "updated " + strings.Join(changed, ", ")}, nil
	})
	if err != nil {
		return nil, notFound("board", id, err)
	}
	return out, nil
}

func specEqual(a, b *calendar.Spec) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func conditionEqual(a, b Condition) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// notFound names the kind and ID of an entity that is not found; other
// errors pass unchanged.
func notFound(noun string, id itil.ID, err error) error {
	if errors.Is(err, itil.ErrNotFound) {
		return fmt.Errorf("%s %s: %w", noun, id, itil.ErrNotFound)
	}
	return err
}

// ScheduleMeetings creates the board's pending meetings that its
// recurrence gives with a start in [from, to) (see Board.Occurrences),
// and returns every one of them, those it created and those that existed
// already (as stored: a meeting canceled before is not made again), in
// order. It is idempotent, also when several instances run it at once: a
// meeting's ID is MeetingID(board, start), so each is created once. A bad
// range gives a *itil.ValidationError naming "from" or "to"; an unknown
// board an error wrapping itil.ErrNotFound.
func (s *Service) ScheduleMeetings(ctx context.Context, actor itil.Actor, boardID itil.ID, from, to time.Time) ([]*Meeting, error) {
	// The range is checked before the board is read.
	if _, err := (&Board{Recurrence: Recurrence{Zone: "UTC"}}).Occurrences(from, to); err != nil {
		return nil, err
	}
	var out []*Meeting
	r := s.meetingRunner()
	err := r.Do(ctx, actor, func(c *pipeline.Cmd[Meeting]) error {
		out = out[:0]
		if err := c.Authorize(CommandScheduleMeetings, &Meeting{BoardID: boardID}); err != nil {
			return err
		}
		b, err := pipeline.Other(c, s.boardRunner()).Load(boardID)
		if err != nil {
			return notFound("board", boardID, err)
		}
		occ, err := b.Occurrences(from, to)
		if err != nil {
			return err
		}
		for _, iv := range occ {
			id := MeetingID(b.ID, iv.Start)
			m, err := c.Load(id)
			switch {
			case err == nil:
				out = append(out, m)
				continue
			case !errors.Is(err, itil.ErrNotFound):
				return err
			}
			m = &Meeting{ID: id, BoardID: b.ID, Start: iv.Start.UTC(), End: iv.End.UTC(), State: MeetingPending, CreatedAt: c.Now}
			if err := c.Save(m, event{Type: EventMeetingScheduled, Refs: []itil.ID{b.ID},
				Summary: "scheduled a meeting of " + strconv.Quote(b.Name) + " at " + iv.Start.Format(time.RFC3339)}); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// meetingCommand runs a command on the meeting id in one transaction with
// the changes it writes (through c, the change pipeline): fn changes m
// and returns the meeting's event; the meeting is saved when a journaled
// field changed. The Authorizer is asked for command ("" for none: the
// agenda commands ask on each change instead).
func (s *Service) meetingCommand(ctx context.Context, actor itil.Actor, id itil.ID, command string,
	fn func(c *cmd, mc *pipeline.Cmd[Meeting], m *Meeting) (event, error)) (*Meeting, error) {
	var out *Meeting
	err := s.run.Do(ctx, actor, func(c *cmd) error {
		out = nil
		mc := pipeline.Other(c, s.meetingRunner())
		m, err := mc.Load(id)
		if err != nil {
			return notFound("meeting", id, err)
		}
		if command != "" {
			if err := mc.Authorize(command, m); err != nil {
				return err
			}
			if err := mc.Expect(id, m); err != nil {
				return err
			}
		}
		ev, err := fn(c, mc, m)
		if err != nil {
			return err
		}
		if command == "" { // authorized on each change, in fn
			if err := mc.Expect(id, m); err != nil {
				return err
			}
		}
		if err := mc.Save(m, ev); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// requireOpen refuses to change the agenda of a meeting that has ended.
func requireOpen(m *Meeting, action string) error {
	if m.State != MeetingPending && m.State != MeetingInProgress {
		return itilTransition("cannot %s: the meeting of %s is %s", action, m.Start.Format(time.RFC3339), m.State)
	}
	return nil
}

// loadChange loads a change for a CAB command and asks the Authorizer
// for command on it.
func loadChange(c *cmd, id itil.ID, command string) (*Change, error) {
	ch, err := c.Load(id)
	if err != nil {
		return nil, notFound("change", id, err)
	}
	if err := c.Authorize(command, ch); err != nil {
		return nil, err
	}
	return ch, nil
}

// nextCAB returns the start of the earliest meeting still to be held
// (pending or in progress), other than m, with the change on its agenda:
// zero when there is none.
func nextCAB(c *cmd, changeID itil.ID, m *Meeting) (time.Time, error) {
	var next time.Time
	q := pipeline.Query[Meeting]{Terms: []string{storage.Term("change", changeID.String())},
		AnyOf: [][]string{{storage.Term("state", string(MeetingPending)), storage.Term("state", string(MeetingInProgress))}}}
	for other, err := range pipeline.Matching(c.Ctx, c.Tx, meetings, q, nil) {
		if err != nil {
			return time.Time{}, err
		}
		if other.ID != m.ID && (next.IsZero() || other.Start.Before(next)) {
			next = other.Start
		}
	}
	return next, nil
}

// scheduleCAB marks the change, just put on m's agenda, as CAB required,
// with the CAB date of the earliest meeting still to be held that has it
// on its agenda (m's start, unless another comes first), writing the
// change when that changes it.
func scheduleCAB(c *cmd, ch *Change, m *Meeting) error {
	date, err := nextCAB(c, ch.ID, m)
	if err != nil {
		return err
	}
	if date.IsZero() || m.Start.Before(date) {
		date = m.Start
	}
	if ch.CABRequired && ch.CABDate.Equal(date) {
		return nil
	}
	ch.CABRequired, ch.CABDate = true, date
	return c.Save(ch, event{Type: EventCABScheduled, Refs: []itil.ID{m.ID, m.BoardID},
		Summary: "on the agenda of the CAB meeting of " + m.Start.Format(time.RFC3339) + "; CAB date " + date.Format(time.RFC3339)})
}

// unscheduleCAB moves the CAB date of a change that leaves the meeting m
// (removed from its agenda, or m canceled), when the date names m: to the
// start of the earliest other meeting still to be held with the change on
// its agenda, else to none. CAB required stays: the change still needs a
// board.
func unscheduleCAB(c *cmd, ch *Change, m *Meeting) error {
	if !ch.CABDate.Equal(m.Start) {
		return nil
	}
	next, err := nextCAB(c, ch.ID, m)
	if err != nil {
		return err
	}
	ch.CABDate = next
	summary := "off the agenda of the CAB meeting of " + m.Start.Format(time.RFC3339)
	if !next.IsZero() {
		summary += "; CAB date " + next.Format(time.RFC3339)
	}
	return c.Save(ch, event{Type: EventCABUnscheduled, Refs: []itil.ID{m.ID, m.BoardID}, Summary: summary})
}

// addItem appends the change to the agenda, last, and sets its CAB date.
func addItem(c *cmd, m *Meeting, ch *Change) error {
	order := 1
	if n := len(m.Items); n > 0 {
		order = m.Items[n-1].Order + 1
	}
	m.Items = append(m.Items, AgendaItem{ChangeID: ch.ID, Number: ch.Number, Order: order, Decision: DecisionNone})
	return scheduleCAB(c, ch, m)
}

func agendaFull(extra int) error {
	return itil.Invalid("items", fmt.Sprintf("the agenda would list %d changes, more than %d: narrow the board's agenda "+
		"condition or window, or meet more often", extra, MaxAgendaItems))
}

// AddToAgenda puts a change that has not ended on the agenda of a meeting
// that has not ended, last, whatever the board's agenda condition, and
// marks the change CAB required with the CAB date of the earliest meeting
// still to be held that has it on its agenda (this one's start, unless
// another comes first), in one transaction; the Authorizer is asked for
// CommandAddToAgenda on the change. A change already on the agenda, or a full agenda
// (MaxAgendaItems), give a *itil.ValidationError; an unknown meeting or
// change an error wrapping itil.ErrNotFound; an ended meeting or change
// one wrapping itil.ErrInvalidTransition.
func (s *Service) AddToAgenda(ctx context.Context, actor itil.Actor, meetingID, changeID itil.ID) (*Meeting, error) {
	if changeID == itil.NilID {
		return nil, itil.Invalid("change_id", "must not be the nil ID")
	}
	return s.meetingCommand(ctx, actor, meetingID, "", func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := requireOpen(m, "add to the agenda"); err != nil {
			return event{}, err
		}
		ch, err := loadChange(c, changeID, CommandAddToAgenda)
		if err != nil {
			return event{}, err
		}
		if err := requireActive(ch, "put on an agenda"); err != nil {
			return event{}, err
		}
		if m.item(ch.ID) >= 0 {
			return event{}, itil.Invalid("change_id", ch.Number+" is on the agenda already")
		}
		if len(m.Items) >= MaxAgendaItems {
			return event{}, agendaFull(len(m.Items) + 1)
		}
		if err := addItem(c, m, ch); err != nil {
			return event{}, err
		}
		return event{Type: EventAgendaChanged, Summary: "added " + ch.Number + " to the agenda", Refs: []itil.ID{ch.ID, m.BoardID}}, nil
	})
}

// BuildAgenda adds to the agenda of a meeting that has not ended every
// change that meets its board's agenda condition (on the change's Facts)
// and is planned to start within the board's rolling window of the
// meeting's start (start ≤ planned start < start + window), in planned
// start order, except the changes that are
//
//   - on this agenda already;
//   - on the agenda of another meeting of the board still to be held
//     (pending or in progress): that meeting will review them;
//   - approved or rejected by a completed meeting of the board (a
//     deferred change, or one left without decision, comes back).
//
// Each change added is marked CAB required and gets the meeting's start
// as its CAB date (unless a meeting of another board comes first), in the
// same transaction; the Authorizer is asked for CommandAddToAgenda on each.
// With nothing to add, nothing is written. An agenda that would list more
// than MaxAgendaItems changes gives a *itil.ValidationError naming
// "items", and nothing is added; an unknown meeting an error wrapping
// itil.ErrNotFound; an ended meeting one wrapping
// itil.ErrInvalidTransition.
func (s *Service) BuildAgenda(ctx context.Context, actor itil.Actor, meetingID itil.ID) (*Meeting, error) {
	return s.meetingCommand(ctx, actor, meetingID, CommandBuildAgenda, func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := requireOpen(m, "build the agenda"); err != nil {
			return event{}, err
		}
		b, err := pipeline.Other(c, s.boardRunner()).Load(m.BoardID)
		if err != nil {
			return event{}, notFound("board", m.BoardID, err)
		}
		match, err := b.Agenda.Compile()
		if err != nil {
			return event{}, err
		}
		end := m.Start.Add(b.Window)
		q := pipeline.Query[Change]{AnyOf: [][]string{s.activeStateTerms()}, Keep: func(ch *Change) bool {
			return !ch.PlannedStart.IsZero() && !ch.PlannedStart.Before(m.Start) && ch.PlannedStart.Before(end) &&
				m.item(ch.ID) < 0 && match(factsOf(ch))
		}}
		var found []*Change
		for ch, err := range pipeline.Matching(c.Ctx, c.Tx, changes, q, nil) {
			if err != nil {
				return event{}, err
			}
			found = append(found, ch)
		}
		slices.SortStableFunc(found, func(a, b *Change) int {
			if d := a.PlannedStart.Compare(b.PlannedStart); d != 0 {
				return d
			}
			return strings.Compare(a.Number, b.Number)
		})
		var add []itil.ID
		for _, ch := range found {
			taken, err := reviewedElsewhere(c, m, ch)
			if err != nil {
				return event{}, err
			}
			if !taken {
				add = append(add, ch.ID)
			}
		}
		if len(add) == 0 {
			return event{}, nil // nothing changes: nothing is written
		}
		if len(m.Items)+len(add) > MaxAgendaItems {
			return event{}, agendaFull(len(m.Items) + len(add))
		}
		for _, id := range add {
			ch, err := loadChange(c, id, CommandAddToAgenda)
			if err != nil {
				return event{}, err
			}
			if err := addItem(c, m, ch); err != nil {
				return event{}, err
			}
		}
		return event{Type: EventAgendaChanged, Summary: "agenda built: added " + strconv.Itoa(len(add)) + " changes",
			Refs: append(add, m.BoardID)}, nil
	})
}

// activeStateTerms are the index terms of every state of the Service's
// models but Closed and Canceled: the changes an agenda may take.
func (s *Service) activeStateTerms() []string {
	var out []string
	for _, name := range s.Models() {
		for _, st := range s.cfg.models[name].machine.States() {
			t := storage.Term("state", string(st))
			if !st.Final() && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// reviewedElsewhere reports whether another meeting of m's board will
// review the change ch (it is on the agenda of one pending or in
// progress) or has settled its current round (approved or rejected it).
func reviewedElsewhere(c *cmd, m *Meeting, ch *Change) (bool, error) {
	changeID := ch.ID
	q := pipeline.Query[Meeting]{Terms: []string{storage.Term("board", m.BoardID.String()), storage.Term("change", changeID.String())}}
	for other, err := range pipeline.Matching(c.Ctx, c.Tx, meetings, q, nil) {
		if err != nil {
			return false, err
		}
		if other.ID == m.ID {
			continue
		}
		switch other.State {
		case MeetingPending, MeetingInProgress:
			return true, nil
		case MeetingComplete:
			if i := other.item(changeID); i >= 0 && other.Items[i].Decision.decided() && other.Items[i].Round == ch.ApprovalRounds {
				return true, nil
			}
		}
	}
	return false, nil
}

// RemoveFromAgenda takes a change without a decision off the agenda of a
// meeting that has not ended; the items after it move up. When the
// change's CAB date is this meeting's start, it moves to the earliest
// other meeting still to be held with the change on its agenda, or is
// cleared (CAB required stays), in the same transaction; the Authorizer
// is asked for CommandRemoveFromAgenda on the change. A change not on the
// agenda gives a *itil.ValidationError naming "change_id"; a decided item
// or an ended meeting an error wrapping itil.ErrInvalidTransition.
func (s *Service) RemoveFromAgenda(ctx context.Context, actor itil.Actor, meetingID, changeID itil.ID) (*Meeting, error) {
	if changeID == itil.NilID {
		return nil, itil.Invalid("change_id", "must not be the nil ID")
	}
	return s.meetingCommand(ctx, actor, meetingID, "", func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := requireOpen(m, "remove from the agenda"); err != nil {
			return event{}, err
		}
		i := m.item(changeID)
		if i < 0 {
			return event{}, itil.Invalid("change_id", changeID.String()+" is not on the agenda")
		}
		it := m.Items[i]
		if it.Decision != DecisionNone {
			return event{}, itilTransition("cannot remove %s from the agenda: it was %s", it.Number, it.Decision)
		}
		m.Items = nilIfEmpty(slices.Delete(m.Items, i, i+1))
		for j := i; j < len(m.Items); j++ {
			m.Items[j].Order--
		}
		ch, err := loadChange(c, changeID, CommandRemoveFromAgenda)
		if err != nil {
			return event{}, err
		}
		if err := unscheduleCAB(c, ch, m); err != nil {
			return event{}, err
		}
		return event{Type: EventAgendaChanged, Summary: "removed " + it.Number + " from the agenda", Refs: []itil.ID{changeID, m.BoardID}}, nil
	})
}

// StartMeeting starts a pending meeting.
func (s *Service) StartMeeting(ctx context.Context, actor itil.Actor, id itil.ID) (*Meeting, error) {
	return s.meetingCommand(ctx, actor, id, CommandStartMeeting, func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := meetingLifecycle.Apply(&m.State, "meeting of "+m.Start.Format(time.RFC3339), meetingStart, nil); err != nil {
			return event{}, err
		}
		m.StartedAt = c.Now
		return event{Type: EventMeetingStarted, Summary: "started", Refs: []itil.ID{m.BoardID}}, nil
	})
}

// SetAttendees records who attends a meeting that has not ended (user
// IDs, replacing the list). A list that alters nothing, or bad entries,
// give a *itil.ValidationError naming "attendees".
func (s *Service) SetAttendees(ctx context.Context, actor itil.Actor, id itil.ID, attendees []string) (*Meeting, error) {
	var v itil.ValidationError
	people(&v, "attendees", attendees)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.meetingCommand(ctx, actor, id, CommandSetAttendees, func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := requireOpen(m, "record attendees"); err != nil {
			return event{}, err
		}
		if slices.Equal(m.Attendees, attendees) || len(m.Attendees)+len(attendees) == 0 {
			return event{}, itil.Invalid("attendees", "nothing differs from the list as it is")
		}
		m.Attendees = nilIfEmpty(attendees)
		return event{Type: EventAttendeesSet, Summary: strconv.Itoa(len(attendees)) + " attendees", Refs: []itil.ID{m.BoardID}}, nil
	})
}

// RecordMinutes records, in a meeting in progress, the minutes of a change
// on its agenda and the decision (DecisionNone for none yet), replacing
// what the item held: the journal keeps the earlier values. A decision is
// journaled as the meeting's EventCABDecision with the change and the
// board in Refs, so the change's History shows it; it is exposed on the
// meeting (Items) and by CABReviews. An approved or rejected decision
// decides, in the approvers' names, the requests still open in the
// change's current round on the steps that ask the board's groups, and
// the round is evaluated as after Approve or Reject (see cabDecides): a
// rejection returns the change to New. Bad input, a change not on the agenda, or
// nothing to change give a *itil.ValidationError; a meeting not in
// progress an error wrapping itil.ErrInvalidTransition.
func (s *Service) RecordMinutes(ctx context.Context, actor itil.Actor, meetingID, changeID itil.ID, text string, decision Decision) (*Meeting, error) {
	var v itil.ValidationError
	if changeID == itil.NilID {
		v.Add("change_id", "must not be the nil ID")
	}
	check.Text(&v, "minutes", text, false, MaxMinutes)
	if !decision.Valid() {
		v.Add("decision", "must be none, approved, rejected or deferred")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.meetingCommand(ctx, actor, meetingID, CommandRecordMinutes, func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if m.State != MeetingInProgress {
			return event{}, itilTransition("cannot record minutes: the meeting of %s is %s, not in progress", m.Start.Format(time.RFC3339), m.State)
		}
		i := m.item(changeID)
		if i < 0 {
			return event{}, itil.Invalid("change_id", changeID.String()+" is not on the agenda")
		}
		it := &m.Items[i]
		if it.Minutes == text && it.Decision == decision {
			return event{}, itil.Invalid("minutes", "nothing differs from the item as recorded")
		}
		if (it.Decision == DecisionApproved || it.Decision == DecisionRejected) && decision != it.Decision {
			return event{}, itilTransition("the board's decision on %s (%s) stands: the approvals followed it", it.Number, it.Decision)
		}
		it.Minutes = text
		if it.Decision == decision {
			return event{Type: EventMinutesRecorded, Summary: "minutes on " + it.Number, Refs: []itil.ID{changeID, m.BoardID}}, nil
		}
		it.Decision = decision
		if decision == DecisionNone {
			it.DecidedBy, it.DecidedAt = itil.Actor{}, time.Time{}
			ch, err := c.Load(changeID)
			if err != nil {
				return event{}, fmt.Errorf("change_id: %w", err)
			}
			if ch.CABMeetingID == m.ID {
				ch.CABDecision, ch.CABMeetingID = "", itil.NilID
				if err := c.Save(ch, event{Type: EventCABDecision, Summary: "CAB decision withdrawn", Refs: []itil.ID{m.ID}}); err != nil {
					return event{}, err
				}
			}
			return event{Type: EventMinutesRecorded, Summary: "decision on " + it.Number + " withdrawn", Refs: []itil.ID{changeID, m.BoardID}}, nil
		}
		// A decision is the board's: its manager or a delegate records it,
		// and the change keeps it.
		b, err := pipeline.Other(c, s.boardRunner()).Load(m.BoardID)
		if err != nil {
			return event{}, err
		}
		if c.Actor.ID != b.Manager && !slices.Contains(b.Delegates, c.Actor.ID) {
			return event{}, itilForbidden("only the board's manager or a delegate records its decisions")
		}
		ch, err := c.Load(changeID)
		if err != nil {
			return event{}, fmt.Errorf("change_id: %w", err)
		}
		ch.CABDecision, ch.CABMeetingID, it.Round = decision, m.ID, ch.ApprovalRounds
		summary, err := s.cabDecides(c, ch, b, m, decision)
		if err != nil {
			return event{}, err
		}
		if err := c.Save(ch, event{Type: EventCABDecision, Summary: "CAB decision: " + string(decision) + summary, Refs: []itil.ID{m.ID}}); err != nil {
			return event{}, err
		}
		it.DecidedBy, it.DecidedAt = c.Actor, c.Now
		return event{Type: EventCABDecision, Summary: "CAB decision on " + it.Number + ": " + string(decision), Refs: []itil.ID{changeID, m.BoardID}}, nil
	})
}

// cabDecides turns the board's decision on ch (approved or rejected) into
// the decision of the requests still open in the change's current round
// through the board's groups (Board.Groups): recorded in the approvers'
// names as the board's (Approval.MeetingID), with the meeting in the
// comment; the meeting's item names who recorded it. The round is then evaluated as after
// Approve or Reject, and what it did is returned for the change's event.
// A change that waits for nothing from the board is left as it is; a
// decider whom segregation of duties excludes from the round is refused.
func (s *Service) cabDecides(c *cmd, ch *Change, b *Board, m *Meeting, decision Decision) (string, error) {
	r := ch.Approval
	if (decision != DecisionApproved && decision != DecisionRejected) || r == nil || r.State != ch.State || r.Verdict != VerdictWaiting {
		return "", nil
	}
	steps := map[string]bool{}
	for _, st := range r.Policy.Steps {
		if slices.ContainsFunc(st.Groups, func(g string) bool { return slices.Contains(b.Groups, g) }) {
			steps[st.Name] = true
		}
	}
	if len(steps) == 0 {
		return "", nil
	}
	if slices.Contains(r.Facts.Excluded, c.Actor.ID) {
		return "", itilForbidden("%s requested or is assigned change %s, so the board's decision on it is recorded by another of its delegates", c.Actor.ID, ch.Number)
	}
	recs, err := s.roundRecords(c, ch)
	if err != nil {
		return "", err
	}
	to := ApprovalApproved
	if decision == DecisionRejected {
		to = ApprovalRejected
	}
	comment := "decision of " + b.Name + " at the meeting of " + m.Start.UTC().Format(time.RFC3339)
	ac := pipeline.Other(c, s.approvalRunner())
	n := 0
	for _, rec := range recs {
		// Only the requests made through the board's groups: a step may
		// name other groups or people, who decide for themselves.
		if rec.State != ApprovalRequested || !steps[rec.Step] ||
			!slices.ContainsFunc(rec.Groups, func(g string) bool { return slices.Contains(b.Groups, g) }) {
			continue
		}
		rec.State, rec.DecidedAt, rec.Comment, rec.MeetingID = to, c.Now, comment, m.ID
		if err := ac.Save(rec, event{Type: EventApprovalDecided, Summary: string(to) + " (" + rec.Step + ", " + b.Name + ")",
			Reason: comment, Refs: []itil.ID{ch.ID}}); err != nil {
			return "", err
		}
		n++
	}
	if n == 0 {
		return "", nil
	}
	ev, err := s.evaluateRound(c, ch, recs, to, comment) // approving.go
	if err != nil {
		return "", err
	}
	return "; " + ev.Summary, nil
}

// CompleteMeeting completes a meeting in progress; the items it left
// without a decision are deferred (recorded as the completing actor's),
// so that BuildAgenda puts them on a later agenda.
func (s *Service) CompleteMeeting(ctx context.Context, actor itil.Actor, id itil.ID) (*Meeting, error) {
	return s.meetingCommand(ctx, actor, id, CommandCompleteMeeting, func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := meetingLifecycle.Apply(&m.State, "meeting of "+m.Start.Format(time.RFC3339), meetingComplete, nil); err != nil {
			return event{}, err
		}
		m.EndedAt = c.Now
		refs := []itil.ID{m.BoardID}
		for i := range m.Items {
			if it := &m.Items[i]; it.Decision == DecisionNone {
				it.Decision, it.DecidedBy, it.DecidedAt = DecisionDeferred, c.Actor, c.Now
				refs = append(refs, it.ChangeID)
			}
		}
		summary := "completed"
		if n := len(refs) - 1; n > 0 {
			summary += "; " + strconv.Itoa(n) + " undecided changes deferred"
		}
		return event{Type: EventMeetingCompleted, Summary: summary, Refs: refs}, nil
	})
}

// CancelMeeting cancels a meeting that has not ended, with a reason
// (required). The changes on its agenda whose CAB date is its start get
// the start of the earliest other meeting still to be held with them on
// its agenda, or none, in the same transaction (the Authorizer is asked
// for CommandCABReschedule on each); changes that have ended are left as
// they are.
func (s *Service) CancelMeeting(ctx context.Context, actor itil.Actor, id itil.ID, reason string) (*Meeting, error) {
	if err := check.Required("reason", reason); err != nil {
		return nil, err
	}
	return s.meetingCommand(ctx, actor, id, CommandCancelMeeting, func(c *cmd, _ *pipeline.Cmd[Meeting], m *Meeting) (event, error) {
		if err := meetingLifecycle.Apply(&m.State, "meeting of "+m.Start.Format(time.RFC3339), meetingCancel, nil); err != nil {
			return event{}, err
		}
		m.EndedAt, m.CancelReason = c.Now, reason
		for _, it := range m.Items {
			ch, err := c.Load(it.ChangeID)
			if errors.Is(err, itil.ErrNotFound) {
				continue
			}
			if err != nil {
				return event{}, err
			}
			if ch.State.Final() || !ch.CABDate.Equal(m.Start) {
				continue
			}
			if err := c.Authorize(CommandCABReschedule, ch); err != nil {
				return event{}, err
			}
			if err := unscheduleCAB(c, ch, m); err != nil {
				return event{}, err
			}
		}
		return event{Type: EventMeetingCanceled, Summary: "canceled", Reason: reason, Refs: []itil.ID{m.BoardID}}, nil
	})
}
