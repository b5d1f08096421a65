package change

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
)

// ConflictKind says why two changes, or a change and a window, conflict.
type ConflictKind string

// The kinds of conflict, as ServiceNow's conflict detection names them.
const (
	// ConflictCIScheduled: a CI of the change is in another change whose planned
	// window overlaps.
	ConflictCIScheduled ConflictKind = "ci_scheduled"
	// ConflictRelatedCIScheduled: a parent or child of a CI of the change (through
	// CMDB relationships) is in another overlapping change.
	ConflictRelatedCIScheduled ConflictKind = "related_ci_scheduled"
	// ConflictServiceAffected: a business service both changes affect.
	ConflictServiceAffected ConflictKind = "service_affected"
	// ConflictAssigneeBooked: the assignee is booked on another overlapping
	// change.
	ConflictAssigneeBooked ConflictKind = "assignee_booked"
	// ConflictOutsideMaintenanceWindow: a CI of the change, or a related CI, has a
	// maintenance window, and part of the planned window lies outside it.
	ConflictOutsideMaintenanceWindow ConflictKind = "outside_maintenance_window"
	// ConflictBlackout: part of the planned window lies in an enforced
	// blackout that covers a CI of the change.
	ConflictBlackout ConflictKind = "blackout"
)

// Conflict is one reason a change's planned window is not clear: its
// kind, the other change or the window, the CI (or service) concerned,
// and when.
type Conflict struct {
	Kind ConflictKind `json:"kind"`
	// ChangeID and Number name the other change (none for windows).
	ChangeID itil.ID `json:"change_id,omitzero"`
	Number   string  `json:"number,omitempty"`
	// CIID is the change's CI concerned; RelatedCIID the related CI in the
	// other change (ConflictRelatedCIScheduled) or whose window it is.
	CIID        itil.ID `json:"ci_id,omitzero"`
	RelatedCIID itil.ID `json:"related_ci_id,omitzero"`
	// ServiceID is the business service both changes affect
	// (ConflictServiceAffected).
	ServiceID itil.ID `json:"service_id,omitzero"`
	// Assignee is the person booked twice (ConflictAssigneeBooked).
	Assignee string `json:"assignee,omitempty"`
	// ScheduleID and ScheduleName name the maintenance or blackout
	// schedule.
	ScheduleID   itil.ID `json:"schedule_id,omitzero"`
	ScheduleName string  `json:"schedule_name,omitempty"`
	// Start and End bound the part of the planned window in conflict.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// slot is a planned window as the index keeps it: UTC nanoseconds.
type slot struct{ start, end int64 }

// overlaps reports whether a and b share time; touching ends share time
// only when touching.
func (a slot) overlaps(b slot, touching bool) bool {
	if touching {
		return a.start <= b.end && b.start <= a.end
	}
	return a.start < b.end && b.start < a.end
}

// booking is one change's planned window on one key of the index.
type booking struct {
	slot
	change itil.ID
}

// bookings is a per-key sorted interval array: sorted by start (then
// change), with the longest booking's length, so that the bookings
// overlapping [s, e) are those from the first whose start is at least
// s − longest to the last whose start is before e: a binary search and a
// short scan.
type bookings struct {
	items   []booking
	longest int64
}

func (b *bookings) insert(x booking) {
	i, _ := slices.BinarySearchFunc(b.items, x, compareBooking)
	b.items = slices.Insert(b.items, i, x)
	b.longest = max(b.longest, x.end-x.start)
}

func (b *bookings) remove(x booking) {
	if i, ok := slices.BinarySearchFunc(b.items, x, compareBooking); ok {
		b.items = slices.Delete(b.items, i, i+1)
	}
	// longest stays an upper bound: the scan is still exact.
}

func compareBooking(a, b booking) int {
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	return slices.Compare(a.change[:], b.change[:])
}

// around returns the bookings that may overlap s, in start order: those
// from the first starting at or after s.start − longest to the last
// starting before s.end (at s.end too when touching). The caller keeps
// those that overlap (slot.overlaps).
func (b *bookings) around(s slot, touching bool) []booking {
	if b == nil {
		return nil
	}
	from := s.start - b.longest
	i, _ := slices.BinarySearchFunc(b.items, from, func(x booking, t int64) int { return cmp.Compare(x.start, t) })
	j := i
	for j < len(b.items) && (b.items[j].start < s.end || (touching && b.items[j].start == s.end)) {
		j++
	}
	return b.items[i:j]
}

// planned is what the index knows of a change: its window and what it
// books (its CIs, the services they affect, its assignee).
type planned struct {
	ID       itil.ID
	Number   string
	Slot     slot
	CIs      []itil.ID // the primary CI first
	Services []itil.ID
	Assignee string
}

// scheduleIndex answers "who else is scheduled here, then" for the
// changes in an active state with planned times: per CI, per service and
// per assignee, a sorted interval array.
type scheduleIndex struct {
	byCI       map[itil.ID]*bookings
	byService  map[itil.ID]*bookings
	byAssignee map[string]*bookings
	changes    map[itil.ID]*planned
}

func newScheduleIndex() *scheduleIndex {
	return &scheduleIndex{byCI: map[itil.ID]*bookings{}, byService: map[itil.ID]*bookings{},
		byAssignee: map[string]*bookings{}, changes: map[itil.ID]*planned{}}
}

func book[K comparable](m map[K]*bookings, k K, x booking) {
	b := m[k]
	if b == nil {
		b = &bookings{}
		m[k] = b
	}
	b.insert(x)
}

func unbook[K comparable](m map[K]*bookings, k K, x booking) {
	if b := m[k]; b != nil {
		b.remove(x)
		if len(b.items) == 0 {
			delete(m, k)
		}
	}
}

// put books p, replacing what its change booked before.
func (x *scheduleIndex) put(p *planned) {
	x.remove(p.ID)
	x.changes[p.ID] = p
	bk := booking{p.Slot, p.ID}
	forEachCI(p.CIs, func(id itil.ID) { book(x.byCI, id, bk) })
	forEachCI(p.Services, func(id itil.ID) { book(x.byService, id, bk) })
	if p.Assignee != "" {
		book(x.byAssignee, p.Assignee, bk)
	}
}

// load books ps into an empty index at once: appended, then each key
// sorted once (put, one at a time, is quadratic on a busy CI).
func (x *scheduleIndex) load(ps []*planned) {
	add := func(b *bookings, bk booking) {
		b.items = append(b.items, bk)
		b.longest = max(b.longest, bk.end-bk.start)
	}
	get := func(b *bookings) *bookings {
		if b == nil {
			b = &bookings{}
		}
		return b
	}
	for _, p := range ps {
		x.changes[p.ID] = p
		bk := booking{p.Slot, p.ID}
		forEachCI(p.CIs, func(id itil.ID) { x.byCI[id] = get(x.byCI[id]); add(x.byCI[id], bk) })
		forEachCI(p.Services, func(id itil.ID) { x.byService[id] = get(x.byService[id]); add(x.byService[id], bk) })
		if p.Assignee != "" {
			x.byAssignee[p.Assignee] = get(x.byAssignee[p.Assignee])
			add(x.byAssignee[p.Assignee], bk)
		}
	}
	for _, b := range x.byCI {
		slices.SortFunc(b.items, compareBooking)
	}
	for _, b := range x.byService {
		slices.SortFunc(b.items, compareBooking)
	}
	for _, b := range x.byAssignee {
		slices.SortFunc(b.items, compareBooking)
	}
}

// remove forgets the change id.
func (x *scheduleIndex) remove(id itil.ID) {
	p, ok := x.changes[id]
	if !ok {
		return
	}
	delete(x.changes, id)
	bk := booking{p.Slot, p.ID}
	forEachCI(p.CIs, func(id itil.ID) { unbook(x.byCI, id, bk) })
	forEachCI(p.Services, func(id itil.ID) { unbook(x.byService, id, bk) })
	if p.Assignee != "" {
		unbook(x.byAssignee, p.Assignee, bk)
	}
}

// conflictOptions say what a conflict check looks at.
type conflictOptions struct {
	// advanced checks every CI of the change; basic, the primary one.
	advanced bool
	// touching counts changes that end as the other starts.
	touching bool
	// related returns the parents and children of a CI (to the
	// configured depth); nil for none.
	related func(itil.ID) []itil.ID
}

// conflicts returns the changes in the index that conflict with p (p's
// own bookings excluded), in a stable order: by kind, then the other
// change's start, then the CIs.
func (x *scheduleIndex) conflicts(p *planned, o conflictOptions) []Conflict {
	var out []Conflict
	at := func(other booking) (time.Time, time.Time) {
		s, e := max(p.Slot.start, other.start), min(p.Slot.end, other.end)
		return time.Unix(0, s).UTC(), time.Unix(0, e).UTC()
	}
	add := func(k ConflictKind, other booking, ci, rel, svc itil.ID, assignee string) {
		s, e := at(other)
		c := Conflict{Kind: k, ChangeID: other.change, CIID: ci, RelatedCIID: rel, ServiceID: svc, Assignee: assignee, Start: s, End: e}
		if q := x.changes[other.change]; q != nil {
			c.Number = q.Number
		}
		out = append(out, c)
	}
	cis := p.CIs
	if !o.advanced && len(cis) > 1 {
		cis = cis[:1]
	}
	var buf, rbuf [32]itil.ID
	for _, ci := range distinct(cis, buf[:0]) {
		for _, other := range x.byCI[ci].around(p.Slot, o.touching) {
			if other.change != p.ID && other.overlaps(p.Slot, o.touching) {
				add(ConflictCIScheduled, other, ci, itil.NilID, itil.NilID, "")
			}
		}
		if o.related == nil {
			continue
		}
		for _, rel := range distinct(o.related(ci), rbuf[:0]) {
			if rel == ci {
				continue
			}
			for _, other := range x.byCI[rel].around(p.Slot, o.touching) {
				if other.change != p.ID && other.overlaps(p.Slot, o.touching) {
					add(ConflictRelatedCIScheduled, other, ci, rel, itil.NilID, "")
				}
			}
		}
	}
	for _, svc := range distinct(p.Services, rbuf[:0]) {
		for _, other := range x.byService[svc].around(p.Slot, o.touching) {
			if other.change != p.ID && other.overlaps(p.Slot, o.touching) {
				add(ConflictServiceAffected, other, itil.NilID, itil.NilID, svc, "")
			}
		}
	}
	if p.Assignee != "" {
		for _, other := range x.byAssignee[p.Assignee].around(p.Slot, o.touching) {
			if other.change != p.ID && other.overlaps(p.Slot, o.touching) {
				add(ConflictAssigneeBooked, other, itil.NilID, itil.NilID, itil.NilID, p.Assignee)
			}
		}
	}
	sortConflicts(out)
	return out
}

// sortConflicts orders conflicts by kind, start, other change, CIs,
// service and schedule: one order whatever found them.
func sortConflicts(cs []Conflict) {
	slices.SortFunc(cs, compareConflicts)
}

// compareConflicts orders a and b as sortConflicts says, comparing no
// more fields than it needs (a check sorts every conflict it finds).
func compareConflicts(a, b Conflict) int {
	if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
		return c
	}
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	for _, ids := range [...][2]*itil.ID{{&a.ChangeID, &b.ChangeID}, {&a.CIID, &b.CIID}, {&a.RelatedCIID, &b.RelatedCIID},
		{&a.ServiceID, &b.ServiceID}, {&a.ScheduleID, &b.ScheduleID}} {
		if c := bytes.Compare(ids[0][:], ids[1][:]); c != 0 {
			return c
		}
	}
	return 0
}

// distinct returns ids without the nil ID and without repeats, in order,
// in buf's storage while it fits: no allocation for a change's few CIs.
func distinct(ids, buf []itil.ID) []itil.ID {
	out := buf[:0]
	for _, id := range ids {
		if id != itil.NilID && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Explain says in a sentence why c is a conflict, for people: what meets
// what, and when (UTC).
func (c Conflict) Explain() string {
	when := c.Start.UTC().Format("2006-01-02 15:04") + " to " + c.End.UTC().Format("2006-01-02 15:04") + " UTC"
	other := c.Number
	if other == "" {
		other = "change " + c.ChangeID.String()
	}
	switch c.Kind {
	case ConflictCIScheduled:
		return "CI " + c.CIID.String() + " is also in " + other + " from " + when
	case ConflictRelatedCIScheduled:
		return "CI " + c.RelatedCIID.String() + ", related to CI " + c.CIID.String() + ", is in " + other + " from " + when
	case ConflictServiceAffected:
		return "business service " + c.ServiceID.String() + " is also affected by " + other + " from " + when
	case ConflictAssigneeBooked:
		return c.Assignee + " is also booked on " + other + " from " + when
	case ConflictOutsideMaintenanceWindow:
		ci := "CI " + c.CIID.String()
		if c.RelatedCIID != itil.NilID {
			ci = "CI " + c.RelatedCIID.String() + " (related to CI " + c.CIID.String() + ")"
		}
		return ci + " is outside its maintenance window " + strconv.Quote(c.ScheduleName) + " from " + when
	case ConflictBlackout:
		return "CI " + c.CIID.String() + " is in the blackout " + strconv.Quote(c.ScheduleName) + " from " + when
	}
	return string(c.Kind) + " from " + when
}
