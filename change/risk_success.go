package change

import (
	"fmt"

	"github.com/itilkit/itil"
)

// CloseCode is how a change ended, recorded when it closes.
type CloseCode string

// The close codes.
const (
	Successful           CloseCode = "successful"
	SuccessfulWithIssues CloseCode = "successful_with_issues"
	Unsuccessful         CloseCode = "unsuccessful"
)

// Valid reports whether c is one of the close codes.
func (c CloseCode) Valid() bool {
	return c == Successful || c == SuccessfulWithIssues || c == Unsuccessful
}

// Rating rates a success score: low, medium, high or excellent; the zero
// Rating means unknown. Ratings are ordered: a higher value is a better
// record. In JSON a rating is its name.
type Rating int

// The success ratings.
const (
	RatingLow Rating = 1 + iota
	RatingMedium
	RatingHigh
	RatingExcellent
)

var ratingNames = []string{"low", "medium", "high", "excellent"}

// Valid reports whether r is one of RatingLow..RatingExcellent.
func (r Rating) Valid() bool { return r >= RatingLow && r <= RatingExcellent }

// String returns the rating's name, "none" for the zero Rating.
func (r Rating) String() string { return levelString(int(r), ratingNames, "Rating") }

// MarshalText returns the rating's name, or "" for the zero Rating.
func (r Rating) MarshalText() ([]byte, error) { return levelText(int(r), ratingNames, "rating") }

// UnmarshalText reads a rating's name; "" is the zero Rating.
func (r *Rating) UnmarshalText(b []byte) error {
	return unmarshalLevel((*int)(r), b, ratingNames, "a rating")
}

// SuccessScoring is how a success score is counted and rated: the points
// each closed change and each incident a change caused add to the score
// of its assignment group, of its model and of each of its CIs, and the
// least score of each rating (a lower score rates low). Points are from
// -1000 to 1000, and MediumFrom < HighFrom < ExcellentFrom.
type SuccessScoring struct {
	Successful           int `json:"successful"`
	SuccessfulWithIssues int `json:"successful_with_issues"`
	Unsuccessful         int `json:"unsuccessful"`
	// CausedIncident holds the points of an incident the change caused,
	// by its priority: P1 first.
	CausedIncident [5]int `json:"caused_incident"`
	MediumFrom     int    `json:"medium_from"`
	HighFrom       int    `json:"high_from"`
	ExcellentFrom  int    `json:"excellent_from"`
}

// DefaultSuccessScoring returns ServiceNow's points (successful +3,
// successful with issues −2, unsuccessful −5; a caused P1 incident −10,
// P2 −5, P3 −2, P4 and P5 0) and these ratings: below 0 low, from 0
// medium (where a group, model or CI without history stands), from 15
// (five clean changes) high, from 45 excellent.
func DefaultSuccessScoring() SuccessScoring {
	return SuccessScoring{
		Successful: 3, SuccessfulWithIssues: -2, Unsuccessful: -5,
		CausedIncident: [5]int{-10, -5, -2, 0, 0},
		MediumFrom:     0, HighFrom: 15, ExcellentFrom: 45,
	}
}

const (
	maxPoints         = 1000
	maxRatingFrom     = 1_000_000_000
	smallCIsDedupScan = 32
)

// Validate returns a *itil.ValidationError naming every bad field of s,
// or nil.
func (s SuccessScoring) Validate() error {
	var v itil.ValidationError
	points := func(field string, p int) {
		if p < -maxPoints || p > maxPoints {
			v.Add(field, fmt.Sprintf("must be from %d to %d", -maxPoints, maxPoints))
		}
	}
	points("successful", s.Successful)
	points("successful_with_issues", s.SuccessfulWithIssues)
	points("unsuccessful", s.Unsuccessful)
	for i, p := range s.CausedIncident {
		points(fmt.Sprintf("caused_incident[%d]", i), p)
	}
	for _, f := range []struct {
		name string
		from int
	}{{"medium_from", s.MediumFrom}, {"high_from", s.HighFrom}, {"excellent_from", s.ExcellentFrom}} {
		if f.from < -maxRatingFrom || f.from > maxRatingFrom {
			v.Add(f.name, fmt.Sprintf("must be from %d to %d", -maxRatingFrom, maxRatingFrom))
		}
	}
	if s.HighFrom <= s.MediumFrom {
		v.Add("high_from", "must be above medium_from")
	}
	if s.ExcellentFrom <= s.HighFrom {
		v.Add("excellent_from", "must be above high_from")
	}
	return v.Err()
}

// Rate returns the rating of a score.
func (s SuccessScoring) Rate(score int) Rating {
	switch {
	case score >= s.ExcellentFrom:
		return RatingExcellent
	case score >= s.HighFrom:
		return RatingHigh
	case score >= s.MediumFrom:
		return RatingMedium
	}
	return RatingLow
}

// closedPoints returns the points of a close code, and false for an
// unknown one.
func (s *SuccessScoring) closedPoints(c CloseCode) (int, bool) {
	switch c {
	case Successful:
		return s.Successful, true
	case SuccessfulWithIssues:
		return s.SuccessfulWithIssues, true
	case Unsuccessful:
		return s.Unsuccessful, true
	}
	return 0, false
}

// SuccessScores are change success scores learned from history, per
// assignment group, per change model and per CI: each closed change and
// each incident a change caused adds its points (see SuccessScoring) to
// the score of its group, of its model and of each of its CIs. A
// group, model or CI without history scores 0.
//
// The scores are a pure fold over the history: Closed and CausedIncident
// cost O(1) per key they touch, and any order of the same events gives
// the same scores, equal to ScoreHistory's. Counting an event once is
// the caller's job: rebuild the scores from the journal by feeding each
// event once. The zero SuccessScores is empty and counts by
// DefaultSuccessScoring. SuccessScores are not safe for concurrent use.
type SuccessScores struct {
	scoring SuccessScoring
	groups  map[string]int
	models  map[string]int
	cis     map[itil.ID]int
}

// NewSuccessScores returns empty scores counted by s, or s's
// *itil.ValidationError.
func NewSuccessScores(s SuccessScoring) (*SuccessScores, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	out := &SuccessScores{scoring: s}
	out.init()
	return out, nil
}

// init makes the zero SuccessScores count by DefaultSuccessScoring.
func (s *SuccessScores) init() {
	if s.groups != nil {
		return
	}
	if s.scoring == (SuccessScoring{}) {
		s.scoring = DefaultSuccessScoring()
	}
	s.groups, s.models, s.cis = map[string]int{}, map[string]int{}, map[itil.ID]int{}
}

// Closed counts a change closed with code by group (the assignment
// group; "" for none) under model ("" for none) on cis (each counts once;
// itil.NilID is skipped). An unknown code is a *itil.ValidationError
// naming "close_code", and counts nothing.
func (s *SuccessScores) Closed(code CloseCode, group, model string, cis []itil.ID) error {
	s.init()
	p, ok := s.scoring.closedPoints(code)
	if !ok {
		return itil.Invalid("close_code", fmt.Sprintf("%q is not one of successful, successful_with_issues, unsuccessful", code))
	}
	s.add(p, group, model, cis)
	return nil
}

// CausedIncident counts an incident of priority p caused by a change of
// group, model and cis, as Closed counts a change. A priority other than
// P1..P5 is a *itil.ValidationError naming "priority", and counts
// nothing.
func (s *SuccessScores) CausedIncident(p itil.Priority, group, model string, cis []itil.ID) error {
	if !p.Valid() {
		return itil.Invalid("priority", "must be P1 to P5")
	}
	s.init()
	s.add(s.scoring.CausedIncident[p-1], group, model, cis)
	return nil
}

func (s *SuccessScores) add(points int, group, model string, cis []itil.ID) {
	if group != "" {
		s.groups[group] += points
	}
	if model != "" {
		s.models[model] += points
	}
	forEachCI(cis, func(id itil.ID) { s.cis[id] += points })
}

// forEachCI calls fn once for each distinct CI of cis but itil.NilID.
func forEachCI(cis []itil.ID, fn func(itil.ID)) {
	var seen map[itil.ID]bool
	if len(cis) > smallCIsDedupScan {
		seen = make(map[itil.ID]bool, len(cis))
	}
	for i, id := range cis {
		if id == itil.NilID {
			continue
		}
		if seen != nil {
			if seen[id] {
				continue
			}
			seen[id] = true
		} else if containsID(cis[:i], id) {
			continue
		}
		fn(id)
	}
}

func containsID(ids []itil.ID, id itil.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// GroupScore returns an assignment group's score.
func (s *SuccessScores) GroupScore(group string) int { return s.groups[group] }

// ModelScore returns a change model's score.
func (s *SuccessScores) ModelScore(model string) int { return s.models[model] }

// CIScore returns a CI's score.
func (s *SuccessScores) CIScore(ci itil.ID) int { return s.cis[ci] }

// Rating returns the success rating of a change by group, under model,
// on cis: the lowest rating among the group, the model and each CI, those
// without history rated by a score of 0 ("" and itil.NilID name none).
// It is zero when the change names none of them.
func (s *SuccessScores) Rating(group, model string, cis []itil.ID) Rating {
	s.init()
	var r Rating
	lower := func(score int) {
		if x := s.scoring.Rate(score); r == 0 || x < r {
			r = x
		}
	}
	if group != "" {
		lower(s.groups[group])
	}
	if model != "" {
		lower(s.models[model])
	}
	for _, id := range cis {
		if id != itil.NilID {
			lower(s.cis[id])
		}
	}
	return r
}

// SuccessEvent is one entry of a change history as success scores see
// it: a change closed with the code Closed, or an incident of priority
// Caused that a change caused (exactly one of the two), with the
// change's assignment group, model and CIs.
type SuccessEvent struct {
	Closed CloseCode     `json:"closed,omitempty"`
	Caused itil.Priority `json:"caused,omitempty"`
	Group  string        `json:"group,omitempty"`
	Model  string        `json:"model,omitempty"`
	CIs    []itil.ID     `json:"cis,omitempty"`
}

// ScoreHistory returns the scores of a whole history at once, counted by
// s: per key, the number of events of each kind times its points, which
// is what Closed and CausedIncident reach one event at a time. It returns
// a *itil.ValidationError naming each bad event (such as
// "history[4].closed") and no scores when s or an event is bad.
func ScoreHistory(s SuccessScoring, history []SuccessEvent) (*SuccessScores, error) {
	out, err := NewSuccessScores(s)
	if err != nil {
		return nil, err
	}
	groups, models, cis := map[string]*tally{}, map[string]*tally{}, map[itil.ID]*tally{}
	count := func(m map[string]*tally, key string, kind int) {
		t := m[key]
		if t == nil {
			t = new(tally)
			m[key] = t
		}
		t[kind]++
	}
	var v itil.ValidationError
	for i, e := range history {
		path := fmt.Sprintf("history[%d]", i)
		var kind int
		switch {
		case e.Closed != "" && e.Caused != 0:
			v.Add(path, "must be a closed change or a caused incident, not both")
			continue
		case e.Closed == Successful:
			kind = 0
		case e.Closed == SuccessfulWithIssues:
			kind = 1
		case e.Closed == Unsuccessful:
			kind = 2
		case e.Closed != "":
			v.Add(path+".closed", fmt.Sprintf("%q is not one of successful, successful_with_issues, unsuccessful", e.Closed))
			continue
		case e.Caused.Valid():
			kind = 2 + int(e.Caused)
		case e.Caused != 0:
			v.Add(path+".caused", "must be P1 to P5")
			continue
		default:
			v.Add(path, "must be a closed change (closed) or a caused incident (caused)")
			continue
		}
		if e.Group != "" {
			count(groups, e.Group, kind)
		}
		if e.Model != "" {
			count(models, e.Model, kind)
		}
		forEachCI(e.CIs, func(id itil.ID) {
			t := cis[id]
			if t == nil {
				t = new(tally)
				cis[id] = t
			}
			t[kind]++
		})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	score := func(t *tally) int { return t.score(&s) }
	for k, t := range groups {
		out.groups[k] = score(t)
	}
	for k, t := range models {
		out.models[k] = score(t)
	}
	for k, t := range cis {
		out.cis[k] = score(t)
	}
	return out, nil
}
