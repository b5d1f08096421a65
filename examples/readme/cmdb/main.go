// Configuration management in a few calls: CIs of typed classes, typed
// relationships, a CI's lifecycle and history, impact analysis with the
// path that explains each affected CI, and state propagation to business
// services.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage/memory"
)

func main() {
	ctx := context.Background()
	svc, err := cmdb.New(memory.NewStore()) // options: classes, relationship types, block or cascade, reconciliation
	if err != nil {
		log.Fatal(err)
	}
	admin := itil.Actor{ID: "cmdb-admin"}
	ci := func(class, name string, attrs map[string]string) *cmdb.CI {
		c, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name, Attributes: attrs})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	shop := ci(cmdb.ClassBusinessService, "Online shop", nil)
	app := ci(cmdb.ClassApplication, "Checkout", nil)
	srv := ci(cmdb.ClassLinuxServer, "db01", map[string]string{"serial_number": "SN-2001"})
	core := ci(cmdb.ClassNetworkDevice, "core-sw1", nil)
	for _, r := range []struct {
		typ           string
		parent, child *cmdb.CI
	}{{cmdb.DependsOn, shop, app}, {cmdb.RunsOn, app, srv}, {cmdb.ConnectsTo, srv, core}} {
		// Only between the class pairs the type allows.
		if _, err := svc.Relate(ctx, admin, r.typ, r.parent.ID, r.child.ID); err != nil {
			log.Fatal(err)
		}
	}

	// A CI moves through its lifecycle; its history holds every field
	// change and the relationships that touched it.
	if _, err := svc.SetState(ctx, admin, srv.ID, cmdb.InBuild); err != nil {
		log.Fatal(err)
	}
	history, err := svc.History(ctx, srv.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range history {
		fmt.Println(e.Type, e.Summary)
	}

	// What does the core switch take down, and why?
	res, err := svc.Impact(ctx, core.ID, cmdb.ImpactOptions{Direction: cmdb.Upstream, MaxDepth: 10, Limit: 1000})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range res.Affected {
		fmt.Printf("%s (%s) at depth %d via %d hops\n", a.Name, a.Class, a.Depth, len(a.Path))
	}

	states, err := svc.Propagate(ctx, []itil.ID{srv.ID}, nil) // business service: operational/degraded/down
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Online shop is", states[shop.ID])
}
