package cmdb_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage/memory"
)

var exampleAdmin = itil.Actor{ID: "cmdb", Name: "Configuration manager"}

func ExampleClasses_Add() {
	classes := cmdb.DefaultClasses()
	err := classes.Add(cmdb.Class{Name: "aix_server", Parent: cmdb.ClassServer,
		Attributes: []cmdb.Attribute{{Name: "oslevel", Type: cmdb.String, Required: true}}})
	fmt.Println(err, classes.IsA("aix_server", cmdb.ClassHardware))
	for _, a := range classes.Attributes("aix_server")[:3] {
		fmt.Println(a.Name, a.Type)
	}
	err = classes.Add(cmdb.Class{Name: "mainframe", Parent: "big_iron",
		Attributes: []cmdb.Attribute{{Name: "mips", Type: "float"}}})
	fmt.Println(err)
	// Output:
	// <nil> true
	// serial_number string
	// host_name string
	// domain string
	// invalid input: parent: class "big_iron" does not exist; attributes[0].type: "float" is not one of string, int, bool, time, decimal, enum, reference
}

func ExampleService_CreateCI() {
	ctx := context.Background()
	svc, _ := cmdb.New(memory.NewStore())
	srv, err := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01",
		Attributes: map[string]string{"serial_number": "SN-2001", "cpu_count": "16", "cost": "4200.00"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(srv.Name, srv.State, srv.Attributes["cpu_count"], srv.Attributes["cost"])
	srv, _ = svc.SetState(ctx, exampleAdmin, srv.ID, cmdb.InBuild)
	srv, _ = svc.SetState(ctx, exampleAdmin, srv.ID, cmdb.Operational)
	fmt.Println(srv.State)
	_, err = svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassWindowsServer, Name: "win01",
		Attributes: map[string]string{"serial_number": "SN-2001", "cpu_count": "many"}})
	var v *itil.ValidationError
	if errors.As(err, &v) {
		for _, f := range v.Fields {
			fmt.Println(f.Field)
		}
	}
	// Output:
	// db01 planned 16 4200
	// operational
	// attributes.cpu_count
	// attributes.serial_number
}

func ExampleService_Relate() {
	ctx := context.Background()
	svc, _ := cmdb.New(memory.NewStore())
	app, _ := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "payroll"})
	srv, _ := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "app01"})
	r, err := svc.Relate(ctx, exampleAdmin, cmdb.RunsOn, app.ID, srv.ID)
	fmt.Println(r.Type, err)
	_, err = svc.Relate(ctx, exampleAdmin, cmdb.RunsOn, srv.ID, app.ID)
	fmt.Println(err)
	_, err = svc.SetState(ctx, exampleAdmin, srv.ID, cmdb.Retired)
	fmt.Println(errors.Is(err, itil.ErrInvalidTransition))
	// Output:
	// runs_on <nil>
	// invalid input: type: runs_on does not allow app01 (linux_server) Runs on payroll (application)
	// true
}

func ExampleService_TakeBaseline() {
	ctx := context.Background()
	svc, _ := cmdb.New(memory.NewStore())
	srv, _ := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "app01",
		Attributes: map[string]string{"ip_address": "10.0.0.1"}})
	b, _ := svc.TakeBaseline(ctx, exampleAdmin, "before patching", cmdb.Scope{Classes: []string{cmdb.ClassServer}})
	svc.UpdateCI(ctx, exampleAdmin, srv.ID, cmdb.Patch{Attributes: map[string]string{"ip_address": "10.0.0.7"}})
	svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassWindowsServer, Name: "win01"})
	d, _ := svc.DiffNow(ctx, b.ID)
	for _, c := range d.Added {
		fmt.Println("added", c.Name)
	}
	for _, c := range d.Changed {
		for _, ch := range c.Changes {
			fmt.Println("changed", c.Name, ch.Field, ch.From, "->", ch.To)
		}
	}
	// Output:
	// added win01
	// changed app01 attributes.ip_address 10.0.0.1 -> 10.0.0.7
}

func ExampleService_History() {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	svc, _ := cmdb.New(memory.NewStore(), cmdb.WithClock(itil.ClockFunc(func() time.Time { return at })))
	app, _ := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassApplication, Name: "payroll", Owner: "alice"})
	srv, _ := svc.CreateCI(ctx, exampleAdmin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "app01"})
	at = at.Add(time.Hour)
	svc.UpdateCI(ctx, exampleAdmin, app.ID, cmdb.Patch{Owner: new("bob")})
	svc.Relate(ctx, exampleAdmin, cmdb.RunsOn, app.ID, srv.ID)
	svc.SetState(ctx, exampleAdmin, app.ID, cmdb.InBuild)

	history, _ := svc.History(ctx, app.ID)
	for _, e := range history {
		fmt.Printf("%s v%d %s: %s", e.Kind, e.Version, e.Type, e.Summary)
		for _, f := range e.Fields {
			fmt.Printf(" [%s %s → %s]", f.Field, f.From, f.To)
		}
		fmt.Println()
	}
	then, _ := svc.AsOf(ctx, app.ID, at.Add(-time.Minute))
	fmt.Println("an hour ago:", then.Owner, then.State)
	// Output:
	// cmdb.ci v1 cmdb.ci_created: created application "payroll"
	// cmdb.ci v2 cmdb.ci_updated: updated owner [owner "alice" → "bob"]
	// cmdb.relationship v1 cmdb.related: payroll runs on app01
	// cmdb.ci v3 cmdb.ci_state_changed: planned → in_build [state "planned" → "in_build"]
	// an hour ago: alice planned
}
