package cmdb_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage/memory"
)

func ExampleService_Import() {
	ctx := context.Background()
	clock := itil.ClockFunc(func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) })
	svc, _ := cmdb.New(memory.NewStore(), cmdb.WithClock(clock), cmdb.WithReconciliation(
		// Discovery knows IP addresses best; for everything else a person
		// wins over discovery, which wins over the asset spreadsheet.
		cmdb.ReconciliationRule{Attribute: "ip_address", Sources: []string{cmdb.SourceDiscovery, cmdb.SourceManual}},
		cmdb.ReconciliationRule{Attribute: cmdb.AllAttributes, Sources: []string{cmdb.SourceManual, cmdb.SourceDiscovery, "assets"}},
	))
	ops := itil.Actor{ID: "ops"}

	// The spreadsheet: flat rows of one class.
	rows, _ := cmdb.ParseCSV(strings.NewReader("name,serial_number,manufacturer,ip_address\n"+
		"db01,SN-1,Dell,10.0.0.9\n"), cmdb.ClassLinuxServer)
	res, _ := svc.Import(ctx, ops, "assets", rows)
	fmt.Println("assets:", res[0].Outcome)
	// A person corrects the manufacturer.
	svc.UpdateCI(ctx, ops, res[0].ID, cmdb.Patch{Attributes: map[string]string{"manufacturer": "Dell Technologies"}})

	// Discovery: the server by serial number, and a database instance
	// identified by its name on that server.
	payload, _ := cmdb.ParseJSON(strings.NewReader(`[
	  {"class": "linux_server", "name": "db01", "discovered_at": "2026-03-02T08:00:00Z",
	   "attributes": {"serial_number": "SN-1", "ip_address": "10.0.0.5", "manufacturer": "Dell Inc.", "cpu_count": 8}},
	  {"class": "database_instance", "name": "postgres", "attributes": {"port": 5432},
	   "relationships": [{"type": "runs_on", "to": {"class": "server", "attributes": {"serial_number": "SN-1"}}}]},
	  {"class": "linux_server", "name": "db02", "attributes": {"cpu_count": "many"}}
	]`))
	for _, run := range []string{"first", "again"} {
		res, _ = svc.Import(ctx, ops, cmdb.SourceDiscovery, payload)
		for _, r := range res {
			fmt.Printf("%s: record %d %s", run, r.Index, r.Outcome)
			for _, f := range r.Reasons {
				fmt.Printf(" [%s: %s]", f.Field, f.Reason)
			}
			for _, s := range r.Skipped {
				fmt.Printf(" (kept %s: %s)", s.Field, s.Reason)
			}
			fmt.Println()
		}
	}

	db01, _ := svc.Get(ctx, res[0].ID)
	fmt.Println(db01.Attributes["manufacturer"], "/", db01.Attributes["ip_address"], "from", db01.AttrSources["ip_address"],
		"/ seen", db01.LastDiscovered.Format(time.RFC3339))
	// Output:
	// assets: created
	// first: record 0 updated (kept attributes.manufacturer: last written by "manual", which takes precedence over "discovery")
	// first: record 1 created
	// first: record 2 rejected [attributes.cpu_count: "many" is not an integer]
	// again: record 0 unchanged (kept attributes.manufacturer: last written by "manual", which takes precedence over "discovery")
	// again: record 1 unchanged
	// again: record 2 rejected [attributes.cpu_count: "many" is not an integer]
	// Dell Technologies / 10.0.0.5 from discovery / seen 2026-03-02T08:00:00Z
}
