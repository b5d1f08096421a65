package strategytest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/internal/testkit"
	"github.com/itilkit/itil/slm"
	"github.com/itilkit/itil/storage/storagetest"
	"github.com/itilkit/itil/strategy"
)

var cmdbAdmin = itil.Actor{ID: "cmdb-admin", Name: "CMDB admin"}

// testAllocateCosts: a month's costs allocated along the CMDB. The
// estate is Allocate's hand-worked graph: the server X (1000.00) runs
// the applications A (200.00) and B; the business services Mail (50.00)
// and Chat (50.00) depend on A, and Chat on B too. A second instance
// builds the estate and enters the costs; the first allocates.
func testAllocateCosts(t *testing.T, instances storagetest.Instances) {
	sa, sb := instances(t)
	ctx := t.Context()
	clock := testkit.NewClock()
	cmA, err := cmdb.New(sa)
	require.NoError(t, err)
	cmB, err := cmdb.New(sb)
	require.NoError(t, err)
	a, err := strategy.New(sa, strategy.WithClock(clock), strategy.WithCMDB(cmA))
	require.NoError(t, err)
	b, err := strategy.New(sb, strategy.WithClock(clock), strategy.WithCMDB(cmB))
	require.NoError(t, err)

	june := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	// The first instance's CMDB index is built before the estate exists:
	// the allocation must catch it up.
	_, err = a.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage})
	require.NoError(t, err)

	ci := func(class, name string) itil.ID {
		c, err := cmB.CreateCI(ctx, cmdbAdmin, cmdb.NewCI{Class: class, Name: name, State: cmdb.Operational})
		require.NoError(t, err)
		return c.ID
	}
	relate := func(typ string, parent, child itil.ID) {
		_, err := cmB.Relate(ctx, cmdbAdmin, typ, parent, child)
		require.NoError(t, err)
	}
	// The spare server, with no relationships, is created first: its ID
	// sorts before the graph's, so the allocation numbers the graph's CIs
	// around it.
	spare := ci(cmdb.ClassLinuxServer, "spare")
	x, appA, appB := ci(cmdb.ClassLinuxServer, "x"), ci(cmdb.ClassApplication, "a"), ci(cmdb.ClassApplication, "b")
	mail, chat := ci(cmdb.ClassBusinessService, "Mail"), ci(cmdb.ClassBusinessService, "Chat")
	relate(cmdb.RunsOn, appA, x)
	relate(cmdb.RunsOn, appB, x)
	relate(cmdb.DependsOn, mail, appA)
	relate(cmdb.DependsOn, chat, appA)
	relate(cmdb.DependsOn, chat, appB)
	entry := map[itil.ID]*strategy.Entry{}
	for name, id := range map[string]itil.ID{"Mail": mail, "Chat": chat} {
		entry[id], err = b.Propose(ctx, planner, strategy.NewEntry{Name: name, Type: strategy.BusinessService, ServiceCIID: id})
		require.NoError(t, err)
	}
	cost := func(object strategy.CostObject, month time.Time, amount slm.Money) {
		_, err := b.RecordCost(ctx, planner, strategy.NewCost{Month: month, Object: object, Description: "run", Amount: amount,
			Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostIndirect})
		require.NoError(t, err)
	}
	on := func(id itil.ID) strategy.CostObject {
		return strategy.CostObject{Kind: strategy.ObjectCI, ID: id.String()}
	}
	cost(on(x), june, eur("600.00"))
	cost(on(x), june, eur("400.00"))
	cost(on(appA), june, eur("200.00"))
	cost(on(mail), june, eur("50.00"))
	cost(on(chat), june, eur("50.00"))
	cost(on(spare), june, eur("30.00"))
	july := june.AddDate(0, 1, 0)
	cost(on(x), july, eur("100.00")) // not June's
	cost(strategy.CostObject{Kind: strategy.ObjectCostCentre, ID: "IT-OPS"}, june, eur("5000"))

	amounts := func(as []strategy.Allocated) map[itil.ID]string {
		out := map[itil.ID]string{}
		for _, a := range as {
			out[a.ID] = a.Amount.String()
		}
		return out
	}
	units := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	usage := []strategy.Consumption{
		{Consumer: appA, Provider: x, Units: units("4")}, {Consumer: appB, Provider: x, Units: units("4")},
		{Consumer: mail, Provider: appA, Units: units("1")}, {Consumer: chat, Provider: appA, Units: units("3")},
		{Consumer: chat, Provider: appB, Units: units("2")}}

	// Over capacity (X serves 10 units, A 4): X passes 400 to A and to B
	// and keeps 200 idle; A passes 600 as 150 and 450; B passes 400.
	got, err := a.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverCapacity, Usage: usage,
		Capacity: map[itil.ID]decimal.Decimal{x: units("10"), appA: units("4")}})
	require.NoError(t, err)
	assert.Equal(t, "1330.00 EUR", got.Total.String())
	assert.True(t, got.Month.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, "EUR", got.Currency)
	assert.Equal(t, map[itil.ID]string{mail: "200.00 EUR", chat: "900.00 EUR"}, amounts(got.Allocated))
	assert.Equal(t, map[itil.ID]string{x: "200.00 EUR", spare: "30.00 EUR"}, amounts(got.Overhead), "idle capacity, and a CI nothing uses")

	// The same over Allocate, from the same graph: the same answer.
	pure, err := strategy.Allocate(strategy.AllocationInput{Currency: "EUR", Method: strategy.OverCapacity, Uses: usage,
		Nodes: []strategy.CostNode{{ID: x, Cost: units("1000"), Capacity: units("10")}, {ID: appA, Cost: units("200"), Capacity: units("4")},
			{ID: appB, Capacity: units("2")}, {ID: mail, Cost: units("50"), Final: true}, {ID: chat, Cost: units("50"), Final: true},
			{ID: spare, Cost: units("30")}}})
	require.NoError(t, err)
	assert.Equal(t, amounts(pure.Allocated), amounts(got.Allocated))
	assert.Equal(t, amounts(pure.Overhead), amounts(got.Overhead))

	// Over usage, one unit per dependency: X passes 500 to A and to B; A
	// (700) passes 350 to each service; B passes 500 to Chat.
	got, err = a.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage})
	require.NoError(t, err)
	assert.Equal(t, map[itil.ID]string{mail: "400.00 EUR", chat: "900.00 EUR"}, amounts(got.Allocated))
	assert.Equal(t, map[itil.ID]string{spare: "30.00 EUR"}, amounts(got.Overhead))

	// Thirds: in July X's 100.00 goes a third each to A, B and its idle
	// unit, in millionths of a cent; A halves its third. The statement
	// rounds Mail's 16.666… and X's 33.333… so that the total stays
	// 100.00: the cent left goes to the largest remainder, Mail's.
	got, err = a.AllocateCosts(ctx, strategy.CostAllocation{Month: july, Currency: "EUR", Method: strategy.OverCapacity,
		Capacity: map[itil.ID]decimal.Decimal{x: units("3")}})
	require.NoError(t, err)
	assert.Equal(t, "100.00 EUR", got.Total.String())
	assert.Equal(t, map[itil.ID]string{mail: "16.67 EUR", chat: "50.00 EUR"}, amounts(got.Allocated))
	assert.Equal(t, map[itil.ID]string{x: "33.33 EUR"}, amounts(got.Overhead))

	// Bad input: nothing is computed from it.
	for _, c := range []struct {
		name   string
		req    strategy.CostAllocation
		fields []string
	}{
		{"method", strategy.CostAllocation{Month: june, Currency: "EUR", Method: "evenly"}, []string{"method"}},
		{"month", strategy.CostAllocation{Currency: "EUR", Method: strategy.OverUsage}, []string{"month"}},
		{"currency", strategy.CostAllocation{Month: june, Currency: "USD", Method: strategy.OverUsage}, []string{"costs"}},
		{"not a dependency", strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage,
			Usage: []strategy.Consumption{{Consumer: x, Provider: appA, Units: units("1")}}}, []string{"usage[0]"}},
		{"usage twice", strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage,
			Usage: []strategy.Consumption{{Consumer: appA, Provider: x, Units: units("1")}, {Consumer: appA, Provider: x, Units: units("2")}}},
			[]string{"usage[1]"}},
		{"units", strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage,
			Usage: []strategy.Consumption{{Consumer: appA, Provider: x, Units: units("0")}}}, []string{"usage[0].units"}},
		{"capacity", strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverCapacity,
			Capacity: map[itil.ID]decimal.Decimal{x: units("1")}}, []string{"capacity[" + x.String() + "]"}},
		{"negative capacity", strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverCapacity,
			Capacity: map[itil.ID]decimal.Decimal{x: units("-3")}}, []string{"capacity[" + x.String() + "]"}},
	} {
		_, err := a.AllocateCosts(ctx, c.req)
		testkit.RequireFields(t, err, c.fields...)
	}
	noCMDB, err := strategy.New(sa)
	require.NoError(t, err)
	_, err = noCMDB.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage})
	require.ErrorIs(t, err, strategy.ErrNoCMDB)

	// With a CMDB, a cost on a CI it does not hold is refused.
	_, err = a.RecordCost(ctx, planner, strategy.NewCost{Month: june, Object: on(itil.NewID()), Description: "ghost", Amount: eur("1"),
		Type: strategy.CostOpex, Behaviour: strategy.CostFixed, Attribution: strategy.CostDirect})
	require.ErrorIs(t, err, itil.ErrNotFound)

	// A retired service keeps nothing: what reaches its CI is overhead.
	_, err = a.Move(ctx, planner, entry[mail].ID, strategy.MoveWithdraw, "no longer wanted")
	require.NoError(t, err)
	got, err = a.AllocateCosts(ctx, strategy.CostAllocation{Month: june, Currency: "EUR", Method: strategy.OverUsage})
	require.NoError(t, err)
	assert.Equal(t, map[itil.ID]string{chat: "900.00 EUR"}, amounts(got.Allocated))
	assert.Equal(t, map[itil.ID]string{mail: "400.00 EUR", spare: "30.00 EUR"}, amounts(got.Overhead))
}
