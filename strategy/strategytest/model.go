package strategytest

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy"
)

// modelEntry is what the model knows of a portfolio entry.
type modelEntry struct {
	id       itil.ID
	status   strategy.Status
	owner    string
	approved bool
	offers   map[itil.ID]strategy.OfferingState
	subs     int // subscriptions not ended
}

// testModel: random commands on two instances against a model of the
// portfolio: every command succeeds exactly when the declared lifecycle
// and its guards allow it, a refusal is typed and writes nothing, the
// stored entry is the model's, and replaying its journal gives it back.
func testModel(t *testing.T, instances storagetest.Instances) {
	table := strategy.PortfolioLifecycle()
	next := func(from strategy.Status, move string) (strategy.Status, bool) {
		for _, tr := range table {
			if tr.Event == move && slices.Contains(tr.From, from) {
				return tr.To, true
			}
		}
		return "", false
	}
	moves := []string{}
	for _, tr := range table {
		if !slices.Contains(moves, tr.Event) {
			moves = append(moves, tr.Event)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		s1, s2 := instances(t)
		clock := testkit.NewClock()
		var svcs []*strategy.Service
		for _, s := range []storage.Store{s1, s2} {
			svc, err := strategy.New(s, strategy.WithClock(clock))
			if err != nil {
				rt.Fatal(err)
			}
			svcs = append(svcs, svc)
		}
		svc := svcs[0]
		ctx := t.Context()
		var model []*modelEntry
		run := func(t *rapid.T, ok bool, do func() error) bool {
			before := testkit.JournalLen(t, s1)
			err := do()
			if ok && err != nil {
				t.Fatalf("the model expected success, got %v", err)
			}
			if !ok {
				if err == nil {
					t.Fatalf("the model expected a refusal, the command succeeded")
				}
				var v *itil.ValidationError
				if !errors.As(err, &v) && !errors.Is(err, itil.ErrInvalidTransition) {
					t.Fatalf("an untyped refusal: %v", err)
				}
				if n := testkit.JournalLen(t, s1); n != before {
					t.Fatalf("a refused command wrote %d events: %v", n-before, err)
				}
			}
			return ok
		}
		pick := func(t *rapid.T) *modelEntry {
			if len(model) == 0 {
				t.Skip("no entry")
			}
			return rapid.SampledFrom(model).Draw(t, "entry")
		}
		// forward takes the entry m one step along the happy path, meeting
		// the next guard first most of the time, so that runs reach the
		// catalogue and retirement often.
		forward := func(t *rapid.T, m *modelEntry) {
			var move string
			for _, mv := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove, strategy.MoveCharter,
				strategy.MoveDesign, strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate, strategy.MoveRetire,
				strategy.MoveClose, strategy.MoveObsolete} {
				if _, ok := next(m.status, mv); ok {
					move = mv
					break
				}
			}
			if move == "" {
				return // at the end
			}
			prepare := rapid.IntRange(0, 3).Draw(t, "prepare") > 0
			switch {
			case move == strategy.MoveCharter && !m.approved && prepare:
				run(t, true, func() error { _, err := svc.ApproveBusinessCase(ctx, board, m.id); return err })
				m.approved = true
			case move == strategy.MoveDesign && prepare:
				if m.owner == "" {
					owner := "olga"
					run(t, true, func() error { _, err := svc.Update(ctx, planner, m.id, strategy.EntryPatch{Owner: &owner}); return err })
					m.owner = owner
				}
				o, err := svc.AddOffering(ctx, planner, m.id, mailbox())
				if err != nil {
					t.Fatal(err)
				}
				m.offers[o.ID] = strategy.OfferingDraft
			case move == strategy.MoveDevelop && prepare:
				for _, id := range offerIDs(m) {
					if st := m.offers[id]; st == strategy.OfferingDraft {
						run(t, true, func() error { _, err := svc.PublishOffering(ctx, planner, id); return err })
						m.offers[id] = strategy.OfferingPublished
						break
					}
				}
			case move == strategy.MoveRetire && prepare && rapid.Bool().Draw(t, "a customer first"):
				for _, id := range offerIDs(m) {
					if st := m.offers[id]; st == strategy.OfferingPublished {
						run(t, true, func() error {
							_, err := svc.Subscribe(ctx, planner, id, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(1)})
							return err
						})
						m.subs++
						break
					}
				}
			}
			offered := 0
			for _, st := range m.offers {
				if st != strategy.OfferingRetired {
					offered++
				}
			}
			ok := true
			switch move {
			case strategy.MoveCharter:
				ok = m.approved
			case strategy.MoveDesign:
				ok = m.owner != "" && offered > 0
			case strategy.MoveRetire:
				ok = m.subs == 0
			}
			to, _ := next(m.status, move)
			if run(t, ok, func() error { _, err := svc.Move(ctx, board, m.id, move, ""); return err }) {
				m.status = to
			}
		}
		actions := map[string]func(*rapid.T){
			"propose": func(t *rapid.T) {
				owner := rapid.SampledFrom([]string{"", "olga"}).Draw(t, "owner")
				e, err := svc.Propose(ctx, planner, strategy.NewEntry{Name: "Mail", Type: strategy.BusinessService, Owner: owner, BusinessCase: mailCase()})
				if err != nil {
					t.Fatal(err)
				}
				model = append(model, &modelEntry{id: e.ID, status: strategy.StatusRequirements, owner: owner, offers: map[itil.ID]strategy.OfferingState{}})
			},
			"move": func(t *rapid.T) {
				m := pick(t)
				move := rapid.SampledFrom(moves).Draw(t, "move")
				reason := rapid.SampledFrom([]string{"", "customers moved"}).Draw(t, "reason")
				to, ok := next(m.status, move)
				offered := 0
				for _, st := range m.offers {
					if st != strategy.OfferingRetired {
						offered++
					}
				}
				switch move {
				case strategy.MoveCharter:
					ok = ok && m.approved
				case strategy.MoveDesign:
					ok = ok && m.owner != "" && offered > 0
				case strategy.MoveRetire:
					ok = ok && (m.subs == 0 || reason != "")
				}
				if run(t, ok, func() error { _, err := svc.Move(ctx, board, m.id, move, reason); return err }) {
					m.status = to
				}
			},
			"approve case": func(t *rapid.T) {
				m := pick(t)
				if run(t, m.status.Phase() == strategy.PhasePipeline, func() error { _, err := svc.ApproveBusinessCase(ctx, board, m.id); return err }) {
					m.approved = true
				}
			},
			"set owner": func(t *rapid.T) {
				m := pick(t)
				owner := rapid.SampledFrom([]string{"", "olga", "ivan"}).Draw(t, "owner")
				ok := m.status.Phase() != strategy.PhaseRetired && !(owner == "" && m.status.Phase() == strategy.PhaseCatalogue)
				if run(t, ok, func() error {
					_, err := svc.Update(ctx, planner, m.id, strategy.EntryPatch{Owner: &owner})
					return err
				}) {
					m.owner = owner
				}
			},
			"add offering": func(t *rapid.T) {
				m := pick(t)
				var id itil.ID
				if run(t, m.status.Phase() != strategy.PhaseRetired, func() error {
					o, err := svc.AddOffering(ctx, planner, m.id, mailbox())
					if err == nil {
						id = o.ID
					}
					return err
				}) {
					m.offers[id] = strategy.OfferingDraft
				}
			},
			"publish or retire offering": func(t *rapid.T) {
				m := pick(t)
				if len(m.offers) == 0 {
					t.Skip("no offering")
				}
				id := rapid.SampledFrom(offerIDs(m)).Draw(t, "offering")
				st := m.offers[id]
				if rapid.Bool().Draw(t, "publish") {
					ok := st == strategy.OfferingDraft && m.status.Phase() == strategy.PhaseCatalogue && m.status != strategy.StatusRetiring
					if run(t, ok, func() error { _, err := svc.PublishOffering(ctx, planner, id); return err }) {
						m.offers[id] = strategy.OfferingPublished
					}
					return
				}
				if run(t, st != strategy.OfferingRetired, func() error { _, err := svc.RetireOffering(ctx, planner, id); return err }) {
					m.offers[id] = strategy.OfferingRetired
				}
			},
			"subscribe": func(t *rapid.T) {
				m := pick(t)
				var published []itil.ID
				for _, id := range offerIDs(m) {
					if m.offers[id] == strategy.OfferingPublished {
						published = append(published, id)
					}
				}
				if len(published) == 0 {
					t.Skip("nothing published")
				}
				id := rapid.SampledFrom(published).Draw(t, "offering")
				ok := m.status.Phase() == strategy.PhaseCatalogue && m.status != strategy.StatusRetiring
				if run(t, ok, func() error {
					_, err := svc.Subscribe(ctx, planner, id, strategy.NewSubscription{Customer: "acme", Quantity: decimal.NewFromInt(3)})
					return err
				}) {
					m.subs++
				}
			},
			"forward": func(t *rapid.T) {
				m := pick(t)
				for range rapid.IntRange(1, 8).Draw(t, "steps") {
					forward(t, m)
				}
			},
			"tick": func(t *rapid.T) { clock.Advance(time.Hour) },
			"": func(t *rapid.T) {
				for _, m := range model {
					got, err := svc.Get(ctx, m.id)
					if err != nil {
						t.Fatal(err)
					}
					if got.Status != m.status || got.Owner != m.owner || got.BusinessCase.Approved() != m.approved {
						t.Fatalf("%s is %s (owner %q, approved %v); the model says %s (%q, %v)", got.Number, got.Status,
							got.Owner, got.BusinessCase.Approved(), m.status, m.owner, m.approved)
					}
					h, err := svc.History(ctx, m.id)
					if err != nil {
						t.Fatal(err)
					}
					replayed, err := pipeline.Replay[strategy.Entry](strategy.Kind, m.id, h, 0)
					if err != nil {
						t.Fatal(err)
					}
					replayed.Version, replayed.UpdatedAt = got.Version, got.UpdatedAt // not journaled
					if !replayed.ProposedAt.Equal(got.ProposedAt) || replayed.Status != got.Status || replayed.Owner != got.Owner ||
						!replayed.BusinessCase.ApprovedAt.Equal(got.BusinessCase.ApprovedAt) || replayed.Number != got.Number {
						t.Fatalf("replaying %s's journal gives %+v, not %+v", got.Number, replayed, got)
					}
				}
			},
		}
		storagetest.Spread(actions, svcs, func(s *strategy.Service) { svc = s })
		rt.Repeat(actions)
	})
}

// offerIDs returns the entry's offerings in ID order: runs must draw the
// same way to shrink.
func offerIDs(m *modelEntry) []itil.ID {
	return slices.SortedFunc(maps.Keys(m.offers), func(a, b itil.ID) int { return slices.Compare(a[:], b[:]) })
}
