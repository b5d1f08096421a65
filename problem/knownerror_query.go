package problem

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/check"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// MaxSearchWords is the most words a known error search may ask for.
const MaxSearchWords = 32

// Get returns the known error with the given ID, or an error wrapping
// itil.ErrNotFound.
func (k *KnownErrors) Get(ctx context.Context, id itil.ID) (*KnownError, error) {
	return k.run.Get(ctx, id)
}

// GetByNumber returns the known error with the given reference number,
// such as KE0001001, or an error wrapping itil.ErrNotFound.
func (k *KnownErrors) GetByNumber(ctx context.Context, number string) (*KnownError, error) {
	return k.run.GetByNumber(ctx, KnownErrorPrefix, "known error", number)
}

// History returns the journal of a known error, oldest first, with the
// old and new value of every field each event changed: its revisions.
func (k *KnownErrors) History(ctx context.Context, id itil.ID) ([]itil.HistoryEntry, error) {
	return k.run.History(ctx, id)
}

// Revision returns a known error as it was at the end of the given
// revision (0: the draft before its first publication), rebuilt from its
// journal, or an error wrapping itil.ErrNotFound.
func (k *KnownErrors) Revision(ctx context.Context, id itil.ID, revision int) (*KnownError, error) {
	h, err := k.run.History(ctx, id)
	if err != nil {
		return nil, err
	}
	var out *KnownError
	for _, e := range h {
		if e.Kind != KindKnownError || e.SubjectID != id {
			continue
		}
		ke, err := pipeline.Replay[KnownError](KindKnownError, id, h, e.Version)
		if err != nil {
			return nil, err
		}
		if ke.Revision == revision {
			ke.Version = e.Version
			out = ke
		}
	}
	if out == nil {
		return nil, fmt.Errorf("%w: known error %s has no revision %d", itil.ErrNotFound, id, revision)
	}
	return out, nil
}

// KnownErrorQuery is what a service desk agent searches known errors by.
// Empty fields do not filter; a list matches any of its values, and the
// fields together must all match.
type KnownErrorQuery struct {
	// Words: every word must occur, as a whole word, in the title,
	// symptom, workaround or error code; case and accents do not matter
	// (Fold). At most MaxSearchWords words.
	Words string
	// ErrorCode keeps the known errors with this error code, case and
	// accents folded.
	ErrorCode string
	// CIIDs keeps the known errors that name any of these CIs.
	CIIDs []itil.ID
	// LikeCI keeps the known errors for this CI or for a CI like it: one
	// that names the CI, or a CI of its class (or a class below it), or
	// of its vendor and model, or whose own Vendor and Model are the
	// CI's (see Likeness; LikeBy narrows it). The CI is read from the
	// CMDB (WithCMDB) as it is now, the known errors' CIs as the CMDB
	// classified them when each known error was last written. A CI the
	// CMDB does not hold gives an error wrapping itil.ErrNotFound (to
	// find the known errors that name a deleted CI, use CIIDs).
	LikeCI itil.ID
	// LikeBy says which CIs LikeCI counts as alike: LikeClass, LikeModel,
	// or 0 for both (LikeAny).
	LikeBy    Likeness
	ServiceID itil.ID
	ProblemID itil.ID
	Domains   []Domain
	// Vendor and Model keep the known errors of that vendor or model,
	// case and accents folded.
	Vendor, Model string
	// States keeps the known errors in these states; empty means
	// published only.
	States []KnownErrorState
	// IncludeExpired keeps known errors past their valid-to date, which
	// are left out otherwise.
	IncludeExpired bool
}

// Search returns the known errors matching q, ranked: most incidents
// resolved with each first (IncidentCount), then newest. A bad query is
// yielded as a *itil.ValidationError. It runs on the storage contract
// alone (index terms), so it answers alike on every backend. Pages are
// read in transactions of their own: a known error whose count rises
// while the search runs moves ahead in the ranking and may be passed
// over; since counts only rise, none is returned twice.
func (k *KnownErrors) Search(ctx context.Context, q KnownErrorQuery) iter.Seq2[*KnownError, error] {
	pq, err := k.query(ctx, q)
	return k.run.ListQuery(ctx, pq, err)
}

// SearchPage returns up to limit known errors of Search (0 for the
// default of 50, at most 1000), after the page that returned token (""
// for the first), and the token of the next page ("" on the last).
func (k *KnownErrors) SearchPage(ctx context.Context, q KnownErrorQuery, limit int, token string) ([]*KnownError, string, error) {
	pq, err := k.query(ctx, q)
	return k.run.ListPage(ctx, pq, err, limit, token)
}

// query turns a search into a pipeline query: the folded words and keys
// as terms (AND), the lists as any-of groups, and a check of what the
// index cannot say (valid-to; words and keys longer than their terms).
func (k *KnownErrors) query(ctx context.Context, q KnownErrorQuery) (pipeline.Query[KnownError], error) {
	var v itil.ValidationError
	pq := pipeline.Query[KnownError]{Reverse: true}
	check.Text(&v, "words", q.Words, false, MaxSymptom)
	check.Text(&v, "error_code", q.ErrorCode, false, check.Short)
	check.Text(&v, "vendor", q.Vendor, false, check.Short)
	check.Text(&v, "model", q.Model, false, check.Short)
	var words []string
	if !v.Has("words") {
		words = Words(q.Words)
		if len(words) > MaxSearchWords {
			v.Add("words", "must hold at most "+strconv.Itoa(MaxSearchWords)+" words")
		}
	}
	var long []string // words longer than their index terms
	for _, w := range words {
		pq.Terms = append(pq.Terms, storage.Term("w", cut(w, MaxWordBytes)))
		if len(w) > MaxWordBytes {
			long = append(long, w)
		}
	}
	type key struct{ field, value string }
	var keys []key // values longer than their index terms
	exact := func(field, value string) {
		if value == "" {
			return
		}
		f := Fold(value)
		pq.Terms = append(pq.Terms, storage.Term(field, cut(f, maxKeyBytes)))
		if len(f) > maxKeyBytes {
			keys = append(keys, key{field, f})
		}
	}
	exact("code", q.ErrorCode)
	exact("vendor", q.Vendor)
	exact("model", q.Model)
	if q.ServiceID != itil.NilID {
		pq.Terms = append(pq.Terms, storage.Term("service", q.ServiceID.String()))
	}
	if q.ProblemID != itil.NilID {
		pq.Terms = append(pq.Terms, storage.Term("problem", q.ProblemID.String()))
	}
	states := q.States
	if len(states) == 0 {
		states = []KnownErrorState{KnownErrorPublished}
	}
	var group []string
	for i, s := range states {
		if !slices.Contains(knownErrorStates, s) {
			v.Add("states["+strconv.Itoa(i)+"]", fmt.Sprintf("unknown state %q", s))
		}
		group = append(group, storage.Term("state", string(s)))
	}
	pq.AnyOf = append(pq.AnyOf, group)
	if len(q.CIIDs) > 0 {
		group = nil
		for i, id := range q.CIIDs {
			if id == itil.NilID {
				v.Add("ci_ids["+strconv.Itoa(i)+"]", "must not be the nil ID")
			}
			group = append(group, storage.Term("ci", id.String()))
		}
		pq.AnyOf = append(pq.AnyOf, group)
	}
	if len(q.Domains) > 0 {
		group = nil
		for i, d := range q.Domains {
			if !slices.Contains(domains, d) {
				v.Add("domains["+strconv.Itoa(i)+"]", fmt.Sprintf("unknown domain %q", d))
			}
			group = append(group, storage.Term("domain", string(d)))
		}
		pq.AnyOf = append(pq.AnyOf, group)
	}
	if q.LikeBy&^LikeAny != 0 {
		v.Add("like_by", "must be LikeClass, LikeModel or both")
	}
	now, err := k.run.Clock()
	if err != nil {
		return pq, err
	}
	if err := v.Err(); err != nil {
		return pq, err
	}
	var likeClass, likeModel string // checked in full when the model key was cut
	if q.LikeCI != itil.NilID {
		by := q.LikeBy
		if by == 0 {
			by = LikeAny
		}
		group, class, long, err := k.likeTerms(ctx, q.LikeCI, by)
		if err != nil {
			return pq, err
		}
		// First: the index serves it, one query per term; the states
		// group is checked against each known error found.
		pq.AnyOf = append([][]string{group}, pq.AnyOf...)
		if long != "" {
			likeClass, likeModel = class, long
		}
	}
	slices.Sort(pq.Terms)
	pq.Terms = slices.Compact(pq.Terms)
	if q.IncludeExpired && len(long) == 0 && len(keys) == 0 && likeModel == "" {
		return pq, nil
	}
	pq.Keep = func(ke *KnownError) bool {
		if !q.IncludeExpired && ke.Expired(now) {
			return false
		}
		if likeModel != "" && !likeKeep(ke, q.LikeCI, likeClass, likeModel) {
			return false
		}
		if len(long) > 0 {
			has := ke.words()
			for _, w := range long {
				if _, ok := slices.BinarySearch(has, w); !ok {
					return false
				}
			}
		}
		for _, kv := range keys {
			var have string
			switch kv.field {
			case "code":
				have = ke.ErrorCode
			case "vendor":
				have = ke.Vendor
			case "model":
				have = ke.Model
			}
			if Fold(have) != kv.value {
				return false
			}
		}
		return true
	}
	return pq, nil
}
