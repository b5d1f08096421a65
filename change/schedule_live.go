package change

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// liveIndex is the Service's in-memory schedule: every change in an
// active state with its booking facts, and a scheduleIndex of those with a
// planned window. Conflict checks and the free-slot search find their
// candidates in it instead of querying the store per key and state.
//
// It is built once from storage (on first use) and then follows the
// journal, like the CMDB's impact index: before each use it reads the
// change events committed after its position, as the caller's transaction
// sees them, and applies their field values. The journal returns committed
// events only, so a transaction's own writes never reach it; the one
// change a booking command alters in its transaction is read from the
// command (view's fresh). It may be ahead of a transaction's snapshot (the
// events another check read); a change that moved onto or off a key since
// then wrote that key's claim, which the check reads, so the transaction
// conflicts and runs again.
type liveIndex struct {
	mu   sync.RWMutex
	pos  atomic.Int64
	recs map[itil.ID]*liveRec // changes in an active state
	x    *scheduleIndex       // those of recs with a planned window

	// The schedules not retired, and those enforced compiled, with the
	// index of their scopes (ws, rebuilt when one changes; its ci is
	// set per check).
	scheds map[itil.ID]*liveSched
	ws     *windowSet
}

// liveSched is what the index keeps of a schedule.
type liveSched struct {
	State ScheduleState `json:"state"`
	Spec  ScheduleSpec  `json:"spec"`
}

// liveRec is what the index keeps of one change: the fields that decide
// what it books.
type liveRec struct {
	Number           string            `json:"number"`
	State            State             `json:"state"`
	Assignee         string            `json:"assignee"`
	CIID             itil.ID           `json:"ci_id"`
	CIIDs            []itil.ID         `json:"ci_ids"`
	AffectedServices []AffectedService `json:"affected_services"`
	PlannedStart     time.Time         `json:"planned_start"`
	PlannedEnd       time.Time         `json:"planned_end"`
}

// planned returns what r books, nil when nothing (see plannedOf).
func (r *liveRec) planned(id itil.ID) *planned {
	return plannedOf(&Change{ID: id, Number: r.Number, State: r.State, Assignee: r.Assignee, CIID: r.CIID, CIIDs: r.CIIDs,
		AffectedServices: r.AffectedServices, PlannedStart: r.PlannedStart, PlannedEnd: r.PlannedEnd})
}

// live returns the Service's schedule, built on first use and caught up
// with the journal as tx sees it.
func (s *Service) live(ctx context.Context, tx storage.Tx) (*liveIndex, error) {
	return s.cfg.live.Get(ctx, tx, func(head int64) (*liveIndex, error) { return s.buildLive(ctx, tx, head) },
		func(ix *liveIndex, head int64) error { return ix.catchUp(ctx, tx, head) })
}

// buildLive replays the change events of the journal. The index is not
// built from the records: a transaction reads its own writes, and a
// record it wrote and then rolled back would stay in the index.
func (s *Service) buildLive(ctx context.Context, tx storage.Tx, head int64) (*liveIndex, error) {
	ix := &liveIndex{recs: map[itil.ID]*liveRec{}, x: newScheduleIndex(), scheds: map[itil.ID]*liveSched{}, ws: &windowSet{}}
	if err := ix.readSince(ctx, tx, 0, head, true); err != nil {
		return nil, err
	}
	return ix, nil
}

// changeKinds selects the events catch-up reads.
var changeKinds = []string{Kind, KindSchedule}

// catchUp applies the change events committed after the index's position,
// up to at least last (the head tx saw). When nothing was committed since,
// it costs nothing.
func (ix *liveIndex) catchUp(ctx context.Context, tx storage.Tx, last int64) error {
	return ix.readSince(ctx, tx, ix.pos.Load(), last, false)
}

// readSince applies the change events after from, as tx sees them (up to
// at least last); bulk books the scheduled changes once at the end (the
// build).
func (ix *liveIndex) readSince(ctx context.Context, tx storage.Tx, from, last int64, bulk bool) error {
	if last <= from {
		return nil
	}
	// The build applies the events as it reads them (the index is not
	// shared yet): memory does not grow with the journal. A catch-up
	// reads first and applies under the lock, briefly.
	var evs []itil.Event
	scheds := false
	apply := func(ev *itil.Event) error {
		if ev.Kind == KindSchedule {
			scheds = true
			return ix.applySchedule(ev)
		}
		return ix.apply(ev, !bulk)
	}
	for ev, err := range tx.Journal(ctx, storage.JournalQuery{After: from, Kinds: changeKinds}) {
		if err != nil {
			return err
		}
		last = max(last, ev.Seq)
		switch {
		case ev.Type == EventConflictsChanged:
			// Saves the conflicts alone: nothing the index keeps.
		case bulk:
			if err := apply(&ev); err != nil {
				return err
			}
		default:
			evs = append(evs, ev)
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	at := ix.pos.Load()
	for i := range evs {
		if evs[i].Seq > at {
			if err := apply(&evs[i]); err != nil {
				return err
			}
		}
	}
	if scheds {
		ix.compileSchedules()
	}
	if bulk {
		ps := make([]*planned, 0, len(ix.recs))
		for id, r := range ix.recs {
			if p := r.planned(id); p != nil {
				ps = append(ps, p)
			}
		}
		ix.x.load(ps)
	}
	if last > at {
		ix.pos.Store(last)
	}
	return nil
}

// apply changes the index by one change event (pipeline.Apply: the change
// as created, or the new values of the fields it changed). A change that
// reaches a final state leaves the index; one the index does not hold was
// final already. book says whether to book the change in x too. The
// caller holds mu.
func (ix *liveIndex) apply(ev *itil.Event, book bool) error {
	id := ev.SubjectID
	r, changed, err := pipeline.ApplyEvent(ix.recs[id], ev)
	if err != nil || !changed {
		return err
	}
	if book {
		ix.x.remove(id)
	}
	if r == nil || r.State.Final() {
		delete(ix.recs, id)
		return nil
	}
	ix.recs[id] = r
	if p := r.planned(id); book && p != nil {
		ix.x.put(p)
	}
	return nil
}

// applySchedule changes the index by one schedule event, as apply does
// for a change. The caller holds mu.
func (ix *liveIndex) applySchedule(ev *itil.Event) error {
	id := ev.SubjectID
	r, changed, err := pipeline.ApplyEvent(ix.scheds[id], ev)
	if err != nil || !changed {
		return err
	}
	if r == nil || r.State == ScheduleRetired {
		delete(ix.scheds, id)
		return nil
	}
	ix.scheds[id] = r
	return nil
}

// compileSchedules compiles the enforced schedules into a new ws. A schedule that no longer compiles (a zone withdrawn since it
// was stored) cannot count, and must not stop every change: it is left
// out. The caller holds mu for writing.
func (ix *liveIndex) compileSchedules() {
	var list []scheduleRef
	for id, r := range ix.scheds {
		if r.State != ScheduleEnforced {
			continue
		}
		c, err := compileSchedule(r.Spec)
		if err != nil {
			continue
		}
		list = append(list, scheduleRef{id, c})
	}
	ix.ws = windowsOf(list)
}

// around calls fn with each change booked on the key (an index term of a
// CI, a service or an assignee) whose window meets span, touching ends
// included. The caller holds mu for reading.
func (ix *liveIndex) around(key string, span slot, fn func(*planned)) {
	field, value, _ := strings.Cut(key, "=")
	var b *bookings
	switch field {
	case "ci", "service":
		id, err := itil.ParseID(value)
		if err != nil {
			return
		}
		if field == "ci" {
			b = ix.x.byCI[id]
		} else {
			b = ix.x.byService[id]
		}
	case "assignee":
		b = ix.x.byAssignee[value]
	}
	for _, bk := range b.around(span, true) {
		if bk.overlaps(span, true) {
			fn(ix.x.changes[bk.change])
		}
	}
}

// windowsWith returns the schedules in force as a schedule command leaves
// them: the index's, with sc as the command altered it (its transaction's
// write, which the index does not see before it commits).
func (s *Service) windowsWith(ctx context.Context, tx storage.Tx, sc *Schedule) (*windowSet, error) {
	if s.run.Bound() {
		return storedWindows(ctx, tx) // sc is saved in tx already
	}
	live, err := s.live(ctx, tx)
	if err != nil {
		return nil, err
	}
	live.mu.RLock()
	base := live.ws
	live.mu.RUnlock()
	var list []scheduleRef
	for _, r := range base.schedules {
		if r.ID != sc.ID {
			list = append(list, r)
		}
	}
	if sc.State == ScheduleEnforced {
		if c, err := compileSchedule(sc.Spec); err == nil {
			list = append(list, scheduleRef{sc.ID, c})
		}
	}
	return windowsOf(list), nil
}

// bookedOn calls fn with each change booked on one of the keys (index
// terms of CIs, services, an assignee) whose window meets one of the
// spans, each once per key and span: from the Service's index (live), or,
// in a caller's transaction (In), from the store, which holds what the
// transaction's earlier commands wrote and the index does not.
func (s *Service) bookedOn(ctx context.Context, tx storage.Tx, live *liveIndex, keys []string, spans []slot, fn func(*planned)) error {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if live != nil && !s.run.Bound() {
		live.mu.RLock()
		defer live.mu.RUnlock()
		for _, k := range keys {
			for _, sp := range spans {
				live.around(k, sp, fn)
			}
		}
		return nil
	}
	states := s.activeStates()
	for _, k := range keys {
		for _, st := range states {
			for other, err := range changes.Query(ctx, tx, storage.Query{Kind: Kind, Terms: []string{k, storage.Term("state", string(st))}}) {
				if err != nil {
					return err
				}
				if q := plannedOf(other); q != nil && slices.ContainsFunc(spans, func(sp slot) bool { return q.Slot.overlaps(sp, true) }) {
					fn(q)
				}
			}
		}
	}
	return nil
}

// activeStates are the states of the Service's models but closed and
// canceled, in a stable order.
func (s *Service) activeStates() []State {
	var out []State
	for _, name := range s.Models() {
		for _, st := range s.cfg.models[name].machine.States() {
			if !st.Final() && !slices.Contains(out, st) {
				out = append(out, st)
			}
		}
	}
	return out
}

// storedWindows reads the schedules in force from the store, as tx sees
// them: a caller's transaction (In) may have enforced, moved or retired
// one the index does not see yet. A schedule that no longer compiles is
// left out, as compileSchedules leaves it.
func storedWindows(ctx context.Context, tx storage.Tx) (*windowSet, error) {
	var list []scheduleRef
	for sc, err := range schedules.Query(ctx, tx, storage.Query{Kind: KindSchedule,
		Terms: []string{storage.Term("state", string(ScheduleEnforced))}}) {
		if err != nil {
			return nil, err
		}
		if c, err := compileSchedule(sc.Spec); err == nil {
			list = append(list, scheduleRef{sc.ID, c})
		}
	}
	return windowsOf(list), nil
}

// windowsOf is the windowSet of the schedules in force, in ID order (a
// stable order, whichever builds it), with the index of their scopes.
func windowsOf(list []scheduleRef) *windowSet {
	slices.SortFunc(list, func(a, b scheduleRef) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return &windowSet{schedules: list, scope: newScopeIndex(list)}
}
