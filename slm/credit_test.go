package slm_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/slm"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// creditAvail is an availability of exactly percent over 1,000,000 s of
// agreed time.
func creditAvail(t testing.TB, percent string) slm.Availability {
	t.Helper()
	const agreed = 1_000_000 * time.Second
	lost := decimal.NewFromInt(100).Sub(availDec(percent)).Mul(decimal.NewFromInt(int64(agreed))).Div(decimal.NewFromInt(100))
	require.True(t, lost.IsInteger(), "%s%% is not a whole number of nanoseconds", percent)
	a := slm.Availability{Service: "web", Agreed: agreed, Downtime: time.Duration(lost.IntPart())}
	require.True(t, a.Meets(availDec(percent)))
	return a
}

func creditMoney(t testing.TB, amount, currency string) slm.Money {
	t.Helper()
	m, err := slm.NewMoney(amount, currency)
	require.NoError(t, err)
	return m
}

func creditTier(below, percent string) slm.CreditTier {
	return slm.CreditTier{Below: availDec(below), Percent: availDec(percent)}
}

// creditStandard is below 99.9% → 10%, below 99% → 25%.
var creditStandard = slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "10"), creditTier("99", "25")}}

func TestMoney(t *testing.T) {
	tests := []struct {
		amount, currency string
		str              string // String
		rounded          string // Round().String()
	}{
		{"1234.5", "USD", "1234.50 USD", "1234.50 USD"},
		{"1234.50", "EUR", "1234.50 EUR", "1234.50 EUR"},
		{"0", "EUR", "0.00 EUR", "0.00 EUR"},
		{"1000", "JPY", "1000 JPY", "1000 JPY"},
		{"2.5", "JPY", "2.5 JPY", "3 JPY"},
		{"-2.5", "JPY", "-2.5 JPY", "-3 JPY"},
		{"1.5", "KWD", "1.500 KWD", "1.500 KWD"},
		{"1.0005", "KWD", "1.0005 KWD", "1.001 KWD"},
		{"0.125", "USD", "0.125 USD", "0.13 USD"},
		{"1.005", "EUR", "1.005 EUR", "1.01 EUR"},       // half away from zero, not to even
		{"-1.005", "EUR", "-1.005 EUR", "-1.01 EUR"},    // symmetric for negatives
		{"1.004999", "EUR", "1.004999 EUR", "1.00 EUR"}, // no double rounding
		{"1.015", "EUR", "1.015 EUR", "1.02 EUR"},
		{"1.025", "EUR", "1.025 EUR", "1.03 EUR"}, // banker's would give 1.02
		{"1e3", "GBP", "1000.00 GBP", "1000.00 GBP"},
	}
	for _, tt := range tests {
		t.Run(tt.amount+" "+tt.currency, func(t *testing.T) {
			m := creditMoney(t, tt.amount, tt.currency)
			assert.Equal(t, tt.currency, m.Currency)
			assert.True(t, m.Amount.Equal(availDec(tt.amount)), "parsed exactly")
			assert.Equal(t, tt.str, m.String())
			assert.Equal(t, tt.rounded, m.Round().String())
			assert.Equal(t, tt.currency, m.Round().Currency)
		})
	}
	assert.Equal(t, "0.00", slm.Money{}.String(), "zero value")
}

func TestMoneyJSON(t *testing.T) {
	m := creditMoney(t, "1234.56789", "USD")
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.JSONEq(t, `{"amount":"1234.56789","currency":"USD"}`, string(b), "amount as an exact string")
	var back slm.Money
	require.NoError(t, json.Unmarshal(b, &back))
	assert.True(t, back.Amount.Equal(m.Amount))
	assert.Equal(t, "USD", back.Currency)
}

func TestNewMoneyValidation(t *testing.T) {
	tests := []struct {
		amount, currency string
		fields           []string
	}{
		{"", "EUR", []string{"amount"}},
		{"abc", "EUR", []string{"amount"}},
		{"1,000.00", "EUR", []string{"amount"}},
		{"12.5 ", "EUR", []string{"amount"}},
		{"12.5", "", []string{"currency"}},
		{"12.5", "eur", []string{"currency"}},
		{"12.5", "EU", []string{"currency"}},
		{"12.5", "EURO", []string{"currency"}},
		{"12.5", "€", []string{"currency"}},
		{"x", "x", []string{"amount", "currency"}},
	}
	for _, tt := range tests {
		t.Run(tt.amount+"/"+tt.currency, func(t *testing.T) {
			_, err := slm.NewMoney(tt.amount, tt.currency)
			assertFields(t, err, tt.fields...)
		})
	}
}

// assertFields checks that err is a *itil.ValidationError naming exactly
// fields, in order, each with a reason.
func assertFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ve *itil.ValidationError
	require.True(t, errors.As(err, &ve), "want *itil.ValidationError, got %v", err)
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field)
		assert.NotEmpty(t, f.Reason, f.Field)
	}
	assert.Equal(t, fields, got, "%v", err)
}

func TestCredit(t *testing.T) {
	eur := creditMoney(t, "1000.00", "EUR")
	tests := []struct {
		name         string
		policy       slm.CreditPolicy
		availability string
		fee          slm.Money
		want         string // Money.String
	}{
		{"100% earns nothing", creditStandard, "100", eur, "0.00 EUR"},
		{"99.95% earns nothing", creditStandard, "99.95", eur, "0.00 EUR"},
		{"exactly 99.9% is not below 99.9", creditStandard, "99.9", eur, "0.00 EUR"},
		{"a hair below 99.9% earns 10%", creditStandard, "99.8999999", eur, "100.00 EUR"},
		{"99.5% earns 10%", creditStandard, "99.5", eur, "100.00 EUR"},
		{"exactly 99% is not below 99", creditStandard, "99", eur, "100.00 EUR"},
		{"98% earns 25%", creditStandard, "98", eur, "250.00 EUR"},
		{"0% earns 25%", creditStandard, "0", eur, "250.00 EUR"},
		{"tier order does not matter", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99", "25"), creditTier("99.9", "10")}},
			"98", eur, "250.00 EUR"},
		{"JPY rounds to whole yen, half away from zero", creditStandard, "99.5", creditMoney(t, "12345", "JPY"), "1235 JPY"},
		{"JPY rounds down below the half", creditStandard, "98", creditMoney(t, "12345", "JPY"), "3086 JPY"},
		{"KWD keeps three places", creditStandard, "98", creditMoney(t, "10.005", "KWD"), "2.501 KWD"},
		{"half a cent rounds away from zero", creditStandard, "99.5", creditMoney(t, "10.05", "EUR"), "1.01 EUR"},
		{"12.5% of 100.04 is 12.505, rounds up",
			slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "12.5")}}, "99", creditMoney(t, "100.04", "EUR"), "12.51 EUR"},
		{"rounded once at the end, not the fee first",
			slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "50")}}, "99", creditMoney(t, "10.049", "USD"), "5.02 USD"},
		{"the cap limits the percent",
			slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "10"), creditTier("99", "25"), creditTier("95", "50")}, Cap: availDec("30")},
			"90", eur, "300.00 EUR"},
		{"a cap above the tier has no effect",
			slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "10"), creditTier("99", "25"), creditTier("95", "50")}, Cap: availDec("30")},
			"96", eur, "250.00 EUR"},
		{"100% credit at 100", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("100", "100")}}, "99.9999999", eur, "1000.00 EUR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.Credit(creditAvail(t, tt.availability), tt.fee)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
			assert.Equal(t, tt.fee.Currency, got.Currency)
		})
	}
}

func TestCreditFromMeasuredMonth(t *testing.T) {
	// 30 days of 24×7 and 3.6 h down: 99.5%, below 99.9, not below 99.
	from := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	a, err := slm.MeasureAvailability(avail24x7, "web",
		[]slm.Outage{{Service: "web", Start: from.Add(time.Hour), End: from.Add(time.Hour + 216*time.Minute)}},
		from, from.AddDate(0, 1, 0))
	require.NoError(t, err)
	require.True(t, a.Percent.Equal(availDec("99.5")))
	got, err := creditStandard.Credit(a, creditMoney(t, "1000.00", "EUR"))
	require.NoError(t, err)
	assert.True(t, got.Amount.Equal(availDec("100")), "%s", got)

	// No agreed hours: nothing was lost, nothing is owed.
	got, err = creditStandard.Credit(slm.Availability{Service: "web"}, creditMoney(t, "1000.00", "EUR"))
	require.NoError(t, err)
	assert.True(t, got.Amount.IsZero())
	assert.Equal(t, "0.00 EUR", got.String())
}

func TestCreditPolicyValidation(t *testing.T) {
	tests := []struct {
		name   string
		policy slm.CreditPolicy
		fields []string
	}{
		{"no tiers", slm.CreditPolicy{}, []string{"tiers"}},
		{"below zero", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("0", "10")}}, []string{"tiers[0].below"}},
		{"below negative", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("-1", "10")}}, []string{"tiers[0].below"}},
		{"below above 100", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99", "25"), creditTier("100.1", "10")}}, []string{"tiers[1].below"}},
		{"percent negative", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99", "-1")}}, []string{"tiers[0].percent"}},
		{"percent above 100", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99", "100.01")}}, []string{"tiers[0].percent"}},
		{"duplicate below", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "10"), creditTier("99", "25"), creditTier("99.90", "10")}},
			[]string{"tiers[2].below"}},
		{"worse availability, smaller credit", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99.9", "25"), creditTier("99", "10")}},
			[]string{"tiers[1].percent"}},
		{"cap negative", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99", "10")}, Cap: availDec("-5")}, []string{"cap"}},
		{"cap above 100", slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("99", "10")}, Cap: availDec("101")}, []string{"cap"}},
		{"every bad field at once",
			slm.CreditPolicy{Tiers: []slm.CreditTier{creditTier("0", "101"), creditTier("99", "10"), creditTier("99", "10")}, Cap: availDec("-1")},
			[]string{"tiers[0].below", "tiers[0].percent", "tiers[2].below", "cap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertFields(t, tt.policy.Validate(), tt.fields...)
			_, err := tt.policy.Credit(creditAvail(t, "50"), creditMoney(t, "1000", "EUR"))
			assertFields(t, err, tt.fields...)
		})
	}
	t.Run("valid policies", func(t *testing.T) {
		for _, p := range []slm.CreditPolicy{
			creditStandard,
			{Tiers: []slm.CreditTier{creditTier("100", "0")}},
			{Tiers: []slm.CreditTier{creditTier("99", "25"), creditTier("99.9", "25")}, Cap: availDec("100")},
			{Tiers: []slm.CreditTier{creditTier("0.0001", "100")}, Cap: availDec("0.5")},
		} {
			assert.NoError(t, p.Validate(), "%+v", p)
		}
	})
	t.Run("bad fee", func(t *testing.T) {
		a := creditAvail(t, "50")
		_, err := creditStandard.Credit(a, slm.Money{Amount: availDec("10"), Currency: "eur"})
		assertFields(t, err, "fee.currency")
		_, err = creditStandard.Credit(a, slm.Money{Amount: availDec("-10"), Currency: "EUR"})
		assertFields(t, err, "fee.amount")
		_, err = creditStandard.Credit(a, slm.Money{})
		assertFields(t, err, "fee.currency")
	})
}

func TestCreditPolicyJSON(t *testing.T) {
	b, err := json.Marshal(creditStandard)
	require.NoError(t, err)
	assert.JSONEq(t, `{"tiers":[{"below":"99.9","percent":"10"},{"below":"99","percent":"25"}]}`, string(b), "no cap, no cap field")
	var back slm.CreditPolicy
	require.NoError(t, json.Unmarshal([]byte(`{"tiers":[{"below":99.9,"percent":"10"}],"cap":"50"}`), &back))
	require.Len(t, back.Tiers, 1)
	assert.True(t, back.Tiers[0].Below.Equal(availDec("99.9")))
	assert.True(t, back.Cap.Equal(availDec("50")))
}

func TestCreditProperties(t *testing.T) {
	policies := []slm.CreditPolicy{
		creditStandard,
		{Tiers: []slm.CreditTier{creditTier("99.99", "5"), creditTier("99.9", "10"), creditTier("99.5", "25"), creditTier("95", "100")}, Cap: availDec("50")},
		{Tiers: []slm.CreditTier{creditTier("100", "12.5")}},
	}
	fees := []slm.Money{
		creditMoney(t, "1000.00", "EUR"), creditMoney(t, "12345", "JPY"),
		creditMoney(t, "10.049", "USD"), creditMoney(t, "7.777", "KWD"), creditMoney(t, "0", "GBP"),
	}
	rapid.Check(t, func(t *rapid.T) {
		p := rapid.SampledFrom(policies).Draw(t, "policy")
		fee := rapid.SampledFrom(fees).Draw(t, "fee")
		agreed := time.Duration(rapid.Int64Range(0, 31*24*3600).Draw(t, "agreed")) * time.Second
		d1 := time.Duration(rapid.Int64Range(0, int64(agreed)).Draw(t, "down1"))
		d2 := time.Duration(rapid.Int64Range(int64(d1), int64(agreed)).Draw(t, "down2"))
		better := slm.Availability{Agreed: agreed, Downtime: d1}
		worse := slm.Availability{Agreed: agreed, Downtime: d2}
		c1, err := p.Credit(better, fee)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := p.Credit(worse, fee)
		if err != nil {
			t.Fatal(err)
		}
		if c1.Currency != fee.Currency || c2.Currency != fee.Currency {
			t.Fatalf("currency %s, %s, fee in %s", c1.Currency, c2.Currency, fee.Currency)
		}
		if c1.Amount.IsNegative() || c2.Amount.GreaterThan(fee.Round().Amount) {
			t.Fatalf("credits %s, %s outside [0, %s]", c1, c2, fee)
		}
		if c2.Amount.LessThan(c1.Amount) {
			t.Fatalf("more downtime (%v > %v) earned less credit: %s < %s", d2, d1, c2, c1)
		}
		if !c1.Round().Amount.Equal(c1.Amount) {
			t.Fatalf("credit %s is not rounded to minor units", c1)
		}
	})
}
