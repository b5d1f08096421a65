package cmdb_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage/memory"
)

// A small estate: the Payroll business service depends on the payroll
// application, which runs on a cluster of two servers; both servers
// connect to a core switch. What does the switch failing take down?
func ExampleService_Impact() {
	ctx := context.Background()
	svc, _ := cmdb.New(memory.NewStore())
	actor := itil.Actor{ID: "cmdb-admin", Name: "CMDB admin"}
	names := map[itil.ID]string{}
	ci := func(class, name string) *cmdb.CI {
		c, err := svc.CreateCI(ctx, actor, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational})
		if err != nil {
			panic(err)
		}
		names[c.ID] = name
		return c
	}
	relate := func(typ string, parent, child *cmdb.CI) {
		if _, err := svc.Relate(ctx, actor, typ, parent.ID, child.ID); err != nil {
			panic(err)
		}
	}
	payroll := ci(cmdb.ClassBusinessService, "Payroll")
	app := ci(cmdb.ClassApplication, "payroll-app")
	cluster := ci(cmdb.ClassCluster, "app-cluster") // no min_up: one member up is enough
	app01 := ci(cmdb.ClassLinuxServer, "app01")
	app02 := ci(cmdb.ClassLinuxServer, "app02")
	core := ci(cmdb.ClassNetworkDevice, "core-switch")
	relate(cmdb.DependsOn, payroll, app)
	relate(cmdb.RunsOn, app, cluster)
	relate(cmdb.ClusterOf, cluster, app01)
	relate(cmdb.ClusterOf, cluster, app02)
	relate(cmdb.ConnectsTo, app01, core)
	relate(cmdb.ConnectsTo, app02, core)

	res, err := svc.Impact(ctx, core.ID, cmdb.ImpactOptions{Direction: cmdb.Upstream})
	if err != nil {
		panic(err)
	}
	for _, a := range res.Affected {
		var path []string
		for _, h := range a.Path {
			path = append(path, fmt.Sprintf("%s %s %s", names[h.From], strings.ToLower(h.Label), names[h.To]))
		}
		fmt.Printf("%d %s (%s): %s\n", a.Depth, a.Name, a.Class, strings.Join(path, ", "))
	}

	// One server alone does not take the cluster down; both do.
	one, _ := svc.Impact(ctx, app01.ID, cmdb.ImpactOptions{})
	fmt.Println("app01 alone affects", len(one.Affected), "CIs")
	states, _ := svc.Propagate(ctx, []itil.ID{app01.ID}, nil)
	fmt.Println("Payroll with app01 down:", states[payroll.ID])
	states, _ = svc.Propagate(ctx, []itil.ID{app01.ID, app02.ID}, nil)
	fmt.Println("Payroll with both down:", states[payroll.ID])
	// Output:
	// 1 app01 (linux_server): core-switch connected by app01
	// 1 app02 (linux_server): core-switch connected by app02
	// 2 app-cluster (cluster): core-switch connected by app02, app02 cluster app-cluster
	// 3 payroll-app (application): core-switch connected by app02, app02 cluster app-cluster, app-cluster runs payroll-app
	// 4 Payroll (business_service): core-switch connected by app02, app02 cluster app-cluster, app-cluster runs payroll-app, payroll-app used by Payroll
	// app01 alone affects 0 CIs
	// Payroll with app01 down: degraded
	// Payroll with both down: down
}
