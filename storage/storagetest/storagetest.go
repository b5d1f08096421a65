// Package storagetest is the conformance suite of the storage contract, in
// the spirit of testing/fstest: every storage.Backend MUST pass Run.
//
// A backend's tests hand Run a Factory that opens a fresh, empty backend:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Backend {
//			b, err := sqlite.Open(filepath.Join(t.TempDir(), "itil.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return b
//		})
//	}
//
// Run calls the factory once per subtest (and once per rapid check of the
// model-based test) and closes every backend it gets, exactly once, when it
// is done with it; the factory need not close it. Subtests are named
// "Group/Case", so a single clause can be run on its own:
//
//	go test -run 'TestConformance/Tx/FirstCommitWins' ./storage/sqlite
//
// The suite checks, per clause of the contract in package storage:
//   - example tests of Put, Get, Delete, transactions, Query, Lookup,
//     NextSeq, the journal, tenants and Close;
//   - a rapid model-based test ("Rapid/Model") that drives the backend with
//     random sequences of operations and transactions and compares it after
//     every step with a deliberately naive in-memory model;
//   - concurrency: no lost update under contention, and journal readers that
//     never miss nor repeat an event while writers commit and roll back;
//   - cancellation ("Tx/Cancelled"): transactions whose contexts end at
//     random points return nil or an error that is a cancellation (or a
//     conflict), and exactly those that returned nil are stored;
//   - tenant isolation;
//   - the limits: the largest values storage allows (MaxName, MaxTerm,
//     MaxSortKey), all at once, are stored, queried, looked up and
//     journalled, and one byte more gives the same *itil.ValidationError
//     on every backend.
//
// Beyond the letter of the contract the suite expects what the contract's
// wording implies for the backends of this module: conflicts surface at the
// latest at commit, where the first transaction to commit wins; events of
// one transaction are journalled in the order they were appended; and a
// fresh tenant's journal and sequences start at 1 and count up by one (the
// journal may skip the numbers of rolled-back transactions). A backend may
// make a writer wait for a row another open transaction wrote (row locks):
// the tests that interleave writers allow that, and readers never wait.
// What must not block turns into a failure after a generous delay instead
// of a hang; the suite never asserts on elapsed time.
//
// The model-based test runs rapid's default number of checks, which keeps
// the suite fast. When changing a backend, search deeper with rapid's
// flags, for example:
//
//	go test -run 'TestConformance/Rapid' -rapid.checks=10000 -rapid.steps=60 ./storage/memory
package storagetest

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/itilkit/itil/storage"
)

// Factory returns a fresh, empty Backend for one test; the suite closes it
// via t.Cleanup.
type Factory func(t *testing.T) storage.Backend

// Run runs the conformance suite against the backends made by factory, as
// subtests of t.
func Run(t *testing.T, factory Factory) {
	t.Helper()
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, factory) })
			}
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, f Factory)
}

var groups = []struct {
	name  string
	cases []testCase
}{
	{"Put", []testCase{
		{"CreateAndGet", testPutCreateAndGet},
		{"Update", testPutUpdate},
		{"StaleVersion", testPutStaleVersion},
		{"MissingWithVersion", testPutMissingWithVersion},
		{"Malformed", testPutMalformed},
		{"CopiesTerms", testPutCopiesTerms},
	}},
	{"Get", []testCase{
		{"Missing", testGetMissing},
	}},
	{"Delete", []testCase{
		{"CurrentVersion", testDeleteCurrentVersion},
		{"StaleVersion", testDeleteStaleVersion},
		{"Missing", testDeleteMissing},
	}},
	{"Tx", []testCase{
		{"CommitOnNil", testTxCommitOnNil},
		{"RollbackOnError", testTxRollbackOnError},
		{"RollbackOnPanic", testTxRollbackOnPanic},
		{"DoneAfterReturn", testTxDoneAfterReturn},
		{"ReadYourWrites", testTxReadYourWrites},
		{"UncommittedInvisible", testTxUncommittedInvisible},
		{"FirstCommitWins", testTxFirstCommitWins},
		{"RecreatedAfterRead", testTxRecreatedAfterRead},
		{"ReadChanged", testTxReadChanged},
		{"Cancelled", testTxCancelled},
		{"ClosedInFlight", testTxClosedInFlight},
	}},
	{"Query", []testCase{
		{"Terms", testQueryTerms},
		{"SortKeyRange", testQuerySortKeyRange},
		{"Order", testQueryOrder},
		{"Reverse", testQueryReverse},
		{"Limit", testQueryLimit},
		{"Paginate", testQueryPaginate},
		{"PaginateTerm", testQueryPaginateTerm},
		{"ManyResults", testQueryManyResults},
		{"Churn", testQueryChurn},
	}},
	{"Lookup", []testCase{
		{"AnyOf", testLookupAnyOf},
	}},
	{"NextSeq", []testCase{
		{"Sequences", testNextSeqSequences},
		{"NotReusedAfterRollback", testNextSeqNotReusedAfterRollback},
	}},
	{"Journal", []testCase{
		{"AppendAndRead", testJournalAppendAndRead},
		{"Filters", testJournalFilters},
		{"Many", testJournalMany},
		{"Malformed", testJournalMalformed},
		{"PayloadCopied", testJournalPayloadCopied},
		{"Rollback", testJournalRollback},
		{"Refs", testJournalRefs},
		{"SubjectRefs", testJournalSubjectRefs},
		{"Kinds", testJournalKinds},
		{"LastSeq", testJournalLastSeq},
	}},
	{"Backend", []testCase{
		{"EmptyTenant", testBackendEmptyTenant},
		{"NamesAreText", testBackendNamesAreText},
		{"SameTenant", testBackendSameTenant},
		{"Closed", testBackendClosed},
	}},
	{"Tenant", []testCase{
		{"Isolation", testTenantIsolation},
	}},
	{"Limits", []testCase{
		{"Largest", testLimitsLargest},
		{"OneByteMore", testLimitsOneByteMore},
	}},
	{"Concurrent", []testCase{
		{"NoLostUpdate", testConcurrentNoLostUpdate},
		{"JournalReaders", testConcurrentJournalReaders},
	}},
	{"Rapid", []testCase{
		{"Model", testRapidModel},
	}},
}

// Instances returns two handles on one fresh, empty tenant, as two
// application instances see it: for a backend that several processes
// share, two separately opened backends (two connection pools); for one
// that lives in the process, the same Store twice. The process suites
// (incidenttest, slmtest, cmdbtest) run on Instances: most tests use the
// first handle, and their two-instance tests run two Services, one on
// each, with commands interleaved.
type Instances func(t testing.TB) (first, second storage.Store)

// SameStore makes Instances for a backend that lives in the process: both
// handles are the one Store newStore returns.
func SameStore(newStore func(t testing.TB) storage.Store) Instances {
	return func(t testing.TB) (storage.Store, storage.Store) {
		s := newStore(t)
		return s, s
	}
}

// Spread makes every action of a rapid state machine but the check ("")
// run on one of instances drawn at random, handed to use first: a process
// suite's model test so sends each command to one of two Services.
func Spread[S any](actions map[string]func(*rapid.T), instances []S, use func(S)) {
	if len(instances) < 2 {
		return
	}
	for name, act := range actions {
		if name == "" {
			continue
		}
		actions[name] = func(t *rapid.T) {
			use(rapid.SampledFrom(instances).Draw(t, "instance"))
			act(t)
		}
	}
}
