// Package change is ITIL change enablement: changes that follow a change
// model, their risk, the approvals a policy asks for, the change advisory
// board, standard change templates and the post-implementation review.
//
// A change moves one or more configuration items from one known state to
// another, while the risk of the move is understood and accepted by the
// people who should accept it. Every outage review asks what changed, who
// approved it and whether the risk was known; this package answers all
// three from the journal.
//
// # Models
//
// A [Model] is data: the lifecycle of its changes, the states in which
// they wait for approvals, the states they enter only with planned times,
// and the states in which their CIs may change. [DefaultModels] are
// ServiceNow's: normal (New → Assess → Authorize → Scheduled → Implement →
// Review → Closed), standard (pre-approved, from a template: New →
// Scheduled → Implement → Review → Closed) and emergency (New → Authorize
// → Scheduled → Implement → Review → Closed), each canceled in any state
// before Review. [WithModels] adds the application's own, such as iTop's
// routine change; [Model.Validate] refuses a model the state machine
// could not run.
//
// # Commands
//
// [Service.Open] records a change; [Service.Move] takes it through a move
// of its model; [Service.Close] needs a close code and notes (and a
// post-implementation review for an unsuccessful change, one with issues
// and every emergency change: [Service.RecordReview]); [Service.Cancel]
// needs a reason. Entering Implement opens an implement task and a test
// task ([Task]); their start and end become the change's actual times.
// Every command runs through the pipeline every process shares: it loads,
// authorizes, checks, writes with a version check and journals, in one
// transaction, or does nothing.
//
// # Risk
//
// [Service.AssessRisk] applies the Service's [RiskModel]: risk conditions
// on the change's [Facts] (the first that holds sets the risk or the
// impact), a weighted questionnaire, and a lookup of impact against the
// probability of success. The highest risk wins, and the change keeps how
// it was reached ([Assessment.Explain]).
//
// The probability of success is learned: every closed change, and every
// incident linked to the change that caused it
// ([Service.LinkCausedIncident]), adds points to the success score of the
// change's assignment group, its model and each of its CIs
// ([SuccessScoring]; [Service.SuccessScore] reads one). A group whose
// changes keep failing makes its next change riskier; one with a clean
// record earns trust. [SuccessScores] are the same fold, pure.
//
// # Approvals
//
// [ApprovalRules] say, by a [Condition] on the change's facts, which
// [ApprovalPolicy] a change waits for in each approval state of its
// model: by default the assignment group in Assess, the CAB in Authorize
// when the risk is moderate or higher, the emergency CAB for an emergency
// change. A policy's steps wait for the first response, all of them, a
// share, each group or any group, and reject at once or wait for the
// rest; [ApprovalPolicy.Evaluate] decides. Approvers are resolved through
// a [Directory]; segregation of duties keeps the requester and the
// assignee from approving, and counts a person once however many groups
// they are in; whoever approved a change is not made its assignee, who
// implements it. [Service.Approve] and [Service.Reject] record decisions
// (an approver may name a delegate: [Service.Delegate]); a rejection
// sends the change back to New, and a change leaves an approval state
// only once its round is approved.
//
// # The change advisory board
//
// A [Board] meets on a recurrence in its time zone, not on its holidays
// ([Service.ScheduleMeetings], idempotent across instances).
// [Service.BuildAgenda] puts on a [Meeting]'s agenda the changes its
// condition selects within its rolling window, which sets their CAB date;
// the meeting records minutes and decisions, and a decision decides the
// requests the board's groups were asked.
//
// # Standard changes
//
// A [Template] is proposed, approved by change management, drafted,
// requested and published; editing a published one makes its next
// version. [Service.OpenFromTemplate] makes a pre-approved standard change
// whose fixed fields cannot be edited, and the template counts how the
// changes made from each version went.
//
// # Problems
//
// With [WithProblems], a change that fixes a problem ([Service.LinkProblem])
// is one of the problem's fix records: closing the change completes the
// record, in the same transaction. [Service.ReviewToProblem] turns a
// review's findings into a problem.
//
// # Incidents
//
// With [WithIncidents], an incident can await a change
// ([Service.LinkIncident], then On Hold awaiting change): when the change
// ends, the incident is told how and resumes, in the same transaction. An
// incident the change caused counts against its success score.
//
// # The change schedule
//
// Most outages that follow a change come from two changes on related CIs
// at the same time, or a change inside a freeze. A [ScheduleSpec] says
// when the CIs in its scope may change (a maintenance schedule) or may
// not (a blackout, a freeze); once enforced, it counts. Every change with
// planned times is checked as it is booked ([Service.Conflicts], kept on
// [Change.Conflicts]): another change on the same CI, on a parent or
// child CI, on a business service both affect, or with the same assignee
// at the same time; outside a maintenance window; inside a blackout.
// [ConflictRule]s turn conflicts into blocks (a freeze blocks scheduling
// by default), which change management may override with a reason
// ([Service.OverrideConflicts]). [Service.NextSlots] finds when a change
// could run instead, and [Service.Calendar] and [Service.ICalendar] show
// the schedule to people.
//
// A Service keeps the schedule in memory (per CI, service and assignee, a
// sorted array of planned windows), replayed from the journal on first
// use and caught up with it before each check, so that a check costs a
// few binary searches whatever the size of the year; claims records make
// checks on several instances meet. In a caller's transaction ([Service.In])
// a check reads the store instead, which holds what the transaction's
// earlier commands wrote and the journal does not show until it commits. Conflicts are kept current by the
// commands that change what a change books and by the schedule commands,
// in their transactions. A change
// stored before this was built, and a change of the CMDB (relationships,
// classes, attributes, a location's time zone), are taken into account
// at the change's next booking command.
//
// # Unauthorized changes
//
// Not every change asks first. [Service.RecordUnplanned] takes what
// discovery or an import saw change on a CI: the change being implemented
// there at that moment covers it; otherwise it is recorded as an
// emergency change flagged unauthorized, to be approved after the fact and
// reviewed, so that the outage review's "what changed?" has an answer.
package change
