package problemtest

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/problem"
)

// runKnownErrorsCMDB runs the cases of known errors found for a CI alike.
func runKnownErrorsCMDB(t *testing.T, newStore NewStore) {
	t.Run("LikeCI", func(t *testing.T) { testKELikeCI(t, newStore) })
	t.Run("LikeCIStale", func(t *testing.T) { testKELikeStale(t, newStore) })
	t.Run("LikeCIBadInput", func(t *testing.T) { testKELikeBadInput(t, newStore) })
	t.Run("LikeCIProperty", func(t *testing.T) { testKELikeProperty(t, newStore) })
}

// cmdbFixture is a problem Service and a CMDB on one store.
type cmdbFixture struct {
	*fixture
	cm *cmdb.Service
}

// likeClasses is the default class tree with a switch and a firewall
// that have a model attribute.
func likeClasses(t tb) *cmdb.Classes {
	cs := cmdb.DefaultClasses()
	for _, name := range []string{"switch", "firewall"} {
		require.NoError(t, cs.Add(cmdb.Class{Name: name, Parent: cmdb.ClassNetworkDevice,
			Attributes: []cmdb.Attribute{{Name: "model", Type: cmdb.String}}}))
	}
	require.NoError(t, cs.Add(cmdb.Class{Name: "blade", Parent: cmdb.ClassLinuxServer,
		Attributes: []cmdb.Attribute{{Name: "model", Type: cmdb.String}}}))
	return cs
}

func setupCMDB(t *testing.T, newStore NewStore, opts ...problem.Option) *cmdbFixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), store: newStore(t), clock: newClock()}
	cm, err := cmdb.New(f.store, cmdb.WithClasses(likeClasses(t)), cmdb.WithClock(f.clock))
	require.NoError(t, err)
	svc, err := problem.New(f.store, append([]problem.Option{problem.WithClock(f.clock), problem.WithCMDB(cm)}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return &cmdbFixture{fixture: f, cm: cm}
}

// ci records a CI with a manufacturer and, when not empty, a model.
func (f *cmdbFixture) ci(class, name, vendor, model string) itil.ID {
	f.t.Helper()
	attrs := map[string]string{}
	if vendor != "" {
		attrs["manufacturer"] = vendor
	}
	if model != "" {
		attrs["model"] = model
	}
	c, err := f.cm.CreateCI(f.ctx, analyst, cmdb.NewCI{Class: class, Name: name, Attributes: attrs})
	require.NoError(f.t, err)
	return c.ID
}

func (f *cmdbFixture) like(id itil.ID, by problem.Likeness) []string {
	f.t.Helper()
	return numbers(f.t, f.ke().Search(f.ctx, problem.KnownErrorQuery{LikeCI: id, LikeBy: by}))
}

func naming(title string, ids ...itil.ID) problem.NewKnownError {
	in := newKE(title)
	for _, id := range ids {
		in.CIs = append(in.CIs, problem.KnownErrorCI{CIID: id, Reason: "affected"})
	}
	return in
}

// testKELikeCI: a known error is found for the CI it names, for a CI of
// the same class or a class above it, and for a CI of the same vendor
// and model (folded), or whose model the known error itself names; once
// each, in rank order.
func testKELikeCI(t *testing.T, newStore NewStore) {
	f := setupCMDB(t, newStore)
	sw1 := f.ci("switch", "sw1", "Cisco", "C9300")
	sw2 := f.ci("switch", "sw2", "Cisco", "C9300")
	sw3 := f.ci("switch", "sw3", "Cisco", "C9200")
	fw1 := f.ci("firewall", "fw1", "CISCO", "c9300")
	lx1 := f.ci(cmdb.ClassLinuxServer, "lx1", "Dell", "")
	lx2 := f.ci(cmdb.ClassLinuxServer, "lx2", "Dell", "")
	bl1 := f.ci("blade", "bl1", "HPE", "BL460c")
	win := f.ci(cmdb.ClassWindowsServer, "win1", "Dell", "")
	srv := f.ci(cmdb.ClassServer, "srv1", "", "")
	nd := f.ci(cmdb.ClassNetworkDevice, "nd1", "", "")
	loc := f.ci(cmdb.ClassLocation, "dc1", "", "")

	k1 := f.published(naming("switch port flaps", sw1))
	assert.Equal(t, "network_device/switch", k1.CIs[0].ClassPath[len("hardware/"):])
	assert.Equal(t, "switch", k1.CIs[0].Class())
	assert.Equal(t, "Cisco", k1.CIs[0].Vendor)
	assert.Equal(t, "C9300", k1.CIs[0].Model)
	f.clock.Advance(time.Minute)
	k2 := f.published(naming("kernel panic", lx1))
	f.clock.Advance(time.Minute)
	k3 := newKE("C9200 reboots")
	k3.Vendor, k3.Model = "cisco", "c9200"
	f.published(k3)
	f.clock.Advance(time.Minute)
	k4 := f.published(naming("blade fan noise", bl1, lx2)) // two CIs alike lx1: found once
	f.clock.Advance(time.Minute)
	gone := itil.NewID() // not in the CMDB: named, never classified
	k5 := f.published(naming("orphan", gone))
	assert.Empty(t, k5.CIs[0].ClassPath)

	for _, c := range []struct {
		name string
		ci   itil.ID
		by   problem.Likeness
		want []string
	}{
		{"itself", sw1, 0, []string{k1.Number}},
		{"same class and model", sw2, 0, []string{k1.Number}},
		{"same class, other model", sw3, 0, []string{"KE0001003", k1.Number}},
		{"same class only", sw3, problem.LikeClass, []string{k1.Number}},
		{"same model only", sw3, problem.LikeModel, []string{"KE0001003"}},
		{"same model, other class (folded)", fw1, 0, []string{k1.Number}},
		{"other class", fw1, problem.LikeClass, []string{}},
		{"network devices take switches and firewalls", nd, problem.LikeClass, []string{k1.Number}},
		{"linux servers take blades", lx1, 0, []string{k4.Number, k2.Number}},
		{"a blade is no generic linux server", bl1, problem.LikeClass, []string{k4.Number}},
		{"servers take every server", srv, 0, []string{k4.Number, k2.Number}},
		{"windows is no linux", win, 0, []string{}},
		{"nothing alike", loc, 0, []string{}},
		{"itself by model only", lx1, problem.LikeModel, []string{k2.Number}},
	} {
		assert.Equal(t, c.want, f.like(c.ci, c.by), c.name)
	}
	// Rank: most incidents resolved with it first.
	f.resolveWith(k2, 2)
	assert.Equal(t, []string{k2.Number, k4.Number}, f.like(lx1, 0))
	// With the other filters; pages agree with the iterator.
	assert.Equal(t, []string{k4.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{LikeCI: lx1, Words: "fan"})))
	assert.Equal(t, []string{k2.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{LikeCI: srv, CIIDs: []itil.ID{lx1}})))
	page, next, err := f.ke().SearchPage(f.ctx, problem.KnownErrorQuery{LikeCI: srv}, 1, "")
	require.NoError(t, err)
	require.Len(t, page, 1)
	page2, next2, err := f.ke().SearchPage(f.ctx, problem.KnownErrorQuery{LikeCI: srv}, 1, next)
	require.NoError(t, err)
	assert.Equal(t, []string{k2.Number, k4.Number}, []string{page[0].Number, page2[0].Number})
	assert.Empty(t, next2)
	// Drafts and retired ones only when asked.
	d, err := f.ke().Create(f.ctx, analyst, naming("draft", sw2))
	require.NoError(t, err)
	assert.Equal(t, []string{k1.Number}, f.like(sw2, 0))
	assert.Equal(t, []string{d.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{LikeCI: sw2,
		States: []problem.KnownErrorState{problem.KnownErrorDraft}})))

	// What a caller writes into the classification is ignored.
	in := naming("forged")
	in.CIs = []problem.KnownErrorCI{{CIID: loc, ClassPath: "hardware/switch", Vendor: "Cisco", Model: "C9300"}}
	forged, err := f.ke().Create(f.ctx, analyst, in)
	require.NoError(t, err)
	assert.Equal(t, problem.KnownErrorCI{CIID: loc, ClassPath: cmdb.ClassLocation}, forged.CIs[0])

	// PublishKnownError classifies the problem's CIs.
	p := f.open("fans")
	_, err = f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{CIIDs: &[]itil.ID{bl1}, Workaround: ptr("swap the fan")})
	require.NoError(t, err)
	k6, err := f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{})
	require.NoError(t, err)
	assert.Equal(t, "hardware/server/linux_server/blade", k6.CIs[0].ClassPath)
	assert.Equal(t, "BL460c", k6.CIs[0].Model)
	assert.Equal(t, []string{k6.Number, k4.Number}, f.like(bl1, problem.LikeModel))
	assert.Equal(t, []string{k5.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{CIIDs: []itil.ID{gone}})))
}

// testKELikeStale: a known error keeps its CIs' classification as of its
// last edit; the next edit refreshes it.
func testKELikeStale(t *testing.T, newStore NewStore) {
	f := setupCMDB(t, newStore)
	a := f.ci("switch", "a", "Cisco", "C9300")
	b := f.ci("switch", "b", "Cisco", "C9500")
	k := f.published(naming("flaps", a))
	_, err := f.cm.UpdateCI(f.ctx, analyst, a, cmdb.Patch{Attributes: map[string]string{"model": "C9500"}})
	require.NoError(t, err)
	assert.Empty(t, f.like(b, problem.LikeModel), "as classified when last written")
	k, err = f.ke().Update(f.ctx, analyst, k.ID, problem.KnownErrorPatch{Title: ptr("flaps again")})
	require.NoError(t, err)
	assert.Equal(t, "C9500", k.CIs[0].Model)
	assert.Equal(t, []string{k.Number}, f.like(b, problem.LikeModel))
	// A patch naming the same CIs changes nothing.
	_, err = f.ke().Update(f.ctx, analyst, k.ID, problem.KnownErrorPatch{CIs: &[]problem.KnownErrorCI{{CIID: a, Reason: "affected"}}})
	require.ErrorAs(t, err, new(*itil.ValidationError))
	// A deleted CI: its known errors stay found by its ID.
	require.NoError(t, f.cm.DeleteCI(f.ctx, analyst, a))
	for _, err := range f.ke().Search(f.ctx, problem.KnownErrorQuery{LikeCI: a}) {
		require.ErrorIs(t, err, itil.ErrNotFound)
	}
	assert.Equal(t, []string{k.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{CIIDs: []itil.ID{a}})))
	assert.Equal(t, []string{k.Number}, f.like(b, problem.LikeModel), "until its next edit")
}

// testKELikeBadInput: an unknown CI is not found; LikeCI without a CMDB
// and a bad LikeBy are invalid; nothing is written.
func testKELikeBadInput(t *testing.T, newStore NewStore) {
	f := setupCMDB(t, newStore)
	sw := f.ci("switch", "sw", "Cisco", "C9300")
	f.published(naming("flaps", sw))
	before := f.journalLen()
	search := func(q problem.KnownErrorQuery) error {
		for _, err := range f.ke().Search(f.ctx, q) {
			if err != nil {
				return err
			}
		}
		_, _, err := f.ke().SearchPage(f.ctx, q, 0, "")
		return err
	}
	require.ErrorIs(t, search(problem.KnownErrorQuery{LikeCI: itil.NewID()}), itil.ErrNotFound)
	other := setupCMDB(t, newStore) // a CI of another store is unknown here
	require.ErrorIs(t, search(problem.KnownErrorQuery{LikeCI: other.ci("switch", "x", "", "")}), itil.ErrNotFound)
	assertInvalid(t, search(problem.KnownErrorQuery{LikeCI: sw, LikeBy: 8}), "like_by")
	assertInvalid(t, search(problem.KnownErrorQuery{LikeCI: sw, LikeBy: 8, Words: wordsN(problem.MaxSearchWords + 1)}), "like_by", "words")
	plain := setup(t, newStore)
	err := func() error {
		for _, err := range plain.ke().Search(plain.ctx, problem.KnownErrorQuery{LikeCI: sw}) {
			return err
		}
		return nil
	}()
	assertInvalid(t, err, "like_ci")
	_, err = problem.New(f.store, problem.WithCMDB(nil), problem.WithCIModel(problem.CIModel{Vendor: []string{""}}))
	assertInvalid(t, err, "cmdb", "ci_model.model", "ci_model.vendor[0]")
	assert.Equal(t, before, f.journalLen(), "searches write nothing")
}

// assertInvalid checks that err is a *itil.ValidationError naming
// exactly the fields.
func assertInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ve *itil.ValidationError
	require.ErrorAs(t, err, &ve)
	var got []string
	for _, fe := range ve.Fields {
		got = append(got, fe.Field)
	}
	slices.Sort(got)
	slices.Sort(fields)
	assert.Equal(t, fields, got)
}

// testKELikeProperty: LikeCI equals a naive filter over every known
// error and the CMDB, in rank order, on random CIs and known errors.
func testKELikeProperty(t *testing.T, newStore NewStore) {
	f := setupCMDB(t, newStore)
	classes := []string{"switch", "firewall", "blade", cmdb.ClassLinuxServer, cmdb.ClassServer, cmdb.ClassNetworkDevice, cmdb.ClassLocation}
	withModel := map[string]bool{"switch": true, "firewall": true, "blade": true}
	models := []string{"C9300", "c9300", "C9200", "BL460c", ""}
	vendors := []string{"Cisco", "CISCO", "HPE", ""}
	type ciInfo struct{ class, vendor, model string }
	rapid.Check(t, func(rt *rapid.T) {
		f.t = rt
		info := map[itil.ID]ciInfo{}
		var ids []itil.ID
		for i := range rapid.IntRange(1, 6).Draw(rt, "cis") {
			class := rapid.SampledFrom(classes).Draw(rt, "class")
			vendor, model := rapid.SampledFrom(vendors).Draw(rt, "vendor"), ""
			if withModel[class] {
				model = rapid.SampledFrom(models).Draw(rt, "model")
			}
			if class == cmdb.ClassLocation {
				vendor = ""
			}
			id := f.ci(class, "ci"+string(rune('a'+i))+itil.NewID().String()[:8], vendor, model)
			ids = append(ids, id)
			info[id] = ciInfo{class, vendor, model}
		}
		svc := itil.NewID() // this run's known errors, apart from earlier runs'
		var all []*problem.KnownError
		for range rapid.IntRange(0, 6).Draw(rt, "kes") {
			in := newKE("k")
			in.ServiceID = svc
			for _, id := range rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 0, 3, func(id itil.ID) itil.ID { return id }).Draw(rt, "named") {
				in.CIs = append(in.CIs, problem.KnownErrorCI{CIID: id})
			}
			if rapid.Bool().Draw(rt, "own model") {
				in.Vendor, in.Model = rapid.SampledFrom(vendors).Draw(rt, "ke vendor"), rapid.SampledFrom(models[:4]).Draw(rt, "ke model")
			}
			k, err := f.ke().Create(f.ctx, analyst, in)
			require.NoError(rt, err)
			if rapid.IntRange(0, 3).Draw(rt, "publish") > 0 {
				k, err = f.ke().Publish(f.ctx, analyst, k.ID)
				require.NoError(rt, err)
				// Only a published known error resolves incidents.
				if n := rapid.IntRange(0, 2).Draw(rt, "incidents"); n > 0 {
					k = f.resolveWith(k, n)
				}
			}
			f.clock.Advance(time.Second)
			all = append(all, k)
		}
		target := rapid.SampledFrom(ids).Draw(rt, "target")
		by := rapid.SampledFrom([]problem.Likeness{0, problem.LikeClass, problem.LikeModel, problem.LikeAny}).Draw(rt, "by")
		cls := likeClasses(rt)
		ti := info[target]
		sameModel := func(vendor, model string) bool {
			return by != problem.LikeClass && ti.model != "" && model != "" &&
				problem.Fold(vendor) == problem.Fold(ti.vendor) && problem.Fold(model) == problem.Fold(ti.model)
		}
		var want []*problem.KnownError
		for _, k := range all {
			ok := k.State == problem.KnownErrorPublished && sameModel(k.Vendor, k.Model)
			for _, c := range k.CIs {
				ci := info[c.CIID]
				ok = ok || c.CIID == target ||
					(by != problem.LikeModel && cls.IsA(ci.class, ti.class)) || sameModel(ci.vendor, ci.model)
			}
			if ok && k.State == problem.KnownErrorPublished {
				want = append(want, k)
			}
		}
		slices.SortStableFunc(want, func(a, b *problem.KnownError) int {
			if a.IncidentCount != b.IncidentCount {
				return b.IncidentCount - a.IncidentCount
			}
			return b.CreatedAt.Compare(a.CreatedAt)
		})
		wantN := []string{}
		for _, k := range want {
			wantN = append(wantN, k.Number)
		}
		require.Equal(rt, wantN, numbers(rt, f.ke().Search(f.ctx, problem.KnownErrorQuery{LikeCI: target, LikeBy: by, ServiceID: svc})))
	})
}
