package change

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// KindDelegation is the storage kind and journal kind of approval
// delegations.
const KindDelegation = "change_delegation"

// CommandDelegate is the command name an Authorizer receives for
// Delegate (with a zero change: a delegation concerns no one change).
const CommandDelegate = "delegate"

// EventDelegated is journaled when an approver names a delegate.
const EventDelegated = "change.delegated"

// delegationRecord is a stored Delegation.
type delegationRecord struct {
	ID         itil.ID    `json:"id"`
	Version    int64      `json:"version"`
	Delegation Delegation `json:"delegation"`
	CreatedAt  time.Time  `json:"created_at"`
}

var delegations = storage.NewCollection(storage.Schema[delegationRecord]{
	Kind:    KindDelegation,
	ID:      func(d *delegationRecord) itil.ID { return d.ID },
	Version: func(d *delegationRecord) *int64 { return &d.Version },
	SortKey: func(d *delegationRecord) string { return storage.TimeKey(d.Delegation.Start) },
	Terms: func(d *delegationRecord, dst []string) []string {
		return append(dst, storage.Term("from", d.Delegation.From), storage.Term("to", d.Delegation.To))
	},
	Clone: func(dst, src *delegationRecord) { *dst = *src },
})

var delegationSpec = (&pipeline.Spec[delegationRecord]{
	Collection: delegations,
	Clone:      func(d *delegationRecord) *delegationRecord { c := *d; return &c },
	Skip:       []string{"version"},
}).Init()

func (s *Service) delegationRunner() pipeline.Runner[delegationRecord] {
	return pipeline.Sibling(s.run, delegationSpec, nil, nil)
}

// Delegate records that d.To may decide the approvals asked of d.From
// from d.Start until d.End (zero: no end). Only the approver names their
// delegate: the actor must be d.From (itil.ErrForbidden otherwise). A bad
// delegation gives a *itil.ValidationError naming its fields. A delegate
// decides in the approver's name (Approval.Delegate records who), but not
// when segregation of duties excludes them or the step counts them
// already: one person, one vote.
func (s *Service) Delegate(ctx context.Context, actor itil.Actor, d Delegation) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.run.Do(ctx, actor, func(c *cmd) error {
		if c.Actor.ID != d.From {
			return itilForbidden("only %s may name a delegate for their approvals", d.From)
		}
		if err := c.Authorize(CommandDelegate, &Change{}); err != nil {
			return err
		}
		mine, err := s.delegationsFrom(c, d.From)
		if err != nil {
			return err
		}
		same := 0
		for _, o := range mine {
			if o.Delegation.To != d.To {
				continue
			}
			same++
			if overlap(o.Delegation, d) {
				return itil.Invalid("start", "overlaps a delegation to "+d.To+" already in place: end that one first (EndDelegation)")
			}
		}
		rec := &delegationRecord{ID: delegationID(d.From, d.To, same), Delegation: d, CreatedAt: c.Now}
		return pipeline.Other(c, s.delegationRunner()).Save(rec, event{Type: EventDelegated,
			Summary: d.From + " delegates approvals to " + d.To})
	})
}

// delegationSpace names delegation IDs (see delegationID).
var delegationSpace = itil.ID{0xc3, 0x15, 0x1a, 0x85, 0x9c, 0x1a, 0x2a, 0xca, 0x11, 0x88, 0xd3, 0x8a, 0xc2, 0x44, 0x7b, 0x7a}

// delegationID names the delegation from one approver to one delegate
// that follows n others between them: two commands recording the same
// next one at once create one record and the second conflicts, then finds
// the first (a delegation made meanwhile is a phantom to the overlap
// check's query, which no conflict would otherwise catch).
func delegationID(from, to string, n int) itil.ID {
	return uuid.NewSHA1(delegationSpace, []byte(from+"\x00"+to+"\x00"+strconv.Itoa(n)))
}

// overlap reports whether the periods of a and b meet.
func overlap(a, b Delegation) bool {
	endsAfter := func(d Delegation, t time.Time) bool { return d.End.IsZero() || d.End.After(t) }
	return endsAfter(a, b.Start) && endsAfter(b, a.Start)
}

// CommandEndDelegation is the command name an Authorizer receives for
// EndDelegation, and EventDelegationEnded its journal event type.
const (
	CommandEndDelegation = "end_delegation"
	EventDelegationEnded = "change.delegation_ended"
)

// EndDelegation ends, now, the actor's delegations to the user to that
// have not ended: later ones are ended before they begin. It returns how
// many it ended; none is not an error.
func (s *Service) EndDelegation(ctx context.Context, actor itil.Actor, to string) (int, error) {
	n := 0
	err := s.run.Do(ctx, actor, func(c *cmd) error {
		n = 0
		if err := c.Authorize(CommandEndDelegation, &Change{}); err != nil {
			return err
		}
		mine, err := s.delegationsFrom(c, c.Actor.ID)
		if err != nil {
			return err
		}
		dc := pipeline.Other(c, s.delegationRunner())
		for _, r := range mine {
			d := &r.Delegation
			if d.To != to || (!d.End.IsZero() && !d.End.After(c.Now)) {
				continue
			}
			// An end at the start, for one not begun yet: never in force.
			d.End = c.Now
			if d.Start.After(c.Now) {
				d.End = d.Start
			}
			if err := dc.Save(r, event{Type: EventDelegationEnded, Summary: d.From + " ends the delegation to " + d.To}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// delegationsFrom reads the delegations of the approver user, in the
// command's transaction.
func (s *Service) delegationsFrom(c *cmd, user string) ([]*delegationRecord, error) {
	return pipeline.Other(c, s.delegationRunner()).Query(storage.Query{Terms: []string{storage.Term("from", user)}})
}

// delegationsTo reads the delegations naming user as the delegate, in the
// command's transaction.
func (s *Service) delegationsTo(c *cmd, user string) ([]Delegation, error) {
	recs, err := pipeline.Other(c, s.delegationRunner()).Query(storage.Query{Terms: []string{storage.Term("to", user)}})
	if err != nil {
		return nil, err
	}
	out := make([]Delegation, len(recs))
	for i, r := range recs {
		out[i] = r.Delegation
	}
	return out, nil
}
