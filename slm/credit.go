package slm

import (
	"fmt"
	"slices"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/shopspring/decimal"
)

// CreditTier says: when availability is strictly below Below (a percentage,
// such as 99.9), the service credit is Percent of the fee.
type CreditTier struct {
	Below   decimal.Decimal `json:"below"`
	Percent decimal.Decimal `json:"percent"`
}

// CreditPolicy is a tiered service-credit rule, as written in an SLA: for
// example below 99.9% availability a credit of 10% of the monthly fee, below
// 99% a credit of 25%:
//
//	CreditPolicy{Tiers: []CreditTier{
//		{Below: decimal.RequireFromString("99.9"), Percent: decimal.NewFromInt(10)},
//		{Below: decimal.NewFromInt(99), Percent: decimal.NewFromInt(25)},
//	}}
//
// The order of Tiers does not matter.
type CreditPolicy struct {
	Tiers []CreditTier `json:"tiers"`
	// Cap is the most a credit may be, in percent of the fee. Zero means no
	// cap (beyond the 100% no tier may exceed).
	Cap decimal.Decimal `json:"cap,omitzero"`
}

// Validate checks the policy and returns a *itil.ValidationError naming
// every bad field, or nil:
//
//   - "tiers": at least one tier is required;
//   - "tiers[i].below": in (0, 100], and no two tiers with the same Below;
//   - "tiers[i].percent": in [0, 100], and no smaller than the percent of
//     any milder tier (one with a higher Below), so a worse availability
//     never earns a smaller credit;
//   - "cap": zero (no cap) or in (0, 100].
func (p CreditPolicy) Validate() error {
	v := &itil.ValidationError{}
	p.validate(v)
	return v.Err()
}

func (p CreditPolicy) validate(v *itil.ValidationError) {
	if len(p.Tiers) == 0 {
		v.Add("tiers", "at least one tier is required (such as below 99.9% a credit of 10%)")
	}
	ranges := true // every Below and Percent in range, so tiers can be compared
	for i, t := range p.Tiers {
		if !t.Below.IsPositive() || t.Below.GreaterThan(hundred) {
			ranges = false
			v.Add(fmt.Sprintf("tiers[%d].below", i), fmt.Sprintf("must be a percentage above 0 and at most 100, got %s", t.Below))
		} else if j := slices.IndexFunc(p.Tiers[:i], func(u CreditTier) bool { return u.Below.Equal(t.Below) }); j >= 0 {
			v.Add(fmt.Sprintf("tiers[%d].below", i), fmt.Sprintf("%s%% is already the threshold of tiers[%d]", t.Below, j))
		}
		if t.Percent.IsNegative() || t.Percent.GreaterThan(hundred) {
			ranges = false
			v.Add(fmt.Sprintf("tiers[%d].percent", i), fmt.Sprintf("must be a percentage of the fee from 0 to 100, got %s", t.Percent))
		}
	}
	for i, t := range p.Tiers {
		if !ranges {
			break
		}
		// The mildest tier with a higher threshold and a larger credit, if any.
		milder := -1
		for j, u := range p.Tiers {
			if u.Below.GreaterThan(t.Below) && u.Percent.GreaterThan(t.Percent) &&
				(milder < 0 || u.Below.GreaterThan(p.Tiers[milder].Below)) {
				milder = j
			}
		}
		if milder >= 0 {
			u := p.Tiers[milder]
			v.Add(fmt.Sprintf("tiers[%d].percent", i), fmt.Sprintf(
				"a credit of %s%% below %s%% is less than the %s%% of tiers[%d] below %s%%; a worse availability must not earn a smaller credit",
				t.Percent, t.Below, u.Percent, milder, u.Below))
		}
	}
	if p.Cap.IsNegative() || p.Cap.GreaterThan(hundred) {
		v.Add("cap", fmt.Sprintf("must be 0 (no cap) or a percentage of the fee up to 100, got %s", p.Cap))
	}
}

// Credit returns the service credit that a's availability earns against
// fee (the fee for the measured period).
//
// The applicable tier is the most severe one that applies: of the tiers
// whose Below the availability is strictly below, the one with the lowest
// Below. "Below 99%" means an availability under 99 exactly, compared as
// exactly as in Availability.Meets (a tier applies when !a.Meets(Below)),
// so exactly 99.9% earns nothing from a "below 99.9" tier. When no tier
// applies, including when the period held no agreed hours, the credit is
// zero in fee's currency.
//
// Rounding: the credit is fee × percent / 100 (percent capped at Cap when
// Cap is set), computed exactly and rounded once, at the end, to the
// currency's minor units, half away from zero (see Money.Round): 10% of
// 10.05 EUR is 1.01 EUR, 10% of 12345 JPY is 1235 JPY. The fee itself is not
// rounded first.
//
// Errors are a *itil.ValidationError: the policy's own (see Validate),
// "fee.currency" when fee's currency is not an ISO 4217 code,
// "fee.amount" when the fee is negative, and "availability.from" or
// "availability.to" when a time of the measured window lies outside the
// years 1 to 9999.
func (p CreditPolicy) Credit(a Availability, fee Money) (Money, error) {
	v := &itil.ValidationError{}
	p.validate(v)
	checkCurrency(v, "fee.currency", fee.Currency)
	if fee.Amount.IsNegative() {
		v.Add("fee.amount", fmt.Sprintf("must not be negative, got %s", fee.Amount))
	}
	// The window the availability was measured over, when given.
	if !a.From.IsZero() {
		check.Time(v, "availability.from", a.From)
	}
	if !a.To.IsZero() {
		check.Time(v, "availability.to", a.To)
	}
	if err := v.Err(); err != nil {
		return Money{}, err
	}
	var tier *CreditTier
	for i := range p.Tiers {
		t := &p.Tiers[i]
		if !a.Meets(t.Below) && (tier == nil || t.Below.LessThan(tier.Below)) {
			tier = t
		}
	}
	pct := decimal.Zero
	if tier != nil {
		pct = tier.Percent
		if p.Cap.IsPositive() && pct.GreaterThan(p.Cap) {
			pct = p.Cap
		}
	}
	// Multiplying by a decimal and shifting by two places is exact.
	return Money{Amount: fee.Amount.Mul(pct).Shift(-2), Currency: fee.Currency}.Round(), nil
}
