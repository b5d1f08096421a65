package change

import (
	"context"
	"slices"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
)

// CommandAssessRisk is the command name an Authorizer receives for
// AssessRisk.
const CommandAssessRisk = "assess_risk"

// EventRiskAssessed is journaled when a change's risk is assessed; its
// summary is the first line of the explanation (the risk and its methods).
const EventRiskAssessed = "change.risk_assessed"

// DefaultRiskModel returns the risk model a Service uses unless
// WithRiskModel replaces it: a change touching a CI of criticality 1, or
// five affected services or more, is high risk; any other is low; and
// ServiceNow's impact × success-probability lookup (DefaultRiskLookup)
// raises it when the success rating of who and what it touches is poor.
func DefaultRiskModel() RiskModel {
	lookup := DefaultRiskLookup()
	return RiskModel{
		Conditions: []RiskCondition{
			{Name: "a most critical CI", When: Condition{Field: "ci_criticality", Op: OpEq, Value: 1}, Risk: RiskHigh},
			{Name: "five affected services or more", When: Condition{Field: "affected_services", Op: OpGte, Value: 5}, Risk: RiskHigh},
			{Name: "any other change", Risk: RiskLow},
		},
		Lookup: &lookup,
	}
}

// WithRiskModel replaces DefaultRiskModel. A bad model is named under
// "risk_model.".
func WithRiskModel(m RiskModel) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		a, err := m.Compile()
		if err != nil {
			nest(v, "risk_model.", err)
			return
		}
		cfg.risk = a
	}}
}

// riskSettled refuses to change what the risk rests on once approvals
// have relied on it: while the change waits for a round of approvals, and
// in the states its model enters only with an assessed risk. Withdraw the
// change (back to New) to judge it again.
func (s *Service) riskSettled(ch *Change) error {
	if r := ch.Approval; r != nil && r.State == ch.State && r.Verdict == VerdictWaiting {
		return itilTransition("change %s waits for its approvals, which rest on its risk: withdraw it to judge it again", ch.Number)
	}
	if m, err := s.model(ch); err == nil && slices.Contains(m.RiskStates, ch.State) {
		return itilTransition("change %s is %s, approved on its risk: withdraw it to judge it again", ch.Number, ch.State)
	}
	return nil
}

// clearRisk forgets the risk of ch: the change's impact, CIs or model
// changed, so its risk is assessed again. The affected services stay:
// they follow the CIs (see Update).
func (ch *Change) clearRisk() {
	ch.Risk, ch.RiskExplanation = 0, ""
}

// AssessRisk assesses the risk of the change id by the Service's risk
// model (see RiskModel): its conditions on the change's facts, the
// questionnaire with answers (question name → answer name), and the
// lookup of its impact against its success rating. The highest risk wins;
// the change keeps it, the impact a condition set, and the explanation
// (RiskExplanation), journaled. The change must not have reached
// Implement, nor be waiting for approvals or in a state its model enters
// only with a risk (an error wrapping itil.ErrInvalidTransition: approvals
// rest on the risk). Answers the questionnaire does not have give a
// *itil.ValidationError naming "answers.<question>".
func (s *Service) AssessRisk(ctx context.Context, actor itil.Actor, id itil.ID, answers map[string]string) (*Change, error) {
	return s.runBooking(ctx, actor, id, CommandAssessRisk, func(c *cmd, ch *Change) (event, error) {
		if err := requireActive(ch, "assess the risk of"); err != nil {
			return event{}, err
		}
		if ch.State == StateImplement || ch.State == StateReview {
			return event{}, itilTransition("change %s is %s; its risk is assessed before it is implemented", ch.Number, ch.State)
		}
		if err := s.riskSettled(ch); err != nil {
			return event{}, err
		}
		if err := s.setAffectedServices(c, ch); err != nil { // cmdb.go
			return event{}, err
		}
		f, err := s.facts(c, ch)
		if err != nil {
			return event{}, err
		}
		rating, err := s.successRating(c, ch) // success.go
		if err != nil {
			return event{}, err
		}
		a, err := s.cfg.risk.Assess(f, answers, rating)
		if err != nil {
			return event{}, err
		}
		ch.Risk, ch.RiskExplanation = a.Risk, check.Cut(a.Explain(), check.Long)
		if a.Impact != 0 {
			ch.Impact = a.Impact
		}
		// The explanation's first line says the risk and its methods; the
		// rest is in the change's risk_explanation, journaled as a field.
		summary, _, _ := strings.Cut(ch.RiskExplanation, "\n")
		return event{Type: EventRiskAssessed, Summary: summary}, nil
	})
}
