package change_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
)

func scoreID(n int) itil.ID {
	var id itil.ID
	id[15] = byte(n)
	id[14] = 0x42
	return id
}

func TestSuccessScores(t *testing.T) {
	s, err := change.NewSuccessScores(change.DefaultSuccessScoring())
	require.NoError(t, err)
	db, web := scoreID(1), scoreID(2)

	for range 5 {
		require.NoError(t, s.Closed(change.Successful, "dba", "normal", []itil.ID{db}))
	}
	require.NoError(t, s.Closed(change.SuccessfulWithIssues, "dba", "standard", []itil.ID{db, web, db, itil.NilID}))
	require.NoError(t, s.Closed(change.Unsuccessful, "web", "normal", []itil.ID{web}))
	require.NoError(t, s.CausedIncident(itil.P1, "web", "normal", []itil.ID{web}))
	require.NoError(t, s.CausedIncident(itil.P2, "dba", "", nil))
	require.NoError(t, s.CausedIncident(itil.P3, "", "standard", []itil.ID{db}))
	require.NoError(t, s.CausedIncident(itil.P4, "dba", "standard", []itil.ID{db}))
	require.NoError(t, s.Closed(change.Successful, "", "", nil)) // counts for nobody

	assert.Equal(t, 5*3-2-5, s.GroupScore("dba"))
	assert.Equal(t, -5-10, s.GroupScore("web"))
	assert.Equal(t, 0, s.GroupScore("nobody"))
	assert.Equal(t, 5*3-5-10, s.ModelScore("normal"))
	assert.Equal(t, -2-2, s.ModelScore("standard"))
	assert.Equal(t, 5*3-2-2, s.CIScore(db)) // listed twice, counted once
	assert.Equal(t, -2-5-10, s.CIScore(web))
	assert.Equal(t, 0, s.CIScore(itil.NilID))

	// The lowest rating among group, model and CIs; those without history
	// score 0, which rates medium by default.
	assert.Equal(t, change.RatingMedium, s.Rating("dba", "", nil))                   // 8
	assert.Equal(t, change.RatingMedium, s.Rating("", "", []itil.ID{db}))            // 11
	assert.Equal(t, change.RatingLow, s.Rating("dba", "normal", []itil.ID{db, web})) // web: -17
	assert.Equal(t, change.RatingMedium, s.Rating("new team", "", nil))
	assert.Equal(t, change.Rating(0), s.Rating("", "", []itil.ID{itil.NilID}))

	assert.Equal(t, []string{"close_code"}, fields(t, s.Closed("done", "dba", "", nil)))
	assert.Equal(t, []string{"priority"}, fields(t, s.CausedIncident(0, "dba", "", nil)))
	assert.Equal(t, []string{"priority"}, fields(t, s.CausedIncident(6, "dba", "", nil)))
	assert.Equal(t, 5*3-2-5, s.GroupScore("dba"), "a rejected event counts nothing")
}

func TestSuccessScoresZeroValue(t *testing.T) {
	var s change.SuccessScores
	assert.Equal(t, 0, s.GroupScore("dba"))
	assert.Equal(t, change.RatingMedium, s.Rating("dba", "", nil))
	require.NoError(t, s.Closed(change.Unsuccessful, "dba", "", nil))
	assert.Equal(t, -5, s.GroupScore("dba"))
	assert.Equal(t, change.RatingLow, s.Rating("dba", "", nil))
}

func TestSuccessRatings(t *testing.T) {
	d := change.DefaultSuccessScoring()
	for score, want := range map[int]change.Rating{
		-1: change.RatingLow, 0: change.RatingMedium, 14: change.RatingMedium,
		15: change.RatingHigh, 44: change.RatingHigh, 45: change.RatingExcellent, 1000: change.RatingExcellent,
	} {
		assert.Equal(t, want, d.Rate(score), "score %d", score)
	}
	custom := change.SuccessScoring{Successful: 1, MediumFrom: -10, HighFrom: 10, ExcellentFrom: 100}
	require.NoError(t, custom.Validate())
	assert.Equal(t, change.RatingLow, custom.Rate(-11))
	assert.Equal(t, change.RatingMedium, custom.Rate(-10))
}

func TestSuccessScoringValidate(t *testing.T) {
	bad := change.SuccessScoring{Successful: 1001, Unsuccessful: -1001,
		CausedIncident: [5]int{0, 0, 0, 0, 5000}, MediumFrom: 5, HighFrom: 5, ExcellentFrom: 2_000_000_000}
	assert.Equal(t, []string{"successful", "unsuccessful", "caused_incident[4]", "excellent_from", "high_from"},
		fields(t, bad.Validate()))
	_, err := change.NewSuccessScores(bad)
	assert.Error(t, err)
	_, err = change.ScoreHistory(bad, nil)
	assert.Error(t, err)

	data, err := json.Marshal(change.DefaultSuccessScoring())
	require.NoError(t, err)
	assert.JSONEq(t, `{"successful":3,"successful_with_issues":-2,"unsuccessful":-5,
		"caused_incident":[-10,-5,-2,0,0],"medium_from":0,"high_from":15,"excellent_from":45}`, string(data))
}

func TestScoreHistoryRejects(t *testing.T) {
	_, err := change.ScoreHistory(change.DefaultSuccessScoring(), []change.SuccessEvent{
		{Closed: change.Successful, Group: "a"},
		{Closed: "done"},
		{Caused: 7},
		{Closed: change.Successful, Caused: itil.P1},
		{Group: "a"},
	})
	assert.Equal(t, []string{"history[1].closed", "history[2].caused", "history[3]", "history[4]"}, fields(t, err))
}

// The property test: scores counted one event at a time, in any order,
// equal the batch count of the whole history.
func TestSuccessScoresIncrementalEqualsBatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		scoring := change.DefaultSuccessScoring()
		if rapid.Bool().Draw(t, "custom scoring") {
			p := rapid.IntRange(-20, 20)
			scoring = change.SuccessScoring{
				Successful: p.Draw(t, "p"), SuccessfulWithIssues: p.Draw(t, "p"), Unsuccessful: p.Draw(t, "p"),
				CausedIncident: [5]int{p.Draw(t, "p"), p.Draw(t, "p"), p.Draw(t, "p"), p.Draw(t, "p"), p.Draw(t, "p")},
				MediumFrom:     -5, HighFrom: 5, ExcellentFrom: 20,
			}
		}
		groups := []string{"", "dba", "web"}
		models := []string{"", "normal", "standard"}
		var history []change.SuccessEvent
		for range rapid.IntRange(0, 60).Draw(t, "events") {
			e := change.SuccessEvent{
				Group: rapid.SampledFrom(groups).Draw(t, "group"),
				Model: rapid.SampledFrom(models).Draw(t, "model"),
			}
			for range rapid.IntRange(0, 12).Draw(t, "cis") {
				e.CIs = append(e.CIs, scoreID(rapid.IntRange(0, 10).Draw(t, "ci")))
			}
			if rapid.Bool().Draw(t, "closed") {
				e.Closed = rapid.SampledFrom([]change.CloseCode{change.Successful, change.SuccessfulWithIssues, change.Unsuccessful}).Draw(t, "code")
			} else {
				e.Caused = itil.Priority(rapid.IntRange(1, 5).Draw(t, "priority"))
			}
			history = append(history, e)
		}
		batch, err := change.ScoreHistory(scoring, history)
		require.NoError(t, err)

		order := rapid.Permutation(history).Draw(t, "order")
		inc, err := change.NewSuccessScores(scoring)
		require.NoError(t, err)
		for _, e := range order {
			if e.Closed != "" {
				require.NoError(t, inc.Closed(e.Closed, e.Group, e.Model, e.CIs))
			} else {
				require.NoError(t, inc.CausedIncident(e.Caused, e.Group, e.Model, e.CIs))
			}
		}
		for _, g := range groups {
			require.Equal(t, batch.GroupScore(g), inc.GroupScore(g), "group %q", g)
		}
		for _, m := range models {
			require.Equal(t, batch.ModelScore(m), inc.ModelScore(m), "model %q", m)
		}
		for n := range 11 {
			require.Equal(t, batch.CIScore(scoreID(n)), inc.CIScore(scoreID(n)), "ci %d", n)
		}
		cis := []itil.ID{scoreID(rapid.IntRange(0, 10).Draw(t, "ci")), scoreID(rapid.IntRange(0, 10).Draw(t, "ci"))}
		require.Equal(t, batch.Rating("dba", "normal", cis), inc.Rating("dba", "normal", cis))
		require.Equal(t, fmt.Sprint(batch.Rating("", "", nil)), "none")
	})
}
