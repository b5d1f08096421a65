package cmdb_test

import (
	"testing"

	"github.com/itilkit/itil/cmdb/cmdbtest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

func TestCMDBOnMemory(t *testing.T) {
	cmdbtest.Run(t, func(testing.TB) storage.Store { return memory.NewStore() })
}
