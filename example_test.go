package itil_test

import (
	"errors"
	"fmt"

	"github.com/itilkit/itil"
)

func ExampleDefaultPriorityMatrix() {
	m := itil.DefaultPriorityMatrix()
	p, _ := m.Priority(1, 2) // high impact, medium urgency
	fmt.Println(p)
	_, err := m.Priority(4, 1)
	fmt.Println(err)
	// Output:
	// P2 - High
	// invalid input: impact: must be between 1 (high) and 3 (low)
}

func ExampleNewPriorityMatrix() {
	// A 2x2 matrix; the cell for impact 2 / urgency 2 is missing and one
	// cell names a level that does not exist.
	_, err := itil.NewPriorityMatrix(2, 2, map[itil.Cell]itil.Priority{
		{Impact: 1, Urgency: 1}: itil.P1, {Impact: 1, Urgency: 2}: itil.P2,
		{Impact: 2, Urgency: 1}: itil.P2, {Impact: 3, Urgency: 1}: itil.P3,
	})
	var invalid *itil.ValidationError
	fmt.Println(errors.As(err, &invalid))
	for _, f := range invalid.Fields {
		fmt.Println(f.Field, "-", f.Reason)
	}
	// Output:
	// true
	// cells[3/1] - unknown impact level 3 (levels are 1..2)
	// cells[2/2] - missing: every impact/urgency combination needs a priority
}

func ExampleFormatNumber() {
	fmt.Println(itil.FormatNumber("INC", 1), itil.FormatNumber("CHG", 42))
	n, err := itil.ParseNumber("INC", "INC0001001")
	fmt.Println(n, err)
	// Output:
	// INC0001001 CHG0001042
	// 1 <nil>
}
