package cmdb_test

import (
	"testing"

	"github.com/itilkit/itil/cmdb/cmdbtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
	"github.com/itilkit/itil/storage/storagetest"
)

func TestCMDBOnMemory(t *testing.T) {
	cmdbtest.Run(t, storagetest.SameStore(func(testing.TB) storage.Store { return memory.NewStore() }))
}
