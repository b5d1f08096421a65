package slm_test

import (
	"testing"

	"github.com/itilkit/itil/slm/slmtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

func TestSLMOnMemory(t *testing.T) {
	slmtest.Run(t, func(testing.TB) storage.Store { return memory.NewStore() })
}
