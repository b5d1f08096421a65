package soak

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// journaled are the record kinds whose every write is journaled: one
// event per write, at the version written.
var journaled = []string{incident.Kind, itil.KindNote, slm.KindSubject, slm.KindDefinition,
	cmdb.KindCI, cmdb.KindRelationship, cmdb.KindBaseline}

func readJournal(ctx context.Context, s storage.Store) ([]itil.Event, error) {
	var out []itil.Event
	err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = out[:0]
		for ev, err := range tx.Journal(ctx, storage.JournalQuery{}) {
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}

func readRecords(ctx context.Context, s storage.Store, kind string) ([]storage.Record, error) {
	var out []storage.Record
	err := s.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		out = out[:0]
		for rec, err := range tx.Query(ctx, storage.Query{Kind: kind}) {
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

type subjectKey struct {
	kind string
	id   itil.ID
}

// check verifies the store against what the commands acknowledged and
// returns the run's figures.
func (r *run) check(ctx context.Context) *stats {
	st := &stats{acked: map[string]int{}, conflicts: map[string]int{}, refusals: map[string]int{},
		deliveries: r.deliveries.Load(), fired: r.fired, rounds: r.rounds, pollConfl: r.pollConfl.Load(), stale: r.stale.Load(),
		takeovers: r.takeovers.Load()}
	b := r.backend
	evs, err := readJournal(ctx, r.inst[0].store)
	if err != nil {
		r.fail("%s: read the journal: %v", b, err)
		return st
	}
	st.events = len(evs)

	// Both instances read the same history; Seqs strictly increase.
	other, err := readJournal(ctx, r.inst[1].store)
	if err != nil {
		r.fail("%s: read the journal on the second instance: %v", b, err)
	} else if !slices.EqualFunc(evs, other, func(a, b itil.Event) bool { return a.Seq == b.Seq && a.SubjectID == b.SubjectID }) {
		r.fail("%s: the two instances read different journals (%d and %d events)", b, len(evs), len(other))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			r.fail("%s: journal Seq %d follows %d", b, evs[i].Seq, evs[i-1].Seq)
		}
	}

	r.checkConsumer(ctx, st, evs)
	r.checkCommands(st, evs)
	r.checkVersions(ctx, evs)
	r.checkHooks(evs)
	r.checkThresholds(evs)
	r.checkEntities(ctx, evs)
	return st
}

// checkConsumer: the consumer's effects are exactly the journal's events,
// each once.
func (r *run) checkConsumer(ctx context.Context, st *stats, evs []itil.Event) {
	b := r.backend
	seen, err := readRecords(ctx, r.inst[0].store, seenKind)
	if err != nil {
		r.fail("%s: read the consumer's records: %v", b, err)
		return
	}
	st.effects = len(seen)
	handled := make(map[int64]bool, len(seen))
	for _, rec := range seen {
		seq, err := strconv.ParseInt(rec.Data, 10, 64)
		if err != nil || rec.ID != seenID(seq) || rec.Version != 1 {
			r.fail("%s: consumer record %s v%d %q is not one event's", b, rec.ID, rec.Version, rec.Data)
			continue
		}
		handled[seq] = true
	}
	missing := 0
	for _, ev := range evs {
		if !handled[ev.Seq] {
			if missing++; missing <= 5 {
				r.fail("%s: the consumer never handled event %d (%s %s)", b, ev.Seq, ev.Kind, ev.Type)
			}
		}
		delete(handled, ev.Seq)
	}
	for seq := range handled {
		r.fail("%s: the consumer handled event %d, which the journal does not hold", b, seq)
	}
	if st.deliveries < int64(len(evs)) {
		r.fail("%s: %d deliveries for %d events", b, st.deliveries, len(evs))
	}
}

// checkCommands: every acknowledged command's events are in the journal
// exactly once; a command that was not acknowledged wrote nothing; every
// event belongs to a command.
func (r *run) checkCommands(st *stats, evs []itil.Event) {
	b := r.backend
	byActor := map[string][]*itil.Event{}
	at := map[subjectKey]map[int64]int{} // events per record and version
	for i := range evs {
		ev := &evs[i]
		byActor[ev.Actor.ID] = append(byActor[ev.Actor.ID], ev)
		k := subjectKey{ev.Kind, ev.SubjectID}
		if at[k] == nil {
			at[k] = map[int64]int{}
		}
		at[k][ev.SubjectVersion]++
	}
	for _, o := range r.ops {
		mine := byActor[o.actor]
		delete(byActor, o.actor)
		switch o.outcome {
		case conflict:
			st.conflicts[o.name]++
		case refused:
			st.refusals[o.name]++
		default:
			st.acked[o.name]++
		}
		if o.outcome != acked {
			for _, ev := range mine {
				r.fail("%s: %s by %s was not acknowledged but journaled %s %s v%d (%s)", b, o.name, o.actor,
					ev.Kind, ev.SubjectID, ev.SubjectVersion, ev.Type)
			}
			continue
		}
		used := make([]bool, len(mine))
		for _, e := range o.expect {
			n := 0
			for i, ev := range mine {
				if ev.Kind != e.kind || ev.SubjectID != e.id || (e.version != 0 && ev.SubjectVersion != e.version) {
					continue
				}
				n++
				used[i] = true
				if !slices.Contains(e.types, ev.Type) {
					r.fail("%s: %s by %s journaled %s %s v%d as %s, not %v", b, o.name, o.actor, ev.Kind, ev.SubjectID,
						ev.SubjectVersion, ev.Type, e.types)
				}
			}
			switch {
			case n == 1:
			case n == 0 && e.mayNoop:
				if e.version != 0 && at[subjectKey{e.kind, e.id}][e.version] == 0 {
					r.fail("%s: %s by %s returned %s %s v%d, which the journal does not hold", b, o.name, o.actor, e.kind, e.id, e.version)
				}
				if e.version != 0 {
					st.noops++
				}
			case n == 0:
				r.fail("%s: %s by %s was acknowledged (%s %s v%d) but not journaled", b, o.name, o.actor, e.kind, e.id, e.version)
			default:
				r.fail("%s: %s by %s journaled %s %s v%d %d times", b, o.name, o.actor, e.kind, e.id, e.version, n)
			}
		}
		for i, ev := range mine {
			if used[i] {
				continue
			}
			switch {
			case !slices.Contains(o.others, ev.Kind):
				r.fail("%s: %s by %s journaled an unexpected %s %s v%d (%s)", b, o.name, o.actor, ev.Kind, ev.SubjectID, ev.SubjectVersion, ev.Type)
			case o.name == "cmdb.import" && ev.Kind == cmdb.KindCI:
				// An import's CI events are exactly those of its created
				// and updated records.
				r.fail("%s: import by %s journaled %s %s v%d (%s), which its results do not account for", b, o.actor,
					ev.Kind, ev.SubjectID, ev.SubjectVersion, ev.Type)
			case o.name == "cmdb.import" && ev.Kind == cmdb.KindRelationship && !refersToAny(ev, o.expect):
				r.fail("%s: import by %s related CIs none of its records created or updated", b, o.actor)
			}
		}
	}
	for actor, rest := range byActor {
		for _, ev := range rest {
			switch {
			case actor == setup.ID && ev.Kind == slm.KindDefinition:
			case actor == itil.System.ID && ev.Kind == slm.KindSubject && (ev.Type == slm.EventWarning || ev.Type == slm.EventBreached):
			default:
				r.fail("%s: event %d (%s %s v%d %s) by %q belongs to no command", b, ev.Seq, ev.Kind, ev.SubjectID, ev.SubjectVersion, ev.Type, actor)
			}
		}
	}
}

func refersToAny(ev *itil.Event, es []expect) bool {
	for _, e := range es {
		if slices.Contains(ev.Refs, e.id) {
			return true
		}
	}
	return false
}

func deleted(ev *itil.Event) bool {
	if ev.Kind == slm.KindSubject {
		return false
	}
	var p itil.Payload
	return json.Unmarshal(ev.Payload, &p) == nil && p.Deleted
}

// checkVersions: each record's events number its versions 1, 2, ... in
// Seq order (a record deleted and created again, such as a relationship
// under its derived ID, starts again at 1), and the stored version is the
// number of events since its creation; no stored record lacks them.
func (r *run) checkVersions(ctx context.Context, evs []itil.Event) {
	b := r.backend
	type life struct {
		last    int64
		deleted bool
	}
	lives := map[subjectKey]*life{}
	for i := range evs {
		ev := &evs[i]
		k := subjectKey{ev.Kind, ev.SubjectID}
		l := lives[k]
		if l == nil {
			l = &life{deleted: true}
			lives[k] = l
		}
		want := l.last + 1
		if l.deleted {
			want = 1
		}
		if ev.SubjectVersion != want {
			r.fail("%s: event %d: %s %s is journaled at version %d, after version %d", b, ev.Seq, ev.Kind, ev.SubjectID, ev.SubjectVersion, l.last)
		}
		l.last, l.deleted = ev.SubjectVersion, deleted(ev)
	}
	for _, kind := range journaled {
		recs, err := readRecords(ctx, r.inst[0].store, kind)
		if err != nil {
			r.fail("%s: read %s records: %v", b, kind, err)
			continue
		}
		stored := map[itil.ID]bool{}
		for _, rec := range recs {
			stored[rec.ID] = true
			l := lives[subjectKey{kind, rec.ID}]
			switch {
			case l == nil:
				r.fail("%s: %s %s v%d is stored without any event", b, kind, rec.ID, rec.Version)
			case l.deleted:
				r.fail("%s: %s %s v%d is stored, but its last event deleted it", b, kind, rec.ID, rec.Version)
			case l.last != rec.Version:
				r.fail("%s: %s %s is stored at version %d, its events end at version %d", b, kind, rec.ID, rec.Version, l.last)
			}
		}
		for k, l := range lives {
			if k.kind == kind && !l.deleted && !stored[k.id] {
				r.fail("%s: %s %s has events up to version %d but is not stored", b, kind, k.id, l.last)
			}
		}
	}
}

// checkHooks: every write of an incident handed its snapshot to the SLA
// engine in the same transaction: an EventObserved of the same command
// with the incident's version.
func (r *run) checkHooks(evs []itil.Event) {
	type key struct {
		actor   string
		id      itil.ID
		version int64
	}
	observed := map[key]int{}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != slm.KindSubject || ev.Type != slm.EventObserved {
			continue
		}
		var o slm.Observation
		if err := json.Unmarshal(ev.Payload, &o); err != nil {
			r.fail("%s: event %d: observation: %v", r.backend, ev.Seq, err)
			continue
		}
		observed[key{ev.Actor.ID, o.Snapshot.ID, o.Snapshot.Version}]++
	}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != incident.Kind {
			continue
		}
		if n := observed[key{ev.Actor.ID, ev.SubjectID, ev.SubjectVersion}]; n != 1 {
			r.fail("%s: incident %s v%d (%s by %s) was observed by the SLA engine %d times", r.backend,
				ev.SubjectID, ev.SubjectVersion, ev.Type, ev.Actor.ID, n)
		}
	}
}

// checkThresholds: the monitor recorded each threshold of each timer cycle
// once, and the journal holds exactly those Fire reported.
func (r *run) checkThresholds(evs []itil.Event) {
	type key struct {
		timer   itil.ID
		cycle   int
		percent int
	}
	seen := map[key]bool{}
	n := 0
	for i := range evs {
		ev := &evs[i]
		if ev.Type != slm.EventWarning && ev.Type != slm.EventBreached {
			continue
		}
		var p slm.Thresholds
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			r.fail("%s: event %d: thresholds: %v", r.backend, ev.Seq, err)
			continue
		}
		for _, th := range p.Reached {
			k := key{th.Timer, th.Cycle, th.Percent}
			if seen[k] {
				r.fail("%s: event %d: threshold %d%% of %s cycle %d recorded twice", r.backend, ev.Seq, th.Percent, th.Timer, th.Cycle)
			}
			seen[k] = true
			n++
		}
	}
	if n != r.fired {
		r.fail("%s: the journal records %d thresholds, the monitor rounds reported %d", r.backend, n, r.fired)
	}
}

// checkEntities: the invariants of the entities themselves.
func (r *run) checkEntities(ctx context.Context, evs []itil.Event) {
	b := r.backend
	in := r.inst[1]

	// An incident's child count is its children.
	children := map[itil.ID]int{}
	var incs []*incident.Incident
	for inc, err := range in.inc.List(ctx, incident.Filter{}) {
		if err != nil {
			r.fail("%s: list incidents: %v", b, err)
			return
		}
		incs = append(incs, inc)
		if inc.ParentID != itil.NilID {
			children[inc.ParentID]++
		}
	}
	for _, inc := range incs {
		if inc.ChildCount != children[inc.ID] {
			r.fail("%s: incident %s counts %d children, %d name it their parent", b, inc.Number, inc.ChildCount, children[inc.ID])
		}
	}

	// One CI per serial number; no relationship dangles.
	bySerial := map[string][]string{}
	cis := map[itil.ID]bool{}
	for ci, err := range in.cmdb.List(ctx, cmdb.Filter{}) {
		if err != nil {
			r.fail("%s: list CIs: %v", b, err)
			return
		}
		cis[ci.ID] = true
		if sn := ci.Attributes["serial_number"]; sn != "" {
			bySerial[sn] = append(bySerial[sn], ci.Name+" "+ci.ID.String())
		}
	}
	for sn, names := range bySerial {
		if len(names) > 1 {
			r.fail("%s: serial number %s is held by %d CIs: %v", b, sn, len(names), names)
		}
	}
	rels, err := readRecords(ctx, in.store, cmdb.KindRelationship)
	if err != nil {
		r.fail("%s: read relationships: %v", b, err)
		return
	}
	for _, rec := range rels {
		var rel cmdb.Relationship
		if err := json.Unmarshal([]byte(rec.Data), &rel); err != nil {
			r.fail("%s: relationship %s: %v", b, rec.ID, err)
			continue
		}
		if !cis[rel.Parent] || !cis[rel.Child] {
			r.fail("%s: relationship %s (%s) dangles", b, rel.ID, rel.Type)
		}
	}
}
