package cmdb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage/memory"
)

// TestAsOfMatchesModel applies random creates, updates, state moves and
// deletes to a few CIs at increasing times, keeps what each CI was after
// every step in a plain model, and checks that AsOf at any instant gives
// the model's CI then (or ErrNotFound when it did not exist).
func TestAsOfMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		svc, err := cmdb.New(memory.NewStore(), cmdb.WithClock(itil.ClockFunc(func() time.Time { return now })))
		if err != nil {
			rt.Fatal(err)
		}
		ctx := context.Background()
		hist := map[itil.ID][]asOfState{}
		var ids []itil.ID
		record := func(id itil.ID, c *cmdb.CI) { hist[id] = append(hist[id], asOfState{now, c}) }
		for i := range rapid.IntRange(1, 30).Draw(rt, "steps") {
			now = now.Add(time.Duration(rapid.IntRange(1, 3600).Draw(rt, "gap")) * time.Second)
			var live []itil.ID
			for _, id := range ids {
				if h := hist[id]; h[len(h)-1].ci != nil {
					live = append(live, id)
				}
			}
			op := rapid.IntRange(0, 3).Draw(rt, "op")
			if len(live) == 0 {
				op = 0
			}
			switch op {
			case 0:
				c, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: fmt.Sprint("srv", i),
					Attributes: map[string]string{"ip_address": fmt.Sprint("10.0.0.", i)}})
				if err != nil {
					rt.Fatal(err)
				}
				ids = append(ids, c.ID)
				record(c.ID, c)
			case 1:
				id := rapid.SampledFrom(live).Draw(rt, "ci")
				c, err := svc.UpdateCI(ctx, admin, id, cmdb.Patch{Attributes: map[string]string{
					"ip_address": fmt.Sprint("10.1.0.", rapid.IntRange(0, 9).Draw(rt, "ip"))}})
				if errors.Is(err, itil.ErrInvalidTransition) {
					continue // retired
				}
				if err != nil {
					rt.Fatal(err)
				}
				record(id, c)
			case 2:
				id := rapid.SampledFrom(live).Draw(rt, "ci")
				to := rapid.SampledFrom([]cmdb.State{cmdb.InBuild, cmdb.Operational, cmdb.UnderMaintenance, cmdb.Retired}).Draw(rt, "to")
				c, err := svc.SetState(ctx, admin, id, to)
				if errors.Is(err, itil.ErrInvalidTransition) {
					continue
				}
				if err != nil {
					rt.Fatal(err)
				}
				record(id, c)
			case 3:
				id := rapid.SampledFrom(live).Draw(rt, "ci")
				if err := svc.DeleteCI(ctx, admin, id); err != nil {
					rt.Fatal(err)
				}
				record(id, nil)
			}
		}
		for _, id := range ids {
			h := hist[id]
			for _, probe := range []time.Time{h[0].at.Add(-time.Second), h[0].at, now, now.Add(time.Hour)} {
				checkAsOf(rt, svc, id, h, probe)
			}
			for _, s := range h {
				checkAsOf(rt, svc, id, h, s.at)
				checkAsOf(rt, svc, id, h, s.at.Add(time.Second/2))
			}
		}
	})
}

// asOfState is a CI after one step (nil: absent) and when.
type asOfState struct {
	at time.Time
	ci *cmdb.CI
}

// checkAsOf compares AsOf(id, t) with the last state at or before t.
func checkAsOf(rt *rapid.T, svc *cmdb.Service, id itil.ID, h []asOfState, t time.Time) {
	var want *cmdb.CI
	for _, s := range h {
		if !s.at.After(t) {
			want = s.ci
		}
	}
	got, err := svc.AsOf(context.Background(), id, t)
	switch {
	case want == nil && !errors.Is(err, itil.ErrNotFound):
		rt.Fatalf("AsOf(%v): want not found, got %v, %v", t, got, err)
	case want == nil:
	case err != nil:
		rt.Fatalf("AsOf(%v): %v", t, err)
	case !reflect.DeepEqual(*want, *got):
		rt.Fatalf("AsOf(%v):\n got %+v\nwant %+v", t, *got, *want)
	}
}
