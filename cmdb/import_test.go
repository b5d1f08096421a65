package cmdb_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/memory"
)

// importFixture is a Service on a store the test can read directly.
type importFixture struct {
	t     tb
	ctx   context.Context
	store storage.Store
	svc   *cmdb.Service
	now   time.Time
}

// tb is what fixture helpers report failures to.
type tb = testkit.TB

func newImportFixture(t tb, opts ...cmdb.Option) *importFixture {
	f := &importFixture{t: t, ctx: context.Background(), store: memory.NewStore(),
		now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc, err := cmdb.New(f.store, append([]cmdb.Option{cmdb.WithClock(itil.ClockFunc(func() time.Time { return f.now }))}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

func (f *importFixture) create(in cmdb.NewCI) *cmdb.CI {
	f.t.Helper()
	c, err := f.svc.CreateCI(f.ctx, admin, in)
	require.NoError(f.t, err)
	return c
}

func (f *importFixture) importAll(source string, recs ...cmdb.ImportRecord) []cmdb.ImportResult {
	res, err := f.svc.Import(f.ctx, admin, source, recs)
	require.NoError(f.t, err)
	require.Len(f.t, res, len(recs))
	return res
}

func (f *importFixture) get(id itil.ID) *cmdb.CI {
	c, err := f.svc.Get(f.ctx, id)
	require.NoError(f.t, err)
	return c
}

// journalLen counts the tenant's journal events.
func (f *importFixture) journalLen() int { return testkit.JournalLen(f.t, f.store) }

// allCIs reads every CI by ID, straight from the store.
func (f *importFixture) allCIs() map[itil.ID]*cmdb.CI {
	out := map[itil.ID]*cmdb.CI{}
	require.NoError(f.t, f.store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		for rec, err := range tx.Query(ctx, storage.Query{Kind: cmdb.KindCI}) {
			if err != nil {
				return err
			}
			out[rec.ID] = nil
		}
		return nil
	}))
	for id := range out {
		out[id] = f.get(id)
	}
	return out
}

func server(class, name string, attrs map[string]string) cmdb.ImportRecord {
	return cmdb.ImportRecord{Class: class, Name: name, Attributes: attrs}
}

func onHost(class, name string, host cmdb.CIRef, attrs map[string]string) cmdb.ImportRecord {
	return cmdb.ImportRecord{Class: class, Name: name, Attributes: attrs,
		Relationships: []cmdb.ImportRelationship{{Type: cmdb.RunsOn, To: host}}}
}

func bySerial(sn string) cmdb.CIRef {
	return cmdb.CIRef{Class: cmdb.ClassServer, Attributes: map[string]string{"serial_number": sn}}
}

func reasonFields(r cmdb.ImportResult) []string {
	var out []string
	for _, f := range r.Reasons {
		out = append(out, f.Field)
	}
	return out
}

func TestImportIdentificationOrder(t *testing.T) {
	const dom = "example.com"
	// Every case starts from: a (SN1, host a), b (host b, no serial), c (MAC only).
	cases := []struct {
		name    string
		rec     cmdb.ImportRecord
		want    cmdb.Outcome
		matches string // "a", "b", "c", "new" or ""
		reasons []string
	}{
		{"serial wins over host name and domain",
			server(cmdb.ClassLinuxServer, "x", map[string]string{"serial_number": "SN1", "host_name": "b", "domain": dom}),
			cmdb.Updated, "a", nil},
		{"host name and domain when the serial is not reported",
			server(cmdb.ClassLinuxServer, "x", map[string]string{"host_name": "b", "domain": dom}), cmdb.Unchanged, "b", nil},
		{"only a MAC address matches by MAC",
			server(cmdb.ClassLinuxServer, "x", map[string]string{"mac_address": "00:11:22:33:44:55"}), cmdb.Unchanged, "c", nil},
		{"an unknown serial falls through to host name and domain",
			server(cmdb.ClassLinuxServer, "x", map[string]string{"serial_number": "SN9", "host_name": "b", "domain": dom}),
			cmdb.Updated, "b", nil},
		{"but never to a CI with another serial",
			server(cmdb.ClassLinuxServer, "x", map[string]string{"serial_number": "SN9", "host_name": "a", "domain": dom}),
			cmdb.Created, "new", nil},
		{"nothing matches: created",
			server(cmdb.ClassLinuxServer, "d", map[string]string{"mac_address": "aa:bb"}), cmdb.Created, "new", nil},
		{"host name without domain fills no rule",
			server(cmdb.ClassLinuxServer, "x", map[string]string{"host_name": "a"}), cmdb.Rejected, "", []string{"attributes"}},
		{"an import does not change a CI's class",
			server(cmdb.ClassWindowsServer, "x", map[string]string{"serial_number": "SN1"}), cmdb.Rejected, "a", []string{"class"}},
		{"a later rule the record also fills does not matter",
			server(cmdb.ClassLinuxServer, "c", map[string]string{"mac_address": "00:11:22:33:44:55", "kernel": "6.1"}),
			cmdb.Updated, "c", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newImportFixture(t)
			cis := map[string]*cmdb.CI{
				"a": f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "a", Attributes: map[string]string{"serial_number": "SN1", "host_name": "a", "domain": dom}}),
				"b": f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "b", Attributes: map[string]string{"host_name": "b", "domain": dom}}),
				"c": f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "c", Attributes: map[string]string{"mac_address": "00:11:22:33:44:55"}}),
			}
			rec := tc.rec
			if tc.want == cmdb.Unchanged {
				rec.Name = cis[tc.matches].Name
			}
			res := f.importAll(cmdb.SourceManual, rec)[0]
			assert.Equal(t, tc.want, res.Outcome, "%+v", res)
			switch tc.matches {
			case "new":
				for _, c := range cis {
					assert.NotEqual(t, c.ID, res.ID)
				}
				assert.NotEqual(t, itil.NilID, res.ID)
			case "":
				assert.Equal(t, itil.NilID, res.ID)
			default:
				assert.Equal(t, cis[tc.matches].ID, res.ID)
			}
			assert.ElementsMatch(t, tc.reasons, reasonFields(res))
		})
	}
}

func TestImportDependentIdentification(t *testing.T) {
	f := newImportFixture(t)
	res := f.importAll(cmdb.SourceDiscovery,
		server(cmdb.ClassLinuxServer, "db01", map[string]string{"serial_number": "SN1"}),
		server(cmdb.ClassLinuxServer, "db02", map[string]string{"serial_number": "SN2"}),
		onHost(cmdb.ClassDatabaseInstance, "postgres", bySerial("SN1"), map[string]string{"port": "5432"}),
		onHost(cmdb.ClassDatabaseInstance, "postgres", bySerial("SN2"), map[string]string{"port": "5432"}),
	)
	for _, r := range res {
		require.Equal(t, cmdb.Created, r.Outcome, "%+v", r)
	}
	assert.NotEqual(t, res[2].ID, res[3].ID, "one software instance per server")
	rels, err := f.svc.Relationships(f.ctx, res[2].ID)
	require.NoError(t, err)
	require.Len(t, rels, 1)
	assert.Equal(t, res[0].ID, rels[0].Child)
	assert.Equal(t, cmdb.SourceDiscovery, rels[0].Source)

	// The same instance again, its host named by ID this time: identified.
	again := f.importAll(cmdb.SourceDiscovery,
		onHost(cmdb.ClassDatabaseInstance, "postgres", cmdb.CIRef{ID: res[1].ID}, map[string]string{"port": "5433"}))[0]
	assert.Equal(t, cmdb.Updated, again.Outcome)
	assert.Equal(t, res[3].ID, again.ID)

	f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "twin1", Attributes: map[string]string{"host_name": "twin", "domain": "x"}})
	f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "twin2", Attributes: map[string]string{"host_name": "twin", "domain": "x"}})
	bad := f.importAll(cmdb.SourceDiscovery,
		cmdb.ImportRecord{Class: cmdb.ClassWebServer, Name: "nginx"},
		onHost(cmdb.ClassWebServer, "nginx", bySerial("SN404"), nil),
		onHost(cmdb.ClassWebServer, "nginx", cmdb.CIRef{Class: cmdb.ClassServer, Attributes: map[string]string{"host_name": "twin", "domain": "x"}}, nil),
		onHost(cmdb.ClassWebServer, "nginx", cmdb.CIRef{Class: cmdb.ClassDatabaseInstance, Name: "postgres"}, nil),
		onHost(cmdb.ClassWebServer, "nginx", cmdb.CIRef{ID: itil.NewID()}, nil),
	)
	assert.Equal(t, []string{"relationships"}, reasonFields(bad[0]), "a dependent class needs its host")
	assert.Equal(t, []string{"relationships[0].to"}, reasonFields(bad[1]), "no such host")
	assert.Equal(t, []string{"relationships[0].to"}, reasonFields(bad[2]), "ambiguous host")
	assert.Contains(t, bad[2].Reasons[0].Reason, "matches several CIs")
	assert.Equal(t, []string{"relationships[0].to"}, reasonFields(bad[3]), "a dependent CI is named by ID")
	assert.Equal(t, []string{"relationships[0].to.id"}, reasonFields(bad[4]))
	for _, r := range bad {
		assert.Equal(t, cmdb.Rejected, r.Outcome)
	}
}

func TestImportReconciliationPrecedence(t *testing.T) {
	rules := []cmdb.ReconciliationRule{
		{Attribute: "ip_address", Sources: []string{cmdb.SourceDiscovery, cmdb.SourceManual}},
		{Attribute: "cost", Sources: []string{"finance", cmdb.SourceManual}},
		{Attribute: cmdb.AllAttributes, Sources: []string{cmdb.SourceManual, cmdb.SourceDiscovery, "csv"}},
	}
	type step struct {
		source string
		attrs  map[string]string
	}
	cases := []struct {
		name    string
		rules   []cmdb.ReconciliationRule
		steps   []step
		want    map[string]string // final values
		holders map[string]string // final attribute sources
		skipped []string          // skipped fields of the last step
	}{
		{"discovery updates the IP address a person set", rules,
			[]step{{cmdb.SourceManual, map[string]string{"ip_address": "10.0.0.1"}}, {cmdb.SourceDiscovery, map[string]string{"ip_address": "10.0.0.2"}}},
			map[string]string{"ip_address": "10.0.0.2"}, map[string]string{"ip_address": cmdb.SourceDiscovery}, nil},
		{"a person's IP address does not overwrite discovery's", rules,
			[]step{{cmdb.SourceDiscovery, map[string]string{"ip_address": "10.0.0.2"}}, {cmdb.SourceManual, map[string]string{"ip_address": "10.0.0.9"}}},
			map[string]string{"ip_address": "10.0.0.2"}, map[string]string{"ip_address": cmdb.SourceDiscovery}, []string{"attributes.ip_address"}},
		{"discovery does not overwrite what a person set", rules,
			[]step{{cmdb.SourceManual, map[string]string{"manufacturer": "Dell"}}, {cmdb.SourceDiscovery, map[string]string{"manufacturer": "HP", "ip_address": "10.0.0.3"}}},
			map[string]string{"manufacturer": "Dell", "ip_address": "10.0.0.3"},
			map[string]string{"manufacturer": cmdb.SourceManual, "ip_address": cmdb.SourceDiscovery}, []string{"attributes.manufacturer"}},
		{"a lower source does not overwrite a higher one", rules,
			[]step{{cmdb.SourceDiscovery, map[string]string{"host_name": "db01"}}, {"csv", map[string]string{"host_name": "db-01"}}},
			map[string]string{"host_name": "db01"}, map[string]string{"host_name": cmdb.SourceDiscovery}, []string{"attributes.host_name"}},
		{"a higher source overwrites a lower one", rules,
			[]step{{"csv", map[string]string{"host_name": "db-01"}}, {cmdb.SourceDiscovery, map[string]string{"host_name": "db01"}}},
			map[string]string{"host_name": "db01"}, map[string]string{"host_name": cmdb.SourceDiscovery}, nil},
		{"a higher source confirming a value takes it over", rules,
			[]step{{"csv", map[string]string{"host_name": "db01"}}, {cmdb.SourceDiscovery, map[string]string{"host_name": "db01"}},
				{"csv", map[string]string{"host_name": "db-01"}}},
			map[string]string{"host_name": "db01"}, map[string]string{"host_name": cmdb.SourceDiscovery}, []string{"attributes.host_name"}},
		{"an unlisted source may not write the attribute", rules,
			[]step{{cmdb.SourceManual, nil}, {cmdb.SourceDiscovery, map[string]string{"cost": "100"}}},
			map[string]string{}, map[string]string{}, []string{"attributes.cost"}},
		{"an unlisted source may not write anything under *", rules,
			[]step{{cmdb.SourceManual, nil}, {"rogue", map[string]string{"ip_address": "1.1.1.1", "domain": "evil"}}},
			map[string]string{}, map[string]string{}, []string{"attributes.domain", "attributes.ip_address"}},
		{"without rules the last writer wins", nil,
			[]step{{cmdb.SourceManual, map[string]string{"manufacturer": "Dell"}}, {"rogue", map[string]string{"manufacturer": "HP"}}},
			map[string]string{"manufacturer": "HP"}, map[string]string{"manufacturer": "rogue"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newImportFixture(t, cmdb.WithReconciliation(tc.rules...))
			var last cmdb.ImportResult
			for _, st := range tc.steps {
				attrs := maps.Clone(st.attrs)
				if attrs == nil {
					attrs = map[string]string{}
				}
				attrs["serial_number"] = "SN1"
				last = f.importAll(st.source, server(cmdb.ClassLinuxServer, "db01", attrs))[0]
				require.NotEqual(t, cmdb.Rejected, last.Outcome, "%+v", last)
			}
			c := f.get(last.ID)
			got, holders := maps.Clone(c.Attributes), maps.Clone(c.AttrSources)
			delete(got, "serial_number")
			delete(holders, "serial_number")
			if got == nil {
				got = map[string]string{}
			}
			if holders == nil {
				holders = map[string]string{}
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.holders, holders)
			var skipped []string
			for _, s := range last.Skipped {
				skipped = append(skipped, s.Field)
			}
			assert.Equal(t, tc.skipped, skipped, "%+v", last.Skipped)
		})
	}
}

func TestImportOwnerAttributeKeptFromDiscovery(t *testing.T) {
	f := newImportFixture(t, cmdb.WithReconciliation(cmdb.ReconciliationRule{Attribute: cmdb.AllAttributes,
		Sources: []string{cmdb.SourceManual, cmdb.SourceDiscovery}}))
	svc := f.create(cmdb.NewCI{Class: cmdb.ClassBusinessService, Name: "Payroll"})
	_, err := f.svc.UpdateCI(f.ctx, admin, svc.ID, cmdb.Patch{Attributes: map[string]string{"service_owner": "alice"}})
	require.NoError(t, err)
	rec := cmdb.ImportRecord{Class: cmdb.ClassBusinessService, Name: "Payroll", Attributes: map[string]string{"service_owner": "bob"}}
	res := f.importAll(cmdb.SourceDiscovery, rec)[0]
	assert.Equal(t, cmdb.Updated, res.Outcome, "discovery saw it: LastDiscovered")
	require.Len(t, res.Skipped, 1)
	assert.Equal(t, cmdb.Skipped{Field: "attributes.service_owner", Value: "bob", Holder: cmdb.SourceManual,
		Reason: `last written by "manual", which takes precedence over "discovery"`}, res.Skipped[0])
	got := f.get(svc.ID)
	assert.Equal(t, "alice", got.Attributes["service_owner"])
	assert.Equal(t, cmdb.SourceManual, got.AttrSources["service_owner"])
	assert.Equal(t, f.now, got.LastDiscovered)

	before := f.journalLen()
	again := f.importAll(cmdb.SourceDiscovery, rec)[0]
	assert.Equal(t, cmdb.Unchanged, again.Outcome)
	assert.Equal(t, res.Skipped, again.Skipped, "reported again, still not written")
	assert.Equal(t, before, f.journalLen())
}

func TestWithReconciliationValidates(t *testing.T) {
	_, err := cmdb.New(memory.NewStore(), cmdb.WithReconciliation(
		cmdb.ReconciliationRule{Attribute: "Bad", Sources: []string{"x"}},
		cmdb.ReconciliationRule{Attribute: "ip_address"},
		cmdb.ReconciliationRule{Attribute: "domain", Sources: []string{"a", "a"}},
		cmdb.ReconciliationRule{Attribute: "*", Sources: []string{"a"}},
		cmdb.ReconciliationRule{Attribute: "*", Sources: []string{"b"}},
	), cmdb.WithDiscoveryRefresh(0))
	testkit.RequireInvalid(t, err, "reconciliation[0].attribute", "reconciliation[1].sources", "reconciliation[2].sources[1]",
		"reconciliation[4].attribute", "discovery_refresh")

	svc, err := cmdb.New(memory.NewStore(), cmdb.WithReconciliation(
		cmdb.ReconciliationRule{Attribute: "*", Sources: []string{"manual"}},
		cmdb.ReconciliationRule{Attribute: "ip_address", Sources: []string{"discovery"}}))
	require.NoError(t, err)
	assert.Equal(t, []cmdb.ReconciliationRule{{Attribute: "ip_address", Sources: []string{"discovery"}},
		{Attribute: "*", Sources: []string{"manual"}}}, svc.ReconciliationRules())
}

func TestImportRejectsAlone(t *testing.T) {
	f := newImportFixture(t)
	host := f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "h", Attributes: map[string]string{"serial_number": "SN0"}})
	before := f.journalLen()
	res := f.importAll("csv",
		server(cmdb.ClassLinuxServer, "a", map[string]string{"serial_number": "SN1", "cpu_count": "eight", "colour": "red"}),
		server("mainframe", "z", nil),
		cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "b", State: "broken", Attributes: map[string]string{"serial_number": "SN2"}},
		// Valid CI, relationship refused: the CI is rolled back with it.
		cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "c", Attributes: map[string]string{"serial_number": "SN3"},
			Relationships: []cmdb.ImportRelationship{{Type: cmdb.RunsOn, To: cmdb.CIRef{ID: host.ID}}}},
		server(cmdb.ClassLinuxServer, "ok", map[string]string{"serial_number": "SN4"}),
		server(cmdb.ClassLinuxServer, "", map[string]string{"serial_number": "SN5"}),
		cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "d", DiscoveredAt: f.now.Add(time.Hour), Attributes: map[string]string{"serial_number": "SN6"}},
	)
	assert.ElementsMatch(t, []string{"attributes.cpu_count", "attributes.colour"}, reasonFields(res[0]))
	assert.Equal(t, []string{"class"}, reasonFields(res[1]))
	assert.Equal(t, []string{"state"}, reasonFields(res[2]))
	assert.Equal(t, []string{"relationships[0].type"}, reasonFields(res[3]), "a server does not run on a server")
	assert.Equal(t, itil.NilID, res[3].ID, "the rolled-back CI is not reported")
	assert.Equal(t, cmdb.Created, res[4].Outcome)
	assert.Equal(t, []string{"name"}, reasonFields(res[5]))
	assert.Equal(t, []string{"discovered_at"}, reasonFields(res[6]))
	assert.Equal(t, before+1, f.journalLen(), "only the valid record wrote")
	assert.Len(t, f.allCIs(), 2)

	_, err := f.svc.Import(f.ctx, itil.Actor{}, "", nil)
	testkit.RequireInvalid(t, err, "actor.id", "source")
}

func TestImportLastDiscovered(t *testing.T) {
	f := newImportFixture(t)
	rec := server(cmdb.ClassLinuxServer, "db01", map[string]string{"serial_number": "SN1"})
	first := f.importAll(cmdb.SourceDiscovery, rec)[0]
	require.Equal(t, cmdb.Created, first.Outcome)
	assert.Equal(t, f.now, f.get(first.ID).LastDiscovered)
	created := f.now

	f.now = f.now.Add(time.Hour)
	assert.Equal(t, cmdb.Unchanged, f.importAll(cmdb.SourceDiscovery, rec)[0].Outcome, "within the refresh interval")
	assert.Equal(t, cmdb.Unchanged, f.importAll(cmdb.SourceManual, rec)[0].Outcome, "only discovery discovers")
	assert.Equal(t, created, f.get(first.ID).LastDiscovered)

	f.now = f.now.Add(cmdb.DefaultDiscoveryRefresh)
	assert.Equal(t, cmdb.Updated, f.importAll(cmdb.SourceDiscovery, rec)[0].Outcome, "refreshed once stale")
	assert.Equal(t, f.now, f.get(first.ID).LastDiscovered)

	// With discovered_at: exactly the latest observation, idempotent.
	at := f.now.Add(-time.Minute)
	rec.DiscoveredAt = at
	assert.Equal(t, cmdb.Unchanged, f.importAll(cmdb.SourceDiscovery, rec)[0].Outcome, "an older observation")
	rec.DiscoveredAt = f.now.Add(time.Minute)
	f.now = f.now.Add(time.Hour)
	assert.Equal(t, cmdb.Updated, f.importAll(cmdb.SourceDiscovery, rec)[0].Outcome)
	assert.Equal(t, cmdb.Unchanged, f.importAll(cmdb.SourceDiscovery, rec)[0].Outcome)
	assert.Equal(t, rec.DiscoveredAt, f.get(first.ID).LastDiscovered)
}

func TestImportNameAndStateOfExistingCI(t *testing.T) {
	f := newImportFixture(t)
	c := f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01", Attributes: map[string]string{"serial_number": "SN1"}})
	res := f.importAll(cmdb.SourceDiscovery, cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "db-01", State: cmdb.Operational,
		Attributes: map[string]string{"serial_number": "SN1"}, DiscoveredAt: f.now.Add(-time.Hour)})[0]
	assert.Equal(t, cmdb.Updated, res.Outcome, "LastDiscovered")
	assert.Equal(t, c.ID, res.ID)
	var fields []string
	for _, s := range res.Skipped {
		fields = append(fields, s.Field)
	}
	assert.Equal(t, []string{"name", "state"}, fields)
	got := f.get(c.ID)
	assert.Equal(t, "db01", got.Name)
	assert.Equal(t, cmdb.Planned, got.State)

	res = f.importAll(cmdb.SourceDiscovery, cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: "db02", State: cmdb.Operational,
		Attributes: map[string]string{"serial_number": "SN2", "cpu_count": " 8"}})[0]
	assert.Equal(t, cmdb.Created, res.Outcome)
	got = f.get(res.ID)
	assert.Equal(t, cmdb.Operational, got.State)
	assert.Equal(t, "8", got.Attributes["cpu_count"])
	assert.Equal(t, cmdb.SourceDiscovery, got.Source)
	assert.Equal(t, map[string]string{"serial_number": cmdb.SourceDiscovery, "cpu_count": cmdb.SourceDiscovery}, got.AttrSources)
}

func TestImportRetiredCI(t *testing.T) {
	f := newImportFixture(t)
	c := f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01", Attributes: map[string]string{"serial_number": "SN1"}})
	_, err := f.svc.SetState(f.ctx, admin, c.ID, cmdb.Retired)
	require.NoError(t, err)
	res := f.importAll(cmdb.SourceManual, server(cmdb.ClassLinuxServer, "db01", map[string]string{"serial_number": "SN1"}))[0]
	assert.Equal(t, cmdb.Unchanged, res.Outcome)
	res = f.importAll(cmdb.SourceManual, server(cmdb.ClassLinuxServer, "db01", map[string]string{"serial_number": "SN1", "kernel": "6.1"}))[0]
	assert.Equal(t, cmdb.Rejected, res.Outcome)
	assert.Equal(t, []string{"state"}, reasonFields(res))
	assert.Equal(t, c.ID, res.ID)
}

func TestParseJSON(t *testing.T) {
	recs, err := cmdb.ParseJSON(strings.NewReader(`[
	  {"class": "linux_server", "name": "db01", "state": "operational",
	   "attributes": {"serial_number": "SN1", "cpu_count": 8, "cost": 1200.50, "domain": null},
	   "discovered_at": "2026-03-02T08:00:00Z"},
	  {"class": "database_instance", "name": "postgres",
	   "relationships": [{"type": "runs_on", "to": {"class": "server", "attributes": {"serial_number": "SN1"}}}]}
	]`))
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, map[string]string{"serial_number": "SN1", "cpu_count": "8", "cost": "1200.50", "domain": ""}, recs[0].Attributes)
	assert.Equal(t, cmdb.Operational, recs[0].State)
	assert.Equal(t, time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), recs[0].DiscoveredAt.UTC())
	assert.Equal(t, []cmdb.ImportRelationship{{Type: cmdb.RunsOn, To: bySerial("SN1")}}, recs[1].Relationships)

	f := newImportFixture(t)
	res := f.importAll(cmdb.SourceDiscovery, recs...)
	assert.Equal(t, cmdb.Created, res[0].Outcome)
	assert.Equal(t, cmdb.Created, res[1].Outcome)

	for in, field := range map[string]string{
		`{"class": "x"}`:                          "records",
		`[{"class": "x", "atributes": {}}]`:       "records[0]",
		`[{}, {"attributes": {"a": [1]}}]`:        "records[1]",
		`[{"class": "x"} `:                        "records",
		`[] []`:                                   "records",
		`[{"relationships": [{"to": {"x": 1}}]}]`: "records[0]",
	} {
		_, err := cmdb.ParseJSON(strings.NewReader(in))
		testkit.RequireInvalid(t, err, field)
	}
}

func TestParseCSV(t *testing.T) {
	recs, err := cmdb.ParseCSV(strings.NewReader("\uFEFFname, serial_number ,ip_address\ndb01,SN1,10.0.0.1\ndb02,SN2,\n"), cmdb.ClassLinuxServer)
	require.NoError(t, err)
	assert.Equal(t, []cmdb.ImportRecord{
		{Class: cmdb.ClassLinuxServer, Name: "db01", Attributes: map[string]string{"serial_number": "SN1", "ip_address": "10.0.0.1"}},
		{Class: cmdb.ClassLinuxServer, Name: "db02", Attributes: map[string]string{"serial_number": "SN2"}},
	}, recs)

	for in, field := range map[string]string{
		"":                     "header",
		"serial_number\nSN1\n": "header",
		"name,a,a\nx,1,2\n":    "header",
		"name,,b\n":            "header",
		"name,a\nx,1\ny,1,2\n": "line 3",
		"name,a\n\"x,1\n":      "line 2",
	} {
		_, err := cmdb.ParseCSV(strings.NewReader(in), cmdb.ClassLinuxServer)
		testkit.RequireInvalid(t, err, field)
	}
	_, err = cmdb.ParseCSV(strings.NewReader("name\n"), "")
	testkit.RequireInvalid(t, err, "class")
}

// Properties.

var sources = []string{cmdb.SourceManual, cmdb.SourceDiscovery, "csv", "rogue"}

// genPayload draws servers with distinct serial numbers, then software
// instances with distinct (name, host) pairs, some of them invalid.
func genPayload(t *rapid.T) []cmdb.ImportRecord {
	serials := rapid.SliceOfNDistinct(rapid.IntRange(0, 9), 0, 6, rapid.ID[int]).Draw(t, "serials")
	var recs []cmdb.ImportRecord
	for i, sn := range serials {
		attrs := map[string]string{"serial_number": fmt.Sprintf("SN%d", sn)}
		if rapid.Bool().Draw(t, fmt.Sprintf("host%d", i)) {
			attrs["host_name"] = rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, fmt.Sprintf("hostname%d", i))
			attrs["domain"] = "example.com"
		}
		if rapid.Bool().Draw(t, fmt.Sprintf("hasip%d", i)) {
			attrs["ip_address"] = rapid.SampledFrom([]string{"10.0.0.1", "10.0.0.2"}).Draw(t, fmt.Sprintf("ip%d", i))
		}
		attrs["cpu_count"] = rapid.SampledFrom([]string{"", "4", " 8", "eight"}).Draw(t, fmt.Sprintf("cpu%d", i))
		class := rapid.SampledFrom([]string{cmdb.ClassLinuxServer, cmdb.ClassWindowsServer, cmdb.ClassServer}).Draw(t, fmt.Sprintf("class%d", i))
		rec := server(class, fmt.Sprintf("srv%d", sn), attrs)
		if rapid.Bool().Draw(t, fmt.Sprintf("at%d", i)) {
			rec.DiscoveredAt = time.Date(2026, 3, 1, rapid.IntRange(0, 23).Draw(t, fmt.Sprintf("hour%d", i)), 0, 0, 0, time.UTC)
		}
		recs = append(recs, rec)
	}
	type inst struct {
		name string
		sn   int
	}
	insts := rapid.SliceOfNDistinct(rapid.Custom(func(t *rapid.T) inst {
		return inst{rapid.SampledFrom([]string{"postgres", "nginx"}).Draw(t, "name"), rapid.IntRange(0, 10).Draw(t, "sn")}
	}), 0, 5, func(i inst) inst { return i }).Draw(t, "instances")
	for i, in := range insts {
		class := cmdb.ClassDatabaseInstance
		if in.name == "nginx" {
			class = cmdb.ClassWebServer
		}
		recs = append(recs, onHost(class, in.name, bySerial(fmt.Sprintf("SN%d", in.sn)),
			map[string]string{"port": rapid.SampledFrom([]string{"", "80", "5432", "x"}).Draw(t, fmt.Sprintf("port%d", i))}))
	}
	return recs
}

var propRules = []cmdb.ReconciliationRule{
	{Attribute: "ip_address", Sources: []string{cmdb.SourceDiscovery, cmdb.SourceManual}},
	{Attribute: "manufacturer", Sources: []string{cmdb.SourceManual}},
	{Attribute: cmdb.AllAttributes, Sources: []string{cmdb.SourceManual, cmdb.SourceDiscovery, "csv"}},
}

func TestImportIsIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var opts []cmdb.Option
		if rapid.Bool().Draw(t, "rules") {
			opts = append(opts, cmdb.WithReconciliation(propRules...))
		}
		f := newImportFixture(t, opts...)
		payload := genPayload(t)
		source := rapid.SampledFrom(sources).Draw(t, "source")
		first := f.importAll(source, payload...)
		journal, state := f.journalLen(), f.allCIs()

		f.now = f.now.Add(time.Duration(rapid.IntRange(0, 3600).Draw(t, "later")) * time.Second)
		second := f.importAll(source, payload...)
		for i := range payload {
			if first[i].Outcome == cmdb.Rejected {
				assert.Equal(t, first[i], second[i], "record %d is rejected again, for the same reasons", i)
				continue
			}
			require.NotEqual(t, cmdb.DuplicateCandidate, first[i].Outcome)
			assert.Equal(t, cmdb.Unchanged, second[i].Outcome, "record %d: %+v", i, second[i])
			assert.Equal(t, first[i].ID, second[i].ID)
			assert.Equal(t, first[i].Skipped, second[i].Skipped)
		}
		assert.Equal(t, journal, f.journalLen(), "no journal events")
		assert.Equal(t, state, f.allCIs(), "no new versions")
	})
}

// TestImportPrecedenceNeverViolated runs random sequences of imports from
// random sources and manual edits against a model of the rules.
func TestImportPrecedenceNeverViolated(t *testing.T) {
	rank := func(attr, src string) (int, bool) {
		for _, r := range propRules {
			if r.Attribute == attr || r.Attribute == cmdb.AllAttributes {
				i := slices.Index(r.Sources, src)
				return i, i >= 0
			}
		}
		panic("covered by *")
	}
	attrs := []string{"ip_address", "manufacturer", "host_name", "mac_address"}
	rapid.Check(t, func(t *rapid.T) {
		f := newImportFixture(t, cmdb.WithReconciliation(propRules...))
		for step := range rapid.IntRange(1, 25).Draw(t, "steps") {
			sn := fmt.Sprintf("SN%d", rapid.IntRange(0, 2).Draw(t, "server"))
			vals := map[string]string{}
			for _, a := range attrs {
				if rapid.Bool().Draw(t, a) {
					vals[a] = rapid.SampledFrom([]string{"x", "y", "z"}).Draw(t, a+"_value")
				}
			}
			source := rapid.SampledFrom(sources).Draw(t, "source")
			beforeCIs := f.allCIs()
			var before *cmdb.CI
			for _, c := range beforeCIs {
				if c.Attributes["serial_number"] == sn {
					before = c
				}
			}
			if before != nil && rapid.Bool().Draw(t, "manual edit") {
				// A person's edit always writes.
				_, err := f.svc.UpdateCI(f.ctx, admin, before.ID, cmdb.Patch{Attributes: vals})
				require.NoError(t, err)
				continue
			}
			rec := server(cmdb.ClassLinuxServer, "srv-"+sn, maps.Clone(vals))
			rec.Attributes["serial_number"] = sn
			res := f.importAll(source, rec)[0]
			if res.Outcome == cmdb.Rejected {
				// A source that may not write the serial number cannot
				// create a CI it could never identify again.
				require.Nil(t, before, "step %d: %+v", step, res)
				require.Equal(t, "rogue", source)
				require.Equal(t, []string{"attributes"}, reasonFields(res))
				continue
			}
			require.Contains(t, []cmdb.Outcome{cmdb.Created, cmdb.Updated, cmdb.Unchanged}, res.Outcome, "step %d: %+v", step, res)
			after := f.get(res.ID)
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, strings.TrimPrefix(s.Field, "attributes."))
			}
			for _, a := range attrs {
				old, had := "", false
				holder := ""
				if before != nil {
					old, had = before.Attributes[a]
					holder = before.AttrSources[a]
				}
				want, wantHolder := old, holder
				if v, ok := vals[a]; ok {
					mine, listed := rank(a, source)
					theirs, held := rank(a, holder)
					switch {
					case had && old == v:
						if listed && (!held || mine < theirs) {
							wantHolder = source
						}
					case listed && (!held || theirs >= mine):
						want, wantHolder = v, source
					default:
						assert.Contains(t, skipped, a, "step %d: %s by %s over %s", step, a, source, holder)
					}
				}
				assert.Equal(t, want, after.Attributes[a], "step %d: %s by %s over %s", step, a, source, holder)
				assert.Equal(t, wantHolder, after.AttrSources[a], "step %d: holder of %s", step, a)
			}
			for id, c := range beforeCIs {
				if id != res.ID {
					assert.Equal(t, c, f.get(id), "other CIs are untouched")
				}
			}
		}
	})
}

func TestImportRejectsInvalidRecordAlone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := newImportFixture(t)
		host := f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "host", Attributes: map[string]string{"serial_number": "HOST"}})
		n := rapid.IntRange(0, 6).Draw(t, "valid")
		var recs []cmdb.ImportRecord
		for i := range n {
			rec := server(cmdb.ClassLinuxServer, fmt.Sprintf("srv%d", i), map[string]string{"serial_number": fmt.Sprintf("SN%d", i)})
			if rapid.Bool().Draw(t, fmt.Sprintf("seen%d", i)) {
				// Any time from the year 1 to now is a valid observation.
				rec.DiscoveredAt = time.Unix(rapid.Int64Range(time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC).Unix(), f.now.Unix()).Draw(t, fmt.Sprintf("seenat%d", i)), 0).UTC()
			}
			recs = append(recs, rec)
		}
		bad := invalidRecord(host.ID).Draw(t, "invalid")
		at := rapid.IntRange(0, n).Draw(t, "at")
		recs = slices.Insert(recs, at, bad)
		journal := f.journalLen()
		hostBefore := f.get(host.ID)

		// Discovery writes discovered_at; every source has it checked.
		res := f.importAll(rapid.SampledFrom([]string{"csv", cmdb.SourceDiscovery}).Draw(t, "source"), recs...)
		for i, r := range res {
			if i == at {
				assert.Equal(t, cmdb.Rejected, r.Outcome)
				assert.NotEmpty(t, r.Reasons)
				continue
			}
			assert.Equal(t, cmdb.Created, r.Outcome, "%+v", r)
		}
		assert.Equal(t, journal+n, f.journalLen(), "one event per valid record, none of the invalid one")
		assert.Len(t, f.allCIs(), n+1)
		assert.Equal(t, hostBefore, f.get(host.ID))
	})
}

// invalidRecord draws a record with one thing wrong with it, whatever it
// is: a bad value, a time out of range, a text storage or JSON cannot
// hold, a relationship that may not be.
func invalidRecord(host itil.ID) *rapid.Generator[cmdb.ImportRecord] {
	return rapid.Custom(func(t *rapid.T) cmdb.ImportRecord {
		rec := server(cmdb.ClassLinuxServer, "bad", map[string]string{"serial_number": "BAD"})
		outOfRange := rapid.OneOf(rapid.IntRange(-300000, 0), rapid.IntRange(10000, 300000))
		// A text that is not valid UTF-8, holds a NUL, or is too long.
		badText := rapid.OneOf(
			rapid.Just("bad\xff"), rapid.Just("b\x00d"),
			rapid.Map(rapid.IntRange(4097, 5000), func(n int) string { return strings.Repeat("x", n) }))
		switch rapid.IntRange(0, 17).Draw(t, "what") {
		case 0:
			rec.Attributes["cpu_count"] = "many"
		case 1:
			rec.Attributes["colour"] = "red"
		case 2:
			rec.Class = "mainframe"
		case 3:
			rec.Name = ""
		case 4:
			rec.Relationships = []cmdb.ImportRelationship{{Type: cmdb.DependsOn, To: cmdb.CIRef{ID: itil.NewID()}}}
		case 5:
			rec.Relationships = []cmdb.ImportRelationship{{Type: cmdb.RunsOn, To: cmdb.CIRef{ID: host}}}
		case 6:
			rec.Attributes = map[string]string{"serial_number": "HOST", "kernel": "6"}
			rec.State = "gone"
		case 7:
			return onHost(cmdb.ClassWebServer, "bad", cmdb.CIRef{Class: cmdb.ClassServer, Attributes: map[string]string{"serial_number": "NONE"}}, nil)
		case 8: // a year encoding/json cannot write
			rec.DiscoveredAt = time.Date(outOfRange.Draw(t, "year"), 6, 1, 0, 0, 0, 0, time.UTC)
		case 9: // in range where written, not in UTC
			rec.DiscoveredAt = time.Date(9999, 12, 31, 23, 0, 0, 0, time.FixedZone("", -5*3600))
		case 10: // an offset RFC 3339 cannot write
			rec.DiscoveredAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", rapid.IntRange(24, 30).Draw(t, "offset")*3600))
		case 11:
			rec.DiscoveredAt = f2026().Add(time.Duration(rapid.IntRange(6, 10000).Draw(t, "ahead")) * time.Hour)
		case 12:
			rec.Name = badText.Draw(t, "name")
		case 13:
			rec.Attributes["kernel"] = badText.Draw(t, "kernel")
		case 14:
			rec.Attributes["purchased"] = rapid.SampledFrom([]string{"0000-06-01T00:00:00Z", "0001-01-01T00:30:00+01:00"}).Draw(t, "purchased")
		case 15:
			rec.Attributes["cost"] = fmt.Sprintf("1e%d", rapid.OneOf(rapid.IntRange(1001, 1<<30), rapid.IntRange(-1<<30, -1001)).Draw(t, "exponent"))
		case 16:
			rec.Relationships = []cmdb.ImportRelationship{{Type: cmdb.ConnectsTo,
				To: cmdb.CIRef{Class: cmdb.ClassServer, Name: badText.Draw(t, "ref"), Attributes: map[string]string{"serial_number": "HOST"}}}}
		case 17:
			rec.Attributes["serial_number"] = badText.Draw(t, "serial")
		}
		return rec
	})
}

// f2026 is the import fixture's clock reading.
func f2026() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }

func TestImportNeverMergesAmbiguousMatches(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := newImportFixture(t)
		k := rapid.IntRange(2, 4).Draw(t, "twins")
		dependent := rapid.Bool().Draw(t, "dependent")
		host := f.create(cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "host", Attributes: map[string]string{"serial_number": "HOST"}})
		var twins []itil.ID
		for i := range k {
			var c *cmdb.CI
			if dependent {
				c = f.create(cmdb.NewCI{Class: cmdb.ClassDatabaseInstance, Name: "postgres"})
				_, err := f.svc.Relate(f.ctx, admin, cmdb.RunsOn, c.ID, host.ID)
				require.NoError(t, err)
			} else {
				c = f.create(cmdb.NewCI{Class: rapid.SampledFrom([]string{cmdb.ClassLinuxServer, cmdb.ClassNetworkDevice}).Draw(t, "class"),
					Name: fmt.Sprintf("twin%d", i), Attributes: map[string]string{"host_name": "twin", "domain": "example.com"}})
			}
			twins = append(twins, c.ID)
		}
		var rec cmdb.ImportRecord
		if dependent {
			rec = onHost(cmdb.ClassDatabaseInstance, "postgres", cmdb.CIRef{ID: host.ID}, map[string]string{"port": "5432"})
		} else {
			attrs := map[string]string{"host_name": "twin", "domain": "example.com", "ip_address": "10.0.0.9"}
			if rapid.Bool().Draw(t, "mac") {
				attrs["mac_address"] = "aa:bb" // a later rule does not break the tie
			}
			rec = server(cmdb.ClassLinuxServer, "twin", attrs)
		}
		state, journal := f.allCIs(), f.journalLen()
		res := f.importAll(rapid.SampledFrom(sources).Draw(t, "source"), rec)[0]
		assert.Equal(t, cmdb.DuplicateCandidate, res.Outcome)
		assert.ElementsMatch(t, twins, res.Candidates)
		assert.Equal(t, itil.NilID, res.ID)
		assert.Equal(t, state, f.allCIs(), "nothing merged or written")
		assert.Equal(t, journal, f.journalLen())
	})
}
