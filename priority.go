package itil

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
)

// Impact measures how widely an incident, problem or change affects the
// business. Level 1 is the highest (enterprise-wide); the number of levels is
// set by the PriorityMatrix (3 by default: 1 high, 2 medium, 3 low).
type Impact int

// Urgency measures how fast the business needs a resolution. Level 1 is the
// most urgent; the number of levels is set by the PriorityMatrix.
type Urgency int

// Priority orders work: P1 is handled first.
type Priority int

// The five priorities of the common ITIL scheme.
const (
	P1 Priority = 1 + iota // critical
	P2                     // high
	P3                     // moderate
	P4                     // low
	P5                     // planning
)

var priorityNames = [...]string{"", "Critical", "High", "Moderate", "Low", "Planning"}

// Valid reports whether p is one of P1..P5.
func (p Priority) Valid() bool { return p >= P1 && p <= P5 }

// Label returns the priority's name, such as "Critical".
func (p Priority) Label() string {
	if !p.Valid() {
		return "Unknown"
	}
	return priorityNames[p]
}

// String returns the priority as "P1 - Critical".
func (p Priority) String() string {
	return "P" + strconv.Itoa(int(p)) + " - " + p.Label()
}

// Cell addresses one cell of a PriorityMatrix.
type Cell struct {
	Impact  Impact
	Urgency Urgency
}

// PriorityMatrix derives a Priority from Impact and Urgency. Build it with
// NewPriorityMatrix or take DefaultPriorityMatrix; the zero value is not
// usable. A PriorityMatrix is immutable and safe for concurrent use.
type PriorityMatrix struct {
	impacts, urgencies int
	cells              []Priority // row-major: (impact-1)*urgencies + urgency-1
}

// NewPriorityMatrix builds a matrix with the given numbers of impact and
// urgency levels. cells MUST hold exactly one valid Priority for every
// combination of levels; a missing cell, a level outside the declared range
// or an invalid priority is rejected with a *ValidationError naming each
// bad cell.
func NewPriorityMatrix(impactLevels, urgencyLevels int, cells map[Cell]Priority) (*PriorityMatrix, error) {
	var v ValidationError
	if impactLevels < 1 || impactLevels > 10 {
		v.Add("impact_levels", "must be between 1 and 10")
	}
	if urgencyLevels < 1 || urgencyLevels > 10 {
		v.Add("urgency_levels", "must be between 1 and 10")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	m := &PriorityMatrix{impacts: impactLevels, urgencies: urgencyLevels,
		cells: make([]Priority, impactLevels*urgencyLevels)}
	keys := make([]Cell, 0, len(cells))
	for c := range cells {
		keys = append(keys, c)
	}
	slices.SortFunc(keys, func(a, b Cell) int {
		return cmp.Or(cmp.Compare(a.Impact, b.Impact), cmp.Compare(a.Urgency, b.Urgency))
	})
	for _, c := range keys {
		name := fmt.Sprintf("cells[%d/%d]", c.Impact, c.Urgency)
		p := cells[c]
		switch {
		case int(c.Impact) < 1 || int(c.Impact) > impactLevels:
			v.Add(name, fmt.Sprintf("unknown impact level %d (levels are 1..%d)", c.Impact, impactLevels))
		case int(c.Urgency) < 1 || int(c.Urgency) > urgencyLevels:
			v.Add(name, fmt.Sprintf("unknown urgency level %d (levels are 1..%d)", c.Urgency, urgencyLevels))
		case !p.Valid():
			v.Add(name, fmt.Sprintf("priority %d is not one of P1..P5", int(p)))
		default:
			m.cells[m.index(c.Impact, c.Urgency)] = p
		}
	}
	for i := 1; i <= impactLevels; i++ {
		for u := 1; u <= urgencyLevels; u++ {
			if _, ok := cells[Cell{Impact(i), Urgency(u)}]; !ok {
				v.Add(fmt.Sprintf("cells[%d/%d]", i, u), "missing: every impact/urgency combination needs a priority")
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

var defaultMatrix = func() *PriorityMatrix {
	m, err := NewPriorityMatrix(3, 3, map[Cell]Priority{
		{1, 1}: P1, {1, 2}: P2, {1, 3}: P3,
		{2, 1}: P2, {2, 2}: P3, {2, 3}: P4,
		{3, 1}: P3, {3, 2}: P4, {3, 3}: P5,
	})
	if err != nil {
		panic(err)
	}
	return m
}()

// DefaultPriorityMatrix returns the common ITIL 3x3 matrix:
//
//	            urgency 1  urgency 2  urgency 3
//	impact 1       P1         P2         P3
//	impact 2       P2         P3         P4
//	impact 3       P3         P4         P5
func DefaultPriorityMatrix() *PriorityMatrix { return defaultMatrix }

func (m *PriorityMatrix) index(i Impact, u Urgency) int {
	return (int(i)-1)*m.urgencies + int(u) - 1
}

// Levels returns the number of impact and urgency levels.
func (m *PriorityMatrix) Levels() (impacts, urgencies int) { return m.impacts, m.urgencies }

// CheckImpact adds a reason to v when i is not a level of the matrix.
func (m *PriorityMatrix) CheckImpact(field string, i Impact, v *ValidationError) {
	if int(i) < 1 || int(i) > m.impacts {
		v.Add(field, fmt.Sprintf("must be between 1 (high) and %d (low)", m.impacts))
	}
}

// CheckUrgency adds a reason to v when u is not a level of the matrix.
func (m *PriorityMatrix) CheckUrgency(field string, u Urgency, v *ValidationError) {
	if int(u) < 1 || int(u) > m.urgencies {
		v.Add(field, fmt.Sprintf("must be between 1 (high) and %d (low)", m.urgencies))
	}
}

// Priority returns the priority of a cell, or a *ValidationError when the
// impact or urgency is not a level of the matrix.
func (m *PriorityMatrix) Priority(i Impact, u Urgency) (Priority, error) {
	if int(i) >= 1 && int(i) <= m.impacts && int(u) >= 1 && int(u) <= m.urgencies {
		return m.cells[m.index(i, u)], nil
	}
	var v ValidationError
	m.CheckImpact("impact", i, &v)
	m.CheckUrgency("urgency", u, &v)
	return 0, &v
}
