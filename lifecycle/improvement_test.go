package lifecycle_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil/lifecycle"
)

// TestImprovement: how far the measured KPI moved from the base toward
// the target, whichever way the target lies.
func TestImprovement(t *testing.T) {
	d := decimal.RequireFromString
	for _, c := range []struct {
		base, target, measured string
		percent                string
		reached                bool
	}{
		{"20", "8", "14", "50", false},       // time to resolve: down is better, half way
		{"20", "8", "8", "100", true},        // the target
		{"20", "8", "6", "116.67", true},     // beyond it
		{"20", "8", "22", "-16.67", false},   // the wrong way
		{"80", "95", "95.5", "103.33", true}, // SLA compliance: up is better
		{"80", "95", "90", "66.67", false},
	} {
		m := d(c.measured)
		x := lifecycle.Initiative{Base: d(c.base), Target: d(c.target), Measured: &m}
		got, ok := x.Improvement()
		assert.True(t, ok)
		assert.Equal(t, c.percent, got.String(), "%s → %s, measured %s", c.base, c.target, c.measured)
		assert.Equal(t, c.reached, x.Reached(), "%s → %s, measured %s", c.base, c.target, c.measured)
	}
	same := lifecycle.Initiative{Base: d("5"), Target: d("5"), Measured: new(decimal.Decimal)}
	_, ok := same.Improvement()
	assert.False(t, ok, "no way to go")
}
