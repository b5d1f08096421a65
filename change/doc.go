// Package change is ITIL change enablement: changes that follow a change
// model (normal, standard, emergency, or one of the application's own),
// their risk, the approvals a policy asks for, the change advisory board,
// standard change templates and the post-implementation review.
//
// A change is how a service moves from one known state to another while
// the risk of the move is understood and accepted by the people who
// should accept it. Every outage review asks what changed, who approved
// it and whether the risk was known; this package answers all three from
// the journal.
package change
