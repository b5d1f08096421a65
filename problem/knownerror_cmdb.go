package problem

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/storage"
)

// Known errors and the CMDB.
//
// With WithCMDB, every command that writes a known error's text (Create,
// Update, Publish and Service.PublishKnownError) looks up each CI the
// known error names and records, on its KnownErrorCI, the CI's class with
// its ancestors (ClassPath) and its vendor and model (Vendor, Model, read
// from the attributes CIModel names). They are indexed with the known
// error, so KnownErrorQuery.LikeCI ("known errors for this CI, or for a
// CI of the same class or model") is an index lookup on every backend,
// never a scan of known errors and CIs.
//
// Staleness: the classification is the CMDB's as of the known error's
// last such write. A CI's class never changes (cmdb has no command that
// changes it), so only a vendor or model changed afterwards is missed,
// until the known error is edited again; the searched CI itself is always
// read from the CMDB as it is at query time. Looking up the CMDB at query
// time for every known error's CIs instead would always be current but
// would read every candidate known error's CIs on each search, which no
// index can serve; known errors are edited far more often than CIs change
// model, so indexing at write time is the trade chosen.

// CIModel names the CI attributes that hold a CI's vendor and model: the
// first attribute of each list that the CI has a value for. A CI without
// a model value has no model (a vendor alone is no model).
type CIModel struct {
	Vendor []string
	Model  []string
}

// DefaultCIModel reads a CI's vendor from its manufacturer (hardware in
// cmdb.DefaultClasses) or vendor (applications) attribute, and its model
// from its model attribute (which a class tree declares where it needs
// one).
func DefaultCIModel() CIModel {
	return CIModel{Vendor: []string{"manufacturer", "vendor"}, Model: []string{"model"}}
}

// keCMDB is the known errors' view of the CMDB (WithCMDB, WithCIModel).
type keCMDB struct {
	cmdb  *cmdb.Service
	model *CIModel
}

// WithCMDB gives known errors the CMDB their CIs live in: commands record
// each named CI's class and model, and search finds known errors for CIs
// of the same class or model (KnownErrorQuery.LikeCI). The CMDB must be on
// the Service's store: it is read in the command's transaction.
func WithCMDB(c *cmdb.Service) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if c == nil {
			v.Add("cmdb", "must not be nil")
		}
		cfg.ke.cmdb = c
	}}
}

// WithCIModel sets which CI attributes hold a CI's vendor and model
// (default DefaultCIModel). Each list needs at least one attribute name.
func WithCIModel(m CIModel) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if len(m.Model) == 0 {
			v.Add("ci_model.model", "must name at least one attribute")
		}
		for i, a := range m.Vendor {
			check.Text(v, "ci_model.vendor["+strconv.Itoa(i)+"]", a, true, cmdb.MaxIdentifier)
		}
		for i, a := range m.Model {
			check.Text(v, "ci_model.model["+strconv.Itoa(i)+"]", a, true, cmdb.MaxIdentifier)
		}
		m := CIModel{Vendor: slices.Clone(m.Vendor), Model: slices.Clone(m.Model)}
		cfg.ke.model = &m
	}}
}

func (c *keCMDB) ciModel() CIModel {
	if c.model != nil {
		return *c.model
	}
	return DefaultCIModel()
}

// describe returns how the CMDB classifies a CI: its class path from the
// root class down, and its vendor and model.
func (c *keCMDB) describe(ci *cmdb.CI) (path, vendor, model string) {
	classes := c.cmdb.Classes()
	var lineage []string
	for name, seen := ci.Class, 0; name != "" && seen < 64; seen++ {
		lineage = append(lineage, name)
		cl, ok := classes.Get(name)
		if !ok {
			break
		}
		name = cl.Parent
	}
	slices.Reverse(lineage)
	m := c.ciModel()
	first := func(names []string) string {
		for _, n := range names {
			if v := ci.Attributes[n]; v != "" {
				return v
			}
		}
		return ""
	}
	if model = first(m.Model); model != "" {
		vendor = first(m.Vendor)
	}
	return strings.Join(lineage, "/"), vendor, model
}

// classify records on each of the known error's CIs how the CMDB
// classifies it, read in tx; without a CMDB it clears what a caller may
// have filled in. A CI the CMDB does not hold (deleted since, or never
// recorded there) keeps no class or model: the known error still names
// it and is found by its ID.
func (c *keCMDB) classify(ctx context.Context, tx storage.Tx, ke *KnownError) error {
	for i := range ke.CIs {
		kc := &ke.CIs[i]
		kc.ClassPath, kc.Vendor, kc.Model = "", "", ""
		if c.cmdb == nil {
			continue
		}
		ci, err := c.cmdb.In(tx).Get(ctx, kc.CIID)
		if errors.Is(err, itil.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		kc.ClassPath, kc.Vendor, kc.Model = c.describe(ci)
	}
	return nil
}

// modelKey is the index value of a vendor and model, folded; the vendor's
// length first, so that no two pairs share a key.
func modelKey(vendor, model string) string {
	v := Fold(vendor)
	return strconv.Itoa(len(v)) + ":" + v + "/" + Fold(model)
}

// Likeness says which CIs KnownErrorQuery.LikeCI counts as alike.
type Likeness uint8

// Likenesses, combined with |. A known error that names the CI itself is
// always found.
const (
	// LikeClass: a CI of the same class, or of a class below it
	// (searching for a server finds known errors for Linux servers;
	// searching for a Linux server does not find those for Windows
	// servers or for servers of no more precise class), as iTop's and
	// ServiceNow's class filters include subclasses.
	LikeClass Likeness = 1 << iota
	// LikeModel: a CI of the same vendor and model, or a known error
	// whose own Vendor and Model are the CI's.
	LikeModel
	// LikeAny is LikeClass | LikeModel, the default.
	LikeAny = LikeClass | LikeModel
)

// likeTerms looks the CI up in the CMDB and returns the any-of group of
// index terms that find the known errors for it or for a CI alike, the
// class it looks for ("" if none), and the model key when it is longer
// than its term (to be checked in full).
func (k *KnownErrors) likeTerms(ctx context.Context, id itil.ID, by Likeness) (group []string, class, longModel string, err error) {
	c := &k.problems.cfg.ke
	if c.cmdb == nil {
		return nil, "", "", itil.Invalid("like_ci", "needs the CMDB: configure the Service WithCMDB")
	}
	var ci *cmdb.CI
	err = k.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		var err error
		ci, err = c.cmdb.In(tx).Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, "", "", err
	}
	group = []string{storage.Term("ci", id.String())}
	_, vendor, model := c.describe(ci)
	if by&LikeClass != 0 && ci.Class != "" {
		class = ci.Class
		group = append(group, storage.Term("ciclass", class))
	}
	if by&LikeModel != 0 && model != "" {
		key := modelKey(vendor, model)
		group = append(group, storage.Term("cimodel", cut(key, maxKeyBytes)))
		if len(key) > maxKeyBytes {
			longModel = key
		}
	}
	return group, class, longModel, nil
}

// likeKeep reports whether a known error an index term found for LikeCI
// truly matches, when the model key was cut for the index.
func likeKeep(ke *KnownError, id itil.ID, class, key string) bool {
	if ke.Model != "" && modelKey(ke.Vendor, ke.Model) == key {
		return true
	}
	for _, c := range ke.CIs {
		if c.CIID == id || (class != "" && slices.Contains(strings.Split(c.ClassPath, "/"), class)) ||
			(c.Model != "" && modelKey(c.Vendor, c.Model) == key) {
			return true
		}
	}
	return false
}

// cmdbTerms appends the index terms of the CIs' classification: each
// class of each CI's class path, and each CI's (and the known error's
// own) vendor and model.
func cmdbTerms(k *KnownError, dst []string) []string {
	if k.Model != "" {
		dst = append(dst, storage.Term("cimodel", cut(modelKey(k.Vendor, k.Model), maxKeyBytes)))
	}
	for _, c := range k.CIs {
		if c.ClassPath != "" {
			for class := range strings.SplitSeq(c.ClassPath, "/") {
				dst = append(dst, storage.Term("ciclass", class))
			}
		}
		if c.Model != "" {
			dst = append(dst, storage.Term("cimodel", cut(modelKey(c.Vendor, c.Model), maxKeyBytes)))
		}
	}
	return dst
}
