package problemtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
)

// testLimits: the indexed fields at their longest (160 four-byte
// characters) and a problem naming MaxCIs configuration items are stored
// and found on every backend; a filter value no problem can hold is a
// *itil.ValidationError naming the filter's field.
func testLimits(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	long := strings.Repeat("𝄞", 160)
	cis := make([]itil.ID, problem.MaxCIs)
	for i := range cis {
		cis[i] = itil.NewID()
	}
	in := basic(long)
	in.Category, in.CIIDs = long, cis
	p, err := f.svc.Open(f.ctx, analyst, in)
	require.NoError(t, err)
	_, err = f.svc.Assign(f.ctx, analyst, p.ID, long, long)
	require.NoError(t, err)
	f.open("other")
	for _, fl := range []problem.Filter{
		{AssignmentGroups: []string{long}}, {Assignees: []string{long}},
		{Categories: []string{"email", long}}, {CIID: cis[problem.MaxCIs-1]},
	} {
		page, next, err := f.svc.ListPage(f.ctx, fl, 10, "")
		require.NoError(t, err)
		require.Empty(t, next)
		require.Len(t, page, 1, "%+v", fl)
		assert.Equal(t, p.ID, page[0].ID)
		assert.Equal(t, cis, page[0].CIIDs)
	}
	_, _, err = f.svc.ListPage(f.ctx, problem.Filter{Assignees: []string{long + "x"}}, 10, "")
	testkit.RequireInvalid(t, err, "assignees[0]")
	for _, err := range f.svc.List(f.ctx, problem.Filter{Categories: []string{long + "x"}}) {
		testkit.RequireInvalid(t, err, "categories[0]")
	}
}

// testVersionAndTx: IfVersion refuses a stale version with itil.ErrConflict
// and writes nothing; In runs commands inside the caller's transaction,
// committed or rolled back with it.
func testVersionAndTx(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	p := f.open("versioned")
	before := f.journalLen()
	_, err := f.svc.IfVersion(p.Version+1).Assess(f.ctx, analyst, p.ID)
	require.ErrorIs(t, err, itil.ErrConflict)
	assert.Equal(t, before, f.journalLen())
	got, err := f.svc.IfVersion(p.Version).Assess(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	assert.Equal(t, problem.StateAssess, got.State)

	boom := errors.New("caller aborts")
	err = f.store.RunInTx(storage.Writing(f.ctx), func(ctx context.Context, tx storage.Tx) error {
		if _, err := f.svc.In(tx).Assign(ctx, analyst, p.ID, "problem-mgmt", ""); err != nil {
			return err
		}
		if _, err := f.svc.In(tx).Open(ctx, analyst, basic("in the same transaction")); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Empty(t, f.get(p.ID).AssignmentGroup, "rolled back")
	require.NoError(t, f.store.RunInTx(storage.Writing(f.ctx), func(ctx context.Context, tx storage.Tx) error {
		_, err := f.svc.In(tx).Assign(ctx, analyst, p.ID, "problem-mgmt", "")
		return err
	}))
	assert.Equal(t, "problem-mgmt", f.get(p.ID).AssignmentGroup, "committed")
}

// testLongTexts: a problem's longest texts reach its incidents: the fix
// notes, workaround and reasons a problem holds (check.Long characters)
// become incident notes with a prefix, cut to the incident's limit, and
// never make the problem's command fail.
func testLongTexts(t *testing.T, newStore NewStore) {
	f := setupLinks(t, newStore, nil)
	const most = 32000 // check.Long, the limit of a problem's long texts and of an incident's note
	long := strings.Repeat("é", most)
	p := f.toFix("relay leaks memory")
	_, err := f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{Workaround: ptr(long), FixNotes: ptr(long)})
	require.NoError(t, err)
	awaiting, working := f.openIncident("mail down"), f.openIncident("mail slow")
	f.link(p.ID, awaiting.ID)
	f.link(p.ID, working.ID)
	incAwaiting.to(f, awaiting.ID)
	incInProgress.to(f, working.ID)
	n, err := f.svc.CommunicateWorkaround(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = f.svc.Resolve(f.ctx, analyst, p.ID)
	require.NoError(t, err)
	assert.Equal(t, long, f.getIncident(awaiting.ID).ResolutionNotes, "resolution notes are the fix notes, whole")
	for _, vis := range []itil.Visibility{itil.Comment, itil.WorkNote} {
		notes := f.notes(working.ID, vis)
		require.NotEmpty(t, notes)
		last := notes[len(notes)-1]
		assert.Equal(t, most, utf8.RuneCountInString(last), "cut to the incident's limit")
		assert.True(t, strings.HasSuffix(last, "…"))
	}

	q := f.toRCA("printer jams")
	other := f.openIncident("printer jammed")
	f.link(q.ID, other.ID)
	_, err = f.svc.Cancel(f.ctx, analyst, q.ID, long)
	require.NoError(t, err)
	notes := f.notes(other.ID, itil.WorkNote)
	assert.Equal(t, most, utf8.RuneCountInString(notes[len(notes)-1]))
}
