package cmdb

import (
	"fmt"
	"slices"

	"github.com/itilkit/itil"
)

// Propagation says which way a failure travels along a relationship type.
type Propagation string

// Propagations.
const (
	// ChildToParent: the parent depends on the child, so the child's
	// failure affects the parent (an application that runs on a server).
	ChildToParent Propagation = "child_to_parent"
	// ParentToChild: the parent's failure affects the child (a location
	// that contains servers).
	ParentToChild Propagation = "parent_to_child"
	// None: the relationship carries no impact (ownership).
	None Propagation = "none"
)

// Pair is a (parent class, child class) pair a relationship type allows;
// each side also admits the class's descendants.
type Pair struct {
	Parent string `json:"parent"`
	Child  string `json:"child"`
}

// RelType is a directed relationship type with its parent::child names,
// such as Depends on::Used by, the class pairs it allows and the way it
// propagates impact.
type RelType struct {
	Name        string      `json:"name"`
	ParentLabel string      `json:"parent_label"` // "Depends on"
	ChildLabel  string      `json:"child_label"`  // "Used by"
	Allowed     []Pair      `json:"allowed"`
	Propagation Propagation `json:"propagation"`
	// Membership marks cluster membership (cluster parent, member child):
	// a member's failure reaches the cluster only when fewer members than
	// the cluster's min_up (or min_up_percent) remain up.
	Membership bool `json:"membership,omitempty"`
}

// The default relationship type names.
const (
	DependsOn     = "depends_on"
	RunsOn        = "runs_on"
	HostedOn      = "hosted_on"
	Contains      = "contains"
	ConnectsTo    = "connects_to"
	VirtualizedBy = "virtualized_by"
	ClusterOf     = "cluster_of"
	Uses          = "uses"
	Provides      = "provides"
	Owns          = "owns"
)

// DefaultRelTypes returns the relationship types that ship with the
// package and the class pairs they allow.
func DefaultRelTypes() []RelType {
	any := func(pairs ...Pair) []Pair { return pairs }
	return []RelType{
		{Name: DependsOn, ParentLabel: "Depends on", ChildLabel: "Used by", Propagation: ChildToParent, Allowed: any(
			Pair{ClassBusinessService, ClassBusinessService}, Pair{ClassBusinessService, ClassApplication},
			Pair{ClassBusinessService, ClassCluster}, Pair{ClassBusinessService, ClassSoftwareInstance},
			Pair{ClassApplication, ClassApplication}, Pair{ClassApplication, ClassSoftwareInstance},
			Pair{ClassApplication, ClassCluster}, Pair{ClassSoftwareInstance, ClassSoftwareInstance},
			Pair{ClassSoftwareInstance, ClassCluster}, Pair{ClassHardware, ClassHardware},
			Pair{ClassVirtualMachine, ClassStorageDevice}, Pair{ClassCluster, ClassHardware})},
		{Name: RunsOn, ParentLabel: "Runs on", ChildLabel: "Runs", Propagation: ChildToParent, Allowed: any(
			Pair{ClassApplication, ClassServer}, Pair{ClassApplication, ClassVirtualMachine},
			Pair{ClassApplication, ClassCluster}, Pair{ClassSoftwareInstance, ClassServer},
			Pair{ClassSoftwareInstance, ClassVirtualMachine}, Pair{ClassSoftwareInstance, ClassCluster})},
		{Name: HostedOn, ParentLabel: "Hosted on", ChildLabel: "Hosts", Propagation: ChildToParent, Allowed: any(
			Pair{ClassVirtualMachine, ClassServer}, Pair{ClassVirtualMachine, ClassCluster},
			Pair{ClassApplication, ClassServer}, Pair{ClassServer, ClassHardware})},
		{Name: Contains, ParentLabel: "Contains", ChildLabel: "Contained by", Propagation: ParentToChild, Allowed: any(
			Pair{ClassLocation, ClassHardware}, Pair{ClassLocation, ClassLocation}, Pair{ClassHardware, ClassHardware})},
		{Name: ConnectsTo, ParentLabel: "Connects to", ChildLabel: "Connected by", Propagation: ChildToParent, Allowed: any(
			Pair{ClassHardware, ClassNetworkDevice}, Pair{ClassVirtualMachine, ClassNetworkDevice},
			Pair{ClassCluster, ClassNetworkDevice})},
		{Name: VirtualizedBy, ParentLabel: "Virtualized by", ChildLabel: "Virtualizes", Propagation: ChildToParent, Allowed: any(
			Pair{ClassVirtualMachine, ClassServer}, Pair{ClassVirtualMachine, ClassCluster})},
		{Name: ClusterOf, ParentLabel: "Cluster of", ChildLabel: "Cluster", Propagation: ChildToParent, Membership: true, Allowed: any(
			Pair{ClassCluster, ClassServer}, Pair{ClassCluster, ClassVirtualMachine},
			Pair{ClassCluster, ClassSoftwareInstance}, Pair{ClassCluster, ClassHardware})},
		{Name: Uses, ParentLabel: "Uses", ChildLabel: "Used by", Propagation: ChildToParent, Allowed: any(
			Pair{ClassBusinessService, ClassBusinessService}, Pair{ClassApplication, ClassApplication},
			Pair{ClassApplication, ClassStorageDevice}, Pair{ClassSoftwareInstance, ClassStorageDevice},
			Pair{ClassServer, ClassStorageDevice}, Pair{ClassCluster, ClassStorageDevice})},
		{Name: Provides, ParentLabel: "Provides", ChildLabel: "Provided by", Propagation: ParentToChild, Allowed: any(
			Pair{ClassApplication, ClassBusinessService}, Pair{ClassCluster, ClassBusinessService})},
		{Name: Owns, ParentLabel: "Owns", ChildLabel: "Owned by", Propagation: None, Allowed: any(
			Pair{ClassBusinessService, ClassApplication}, Pair{ClassBusinessService, ClassHardware})},
	}
}

// relTypes indexes relationship types by name, with a small number each
// for the index.
type relTypes struct {
	list   []RelType
	byName map[string]int
}

func newRelTypes(list []RelType, cs *Classes) (*relTypes, error) {
	var v itil.ValidationError
	rt := &relTypes{byName: map[string]int{}}
	if len(list) > 255 {
		v.Add("rel_types", "at most 255 relationship types")
	}
	for i, t := range list {
		f := fmt.Sprintf("rel_types[%d]", i)
		if !validName(t.Name) {
			v.Add(f+".name", identifierRule)
		} else if _, dup := rt.byName[t.Name]; dup {
			v.Add(f+".name", fmt.Sprintf("%q is listed twice", t.Name))
		}
		if t.ParentLabel == "" || t.ChildLabel == "" {
			v.Add(f+".labels", "both the parent and the child label are required")
		}
		switch t.Propagation {
		case ChildToParent, ParentToChild, None:
		default:
			v.Add(f+".propagation", fmt.Sprintf("%q is not child_to_parent, parent_to_child or none", t.Propagation))
		}
		if len(t.Allowed) == 0 {
			v.Add(f+".allowed", "must list at least one class pair")
		}
		for j, p := range t.Allowed {
			if _, ok := cs.byName[p.Parent]; !ok {
				v.Add(fmt.Sprintf("%s.allowed[%d].parent", f, j), fmt.Sprintf("class %q does not exist", p.Parent))
			}
			if _, ok := cs.byName[p.Child]; !ok {
				v.Add(fmt.Sprintf("%s.allowed[%d].child", f, j), fmt.Sprintf("class %q does not exist", p.Child))
			}
		}
		t.Allowed = slices.Clone(t.Allowed)
		rt.byName[t.Name] = len(rt.list)
		rt.list = append(rt.list, t)
	}
	return rt, v.Err()
}

// allows reports whether a relationship of type t may join the classes.
func (rt *relTypes) allows(cs *Classes, t RelType, parent, child string) bool {
	for _, p := range t.Allowed {
		if cs.IsA(parent, p.Parent) && cs.IsA(child, p.Child) {
			return true
		}
	}
	return false
}
