package cmdb

import (
	"context"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// DependencyGraph is the CMDB's dependency graph as dense arrays, the
// form a computation over the whole estate reads (cost allocation rolls
// infrastructure costs up to the services that use them). Node i is the
// CI IDs[i], IDs sorted bytewise, so node numbers order like IDs; the CIs
// that depend on node u, those its failure affects along the
// relationship types that propagate impact, are
// Dependents[Offsets[u]:Offsets[u+1]], each row sorted and listing a CI
// once whatever the number of relationships between the two. CIs without
// such relationships are not in it.
type DependencyGraph struct {
	IDs        []itil.ID
	Offsets    []int32
	Dependents []int32
}

// Node returns the node number of the CI id; ok is false when the graph
// does not hold it.
func (g *DependencyGraph) Node(id itil.ID) (int32, bool) {
	i, ok := slices.BinarySearchFunc(g.IDs, id, cmpID)
	return int32(i), ok
}

// DependencyGraph returns the dependency graph as it stands: from the
// Service's index, caught up with the journal; bound to a caller's
// transaction (In), from that transaction's relationships. The graph is
// the caller's: later changes do not reach it.
func (s *Service) DependencyGraph(ctx context.Context) (*DependencyGraph, error) {
	var g *DependencyGraph
	err := s.ci.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var ix *adjIndex
		var err error
		if s.ci.Bound() {
			ix, err = s.buildIndex(ctx, tx, 0)
		} else {
			ix, err = s.index(ctx, tx)
		}
		if err != nil {
			return err
		}
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		g = ix.dependencyGraph()
		return nil
	})
	return g, err
}

// dependencyGraph copies the up direction's rows without their types.
// An index with an overlay or nodes added since its build is folded
// first (folded, as compaction does): those nodes are out of ID order.
// The caller holds mu.
func (ix *adjIndex) dependencyGraph() *DependencyGraph {
	src := ix
	if len(ix.over) > 0 || len(ix.ids) != ix.nBase {
		src = ix.folded()
	}
	c := &src.g[up]
	n := len(src.ids)
	g := &DependencyGraph{IDs: slices.Clone(src.ids), Offsets: make([]int32, n+1), Dependents: make([]int32, 0, len(c.nbr))}
	for u := range n {
		prev := int32(-1)
		for _, v := range c.nbr[c.off[u]:c.off[u+1]] { // sorted by (neighbour, type)
			if v != prev {
				g.Dependents = append(g.Dependents, v)
				prev = v
			}
		}
		g.Offsets[u+1] = int32(len(g.Dependents))
	}
	return g
}
