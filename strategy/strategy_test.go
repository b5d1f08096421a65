package strategy_test

import (
	"testing"

	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy/strategytest"
)

func TestStrategyOnMemory(t *testing.T) {
	strategytest.Run(t, storagetest.SameStore(func(testing.TB) storage.Store { return memory.NewStore() }))
}
