package lifecycle_test

import (
	"testing"

	"github.com/itilkit/itil/lifecycle/lifecycletest"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

func TestLifecycleOnMemory(t *testing.T) {
	lifecycletest.Run(t, func(testing.TB) (storage.Store, storage.Store) {
		s := memory.NewStore()
		return s, s
	})
}
