package change

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/slm/calendar"
	"github.com/itilkit/itil/storage"
)

// ConflictDetection says what a conflict check looks at. The zero value
// is the default: advanced mode (every CI of the change), related CIs one
// relationship away (with WithCMDB), and touching ends not overlapping.
type ConflictDetection struct {
	// Basic checks the change's primary CI only, as ServiceNow's basic
	// mode does; by default every CI of the change is checked.
	Basic bool `json:"basic,omitempty"`
	// Touching counts a change that ends as another starts as an
	// overlap.
	Touching bool `json:"touching,omitempty"`
	// RelationDepth is how many relationships away a parent or child CI
	// is looked for: 0 means the default, 1; -1 turns related CIs off.
	// At most 5.
	RelationDepth int `json:"relation_depth,omitempty"`
}

// maxRelationDepth bounds ConflictDetection.RelationDepth.
const maxRelationDepth = 5

// WithConflictDetection replaces the default conflict detection. A bad
// one is named under "conflict_detection.".
func WithConflictDetection(d ConflictDetection) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if d.RelationDepth < -1 || d.RelationDepth > maxRelationDepth {
			v.Add("conflict_detection.relation_depth", fmt.Sprintf("must be from -1 to %d", maxRelationDepth))
		}
		cfg.detection = d
	}}
}

// Conflicts returns what conflicts with the change id at its planned
// window now: other changes in an active state on its CIs, on CIs one or
// more relationships away (WithCMDB), on the business services its CIs
// support, or with its assignee, whose planned windows overlap it; and
// the enforced schedules it breaks (outside a maintenance window of its
// CIs or related CIs, inside a blackout on its CIs). A change that has
// ended, or has no planned window, has none. An unknown change gives an
// error wrapping itil.ErrNotFound.
func (s *Service) Conflicts(ctx context.Context, id itil.ID) ([]Conflict, error) {
	var out []Conflict
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		ch, err := changes.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		// A read alone decides nothing: the claims matter only in the
		// caller's transaction.
		out, err = s.conflictsWith(ctx, tx, ch, checkWith{claims: s.run.Bound()})
		return err
	})
	return out, err
}

// plannedOf returns what the index keeps of ch, or nil when ch is not
// scheduled (ended, or without a planned window).
func plannedOf(ch *Change) *planned {
	if ch.State.Final() || ch.PlannedStart.IsZero() || ch.PlannedEnd.IsZero() {
		return nil
	}
	p := &planned{ID: ch.ID, Number: ch.Number, Slot: slot{ch.PlannedStart.UnixNano(), ch.PlannedEnd.UnixNano()},
		CIs: changeCIs(ch), Assignee: ch.Assignee}
	for _, a := range ch.AffectedServices {
		p.Services = append(p.Services, a.ServiceID)
	}
	return p
}

// checkWith is what a check reads besides the Service's schedule index.
type checkWith struct {
	// fresh is a change the command has just altered and not yet saved
	// (or saved in its transaction), read instead of its stored version.
	fresh *Change
	// windows, when not nil, are the schedules in force as a schedule
	// command left them, read instead of the index's.
	windows *windowSet
	// claims says whether the check reads the claims of the keys it
	// reads: a check whose outcome is written must.
	claims bool
}

// conflictsWith computes ch's conflicts in tx.
func (s *Service) conflictsWith(ctx context.Context, tx storage.Tx, ch *Change, with checkWith) ([]Conflict, error) {
	p := plannedOf(ch)
	if p == nil {
		return nil, nil
	}
	v, err := s.view(ctx, tx, p, p.Slot, with)
	if err != nil {
		return nil, err
	}
	defer v.release()
	out := v.x.conflicts(p, v.o)
	if len(v.w.schedules) > 0 {
		out = append(out, v.w.windowConflicts(p, v.o)...)
		if v.ciErr != nil {
			return nil, v.ciErr
		}
		sortConflicts(out)
	}
	return out, nil
}

// scheduleView is what a check of p reads: the changes booked (the
// Service's schedule index, or, when a command has altered another change
// than p, the changes on the keys p books whose windows meet a span, that
// one as altered); the enforced schedules; and the options. The caller
// calls release when done with x.
type scheduleView struct {
	x       *scheduleIndex
	w       *windowSet
	o       conflictOptions
	ciErr   error // a CI's scope could not be read (windowSet.ci)
	release func()
}

// view reads p's scheduleView over span in tx; with claims, it reads the
// claims of the keys p's check reads first.
func (s *Service) view(ctx context.Context, tx storage.Tx, p *planned, span slot, with checkWith) (*scheduleView, error) {
	fresh, claims := with.fresh, with.claims
	d := s.cfg.detection
	v := &scheduleView{w: &windowSet{}, o: conflictOptions{advanced: !d.Basic, touching: d.Touching}, release: func() {}}
	var cm *cmdb.Service
	if s.cfg.cmdb != nil {
		cm = s.cfg.cmdb.In(tx)
	}
	depth := d.RelationDepth
	if depth == 0 {
		depth = 1
	}
	related := map[itil.ID][]itil.ID{}
	var relErr error
	if cm != nil && depth > 0 {
		v.o.related = func(ci itil.ID) []itil.ID {
			if r, ok := related[ci]; ok {
				return r
			}
			r, err := relatedCIs(ctx, cm, ci, depth)
			if err != nil && relErr == nil {
				relErr = err
			}
			related[ci] = r
			return r
		}
	}

	cis := p.CIs
	if !v.o.advanced && len(cis) > 1 {
		cis = cis[:1]
	}
	// The keys the check reads, as index terms: for the claims, and to
	// find the candidates when the Service's index cannot serve as is.
	// The related CIs are read here either way, so that an error reading
	// them is returned before the check.
	bound := s.run.Bound()
	shared := !bound && (fresh == nil || fresh.ID == p.ID)
	needKeys := claims || !shared
	var keys []string
	forEachCI(cis, func(ci itil.ID) {
		if needKeys {
			keys = append(keys, storage.Term("ci", ci.String()))
		}
		if v.o.related != nil {
			rels := v.o.related(ci)
			if needKeys {
				forEachCI(rels, func(rel itil.ID) { keys = append(keys, storage.Term("ci", rel.String())) })
			}
		}
	})
	if relErr != nil {
		return nil, relErr
	}
	if needKeys {
		forEachCI(p.Services, func(svc itil.ID) { keys = append(keys, storage.Term("service", svc.String())) })
		if p.Assignee != "" {
			keys = append(keys, storage.Term("assignee", p.Assignee))
		}
	}
	// The claims first: a change arriving on a key, or a schedule put in
	// force, while this check runs makes its transaction conflict.
	if claims {
		if err := readClaims(ctx, tx, append(slices.Clone(keys), schedulesKey)); err != nil {
			return nil, err
		}
	}

	// The schedules in force, and what their scopes read of p's CIs and
	// related CIs (read now, from the CMDB: not under the index's lock).
	ws := with.windows
	var live *liveIndex
	var err error
	if bound {
		if ws == nil {
			if ws, err = storedWindows(ctx, tx); err != nil {
				return nil, err
			}
		}
	} else {
		if live, err = s.live(ctx, tx); err != nil {
			return nil, err
		}
		if ws == nil {
			live.mu.RLock()
			ws = live.ws // replaced, never changed: usable after the lock
			live.mu.RUnlock()
		}
	}
	v.w.schedules, v.w.scope = ws.schedules, ws.scope
	if cm != nil && len(ws.schedules) > 0 {
		infos := map[itil.ID]*scopedCI{}
		add := func(id itil.ID) {
			if _, ok := infos[id]; !ok && v.ciErr == nil {
				infos[id], v.ciErr = ciScope(ctx, cm, id)
			}
		}
		forEachCI(cis, func(ci itil.ID) {
			add(ci)
			if v.o.related != nil {
				forEachCI(v.o.related(ci), add)
			}
		})
		if v.ciErr != nil {
			return nil, v.ciErr
		}
		v.w.ci = func(id itil.ID) *scopedCI { return infos[id] } // nil: the ID alone
	}

	// The changes booked.
	if shared {
		// p's own stored bookings are in the index: the check skips them.
		live.mu.RLock()
		v.x, v.release = live.x, live.mu.RUnlock
		return v, nil
	}
	// In a caller's transaction (In), or when another change was altered
	// in this one, the candidates are copied: the altered change's stored
	// bookings give way to what the command left.
	v.x = newScheduleIndex()
	seen := map[itil.ID]bool{p.ID: true}
	if fresh != nil && fresh.ID != p.ID {
		seen[fresh.ID] = true
		if q := plannedOf(fresh); q != nil && q.Slot.overlaps(span, true) {
			v.x.put(q)
		}
	}
	err = s.bookedOn(ctx, tx, live, keys, []slot{span}, func(q *planned) {
		if !seen[q.ID] {
			seen[q.ID] = true
			v.x.put(q)
		}
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// relatedCIs returns the CIs within depth relationships of ci, either
// way, nearest first (ci itself not listed; a CI the CMDB does not hold
// has none).
func relatedCIs(ctx context.Context, cm *cmdb.Service, ci itil.ID, depth int) ([]itil.ID, error) {
	var out []itil.ID
	seen := map[itil.ID]bool{ci: true}
	level := []itil.ID{ci}
	for range depth {
		var next []itil.ID
		for _, id := range level {
			rels, err := cm.Relationships(ctx, id)
			if errors.Is(err, itil.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("relationships of %s: %w", id, err)
			}
			for _, r := range rels {
				for _, other := range []itil.ID{r.Parent, r.Child} {
					if !seen[other] {
						seen[other] = true
						next = append(next, other)
						out = append(out, other)
					}
				}
			}
		}
		level = next
	}
	return out, nil
}

// ciScope returns what a schedule's scope reads of the CI id: with the
// CMDB, its class and the classes above it, its criticality, attributes
// and the business services its failure affects; without it, or for a CI
// it does not hold, the ID alone.
func ciScope(ctx context.Context, cm *cmdb.Service, id itil.ID) (*scopedCI, error) {
	out := &scopedCI{ID: id}
	if cm == nil {
		return out, nil
	}
	ci, err := cm.Get(ctx, id)
	if errors.Is(err, itil.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ci %s: %w", id, err)
	}
	classes := cm.Classes()
	for class := ci.Class; class != ""; {
		out.Classes = append(out.Classes, class)
		cl, ok := classes.Get(class)
		if !ok {
			break
		}
		class = cl.Parent
	}
	out.Criticality, out.Attributes = ci.Criticality, ci.Attributes
	if ci.LocationID != itil.NilID {
		loc, err := cm.Get(ctx, ci.LocationID)
		if err != nil && !errors.Is(err, itil.ErrNotFound) {
			return nil, fmt.Errorf("location of %s: %w", id, err)
		}
		if loc != nil {
			out.Zone = loc.Attributes["time_zone"]
		}
	}
	found, err := businessServices(ctx, cm, id) // cmdb.go
	if err != nil {
		return nil, err
	}
	for _, a := range found {
		out.Services = append(out.Services, a.ServiceID)
	}
	return out, nil
}

// EventConflictsChanged is journaled on a change whose conflicts changed
// because another change did (its Refs name it).
const EventConflictsChanged = "change.conflicts_changed"

// booked is what a change books in the schedule: its conflicts change
// only when it does (or when another change or a schedule does).
type booked struct {
	active     bool
	start, end time.Time
	cis        string
	assignee   string
	services   string
}

func bookedOf(ch *Change) booked {
	b := booked{active: !ch.State.Final(), start: ch.PlannedStart, end: ch.PlannedEnd, assignee: ch.Assignee}
	for _, id := range changeCIs(ch) {
		b.cis += id.String()
	}
	for _, a := range ch.AffectedServices {
		b.services += a.ServiceID.String()
	}
	return b
}

// sameConflicts reports whether a and b list the same conflicts.
func sameConflicts(a, b []Conflict) bool {
	return slices.EqualFunc(a, b, func(x, y Conflict) bool {
		return x.Kind == y.Kind && x.ChangeID == y.ChangeID && x.Number == y.Number && x.CIID == y.CIID &&
			x.RelatedCIID == y.RelatedCIID && x.ServiceID == y.ServiceID && x.Assignee == y.Assignee &&
			x.ScheduleID == y.ScheduleID && x.ScheduleName == y.ScheduleName && x.Start.Equal(y.Start) && x.End.Equal(y.End)
	})
}

// runBooking runs a change command whose body may change what the change
// books (its planned window, CIs, assignee, services, or its end): when it
// did, the change's conflicts are computed again, and so are those of the
// other changes it conflicted with before or conflicts with now, in the
// same transaction: conflicts are kept current both ways without a
// rescan. A change in a state whose rules block its new conflicts is
// refused with a *ConflictError, and nothing is written.
func (s *Service) runBooking(ctx context.Context, actor itil.Actor, id itil.ID, command string,
	fn func(c *cmd, ch *Change) (event, error)) (*Change, error) {
	return s.run.Run(ctx, actor, id, command, func(c *cmd, ch *Change) (event, error) {
		was, wasKeys := bookedOf(ch), bookingKeys(ch)
		var wasSlot slot
		if p := plannedOf(ch); p != nil {
			wasSlot = p.Slot
		}
		ev, err := fn(c, ch)
		if err != nil || bookedOf(ch) == was {
			return ev, err
		}
		old := ch.Conflicts
		if err := s.rebook(c, ch, wasKeys, wasSlot); err != nil {
			return event{}, err
		}
		// A change stays clear of the conflicts that block the state it is
		// in: moving it into a new one is refused as entering the state
		// would be (those it had already, such as a freeze enforced over
		// it, do not stop other edits).
		var added []Conflict
		for _, b := range s.blocking(ch, ch.State, ch.Conflicts) {
			if !slices.ContainsFunc(old, func(o Conflict) bool { return sameConflict(o, b) }) {
				added = append(added, b)
			}
		}
		if len(added) > 0 {
			return event{}, &ConflictError{Number: ch.Number, State: ch.State, Conflicts: added}
		}
		return ev, nil
	})
}

// rebook computes ch's conflicts again in the command's transaction (ch
// as the command left it, not yet saved), and those of every change named
// in its old or new conflicts, saving each whose conflicts changed; it
// writes the claims of the keys ch booked before (was) and books now.
func (s *Service) rebook(c *cmd, ch *Change, was []string, wasSlot slot) error {
	keys := append(append(slices.Clone(was), bookingKeys(ch)...), weekKeys(wasSlot)...)
	if p := plannedOf(ch); p != nil {
		keys = append(keys, weekKeys(p.Slot)...)
		if err := raiseHorizon(c.Ctx, c.Tx, p.Slot.end); err != nil {
			return err
		}
	}
	if err := touchClaims(c.Ctx, c.Tx, keys); err != nil {
		return err
	}
	if err := putSlot(c.Ctx, c.Tx, ch); err != nil { // calendar.go
		return err
	}
	old := ch.Conflicts
	cs, err := s.conflictsWith(c.Ctx, c.Tx, ch, checkWith{claims: true})
	if err != nil {
		return err
	}
	ch.Conflicts = cs
	var others []itil.ID
	for _, list := range [][]Conflict{old, cs} {
		for _, cf := range list {
			if cf.ChangeID != itil.NilID && cf.ChangeID != ch.ID && !slices.Contains(others, cf.ChangeID) {
				others = append(others, cf.ChangeID)
			}
		}
	}
	if s.cfg.detection.Basic {
		// Basic mode is not symmetric: another change's primary CI may be
		// one of ch's other CIs, or a CI related to one, which ch's own
		// check does not read. So the active changes on every key ch
		// booked or books, and on the CIs related to its CIs, whose
		// windows meet its old or new one, are judged again too.
		var spans []slot
		if wasSlot != (slot{}) {
			spans = append(spans, wasSlot)
		}
		if p := plannedOf(ch); p != nil {
			spans = append(spans, p.Slot)
		}
		keys := append(slices.Clone(was), bookingKeys(ch)...)
		if depth := s.cfg.detection.RelationDepth; s.cfg.cmdb != nil && depth >= 0 {
			cm := s.cfg.cmdb.In(c.Tx)
			for _, k := range slices.Clone(keys) {
				id, err := itil.ParseID(strings.TrimPrefix(k, "ci="))
				if !strings.HasPrefix(k, "ci=") || err != nil {
					continue
				}
				rel, err := relatedCIs(c.Ctx, cm, id, max(depth, 1))
				if err != nil {
					return err
				}
				for _, r := range rel {
					keys = append(keys, storage.Term("ci", r.String()))
				}
			}
		}
		var live *liveIndex
		if !s.run.Bound() {
			var err error
			if live, err = s.live(c.Ctx, c.Tx); err != nil {
				return err
			}
		}
		err := s.bookedOn(c.Ctx, c.Tx, live, keys, spans, func(q *planned) {
			if q.ID != ch.ID && !slices.Contains(others, q.ID) {
				others = append(others, q.ID)
			}
		})
		if err != nil {
			return err
		}
	}
	for _, oid := range others {
		o, err := c.Load(oid)
		if err != nil {
			return fmt.Errorf("change %s: %w", oid, err)
		}
		ocs, err := s.conflictsWith(c.Ctx, c.Tx, o, checkWith{fresh: ch, claims: true})
		if err != nil {
			return err
		}
		if sameConflicts(o.Conflicts, ocs) {
			continue
		}
		o.Conflicts = ocs
		if err := c.Save(o, event{Type: EventConflictsChanged, Summary: "conflicts re-evaluated: " + ch.Number + " changed",
			Refs: []itil.ID{ch.ID}}); err != nil {
			return err
		}
	}
	return nil
}

// onScheduleJudged, when set (by a benchmark), hears how many changes a
// schedule command read and how many of them it judged again.
var onScheduleJudged func(read, judged int)

// scheduleChanged judges again, in the schedule command's transaction,
// the scheduled changes the schedule sc can affect: it is saved first, and
// the checks read the schedules as the command leaves them; then every
// change whose planned window meets its range (every active change for a
// maintenance schedule or weekly windows; for a blackout of dates alone,
// those dates, before or after the edit) and one of whose CIs its scope
// covers, before or after (prev: the spec before an edit), gets its
// conflicts computed again and saved when they changed, naming the
// schedule. Changes outside its range are not read; those in it are read
// to learn their CIs, and judged again only when the scope covers one.
func (s *Service) scheduleChanged(c *pipeline.Cmd[Schedule], sc *Schedule, ev event, prev *ScheduleSpec) error {
	if err := touchClaims(c.Ctx, c.Tx, []string{schedulesKey}); err != nil {
		return err
	}
	if err := c.Save(sc, ev); err != nil {
		return err
	}
	ws, err := s.windowsWith(c.Ctx, c.Tx, sc)
	if err != nil {
		return err
	}
	specs := []ScheduleSpec{sc.Spec}
	if prev != nil {
		specs = append(specs, *prev)
	}
	var compiled []*compiledSchedule
	from, to := time.Time{}, time.Time{}
	weekly, floating := false, false
	for _, sp := range specs {
		cs, err := compileSchedule(sp)
		if err != nil {
			// Stored valid, no longer compiles (a zone withdrawn): it
			// counts for nothing (compileSchedules), so it reaches no
			// change, and must not stop the schedule being fixed or
			// retired.
			continue
		}
		floating = floating || sp.Floating
		compiled = append(compiled, cs)
		// Outside a maintenance window is a conflict, so one reaches
		// every change on its CIs, whatever its dates: as weekly windows.
		if !weekless(sp.Windows.Week) || sp.Type == MaintenanceSchedule {
			weekly = true
		}
		for _, r := range cs.ranges {
			if from.IsZero() || r.Start.Before(from) {
				from = r.Start
			}
			to = maxTime(to, r.End)
		}
	}
	if weekly {
		from = calendar.Earliest // every active change
	} else if floating {
		// Ranges read in other zones start and end up to a day apart.
		from, to = from.Add(-26*time.Hour), to.Add(26*time.Hour)
	}
	q := storage.Query{Kind: kindSlot, Terms: []string{storage.Term("active", "true")}}
	span, err := slots.Get(c.Ctx, c.Tx, spanID)
	if err != nil && !errors.Is(err, itil.ErrNotFound) {
		return err
	}
	longest := time.Duration(0)
	if span != nil {
		longest = span.End.Sub(span.Start)
	}
	if !weekly {
		q.Min, q.Max = storage.TimeKey(from.Add(-longest)), storage.TimeKey(to)
		if err := readWeeks(c.Ctx, c.Tx, from.Add(-longest).UnixNano(), to.UnixNano()); err != nil {
			return err
		}
	} else if err := readWeeks(c.Ctx, c.Tx, c.Now.Add(-longest).UnixNano(), 0); err != nil {
		// Every active change is judged again; bookings from now on are
		// claimed by week (one into the past races only its own check).
		return err
	}
	var cm *cmdb.Service
	if s.cfg.cmdb != nil {
		cm = s.cfg.cmdb.In(c.Tx)
	}
	maintenance := slices.ContainsFunc(specs, func(sp ScheduleSpec) bool { return sp.Type == MaintenanceSchedule })
	depth := s.cfg.detection.RelationDepth
	if depth == 0 {
		depth = 1
	}
	cc := pipeline.Other(c, s.run)
	infos := map[itil.ID]*scopedCI{}
	read, judged := 0, 0
	if onScheduleJudged != nil {
		defer func() { onScheduleJudged(read, judged) }()
	}
	for sl, err := range slots.Query(c.Ctx, c.Tx, q) {
		if err != nil {
			return err
		}
		if sl.ID == spanID || !sl.End.After(from) {
			continue
		}
		read++
		ch, err := cc.Load(sl.ID)
		if err != nil {
			return fmt.Errorf("change %s: %w", sl.ID, err)
		}
		if ch.State.Final() {
			continue
		}
		// The CIs a schedule reaches the change through: its own, and for
		// maintenance windows the related CIs too (windowConflicts).
		reach := changeCIs(ch)
		if maintenance && cm != nil && depth > 0 {
			for _, id := range changeCIs(ch) {
				rel, err := relatedCIs(c.Ctx, cm, id, depth)
				if err != nil {
					return err
				}
				reach = append(reach, rel...)
			}
		}
		covered := false
		for _, id := range reach {
			info, ok := infos[id]
			if !ok {
				if info, err = ciScope(c.Ctx, cm, id); err != nil {
					return err
				}
				infos[id] = info
			}
			for _, cs := range compiled {
				covered = covered || cs.covers(info)
			}
		}
		if !covered {
			continue
		}
		judged++
		cfs, err := s.conflictsWith(c.Ctx, c.Tx, ch, checkWith{windows: ws, claims: true})
		if err != nil {
			return err
		}
		if sameConflicts(ch.Conflicts, cfs) {
			continue
		}
		ch.Conflicts = cfs
		if err := cc.Save(ch, event{Type: EventConflictsChanged, Summary: "conflicts re-evaluated: schedule " + sc.label() + " changed",
			Refs: []itil.ID{sc.ID}}); err != nil {
			return err
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
