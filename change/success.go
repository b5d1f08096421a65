package change

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/pipeline"
	"github.com/itilkit/itil/storage"
)

// KindSuccessScore is the storage kind and journal kind of the success
// scores a Service learns.
const KindSuccessScore = "change_success_score"

// EventSuccessCounted is journaled on a success score each time a closed
// change or a caused incident counts on it.
const EventSuccessCounted = "change.success_counted"

// ScoreOf says what a success score is kept for.
type ScoreOf string

// What success scores are kept for.
const (
	ScoreOfGroup ScoreOf = "group" // an assignment group, by name
	ScoreOfModel ScoreOf = "model" // a change model, by name
	ScoreOfCI    ScoreOf = "ci"    // a CI, by its ID's text
)

// WithSuccessScoring replaces DefaultSuccessScoring: the points of each
// outcome and the least score of each rating. Counts are stored, not
// points, so a new scoring applies to the whole history at once. A bad
// scoring is named under "success_scoring.".
func WithSuccessScoring(sc SuccessScoring) Option {
	return Option{func(cfg *config, v *itil.ValidationError) {
		if err := sc.Validate(); err != nil {
			nest(v, "success_scoring.", err)
			return
		}
		cfg.scoring = sc
	}}
}

// SuccessScore is what a Service has learned of one assignment group,
// change model or CI: how the changes it took part in ended, and the
// incidents they caused, by priority. Score and Rating are counted by the
// Service's SuccessScoring when read.
type SuccessScore struct {
	Of                   ScoreOf `json:"of"`
	Name                 string  `json:"name"`
	Successful           int     `json:"successful"`
	SuccessfulWithIssues int     `json:"successful_with_issues"`
	Unsuccessful         int     `json:"unsuccessful"`
	// Caused counts the incidents caused, by priority: P1 first.
	Caused [5]int `json:"caused"`
	Score  int    `json:"score"`
	Rating Rating `json:"rating"`
}

// tally counts events per kind: the three close codes, then the caused
// incidents by priority, as ScoreHistory counts them.
type tally [8]int

// score returns the points of t under s.
func (t *tally) score(s *SuccessScoring) int {
	points := tally{s.Successful, s.SuccessfulWithIssues, s.Unsuccessful}
	copy(points[3:], s.CausedIncident[:])
	n := 0
	for k, c := range t {
		n += c * points[k]
	}
	return n
}

// scoreRecord is a stored success score: its counts, under an ID derived
// from what it is kept for, so that two instances counting on one key
// meet on one record (and one of them retries).
type scoreRecord struct {
	ID        itil.ID   `json:"id"`
	Version   int64     `json:"version"`
	Of        ScoreOf   `json:"of"`
	Name      string    `json:"name"`
	Counts    tally     `json:"counts"`
	UpdatedAt time.Time `json:"updated_at"`
}

var scoreSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/itilkit/itil/change#success_score"))

func scoreID(of ScoreOf, name string) itil.ID {
	return uuid.NewSHA1(scoreSpace, []byte(string(of)+"\x00"+name))
}

var scoreRecords = storage.NewCollection(storage.Schema[scoreRecord]{
	Kind:    KindSuccessScore,
	ID:      func(r *scoreRecord) itil.ID { return r.ID },
	Version: func(r *scoreRecord) *int64 { return &r.Version },
	SortKey: func(r *scoreRecord) string { return string(r.Of) + "\x00" + r.Name },
	Terms:   func(r *scoreRecord, dst []string) []string { return append(dst, storage.Term("of", string(r.Of))) },
	Clone:   func(dst, src *scoreRecord) { *dst = *src },
})

var scoreSpec = (&pipeline.Spec[scoreRecord]{
	Collection: scoreRecords,
	Clone:      func(r *scoreRecord) *scoreRecord { c := *r; return &c },
	Touch:      func(r *scoreRecord, now time.Time) { r.UpdatedAt = now },
	Skip:       []string{"version", "updated_at"},
}).Init()

func (s *Service) scoreRunner() pipeline.Runner[scoreRecord] {
	return pipeline.Sibling(s.run, scoreSpec, nil, nil)
}

// scoreKey is one key a change counts on.
type scoreKey struct {
	of   ScoreOf
	name string
}

// scoreKeys returns what ch counts on: its assignment group, its model and
// each of its CIs once.
func scoreKeys(ch *Change) []scoreKey {
	var keys []scoreKey
	if ch.AssignmentGroup != "" {
		keys = append(keys, scoreKey{ScoreOfGroup, ch.AssignmentGroup})
	}
	keys = append(keys, scoreKey{ScoreOfModel, ch.Model})
	forEachCI(append([]itil.ID{ch.CIID}, ch.CIIDs...), func(id itil.ID) {
		keys = append(keys, scoreKey{ScoreOfCI, id.String()})
	})
	return keys
}

// countClosed counts the closed change ch on its keys, in the command's
// transaction.
func (s *Service) countClosed(c *cmd, ch *Change) error {
	kind := map[CloseCode]int{Successful: 0, SuccessfulWithIssues: 1, Unsuccessful: 2}[ch.CloseCode]
	return s.count(c, ch, kind, ch.Number+" closed "+string(ch.CloseCode))
}

// countCaused counts an incident of priority p that ch caused on ch's
// keys. A priority outside P1..P5 counts nothing.
func (s *Service) countCaused(c *cmd, ch *Change, p itil.Priority) error {
	if !p.Valid() {
		return nil
	}
	return s.count(c, ch, 2+int(p), ch.Number+" caused a "+p.String()+" incident")
}

func (s *Service) count(c *cmd, ch *Change, kind int, why string) error {
	oc := pipeline.Other(c, s.scoreRunner())
	for _, k := range scoreKeys(ch) {
		id := scoreID(k.of, k.name)
		r, err := oc.Load(id)
		if errors.Is(err, itil.ErrNotFound) {
			r, err = &scoreRecord{ID: id, Of: k.of, Name: k.name}, nil
		}
		if err != nil {
			return err
		}
		r.Counts[kind]++
		err = oc.Save(r, event{Type: EventSuccessCounted, Refs: []itil.ID{ch.ID},
			Summary: why + ": " + string(k.of) + " " + k.name + " scores " + strconv.Itoa(r.Counts.score(&s.cfg.scoring))})
		if err != nil {
			return err
		}
	}
	return nil
}

// SuccessScore returns what the Service has learned of the assignment
// group, change model or CI (its ID's text) name: a zero history, scoring
// 0, when nothing has counted on it yet. An unknown of, or an empty name,
// gives a *itil.ValidationError naming it.
func (s *Service) SuccessScore(ctx context.Context, of ScoreOf, name string) (SuccessScore, error) {
	var v itil.ValidationError
	if of != ScoreOfGroup && of != ScoreOfModel && of != ScoreOfCI {
		v.Add("of", "must be group, model or ci")
	}
	if name == "" {
		v.Add("name", "is required")
	}
	if err := v.Err(); err != nil {
		return SuccessScore{}, err
	}
	var out SuccessScore
	err := s.run.Read(ctx, func(ctx context.Context, tx storage.Tx) error {
		t, err := readTally(ctx, tx, scoreKey{of, name})
		out = s.scoreOf(scoreKey{of, name}, t)
		return err
	})
	return out, err
}

func readTally(ctx context.Context, tx storage.Tx, k scoreKey) (tally, error) {
	r, err := scoreRecords.Get(ctx, tx, scoreID(k.of, k.name))
	if errors.Is(err, itil.ErrNotFound) {
		return tally{}, nil
	}
	if err != nil {
		return tally{}, err
	}
	return r.Counts, nil
}

func (s *Service) scoreOf(k scoreKey, t tally) SuccessScore {
	out := SuccessScore{Of: k.of, Name: k.name, Successful: t[0], SuccessfulWithIssues: t[1], Unsuccessful: t[2]}
	copy(out.Caused[:], t[3:])
	out.Score = t.score(&s.cfg.scoring)
	out.Rating = s.cfg.scoring.Rate(out.Score)
	return out
}

// successRating returns the success rating of ch, as SuccessScores.Rating
// rates one: the lowest among its group, its model and each of its CIs,
// read in the command's transaction.
func (s *Service) successRating(c *cmd, ch *Change) (Rating, error) {
	var r Rating
	for _, k := range scoreKeys(ch) {
		t, err := readTally(c.Ctx, c.Tx, k)
		if err != nil {
			return 0, err
		}
		if x := s.cfg.scoring.Rate(t.score(&s.cfg.scoring)); r == 0 || x < r {
			r = x
		}
	}
	return r, nil
}
