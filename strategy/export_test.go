package strategy

// AllocationLimit returns the limit BenchmarkAllocate measures Allocate
// against: in's graph compiled once into dense arrays (with its
// topological order), then limitPass over them on each call.
func AllocationLimit(in AllocationInput) (func(), error) {
	g, err := compileInput(in)
	if err != nil {
		return nil, err
	}
	order := topoOrder(g)
	held := make([]int64, len(g.ids))
	return func() { limitPass(order, g.off, g.cons, g.cost, g.capacity, held) }, nil
}
