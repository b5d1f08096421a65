package strategy

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/itilkit/itil/internal/machine/machinetest"
	"github.com/itilkit/itil/internal/testkit"
)

// TestPortfolioDiagramInSync fails when portfolio.md no longer matches the
// lifecycle. Run `go test ./strategy -update` to regenerate it.
func TestPortfolioDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "portfolio.md", Title: "Service portfolio",
		Source: "strategy.PortfolioLifecycle()", Package: "./strategy", Mermaid: PortfolioDiagram(), README: "portfolio"})
}

// TestPortfolioPhases: every status has a phase, and no move goes back
// from the catalogue to the pipeline, or out of retirement but to
// obsolete.
func TestPortfolioPhases(t *testing.T) {
	rank := map[Phase]int{PhasePipeline: 0, PhaseCatalogue: 1, PhaseRetired: 2}
	for _, s := range portfolio.States() {
		assert.NotEmpty(t, s.Phase(), "status %s", s)
	}
	for _, tr := range PortfolioLifecycle() {
		for _, from := range tr.From {
			assert.LessOrEqual(t, rank[from.Phase()], rank[tr.To.Phase()], "%s: %s → %s goes back", tr.Event, from, tr.To)
		}
	}
	assert.Equal(t, Phase(""), Status("nowhere").Phase())
}

func TestPortfolioGuards(t *testing.T) {
	testkit.RequireFields(t, portfolioGuard(MoveCharter, portfolioFacts{}), "business_case")
	assert.NoError(t, portfolioGuard(MoveCharter, portfolioFacts{BusinessCaseApproved: true}))
	testkit.RequireFields(t, portfolioGuard(MoveDesign, portfolioFacts{}), "owner", "offerings")
	assert.NoError(t, portfolioGuard(MoveDesign, portfolioFacts{Owner: "olga", Offerings: 1}))
	testkit.RequireFields(t, portfolioGuard(MoveRetire, portfolioFacts{ActiveSubscriptions: 2}), "subscriptions")
	assert.NoError(t, portfolioGuard(MoveRetire, portfolioFacts{ActiveSubscriptions: 2, OverrideReason: "moved to the new service"}))
	assert.NoError(t, portfolioGuard(MoveDefine, portfolioFacts{}))
}

// TestOfferingDiagramInSync fails when offering.md no longer matches the
// offering lifecycle. Run `go test ./strategy -update` to regenerate it.
func TestOfferingDiagramInSync(t *testing.T) {
	machinetest.InSync(t, machinetest.Diagram{File: "offering.md", Title: "Service offering",
		Source: "strategy.OfferingLifecycle()", Package: "./strategy", Mermaid: OfferingDiagram()})
}
