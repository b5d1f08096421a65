package check

import (
	"math"

	"github.com/shopspring/decimal"
)

// Places returns the decimal places d is written with, trailing zeros
// aside ("1.50" has one). Past 40 it returns the exponent's places
// without looking closer: far finer than any limit, refused anyway.
func Places(d decimal.Decimal) int32 {
	if d.IsZero() {
		return 0
	}
	e := int64(d.Exponent()) // in 64 bits: -MinInt32 overflows 32
	if -e > 40 {
		return int32(min(-e, math.MaxInt32))
	}
	p := int32(-e)
	for p > 0 && d.Round(p-1).Equal(d) {
		p--
	}
	return max(p, 0)
}
