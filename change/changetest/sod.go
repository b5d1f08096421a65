package changetest

import (
	"testing"
	"time"

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

// testOneVote: a delegate for several approvers of a step decides once in
// it; the others' requests stay theirs.
func testOneVote(t *testing.T, newStore func(*testing.T) storage.Store) {
	f := setup(t, newStore)
	ch := f.plannedChange(change.ModelNormal, 2, f.clock.Now().Add(48*time.Hour), change.MoveAssess, change.MoveAuthorize)
	require.Equal(t, change.VerdictWaiting, ch.Approval.Verdict, "half of the CAB is asked")
	for _, from := range []string{"cara", "cole"} {
		require.NoError(t, f.svc.Delegate(f.ctx, itil.Actor{ID: from, Name: from},
			change.Delegation{From: from, To: "dan", Start: f.clock.Now()}))
	}
	got, err := f.svc.Approve(f.ctx, itil.Actor{ID: "dan", Name: "dan"}, ch.ID, "for both")
	require.NoError(t, err)
	assert.Equal(t, change.VerdictWaiting, got.Approval.Verdict, "one person, one vote: 1 of 4 is not half")
	recs, err := f.svc.Approvals(f.ctx, ch.ID)
	require.NoError(t, err)
	var byDan []string
	for _, a := range recs {
		if a.Delegate == "dan" {
			byDan = append(byDan, a.Approver)
		}
	}
	assert.Equal(t, []string{"cara"}, byDan, "decided for the least approver only")
	_, err = f.svc.Approve(f.ctx, itil.Actor{ID: "dan", Name: "dan"}, ch.ID, "again")
	require.ErrorIs(t, err, itil.ErrForbidden, "nothing more is asked of dan in the step")
	got, err = f.svc.Approve(f.ctx, itil.Actor{ID: "cole", Name: "cole"}, ch.ID, "")
	require.NoError(t, err)
	assert.Equal(t, change.VerdictAccepted, got.Approval.Verdict)
}
