package cmdb_test

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// edgesOf lists a dependency graph's edges as (provider, dependent) ID
// pairs, checking the arrays' shape on the way.
func edgesOf(t *testing.T, g *cmdb.DependencyGraph) [][2]itil.ID {
	t.Helper()
	require.True(t, slices.IsSortedFunc(g.IDs, func(a, b itil.ID) int { return bytes.Compare(a[:], b[:]) }), "IDs sorted")
	require.Len(t, g.Offsets, len(g.IDs)+1)
	var out [][2]itil.ID
	for u := range g.IDs {
		row := g.Dependents[g.Offsets[u]:g.Offsets[u+1]]
		require.True(t, slices.IsSorted(row) && len(slices.Compact(slices.Clone(row))) == len(row), "row sorted, each once")
		for _, v := range row {
			out = append(out, [2]itil.ID{g.IDs[u], g.IDs[v]})
		}
		n, ok := g.Node(g.IDs[u])
		require.True(t, ok)
		require.Equal(t, int32(u), n)
	}
	return out
}

func TestDependencyGraph(t *testing.T) {
	ctx := context.Background()
	store := memory.NewStore()
	svc, err := cmdb.New(store)
	require.NoError(t, err)
	actor := itil.Actor{ID: "cmdb-admin", Name: "CMDB admin"}
	ci := func(class, name string) itil.ID {
		c, err := svc.CreateCI(ctx, actor, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational})
		require.NoError(t, err)
		return c.ID
	}
	relate := func(typ string, parent, child itil.ID) itil.ID {
		r, err := svc.Relate(ctx, actor, typ, parent, child)
		require.NoError(t, err)
		return r.ID
	}
	payroll := ci(cmdb.ClassBusinessService, "Payroll")
	app := ci(cmdb.ClassApplication, "payroll-app")
	server := ci(cmdb.ClassLinuxServer, "app01")
	dc := ci(cmdb.ClassLocation, "dc1")
	relate(cmdb.DependsOn, payroll, app)
	relate(cmdb.RunsOn, app, server)
	relate(cmdb.HostedOn, app, server)        // a second relationship between the two: one edge
	inDC := relate(cmdb.Contains, dc, server) // parent to child: the site's failure affects the server
	relate(cmdb.Owns, payroll, server)        // propagates nothing: no edge
	sorted := func(e [][2]itil.ID) [][2]itil.ID {
		slices.SortFunc(e, func(a, b [2]itil.ID) int {
			return cmp.Or(bytes.Compare(a[0][:], b[0][:]), bytes.Compare(a[1][:], b[1][:]))
		})
		return e
	}
	want := sorted([][2]itil.ID{{app, payroll}, {server, app}, {dc, server}})

	g, err := svc.DependencyGraph(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, sorted(edgesOf(t, g)))
	_, ok := g.Node(itil.NewID())
	assert.False(t, ok, "a CI without relationships is not in the graph")

	// Changes after the index's build (an overlay, a CI new to it) are
	// folded in, in ID order.
	require.NoError(t, svc.Unrelate(ctx, actor, inDC))
	other := ci(cmdb.ClassApplication, "ledger")
	relate(cmdb.DependsOn, payroll, other)
	want = sorted([][2]itil.ID{{app, payroll}, {server, app}, {other, payroll}})
	g, err = svc.DependencyGraph(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, sorted(edgesOf(t, g)))
	_, ok = g.Node(dc)
	assert.False(t, ok, "the site has no relationship left")

	// In a caller's transaction: its own writes count.
	require.NoError(t, store.RunInTx(ctx, func(ctx context.Context, tx storage.Tx) error {
		in := svc.In(tx)
		if _, err := in.Relate(ctx, actor, cmdb.Contains, dc, server); err != nil {
			return err
		}
		g, err := in.DependencyGraph(ctx)
		if err != nil {
			return err
		}
		assert.Equal(t, sorted(append(want, [2]itil.ID{dc, server})), sorted(edgesOf(t, g)))
		return nil
	}))
}
