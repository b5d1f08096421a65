// Package estate generates the configuration estate the benchmarks run
// on, laid out like a real one: business services, applications,
// software instances in tiers calling each other within a domain, the VMs
// and servers they run on, and shared infrastructure (core, distribution
// and access switches, storage). At 1M CIs it has about 4.4M
// relationships. The CMDB's impact benchmarks and the cost allocation
// benchmarks of strategy use the same estate. Only tests import it.
package estate

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/itilkit/itil"
)

// The relationship types the estate uses, by the CMDB's names (cmdb's
// tests check they are among cmdb.DefaultRelTypes).
const (
	dependsOn  = "depends_on"
	runsOn     = "runs_on"
	hostedOn   = "hosted_on"
	connectsTo = "connects_to"
	uses       = "uses"
)

// Types lists the relationship types Type indexes.
var Types = []string{dependsOn, runsOn, hostedOn, connectsTo, uses}

// Layers of the generated estate.
const (
	BusinessServices = iota
	Applications
	Servers
	CoreSwitches
	DistributionSwitches
	AccessSwitches
	Storage
	VMs
	SoftwareInstances
	NLayers
)

// Estate is a generated estate: its CIs' IDs in layer order, where each
// layer starts, and its relationships (parent, child, and the type as an
// index into Types).
type Estate struct {
	IDs   []itil.ID
	First [NLayers + 1]int32 // layer l is First[l]:First[l+1]
	// Parent[i] relates to Child[i] by the type Types[Type[i]].
	Parent, Child []int32
	Type          []uint8
}

// Layer returns the layer of the CI i.
func (e *Estate) Layer(i int32) int {
	for l := range NLayers {
		if i < e.First[l+1] {
			return l
		}
	}
	return -1
}

// Generate builds an estate of n CIs. IDs are time-ordered like UUID v7
// ones created in layer order (as discovery loads an estate), so sorting
// them keeps the layers together.
func Generate(n int, seed uint64) *Estate {
	r := rand.New(rand.NewPCG(seed, 42))
	infra := max(n/100, 16)
	sizes := [NLayers]int{
		BusinessServices: max(n/1000, 1), Applications: max(n/50, 4), Servers: n / 5, CoreSwitches: max(infra/200, 2),
		Storage: infra / 10, DistributionSwitches: infra / 10, VMs: 3 * n / 10,
	}
	sizes[AccessSwitches] = infra - sizes[CoreSwitches] - sizes[Storage] - sizes[DistributionSwitches]
	sizes[SoftwareInstances] = n
	for l := range NLayers - 1 {
		sizes[SoftwareInstances] -= sizes[l]
	}
	e := &Estate{IDs: make([]itil.ID, n)}
	for l := range NLayers {
		e.First[l+1] = e.First[l] + int32(sizes[l])
	}
	for i := range e.IDs {
		id := &e.IDs[i]
		binary.BigEndian.PutUint64(id[:8], uint64(1_750_000_000_000+i/64)<<16|0x7000|r.Uint64()&0xfff)
		binary.BigEndian.PutUint64(id[8:], r.Uint64()&^(3<<62)|1<<63)
	}
	types := map[string]uint8{}
	for i, t := range Types {
		types[t] = uint8(i)
	}
	add := func(typ string, p, c int32) {
		e.Parent, e.Child, e.Type = append(e.Parent, p), append(e.Child, c), append(e.Type, types[typ])
	}
	pick := func(l int) int32 { return e.First[l] + int32(r.IntN(sizes[l])) }
	nApp, nSI := sizes[Applications], sizes[SoftwareInstances]
	domains := max(nApp/100, 1)
	appsPer := nApp / domains
	for i := range nApp {
		app := e.First[Applications] + int32(i)
		add(dependsOn, e.First[BusinessServices]+int32(i*sizes[BusinessServices]/nApp), app)
		add(uses, app, pick(Storage))
	}
	for bs := e.First[BusinessServices]; bs < e.First[BusinessServices+1]; bs++ {
		for range 5 {
			add(dependsOn, bs, pick(Applications))
		}
	}
	for s := range nSI {
		si := e.First[SoftwareInstances] + int32(s)
		dom := s * domains / nSI
		domStart, domEnd := dom*nSI/domains, (dom+1)*nSI/domains
		size := domEnd - domStart
		tier := (s - domStart) * 4 / size
		add(dependsOn, e.First[Applications]+int32(dom*appsPer+r.IntN(appsPer)), si)
		if tier < 3 {
			lo, hi := domStart+(tier+1)*size/4, domStart+(tier+2)*size/4
			for range 4 {
				if dep := e.First[SoftwareInstances] + int32(lo+r.IntN(hi-lo)); dep != si { // tier edges round
					add(dependsOn, si, dep)
				}
			}
		}
		if r.IntN(10) < 6 {
			add(runsOn, si, pick(VMs))
		} else {
			add(runsOn, si, pick(Servers))
		}
		if s%2 == 0 {
			add(uses, si, pick(Storage))
		}
	}
	for vm := e.First[VMs]; vm < e.First[VMs+1]; vm++ {
		add(hostedOn, vm, pick(Servers))
		add(connectsTo, vm, pick(AccessSwitches))
		add(connectsTo, vm, pick(AccessSwitches))
		add(dependsOn, vm, pick(Storage))
	}
	for srv := e.First[Servers]; srv < e.First[Servers+1]; srv++ {
		add(connectsTo, srv, pick(AccessSwitches))
		add(connectsTo, srv, pick(AccessSwitches))
		add(uses, srv, pick(Storage))
	}
	for a := e.First[AccessSwitches]; a < e.First[AccessSwitches+1]; a++ {
		add(connectsTo, a, pick(DistributionSwitches))
		add(connectsTo, a, pick(DistributionSwitches))
	}
	for d := e.First[DistributionSwitches]; d < e.First[DistributionSwitches+1]; d++ {
		add(connectsTo, d, pick(CoreSwitches))
		add(connectsTo, d, pick(CoreSwitches))
	}
	return e
}
