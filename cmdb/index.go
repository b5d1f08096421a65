package cmdb

import "github.com/itilkit/itil"

// Index is the in-memory adjacency index impact analysis walks.
type Index struct{}

// indexAdd, indexRemove and indexForget keep the index, once built,
// current with committed relationship changes.
func (s *Service) indexAdd(rels ...*Relationship) {}

func (s *Service) indexRemove(rels ...*Relationship) {}

func (s *Service) indexForget(id itil.ID) {}
