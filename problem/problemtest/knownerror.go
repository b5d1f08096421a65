package problemtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/problem"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// runKnownErrors runs the known error cases.
func runKnownErrors(t *testing.T, instances storagetest.Instances, newStore NewStore) {
	t.Run("Lifecycle", func(t *testing.T) { testKELifecycle(t, newStore) })
	t.Run("FromProblem", func(t *testing.T) { testKEFromProblem(t, newStore) })
	t.Run("Search", func(t *testing.T) { testKESearch(t, newStore) })
	t.Run("SearchLongWords", func(t *testing.T) { testKELongWords(t, newStore) })
	t.Run("SearchProperty", func(t *testing.T) { testKESearchProperty(t, newStore) })
	t.Run("BadInput", func(t *testing.T) { testKEBadInput(t, newStore) })
	t.Run("TwoInstances", func(t *testing.T) { testKETwoInstances(t, instances) })
	runKnownErrorsCMDB(t, newStore) // knownerror_cmdb.go
}

func newKE(title string) problem.NewKnownError {
	return problem.NewKnownError{Title: title, Symptom: "users see " + title,
		Workaround: "restart the client", Domain: problem.DomainApplication}
}

func (f *fixture) ke() *problem.KnownErrors { return f.svc.KnownErrors() }

// published creates and publishes a known error.
func (f *fixture) published(in problem.NewKnownError) *problem.KnownError {
	f.t.Helper()
	k, err := f.ke().Create(f.ctx, analyst, in)
	require.NoError(f.t, err)
	k, err = f.ke().Publish(f.ctx, analyst, k.ID)
	require.NoError(f.t, err)
	return k
}

// resolveWith raises k's IncidentCount by n the only way it rises: it
// opens n incidents and resolves each with k, which must be published,
// through an incident Service and a problem Service WithIncidents on f's
// store and clock. It returns k as stored then.
func (f *fixture) resolveWith(k *problem.KnownError, n int) *problem.KnownError {
	f.t.Helper()
	inc, err := incident.New(f.store, incident.WithClock(f.clock))
	require.NoError(f.t, err)
	svc, err := problem.New(f.store, problem.WithClock(f.clock), problem.WithIncidents(inc))
	require.NoError(f.t, err)
	for _, id := range openIncidents(f.t, f.ctx, inc, n) {
		_, err := svc.ResolveWithKnownError(f.ctx, agent, id, k.ID, "as "+k.Number+" says")
		require.NoError(f.t, err)
	}
	k, err = f.ke().Get(f.ctx, k.ID)
	require.NoError(f.t, err)
	return k
}

// openIncidents opens n incidents with inc and returns their IDs.
func openIncidents(t tb, ctx context.Context, inc *incident.Service, n int) []itil.ID {
	t.Helper()
	ids := make([]itil.ID, n)
	for i := range ids {
		got, err := inc.Open(ctx, agent, incident.NewIncident{Title: fmt.Sprintf("hit again (%d)", i+1), Caller: caller,
			Channel: incident.Phone, Impact: 2, Urgency: 2})
		require.NoError(t, err)
		ids[i] = got.ID
	}
	return ids
}

// numbers collects the numbers of a search, in order.
func numbers(t tb, seq iter.Seq2[*problem.KnownError, error]) []string {
	t.Helper()
	out := []string{}
	for k, err := range seq {
		require.NoError(t, err)
		out = append(out, k.Number)
	}
	return out
}

// testKELifecycle: draft → published → revised → retired; a revision is
// readable afterwards; retired and drafts are not found by default.
func testKELifecycle(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	ks := f.ke()
	d, err := ks.Create(f.ctx, analyst, newKE("Outlook freezes on start"))
	require.NoError(t, err)
	assert.Equal(t, "KE0001001", d.Number)
	assert.Equal(t, problem.KnownErrorDraft, d.State)
	assert.Equal(t, 0, d.Revision)
	assert.Equal(t, f.clock.Now(), d.CreatedAt)
	assert.Empty(t, numbers(t, ks.Search(f.ctx, problem.KnownErrorQuery{Words: "outlook"})), "drafts are not found by default")
	assert.Equal(t, []string{"KE0001001"}, numbers(t, ks.Search(f.ctx, problem.KnownErrorQuery{Words: "outlook",
		States: []problem.KnownErrorState{problem.KnownErrorDraft}})))

	// A draft edit is no revision.
	d, err = ks.Update(f.ctx, analyst, d.ID, problem.KnownErrorPatch{ErrorCode: ptr("OL-0x800")})
	require.NoError(t, err)
	assert.Equal(t, 0, d.Revision)
	f.clock.Advance(time.Hour)
	p, err := ks.Publish(f.ctx, manager, d.ID)
	require.NoError(t, err)
	assert.Equal(t, problem.KnownErrorPublished, p.State)
	assert.Equal(t, 1, p.Revision)
	assert.Equal(t, manager, p.PublishedBy)
	assert.Equal(t, f.clock.Now(), p.PublishedAt)
	_, err = ks.Publish(f.ctx, manager, d.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)

	// Editing a published known error makes a new revision; the old one
	// stays readable.
	f.clock.Advance(time.Hour)
	r2, err := ks.Update(f.ctx, analyst, d.ID, problem.KnownErrorPatch{Workaround: ptr("start Outlook in safe mode")})
	require.NoError(t, err)
	assert.Equal(t, 2, r2.Revision)
	assert.Equal(t, problem.KnownErrorPublished, r2.State)
	assert.Equal(t, analyst, r2.RevisedBy)
	assert.Equal(t, f.clock.Now(), r2.RevisedAt)
	assert.Equal(t, p.ID, r2.ID, "a revision keeps the ID")
	r1, err := ks.Revision(f.ctx, d.ID, 1)
	require.NoError(t, err)
	assert.Equal(t, "restart the client", r1.Workaround)
	assert.Equal(t, problem.KnownErrorPublished, r1.State)
	r0, err := ks.Revision(f.ctx, d.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, problem.KnownErrorDraft, r0.State)
	assert.Equal(t, "OL-0x800", r0.ErrorCode)
	_, err = ks.Revision(f.ctx, d.ID, 3)
	require.ErrorIs(t, err, itil.ErrNotFound)
	assert.Equal(t, []string{"KE0001001"}, numbers(t, ks.Search(f.ctx, problem.KnownErrorQuery{Words: "safe mode"})))
	assert.Empty(t, numbers(t, ks.Search(f.ctx, problem.KnownErrorQuery{Words: "restart"})), "search sees the current revision")
	h, err := ks.History(f.ctx, d.ID)
	require.NoError(t, err)
	var types []string
	for _, e := range h {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{problem.EventKnownErrorCreated, problem.EventKnownErrorUpdated,
		problem.EventKnownErrorPublished, problem.EventKnownErrorRevised}, types)

	// A published known error keeps a workaround or a solution.
	before := f.journalLen()
	_, err = ks.Update(f.ctx, analyst, d.ID, problem.KnownErrorPatch{Workaround: ptr("")})
	testkit.RequireInvalid(t, err, "workaround")
	_, err = ks.Update(f.ctx, analyst, d.ID, problem.KnownErrorPatch{})
	testkit.RequireInvalid(t, err, "patch")
	assert.Equal(t, before, f.journalLen())

	// Retired: final, found only when asked.
	_, err = ks.Retire(f.ctx, analyst, d.ID, "")
	testkit.RequireInvalid(t, err, "reason")
	ret, err := ks.Retire(f.ctx, analyst, d.ID, "Outlook 2016 is gone")
	require.NoError(t, err)
	assert.Equal(t, problem.KnownErrorRetired, ret.State)
	assert.Equal(t, "Outlook 2016 is gone", ret.RetiredReason)
	assert.Empty(t, numbers(t, ks.Search(f.ctx, problem.KnownErrorQuery{Words: "outlook"})))
	assert.Equal(t, []string{"KE0001001"}, numbers(t, ks.Search(f.ctx, problem.KnownErrorQuery{Words: "outlook",
		States: []problem.KnownErrorState{problem.KnownErrorRetired, problem.KnownErrorPublished}})))
	before = f.journalLen()
	_, err = ks.Update(f.ctx, analyst, d.ID, problem.KnownErrorPatch{Title: ptr("again")})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = ks.Publish(f.ctx, analyst, d.ID)
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = ks.Retire(f.ctx, analyst, d.ID, "twice")
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Equal(t, before, f.journalLen())

	// A draft without workaround or solution is not published.
	bare, err := ks.Create(f.ctx, analyst, problem.NewKnownError{Title: "bare", Symptom: "it fails"})
	require.NoError(t, err)
	assert.Equal(t, "KE0001002", bare.Number)
	_, err = ks.Publish(f.ctx, analyst, bare.ID)
	testkit.RequireInvalid(t, err, "workaround")
	got, err := ks.GetByNumber(f.ctx, "KE0001002")
	require.NoError(t, err)
	assert.Equal(t, bare, got)
	_, err = ks.GetByNumber(f.ctx, "KE0009999")
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = ks.GetByNumber(f.ctx, "PRB0001001")
	testkit.RequireInvalid(t, err, "number")
	_, err = ks.Retire(f.ctx, analyst, bare.ID, "never finished")
	require.NoError(t, err, "a draft may be retired")
}

// testKEFromProblem: PublishKnownError fills the known error from its
// problem and links it in the same transaction; refusals write nothing.
func testKEFromProblem(t *testing.T, newStore NewStore) {
	deny := errors.New("no known errors today")
	var refuse bool
	var mu sync.Mutex
	f := setup(t, newStore, problem.WithKnownErrorAuthorizer(func(_ context.Context, _ itil.Actor, cmd string, k *problem.KnownError) error {
		mu.Lock()
		defer mu.Unlock()
		if refuse && cmd == problem.CommandPublishKnownError {
			return deny
		}
		return nil
	}))
	svc, ci1, ci2 := itil.NewID(), itil.NewID(), itil.NewID()
	p, err := f.svc.Open(f.ctx, analyst, problem.NewProblem{Title: "VPN drops every hour",
		Description: "VPN sessions end after 60 minutes", ServiceID: svc, CIIDs: []itil.ID{ci1, ci2},
		Impact: 2, Urgency: 2, Workaround: "reconnect"})
	require.NoError(t, err)
	_, err = f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{CauseNotes: ptr("rekey timer misconfigured on the concentrator")})
	require.NoError(t, err)

	// Refused by the known error Authorizer: nothing written, no link.
	before := f.journalLen()
	mu.Lock()
	refuse = true
	mu.Unlock()
	_, err = f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{})
	require.ErrorIs(t, err, itil.ErrForbidden)
	require.ErrorIs(t, err, deny)
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, itil.NilID, f.get(p.ID).KnownErrorID)
	mu.Lock()
	refuse = false
	mu.Unlock()

	pv := f.get(p.ID).Version
	k, err := f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{ErrorCode: "VPN-809",
		Domain: problem.DomainNetwork, Vendor: "Cisco", Model: "ASA 5525", ModelVersion: "9.8"})
	require.NoError(t, err)
	assert.Equal(t, "KE0001001", k.Number)
	assert.Equal(t, problem.KnownErrorPublished, k.State)
	assert.Equal(t, 1, k.Revision)
	assert.Equal(t, "VPN drops every hour", k.Title)
	assert.Equal(t, "VPN sessions end after 60 minutes", k.Symptom)
	assert.Equal(t, "rekey timer misconfigured on the concentrator", k.RootCause)
	assert.Equal(t, "reconnect", k.Workaround)
	assert.Equal(t, "", k.Solution)
	assert.Equal(t, svc, k.ServiceID)
	assert.Equal(t, p.ID, k.ProblemID)
	assert.Equal(t, []itil.ID{ci1, ci2}, k.CIIDs())
	assert.Equal(t, "named by "+p.Number, k.CIs[0].Reason)
	assert.Equal(t, "Cisco", k.Vendor)
	linked := f.get(p.ID)
	assert.Equal(t, k.ID, linked.KnownErrorID)
	assert.Equal(t, pv+1, linked.Version)
	assert.Equal(t, before+2, f.journalLen(), "one event for the known error, one for the problem")
	got, err := f.ke().Get(f.ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, k, got)
	h, err := f.svc.History(f.ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, problem.EventKnownErrorLinked, h[len(h)-1].Type)
	assert.Equal(t, []string{"KE0001001"}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{ProblemID: p.ID})))

	// One known error per problem until it is retired.
	before = f.journalLen()
	_, err = f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	assert.Equal(t, before, f.journalLen())
	_, err = f.ke().Retire(f.ctx, analyst, k.ID, "superseded by a better write-up")
	require.NoError(t, err)
	_, err = f.svc.Update(f.ctx, analyst, p.ID, problem.Patch{FixNotes: ptr("rekey timer set to 8 h")})
	require.NoError(t, err)
	k2, err := f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{Symptom: "VPN: connection lost",
		CIs: []problem.KnownErrorCI{{CIID: ci2, Reason: "the concentrator"}}})
	require.NoError(t, err)
	assert.Equal(t, "KE0001002", k2.Number)
	assert.Equal(t, "rekey timer set to 8 h", k2.Solution)
	assert.Equal(t, "VPN: connection lost", k2.Symptom)
	assert.Equal(t, []problem.KnownErrorCI{{CIID: ci2, Reason: "the concentrator"}}, k2.CIs)
	assert.Equal(t, k2.ID, f.get(p.ID).KnownErrorID)

	// Without workaround or fix notes: a draft only.
	q := f.open("printer jams")
	before = f.journalLen()
	_, err = f.svc.PublishKnownError(f.ctx, analyst, q.ID, problem.FromProblem{})
	testkit.RequireInvalid(t, err, "workaround")
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, itil.NilID, f.get(q.ID).KnownErrorID)
	dk, err := f.svc.PublishKnownError(f.ctx, analyst, q.ID, problem.FromProblem{Draft: true})
	require.NoError(t, err)
	assert.Equal(t, problem.KnownErrorDraft, dk.State)
	assert.Equal(t, "printer jams", dk.Symptom, "the title when the problem has no description")
	assert.Equal(t, dk.ID, f.get(q.ID).KnownErrorID)

	// A final problem gets none; an unknown one is not found.
	c := f.toClosed("closed already")
	before = f.journalLen()
	_, err = f.svc.PublishKnownError(f.ctx, analyst, c.ID, problem.FromProblem{})
	require.ErrorIs(t, err, itil.ErrInvalidTransition)
	_, err = f.svc.PublishKnownError(f.ctx, analyst, itil.NewID(), problem.FromProblem{})
	require.ErrorIs(t, err, itil.ErrNotFound)
	assert.Equal(t, before, f.journalLen())

	// Inside a caller's transaction, rolled back with it.
	r := f.open("rolled back")
	_, err = f.svc.Update(f.ctx, analyst, r.ID, problem.Patch{Workaround: ptr("wait")})
	require.NoError(t, err)
	before = f.journalLen()
	boom := errors.New("boom")
	err = f.store.RunInTx(f.ctx, func(ctx context.Context, tx storage.Tx) error {
		k, err := f.svc.In(tx).PublishKnownError(ctx, analyst, r.ID, problem.FromProblem{})
		if err != nil {
			return err
		}
		if _, err := f.svc.In(tx).KnownErrors().Get(ctx, k.ID); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, before, f.journalLen())
	assert.Equal(t, itil.NilID, f.get(r.ID).KnownErrorID)
}

// testKESearch: the search table.
func testKESearch(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	svcMail, svcVPN := itil.NewID(), itil.NewID()
	ciA, ciB, ciC := itil.NewID(), itil.NewID(), itil.NewID()
	mk := func(title, symptom, workaround, code string, svc itil.ID, cis ...itil.ID) *problem.KnownError {
		in := problem.NewKnownError{Title: title, Symptom: symptom, Workaround: workaround, ErrorCode: code,
			ServiceID: svc, Domain: problem.DomainApplication, Vendor: "Microsoft", Model: "Exchange 2019"}
		for _, ci := range cis {
			in.CIs = append(in.CIs, problem.KnownErrorCI{CIID: ci, Reason: "hosts it"})
		}
		f.clock.Advance(time.Minute)
		return f.published(in)
	}
	k1 := mk("Mail delivery delayed", "Messages wait in the queue", "Restart the transport service", "0x800CCC0E", svcMail, ciA)
	k2 := mk("Überlastung des Mailservers", "Zustellung verzögert", "Warteschlange leeren", "EX-503", svcMail, ciA, ciB)
	k3 := mk("VPN connection drops", "Session ends after an hour", "Reconnect the client", "VPN-809", svcVPN, ciC)
	k4 := mk("Café wifi portal loops", "The RÉSEAU login page reloads", "Use the wired network", "", itil.NilID)
	k5 := mk("Old relay issue", "mail queue grows", "restart the relay", "EX-503", svcMail)
	f.clock.Advance(time.Minute)
	// k5 expires in a day; k3 has the most incidents, k1 the next.
	_, err := f.ke().Update(f.ctx, analyst, k5.ID, problem.KnownErrorPatch{ValidTo: ptr(f.clock.Now().Add(24 * time.Hour))})
	require.NoError(t, err)
	assert.Equal(t, 5, f.resolveWith(k3, 5).IncidentCount)
	assert.Equal(t, 2, f.resolveWith(k1, 2).IncidentCount)
	n := func(ks ...*problem.KnownError) []string {
		out := []string{}
		for _, k := range ks {
			out = append(out, k.Number)
		}
		return out
	}
	cases := []struct {
		name string
		q    problem.KnownErrorQuery
		want []string
	}{
		{"everything published, ranked", problem.KnownErrorQuery{}, n(k3, k1, k5, k4, k2)},
		{"one word", problem.KnownErrorQuery{Words: "restart"}, n(k1, k5)},
		{"every word must match", problem.KnownErrorQuery{Words: "restart transport"}, n(k1)},
		{"words over fields", problem.KnownErrorQuery{Words: "mail queue"}, n(k1, k5)},
		{"no partial words", problem.KnownErrorQuery{Words: "restar"}, n()},
		{"case folded", problem.KnownErrorQuery{Words: "VPN CLIENT"}, n(k3)},
		{"accents folded", problem.KnownErrorQuery{Words: "uberlastung verzogert"}, n(k2)},
		{"accents in the query", problem.KnownErrorQuery{Words: "réseau CAFÉ"}, n(k4)},
		{"error code as a word", problem.KnownErrorQuery{Words: "0x800ccc0e"}, n(k1)},
		{"error code", problem.KnownErrorQuery{ErrorCode: "ex-503"}, n(k5, k2)},
		{"error code exact", problem.KnownErrorQuery{ErrorCode: "EX"}, n()},
		{"error code and words", problem.KnownErrorQuery{ErrorCode: "EX-503", Words: "queue"}, n(k5)},
		{"CI", problem.KnownErrorQuery{CIIDs: []itil.ID{ciB}}, n(k2)},
		{"any of CIs", problem.KnownErrorQuery{CIIDs: []itil.ID{ciA, ciC}}, n(k3, k1, k2)},
		{"service", problem.KnownErrorQuery{ServiceID: svcMail}, n(k1, k5, k2)},
		{"service and words", problem.KnownErrorQuery{ServiceID: svcVPN, Words: "queue"}, n()},
		{"vendor and model folded", problem.KnownErrorQuery{Vendor: "MICROSOFT", Model: "exchange 2019", Words: "wifi"}, n(k4)},
		{"domain", problem.KnownErrorQuery{Domains: []problem.Domain{problem.DomainNetwork}}, n()},
	}
	check := func(label string) {
		for _, c := range cases {
			assert.Equal(t, c.want, numbers(t, f.ke().Search(f.ctx, c.q)), "%s: %s", label, c.name)
			// The page form gives the same, a page at a time.
			var got []string
			token := ""
			for {
				page, next, err := f.ke().SearchPage(f.ctx, c.q, 2, token)
				require.NoError(t, err)
				for _, k := range page {
					got = append(got, k.Number)
				}
				if next == "" {
					break
				}
				token = next
			}
			assert.Equal(t, c.want, append([]string{}, got...), "%s: %s (pages)", label, c.name)
		}
	}
	check("before valid-to")
	// Past its valid-to date, k5 is left out unless asked for.
	f.clock.Advance(24 * time.Hour)
	for i := range cases {
		cases[i].want = slices.DeleteFunc(cases[i].want, func(s string) bool { return s == k5.Number })
	}
	check("after valid-to")
	assert.Equal(t, n(k5, k2), numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{ErrorCode: "EX-503", IncludeExpired: true})))
	// Ranking follows the incident count as it changes.
	f.resolveWith(k4, 9)
	assert.Equal(t, n(k4, k3, k1, k2), numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{})))
}

// testKELongWords: a word longer than the index holds is found whole,
// and not by another word that shares its indexed prefix.
func testKELongWords(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	prefix := strings.Repeat("é", problem.MaxWordBytes) // 2 bytes each: past the cut
	a := f.published(problem.NewKnownError{Title: "dump " + prefix + "alpha", Symptom: "s", Workaround: "w",
		ErrorCode: strings.Repeat("Ä", 150)})
	f.published(problem.NewKnownError{Title: "dump " + prefix + "beta", Symptom: "s", Workaround: "w",
		ErrorCode: strings.Repeat("Ä", 149) + "b"})
	assert.Equal(t, []string{a.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{Words: strings.ToUpper(prefix) + "ALPHA"})))
	assert.Empty(t, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{Words: prefix + "gamma"})))
	assert.Len(t, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{Words: "dump"})), 2)
	assert.Equal(t, []string{a.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{ErrorCode: strings.Repeat("a", 150)})))
	// The longest texts are stored on every backend.
	long := f.published(problem.NewKnownError{Title: strings.Repeat("𝄞", 160), Symptom: strings.Repeat("ab ", problem.MaxSymptom/3),
		Workaround: strings.Repeat("x", problem.MaxWorkaround), ErrorCode: strings.Repeat("𝄞", 160),
		Vendor: strings.Repeat("ﷺ", 160), Model: strings.Repeat("𝄞", 160)})
	assert.Equal(t, []string{long.Number}, numbers(t, f.ke().Search(f.ctx, problem.KnownErrorQuery{Words: "AB",
		Vendor: strings.Repeat("ﷺ", 160), Model: strings.Repeat("𝄞", 160), ErrorCode: strings.Repeat("𝄞", 160)})))
}

// testKESearchProperty: search by words equals a naive filter over every
// known error (whole folded words, all of them), in rank order.
func testKESearchProperty(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	vocab := []string{"Mail", "mail", "MAÎL", "queue", "Queue", "réseau", "RESEAU", "vpn", "Straße", "strasse",
		"0x80", "delay", "délai", "Überlast", "uberlast", "timeout"}
	text := func(rt *rapid.T, label string) string {
		ws := rapid.SliceOfN(rapid.SampledFrom(vocab), 0, 4).Draw(rt, label)
		return strings.Join(ws, rapid.SampledFrom([]string{" ", ", ", "-", "/"}).Draw(rt, label+" sep"))
	}
	rapid.Check(t, func(rt *rapid.T) {
		f.t = rt
		svc := itil.NewID() // this run's known errors, apart from earlier runs'
		var all []*problem.KnownError
		for range rapid.IntRange(0, 8).Draw(rt, "count") {
			in := problem.NewKnownError{Title: "t " + text(rt, "title"), Symptom: "s " + text(rt, "symptom"),
				Workaround: text(rt, "workaround"), ErrorCode: text(rt, "code"), ServiceID: svc,
				Solution: "see " + text(rt, "solution")}
			k, err := f.ke().Create(f.ctx, analyst, in)
			require.NoError(rt, err)
			if rapid.Bool().Draw(rt, "publish") {
				k, err = f.ke().Publish(f.ctx, analyst, k.ID)
				require.NoError(rt, err)
				// Only a published known error resolves incidents.
				if n := rapid.IntRange(0, 3).Draw(rt, "incidents"); n > 0 {
					k = f.resolveWith(k, n)
				}
			}
			f.clock.Advance(time.Second)
			all = append(all, k)
		}
		for _, k := range all {
			// The decode cache relies on the JSON round trip.
			data, err := json.Marshal(k)
			require.NoError(rt, err)
			var back problem.KnownError
			require.NoError(rt, json.Unmarshal(data, &back))
			require.True(rt, reflect.DeepEqual(k, &back), "%s does not survive a JSON round trip", k.Number)
		}
		// One or two words, each written as the vocabulary spells it:
		// matching needs the folding to equate the spellings.
		query := strings.Join(rapid.SliceOfN(rapid.SampledFrom(vocab), 1, 2).Draw(rt, "query"), " ")
		var want []*problem.KnownError
		for _, k := range all {
			if k.State != problem.KnownErrorPublished {
				continue
			}
			have := naiveWords(k.Title + " " + k.Symptom + " " + k.Workaround + " " + k.ErrorCode)
			ok := true
			for w := range naiveWords(query) {
				ok = ok && have[w]
			}
			if ok {
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
		require.Equal(rt, wantN, numbers(rt, f.ke().Search(f.ctx, problem.KnownErrorQuery{Words: query, ServiceID: svc})), "query %q", query)
	})
}

// naiveWords folds by a table of its own (the vocabulary's letters) and
// splits on what is not a letter or digit.
func naiveWords(s string) map[string]bool {
	s = strings.NewReplacer("Î", "i", "î", "i", "é", "e", "É", "e", "ß", "ss", "Ü", "u", "ü", "u").Replace(s)
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		out[w] = true
	}
	return out
}

// testKEBadInput: bad input gives typed errors naming the fields, and
// writes nothing.
func testKEBadInput(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	k := f.published(newKE("good"))
	ci := itil.NewID()
	before := f.journalLen()
	creates := []struct {
		in     problem.NewKnownError
		fields []string
	}{
		{problem.NewKnownError{}, []string{"title", "symptom"}},
		{problem.NewKnownError{Title: "  ", Symptom: "\x00"}, []string{"title", "symptom"}},
		{problem.NewKnownError{Title: "t", Symptom: strings.Repeat("s", problem.MaxSymptom+1),
			Workaround: strings.Repeat("w", problem.MaxWorkaround+1)}, []string{"symptom", "workaround"}},
		{problem.NewKnownError{Title: "t", Symptom: "s", ErrorCode: strings.Repeat("c", 161), Vendor: "\xff",
			Model: strings.Repeat("m", 161), ModelVersion: strings.Repeat("v", 161)}, []string{"error_code", "vendor", "model", "model_version"}},
		{problem.NewKnownError{Title: "t", Symptom: "s", Domain: "mainframe"}, []string{"domain"}},
		{problem.NewKnownError{Title: "t", Symptom: "s", CIs: []problem.KnownErrorCI{{CIID: ci}, {CIID: ci}, {}}},
			[]string{"cis[1].ci_id", "cis[2].ci_id"}},
		{problem.NewKnownError{Title: "t", Symptom: "s", CIs: []problem.KnownErrorCI{{CIID: ci, Reason: strings.Repeat("r", 161)}}},
			[]string{"cis[0].reason"}},
		{problem.NewKnownError{Title: "t", Symptom: "s", CIs: make([]problem.KnownErrorCI, problem.MaxCIs+1)}, []string{"cis"}},
		{problem.NewKnownError{Title: "t", Symptom: "s", ValidTo: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, []string{"valid_to"}},
	}
	for i, c := range creates {
		_, err := f.ke().Create(f.ctx, analyst, c.in)
		for _, field := range c.fields {
			testkit.RequireInvalid(t, err, field)
		}
		_ = i
	}
	_, err := f.ke().Create(f.ctx, itil.Actor{}, newKE("no actor"))
	testkit.RequireInvalid(t, err, "actor.id")
	_, err = f.ke().Update(f.ctx, analyst, k.ID, problem.KnownErrorPatch{Domain: ptr(problem.Domain("x")), Title: ptr("")})
	testkit.RequireInvalid(t, err, "domain")
	testkit.RequireInvalid(t, err, "title")
	_, err = f.ke().Update(f.ctx, analyst, itil.NewID(), problem.KnownErrorPatch{Title: ptr("x")})
	require.ErrorIs(t, err, itil.ErrNotFound)
	_, err = f.ke().Publish(f.ctx, analyst, itil.NewID())
	require.ErrorIs(t, err, itil.ErrNotFound)
	p := f.open("with workaround")
	_, err = f.svc.PublishKnownError(f.ctx, analyst, p.ID, problem.FromProblem{Domain: "x", Symptom: "\x00",
		CIs: []problem.KnownErrorCI{{}}})
	testkit.RequireInvalid(t, err, "domain")
	testkit.RequireInvalid(t, err, "symptom")
	testkit.RequireInvalid(t, err, "cis[0].ci_id")
	assert.Equal(t, before+1, f.journalLen(), "only the problem opened")

	for _, c := range []struct {
		q     problem.KnownErrorQuery
		field string
	}{
		{problem.KnownErrorQuery{States: []problem.KnownErrorState{"gone"}}, "states[0]"},
		{problem.KnownErrorQuery{Domains: []problem.Domain{"x"}}, "domains[0]"},
		{problem.KnownErrorQuery{CIIDs: []itil.ID{itil.NilID}}, "ci_ids[0]"},
		{problem.KnownErrorQuery{Words: strings.Repeat("w ", 0) + wordsN(problem.MaxSearchWords+1)}, "words"},
		{problem.KnownErrorQuery{Words: "\xff"}, "words"},
		{problem.KnownErrorQuery{ErrorCode: strings.Repeat("c", 161)}, "error_code"},
	} {
		for _, err := range f.ke().Search(f.ctx, c.q) {
			testkit.RequireInvalid(t, err, c.field)
		}
		_, _, err := f.ke().SearchPage(f.ctx, c.q, 0, "")
		testkit.RequireInvalid(t, err, c.field)
	}
	_, _, err = f.ke().SearchPage(f.ctx, problem.KnownErrorQuery{}, -1, "junk!")
	testkit.RequireInvalid(t, err, "limit")
	testkit.RequireInvalid(t, err, "page_token")
	_, err = problem.New(f.store, problem.WithKnownErrorAuthorizer(nil))
	testkit.RequireInvalid(t, err, "known_error_authorizer")
}

func wordsN(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = fmt.Sprintf("w%d", i)
	}
	return strings.Join(ws, " ")
}

// testKETwoInstances: two Services on two handles of one store, each
// resolving its own incidents with one known error at once, count them
// all on it without losing any, and of two racing PublishKnownError on
// one problem exactly one links a known error.
func testKETwoInstances(t *testing.T, instances storagetest.Instances) {
	a, b := instances(t)
	c := newClock()
	incA, err := incident.New(a, incident.WithClock(c))
	require.NoError(t, err)
	incB, err := incident.New(b, incident.WithClock(c))
	require.NoError(t, err)
	svcA, err := problem.New(a, problem.WithClock(c), problem.WithIncidents(incA))
	require.NoError(t, err)
	svcB, err := problem.New(b, problem.WithClock(c), problem.WithIncidents(incB))
	require.NoError(t, err)
	ctx := t.Context()
	k, err := svcA.KnownErrors().Create(ctx, analyst, newKE("shared"))
	require.NoError(t, err)
	_, err = svcA.KnownErrors().Publish(ctx, analyst, k.ID)
	require.NoError(t, err)
	const each = 10
	var wg sync.WaitGroup
	for _, in := range []struct {
		inc *incident.Service
		svc *problem.Service
	}{{incA, svcA}, {incB, svcB}} {
		ids := openIncidents(t, ctx, in.inc, each)
		wg.Go(func() {
			for _, id := range ids {
				for {
					_, err := in.svc.ResolveWithKnownError(ctx, agent, id, k.ID, "reconnected, as the known error says")
					if errors.Is(err, itil.ErrConflict) {
						continue
					}
					assert.NoError(t, err)
					break
				}
			}
		})
	}
	wg.Wait()
	got, err := svcB.KnownErrors().Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, 2*each, got.IncidentCount, "no count lost")

	for range 3 {
		in := basic("race to publish")
		in.Workaround = "reboot"
		p, err := svcA.Open(ctx, analyst, in)
		require.NoError(t, err)
		errs := make([]error, 2)
		outs := make([]*problem.KnownError, 2)
		var race sync.WaitGroup
		for i, svc := range []*problem.Service{svcA, svcB} {
			race.Go(func() { outs[i], errs[i] = svc.PublishKnownError(ctx, analyst, p.ID, problem.FromProblem{}) })
		}
		race.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, won, "both published")
				won = i
			} else if !errors.Is(err, itil.ErrInvalidTransition) && !errors.Is(err, itil.ErrConflict) {
				t.Errorf("unexpected error: %v", err)
			}
		}
		require.NotEqual(t, -1, won, "%v", errs)
		stored, err := svcB.Get(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, outs[won].ID, stored.KnownErrorID)
		n := 0
		for range svcA.KnownErrors().Search(ctx, problem.KnownErrorQuery{ProblemID: p.ID}) {
			n++
		}
		assert.Equal(t, 1, n, "one known error for the problem")
	}
}
