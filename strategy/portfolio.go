package strategy

import (
	"github.com/itilkit/itil"
	"github.com/itilkit/itil/internal/machine"
)

// Status is where a service stands in the service portfolio, as
// ServiceNow's portfolio statuses. Each belongs to one Phase.
type Status string

// The portfolio statuses, in the order a service goes through them.
const (
	// The pipeline: services proposed or being developed for the future.
	StatusRequirements Status = "requirements"
	StatusDefinition   Status = "definition"
	StatusAnalysis     Status = "analysis"
	StatusApproved     Status = "approved"
	StatusChartered    Status = "chartered"
	// The catalogue: services being built or live, that customers see.
	StatusDesign           Status = "design"
	StatusDevelopment      Status = "development"
	StatusBuildTestRelease Status = "build_test_release"
	StatusOperational      Status = "operational"
	StatusRetiring         Status = "retiring"
	// Retired services, kept for their history.
	StatusRetired  Status = "retired"
	StatusObsolete Status = "obsolete"
)

// Phase is the part of the portfolio a status belongs to.
type Phase string

// The portfolio's phases.
const (
	PhasePipeline  Phase = "pipeline"
	PhaseCatalogue Phase = "catalogue"
	PhaseRetired   Phase = "retired"
)

// Phase returns the phase s belongs to, "" for an unknown status.
func (s Status) Phase() Phase {
	switch s {
	case StatusRequirements, StatusDefinition, StatusAnalysis, StatusApproved, StatusChartered:
		return PhasePipeline
	case StatusDesign, StatusDevelopment, StatusBuildTestRelease, StatusOperational, StatusRetiring:
		return PhaseCatalogue
	case StatusRetired, StatusObsolete:
		return PhaseRetired
	}
	return ""
}

// Portfolio moves, the events of PortfolioLifecycle.
const (
	MoveDefine   = "define"
	MoveAnalyse  = "analyse"
	MoveApprove  = "approve"
	MoveCharter  = "charter"
	MoveDesign   = "design" // into the catalogue
	MoveDevelop  = "develop"
	MoveBuild    = "build"
	MoveOperate  = "operate"
	MoveRetire   = "retire"
	MoveClose    = "close"
	MoveWithdraw = "withdraw" // a pipeline service abandoned
	MoveObsolete = "obsolete"
)

// portfolio is the service portfolio's state machine. A service goes
// forward through the pipeline and the catalogue; it never returns from
// the catalogue to the pipeline (no move does); a pipeline service may
// be withdrawn; a retired one may be declared obsolete.
var portfolio = machine.New(StatusRequirements, []itil.Transition[Status]{
	{Event: MoveDefine, From: []Status{StatusRequirements}, To: StatusDefinition},
	{Event: MoveAnalyse, From: []Status{StatusDefinition}, To: StatusAnalysis},
	{Event: MoveApprove, From: []Status{StatusAnalysis}, To: StatusApproved},
	{Event: MoveCharter, From: []Status{StatusApproved}, To: StatusChartered},
	{Event: MoveDesign, From: []Status{StatusChartered}, To: StatusDesign},
	{Event: MoveDevelop, From: []Status{StatusDesign}, To: StatusDevelopment},
	{Event: MoveBuild, From: []Status{StatusDevelopment}, To: StatusBuildTestRelease},
	{Event: MoveOperate, From: []Status{StatusBuildTestRelease}, To: StatusOperational},
	{Event: MoveRetire, From: []Status{StatusOperational}, To: StatusRetiring},
	{Event: MoveClose, From: []Status{StatusRetiring}, To: StatusRetired},
	{Event: MoveWithdraw, From: []Status{StatusRequirements, StatusDefinition, StatusAnalysis, StatusApproved, StatusChartered}, To: StatusRetired},
	{Event: MoveObsolete, From: []Status{StatusRetired}, To: StatusObsolete},
})

// PortfolioLifecycle returns a copy of the portfolio's transition table;
// PortfolioDiagram draws it.
func PortfolioLifecycle() []itil.Transition[Status] { return portfolio.Transitions() }

// PortfolioDiagram returns the Mermaid state diagram of
// PortfolioLifecycle, as committed in portfolio.md.
func PortfolioDiagram() string { return portfolio.Diagram() }

// portfolioFacts is what the portfolio's guards read of a service.
type portfolioFacts struct {
	Owner                string
	BusinessCaseApproved bool
	Offerings            int // offerings not retired
	ActiveSubscriptions  int
	// OverrideReason lets a service retire with active subscriptions.
	OverrideReason string
}

// portfolioGuard checks the move from status from against ITIL's rules
// and returns a *itil.ValidationError naming what is missing:
//   - charter needs an approved business case;
//   - entering the catalogue (design) needs an owner and at least one
//     offering;
//   - retiring needs no active subscription, or an override with a
//     reason.
//
// A move the lifecycle does not allow is refused by the lifecycle itself.
func portfolioGuard(move string, f portfolioFacts) error {
	var v itil.ValidationError
	switch move {
	case MoveCharter:
		if !f.BusinessCaseApproved {
			v.Add("business_case", "must be approved before the service is chartered")
		}
	case MoveDesign:
		if f.Owner == "" {
			v.Add("owner", "is required for a service to enter the catalogue")
		}
		if f.Offerings < 1 {
			v.Add("offerings", "a service enters the catalogue with at least one offering")
		}
	case MoveRetire:
		if f.ActiveSubscriptions > 0 && f.OverrideReason == "" {
			v.Add("subscriptions", "the service has active subscriptions: end them, or retire it with an override reason")
		}
	}
	return v.Err()
}
