package change

import (
	"errors"
	"fmt"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
)

// WithCMDB gives the Service the CMDB its changes' CIs live in, on the
// same store: conditions (risk, approval rules, CAB agendas) then read
// the CIs' classes (with the classes above them) and their highest
// criticality, and AssessRisk records the business services the CIs'
// failure would affect (cmdb impact analysis, upstream) with their
// criticality. Without it those facts are absent.
func WithCMDB(c *cmdb.Service) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("cmdb", "must not be nil")
		}
		cfg.cmdb = c
	}}
}

// facts returns the facts conditions read about ch: factsOf's, and with
// the CMDB its CIs' classes and highest criticality, read in the
// command's transaction. A CI the CMDB does not hold adds nothing.
func (s *Service) facts(c *cmd, ch *Change) (*Facts, error) {
	f := factsOf(ch)
	if s.cfg.cmdb == nil {
		return f, nil
	}
	cm := s.cfg.cmdb.In(c.Tx)
	classes := cm.Classes()
	for _, id := range changeCIs(ch) {
		ci, err := cm.Get(c.Ctx, id)
		if errors.Is(err, itil.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ci %s: %w", id, err)
		}
		for class := ci.Class; class != ""; {
			if !slices.Contains(f.CIClasses, class) {
				f.CIClasses = append(f.CIClasses, class)
			}
			cl, ok := classes.Get(class)
			if !ok {
				break
			}
			class = cl.Parent
		}
		if ci.Criticality > 0 && (f.CICriticality == 0 || ci.Criticality < f.CICriticality) {
			f.CICriticality = ci.Criticality
		}
	}
	slices.Sort(f.CIClasses)
	return f, nil
}

// changeCIs returns the change's CIs, the primary first.
func changeCIs(ch *Change) []itil.ID {
	out := make([]itil.ID, 0, len(ch.CIIDs)+1)
	if ch.CIID != itil.NilID {
		out = append(out, ch.CIID)
	}
	return append(out, ch.CIIDs...)
}

// affectedServices returns the business services a failure of ch's CIs
// affects (the CIs themselves included when they are services), by the
// CMDB's impact analysis in the command's transaction, in the order found.
func (s *Service) affectedServices(c *cmd, ch *Change) ([]AffectedService, error) {
	if s.cfg.cmdb == nil {
		return ch.AffectedServices, nil
	}
	cm := s.cfg.cmdb.In(c.Tx)
	classes := cm.Classes()
	var out []AffectedService
	seen := map[itil.ID]bool{}
	add := func(id itil.ID) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		ci, err := cm.Get(c.Ctx, id)
		if err != nil {
			return err
		}
		if classes.IsA(ci.Class, cmdb.ClassBusinessService) {
			out = append(out, AffectedService{ServiceID: id, Criticality: int(ci.Criticality)})
		}
		return nil
	}
	for _, id := range changeCIs(ch) {
		res, err := cm.Impact(c.Ctx, id, cmdb.ImpactOptions{Direction: cmdb.Upstream})
		if errors.Is(err, itil.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ci %s: %w", id, err)
		}
		if err := add(id); err != nil {
			return nil, err
		}
		for _, a := range res.Affected {
			if err := add(a.CI); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
