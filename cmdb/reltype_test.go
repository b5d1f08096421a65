package cmdb

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	gen "github.com/itilkit/itil/internal/estate"
)

// TestEstateTypesAreDefaults: the generated estate the benchmarks share
// names relationship types the CMDB knows.
func TestEstateTypesAreDefaults(t *testing.T) {
	var names []string
	for _, rt := range DefaultRelTypes() {
		names = append(names, rt.Name)
	}
	for _, typ := range gen.Types {
		assert.True(t, slices.Contains(names, typ), typ)
	}
}
