package main

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/itilkit/itil"
	"github.com/itilkit/itil/change"
	"github.com/itilkit/itil/cmdb"
	"github.com/itilkit/itil/incident"
	"github.com/itilkit/itil/lifecycle"
	"github.com/itilkit/itil/problem"
)

// The console's pages beyond the incident queue: problems with their
// incidents and known error, changes with approvals and conflicts, the
// change calendar, a CI's impact graph, the lifecycle diagrams and the
// KPI dashboard. Each reads the desk and renders; none writes but the
// change page's forms.

// view is a page's work: the data its template shows, or an error shown
// on it with the status the API would answer.
type view func(r *http.Request, d *desk) (map[string]any, error)

// show serves page from v for a signed-in principal.
func (s *server) show(page string, v view) http.Handler {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.deskOf(r)
		var data map[string]any
		if err == nil {
			data, err = v(r, d)
		}
		if err != nil {
			s.renderError(w, r, page, data, err)
			return
		}
		data["Nav"] = page
		s.render(w, page, data)
	})
}

func (s *server) problemsPage(r *http.Request, d *desk) (map[string]any, error) {
	page, next, err := d.problems.ListPage(r.Context(), problem.Filter{NewestFirst: true}, s.pageSize, r.URL.Query().Get("cursor"))
	return map[string]any{"Title": "Problems", "Problems": page, "Next": next}, err
}

func (s *server) problemPage(r *http.Request, d *desk) (map[string]any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	p, err := d.problems.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Title": p.Number, "P": p}
	incs, err := d.problems.Incidents(r.Context(), id)
	if err != nil {
		return data, err
	}
	data["Incidents"] = incs
	if p.KnownErrorID != itil.NilID {
		ke, err := d.problems.KnownErrors().Get(r.Context(), p.KnownErrorID)
		if err != nil {
			return data, err
		}
		data["KE"] = ke
	}
	return data, nil
}

func (s *server) changesPage(r *http.Request, d *desk) (map[string]any, error) {
	page, next, err := d.changes.ListPage(r.Context(), change.Filter{}, s.pageSize, r.URL.Query().Get("cursor"))
	return map[string]any{"Title": "Changes", "Changes": page, "Next": next}, err
}

func (s *server) changePage(r *http.Request, d *desk) (map[string]any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	c, err := d.changes.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Title": c.Number, "C": c}
	as, err := d.changes.Approvals(r.Context(), id)
	if err != nil {
		return data, err
	}
	cs, err := d.changes.Conflicts(r.Context(), id)
	if err != nil {
		return data, err
	}
	var tasks []*change.Task
	for t, err := range d.changes.Tasks(r.Context(), id) {
		if err != nil {
			return data, err
		}
		tasks = append(tasks, t)
	}
	names := map[itil.ID]string{} // the CIs and services the conflicts name
	for _, x := range cs {
		for _, id := range []itil.ID{x.CIID, x.RelatedCIID, x.ServiceID} {
			if _, ok := names[id]; !ok && id != itil.NilID {
				if ci, err := d.cis.Get(r.Context(), id); err == nil {
					names[id] = ci.Name
				}
			}
		}
	}
	data["Approvals"], data["Conflicts"], data["Tasks"], data["Names"] = as, cs, tasks, names
	for _, m := range change.DefaultModels() {
		if m.Name == c.Model {
			data["Diagram"] = newDiagram("Change ("+m.Name+")", "change", m.Transitions, c.State)
		}
	}
	return data, nil
}

// calendarRow is one change on the calendar, placed on the span's scale.
type calendarRow struct {
	C           *change.Change
	Left, Width float64 // percent of the span
}

// calendarPage shows the changes planned over days days from a date
// (default today, 14 days), on a bar per change, and the windows of the
// enforced maintenance and blackout schedules over the same span.
func (s *server) calendarPage(r *http.Request, d *desk) (map[string]any, error) {
	q := r.URL.Query()
	from := time.Now().UTC().Truncate(24 * time.Hour)
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, itil.Invalid("from", "must be a date as 2006-01-02")
		}
		from = t
	}
	days := 14
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 92 {
			return nil, itil.Invalid("days", "must be a whole number of days from 1 to 92")
		}
		days = n
	}
	to := from.AddDate(0, 0, days)
	span := float64(to.Sub(from))
	scale := func(a, b time.Time) (float64, float64) {
		a, b = maxTime(a, from), minTime(b, to)
		return 100 * float64(a.Sub(from)) / span, max(0.5, 100*float64(b.Sub(a))/span)
	}
	var rows []calendarRow
	for c, err := range d.changes.Calendar(r.Context(), change.CalendarFilter{From: from, To: to}) {
		if err != nil {
			return nil, err
		}
		l, w := scale(c.PlannedStart, c.PlannedEnd)
		rows = append(rows, calendarRow{C: c, Left: l, Width: w})
	}
	type windowRow struct {
		W           change.WindowInForce
		Left, Width float64
	}
	var windows []windowRow
	for win, err := range d.changes.Windows(r.Context(), change.CalendarFilter{From: from, To: to}) {
		if err != nil {
			return nil, err
		}
		l, w := scale(win.Start, win.End)
		windows = append(windows, windowRow{W: win, Left: l, Width: w})
	}
	var ticks []time.Time
	for t := from; t.Before(to); t = t.AddDate(0, 0, 1) {
		ticks = append(ticks, t)
	}
	return map[string]any{"Title": "Change calendar", "From": from, "To": to, "Rows": rows, "Windows": windows, "Ticks": ticks,
		"Tick": 100 / float64(days), "Prev": from.AddDate(0, 0, -days).Format(time.DateOnly), "Next": to.Format(time.DateOnly), "Days": days}, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (s *server) cisPage(r *http.Request, d *desk) (map[string]any, error) {
	page, next, err := d.cis.ListPage(r.Context(), cmdb.Filter{}, s.pageSize, r.URL.Query().Get("cursor"))
	return map[string]any{"Title": "Configuration items", "CIs": page, "Next": next}, err
}

// ciPage shows a CI, its relationships and its impact graph: what its
// failure affects (upstream, the default) or what it relies on
// (?direction=downstream), to a depth of 4 and at most 60 CIs.
func (s *server) ciPage(r *http.Request, d *desk) (map[string]any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ci, err := d.cis.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	dir, what := cmdb.Upstream, "What a failure of "+ci.Name+" affects"
	if r.URL.Query().Get("direction") == "downstream" {
		dir, what = cmdb.Downstream, "What "+ci.Name+" relies on"
	}
	res, err := d.cis.Impact(r.Context(), id, cmdb.ImpactOptions{Direction: dir, MaxDepth: 4, Limit: 60})
	if err != nil {
		return nil, err
	}
	rels, err := d.cis.Relationships(r.Context(), id)
	if err != nil {
		return nil, err
	}
	names := map[itil.ID]string{id: ci.Name}
	nodes := []graphNode{{ID: id.String(), Label: ci.Name, Sub: ci.Class, Mark: true}}
	var edges []graphEdge
	for _, a := range res.Affected {
		names[a.CI] = a.Name
		nodes = append(nodes, graphNode{ID: a.CI.String(), Label: a.Name, Sub: a.Class, Layer: a.Depth})
		if n := len(a.Path); n > 0 {
			h := a.Path[n-1]
			edges = append(edges, graphEdge{From: h.From.String(), To: h.To.String(), Label: h.Label})
		}
	}
	type relRow struct {
		Type, Other string
		OtherID     itil.ID
		Parent      bool
	}
	var rows []relRow
	for _, rel := range rels {
		other, parent := rel.Child, true
		if rel.Child == id {
			other, parent = rel.Parent, false
		}
		name := names[other]
		if name == "" {
			if o, err := d.cis.Get(r.Context(), other); err == nil {
				name = o.Name
			} else {
				name = other.String()
			}
		}
		rows = append(rows, relRow{Type: rel.Type, Other: name, OtherID: other, Parent: parent})
	}
	return map[string]any{"Title": ci.Name, "CI": ci, "What": what, "Downstream": dir == cmdb.Downstream, "Impact": res,
		"Graph": drawGraph(what, nodes, edges), "Relationships": rows}, nil
}

// diagram is one declared lifecycle, drawn and tabled.
type diagram struct {
	Name, Process string
	SVG           template.HTML
	Transitions   []itil.Transition[string]
}

func newDiagram[S ~string](name, process string, ts []itil.Transition[S], current S) diagram {
	nodes, edges := lifecycleGraph(ts, current)
	out := diagram{Name: name, Process: process, SVG: drawGraph(name+" lifecycle", nodes, edges)}
	for _, t := range ts {
		tr := itil.Transition[string]{Event: t.Event, To: string(t.To)}
		for _, f := range t.From {
			tr.From = append(tr.From, string(f))
		}
		out.Transitions = append(out.Transitions, tr)
	}
	return out
}

// diagrams are the processes' lifecycles, drawn from the tables the
// packages declare (the same the state machines run on).
var diagrams = func() []diagram {
	ds := []diagram{
		newDiagram("Service", "lifecycle", lifecycle.Lifecycle(), ""),
		newDiagram("Incident", "incident", incident.Lifecycle(), ""),
		newDiagram("Problem", "problem", problem.Lifecycle(), ""),
		newDiagram("Known error", "problem", problem.KnownErrorLifecycle(), ""),
	}
	for _, m := range change.DefaultModels() {
		ds = append(ds, newDiagram("Change ("+m.Name+")", "change", m.Transitions, ""))
	}
	return append(ds, newDiagram("Change task", "change", change.TaskLifecycle(), ""),
		newDiagram("Improvement initiative", "lifecycle", lifecycle.InitiativeLifecycle(), ""))
}()

func (s *server) diagramsPage(r *http.Request, d *desk) (map[string]any, error) {
	return map[string]any{"Title": "Lifecycles", "Diagrams": diagrams}, nil
}

// kpiRow is one KPI over the dashboard's weeks: a figure per week and a
// bar scaled to the row's largest.
type kpiRow struct {
	Name, Unit string
	Cells      []kpiCell
}

type kpiCell struct {
	Text   string
	Height int // percent of the row's largest figure
	Count  int
}

const hoursUnit, countUnit = "mean, hours", "count"

// kpiUnits says how each KPI reads: the time KPIs as a mean in hours,
// the backlog as a count, satisfaction as a score, the others as the
// percentage of what they counted.
var kpiUnits = func() map[string]string {
	m := map[string]string{lifecycle.KPITimeToResolve: hoursUnit, lifecycle.KPITimeToFirstResponse: hoursUnit,
		lifecycle.KPITimeToCloseProblem: hoursUnit, lifecycle.KPIBacklog: countUnit, lifecycle.KPICustomerSatisfaction: "score, 0–100"}
	for _, k := range lifecycle.KPINames() {
		if m[k] == "" {
			m[k] = "percent"
		}
	}
	return m
}()

// kpisPage shows every KPI by week over the last weeks weeks (default
// 8, at most 52), the current week last.
func (s *server) kpisPage(r *http.Request, d *desk) (map[string]any, error) {
	weeks := 8
	if v := r.URL.Query().Get("weeks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 52 {
			return nil, itil.Invalid("weeks", "must be a whole number of weeks from 1 to 52")
		}
		weeks = n
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	monday := day.AddDate(0, 0, -(int(day.Weekday())+6)%7)
	var periods []time.Time
	for i := weeks - 1; i >= 0; i-- {
		periods = append(periods, monday.AddDate(0, 0, -7*i))
	}
	points, err := d.lifecycle.KPIs(r.Context(), lifecycle.KPIQuery{From: periods[0], To: monday.AddDate(0, 0, 7), Every: lifecycle.Weekly})
	if err != nil && points == nil {
		return nil, err
	}
	var rows []kpiRow
	for _, name := range lifecycle.KPINames() {
		row := kpiRow{Name: name, Cells: make([]kpiCell, len(periods))}
		vals := make([]float64, len(periods))
		for _, p := range points {
			if p.KPI != name {
				continue
			}
			i := slices.IndexFunc(periods, p.Period.Equal)
			if i < 0 {
				continue
			}
			c := &row.Cells[i]
			c.Count = p.Count
			if p.Count == 0 && kpiUnits[name] != countUnit {
				continue // nothing counted: no mean, no share
			}
			switch row.Unit = kpiUnits[name]; row.Unit {
			case hoursUnit:
				vals[i] = p.Mean.Hours()
				c.Text = strconv.FormatFloat(vals[i], 'f', 1, 64)
			case countUnit:
				vals[i] = float64(p.Count)
				c.Text = strconv.Itoa(p.Count)
			default:
				vals[i] = p.Percent.InexactFloat64()
				c.Text = p.Percent.StringFixed(1)
			}
		}
		if row.Unit == "" {
			row.Unit = kpiUnits[name]
		}
		top := slices.Max(append(vals, 0))
		for i := range row.Cells {
			if row.Cells[i].Text == "" {
				row.Cells[i].Text = "–"
			}
			if top > 0 {
				row.Cells[i].Height = int(100 * vals[i] / top)
			}
		}
		rows = append(rows, row)
	}
	data := map[string]any{"Title": "KPIs", "Periods": periods, "Rows": rows, "Weeks": weeks}
	if err != nil { // some events passed over: the figures count the rest
		data["Warning"] = err.Error()
	}
	return data, nil
}
