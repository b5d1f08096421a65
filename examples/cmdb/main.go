// CMDB builds a small estate — an online shop on a two-server web
// cluster, an order database on its own server with SAN storage, all
// cabled to one core switch — runs impact analysis for the core switch,
// prints the business services it takes down with the paths that explain
// why, and draws the impacted subgraph as a Mermaid flowchart and as
// Graphviz DOT. It then shows how the cluster's redundancy changes the
// picture when only one web server fails.
//
//	go run ./examples/cmdb            # prints everything
//	go run ./examples/cmdb -out /tmp  # also writes impact.mmd and impact.dot there
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/examples/internal/store"
)

func main() {
	out := flag.String("out", "", "directory to write impact.mmd and impact.dot to")
	spec := store.Flag()
	flag.Parse()
	if err := run(context.Background(), *spec, *out); err != nil {
		log.Fatal(err)
	}
}

type estate struct {
	svc   *cmdb.Service
	ctx   context.Context
	admin itil.Actor
	names map[itil.ID]string
	err   error
}

func (e *estate) ci(class, name string, attrs map[string]string) itil.ID {
	if e.err != nil {
		return itil.NilID
	}
	c, err := e.svc.CreateCI(e.ctx, e.admin, cmdb.NewCI{Class: class, Name: name, Attributes: attrs,
		State: cmdb.Operational, Criticality: cmdb.High})
	if err != nil {
		e.err = fmt.Errorf("%s: %w", name, err)
		return itil.NilID
	}
	e.names[c.ID] = name
	return c.ID
}

func (e *estate) relate(typ string, parent, child itil.ID) {
	if e.err != nil {
		return
	}
	if _, err := e.svc.Relate(e.ctx, e.admin, typ, parent, child); err != nil {
		e.err = fmt.Errorf("%s %s %s: %w", e.names[parent], typ, e.names[child], err)
	}
}

func run(ctx context.Context, spec, outDir string) (err error) {
	st, closeStore, err := store.Open(ctx, spec, "cmdb")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }() // a failed Close of a database is reported
	svc, err := cmdb.New(st)
	if err != nil {
		return err
	}
	e := &estate{svc: svc, ctx: ctx, admin: itil.Actor{ID: "cmdb", Name: "Configuration manager"}, names: map[itil.ID]string{}}

	shop := e.ci(cmdb.ClassBusinessService, "Online shop", nil)
	tracking := e.ci(cmdb.ClassBusinessService, "Order tracking", nil)
	web := e.ci(cmdb.ClassApplication, "shop-web", nil)
	cluster := e.ci(cmdb.ClassCluster, "web-cluster", map[string]string{"min_up": "1"})
	web1 := e.ci(cmdb.ClassLinuxServer, "web01", map[string]string{"serial_number": "SN-1001"})
	web2 := e.ci(cmdb.ClassLinuxServer, "web02", map[string]string{"serial_number": "SN-1002"})
	dbHost := e.ci(cmdb.ClassLinuxServer, "db01", map[string]string{"serial_number": "SN-2001"})
	db := e.ci(cmdb.ClassDatabaseInstance, "orders-db", map[string]string{"engine": "postgresql"})
	san := e.ci(cmdb.ClassStorageDevice, "san01", map[string]string{"serial_number": "SN-9001"})
	core := e.ci(cmdb.ClassNetworkDevice, "core-sw1", map[string]string{"serial_number": "SN-5001", "device_role": "core"})

	e.relate(cmdb.DependsOn, shop, web)
	e.relate(cmdb.DependsOn, tracking, db)
	e.relate(cmdb.DependsOn, web, db)
	e.relate(cmdb.RunsOn, web, cluster)
	e.relate(cmdb.ClusterOf, cluster, web1)
	e.relate(cmdb.ClusterOf, cluster, web2)
	e.relate(cmdb.RunsOn, db, dbHost)
	e.relate(cmdb.Uses, dbHost, san)
	for _, h := range []itil.ID{web1, web2, dbHost, san} {
		e.relate(cmdb.ConnectsTo, h, core)
	}
	if e.err != nil {
		return e.err
	}

	res, err := svc.Impact(ctx, core, cmdb.ImpactOptions{Direction: cmdb.Upstream})
	if err != nil {
		return err
	}
	fmt.Printf("== If %s fails, %d CIs are affected\n", e.names[core], len(res.Affected))
	for _, a := range res.Affected {
		if !svc.Classes().IsA(a.Class, cmdb.ClassBusinessService) {
			continue
		}
		fmt.Printf("%-15s because %s\n", a.Name, e.path(a.Path))
	}

	mermaid, dot := e.draw(core, res)
	fmt.Println("\n== Impacted subgraph (Mermaid)")
	fmt.Print(mermaid)
	if outDir != "" {
		for name, text := range map[string]string{"impact.mmd": mermaid, "impact.dot": dot} {
			if err := os.WriteFile(filepath.Join(outDir, name), []byte(text), 0o644); err != nil {
				return err
			}
		}
		fmt.Println("\nwrote", filepath.Join(outDir, "impact.mmd"), "and", filepath.Join(outDir, "impact.dot"))
	} else {
		fmt.Println("\n== The same as Graphviz DOT")
		fmt.Print(dot)
	}

	fmt.Println("\n== Service states")
	for _, scenario := range []struct {
		title string
		down  []itil.ID
	}{
		{"web01 down (the cluster keeps one of two)", []itil.ID{web1}},
		{"web01 and web02 down", []itil.ID{web1, web2}},
		{"san01 down", []itil.ID{san}},
	} {
		states, err := svc.Propagate(ctx, scenario.down, nil)
		if err != nil {
			return err
		}
		fmt.Printf("%-43s %s: %s, %s: %s\n", scenario.title, e.names[shop], states[shop], e.names[tracking], states[tracking])
	}

	deps, err := svc.Impact(ctx, shop, cmdb.ImpactOptions{Direction: cmdb.Downstream, MaxDepth: 2})
	if err != nil {
		return err
	}
	var names []string
	for _, a := range deps.Affected {
		names = append(names, a.Name)
	}
	fmt.Printf("\n== %s depends on (two levels): %s\n", e.names[shop], strings.Join(names, ", "))
	return nil
}

// path reads an impact path out loud.
func (e *estate) path(hops []cmdb.Hop) string {
	var b strings.Builder
	for i, h := range hops {
		if i == 0 {
			b.WriteString(e.names[h.From])
		}
		fmt.Fprintf(&b, " → %s %s", strings.ToLower(h.Label), e.names[h.To])
	}
	return b.String()
}

// draw renders the origin, the affected CIs and the relationships of their
// paths as a Mermaid flowchart and as Graphviz DOT.
func (e *estate) draw(origin itil.ID, res *cmdb.ImpactResult) (mermaid, dot string) {
	ids := map[itil.ID]string{}
	node := func(id itil.ID) string {
		if ids[id] == "" {
			ids[id] = fmt.Sprintf("ci%d", len(ids)+1)
		}
		return ids[id]
	}
	type edge struct {
		from, to itil.ID
		label    string
	}
	var edges []edge
	seen := map[edge]bool{}
	nodes := []itil.ID{origin}
	for _, a := range res.Affected {
		nodes = append(nodes, a.CI)
		for _, h := range a.Path {
			ed := edge{h.From, h.To, strings.ToLower(h.Label)}
			if !seen[ed] {
				seen[ed] = true
				edges = append(edges, ed)
			}
		}
	}
	slices.SortStableFunc(edges, func(a, b edge) int {
		return strings.Compare(e.names[a.from]+e.names[a.to], e.names[b.from]+e.names[b.to])
	})
	var m, d strings.Builder
	m.WriteString("flowchart LR\n")
	d.WriteString("digraph impact {\n  rankdir=LR;\n")
	for _, id := range nodes {
		fmt.Fprintf(&m, "    %s[%q]\n", node(id), e.names[id])
		attrs := ""
		if id == origin {
			attrs = ", style=filled, fillcolor=tomato"
		}
		fmt.Fprintf(&d, "  %s [label=%q%s];\n", node(id), e.names[id], attrs)
	}
	fmt.Fprintf(&m, "    style %s fill:#f96\n", node(origin))
	for _, ed := range edges {
		fmt.Fprintf(&m, "    %s -->|%s| %s\n", node(ed.from), ed.label, node(ed.to))
		fmt.Fprintf(&d, "  %s -> %s [label=%q];\n", node(ed.from), node(ed.to), ed.label)
	}
	d.WriteString("}\n")
	return m.String(), d.String()
}
