package change

import (
	"context"
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

// setAffectedServices sets ch.AffectedServices to the business services a
// failure of its CIs affects (the CIs themselves included when they are
// services), by the CMDB's impact analysis in the command's transaction,
// in the order found; without the CMDB it leaves them as they are.
func (s *Service) setAffectedServices(c *cmd, ch *Change) error {
	if s.cfg.cmdb == nil {
		return nil
	}
	cm := s.cfg.cmdb.In(c.Tx)
	var out []AffectedService
	for _, id := range changeCIs(ch) {
		found, err := businessServices(c.Ctx, cm, id)
		if err != nil {
			return err
		}
		for _, a := range found {
			if !slices.ContainsFunc(out, func(o AffectedService) bool { return o.ServiceID == a.ServiceID }) {
				out = append(out, a)
			}
		}
	}
	ch.AffectedServices = out
	return nil
}

// businessServices returns the business services a failure of the CI id
// affects (itself included when it is one), with their criticality, in
// the order the impact analysis found them; none for a CI the CMDB does
// not hold.
func businessServices(ctx context.Context, cm *cmdb.Service, id itil.ID) ([]AffectedService, error) {
	res, err := cm.Impact(ctx, id, cmdb.ImpactOptions{Direction: cmdb.Upstream})
	if errors.Is(err, itil.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ci %s: %w", id, err)
	}
	classes := cm.Classes()
	var out []AffectedService
	for _, cid := range append([]itil.ID{id}, affectedIDs(res)...) {
		ci, err := cm.Get(ctx, cid)
		if err != nil {
			return nil, err
		}
		if classes.IsA(ci.Class, cmdb.ClassBusinessService) {
			out = append(out, AffectedService{ServiceID: cid, Criticality: int(ci.Criticality)})
		}
	}
	return out, nil
}

func affectedIDs(res *cmdb.ImpactResult) []itil.ID {
	out := make([]itil.ID, len(res.Affected))
	for i, a := range res.Affected {
		out[i] = a.CI
	}
	return out
}
