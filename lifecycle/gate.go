package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// Check is one condition of a gate, and what was found.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Detail says what was found: what is missing when the check failed.
	Detail string `json:"detail"`
}

// Gate is a move's gate as judged: every check, passed or not.
type Gate struct {
	Move   string  `json:"move"`
	From   Stage   `json:"from"`
	To     Stage   `json:"to"`
	Checks []Check `json:"checks"`
}

// Passed reports whether every check passed.
func (g *Gate) Passed() bool {
	return !slices.ContainsFunc(g.Checks, func(c Check) bool { return !c.Passed })
}

// Failed returns the checks that failed.
func (g *Gate) Failed() []Check {
	var out []Check
	for _, c := range g.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// GateError is a move refused by its gate: it lists the checks that
// failed. It wraps itil.ErrInvalidTransition.
type GateError struct {
	Gate *Gate
}

func (e *GateError) Error() string {
	var b strings.Builder
	b.WriteString(itil.ErrInvalidTransition.Error() + ": the " + e.Gate.Move + " gate failed:")
	for _, c := range e.Gate.Failed() {
		b.WriteString(" " + c.Name + " (" + c.Detail + ");")
	}
	return strings.TrimSuffix(b.String(), ";")
}

func (e *GateError) Unwrap() error { return itil.ErrInvalidTransition }

// The checks' names.
const (
	CheckChartered      = "chartered"
	CheckDesignPackage  = "design_package"
	CheckAcceptance     = "acceptance_criteria"
	CheckOfferingSLAs   = "offering_slas"
	CheckCIs            = "cis_registered"
	CheckChanges        = "changes_successful"
	CheckAcceptanceMet  = "acceptance_met"
	CheckQuiet          = "early_life_quiet"
	CheckEarlyLifeSLA   = "early_life_sla"
	CheckSubscriptions  = "no_active_subscriptions"
	CheckCIsRetired     = "cis_retired"
	notWired            = "not checked: the Service has no %s (%s)"
	maxDetailItems      = 5
	earlyLifeSLAMissing = "no SLA compliance target: nothing to check"
)

// judge evaluates the gate of move from r's stage, reading the other
// processes in tx, at now. A move the stages do not allow gives an error
// wrapping itil.ErrInvalidTransition.
func (s *Service) judge(ctx context.Context, tx storage.Tx, r *Record, move string, now time.Time) (*Gate, error) {
	to, err := stages.Fire(r.Stage, move, nil)
	if err != nil {
		return nil, fmt.Errorf("service lifecycle %s: %w", r.Number, err)
	}
	g := &Gate{Move: move, From: r.Stage, To: to}
	add := func(name string, passed bool, detail string) {
		g.Checks = append(g.Checks, Check{Name: name, Passed: passed, Detail: detail})
	}
	e, err := s.cfg.strategy.In(tx).Get(ctx, r.EntryID)
	if err != nil {
		return nil, fmt.Errorf("entry_id: %w", err)
	}
	switch move {
	case MoveDesign:
		chartered := e.Status == strategy.StatusChartered || e.Phase() == strategy.PhaseCatalogue
		add(CheckChartered, chartered, "the portfolio entry "+e.Number+" is in status "+string(e.Status)+
			map[bool]string{true: ", its business case approved", false: ": it must be chartered (business case approved)"}[chartered])

	case MoveTransition:
		var open []string
		for _, name := range DesignSections() { // every section, those a record stored before it was one lacks too
			if i := slices.IndexFunc(r.Design, func(sec Section) bool { return sec.Name == name }); i < 0 || r.Design[i].State != SectionComplete {
				open = append(open, name)
			}
		}
		add(CheckDesignPackage, len(open) == 0, listed("sections not complete", open, "every section complete"))
		add(CheckAcceptance, len(r.Acceptance) > 0, map[bool]string{true: count(len(r.Acceptance), "criterion", "criteria") + " defined",
			false: "no service acceptance criteria defined"}[len(r.Acceptance) > 0])
		var without []string
		offered := 0
		for o, err := range s.cfg.strategy.In(tx).Offerings(ctx, r.EntryID) {
			if err != nil {
				return nil, err
			}
			if o.State == strategy.OfferingRetired {
				continue
			}
			offered++
			if o.Commitments.ResponseSLA == itil.NilID && o.Commitments.ResolutionSLA == itil.NilID {
				without = append(without, strconv.Quote(o.Name))
			}
		}
		switch {
		case offered == 0:
			add(CheckOfferingSLAs, false, "the service has no offering")
		default:
			add(CheckOfferingSLAs, len(without) == 0, listed("offerings without an SLA definition", without, count(offered, "offering", "offerings")+", each with an SLA"))
		}
		if err := s.checkCIs(ctx, tx, e, add); err != nil {
			return nil, err
		}

	case MoveOperate:
		if err := s.checkChanges(ctx, tx, r, add); err != nil {
			return nil, err
		}
		var unmet []string
		for _, c := range r.Acceptance {
			if !c.Met {
				unmet = append(unmet, strconv.Quote(c.Text))
			}
		}
		switch {
		case len(r.Acceptance) == 0:
			add(CheckAcceptanceMet, false, "no service acceptance criteria defined")
		default:
			add(CheckAcceptanceMet, len(unmet) == 0, listed("criteria not met", unmet, "every criterion met"))
		}
		if err := s.checkEarlyLife(ctx, tx, r, e, now, add); err != nil {
			return nil, err
		}

	case MoveRetire:
		active, err := s.cfg.strategy.In(tx).ActiveSubscriptions(ctx, r.EntryID, now)
		if err != nil {
			return nil, err
		}
		add(CheckSubscriptions, active == 0, map[bool]string{true: "no subscription runs",
			false: count(active, "subscription still runs", "subscriptions still run")}[active == 0])
		if s.cfg.cmdb == nil {
			add(CheckCIsRetired, false, fmt.Sprintf(notWired, "CMDB", "WithCMDB"))
		} else if e.ServiceCIID == itil.NilID {
			add(CheckCIsRetired, true, "the portfolio entry names no service CI: none to retire")
		} else {
			ci, err := s.cfg.cmdb.In(tx).Get(ctx, e.ServiceCIID)
			switch {
			case errors.Is(err, itil.ErrNotFound):
				add(CheckCIsRetired, true, "the service CI is gone from the CMDB")
			case err != nil:
				return nil, err
			default:
				add(CheckCIsRetired, ci.State == cmdb.Retired, "the service CI "+strconv.Quote(ci.Name)+" is "+string(ci.State))
			}
		}
	}
	return g, nil
}

// checkCIs: the service's CI is in the CMDB, with the CIs it depends on.
func (s *Service) checkCIs(ctx context.Context, tx storage.Tx, e *strategy.Entry, add func(string, bool, string)) error {
	switch {
	case s.cfg.cmdb == nil:
		add(CheckCIs, false, fmt.Sprintf(notWired, "CMDB", "WithCMDB"))
		return nil
	case e.ServiceCIID == itil.NilID:
		add(CheckCIs, false, "the portfolio entry names no service CI")
		return nil
	}
	cm := s.cfg.cmdb.In(tx)
	ci, err := cm.Get(ctx, e.ServiceCIID)
	if errors.Is(err, itil.ErrNotFound) {
		add(CheckCIs, false, "the service CI "+e.ServiceCIID.String()+" is not in the CMDB")
		return nil
	} else if err != nil {
		return err
	}
	if ci.State == cmdb.Retired {
		add(CheckCIs, false, "the service CI "+strconv.Quote(ci.Name)+" is retired")
		return nil
	}
	rels, err := cm.Relationships(ctx, ci.ID)
	if err != nil {
		return err
	}
	// What the service runs on: its relationships as the parent (depends
	// on, runs on, contains).
	n := 0
	for _, rel := range rels {
		if rel.Parent == ci.ID {
			n++
		}
	}
	add(CheckCIs, n > 0, map[bool]string{true: "the service CI " + strconv.Quote(ci.Name) + " with " + count(n, "CI", "CIs") + " it relies on",
		false: "the service CI " + strconv.Quote(ci.Name) + " relies on no CI: register what it runs on"}[n > 0])
	return nil
}

// checkChanges: every change of the transition closed successful.
func (s *Service) checkChanges(ctx context.Context, tx storage.Tx, r *Record, add func(string, bool, string)) error {
	switch {
	case s.cfg.change == nil:
		add(CheckChanges, false, fmt.Sprintf(notWired, "change management", "WithChange"))
		return nil
	case len(r.Changes) == 0:
		add(CheckChanges, false, "no change transitions the service")
		return nil
	}
	var bad []string
	for _, id := range r.Changes {
		ch, err := s.cfg.change.In(tx).Get(ctx, id)
		if errors.Is(err, itil.ErrNotFound) {
			bad = append(bad, id.String()+" not found")
			continue
		} else if err != nil {
			return err
		}
		if ch.State != change.StateClosed || ch.CloseCode == change.Unsuccessful {
			what := string(ch.State)
			if ch.State == change.StateClosed {
				what = string(ch.CloseCode)
			}
			bad = append(bad, ch.Number+" "+what)
		}
	}
	add(CheckChanges, len(bad) == 0, listed("changes not closed successful", bad, count(len(r.Changes), "change", "changes")+" closed successful"))
	return nil
}

// checkEarlyLife: no incident of the listed priorities open on the
// service at any moment of the last QuietDays days, early life support
// having run that long; and the service's SLAs met often enough since it
// began.
func (s *Service) checkEarlyLife(ctx context.Context, tx storage.Tx, r *Record, e *strategy.Entry, now time.Time, add func(string, bool, string)) error {
	el := r.EarlyLife
	quiet := time.Duration(el.QuietDays) * 24 * time.Hour
	from := now.Add(-quiet)
	switch {
	case s.cfg.incidents == nil:
		add(CheckQuiet, false, fmt.Sprintf(notWired, "incident management", "WithIncidents"))
	case e.ServiceCIID == itil.NilID:
		add(CheckQuiet, false, "the portfolio entry names no service CI")
	case el.Since.IsZero() || el.Since.After(from):
		add(CheckQuiet, false, fmt.Sprintf("early life support began %s: it must run %d days", el.Since.Format(time.DateOnly), el.QuietDays))
	default:
		// Open at any moment of the window: opened in it, still open, or
		// resolved in it (canceled ones were no incident).
		var seen []string
		open := []incident.State{incident.StateNew, incident.StateInProgress, incident.StateOnHold}
		done := []incident.State{incident.StateResolved, incident.StateClosed}
		for _, on := range []incident.Filter{{CIID: e.ServiceCIID}, {ServiceID: e.ServiceCIID}} {
			inWindow, stillOpen, resolved := on, on, on
			inWindow.OpenedFrom, inWindow.OpenedTo = from, now
			stillOpen.States = open
			resolved.States, resolved.OpenedTo = done, from
			for _, f := range []incident.Filter{inWindow, stillOpen, resolved} {
				f.Priorities = el.Priorities
				for inc, err := range s.cfg.incidents.In(tx).List(ctx, f) {
					if err != nil {
						return err
					}
					if f.States != nil && slices.Equal(f.States, done) && inc.ResolvedAt.Before(from) {
						continue // resolved before the window
					}
					if inc.State != incident.StateCanceled && !slices.Contains(seen, inc.Number) {
						seen = append(seen, inc.Number)
					}
				}
			}
		}
		add(CheckQuiet, len(seen) == 0, listed(fmt.Sprintf("incidents open in the last %d days", el.QuietDays), seen,
			fmt.Sprintf("no such incident open in the last %d days", el.QuietDays)))
	}
	if el.SLACompliance.Sign() == 0 {
		return nil
	}
	if s.cfg.slm == nil {
		add(CheckEarlyLifeSLA, false, fmt.Sprintf(notWired, "SLA engine", "WithSLM"))
		return nil
	}
	// The service's own SLA cycles, completed since early life support
	// began, from the journal (the KPI facts by service): a definition
	// shared with other services does not hide this one's breaches.
	if e.ServiceCIID == itil.NilID || el.Since.IsZero() || !el.Since.Before(now) {
		add(CheckEarlyLifeSLA, false, "no SLA cycle of the service to judge yet")
		return nil
	}
	k, err := s.facts(ctx, tx)
	if err != nil {
		return err
	}
	k.mu.RLock()
	points := k.compute(&KPIQuery{By: ByService}, []time.Time{el.Since, now.Add(time.Nanosecond)}) // up to now, included
	k.mu.RUnlock()
	i := slices.IndexFunc(points, func(p KPIPoint) bool { return p.KPI == KPISLACompliance && p.Key == e.ServiceCIID.String() })
	if i < 0 {
		add(CheckEarlyLifeSLA, false, "no SLA cycle of the service completed since "+el.Since.Format(time.DateOnly))
		return nil
	}
	p := points[i]
	add(CheckEarlyLifeSLA, p.Percent.GreaterThanOrEqual(el.SLACompliance), fmt.Sprintf("%s%% of %s met since %s, against %s%%",
		p.Percent, count(p.Count, "SLA cycle", "SLA cycles"), el.Since.Format(time.DateOnly), el.SLACompliance))
	return nil
}

// count says n things, in the singular or the plural.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// listed says what a check found: the items wrong (the first few), or
// what is right when none is.
func listed(what string, items []string, ok string) string {
	if len(items) == 0 {
		return ok
	}
	shown := items[:min(len(items), maxDetailItems)]
	out := what + ": " + strings.Join(shown, ", ")
	if len(items) > len(shown) {
		out += fmt.Sprintf(" and %d more", len(items)-len(shown))
	}
	return out
}
