package main

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/shopspring/decimal"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/storage"
	"github.com/itilkit/itil/strategy"
)

// newEntry is POST /portfolio's body.
type newEntry struct {
	Name         string                `json:"name"`
	Description  string                `json:"description"`
	Type         strategy.ServiceType  `json:"type"`
	Owner        string                `json:"owner"`
	BusinessCase strategy.BusinessCase `json:"business_case"`
	ServiceCIID  itil.ID               `json:"service_ci_id"`
}

func (s *server) proposeEntry(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, entryAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newEntry) (*strategy.Entry, error) {
		return d.portfolio.In(tx).Propose(ctx, a, strategy.NewEntry(in))
	})
}

func entryAt(x *strategy.Entry) (string, int64) { return "/portfolio/" + x.ID.String(), x.Version }

func (s *server) getEntry(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, entryAt, func(ctx context.Context, d *desk, id itil.ID) (*strategy.Entry, error) {
		return d.portfolio.Get(ctx, id)
	})
}

// listPortfolio answers the entries of one phase (?phase=pipeline, the
// default, catalogue or retired), filtered by status, type and owner.
func (s *server) listPortfolio(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*strategy.Entry, string, error) {
		f := strategy.EntryFilter{Owner: q.Get("owner")}
		for _, st := range q["status"] {
			f.Statuses = append(f.Statuses, strategy.Status(st))
		}
		for _, t := range q["type"] {
			f.Types = append(f.Types, strategy.ServiceType(t))
		}
		var seq iter.Seq2[*strategy.Entry, error]
		switch q.Get("phase") {
		case "", "pipeline":
			seq = d.portfolio.Pipeline(ctx, f)
		case "catalogue":
			seq = d.portfolio.Catalogue(ctx, f)
		case "retired":
			seq = d.portfolio.Retired(ctx, f)
		default:
			return nil, "", itil.Invalid("phase", "must be pipeline, catalogue or retired")
		}
		out, err := collect(seq)
		return out, "", err
	})
}

func entryMove(name string) command[*strategy.Service] {
	return entryCmd(func(ctx context.Context, svc *strategy.Service, a itil.Actor, id itil.ID, in *commandInput) (*strategy.Entry, error) {
		return svc.Move(ctx, a, id, name, in.Reason)
	})
}

func entryCmd(f func(context.Context, *strategy.Service, itil.Actor, itil.ID, *commandInput) (*strategy.Entry, error)) command[*strategy.Service] {
	return cmd(func(e *strategy.Entry) int64 { return e.Version }, f)
}

// entryCommands are a portfolio entry's commands: its lifecycle's moves
// and the business case's approval.
var entryCommands = func() map[string]command[*strategy.Service] {
	m := map[string]command[*strategy.Service]{
		"approve_business_case": entryCmd(func(ctx context.Context, svc *strategy.Service, a itil.Actor, id itil.ID, _ *commandInput) (*strategy.Entry, error) {
			return svc.ApproveBusinessCase(ctx, a, id)
		}),
	}
	for _, mv := range []string{strategy.MoveDefine, strategy.MoveAnalyse, strategy.MoveApprove, strategy.MoveCharter, strategy.MoveDesign,
		strategy.MoveDevelop, strategy.MoveBuild, strategy.MoveOperate, strategy.MoveRetire, strategy.MoveClose, strategy.MoveWithdraw, strategy.MoveObsolete} {
		m[mv] = entryMove(mv)
	}
	return m
}()

// newInitiative is POST /initiatives's body.
type newInitiative struct {
	Title         string                    `json:"title"`
	EntryID       itil.ID                   `json:"entry_id"`
	Process       string                    `json:"process"`
	Coordinator   string                    `json:"coordinator"`
	Priority      itil.Priority             `json:"priority"`
	Effort        lifecycle.Effort          `json:"effort"`
	Type          lifecycle.ImprovementType `json:"type"`
	Benefits      string                    `json:"benefits"`
	Justification string                    `json:"justification"`
	KPI           string                    `json:"kpi"`
	Base          decimal.Decimal           `json:"base"`
	Target        decimal.Decimal           `json:"target"`
	ReviewDate    time.Time                 `json:"review_date"`
}

func (s *server) raiseInitiative(w http.ResponseWriter, r *http.Request) {
	create(s, w, r, initiativeAt, func(ctx context.Context, d *desk, tx storage.Tx, a itil.Actor, in newInitiative) (*lifecycle.Initiative, error) {
		return d.lifecycle.In(tx).RaiseInitiative(ctx, a, lifecycle.NewInitiative(in))
	})
}

func initiativeAt(x *lifecycle.Initiative) (string, int64) {
	return "/initiatives/" + x.ID.String(), x.Version
}

func (s *server) getInitiative(w http.ResponseWriter, r *http.Request) {
	read(s, w, r, initiativeAt, func(ctx context.Context, d *desk, id itil.ID) (*lifecycle.Initiative, error) {
		return d.lifecycle.GetInitiative(ctx, id)
	})
}

// listInitiatives answers the register, or one service's part of it
// (?entry_id=).
func (s *server) listInitiatives(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]*lifecycle.Initiative, string, error) {
		var v itil.ValidationError
		entry := queryID(&v, q, "entry_id")
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		out, err := collect(d.lifecycle.Initiatives(ctx, entry))
		return out, "", err
	})
}

// kpis answers the KPIs over [from, to) per period (every=day, week or
// month, in zone) and breakdown (by=service, group or priority).
func (s *server) kpis(w http.ResponseWriter, r *http.Request) {
	list(s, w, r, func(ctx context.Context, d *desk, q url.Values) ([]lifecycle.KPIPoint, string, error) {
		var v itil.ValidationError
		kq := lifecycle.KPIQuery{From: queryTime(&v, q, "from"), To: queryTime(&v, q, "to"), Every: lifecycle.Granularity(q.Get("every")),
			Zone: q.Get("zone"), By: lifecycle.Dimension(q.Get("by"))}
		if err := v.Err(); err != nil {
			return nil, "", err
		}
		points, err := d.lifecycle.KPIs(ctx, kq)
		if err != nil && points != nil { // events passed over: the points count the rest
			if s.log != nil {
				s.log.WarnContext(ctx, "KPIs", "error", err)
			}
			err = nil
		}
		return points, "", err
	})
}

func initiativeCmd(f func(context.Context, *lifecycle.Service, itil.Actor, itil.ID, *commandInput) (*lifecycle.Initiative, error)) command[*lifecycle.Service] {
	return cmd(func(x *lifecycle.Initiative) int64 { return x.Version }, f)
}

// initiativeCommands are an initiative's commands: its moves and the
// review that measures it.
var initiativeCommands = func() map[string]command[*lifecycle.Service] {
	m := map[string]command[*lifecycle.Service]{
		"review": initiativeCmd(func(ctx context.Context, svc *lifecycle.Service, a itil.Actor, id itil.ID, _ *commandInput) (*lifecycle.Initiative, error) {
			return svc.ReviewInitiative(ctx, a, id)
		}),
	}
	for _, mv := range []string{lifecycle.MoveAccept, lifecycle.MoveAssess, lifecycle.MoveApprove, lifecycle.MoveStart, lifecycle.MoveHold,
		lifecycle.MoveResume, lifecycle.MoveMonitor, lifecycle.MoveClose, lifecycle.MoveCancel} {
		m[mv] = initiativeCmd(func(ctx context.Context, svc *lifecycle.Service, a itil.Actor, id itil.ID, _ *commandInput) (*lifecycle.Initiative, error) {
			return svc.MoveInitiative(ctx, a, id, mv)
		})
	}
	return m
}()
