package slmtest

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage"
)

// limits: a definition with the longest name (160 characters of four
// bytes, its sort key) and the longest subject kind (MaxSubjectKind bytes,
// in its index term) is defined, listed and starts timers on subjects of
// that kind on every backend; one byte more on either, in a filter or in
// a snapshot's kind is a *itil.ValidationError naming the field, not a
// storage error, and writes nothing.
func limits(t *testing.T, newStore NewStore) {
	f := newFixture(t, newStore, at(2026, 11, 16, 9, 0))
	r := rand.New(rand.NewPCG(11, 11))
	kind := testkit.RandomText(r, slm.MaxSubjectKind)
	d := resolution(nil)
	d.Name, d.SubjectKind = strings.Repeat("𝄞", 160), kind
	def := f.define(d)
	d.Name = strings.Repeat("𝄞", 159) + "a"
	f.define(d)
	var names []string
	for got, err := range f.e.List(f.ctx, slm.Filter{SubjectKinds: []string{kind}}) {
		require.NoError(t, err)
		names = append(names, got.Name)
	}
	require.Equal(t, []string{d.Name, def.Name}, names)

	observe := func(kind string) ([]*slm.Timer, error) {
		id := itil.NewID()
		var out []*slm.Timer
		err := f.e.Store().RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
			if err := f.e.Observe(ctx, tx, agent, itil.Snapshot{Kind: kind, ID: id, State: "new", Priority: itil.P1, Time: f.now}); err != nil {
				return err
			}
			var err error
			out, err = f.e.In(tx).Timers(ctx, id)
			return err
		})
		return out, err
	}
	ts, err := observe(kind)
	require.NoError(t, err)
	require.Len(t, ts, 2, "a timer of each definition")

	requireField := func(err error, field string) {
		t.Helper()
		var v *itil.ValidationError
		require.ErrorAs(t, err, &v)
		require.True(t, v.Has(field), "%v should name %s", v, field)
	}
	tooLong := kind + "x"
	d.Name = def.Name + "a"
	_, err = f.e.Define(f.ctx, admin, d)
	requireField(err, "name")
	d.Name, d.SubjectKind = "fine", tooLong
	_, err = f.e.Define(f.ctx, admin, d)
	requireField(err, "subject_kind")
	for _, err := range f.e.List(f.ctx, slm.Filter{SubjectKinds: []string{"ticket", tooLong}}) {
		requireField(err, "subject_kinds[1]")
	}
	_, err = observe(tooLong)
	requireField(err, "snapshot.kind")

	n := 0
	for _, err := range f.e.List(f.ctx, slm.Filter{}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 2, n, "nothing more was defined")
}
