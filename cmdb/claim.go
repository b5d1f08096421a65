package cmdb

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/storage"
)

// kindClaim records hold, per identification key and per unique attribute
// value, the CI that last claimed it.
//
// Identification and uniqueness are checked with queries, and a query
// that finds nothing does not stop another transaction from adding a
// match before either commits: two imports of the same server, run
// concurrently, would both create it. So every write of a CI also reads
// the claim of each of its keys before it looks for other CIs with those
// values (watch), and takes over the claims another CI (or none) holds
// when it saves (claim). A transaction that commits such a CI after the
// read changes the claim, so the reader's commit fails with
// itil.ErrConflict; one that committed before is seen by the reader's
// queries. The loser runs again (the pipeline's retry rule re-runs a
// conflicting CreateCI, UpdateCI or import record on fresh state) and
// finds the winner's CI. Claims are never released: a stale one only
// costs a write when the key is next claimed.
//
// Claims are records derived from the CIs, written beside them in the
// same transaction; they are not journaled (the CI's own event says
// everything a claim would), so the journal holds one event per CI,
// relationship or baseline written.
const kindClaim = "cmdb.claim"

var claimSpace = uuid.MustParse("0b9c3f4e-5d0a-4c1e-9a47-6f2d8e1b7c30")

// claimKeys lists c's keys: each identification rule of its class it
// fills (per class tree) and each unique attribute value (per declaring
// class).
func (s *Service) claimKeys(c *CI) []string {
	var keys []string
	root := s.root(c.Class)
	for _, rule := range s.identRules(c.Class) {
		if vals, ok := identValues(c, rule); ok {
			keys = append(keys, "identify\x00"+root+"\x00"+strings.Join(rule, "+")+"\x00"+strings.Join(vals, "\x00"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Attributes)) {
		if a, owner, ok := s.cfg.classes.attribute(c.Class, name); ok && a.Unique {
			keys = append(keys, "unique\x00"+owner+"\x00"+name+"\x00"+c.Attributes[name])
		}
	}
	return keys
}

func claimID(key string) itil.ID { return uuid.NewSHA1(claimSpace, []byte(key)) }

// watch reads the claims of c's keys inside tx, before the queries that
// check c's values against other CIs (see kindClaim).
func (s *Service) watch(ctx context.Context, tx storage.Tx, c *CI) error {
	for _, key := range s.claimKeys(c) {
		if _, err := tx.Get(ctx, kindClaim, claimID(key)); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// claim takes c's keys inside tx (see kindClaim).
func (s *Service) claim(ctx context.Context, tx storage.Tx, c *CI) error {
	holder := c.ID.String()
	for _, key := range s.claimKeys(c) {
		id := claimID(key)
		rec, err := tx.Get(ctx, kindClaim, id)
		switch {
		case err == nil:
			if rec.Data == holder {
				continue
			}
			rec.Data = holder
		case isNotFound(err):
			rec = storage.Record{Kind: kindClaim, ID: id, Data: holder}
		default:
			return err
		}
		if _, err := tx.Put(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}
