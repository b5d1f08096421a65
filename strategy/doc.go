// Package strategy is ITIL service strategy: deciding which services to
// offer, to whom, at what cost, and whether they deliver value. The seed
// texts open the service lifecycle here: every service is proposed with a
// business case, enters the catalogue with offerings customers can
// subscribe to, costs what its books say, and is judged by what it
// actually did for its customers.
//
// # The service portfolio
//
// Every service has an [Entry] in the portfolio, in one of three phases
// ([Phase]): the pipeline (services proposed or being developed), the
// catalogue (services being built or live, that customers see) and
// retired. Its [Status] moves along [PortfolioLifecycle] (portfolio.md),
// ServiceNow's statuses, by [Service.Move]. The rules are ITIL's:
//   - a service is chartered only once its business case (outcomes,
//     value and cost expected) is approved ([Service.ApproveBusinessCase]);
//   - it enters the catalogue only with an owner and at least one
//     offering, and never returns from the catalogue to the pipeline;
//   - it retires only when no customer subscribes to it, unless the
//     retirement is overridden with a reason.
//
// [Service.Pipeline], [Service.Catalogue] and [Service.Retired] list the
// three phases.
//
// # The service catalogue
//
// An [Offering] is one way a service is offered: its utility (the
// outcomes it supports: fit for purpose), its warranty and [Commitments]
// (availability over service hours, response and resolution SLAs, a
// maintenance window, RTO and RPO, delivery time: fit for use), its
// [Pricing] and its capacity. Customers subscribe to published offerings
// ([Service.Subscribe]); [Service.Entitlements] answers, in one call, what
// a customer gets, under which commitments, at what price.
//
// # Value: utility and warranty, outputs and outcomes
//
// [Service.AssessValue] judges an offering over a period: the
// availability measured over its service hours (slm.MeasureAvailability)
// against its target, over the outages supplied or, with [WithIncidents],
// those the incidents on the service's CI record (flagged service-down);
// with [WithSLM], its SLAs' compliance against its target; the units its
// customers took against its capacity; and the outcomes the customer
// recorded against its utility. Outputs
// (tickets resolved, changes delivered) are reported apart: doing a lot
// is not the same as delivering value.
//
// # Financial management
//
// Costs are entered per month against a service, a CI or a cost centre
// ([Service.RecordCost]), from rate cards or as amounts, classified as
// capex or opex, fixed or variable, direct or indirect; budgets are set
// per service and month ([Service.SetBudget], [Service.Variance]).
//
// A service costs what its own cost items say plus its share of what it
// runs on: a server's cost reaches the applications on it, and theirs the
// business services that depend on them, by the units each uses.
// [Allocate] splits one period's costs along that graph, by either of
// ITIL's methods: [OverCapacity] (by the share of a provider's capacity
// each consumer uses, leaving the cost of idle capacity as overhead) or
// [OverUsage] (over the units actually used, recovering everything). The
// rounding rule is stated, and the books balance to the cent.
// [Service.AllocateCosts] runs it on a month's CI costs along the CMDB's
// dependencies ([WithCMDB]), up to the business-service CIs of the
// portfolio.
//
// [Service.Statement] shows a customer what their subscriptions cost in a
// month (showback) or bills them (chargeback), prorated by day.
//
// # Demand
//
// Patterns of business activity ([PatternOfBusinessActivity]) and user
// profiles say when and how much the business uses a service;
// [ForecastDemand] forecasts demand from its history (Holt-Winters with
// daily and weekly seasonality) and [DemandForecast.Over] flags where it
// will exceed an offering's capacity.
//
// # Business relationships
//
// Customers ([Service.AddCustomer]) have stakeholders in the three roles
// the seed texts tell apart: the customer agrees the service and pays,
// the user uses it, the sponsor funds it. Satisfaction surveys
// ([Service.RecordSurvey], [Service.Satisfaction]), service reviews and
// complaints and compliments keep the relationship on record.
package strategy
