// Package lifecycle is the ITIL service lifecycle: a service goes from
// service strategy through service design and service transition into
// service operation, and in the end retires, with continual service
// improvement running beside every stage. The seed texts describe the
// stages passing packages from one to the next; this package makes the
// hand-overs real gates, each judged from what the other processes hold.
//
// # Stages and gates
//
// A service's [Record] (one per portfolio entry of package strategy,
// [Service.Open]) moves along [Lifecycle] (lifecycle.md) by
// [Service.Move]. Each move passes a [Gate] whose [Check]s read the other
// packages and say what is missing:
//   - strategy → design: the portfolio entry is chartered (strategy
//     charters it once its business case is approved);
//   - design → transition: the service design package is complete, its
//     service acceptance criteria are defined, every offering names an
//     SLA definition, and the service's CI is in the CMDB with what it
//     runs on;
//   - transition → operation: the transition's changes closed
//     successful, the acceptance criteria are met, and early life
//     support met its exit criteria ([EarlyLife]: no P1 or P2 incident
//     open on the service in the last 14 days by default, and optionally
//     its SLAs met often enough since transition began);
//   - retirement: no subscription runs, and the service's CI is retired.
//
// [Service.Gate] judges a gate without moving. A gate that fails refuses
// the move with a [*GateError] listing the failed checks, unless the move
// gives an override reason: the override is then kept on the record and
// journaled, with the checks it overrode.
//
// # The service design package
//
// The record carries the service design package as a checklist of
// ITIL's sections ([DesignSections]): requirements, how the service is
// used, stakeholders, service-level requirements, technical design,
// sourcing, processes, organisational readiness, transition and test
// plans, operational acceptance and acceptance criteria, each with an
// owner, a state and evidence links ([Service.UpdateSection]).
//
// # Continual improvement
//
// An [Initiative] in the improvement register ([Service.RaiseInitiative])
// says what should get better, a KPI, from where (its base) to where
// (its target) by when (its review date), with ServiceNow's fields and
// states ([InitiativeLifecycle], initiative.md). It walks the improvement
// model's steps as a checklist with evidence ([ImprovementSteps]: what
// is the vision, where are we now, where do we want to be, how do we get
// there, take action, did we get there, how do we keep the momentum),
// links the problems and changes that get it there
// ([Service.LinkInitiative]), and is measured at its review date from
// the journal ([Service.ReviewInitiative]): "did we get there" is
// computed, never typed in.
//
// # KPIs from the journal
//
// [Service.KPIs] counts the KPIs (the KPI constants, [KPINames]) from the
// journal's events, never from records as they stand: editing an
// incident later does not move the month it was resolved in. They come
// per day, week or month in a zone, by service, group or priority. A
// [Baseline] freezes a KPI's value with a target ([Service.FreezeBaseline])
// and [Service.Trend] sets later periods against it. Each instance keeps
// the facts the KPIs count in memory, built from the journal on first use
// and caught up before each query (as the CMDB's impact index is), so
// two instances on one store count the same.
//
// # The story
//
// [Service.ServiceHistory] reads a service's whole story from the
// journal, in order: its entry and offerings, its lifecycle record and
// initiatives, its CI, the incidents on it and their problems, the
// changes that transitioned it.
package lifecycle
