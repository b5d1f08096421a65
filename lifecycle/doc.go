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
//   - strategy → design: the portfolio entry is chartered (its business
//     case approved);
//   - design → transition: the service design package is complete, its
//     service acceptance criteria are defined, every offering names an
//     SLA definition, and the service's CI is in the CMDB with what it
//     runs on;
//   - transition → operation: the transition's changes closed
//     successful, the acceptance criteria are met, and early life
//     support met its exit criteria ([EarlyLife]: no P1 or P2 incident on
//     the service for 14 days by default, and optionally the offerings'
//     SLAs met often enough since transition began);
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
package lifecycle
