package cmdb

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Limits, in bytes, on the names and values cmdb puts into index terms.
// They derive from storage's limits, so that every backend stores every
// CI, relationship and class these checks let through.
const (
	// MaxIdentifier is the longest class, attribute or relationship type
	// name.
	MaxIdentifier = 64
	// MaxAttributeValue is the longest attribute value, in canonical form
	// (a decimal written out in full). Every attribute value is indexed
	// as the term "a.<attribute>=<value>", which is then at most
	// storage.MaxTerm bytes long.
	MaxAttributeValue = storage.MaxTerm - len("a.=") - MaxIdentifier
)

// identifierRule is the reason given for a bad class, attribute or
// relationship type name.
var identifierRule = "must be lower-case letters, digits and underscores, starting with a letter, at most " +
	strconv.Itoa(MaxIdentifier) + " bytes"

// AttrType is the type of a CI attribute's values.
type AttrType string

// Attribute types. Values are stored as strings in a canonical form: int
// in base 10, bool as true/false, time in RFC 3339 UTC, decimal as its
// exact decimal text, enum as one of the listed values, reference as the
// ID of another CI. Every value is indexed, so none may be longer than
// MaxAttributeValue bytes in canonical form (a string, an enum value, a
// decimal written out in full).
const (
	String    AttrType = "string"
	Int       AttrType = "int"
	Bool      AttrType = "bool"
	Time      AttrType = "time"
	Decimal   AttrType = "decimal"
	Enum      AttrType = "enum"
	Reference AttrType = "reference"
)

// Attribute declares one attribute of a class (and of its subclasses).
// Its name, like a class's and a relationship type's, is lower-case
// letters, digits and underscores, starting with a letter, at most
// MaxIdentifier bytes.
type Attribute struct {
	Name     string   `json:"name"`
	Type     AttrType `json:"type"`
	Required bool     `json:"required,omitempty"`
	// Unique makes the value unique among the CIs of the class that
	// declares the attribute and its subclasses.
	Unique bool `json:"unique,omitempty"`
	// Values lists the allowed values of an enum.
	Values []string `json:"values,omitempty"`
}

// Class is a CI class: a node of the class tree with its own attributes
// (it inherits its ancestors'), its identification rules and whether its
// CIs are expected to have relationships.
type Class struct {
	Name       string      `json:"name"`
	Parent     string      `json:"parent,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
	// Identify lists identifier attribute sets in order: a CI is the one
	// whose values match the first set the incoming record fills
	// completely (serial number; else hostname and domain; else MAC
	// address). Subclasses inherit the rules of the nearest class that
	// has some.
	Identify [][]string `json:"identify,omitempty"`
	// DependsOn makes identification dependent: the CI is identified by
	// its identifier attributes together with the CI it has a
	// relationship of this type with (a software instance by its name and
	// the server it runs on).
	DependsOn string `json:"depends_on,omitempty"`
	// Standalone marks classes whose CIs need no relationship (a
	// Location); the health report lists other CIs without any as
	// orphans.
	Standalone bool `json:"standalone,omitempty"`
}

// Classes is a class tree. Build one with DefaultClasses and Add; it is
// not safe to change while a Service uses it.
type Classes struct {
	byName map[string]*Class
	order  []string
}

// Class names of the default tree.
const (
	ClassBusinessService    = "business_service"
	ClassApplicationService = "application_service"
	ClassApplication        = "application"
	ClassSoftwareInstance   = "software_instance"
	ClassDatabaseInstance   = "database_instance"
	ClassWebServer          = "web_server"
	ClassHardware           = "hardware"
	ClassServer             = "server"
	ClassLinuxServer        = "linux_server"
	ClassWindowsServer      = "windows_server"
	ClassNetworkDevice      = "network_device"
	ClassStorageDevice      = "storage_device"
	ClassVirtualMachine     = "virtual_machine"
	ClassCluster            = "cluster"
	ClassLocation           = "location"
)

// DefaultClasses returns the class tree that ships with the package:
//
//	business_service → application_service
//	application
//	software_instance → database_instance, web_server
//	hardware → server → linux_server, windows_server; network_device; storage_device
//	virtual_machine
//	cluster
//	location
//
// Hardware is identified by serial number, else host name and domain,
// else MAC address; software instances by name on the server they run on.
// A cluster's min_up or min_up_percent says how many members must be up.
func DefaultClasses() *Classes {
	cs := &Classes{byName: map[string]*Class{}}
	hw := [][]string{{"serial_number"}, {"host_name", "domain"}, {"mac_address"}}
	for _, c := range []Class{
		{Name: ClassBusinessService, Attributes: []Attribute{{Name: "service_owner", Type: String}}, Identify: [][]string{{"name"}}},
		{Name: ClassApplicationService, Parent: ClassBusinessService},
		{Name: ClassApplication, Attributes: []Attribute{{Name: "vendor", Type: String}, {Name: "version", Type: String}}, Identify: [][]string{{"name"}}},
		{Name: ClassSoftwareInstance, Attributes: []Attribute{{Name: "version", Type: String}, {Name: "port", Type: Int}},
			Identify: [][]string{{"name"}}, DependsOn: "runs_on"},
		{Name: ClassDatabaseInstance, Parent: ClassSoftwareInstance, Attributes: []Attribute{{Name: "engine", Type: Enum, Values: []string{"postgresql", "mysql", "oracle", "sqlserver", "other"}}}},
		{Name: ClassWebServer, Parent: ClassSoftwareInstance},
		{Name: ClassHardware, Attributes: []Attribute{
			{Name: "serial_number", Type: String, Unique: true}, {Name: "host_name", Type: String},
			{Name: "domain", Type: String}, {Name: "mac_address", Type: String},
			{Name: "ip_address", Type: String}, {Name: "manufacturer", Type: String},
			{Name: "purchased", Type: Time}, {Name: "cost", Type: Decimal}}, Identify: hw},
		{Name: ClassServer, Parent: ClassHardware, Attributes: []Attribute{{Name: "cpu_count", Type: Int}, {Name: "memory_gb", Type: Int}}},
		{Name: ClassLinuxServer, Parent: ClassServer, Attributes: []Attribute{{Name: "kernel", Type: String}}},
		{Name: ClassWindowsServer, Parent: ClassServer, Attributes: []Attribute{{Name: "os_build", Type: String}}},
		{Name: ClassNetworkDevice, Parent: ClassHardware, Attributes: []Attribute{{Name: "device_role", Type: Enum, Values: []string{"core", "distribution", "access", "firewall", "load_balancer"}}}},
		{Name: ClassStorageDevice, Parent: ClassHardware, Attributes: []Attribute{{Name: "capacity_tb", Type: Int}}},
		{Name: ClassVirtualMachine, Attributes: []Attribute{{Name: "host_name", Type: String}, {Name: "domain", Type: String},
			{Name: "vm_uuid", Type: String, Unique: true}, {Name: "ip_address", Type: String}},
			Identify: [][]string{{"vm_uuid"}, {"host_name", "domain"}}},
		{Name: ClassCluster, Attributes: []Attribute{{Name: "min_up", Type: Int}, {Name: "min_up_percent", Type: Int}}, Identify: [][]string{{"name"}}},
		// A location's time_zone (an IANA name) is where floating
		// maintenance windows are read for the CIs there.
		{Name: ClassLocation, Attributes: []Attribute{{Name: "address", Type: String}, {Name: "time_zone", Type: String}},
			Identify: [][]string{{"name"}}, Standalone: true},
	} {
		if err := cs.Add(c); err != nil {
			panic(err) // the default tree is valid; a test checks it
		}
	}
	return cs
}

// Add adds a class under an existing parent (or as a root). An invalid
// class gives a *itil.ValidationError naming every bad field, and the tree
// is unchanged.
func (cs *Classes) Add(c Class) error {
	var v itil.ValidationError
	switch {
	case !validName(c.Name):
		v.Add("name", identifierRule)
	case cs.byName[c.Name] != nil:
		v.Add("name", fmt.Sprintf("class %q already exists", c.Name))
	}
	if c.Parent != "" && cs.byName[c.Parent] == nil {
		v.Add("parent", fmt.Sprintf("class %q does not exist", c.Parent))
	}
	inherited := map[string]bool{"name": true}
	if c.Parent != "" && cs.byName[c.Parent] != nil {
		for _, a := range cs.Attributes(c.Parent) {
			inherited[a.Name] = true
		}
	}
	seen := map[string]bool{}
	for i, a := range c.Attributes {
		f := fmt.Sprintf("attributes[%d]", i)
		switch {
		case !validName(a.Name):
			v.Add(f+".name", identifierRule)
		case inherited[a.Name]:
			v.Add(f+".name", fmt.Sprintf("%q is already an attribute of the class's ancestors", a.Name))
		case seen[a.Name]:
			v.Add(f+".name", fmt.Sprintf("%q is listed twice", a.Name))
		}
		seen[a.Name] = true
		switch a.Type {
		case String, Int, Bool, Time, Decimal, Reference:
			if len(a.Values) > 0 {
				v.Add(f+".values", "only an enum lists values")
			}
		case Enum:
			if len(a.Values) == 0 {
				v.Add(f+".values", "an enum must list its values")
			}
			for j, x := range a.Values {
				if x == "" || !utf8.ValidString(x) || slices.Index(a.Values, x) != j {
					v.Add(fmt.Sprintf("%s.values[%d]", f, j), "must be non-empty, valid UTF-8 and listed once")
				} else if len(x) > MaxAttributeValue {
					v.Add(fmt.Sprintf("%s.values[%d]", f, j), tooLong)
				}
			}
		default:
			v.Add(f+".type", fmt.Sprintf("%q is not one of string, int, bool, time, decimal, enum, reference", a.Type))
		}
	}
	for i, set := range c.Identify {
		if len(set) == 0 {
			v.Add(fmt.Sprintf("identify[%d]", i), "must name at least one attribute")
		}
		for _, name := range set {
			if !inherited[name] && !seen[name] {
				v.Add(fmt.Sprintf("identify[%d]", i), fmt.Sprintf("%q is not an attribute of the class", name))
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	c.Attributes = slices.Clone(c.Attributes)
	c.Identify = slices.Clone(c.Identify)
	cs.byName[c.Name] = &c
	cs.order = append(cs.order, c.Name)
	return nil
}

// validName reports whether s may name a class, an attribute or a
// relationship type (see identifierRule).
func validName(s string) bool {
	if s == "" || len(s) > MaxIdentifier || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Names lists the classes in the order they were added.
func (cs *Classes) Names() []string { return slices.Clone(cs.order) }

// Get returns a copy of a class; ok is false for an unknown name.
func (cs *Classes) Get(name string) (Class, bool) {
	c, ok := cs.byName[name]
	if !ok {
		return Class{}, false
	}
	out := *c
	out.Attributes = slices.Clone(c.Attributes)
	return out, true
}

// IsA reports whether class is ancestor or one of its descendants.
func (cs *Classes) IsA(class, ancestor string) bool {
	for c := cs.byName[class]; c != nil; c = cs.byName[c.Parent] {
		if c.Name == ancestor {
			return true
		}
	}
	return false
}

// Attributes returns a class's attributes, its ancestors' first.
func (cs *Classes) Attributes(class string) []Attribute {
	var chain []*Class
	for c := cs.byName[class]; c != nil; c = cs.byName[c.Parent] {
		chain = append(chain, c)
	}
	var out []Attribute
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i].Attributes...)
	}
	return out
}

// attribute finds an attribute of a class and the class declaring it.
func (cs *Classes) attribute(class, name string) (Attribute, string, bool) {
	for c := cs.byName[class]; c != nil; c = cs.byName[c.Parent] {
		for _, a := range c.Attributes {
			if a.Name == name {
				return a, c.Name, true
			}
		}
	}
	return Attribute{}, "", false
}

// rules returns the identification rules in force for a class (its own or
// its nearest ancestor's) and the dependent relationship type.
func (cs *Classes) rules(class string) ([][]string, string) {
	var dep string
	for c := cs.byName[class]; c != nil; c = cs.byName[c.Parent] {
		if dep == "" {
			dep = c.DependsOn
		}
		if len(c.Identify) > 0 {
			return c.Identify, dep
		}
	}
	return nil, dep
}

func (cs *Classes) standalone(class string) bool {
	for c := cs.byName[class]; c != nil; c = cs.byName[c.Parent] {
		if c.Standalone {
			return true
		}
	}
	return false
}

// canonical checks a value against its attribute and returns its canonical
// text, or the reason it is invalid.
func canonical(a Attribute, s string) (string, string) {
	if !utf8.ValidString(s) {
		return "", "must be valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", "must not contain NUL bytes"
	}
	switch a.Type {
	case String:
		if len(s) > MaxAttributeValue {
			return "", tooLong
		}
		return s, ""
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return "", fmt.Sprintf("%q is not an integer", s)
		}
		return strconv.FormatInt(n, 10), ""
	case Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return "", fmt.Sprintf("%q is not true or false", s)
		}
		return strconv.FormatBool(b), ""
	case Time:
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return "", fmt.Sprintf("%q is not an RFC 3339 time", s)
		}
		if !check.TimeOK(t) {
			return "", fmt.Sprintf("%q %s", s, check.TimeReason(t))
		}
		return t.UTC().Format(time.RFC3339Nano), ""
	case Decimal:
		d, err := decimal.NewFromString(strings.TrimSpace(s))
		if err != nil {
			return "", fmt.Sprintf("%q is not a decimal number", s)
		}
		// The canonical form writes every digit out ("1e6" is 1000000):
		// refuse an exponent that makes it too long before writing it.
		if e := decimalExponent(d); e > MaxAttributeValue || e < -MaxAttributeValue {
			return "", tooLongDecimal
		}
		out := d.String()
		if len(out) > MaxAttributeValue {
			return "", tooLongDecimal
		}
		return out, ""
	case Enum:
		if !slices.Contains(a.Values, s) {
			return "", fmt.Sprintf("%q is not one of %s", s, strings.Join(a.Values, ", "))
		}
		return s, ""
	case Reference:
		id, err := itil.ParseID(strings.TrimSpace(s))
		if err != nil || id == itil.NilID {
			return "", fmt.Sprintf("%q is not a CI ID", s)
		}
		return id.String(), ""
	}
	return "", "has an unknown type"
}

var (
	tooLong        = "must be at most " + strconv.Itoa(MaxAttributeValue) + " bytes"
	tooLongDecimal = "must be at most " + strconv.Itoa(MaxAttributeValue) + " bytes written out in full"
)

// decimalExponent returns the exponent of d with its coefficient's
// trailing zeros moved into it (0 for zero): a nonzero d written out in
// full has more than e digits before the point when e > 0, and -e digits
// after it when e < 0.
func decimalExponent(d decimal.Decimal) int {
	c := d.Coefficient().String()
	t := strings.TrimRight(c, "0")
	if t == "" || t == "-" {
		return 0
	}
	return int(d.Exponent()) + len(c) - len(t)
}

// validateAttributes checks a CI's attribute values against its class and
// returns them in canonical form.
func (cs *Classes) validateAttributes(class string, attrs map[string]string, v *itil.ValidationError) map[string]string {
	out := make(map[string]string, len(attrs))
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		a, _, ok := cs.attribute(class, name)
		if !ok {
			v.Add("attributes."+name, fmt.Sprintf("is not an attribute of class %s", class))
			continue
		}
		val, reason := canonical(a, attrs[name])
		if reason != "" {
			v.Add("attributes."+name, reason)
			continue
		}
		if val != "" {
			out[name] = val
		}
	}
	for _, a := range cs.Attributes(class) {
		if a.Required && out[a.Name] == "" && !v.Has("attributes."+a.Name) {
			v.Add("attributes."+a.Name, "is required")
		}
	}
	if len(out) == 0 {
		return nil // as JSON gives it back
	}
	return out
}
