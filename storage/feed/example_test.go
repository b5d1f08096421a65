package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/feed"
	"github.com/itilkit/itil/storage/memory"
)

// Notify on breach: a consumer that pages someone for every SLA breach the
// monitor records. The page leaves the store, so it is delivered at least
// once: when the batch does not commit after the page went out, the next
// poll pages again, and the pager recognises the repeat by the event's Seq.
func Example_notifyOnBreach() {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := itil.ClockFunc(func() time.Time { return now })
	store := memory.NewStore()
	eng, _ := slm.NewEngine(store, slm.WithClock(clock))
	eng.Define(ctx, itil.Actor{ID: "sla-admin"}, slm.StandardDefinition("Resolution", incident.Kind, slm.SLA, slm.Resolution,
		slm.Target{Name: "4h", Duration: 4 * time.Hour}))
	svc, _ := incident.New(store, incident.WithClock(clock), incident.WithHook(eng))
	desk := itil.Actor{ID: "alex"}
	for _, title := range []string{"VPN drops", "Printer jammed"} {
		svc.Open(ctx, desk, incident.NewIncident{Title: title, Caller: desk, Channel: incident.Phone, Impact: 2, Urgency: 2})
	}

	paged := map[int64]bool{} // the pager's side: e-mail, chat, a webhook
	page := func(ev itil.Event) {
		if paged[ev.Seq] {
			fmt.Println("pager: repeat of event", ev.Seq, "ignored")
			return
		}
		paged[ev.Seq] = true
		var p slm.Thresholds
		json.Unmarshal(ev.Payload, &p)
		fmt.Println("pager:", p.Summary)
	}
	auditDown := true
	pager, err := feed.New(store, "pager", func(ctx context.Context, tx storage.Tx, ev itil.Event) error {
		page(ev)
		if auditDown { // a step after the page fails: the batch rolls back
			auditDown = false
			return errors.New("audit log unavailable")
		}
		return nil
	}, feed.WithKinds(slm.KindSubject), feed.WithTypes(slm.EventBreached))
	if err != nil {
		panic(err)
	}

	now = now.Add(5 * time.Hour)
	if _, err := eng.Fire(ctx, now); err != nil { // the monitor records the breaches
		panic(err)
	}
	n, err := pager.Poll(ctx)
	fmt.Println("first poll:", n, err != nil)
	n, err = pager.Poll(ctx)
	fmt.Println("second poll:", n, err)
	// Output:
	// pager: Resolution #1 reached 50%; Resolution #1 reached 75%; Resolution #1 breached
	// first poll: 0 true
	// pager: repeat of event 6 ignored
	// pager: Resolution #1 reached 50%; Resolution #1 reached 75%; Resolution #1 breached
	// second poll: 2 <nil>
}

// tally is a read model: how many incident events of each type the
// journal holds, kept in the same store as the incidents.
type tally struct {
	ID      itil.ID        `json:"id"`
	Version int64          `json:"-"`
	Counts  map[string]int `json:"counts"`
}

var (
	tallies = storage.NewCollection(storage.Schema[tally]{
		Kind:    "example.tally",
		ID:      func(t *tally) itil.ID { return t.ID },
		Version: func(t *tally) *int64 { return &t.Version },
		Terms:   func(_ *tally, dst []string) []string { return dst },
		SortKey: func(*tally) string { return "" },
	})
	tallyID = itil.NewID()
)

// countEvent adds ev to the tally, in the transaction that moves the
// consumer's cursor past ev: the count and the cursor commit together, so
// each event is counted exactly once.
func countEvent(ctx context.Context, tx storage.Tx, ev itil.Event) error {
	t, err := tallies.Get(ctx, tx, tallyID)
	if errors.Is(err, itil.ErrNotFound) {
		t, err = &tally{ID: tallyID, Counts: map[string]int{}}, nil
	}
	if err != nil {
		return err
	}
	t.Counts[ev.Type]++
	return tallies.Put(ctx, tx, t)
}

// Keep a read model: a consumer maintains a tally record in the same store
// as the incidents it counts, exactly once per event.
func Example_readModel() {
	ctx := context.Background()
	store := memory.NewStore()
	desk := itil.Actor{ID: "alex"}
	svc, _ := incident.New(store)
	for _, title := range []string{"VPN drops", "Printer jammed", "Mail slow"} {
		inc, _ := svc.Open(ctx, desk, incident.NewIncident{Title: title, Caller: desk,
			Channel: incident.Phone, Impact: 2, Urgency: 2})
		if title == "Mail slow" {
			svc.Assign(ctx, desk, inc.ID, "messaging", "sam")
		}
	}

	counter, err := feed.New(store, "incident-tally", countEvent, feed.WithKinds(incident.Kind))
	if err != nil {
		panic(err)
	}
	n, err := counter.Drain(ctx)
	fmt.Println("counted:", n, err)
	n, err = counter.Drain(ctx)
	fmt.Println("counted again:", n, err)

	store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		t, err := tallies.Get(ctx, tx, tallyID)
		if err != nil {
			return err
		}
		fmt.Println(incident.EventOpened, t.Counts[incident.EventOpened])
		fmt.Println(incident.EventAssigned, t.Counts[incident.EventAssigned])
		return nil
	})
	pos, _ := counter.Position(ctx)
	fmt.Println("cursor at", pos)
	// Output:
	// counted: 4 <nil>
	// counted again: 0 <nil>
	// incident.opened 3
	// incident.assigned 1
	// cursor at 4
}
