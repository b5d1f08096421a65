package cmdbtest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// twoInstances: two Services on one store (two application instances),
// commands interleaved at random. After every change either makes
// (relate, unrelate, delete with its relationships, retire), both
// indexes have caught up from the journal: A's Impact through its index
// equals its storage walk and B's Impact, and A's Propagate equals B's
// and that of a Service built afresh from the store.
func twoInstances(t *testing.T, instances storagetest.Instances) {
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		first, second := instances(t)
		a, b := graphService(rt, first), graphService(rt, second)
		services := []*cmdb.Service{a, b}
		var ids []itil.ID
		for i := range rapid.IntRange(2, 6).Draw(rt, "vertices") {
			svc := rapid.SampledFrom(services).Draw(rt, "creator")
			c, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: "vertex", Name: fmt.Sprint("v", i), State: cmdb.Operational})
			require.NoError(rt, err)
			ids = append(ids, c.ID)
		}
		// Both build their index now, before the changes they must follow.
		for _, svc := range services {
			_, err := svc.Impact(ctx, ids[0], cmdb.ImpactOptions{})
			require.NoError(rt, err)
		}
		for step := range rapid.IntRange(1, 12).Draw(rt, "changes") {
			svc := rapid.SampledFrom(services).Draw(rt, "writer")
			switch op := rapid.IntRange(0, 5).Draw(rt, "op"); {
			case op <= 2:
				p, c := rapid.SampledFrom(ids).Draw(rt, "parent"), rapid.SampledFrom(ids).Draw(rt, "child")
				_, err := svc.Relate(ctx, admin, rapid.SampledFrom(links).Draw(rt, "type").Name, p, c)
				var v *itil.ValidationError
				if err != nil && !errors.As(err, &v) { // itself, or retired
					rt.Fatal(err)
				}
			case op == 3:
				rels, err := svc.Relationships(ctx, rapid.SampledFrom(ids).Draw(rt, "ci"))
				require.NoError(rt, err)
				if len(rels) > 0 {
					require.NoError(rt, svc.Unrelate(ctx, admin, rapid.SampledFrom(rels).Draw(rt, "rel").ID))
				}
			case op == 4 && len(ids) > 2:
				id := rapid.SampledFrom(ids).Draw(rt, "deleted")
				require.NoError(rt, svc.DeleteCI(ctx, admin, id)) // its relationships go with it (Cascade)
				ids = removeID(ids, id)
			default:
				_, err := svc.SetState(ctx, admin, rapid.SampledFrom(ids).Draw(rt, "retired"), cmdb.Retired)
				if err != nil && !errors.Is(err, itil.ErrInvalidTransition) {
					rt.Fatal(err)
				}
			}
			origin := rapid.SampledFrom(ids).Draw(rt, "origin")
			for _, dir := range []cmdb.Direction{cmdb.Upstream, cmdb.Downstream} {
				requireSameImpact(rt, a, b, origin, cmdb.ImpactOptions{Direction: dir}, "step %d", step)
			}
			down := rapid.SliceOfDistinct(rapid.SampledFrom(ids), rapid.ID[itil.ID]).Draw(rt, "down")
			requireSamePropagation(rt, first, a, b, down, nil, "step %d", step)
		}
		for _, origin := range ids {
			for _, dir := range []cmdb.Direction{cmdb.Upstream, cmdb.Downstream} {
				requireSameImpact(rt, a, b, origin, cmdb.ImpactOptions{Direction: dir}, "final")
			}
		}
		requireSamePropagation(rt, first, a, b, ids[:1], ids[1:2], "final")
	})
}

// requireSameImpact: A's index walk equals A's storage walk and B's index
// walk.
func requireSameImpact(t require.TestingT, a, b *cmdb.Service, origin itil.ID, o cmdb.ImpactOptions, msg string, args ...any) {
	ctx := context.Background()
	viaIndex, err := a.Impact(ctx, origin, o)
	require.NoError(t, err)
	o.NoIndex = true
	walked, err := a.Impact(ctx, origin, o)
	require.NoError(t, err)
	require.Equal(t, walked, viaIndex, "A's index against storage: "+fmt.Sprintf(msg, args...))
	o.NoIndex = false
	other, err := b.Impact(ctx, origin, o)
	require.NoError(t, err)
	require.Equal(t, viaIndex, other, "A against B: "+fmt.Sprintf(msg, args...))
}

// requireSamePropagation: A, B and a Service built afresh from the store
// agree on every business service's state.
func requireSamePropagation(t require.TestingT, store storage.Store, a, b *cmdb.Service, down, degraded []itil.ID, msg string, args ...any) {
	ctx := context.Background()
	fresh := graphService(t, store)
	want, err := fresh.Propagate(ctx, down, degraded)
	require.NoError(t, err)
	for i, svc := range []*cmdb.Service{a, b} {
		got, err := svc.Propagate(ctx, down, degraded)
		require.NoError(t, err)
		require.Equal(t, want, got, "service %d: %s", i, fmt.Sprintf(msg, args...))
	}
}

func removeID(ids []itil.ID, id itil.ID) []itil.ID {
	out := ids[:0:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
