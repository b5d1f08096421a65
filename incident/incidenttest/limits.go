package incidenttest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
)

// testLimits: the indexed fields at their longest (an assignment group and
// an assignee of 160 four-byte characters, in the incident's index terms)
// are stored and found by List and ListPage on every backend; a filter
// value no incident can hold is a *itil.ValidationError naming the
// filter's field, not a storage error.
func testLimits(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	group, assignee := strings.Repeat("𝄞", 160), strings.Repeat("ü", 80)+strings.Repeat("𝄞", 80)
	inc := f.open("longest names")
	inc, err := f.svc.Assign(f.ctx, agent, inc.ID, group, assignee)
	require.NoError(t, err)
	f.open("other")

	filters := []incident.Filter{
		{AssignmentGroups: []string{group}},
		{Assignees: []string{assignee}},
		{AssignmentGroups: []string{"other", group}, Assignees: []string{assignee}},
	}
	for _, fl := range filters {
		var ids []itil.ID
		for got, err := range f.svc.List(f.ctx, fl) {
			require.NoError(t, err)
			ids = append(ids, got.ID)
		}
		require.Equal(t, []itil.ID{inc.ID}, ids, "%+v", fl)
		page, next, err := f.svc.ListPage(f.ctx, fl, 10, "")
		require.NoError(t, err)
		require.Empty(t, next)
		require.Len(t, page, 1)
		require.Equal(t, group, page[0].AssignmentGroup)
		require.Equal(t, assignee, page[0].Assignee)
	}

	requireField := func(err error, field string) {
		t.Helper()
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v)
		require.True(t, v.Has(field), "%v should name %s", v, field)
	}
	_, err = f.svc.Assign(f.ctx, agent, inc.ID, group+"x", "")
	requireField(err, "group")
	_, err = f.svc.Assign(f.ctx, agent, inc.ID, "network", assignee+"x")
	requireField(err, "assignee")
	for _, err := range f.svc.List(f.ctx, incident.Filter{AssignmentGroups: []string{"network", group + "x"}}) {
		requireField(err, "assignment_groups[1]")
	}
	_, _, err = f.svc.ListPage(f.ctx, incident.Filter{Assignees: []string{assignee + "x"}}, 10, "")
	requireField(err, "assignees[0]")
	got, err := f.svc.Get(f.ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc.Version, got.Version, "nothing was written")
}
