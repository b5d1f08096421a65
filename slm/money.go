package slm

import (
	"fmt"

	"github.com/itilkit/itil"
	"github.com/shopspring/decimal"
)

// Money is an exact amount in a currency. It is never a float: the amount is
// a decimal held exactly, and amounts are compared with Amount.Equal or
// Amount.Cmp, never with ==.
//
// In JSON the amount is a string, so no precision is lost on the way through
// a JavaScript client: {"amount":"1234.5","currency":"USD"}. Decoding accepts
// a string or a number.
type Money struct {
	Amount decimal.Decimal `json:"amount"`
	// Currency is an ISO 4217 alphabetic code: three upper-case letters,
	// such as "EUR".
	Currency string `json:"currency"`
}

// NewMoney parses amount exactly (a decimal such as "1234.50" or "-0.005";
// no thousands separators) in currency, an ISO 4217 code of three
// upper-case letters. The amount is kept as given, not rounded; see Round.
//
// A bad amount or currency is reported as a *itil.ValidationError naming
// "amount" and/or "currency". The currency's shape is checked, not its
// membership of the ISO list.
func NewMoney(amount string, currency string) (Money, error) {
	v := &itil.ValidationError{}
	var d decimal.Decimal
	if amount == "" {
		v.Add("amount", "is required (a decimal such as 1234.50)")
	} else if p, err := decimal.NewFromString(amount); err != nil {
		v.Add("amount", fmt.Sprintf("%q is not a decimal number (write it like 1234.50, without separators)", amount))
	} else {
		d = p
	}
	checkCurrency(v, "currency", currency)
	if err := v.Err(); err != nil {
		return Money{}, err
	}
	return Money{Amount: d, Currency: currency}, nil
}

// checkCurrency records field as bad unless code has the shape of an
// ISO 4217 alphabetic code.
func checkCurrency(v *itil.ValidationError, field, code string) {
	if !isCurrencyCode(code) {
		v.Add(field, fmt.Sprintf("%q is not an ISO 4217 currency code (three upper-case letters, such as EUR)", code))
	}
}

func isCurrencyCode(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := range len(code) {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// MinorUnits returns the number of decimal places of currency's minor
// unit (ISO 4217), as Round rounds to: 0 for JPY, 3 for KWD, 2 for most.
func MinorUnits(currency string) int32 { return minorUnits(currency) }

// minorUnits returns the number of decimal places of currency's minor unit
// (ISO 4217): 0 for JPY, KRW and the other currencies without a minor unit,
// 3 for BHD, IQD, JOD, KWD, LYD, OMR and TND, 4 for the CLF and UYW units
// of account, and 2 for every other code.
func minorUnits(currency string) int32 {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
		"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// String formats m as "1234.50 USD": the amount with at least the
// currency's minor units (0 for JPY, 3 for KWD, otherwise 2) and more when
// the amount is finer than that, so String never rounds ("0.125 USD").
func (m Money) String() string {
	places := minorUnits(m.Currency)
	for !m.Amount.Round(places).Equal(m.Amount) {
		places++
	}
	s := m.Amount.StringFixed(places)
	if m.Currency == "" {
		return s
	}
	return s + " " + m.Currency
}

// Round returns m rounded to its currency's minor unit (2 places for EUR,
// 0 for JPY, 3 for KWD), half away from zero ("commercial" half-up): 1.005
// EUR becomes 1.01 EUR and −1.005 EUR becomes −1.01 EUR, 2.5 JPY becomes
// 3 JPY. A tie is never rounded to even.
func (m Money) Round() Money {
	return Money{Amount: m.Amount.Round(minorUnits(m.Currency)), Currency: m.Currency}
}
