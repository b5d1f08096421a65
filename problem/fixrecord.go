package problem

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// Fix records name the records that carry a problem's fix: changes, as a
// rule (kind "change"), or any other kind of record, by ID. Change
// management marks a record complete or canceled when its change closes
// (CompleteFixRecord, CancelFixRecord; through the journal feed, since
// change is above problem in the package map and must not be imported).
//
// The fix is ready to resolve when the problem lists at least one fix
// record, none of them is still open, and at least one is complete: a
// problem whose every record was canceled has no fix delivered, so it is
// not ready (add another record, or take another path: Reanalyze,
// AcceptRisk). The command that makes the fix ready (the completion or
// cancellation of the last open record) journals the problem's event with
// type EventFixReady instead of EventFixRecordCompleted or
// EventFixRecordCanceled; its fields show the record that changed, as
// always. Since every command writes the problem at the version it loaded,
// two instances completing the last two records at once conflict, one of
// them runs again on the fresh problem, and the fix is reported ready
// exactly once.

// MaxFixRecords is the most fix records a problem may list.
const MaxFixRecords = 50

// Command names of the fix record commands, as an Authorizer receives
// them.
const (
	CommandAddFixRecord      = "add_fix_record"
	CommandCompleteFixRecord = "complete_fix_record"
	CommandCancelFixRecord   = "cancel_fix_record"
)

// Journal event types of the fix record commands (events of Kind
// "problem", like the others).
const (
	EventFixRecordAdded     = "problem.fix_record_added"
	EventFixRecordCompleted = "problem.fix_record_completed"
	EventFixRecordCanceled  = "problem.fix_record_canceled"
	// EventFixReady replaces EventFixRecordCompleted or
	// EventFixRecordCanceled on the command that makes the fix ready to
	// resolve (see Problem.FixReady) while the problem is open (a
	// Resolved one has nothing left to resolve), and the survivor's
	// EventDuplicateLinked when MarkDuplicate's moved records do.
	EventFixReady = "problem.fix_ready"
)

// FixReady reports whether the problem's fix is ready to resolve: it lists
// at least one fix record, none is open, and at least one is complete.
func (p *Problem) FixReady() bool {
	complete := false
	for _, r := range p.FixRecords {
		switch r.State {
		case FixOpen:
			return false
		case FixComplete:
			complete = true
		}
	}
	return complete
}

// checkFixRef checks the kind and ID naming a fix record.
func checkFixRef(v *itil.ValidationError, kind string, id itil.ID) {
	check.Text(v, "kind", kind, true, check.Short)
	check.Bytes(v, "kind", kind, storage.MaxName)
	if id == itil.NilID {
		v.Add("id", "must not be the nil ID")
	}
}

// fixRecordIndex returns the index of the record (kind, id) in p, or -1.
func fixRecordIndex(p *Problem, kind string, id itil.ID) int {
	return slices.IndexFunc(p.FixRecords, func(r FixRecord) bool { return r.Kind == kind && r.ID == id })
}

// AddFixRecord lists the record of the given kind (such as "change") and
// ID as carrying (part of) the fix of an open problem (New to Fix in
// Progress), in state FixOpen. A blank, oversized or invalid kind, the nil
// ID, a record the problem lists already (in any state) and more than
// MaxFixRecords records give a *itil.ValidationError naming "kind", "id"
// or "fix_records"; a problem that is no longer open gives an error
// wrapping itil.ErrInvalidTransition.
func (s *Service) AddFixRecord(ctx context.Context, actor itil.Actor, problemID itil.ID, kind string, id itil.ID) (*Problem, error) {
	var v itil.ValidationError
	checkFixRef(&v, kind, id)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.run.Run(ctx, actor, problemID, CommandAddFixRecord, func(c *cmd, p *Problem) (event, error) {
		if !p.State.Open() {
			return event{}, fmt.Errorf("%w: cannot add a fix record to problem %s while it is %s", itil.ErrInvalidTransition, p.Number, p.State)
		}
		if id == p.ID {
			return event{}, itil.Invalid("id", "a problem cannot be its own fix record")
		}
		if i := fixRecordIndex(p, kind, id); i >= 0 {
			return event{}, itil.Invalid("id", fmt.Sprintf("%s %s is already a fix record of %s (%s)", kind, id, p.Number, p.FixRecords[i].State))
		}
		if len(p.FixRecords) >= MaxFixRecords {
			return event{}, itil.Invalid("fix_records", "a problem lists at most "+strconv.Itoa(MaxFixRecords)+" fix records")
		}
		p.FixRecords = append(p.FixRecords, FixRecord{Kind: kind, ID: id, State: FixOpen})
		return event{Type: EventFixRecordAdded, Summary: "fix record " + kind + " " + id.String() + " added", Refs: []itil.ID{id}}, nil
	})
}

// CompleteFixRecord marks the open fix record (kind, id) of a problem
// complete: change management calls it when the change carrying the fix
// closes successfully. When that makes the fix ready (see
// Problem.FixReady), the event journaled is EventFixReady.
//
// A bad kind or the nil ID give a *itil.ValidationError; a record the
// problem does not list gives an error wrapping itil.ErrNotFound that
// names it; a record that is not open, or a problem that is Closed or
// Canceled, gives an error wrapping itil.ErrInvalidTransition.
func (s *Service) CompleteFixRecord(ctx context.Context, actor itil.Actor, problemID itil.ID, kind string, id itil.ID) (*Problem, error) {
	return s.endFixRecord(ctx, actor, problemID, kind, id, CommandCompleteFixRecord, FixComplete)
}

// CancelFixRecord marks the open fix record (kind, id) of a problem
// canceled: the change will not carry the fix (it was rejected or
// failed). Canceling the last open record makes the fix ready when another
// record is complete; the event journaled is then EventFixReady. Errors
// are those of CompleteFixRecord.
func (s *Service) CancelFixRecord(ctx context.Context, actor itil.Actor, problemID itil.ID, kind string, id itil.ID) (*Problem, error) {
	return s.endFixRecord(ctx, actor, problemID, kind, id, CommandCancelFixRecord, FixCanceled)
}

func (s *Service) endFixRecord(ctx context.Context, actor itil.Actor, problemID itil.ID, kind string, id itil.ID, command string, to FixState) (*Problem, error) {
	var v itil.ValidationError
	checkFixRef(&v, kind, id)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.run.Run(ctx, actor, problemID, command, func(c *cmd, p *Problem) (event, error) {
		if p.State.Final() {
			return event{}, fmt.Errorf("%w: cannot change a fix record of problem %s while it is %s", itil.ErrInvalidTransition, p.Number, p.State)
		}
		i := fixRecordIndex(p, kind, id)
		if i < 0 {
			return event{}, fmt.Errorf("id: %s %s is not a fix record of problem %s: %w", kind, id, p.Number, itil.ErrNotFound)
		}
		if st := p.FixRecords[i].State; st != FixOpen {
			return event{}, fmt.Errorf("%w: fix record %s %s of problem %s is already %s", itil.ErrInvalidTransition, kind, id, p.Number, st)
		}
		p.FixRecords[i].State = to
		typ, summary := EventFixRecordCompleted, "fix record "+kind+" "+id.String()+" complete"
		if to == FixCanceled {
			typ, summary = EventFixRecordCanceled, "fix record "+kind+" "+id.String()+" canceled"
		}
		if p.State.Open() && p.FixReady() { // a Resolved problem has nothing left to resolve
			typ, summary = EventFixReady, summary+"; the fix is ready to resolve"
		}
		return event{Type: typ, Summary: summary, Refs: []itil.ID{id}}, nil
	})
}

// fixRecordTerm is the index term of a fix record: "fix_record=kind:id"
// (the ID, of fixed length, ends it, so any kind reads back unambiguously).
func fixRecordTerm(kind string, id itil.ID) string {
	return storage.Term("fix_record", kind+":"+id.String())
}

// ByFixRecord returns the problems that list the fix record (kind, id), in
// any state of the record and of the problem, ordered by opening time:
// change management asks it which problems to tell when a change closes.
// A bad kind or the nil ID is yielded as a *itil.ValidationError.
func (s *Service) ByFixRecord(ctx context.Context, kind string, id itil.ID) iter.Seq2[*Problem, error] {
	var v itil.ValidationError
	checkFixRef(&v, kind, id)
	return s.run.ListQuery(ctx, pipeline.Query[Problem]{Terms: []string{fixRecordTerm(kind, id)}}, v.Err())
}

// moveFixRecords is MarkDuplicate's move of the duplicate's fix records to
// the survivor, each in its state, except those the survivor lists
// already (its own state stands); the duplicate keeps none. It reports
// whether the move made the survivor's fix ready (see Problem.FixReady)
// while the survivor is open. More than MaxFixRecords on the survivor
// gives a *itil.ValidationError naming "fix_records".
func moveFixRecords(dup, survivor *Problem) (bool, error) {
	if len(dup.FixRecords) == 0 {
		return false, nil
	}
	wasReady := survivor.FixReady()
	for _, r := range dup.FixRecords {
		if fixRecordIndex(survivor, r.Kind, r.ID) < 0 {
			survivor.FixRecords = append(survivor.FixRecords, r)
		}
	}
	dup.FixRecords = nil
	if len(survivor.FixRecords) > MaxFixRecords {
		return false, itil.Invalid("fix_records", fmt.Sprintf("%s would list more than %d fix records with those of %s",
			survivor.Number, MaxFixRecords, dup.Number))
	}
	return survivor.State.Open() && !wasReady && survivor.FixReady(), nil
}
