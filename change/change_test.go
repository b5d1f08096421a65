package change_test

import (
	"testing"

	"github.com/itilkit/itil/change/changetest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

func TestChangeOnMemory(t *testing.T) {
	changetest.Run(t, storagetest.SameStore(func(testing.TB) storage.Store { return memory.NewStore() }))
}
