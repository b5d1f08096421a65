package problemtest

import (
	"testing"

	"github.com/itilkit/itil/storage/storagetest"
)

// runFixAndTrends runs the cases of fix records, trend wiring and SLAs.
func runFixAndTrends(t *testing.T, newStore NewStore, instances storagetest.Instances) {
	t.Run("FixRecords", func(t *testing.T) { testFixRecords(t, newStore) })
	t.Run("DuplicateFixRecords", func(t *testing.T) { testDuplicateFixRecords(t, newStore) })
	t.Run("TwoInstances/FixReady", func(t *testing.T) { testTwoInstancesFixReady(t, instances) })
	t.Run("TwoInstances/TrendWatch", func(t *testing.T) { testTrendWatch(t, instances) })
	t.Run("TwoInstances/TrendWatchSkew", func(t *testing.T) { testTrendWatchSkew(t, instances) })
	t.Run("TrendWatchBadEvent", func(t *testing.T) { testTrendWatchBadEvent(t, newStore) })
	t.Run("SLA", func(t *testing.T) { testSLA(t, newStore) })
}
