package changetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
)

// testImplementerSoD: whoever approved a change does not become its
// assignee, who implements it, unless segregation of duties is off.
func testImplementerSoD(t *testing.T, newStore func(*testing.T) storage.Store) {
	for _, sod := range []bool{true, false} {
		var opts []change.Option
		if !sod {
			opts = append(opts, change.WithoutSegregationOfDuties())
		}
		f := setup(t, newStore, opts...)
		ch := f.open(change.ModelNormal)
		f.move(ch.ID, change.MoveAssess, "approve:mia")
		n := testkit.JournalLen(t, f.store)
		_, err := f.svc.Assign(f.ctx, requester, ch.ID, "messaging", "mia")
		if !sod {
			require.NoError(t, err, "without segregation of duties")
			continue
		}
		testkit.RequireFields(t, err, "assignee")
		assert.Equal(t, n, testkit.JournalLen(t, f.store), "nothing written")
		got, err := f.svc.Assign(f.ctx, requester, ch.ID, "messaging", "max")
		require.NoError(t, err)
		assert.Equal(t, "max", got.Assignee)

		// A delegate who decided in an approver's name approved too.
		other := f.open(change.ModelNormal)
		require.NoError(t, f.svc.Delegate(f.ctx, itil.Actor{ID: "max", Name: "max"},
			change.Delegation{From: "max", To: "ned", Start: f.clock.Now()}))
		f.move(other.ID, change.MoveAssess, "approve:ned")
		_, err = f.svc.Assign(f.ctx, requester, other.ID, "network", "ned")
		testkit.RequireFields(t, err, "assignee")
	}
}
