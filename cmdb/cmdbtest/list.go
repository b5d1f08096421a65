package cmdbtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
)

// list: List's filters (classes with their subclasses, several states, a
// name prefix, attribute values that must all hold) combine, results come
// in name order, ListPage pages through the same results, and Baselines
// lists baselines by name.
func list(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	svc, err := cmdb.New(newStore(t), cmdb.WithClock(itil.ClockFunc(func() time.Time { return now })))
	require.NoError(t, err)
	mk := func(class, name string, st cmdb.State, attrs map[string]string) {
		t.Helper()
		_, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name, State: st, Attributes: attrs})
		require.NoError(t, err)
	}
	mk(cmdb.ClassLinuxServer, "web-02", cmdb.Operational, map[string]string{"cpu_count": "8", "domain": "corp"})
	mk(cmdb.ClassLinuxServer, "web-01", cmdb.Planned, map[string]string{"cpu_count": "8", "domain": "lab"})
	mk(cmdb.ClassWindowsServer, "web-03", cmdb.InBuild, map[string]string{"cpu_count": "4", "domain": "corp"})
	mk(cmdb.ClassServer, "db-01", cmdb.Operational, map[string]string{"cpu_count": "8", "domain": "corp"})
	mk(cmdb.ClassNetworkDevice, "web-sw", cmdb.Operational, map[string]string{"domain": "corp"})
	mk(cmdb.ClassApplication, "webshop", cmdb.Planned, nil)
	mk(cmdb.ClassBusinessService, "Web", cmdb.Operational, nil)
	mk(cmdb.ClassApplicationService, "Webmail", cmdb.InBuild, nil)

	names := func(f cmdb.Filter) []string {
		t.Helper()
		var out []string
		for c, err := range svc.List(ctx, f) {
			require.NoError(t, err)
			out = append(out, c.Name)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    cmdb.Filter
		want []string
	}{
		{"everything, by name", cmdb.Filter{}, []string{"Web", "Webmail", "db-01", "web-01", "web-02", "web-03", "web-sw", "webshop"}},
		{"a class with its subclasses", cmdb.Filter{Classes: []string{cmdb.ClassServer}}, []string{"db-01", "web-01", "web-02", "web-03"}},
		{"a leaf class", cmdb.Filter{Classes: []string{cmdb.ClassLinuxServer}}, []string{"web-01", "web-02"}},
		{"several classes", cmdb.Filter{Classes: []string{cmdb.ClassBusinessService, cmdb.ClassNetworkDevice}},
			[]string{"Web", "Webmail", "web-sw"}},
		{"overlapping classes", cmdb.Filter{Classes: []string{cmdb.ClassHardware, cmdb.ClassServer}},
			[]string{"db-01", "web-01", "web-02", "web-03", "web-sw"}},
		{"several states", cmdb.Filter{States: []cmdb.State{cmdb.Planned, cmdb.InBuild}}, []string{"Webmail", "web-01", "web-03", "webshop"}},
		{"a name prefix", cmdb.Filter{NamePrefix: "web-"}, []string{"web-01", "web-02", "web-03", "web-sw"}},
		{"a prefix is case sensitive", cmdb.Filter{NamePrefix: "Web"}, []string{"Web", "Webmail"}},
		{"an attribute", cmdb.Filter{Attributes: map[string]string{"cpu_count": "8"}}, []string{"db-01", "web-01", "web-02"}},
		{"every attribute must hold", cmdb.Filter{Attributes: map[string]string{"cpu_count": "8", "domain": "corp"}},
			[]string{"db-01", "web-02"}},
		{"all together", cmdb.Filter{Classes: []string{cmdb.ClassServer}, States: []cmdb.State{cmdb.Operational, cmdb.InBuild},
			NamePrefix: "web", Attributes: map[string]string{"domain": "corp"}}, []string{"web-02", "web-03"}},
		{"nothing matches", cmdb.Filter{Classes: []string{cmdb.ClassLocation}}, nil},
	} {
		require.Equal(t, c.want, names(c.f), c.name)
	}

	yielded := 0
	for c, err := range svc.List(ctx, cmdb.Filter{Classes: []string{"mainframe"}, States: []cmdb.State{"broken"},
		Attributes: map[string]string{"Bad Name": "x", "domain": ""}}) {
		yielded++
		require.Nil(t, c)
		testkit.RequireFields(t, err, "classes[0]", "states[0]", "attributes.Bad Name", "attributes.domain")
	}
	require.Equal(t, 1, yielded, "a bad filter yields its error once")

	// Pages of two, through the servers and the switch.
	f := cmdb.Filter{Classes: []string{cmdb.ClassHardware}}
	var paged []string
	token, pages := "", 0
	for {
		items, next, err := svc.ListPage(ctx, f, 2, token)
		require.NoError(t, err)
		require.LessOrEqual(t, len(items), 2)
		for _, c := range items {
			paged = append(paged, c.Name)
		}
		pages++
		if next == "" {
			break
		}
		token = next
	}
	require.Equal(t, names(f), paged)
	require.Equal(t, 3, pages)
	all, next, err := svc.ListPage(ctx, cmdb.Filter{}, 0, "")
	require.NoError(t, err)
	require.Len(t, all, 8)
	require.Empty(t, next)
	_, _, err = svc.ListPage(ctx, cmdb.Filter{States: []cmdb.State{"gone"}}, -1, "not a token")
	testkit.RequireFields(t, err, "states[0]", "limit", "page_token")

	// Baselines by name, oldest first.
	var taken []itil.ID
	for _, name := range []string{"weekly", "monthly", "weekly"} {
		now = now.Add(time.Hour)
		b, err := svc.TakeBaseline(ctx, admin, name, cmdb.Scope{Classes: []string{cmdb.ClassServer}})
		require.NoError(t, err)
		require.Len(t, b.CIs, 4)
		taken = append(taken, b.ID)
	}
	baselines := func(name string) []itil.ID {
		var out []itil.ID
		for b, err := range svc.Baselines(ctx, name) {
			require.NoError(t, err)
			require.True(t, name == "" || b.Name == name)
			out = append(out, b.ID)
		}
		return out
	}
	require.Equal(t, []itil.ID{taken[0], taken[2]}, baselines("weekly"))
	require.Equal(t, []itil.ID{taken[1]}, baselines("monthly"))
	require.Equal(t, taken, baselines(""))
	require.Empty(t, baselines("yearly"))
}
