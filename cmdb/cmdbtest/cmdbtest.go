// Package cmdbtest is the configuration management suite every storage
// backend runs: impact analysis walked through the backend's batched
// lookups (NoIndex) against the in-memory index built from the same
// backend, two Services on one store whose indexes follow each other's
// changes through the journal, imports that identify, reconcile and stay
// idempotent, the journal and history (field changes, relationship events
// under both CIs, AsOf as a replay), commands in a caller's transaction,
// queries with multi-value filters and pages, authorization, and
// concurrent creators meeting on their claims, and the limits on names
// and attribute values (the largest stored, one byte more refused).
package cmdbtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/storage/storagetest"
)

// NewStore returns an empty store for one test.
type NewStore func(t testing.TB) storage.Store

// Run runs the whole suite on stores made by instances: most tests on the
// first handle; the two-instance test runs a Service on each.
func Run(t *testing.T, instances storagetest.Instances) {
	newStore := func(t testing.TB) storage.Store {
		s, _ := instances(t)
		return s
	}
	t.Run("StorageWalkEqualsIndex", func(t *testing.T) { storageWalk(t, newStore) })
	t.Run("ImportIdempotent", func(t *testing.T) { importIdempotent(t, newStore) })
	t.Run("AsOf", func(t *testing.T) { asOf(t, newStore) })
	t.Run("ConcurrentImportsCreateOnce", func(t *testing.T) { concurrentImports(t, newStore) })
	t.Run("ConcurrentUniqueAttribute", func(t *testing.T) { concurrentUnique(t, newStore) })
	t.Run("TwoInstances", func(t *testing.T) { twoInstances(t, instances) })
	t.Run("History", func(t *testing.T) { history(t, newStore) })
	t.Run("InTx", func(t *testing.T) { inTx(t, newStore) })
	t.Run("List", func(t *testing.T) { list(t, newStore) })
	t.Run("Authorizer", func(t *testing.T) { authorizer(t, newStore) })
	t.Run("TimesOutOfRange", func(t *testing.T) { timesOutOfRange(t, newStore) })
	t.Run("Limits", func(t *testing.T) { limits(t, newStore) })
}

var admin = itil.Actor{ID: "cmdb-admin", Name: "CMDB admin"}

// links are the relationship types of the random graphs: one of each
// propagation, and a membership.
var links = []cmdb.RelType{
	{Name: "up", ParentLabel: "Depends on", ChildLabel: "Used by", Propagation: cmdb.ChildToParent},
	{Name: "down", ParentLabel: "Feeds", ChildLabel: "Fed by", Propagation: cmdb.ParentToChild},
	{Name: "none", ParentLabel: "Notes", ChildLabel: "Noted by", Propagation: cmdb.None},
	{Name: "member", ParentLabel: "Cluster of", ChildLabel: "Member of", Propagation: cmdb.ChildToParent, Membership: true},
}

// graphService is a Service whose CIs are vertices (business services,
// so that Propagate reports each) joined by the link types, under the
// Cascade rule.
func graphService(t require.TestingT, store storage.Store) *cmdb.Service {
	cs := cmdb.DefaultClasses()
	require.NoError(t, cs.Add(cmdb.Class{Name: "vertex", Parent: cmdb.ClassBusinessService,
		Attributes: []cmdb.Attribute{{Name: "min_up", Type: cmdb.Int}}}))
	types := slices.Clone(links)
	for i := range types {
		types[i].Allowed = []cmdb.Pair{{Parent: "vertex", Child: "vertex"}}
	}
	svc, err := cmdb.New(store, cmdb.WithClasses(cs), cmdb.WithRelTypes(types...), cmdb.WithRelationshipRule(cmdb.Cascade))
	require.NoError(t, err)
	return svc
}

// storageWalk: on random graphs changed at random, the walk over the
// backend (one batched lookup per level) gives exactly the index's
// answer, every path is a chain of stored relationships, and a Limit keeps
// a prefix.
func storageWalk(t *testing.T, newStore NewStore) {
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		svc := graphService(rt, newStore(t))
		var ids []itil.ID
		for i := range rapid.IntRange(2, 8).Draw(rt, "vertices") {
			attrs := map[string]string{}
			if rapid.Bool().Draw(rt, "cluster") {
				attrs["min_up"] = strconv.Itoa(rapid.IntRange(0, 2).Draw(rt, "min_up"))
			}
			c, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: "vertex", Name: fmt.Sprint("v", i), Attributes: attrs})
			require.NoError(rt, err)
			ids = append(ids, c.ID)
		}
		rels := map[string]bool{} // "type parent child" of the stored relationships
		for range rapid.IntRange(0, 20).Draw(rt, "changes") {
			p, c := rapid.SampledFrom(ids).Draw(rt, "parent"), rapid.SampledFrom(ids).Draw(rt, "child")
			typ := rapid.SampledFrom(links).Draw(rt, "type").Name
			if p == c {
				continue
			}
			if r, err := svc.Relate(ctx, admin, typ, p, c); err != nil {
				rt.Fatal(err)
			} else if rapid.IntRange(0, 4).Draw(rt, "unrelate") == 0 {
				require.NoError(rt, svc.Unrelate(ctx, admin, r.ID))
			} else {
				rels[typ+" "+p.String()+" "+c.String()] = true
			}
			if rapid.IntRange(0, 5).Draw(rt, "query_now") == 0 { // builds the index midway
				_, err := svc.Impact(ctx, ids[0], cmdb.ImpactOptions{})
				require.NoError(rt, err)
			}
		}
		for _, origin := range ids {
			for _, dir := range []cmdb.Direction{cmdb.Upstream, cmdb.Downstream} {
				o := cmdb.ImpactOptions{Direction: dir, MaxDepth: rapid.IntRange(0, 3).Draw(rt, "max_depth")}
				if rapid.Bool().Draw(rt, "filter") {
					o.Types = []string{rapid.SampledFrom(links).Draw(rt, "only").Name}
				}
				fast, err := svc.Impact(ctx, origin, o)
				require.NoError(rt, err)
				o.NoIndex = true
				walked, err := svc.Impact(ctx, origin, o)
				require.NoError(rt, err)
				require.Equal(rt, fast, walked, "storage walk equals index walk")
				for _, a := range walked.Affected {
					require.Len(rt, a.Path, a.Depth)
					at := origin
					for _, h := range a.Path {
						require.Equal(rt, at, h.From)
						fwd, back := h.Type+" "+h.From.String()+" "+h.To.String(), h.Type+" "+h.To.String()+" "+h.From.String()
						require.True(rt, rels[fwd] || rels[back], "hop %+v is a stored relationship", h)
						at = h.To
					}
					require.Equal(rt, a.CI, at)
				}
				o.Limit = rapid.IntRange(1, 3).Draw(rt, "limit")
				capped, err := svc.Impact(ctx, origin, o)
				require.NoError(rt, err)
				require.Equal(rt, walked.Affected[:min(o.Limit, len(walked.Affected))], capped.Affected)
				require.Equal(rt, len(walked.Affected) > o.Limit, capped.Truncated)
			}
		}
	})
}

func server(name string, attrs map[string]string) cmdb.ImportRecord {
	return cmdb.ImportRecord{Class: cmdb.ClassLinuxServer, Name: name, Attributes: attrs}
}

// payload is a small discovery: two servers identified by different rules
// and a database identified by its name on the first.
func payload(at time.Time) []cmdb.ImportRecord {
	recs := []cmdb.ImportRecord{
		server("web-1", map[string]string{"serial_number": "SN-1", "ip_address": "10.0.0.1"}),
		server("web-2", map[string]string{"host_name": "web-2", "domain": "example.com"}),
		{Class: cmdb.ClassDatabaseInstance, Name: "orders-db", Relationships: []cmdb.ImportRelationship{{Type: cmdb.RunsOn,
			To: cmdb.CIRef{Class: cmdb.ClassServer, Attributes: map[string]string{"serial_number": "SN-1"}}}}},
	}
	for i := range recs {
		recs[i].DiscoveredAt = at
	}
	return recs
}

func importIdempotent(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	svc, err := cmdb.New(newStore(t))
	require.NoError(t, err)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	first, err := svc.Import(ctx, admin, cmdb.SourceDiscovery, payload(at))
	require.NoError(t, err)
	for _, r := range first {
		require.Equal(t, cmdb.Created, r.Outcome, "%+v", r)
	}
	before, err := svc.History(ctx, first[0].ID)
	require.NoError(t, err)
	again, err := svc.Import(ctx, admin, cmdb.SourceDiscovery, payload(at))
	require.NoError(t, err)
	for i, r := range again {
		require.Equal(t, cmdb.Unchanged, r.Outcome, "%+v", r)
		require.Equal(t, first[i].ID, r.ID)
	}
	history, err := svc.History(ctx, first[0].ID)
	require.NoError(t, err)
	require.Equal(t, before, history, "the second import wrote nothing")
	rels, err := svc.Relationships(ctx, first[2].ID)
	require.NoError(t, err)
	require.Len(t, rels, 1)
	require.Equal(t, first[0].ID, rels[0].Child, "the database runs on web-1")

	changed := payload(at.Add(time.Minute))
	changed[0].Attributes["ip_address"] = "10.0.0.9"
	res, err := svc.Import(ctx, admin, cmdb.SourceDiscovery, changed[:1])
	require.NoError(t, err)
	require.Equal(t, cmdb.Updated, res[0].Outcome)
	c, err := svc.Get(ctx, first[0].ID)
	require.NoError(t, err)
	require.Equal(t, "10.0.0.9", c.Attributes["ip_address"])
}

func asOf(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	svc, err := cmdb.New(newStore(t), cmdb.WithClock(itil.ClockFunc(func() time.Time { return now })))
	require.NoError(t, err)
	c, err := svc.CreateCI(ctx, admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer, Name: "db01"})
	require.NoError(t, err)
	created := now
	now = now.Add(time.Hour)
	name := "db01.example.com"
	_, err = svc.UpdateCI(ctx, admin, c.ID, cmdb.Patch{Name: &name})
	require.NoError(t, err)
	now = now.Add(time.Hour)
	_, err = svc.SetState(ctx, admin, c.ID, cmdb.InBuild)
	require.NoError(t, err)

	was, err := svc.AsOf(ctx, c.ID, created.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, c, was, "as created")
	was, err = svc.AsOf(ctx, c.ID, now)
	require.NoError(t, err)
	require.Equal(t, name, was.Name)
	require.Equal(t, cmdb.InBuild, was.State)
	require.Equal(t, int64(3), was.Version)
	require.Equal(t, now, was.UpdatedAt)
	stored, err := svc.Get(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, stored, was)
	_, err = svc.AsOf(ctx, c.ID, created.Add(-time.Second))
	require.ErrorIs(t, err, itil.ErrNotFound)
	history, err := svc.History(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, history, 3)
	require.Equal(t, []string{cmdb.EventCICreated, cmdb.EventCIUpdated, cmdb.EventCIStateChanged},
		[]string{history[0].Type, history[1].Type, history[2].Type})
	requireFields(t, history[1], change{"name", `"db01"`, `"db01.example.com"`})
	requireFields(t, history[2], change{"state", `"planned"`, `"in_build"`})
}

// change is a field change as JSON texts.
type change struct{ field, from, to string }

// requireFields checks an entry's field changes, in order.
func requireFields(t require.TestingT, e itil.HistoryEntry, want ...change) {
	got := make([]change, len(e.Fields))
	for i, f := range e.Fields {
		got[i] = change{f.Field, string(f.From), string(f.To)}
	}
	require.Equal(t, want, got, "fields of %s", e.Type)
}

// race runs fn from n goroutines released at once.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// concurrentImports: the same payload imported by several callers at
// once creates each CI once; the others find it.
func concurrentImports(t *testing.T, newStore NewStore) {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for round := range 10 {
		svc, err := cmdb.New(newStore(t))
		require.NoError(t, err)
		const callers = 4
		results := make([][]cmdb.ImportResult, callers)
		errs := make([]error, callers)
		race(callers, func(i int) {
			results[i], errs[i] = svc.Import(context.Background(), admin, cmdb.SourceDiscovery, payload(at))
		})
		created := map[itil.ID]int{}
		for i := range callers {
			require.NoError(t, errs[i], "round %d caller %d", round, i)
			for _, r := range results[i] {
				switch r.Outcome {
				case cmdb.Created:
					created[r.ID]++
				case cmdb.Updated, cmdb.Unchanged:
				default:
					t.Fatalf("round %d caller %d: %+v", round, i, r)
				}
			}
		}
		require.Len(t, created, 3, "round %d: each record created once", round)
		h, err := svc.Health(context.Background(), 0)
		require.NoError(t, err)
		require.Empty(t, h.Duplicates, "round %d", round)
	}
}

// concurrentUnique: of several CIs created at once with the same value of
// a unique attribute, exactly one is stored.
func concurrentUnique(t *testing.T, newStore NewStore) {
	for round := range 10 {
		svc, err := cmdb.New(newStore(t))
		require.NoError(t, err)
		const callers = 4
		errs := make([]error, callers)
		ids := make([]itil.ID, callers)
		race(callers, func(i int) {
			c, err := svc.CreateCI(context.Background(), admin, cmdb.NewCI{Class: cmdb.ClassLinuxServer,
				Name: fmt.Sprint("srv", i), Attributes: map[string]string{"serial_number": "SN-9"}})
			errs[i] = err
			if err == nil {
				ids[i] = c.ID
			}
		})
		stored := 0
		for i, err := range errs {
			var ve *itil.ValidationError
			switch {
			case err == nil:
				stored++
			case errors.As(err, &ve):
				require.Equal(t, "attributes.serial_number", ve.Fields[0].Field)
			case errors.Is(err, itil.ErrConflict): // lost every retry: nothing written
			default:
				t.Fatal(err)
			}
			if err != nil {
				continue
			}
			_, err = svc.Get(context.Background(), ids[i])
			require.NoError(t, err)
		}
		require.Equal(t, 1, stored, "round %d: %v", round, errs)
	}
}
