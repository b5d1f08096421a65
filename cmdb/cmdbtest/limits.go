package cmdbtest

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
)

// longIdent returns an identifier of exactly cmdb.MaxIdentifier bytes
// starting with prefix.
func longIdent(prefix string) string {
	return prefix + strings.Repeat("x", cmdb.MaxIdentifier-len(prefix))
}

// limits: the largest class, attribute and relationship type names, CI
// name and attribute values cmdb accepts are stored, found and related on
// every backend (PostgreSQL indexes each attribute value in one index row
// with the tenant, the kind and the name); one byte more on any of them
// is a *itil.ValidationError naming the field at the cmdb call, not a
// storage error at commit, and writes nothing.
func limits(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	r := rand.New(rand.NewPCG(7, 7))
	class, attr, dec, kind := longIdent("c"), longIdent("a"), longIdent("d"), longIdent("k")
	relType := longIdent("r")
	cs := cmdb.DefaultClasses()
	require.NoError(t, cs.Add(cmdb.Class{Name: class, Standalone: true, Identify: [][]string{{attr}}, Attributes: []cmdb.Attribute{
		{Name: attr, Type: cmdb.String, Unique: true}, {Name: dec, Type: cmdb.Decimal},
		{Name: kind, Type: cmdb.Enum, Values: []string{"small", testkit.RandomText(r, cmdb.MaxAttributeValue)}},
	}}))
	svc, err := cmdb.New(newStore(t), cmdb.WithClasses(cs), cmdb.WithRelTypes(cmdb.RelType{Name: relType,
		ParentLabel: "Big", ChildLabel: "Bigger", Propagation: cmdb.None, Allowed: []cmdb.Pair{{Parent: class, Child: class}}}))
	require.NoError(t, err)

	// The largest of everything: a name of 256 four-byte characters (the
	// largest sort key), an attribute term of exactly storage.MaxTerm bytes,
	// a decimal written out to MaxAttributeValue bytes, the longest enum
	// value.
	name := strings.Repeat("𝄞", 256)
	value := testkit.RandomText(r, cmdb.MaxAttributeValue)
	tiny := "1e-" + strconv.Itoa(cmdb.MaxAttributeValue-2) // 0.000…1, MaxAttributeValue bytes
	enum, _ := cs.Get(class)
	big := enum.Attributes[2].Values[1]
	ci, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name,
		Attributes: map[string]string{attr: value, dec: tiny, kind: big}})
	require.NoError(t, err)
	require.Len(t, ci.Attributes[dec], cmdb.MaxAttributeValue)
	got, err := svc.Get(ctx, ci.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{attr: value, dec: ci.Attributes[dec], kind: big}, got.Attributes)
	require.Equal(t, name, got.Name)
	other, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name[:len(name)-4],
		Attributes: map[string]string{attr: testkit.RandomText(r, cmdb.MaxAttributeValue), kind: big}})
	require.NoError(t, err)
	listed := func(f cmdb.Filter) []itil.ID {
		t.Helper()
		var ids []itil.ID
		for c, err := range svc.List(ctx, f) {
			require.NoError(t, err)
			ids = append(ids, c.ID)
		}
		return ids
	}
	require.Equal(t, []itil.ID{ci.ID}, listed(cmdb.Filter{Attributes: map[string]string{attr: value}}))
	require.Equal(t, []itil.ID{ci.ID}, listed(cmdb.Filter{Classes: []string{class}, NamePrefix: name}))
	require.ElementsMatch(t, []itil.ID{ci.ID, other.ID}, listed(cmdb.Filter{Attributes: map[string]string{kind: big}}))

	// A unique value is checked with a lookup of its term.
	_, err = svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: "copy", Attributes: map[string]string{attr: value}})
	testkit.RequireFields(t, err, "attributes."+attr)
	// An import identifies the CI by its longest value.
	res, err := svc.Import(ctx, admin, "discovery", []cmdb.ImportRecord{{Class: class, Name: name, Attributes: map[string]string{attr: value}}})
	require.NoError(t, err)
	require.Equal(t, ci.ID, res[0].ID, "%+v", res[0])
	require.NotEqual(t, cmdb.Rejected, res[0].Outcome, "%+v", res[0])

	rel, err := svc.Relate(ctx, admin, relType, ci.ID, other.ID)
	require.NoError(t, err)
	rels, err := svc.Relationships(ctx, other.ID)
	require.NoError(t, err)
	require.Len(t, rels, 1)
	require.Equal(t, rel.ID, rels[0].ID)
	require.Equal(t, relType, rels[0].Type)

	// One byte more. The 3000-byte value is what PostgreSQL used to refuse
	// at commit (SQLSTATE 54000) where memory and SQLite stored it.
	for _, c := range []struct {
		name  string
		attrs map[string]string
	}{
		{"a string one byte longer", map[string]string{attr: value + "x"}},
		{"a 3000-byte string", map[string]string{attr: testkit.RandomText(r, 3000)}},
		{"a decimal one digit longer", map[string]string{attr: "v", dec: "1e-" + strconv.Itoa(cmdb.MaxAttributeValue-1)}},
		{"a decimal of a huge exponent", map[string]string{attr: "v", dec: "1e2000000000"}},
	} {
		field := "attributes." + attr
		if _, ok := c.attrs[dec]; ok {
			field = "attributes." + dec
		}
		_, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: "too long", Attributes: c.attrs})
		testkit.RequireFields(t, err, field)
		_, err = svc.UpdateCI(ctx, admin, other.ID, cmdb.Patch{Attributes: c.attrs})
		testkit.RequireFields(t, err, field)
		res, err := svc.Import(ctx, admin, "discovery", []cmdb.ImportRecord{{Class: class, Name: "too long", Attributes: c.attrs}})
		require.NoError(t, err, c.name)
		require.Equal(t, cmdb.Rejected, res[0].Outcome, c.name)
		require.Equal(t, field, res[0].Reasons[0].Field, c.name)
	}
	for _, err := range svc.List(ctx, cmdb.Filter{Attributes: map[string]string{attr: value + "x"}}) {
		testkit.RequireFields(t, err, "attributes."+attr)
	}
	for _, err := range svc.Baselines(ctx, strings.Repeat("b", 161)) {
		testkit.RequireFields(t, err, "name")
	}
	_, err = svc.CreateCI(ctx, admin, cmdb.NewCI{Class: class, Name: name + "x", Attributes: map[string]string{attr: "v"}})
	testkit.RequireFields(t, err, "name")
	require.ElementsMatch(t, []itil.ID{ci.ID, other.ID}, listed(cmdb.Filter{Classes: []string{class}}), "nothing was written")
	after, err := svc.Get(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, other.Attributes, after.Attributes)

	// Names one byte longer than MaxIdentifier, and an enum value one byte
	// longer than MaxAttributeValue.
	long := longIdent("z") + "z"
	testkit.RequireFields(t, cs.Add(cmdb.Class{Name: long}), "name")
	testkit.RequireFields(t, cs.Add(cmdb.Class{Name: "fine", Attributes: []cmdb.Attribute{{Name: long, Type: cmdb.String}}}),
		"attributes[0].name")
	testkit.RequireFields(t, cs.Add(cmdb.Class{Name: "fine", Attributes: []cmdb.Attribute{{Name: "e", Type: cmdb.Enum,
		Values: []string{big + "x"}}}}), "attributes[0].values[0]")
	_, err = cmdb.New(newStore(t), cmdb.WithClasses(cs), cmdb.WithRelTypes(cmdb.RelType{Name: long,
		ParentLabel: "Big", ChildLabel: "Bigger", Propagation: cmdb.None, Allowed: []cmdb.Pair{{Parent: class, Child: class}}}))
	var v *itil.ValidationError
	require.ErrorAs(t, err, &v)
	require.True(t, v.Has("rel_types[0].name"), "%v", v)
}
